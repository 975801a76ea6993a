/* SPDX-License-Identifier: MIT */
/* Several producers: the reservation lock, taken over from a holder that
 * died with it, and the reservation itself, of a run of records under one
 * hold (docs/channel-format.md, "Several producers"). The commit, one
 * store a record, and the consumers' walk are chan-mprod.c's. */
#define _GNU_SOURCE
#include <sched.h>

#include "chan-ring.h"

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
	/* Relaxed: the dead holder's slot, as above. */
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

/* 1 when need more bytes (and the zero word after them) fit behind the
 * slowest consumer that counts, 0 when not (yet), -EBADMSG for a cursor
 * that cannot be; from the current head, which another producer may have
 * moved (c->pos follows it). */
static int mprod_space_ready(struct shmx_chan *c, uint64_t need)
{
	uint64_t min, from = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
	int err;

	if (from & (SHMX__CHAN_ALIGN - 1))
		return fail(c, -EBADMSG);
	c->pos = from;
	err = shmx__chan_slowest(c, from, false, &min);
	if (err)
		return fail(c, err);
	c->peer = min;
	return c->pos + need + REC - min <= c->g.capacity;
}

/* Under the lock, from head (c->pos): how many of the n messages fit, the
 * room looked up again (once) when not all do; 0 when not even the first
 * does, -EBADMSG. */
static ssize_t run_under_lock(struct shmx_chan *c, const struct iovec *m, size_t n)
{
	/* Relaxed: only lock holders store head, and our acquiring CAS of
	 * the lock follows the previous holder's release. */
	uint64_t head = __atomic_load_n(&c->hdr->head, __ATOMIC_RELAXED), span;
	size_t k;
	int err;

	if (head & (SHMX__CHAN_ALIGN - 1))
		return fail(c, -EBADMSG);
	c->pos = head;
	k = run_fits(c, m, n, room_left(c, head), &span);
	if (k == n)
		return (ssize_t)k;
	err = mprod_space_ready(c, first_size(c, m));
	if (err <= 0)
		return err;
	return (ssize_t)run_fits(c, m, n, room_left(c, head), &span);
}

/* Each record of the run: the zero word after it, its word with our
 * "reserved" tag, the padding word before it if it wraps, then head. head
 * moves record by record, so a holder that dies leaves at most one
 * reservation and its padding after head (repair_head()). Consumers wait
 * at a reserved word until we commit (chan-mprod.c), or skip it once we
 * are gone. */
static void mark_run(struct shmx_chan *c, const struct iovec *m, size_t k)
{
	uint64_t pos = c->pos, off, pad, need;
	/* Relaxed: under the lock, as head in run_under_lock(). */
	uint64_t sent = __atomic_load_n(&c->hdr->sent, __ATOMIC_RELAXED);

	/* In flight until the run's last record is committed: no producer
	 * laps it (the room counts it, shmx__chan_slowest()), also where no
	 * consumer holds it back. Before head: whoever reads a head past it
	 * sees it. */
	rec_at(c, pos, m[0].iov_len, &pad);
	__atomic_store_n(&c->me->resv, pos + pad + 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < k; i++) {
		off = rec_at(c, pos, m[i].iov_len, &pad);
		need = REC + align8(m[i].iov_len);
		__atomic_store_n(word_at(c, off + need), 0, __ATOMIC_RELAXED);
		__atomic_store_n(word_at(c, off),
				 (uint64_t)busy_tag(c->slot, c->gen) << 32 | m[i].iov_len,
				 __ATOMIC_RELEASE);
		if (pad)
			__atomic_store_n(word_at(c, pos),
					 (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (pad - REC),
					 __ATOMIC_RELEASE);
		pos += pad + need;
		set_head_as_holder(c, pos, ++sent);
	}
	c->run_end = pos;
}

/* Room for as many of the n messages as fit, at least the first, under
 * one hold of the lock; c->pos is left at the first. Waiting for room,
 * the lock is dropped and the consumers woken first: what a batch
 * committed so far is theirs to take, and only they make our room. */
ssize_t shmx__chan_reserve_multi(struct shmx_chan *c, const struct iovec *m, size_t n,
				 struct deadline *d)
{
	ssize_t k;
	int err;

	for (;;) {
		if ((err = lock_take(c, d)))
			return err;
		k = run_under_lock(c, m, n);
		if (k)
			break;
		lock_drop(c);
		__atomic_store_n(&c->me->count, c->count, __ATOMIC_RELAXED);
		kick(c, &c->hdr->data_waiting, &c->hdr->data_seq);
		err = shmx__chan_wait(c, mprod_space_ready, first_size(c, m), d);
		if (err)
			return err;
	}
	if (k > 0)
		mark_run(c, m, (size_t)k);
	lock_drop(c);
	return k;
}
