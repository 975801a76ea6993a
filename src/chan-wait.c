/* SPDX-License-Identifier: MIT */
/* Waiting in a channel: spin, then sleep on a futex in slices; every wait
 * has a deadline and watches the peer's liveness slot and the object's
 * size. Or, for a caller that polls (shmx_chan_fd()), arm a descriptor
 * when a try finds nothing. The sleep/wake and arm/wake pairings are
 * checked in tests/spin/chan.pml (one waiter of each kind) and
 * chan2-wake.pml (several on one word). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"

/* ---- waking and sleeping ---- */

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int futex_wait(uint32_t *word, uint32_t val, const struct timespec *abs)
{
	/* BITSET takes an absolute CLOCK_MONOTONIC time; not PRIVATE: the
	 * word is in a mapping shared with another process. */
	long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, abs, NULL,
			 FUTEX_BITSET_MATCH_ANY);

	return r < 0 ? -errno : 0;
}

/* ---- the sleeper's barrier (kick() in chan.h) ---- */

int shmx__chan_no_membarrier;

static long membarrier(int cmd)
{
	long r = syscall(SYS_membarrier, cmd, 0);

	return r < 0 ? -errno : r;
}

/* Registered, or fencing: at every attach (two system calls), and in the
 * child of a fork, whose registration the kernel does not keep (a handle
 * may be used across fork). */
static void register_process(void)
{
	long q = membarrier(MEMBARRIER_CMD_QUERY);

	__atomic_store_n(&shmx__chan_no_membarrier,
			 q < 0 || !(q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
			 membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) < 0,
			 __ATOMIC_RELAXED);
}

static void at_fork(void)
{
	pthread_atfork(NULL, NULL, register_process);
}

/* A party that cannot use membarrier sleeps with a full fence only: every
 * running side must fence from now on. A running side that read the bit
 * just before it was set skips one fence, and a sleeper it should have
 * woken waits at most its slice (sleepers look again every SLICE_MS): the
 * bit is set at attach, before this party ever sleeps. */
static void set_fences(struct shmx_chan *c)
{
	__atomic_fetch_or(&c->hdr->flags, SHMX__CHAN_FLAG_FENCES, __ATOMIC_SEQ_CST);
}

void shmx__chan_barrier_setup(struct shmx_chan *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, at_fork);
	register_process();
	/* Relaxed: our own process's answer, and a bit that is only ever
	 * set (with seq_cst): read stale, we set it once more. */
	if (__atomic_load_n(&shmx__chan_no_membarrier, __ATOMIC_RELAXED) &&
	    !(__atomic_load_n(&c->hdr->flags, __ATOMIC_RELAXED) & SHMX__CHAN_FLAG_FENCES))
		set_fences(c);
}

/* The sleeper's side of kick(): after it stored its flag and before it
 * looks again. */
