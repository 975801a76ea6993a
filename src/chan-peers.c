/* SPDX-License-Identifier: MIT */
/* How a handle sees its peers, by shape: the fate of a slot, the slowest
 * consumer that counts (a producer's room), the peers as one (a wait's
 * settle() in chan-wait.c) and a dead producer's record (a consumer of
 * several producers). Each shape and role has its table (struct
 * shmx__chan_look), chosen once when the handle attaches (chan-attach.c):
 * the variants are one body with the shape as constants, so the one
 * producer, one consumer channel's path tests no shape at run time. */
#define _GNU_SOURCE

#include "chan.h"

/* ---- one slot ---- */

/* What became of the holder of one slot: 1 alive, or -EPIPE (closed),
 * -EOWNERDEAD (died attached), 0 (never came, or someone marked it), as
 * its state word says. A party we never saw attach may still come: only a
 * party whose state word says it attached, and whose slot is free, is
 * gone. The word is read around the lock test so a new party attaching
 * meanwhile is not taken for the old one's corpse. *state is the word. */
int shmx__chan_slot_fate(struct shmx_chan *c, bool producer, unsigned s, uint32_t *state)
{
	uint32_t *word = producer ? &c->prods[s].state : &c->conss[s].state;
	uint32_t w1, w2;
	int tries, held;

	for (tries = 0; tries < 4; tries++) {
		w1 = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		held = shmx__slot_held(shmx_fd(c->region), lock_byte(producer, s));
		if (held)
			return held < 0 ? held : 1;
		w2 = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		if (w1 != w2)
			continue;
		*state = w1;
		if (w1 & SHMX__CHAN_CLOSED)
			return -EPIPE;
		if (w1 & SHMX__CHAN_REAPED)
			return 0;
		return (w1 & (SHMX__CHAN_ATTACHED | SHMX__CHAN_JOINING)) ? -EOWNERDEAD : 0;
	}
	return 1;
}

int shmx__chan_prod_gone(struct shmx_chan *c, unsigned s, uint32_t gen)
{
	uint32_t state = 0;
	int fate = shmx__chan_slot_fate(c, true, s, &state);

	if (fate < 0 && fate != -EPIPE && fate != -EOWNERDEAD)
		return fate;
	if (fate == 1)
		state = __atomic_load_n(&c->prods[s].state, __ATOMIC_ACQUIRE);
	/* Another attach of the slot holds it: the reserving one is gone. */
	return fate != 1 || ((state >> 8) & 0xffffff) != (gen & 0xffffff);
}

/* ---- the slowest consumer that counts ---- */

/* Several producers: a record another producer reserved and has not
 * committed yet is in flight (its slot's resv, position + 1): the room
 * must not pass it even where no consumer holds it back (none counts, or
 * every one attached since and started at head, past it), or the next
 * lap's records and its late payload and commit word land on each other.
 * Its producer is looked at only when it would hold us back: a gone one
 * writes there no more. A value that cannot be a live one's (more than a
 * ring behind, as a dead predecessor's may be until its successor clears
 * it) holds nothing back. */
static hot_inline void in_flight(struct shmx_chan *c, uint64_t top, uint64_t *m)
{
	uint64_t r;
	uint32_t st;
	unsigned k;

	for (k = 0; k < c->g.producers; k++) {
		if (k == c->slot)
			continue;
		r = __atomic_load_n(&c->prods[k].resv, __ATOMIC_ACQUIRE) - 1;
		if (r == UINT64_MAX || (int64_t)(r - *m) >= 0 ||
		    (r & (SHMX__CHAN_ALIGN - 1)) || top - r > c->g.capacity)
			continue;
		if (shmx__chan_slot_fate(c, true, k, &st) == 1)
			*m = r;
	}
}

#define SLOT_TRIES 4    /* reads of a slot that keeps changing */

/* Consumer slot j's cursor *t and the state word *st it goes with, for a
 * room up to *top: the state read before and after the cursor, so that a
 * consumer taking the slot over meanwhile (its first cursor a head it
 * read while attaching, chan-attach.c) is not judged by its
 * predecessor's "attached"; with several producers, the cursor read
 * after the last head read: a cursor past *top makes us read head again,
 * and then the cursor again (one read before others ran a ring on is
 * more than a ring behind the head read after it, and no corruption).
 * tests/spin/chan2-join.pml. false when the slot kept changing: its
 * cursor is then counted (it is never ahead of the slot's true one) and
 * not judged. */
