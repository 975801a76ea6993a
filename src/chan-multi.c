/* SPDX-License-Identifier: MIT */
/* Several producers: the reservation lock, taken over from a holder that
 * died with it, and the reservation itself (docs/channel-format.md,
 * "Several producers"). The commit, one store, is in chan-send.c. */
#define _GNU_SOURCE
#include <sched.h>

#include "chan.h"

/* The lock word of its holder: slot + 1 and the attach generation. */
static uint32_t lock_value(const struct shmx_chan *c)
{
	return (c->slot + 1) | (c->gen & 0xffffff) << 8;
}

/* The lock holder's head and sent as one (shmx__chan_set_head()), after
 * the value of sent it is about to store is kept in its slot's pos, for
 * whoever takes the lock over should it die between the two halves. The
 * compiler keeps the store before the sequence word's (the signal fence);
 * a killed process's stores become visible in program order, and the
 * taker sees them once it has seen the death. */
static void set_head_as_holder(struct shmx_chan *c, uint64_t head, uint64_t sent)
{
	__atomic_store_n(&c->me->pos, sent, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	shmx__chan_set_head(c->hdr, head, sent);
}

/* The reservations after head: a holder that died with the lock stored
 * them and not head. Any such reservation is of a producer that is gone
 * (it held the lock, and died): the dead holder's own, or, after a second
 * takeover, the first holder's, which the second died repairing. */
static int passed_reservation(struct shmx_chan *c, uint64_t word)
{
	uint32_t tag = (uint32_t)(word >> 32);
	int gone = shmx__chan_prod_gone(c, (tag >> 24) & 0x7f, tag & 0xffffff);

	return gone < 0 ? gone : gone ? 0 : -EBADMSG;
}

/* The holder of the lock died holding it (we took it over): it may have
 * stored reserved and padding records after head, and not head. Walk past
 * them (a reservation of a dead producer is skipped by the consumers like
 * padding). sent: had it begun to store head and sent (head_seq odd), the
 * sent it meant is in its slot (set_head_as_holder()): whether sent was
 * stored already cannot be told from sent itself. */
static int repair_head(struct shmx_chan *c, uint32_t dead)
{
	struct shmx__chan_hdr *h = c->hdr;
	/* Relaxed: the dead holder released nothing, but we saw it die
	 * (its liveness lock, a system call), and a process's stores are all
	 * visible once it is gone. */
	uint64_t pos = __atomic_load_n(&h->head, __ATOMIC_RELAXED), word, adv, meant;
	uint64_t sent = __atomic_load_n(&h->sent, __ATOMIC_RELAXED), busy = 0;
	uint32_t seq = __atomic_load_n(&h->head_seq, __ATOMIC_RELAXED);
	int64_t len;
	int steps, err;

	if (pos & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	for (steps = 0; steps < 2; steps++) {
		word = __atomic_load_n(word_at(c, pos), __ATOMIC_ACQUIRE);
		if (!word)
			break;
		if (shmx__chan_record(&c->g, pos, word, &adv, &len) || len >= 0)
			return -EBADMSG;
		if (len == -2 && (err = passed_reservation(c, word)))
			return err;
		pos += adv;
		busy += len == -2;
	}
	meant = __atomic_load_n(&c->prods[(dead & 0xff) - 1].pos, __ATOMIC_RELAXED);
	if ((seq & 1) && meant - sent <= busy)
		sent = meant;
	else
		sent += busy;
	/* Even again, if it died between the two halves of the update. */
	if (seq & 1)
		__atomic_fetch_add(&h->head_seq, 1, __ATOMIC_RELAXED);
	set_head_as_holder(c, pos, sent);
	return 0;
}

/* The holder is gone when its slot is free or another attach holds it.
 * Our own slot and generation: we do not hold the lock (a handle takes
 * it only inside a call), so the word is corrupt, not a holder to wait
 * for. */
static int holder_gone(struct shmx_chan *c, uint32_t v)
{
	unsigned s = (v & 0xff) - 1;

	if (!(v & 0xff) || s >= c->g.producers)
		return -EBADMSG;
	if (s == c->slot)       /* our own slot, an earlier attach of it */
		return (v >> 8) != (c->gen & 0xffffff) ? 1 : -EBADMSG;
	return shmx__chan_prod_gone(c, s, v >> 8);
}

#define LOCK_SPINS 256  /* polls between looks at the holder */

/* The reservation lock: held for a handful of stores, so spin, yield,
 * and now and then look whether the holder died (then take it over and
 * repair). Waits are bounded by the deadline like every other. */
static int lock_take(struct shmx_chan *c, struct deadline *d)
{
	uint32_t *lock = &c->hdr->lock, mine = lock_value(c), v;
	unsigned i;
	int err;

	for (i = 1;; i++) {
		v = 0;
		if (__atomic_compare_exchange_n(lock, &v, mine, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
		cpu_relax();
		if (i % LOCK_SPINS)
			continue;
		err = holder_gone(c, v);
		if (err < 0)
			return fail(c, err);
		if (err && __atomic_compare_exchange_n(lock, &v, mine, false,
						       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			err = repair_head(c, v);
			if (err) {
				__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
				return fail(c, err);
			}
			return 0;
		}
		if ((err = shmx__chan_deadline(d)))
			return err;
		if (d->timeout >= 0 && shmx__expired(&d->ts))
			return d->timeout ? -ETIMEDOUT : -EAGAIN;
		sched_yield();
	}
}

static void lock_drop(struct shmx_chan *c)
{
	__atomic_store_n(&c->hdr->lock, 0, __ATOMIC_RELEASE);
}

/* Reserve a record of len bytes under the lock: zero the word after it,
 * store its word with our "reserved" tag, then the padding word before it
 * if it wraps, then head. Consumers wait at a reserved word until we
 * commit (commit_multi()), or skip it once we are gone. */
int shmx__chan_reserve_multi(struct shmx_chan *c, size_t len, struct deadline *d,
			     uint64_t *off)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint64_t need = REC + align8(len), head, o, room, total;
	int err;

	for (;;) {
		err = lock_take(c, d);
		if (err)
			return err;
		/* Relaxed: only lock holders store head, and our acquiring
		 * CAS of the lock follows the previous holder's release. */
		head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
		if (head & (SHMX__CHAN_ALIGN - 1)) {
			lock_drop(c);
			return fail(c, -EBADMSG);
		}
		o = head & c->g.mask;
		room = c->g.capacity - o;
		total = need > room ? room + need : need;
		c->pos = head;
		if (head + total + REC - c->peer <= c->g.capacity)
			break;
		err = shmx__chan_space_ready(c, total);
		if (err > 0)
			break;
		lock_drop(c);
		if (err < 0)
			return err;
		/* What a batch committed so far is the consumers' to take, and
		 * only they make our room: wake them before we wait. */
		__atomic_store_n(&c->me->count, c->count, __ATOMIC_RELAXED);
		kick(c, &h->data_waiting, &h->data_seq);
		err = shmx__chan_wait(c, shmx__chan_space_ready, total, d);
		if (err)
			return err;
	}
	*off = total > need ? 0 : o;
	/* In flight until we commit: no producer laps it (the room counts
	 * it, shmx__chan_slowest()), also where no consumer holds it back.
	 * Before head: whoever reads a head past it sees it. */
	__atomic_store_n(&c->me->resv, head + total - need + 1, __ATOMIC_RELAXED);
	__atomic_store_n(word_at(c, *off + need), 0, __ATOMIC_RELAXED);
	__atomic_store_n(word_at(c, *off), (uint64_t)busy_tag(c->slot, c->gen) << 32 | len,
			 __ATOMIC_RELEASE);
	if (total > need)
		__atomic_store_n(word_at(c, head),
				 (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (room - REC),
				 __ATOMIC_RELEASE);
	set_head_as_holder(c, head + total, __atomic_load_n(&h->sent, __ATOMIC_RELAXED) + 1);
	lock_drop(c);
	c->pos = head + total;
	return 0;
}