static void sleeper_barrier(struct shmx_chan *c)
{
	if (!full_fences(c)) {
		if (!membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED))
			return;
		set_fences(c);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void shmx__chan_bump(uint32_t *seq)
{
	__atomic_fetch_add(seq, 1, __ATOMIC_RELEASE);
	futex_wake(seq);
}

/* Whatever else the word holds (an older release's sleeper stores 1, a
 * hostile peer anything) is taken for a sleeper: a spare wake-up at worst. */
__attribute__((noinline)) void shmx__chan_kick_slow(struct shmx_chan *c, uint32_t *waiting,
						    uint32_t *seq)
{
	/* Acquire: pairs with a poller's release OR of its bit (arm()), so
	 * the "armed" it stored before is seen by shmx__chan_poll_kick(). */
	uint32_t w = __atomic_exchange_n(waiting, 0, __ATOMIC_ACQUIRE);

	if (w & WAIT_POLL)
		shmx__chan_poll_kick(c);
	if (w & ~WAIT_POLL)
		shmx__chan_bump(seq);
}

/* The pollers among our peers armed their slots: wake each, by its role,
 * slot and attach generation (the name it listens on). */
void shmx__chan_poll_kick(struct shmx_chan *c)
{
	struct shmx__chan_slot *peers = peer_slots(c);
	unsigned n = peer_count(c), k;
	uint32_t state;

	/* Relaxed, the look and the exchange: "armed" carries nothing but
	 * itself (it is seen here through the waiting word's acquire, in
	 * shmx__chan_kick_slow() and wake_peer()), and the exchange only
	 * makes one of us write the poller's eventfd. What its name needs,
	 * generation and pid, is read from the state word with acquire, which
	 * pairs with the release store of "attached" that followed the pid. */
	for (k = 0; k < n; k++) {
		if (!__atomic_load_n(&peers[k].armed, __ATOMIC_RELAXED) ||
		    !__atomic_exchange_n(&peers[k].armed, 0, __ATOMIC_RELAXED))
			continue;
		if (!c->kicks && !(c->kicks = calloc(n, sizeof(*c->kicks))))
			return;
		state = __atomic_load_n(&peers[k].state, __ATOMIC_ACQUIRE);
		/* The slot's pid: a poller of another user is trusted
		 * (shmx(7), "Polling"). */
		shmx__kick_poller_at(&c->kicks[k], shmx_fd(c->region), is_producer(c) ? 'c' : 'p',
				     shmx__chan_poll_gen(k, state >> 8), 0,
				     __atomic_load_n(&peers[k].pid, __ATOMIC_RELAXED));
	}
}


/* ---- liveness ---- */

/* What became of the holder of one slot: 1 alive, or -EPIPE (closed),
 * -EOWNERDEAD (died attached), 0 (never came, or someone marked it), as
 * its state word says. A party we never saw attach may still come: only a
 * party whose state word says it attached, and whose slot is free, is
 * gone. The word is read around the lock test so a new party attaching
 * meanwhile is not taken for the old one's corpse. *state is the word. */
static int slot_fate(struct shmx_chan *c, bool producer, unsigned s, uint32_t *state)
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
	int fate = slot_fate(c, true, s, &state);

	if (fate < 0 && fate != -EPIPE && fate != -EOWNERDEAD)
		return fate;
	if (fate == 1)
		state = __atomic_load_n(&c->prods[s].state, __ATOMIC_ACQUIRE);
	/* Another attach of the slot holds it: the reserving one is gone. */
	return fate != 1 || ((state >> 8) & 0xffffff) != (gen & 0xffffff);
}

/* Our peers as one: a single peer's fate (as version 1 had it); of
 * several, any alive keeps us waiting, else a death, else a close. A
 * consumer's producers: a death also where the dead one's slot was taken
 * over since (the header's bit, shmx__chan_died()). A broadcast producer
 * has no peer to lose: it marks dead consumers (shmx__chan_slowest())
 * and goes on. */
static int peer_gone(struct shmx_chan *c)
{
	unsigned n = peer_count(c), k, dead = 0, closed = 0;
	uint32_t state;
	uint64_t min;
	int fate;

	if (is_producer(c) && c->bcast)
		return shmx__chan_slowest(c, c->multi ? __atomic_load_n(&c->hdr->head,
									__ATOMIC_ACQUIRE)
						      : c->pub, true, &min);
	for (k = 0; k < n; k++) {
		fate = slot_fate(c, !is_producer(c), k, &state);
		if (fate == 1)
			return 0;
		if (fate == -EOWNERDEAD)
			dead++;
		else if (fate == -EPIPE)
			closed++;
		else if (fate < 0)
			return fate;
		if (fate == -EOWNERDEAD && !is_producer(c))
			shmx__chan_remember_death(c, state);
	}
	if (dead || (!is_producer(c) && shmx__chan_died(c)))
		return -EOWNERDEAD;
	return closed ? -EPIPE : 0;
}

/* A consumer stopped at a record another producer reserved: if that
 * producer is gone, the record will never be committed; mark it so that
 * ring_next() (chan-ring.h) skips it. 1 then, else 0, or -EBADMSG for a word that is no
 * record. */
static int dead_record(struct shmx_chan *c)
{
	uint64_t word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE), adv;
	uint32_t tag = (uint32_t)(word >> 32);
	int64_t len;
	int gone;

	if (is_producer(c) || !(word >> 63))
		return 0;
	if (shmx__chan_record(&c->g, c->pos, word, &adv, &len))
		return fail(c, -EBADMSG);
	gone = shmx__chan_prod_gone(c, (tag >> 24) & 0x7f, tag);
	if (gone > 0)
		c->dead_at = c->pos + 1;
	return gone;
}