static hot_inline bool read_slot(struct shmx_chan *c, unsigned j, uint64_t *top,
				  uint32_t *st, uint64_t *t, const bool multi)
{
	struct shmx__chan_slot *s = &c->conss[j];

	for (unsigned tries = 0; tries < SLOT_TRIES; tries++) {
		*st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		/* Acquire: pairs with the attach's release stores of the
		 * cursor; the state read after it is at least that new. */
		*t = __atomic_load_n(&s->pos, __ATOMIC_ACQUIRE);
		/* Several producers: a consumer may have taken what others
		 * reserved since we read head (we may have slept meanwhile). */
		if (multi && (int64_t)(*t - *top) > 0) {
			*top = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
			continue;
		}
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == *st)
			return true;
	}
	return false;
}

/* The slowest consumer that counts, for a producer's room: with one
 * consumer slot (a queue) always slot 0, attached or not; with several
 * (bcast), every attached one (from when there is none). The fence pairs
 * with the one a consumer issues when it attaches (start_at_head() in
 * chan-attach.c): either we see it, or it sees a head at least as new as
 * from. With reap, consumers that died attached are marked and no longer
 * count. With several producers (multi), head moves under us, and
 * reservations in flight hold the room too. */
static hot_inline int slowest_of(struct shmx_chan *c, uint64_t from, bool reap, uint64_t *min,
				 const bool bcast, const bool multi)
{
	uint64_t m = from, t, top = multi ? from : c->pos;
	unsigned j, n = bcast ? c->g.consumers : 1;
	uint32_t st, dead;
	bool settled;

	if (bcast)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (j = 0; j < n; j++) {
		settled = read_slot(c, j, &top, &st, &t, multi);
		if (bcast && !shmx__chan_counts(st))
			continue;
		/* A consumer still joining stored a head it read before it
		 * fenced: any number of rings behind by now. That is no room
		 * (until it stores where it starts, and kicks), not a bad
		 * value; the room test, head + need - cursor > capacity,
		 * cannot wrap on it. */
		if ((t & (SHMX__CHAN_ALIGN - 1)) ||
		    (settled && top - t > c->g.capacity &&
		     ((st & SHMX__CHAN_ATTACHED) || (int64_t)(top - t) < 0)))
			return -EBADMSG;
		if (bcast && reap &&
		    shmx__chan_slot_fate(c, false, j, &dead) == -EOWNERDEAD &&
		    __atomic_compare_exchange_n(&c->conss[j].state, &dead,
						dead | SHMX__CHAN_REAPED, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			continue;
		if (!bcast || (int64_t)(t - m) < 0)
			m = t;
	}
	if (multi)
		in_flight(c, top, &m);
	*min = m;
	return 0;
}

static int queue_slowest(struct shmx_chan *c, uint64_t from, bool reap, uint64_t *min)
{
	return slowest_of(c, from, reap, min, false, false);
}

static int bcast_slowest(struct shmx_chan *c, uint64_t from, bool reap, uint64_t *min)
{
	return slowest_of(c, from, reap, min, true, false);
}

static int mp_queue_slowest(struct shmx_chan *c, uint64_t from, bool reap, uint64_t *min)
{
	return slowest_of(c, from, reap, min, false, true);
}

static int mp_bcast_slowest(struct shmx_chan *c, uint64_t from, bool reap, uint64_t *min)
{
	return slowest_of(c, from, reap, min, true, true);
}

/* ---- the peers as one ---- */

/* A consumer's producers: any alive keeps us waiting (0), else a death
 * (also one whose slot was taken over since: the header's bit,
 * shmx__chan_died()), else a close, else 0 (none came yet). */
static int producers_gone(struct shmx_chan *c)
{
	unsigned k, dead = 0, closed = 0;
	uint32_t state = 0;     /* set by slot_fate() for every fate read here */
	int fate;

	for (k = 0; k < c->g.producers; k++) {
		fate = shmx__chan_slot_fate(c, true, k, &state);
		if (fate == 1)
			return 0;
		if (fate == -EOWNERDEAD) {
			dead++;
			shmx__chan_remember_death(c, state);
		} else if (fate == -EPIPE) {
			closed++;
		} else if (fate < 0) {
			return fate;
		}
	}
	if (dead || shmx__chan_died(c))
		return -EOWNERDEAD;
	return closed ? -EPIPE : 0;
}

/* A queue's producer: its one consumer's fate (as version 1 had it). */
static int consumer_gone(struct shmx_chan *c)
{
	uint32_t state;
	int fate = shmx__chan_slot_fate(c, false, 0, &state);

	return fate == 1 ? 0 : fate;
}

/* A broadcast producer has no peer to lose: it marks dead consumers
 * (shmx__chan_slowest() with reap) and goes on. */
static int bcast_reap(struct shmx_chan *c)
{
	uint64_t min;

	return bcast_slowest(c, c->pub, true, &min);
}

static int mp_bcast_reap(struct shmx_chan *c)
{
	uint64_t min;

	return mp_bcast_slowest(c, __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE), true, &min);
}

/* ---- a record that may be a dead producer's ---- */

/* Nothing of the kind in this shape. */
static int nothing(struct shmx_chan *c)
{
	(void)c;
	return 0;
}

/* A consumer stopped at a record another producer reserved: if that
 * producer is gone, the record will never be committed; mark it so that
 * ring_next() (chan-walk.h) skips it. 1 then, else 0, or -EBADMSG for a word that is no
 * record. */
static int dead_record(struct shmx_chan *c)
{
	uint64_t word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE), adv;
	uint32_t tag = (uint32_t)(word >> 32);
	int64_t len;
	int gone;

	if (!(word >> 63))
		return 0;
	if (shmx__chan_record(&c->g, c->pos, word, &adv, &len))
		return fail(c, -EBADMSG);
	gone = shmx__chan_prod_gone(c, (tag >> 24) & 0x7f, tag);
	if (gone > 0)
		c->dead_at = c->pos + 1;
	return gone;
}

/* Several producers: a live producer's reservation in flight may hold our
 * room back (in_flight()); its commit kicks us, its close or its death
 * does not. Relaxed: called after our fence (arm()); a reservation
 * stored after it is not one our room test counted. */
static int other_in_flight(struct shmx_chan *c)
{
	uint32_t st;

	for (unsigned k = 0; k < c->g.producers; k++)
		if (k != c->slot && __atomic_load_n(&c->prods[k].resv, __ATOMIC_RELAXED) &&
		    shmx__chan_slot_fate(c, true, k, &st) == 1)
			return 1;
	return 0;
}

/* ---- the tables (chosen in chan-attach.c) ---- */

const struct shmx__chan_look shmx__chan_look_queue = {
	.slowest = queue_slowest, .gone = consumer_gone, .stuck = nothing,
	.in_flight = nothing, .watch = shmx__chan_watch_one,
	.used = shmx__chan_used_one, .pending = shmx__chan_pending_queue,
};
const struct shmx__chan_look shmx__chan_look_bcast = {
	.slowest = bcast_slowest, .gone = bcast_reap, .stuck = nothing,
	.in_flight = nothing, .watch = shmx__chan_watch_each,
	.used = shmx__chan_used_one, .pending = shmx__chan_pending_bcast,
};
/* An overwriting producer never waits: its room and its peers matter only
 * to a wait that does not come. */
const struct shmx__chan_look shmx__chan_look_over_queue = {
	.slowest = queue_slowest, .gone = consumer_gone, .stuck = nothing,
	.in_flight = nothing, .watch = shmx__chan_watch_one,
	.used = shmx__chan_used_over, .pending = shmx__chan_pending_over_queue,
};
const struct shmx__chan_look shmx__chan_look_over_bcast = {
	.slowest = bcast_slowest, .gone = bcast_reap, .stuck = nothing,
	.in_flight = nothing, .watch = shmx__chan_watch_each,
	.used = shmx__chan_used_over, .pending = shmx__chan_pending_over_bcast,
};
const struct shmx__chan_look shmx__chan_look_mp_queue = {
	.slowest = mp_queue_slowest, .gone = consumer_gone, .stuck = nothing,
	.in_flight = other_in_flight, .watch = shmx__chan_watch_one,
	.used = shmx__chan_used_mp, .pending = shmx__chan_pending_mp_queue,
};
const struct shmx__chan_look shmx__chan_look_mp_bcast = {
	.slowest = mp_bcast_slowest, .gone = mp_bcast_reap, .stuck = nothing,
	.in_flight = other_in_flight, .watch = shmx__chan_watch_each,
	.used = shmx__chan_used_mp, .pending = shmx__chan_pending_mp_bcast,
};
/* Consumers compute no room (slowest NULL, never called). */
const struct shmx__chan_look shmx__chan_look_consumer = {
	.gone = producers_gone, .stuck = nothing, .in_flight = nothing,
	.watch = shmx__chan_watch_one,
	.used = shmx__chan_used_cons, .pending = shmx__chan_pending_cons,
};
const struct shmx__chan_look shmx__chan_look_over_consumer = {
	.gone = producers_gone, .stuck = nothing, .in_flight = nothing,
	.watch = shmx__chan_watch_one,
	.used = shmx__chan_used_cons_over, .pending = shmx__chan_pending_cons_over,
};
const struct shmx__chan_look shmx__chan_look_mp_consumer = {
	.gone = producers_gone, .stuck = dead_record, .in_flight = nothing,
	.watch = shmx__chan_watch_each,
	.used = shmx__chan_used_cons, .pending = shmx__chan_pending_cons,
};