/* Several producers: a record another producer reserved and has not
 * committed yet is in flight (its slot's resv, position + 1): the room
 * must not pass it even where no consumer holds it back (none counts, or
 * every one attached since and started at head, past it), or the next
 * lap's records and its late payload and commit word land on each other.
 * Its producer is looked at only when it would hold us back: a gone one
 * writes there no more. A value that cannot be a live one's (more than a
 * ring behind, as a dead predecessor's may be until its successor clears
 * it) holds nothing back. */
static void in_flight(struct shmx_chan *c, uint64_t top, uint64_t *m)
{
	uint64_t r;
	uint32_t st;
	unsigned k;

	for (k = 0; k < c->g.producers; k++) {
		if (is_producer(c) && k == c->slot)
			continue;
		r = __atomic_load_n(&c->prods[k].resv, __ATOMIC_ACQUIRE) - 1;
		if (r == UINT64_MAX || (int64_t)(r - *m) >= 0 ||
		    (r & (SHMX__CHAN_ALIGN - 1)) || top - r > c->g.capacity)
			continue;
		if (slot_fate(c, true, k, &st) == 1)
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
static bool read_slot(struct shmx_chan *c, unsigned j, uint64_t *top, uint32_t *st,
		      uint64_t *t)
{
	struct shmx__chan_slot *s = &c->conss[j];

	for (unsigned tries = 0; tries < SLOT_TRIES; tries++) {
		*st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		/* Acquire: pairs with the attach's release stores of the
		 * cursor; the state read after it is at least that new. */
		*t = __atomic_load_n(&s->pos, __ATOMIC_ACQUIRE);
		/* Several producers: a consumer may have taken what others
		 * reserved since we read head (we may have slept meanwhile). */
		if (c->multi && (int64_t)(*t - *top) > 0) {
			*top = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
			continue;
		}
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == *st)
			return true;
	}
	return false;
}

/* The slowest consumer that counts, for a producer's room: with one
 * consumer slot (a queue) always slot 0, attached or not; with several,
 * every attached one (from when there is none). The fence pairs with the
 * one a consumer issues when it attaches (start_at_head() in
 * chan-attach.c): either we see it, or it sees a head at least as new as
 * from. With reap, consumers that died attached are marked and no longer
 * count. */
int shmx__chan_slowest(struct shmx_chan *c, uint64_t from, bool reap, uint64_t *min)
{
	uint64_t m = from, t, top = c->multi ? from : c->pos;
	uint32_t st, dead;
	unsigned j;
	bool settled;

	if (c->bcast)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (j = 0; j < c->g.consumers; j++) {
		settled = read_slot(c, j, &top, &st, &t);
		if (c->bcast && !shmx__chan_counts(st))
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
		if (reap && c->bcast && slot_fate(c, false, j, &dead) == -EOWNERDEAD &&
		    __atomic_compare_exchange_n(&c->conss[j].state, &dead,
						dead | SHMX__CHAN_REAPED, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			continue;
		if (!c->bcast || (int64_t)(t - m) < 0)
			m = t;
	}
	if (c->multi)
		in_flight(c, top, &m);
	*min = m;
	return 0;
}

int shmx__chan_truncated(struct shmx_chan *c)
{
	return shmx__truncated(shmx_fd(c->region), c->map_size);
}

/* A fresh look at the peer: 1 ready, 0 keep waiting, or an error. Ready
 * wins over a dead or closed peer, and is tested after the liveness check:
 * everything committed before the peer died is still delivered. */
static int settle(struct shmx_chan *c, ready_fn ready, uint64_t need)
{
	int err = shmx__chan_truncated(c), r;

	if (err)
		return fail(c, err);
	err = peer_gone(c);
	r = ready(c, need);
	if (!r && c->multi && !is_producer(c))
		r = dead_record(c);
	return r ? r : err;
}

int shmx__chan_deadline(struct deadline *d)
{
	if (!d->set) {
		d->set = true;
		return shmx__deadline(d->timeout, &d->ts);
	}
	return 0;
}

static int spin(struct shmx_chan *c, ready_fn ready, uint64_t need, struct deadline *d)
{
	bool pure = c->flags & SHMX_CHAN_SPIN;
	unsigned i, clocks = 0;
	int r;

	for (i = 1;; i++) {
		cpu_relax();
		r = ready(c, need);
		if (r)
			return r;
		if (!pure && i >= SPIN_POLLS)
			return 0;
		if (i % SPIN_CLOCK)
			continue;
		/* The adaptive spin too: a short deadline ends within it. */
		if (shmx__expired(&d->ts)) {
			r = settle(c, ready, need);
			return r ? r : -ETIMEDOUT;
		}
		if (pure && ++clocks % SPIN_LIVE == 0 && (r = settle(c, ready, need)))
			return r;
	}
}

static int sleep_loop(struct shmx_chan *c, ready_fn ready, uint64_t need,
		      struct deadline *d)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *seq = is_producer(c) ? &h->space_seq : &h->data_seq;
	uint32_t *waiting = is_producer(c) ? &h->space_waiting : &h->data_waiting;
	struct timespec slice;
	uint32_t s;
	int r;

	for (;;) {
		r = settle(c, ready, need);
		if (r)
			break;
		if (shmx__expired(&d->ts)) {
			r = -ETIMEDOUT;
			break;
		}
		s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		__atomic_fetch_or(waiting, WAIT_SLEEP, __ATOMIC_RELAXED);
		sleeper_barrier(c);
		r = ready(c, need);
		if (r)
			break;
		shmx__slice(&d->ts, SLICE_MS, &slice);
		r = futex_wait(seq, s, &slice);
		if (r == -EFAULT) {     /* the word's page was truncated away */
			r = fail(c, r);
			break;
		}
		if (r && r != -ETIMEDOUT && r != -EAGAIN && r != -EINTR)
			break;
		/* Woken: the index moved. Timed out: look at the peer (and
		 * the object's size) before touching the ring again. */
		if (r != -ETIMEDOUT && (r = ready(c, need)))
			break;
	}
	/* Alone on our side, we clear our flag (saves the peer a wake-up
	 * call); among several, the bits of others may be in it too. */
	/* Relaxed: alone on our side the word holds only our bit; a peer's
	 * clearing of it races with ours harmlessly (both store 0). */
	if ((is_producer(c) ? c->g.producers : c->g.consumers) == 1 &&
	    __atomic_load_n(waiting, __ATOMIC_RELAXED))
		__atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
	return r;
}

/* The poller's side of kick(): a try never waits (shmx(7)), and an
 * expedited membarrier waits for every other CPU and, in the kernel, for
 * everyone else's (tens of ms on a loaded machine). A poller fences as a
 * party without membarrier does: the header's fences bit was set when
 * its descriptor was made (fd_start()), so every running side fences. */
static void poller_barrier(struct shmx_chan *c)
{
	(void)c;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Several producers: a live producer's reservation in flight may hold our
 * room back (in_flight()); its commit kicks us, its close or its death
 * does not. Relaxed: called after our fence (arm()); a reservation
 * stored after it is not one our room test counted. */
static bool other_in_flight(struct shmx_chan *c)
{
	uint32_t st;

	for (unsigned k = 0; k < c->g.producers; k++)
		if (k != c->slot && __atomic_load_n(&c->prods[k].resv, __ATOMIC_RELAXED) &&
		    slot_fate(c, true, k, &st) == 1)
			return true;
	return false;
}

/* Before arming: the peers' state words as of now (states[], for the
 * second look), and what makes the descriptor readable when one of them
 * goes. One peer: its process and its connection. Several: the process
 * of each one alive (a pidfd each), so an idle channel wakes nobody.
 * Closes and attaches kick us themselves. false when a peer alive could
 * not be watched: the caller ticks instead. The pids are relaxed: stored
 * before the release store of "attached" that the state's acquire load
 * pairs with (a wrong one costs a wake-up, or a look every slice). */
static bool watch_peers(struct shmx_chan *c, uint32_t *states)
{
	struct shmx__chan_slot *peer = peer_slots(c);
	unsigned n = peer_count(c), k;
	bool seen = true;
	uint32_t st;

	for (k = 0; k < n; k++)
		states[k] = __atomic_load_n(&peer[k].state, __ATOMIC_ACQUIRE);
	if (n == 1) {
		if (states[0] & SHMX__CHAN_ATTACHED)
			shmx__poll_watch(c->poll, __atomic_load_n(&peer[0].pid, __ATOMIC_RELAXED),
					 states[0] >> 8);
		return true;
	}
	for (k = 0; k < n; k++) {
		if (slot_fate(c, !is_producer(c), k, &st) == 1)
			seen &= shmx__poll_watch_at(c->poll, k,
						    __atomic_load_n(&peer[k].pid, __ATOMIC_RELAXED),
						    states[k] >> 8);
		else
			shmx__poll_watch_at(c->poll, k, 0, 0);
	}
	return seen;
}

/* A try found nothing and we have a descriptor: arm it, as sleep_loop()
 * arms the futex. Connections and the peers' deaths are looked after
 * first; then "armed", our bit in the waiting word (release: whoever
 * takes the bit with acquire sees "armed"), the fence, and a second look
 * at the ring and at the peers' state words (relaxed: after the full
 * fence, each sees a state stored before the peer's own fence). A peer
 * that closes, or attaches, after our first look stores its state word,
 * fences and looks at our bit (wake_peer() in channel.c, attach_shared()
 * in chan-attach.c): one of us sees the other. A slice timer only where
 * a peer cannot be watched, or while another producer's reservation is in
 * flight. */
static int arm(struct shmx_chan *c, ready_fn ready, uint64_t need)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *waiting = is_producer(c) ? &h->space_waiting : &h->data_waiting;
	struct shmx__chan_slot *peer = peer_slots(c);
	uint32_t states[SHMX__CHAN_MAX_PEERS];
	bool seen;
	unsigned k;
	int r;

	shmx__poll_service(c->poll);
	seen = watch_peers(c, states);
	__atomic_store_n(&c->me->armed, 1, __ATOMIC_RELAXED);
	__atomic_fetch_or(waiting, WAIT_POLL, __ATOMIC_RELEASE);
	poller_barrier(c);
	r = ready(c, need);
	for (k = 0; !r && k < peer_count(c); k++)
		if (__atomic_load_n(&peer[k].state, __ATOMIC_RELAXED) != states[k])
			return settle(c, ready, need);
	if (!r && (!seen || (c->multi && is_producer(c) && other_in_flight(c))))
		shmx__poll_tick(c->poll, SLICE_MS);
	return r;
}

/* Wait until ready(c, need); 0 or -errno (-EAGAIN for a try). */
int shmx__chan_wait(struct shmx_chan *c, ready_fn ready, uint64_t need,
		    struct deadline *d)
{
	int r;

	if (d->timeout == 0) {
		r = settle(c, ready, need);
		if (!r && c->poll)
			r = arm(c, ready, need);
		return r > 0 ? 0 : r < 0 ? r : -EAGAIN;
	}
	r = shmx__chan_deadline(d);
	if (r)
		return r;
	if (!(c->flags & SHMX_CHAN_BLOCK)) {
		r = spin(c, ready, need, d);
		if (r)
			return r > 0 ? 0 : r;
	}
	r = sleep_loop(c, ready, need, d);
	return r > 0 ? 0 : r;
}


/* ---- the pollable descriptor ---- */

static int fd_start(struct shmx_chan *c)
{
	int err;

	if (c->poll)
		return 0;
	/* From now on we arm with a fence only (poller_barrier()): every
	 * running side must fence. One that read the bit as clear just
	 * before we set it is made to drain by the membarrier that follows
	 * (not a try: it may wait), and by the system calls before our first
	 * arm. */
	if (!full_fences(c)) {
		set_fences(c);
		sleeper_barrier(c);
	}
	err = shmx__poll_new(shmx_fd(c->region), is_producer(c) ? 'p' : 'c',
			     shmx__chan_poll_gen(c->slot, c->gen), &c->poll);
	/* Readable at first: the caller's first try arms it. */
	if (!err)
		shmx__poll_signal(c->poll);
	return err;
}

SHMX_EXPORT int shmx_chan_fd(struct shmx_chan *c)
{
	int err;

	if (!c)
		return -EINVAL;
	if (c->error)
		return c->error;
	err = fd_start(c);
	return err ? err : shmx__poll_fd(c->poll);
}
