/* SPDX-License-Identifier: MIT */
/* Several producers, the block policy, one consumer slot (a queue) or
 * several (a broadcast): shmx(7), "Several producers". A producer
 * reserves a run of records under the lock (chan-multi.c), copies
 * outside it and commits each record with one store; a consumer waits at
 * a record only reserved, passes one whose producer is gone (settled in
 * a wait: dead_record() in chan-peers.c) and the skip records a short commit leaves. The walk
 * itself is chan-walk.h's. */
#define _GNU_SOURCE

#include "chan-walk.h"

/* ---- producer ---- */

static hot_inline ssize_t mprod_room(struct shmx_chan *c, const struct iovec *m, size_t n,
				     struct deadline *d)
{
	return shmx__chan_reserve_multi(c, m, n, d);
}

/* The commit: the record's word again, with the message tag. A message
 * shorter than its reservation leaves the rest to a skip record, stored
 * first: the record's size was fixed when it was reserved, and so was the
 * padding before it (stored by the reservation). The records of a run
 * are committed in order, the last one ends its flight (mark_run() in
 * chan-multi.c). */
static hot_inline void mprod_put(struct shmx_chan *c, uint64_t off, uint64_t pad,
				    size_t len, size_t resv)
{
	uint64_t used = REC + align8(len), size = REC + align8(resv);

	/* The skip word relaxed: the message word's release store after it
	 * publishes it. */
	if (used < size)
		__atomic_store_n(word_at(c, off + used),
				 (uint64_t)SHMX__CHAN_TAG_SKIP << 32 | (size - used - REC),
				 __ATOMIC_RELAXED);
	__atomic_store_n(word_at(c, off), (uint64_t)SHMX__CHAN_TAG_MSG << 32 | len,
			 __ATOMIC_RELEASE);
	c->pos += pad + size;
	c->count++;
	if (c->pos != c->run_end)
		return;
	/* The run is done: the room may pass it now (after the commit, for
	 * a producer that reads this and then writes there); a producer may
	 * wait for room that only our records held back. */
	__atomic_store_n(&c->me->resv, 0, __ATOMIC_RELEASE);
	kick(c, &c->hdr->space_waiting, &c->hdr->space_seq);
}

/* head and sent moved when we reserved; our own count is ours. Then the
 * kick for the consumers asleep for data. */
static hot_inline void mprod_publish(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	__atomic_store_n(&c->me->count, c->count, __ATOMIC_RELAXED);
	c->pub = c->pos;
	kick(c, &h->data_waiting, &h->data_seq);
}

static const struct prod_steps mprod_prod = {
	.reserve = mprod_room,
	.commit = mprod_put,
	.publish = mprod_publish,
};

/* ---- consumer ---- */

static hot_inline bool is_busy(uint64_t word)
{
	return word >> 63;
}

/* Nothing at our position, or a record another producer only reserved
 * and that is not known to be a dead producer's (dead_at, dead_record()
 * in chan-peers.c). */
static hot_inline bool mprod_empty(struct shmx_chan *c, uint64_t word)
{
	return !word || (is_busy(word) && c->dead_at != c->pos + 1);
}

static int mprod_ready(struct shmx_chan *c, uint64_t need)
{
	uint64_t word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);

	(void)need;
	return word && !is_busy(word);
}

/* About to wait again in a call that already passed records: the wait
 * itself may return at once (the next record is another dead producer's),
 * so the deadline is looked at here. */
static int mprod_pre_wait(struct shmx_chan *c, struct deadline *d, uint64_t walked)
{
	int err;

	if (!walked)
		return 0;
	err = shmx__chan_deadline(d);
	if (!err && d->timeout > 0 && shmx__expired(&d->ts))
		err = -ETIMEDOUT;
	if (err)
		show_passed(c, show_tail);
	return err;
}

/* The walk over records that are no messages is bounded twice. By the
 * ring: nobody writes a record more than a ring past the cursor we
 * stored, so passing more than that without storing it is a ring of
 * garbage. By the caller: a try, or the rest of a batch (d NULL), stops
 * after a ring of them; a walk that waits between records (a dead
 * producer's reservation is settled in a wait) stops at the deadline
 * (mprod_pre_wait()). */
static int mprod_bound(struct shmx_chan *c, struct deadline *d, uint64_t walked)
{
	/* Relaxed: our own cursor, which only we store. */
	if (c->pos - __atomic_load_n(&c->me->pos, __ATOMIC_RELAXED) > c->g.capacity)
		return fail(c, -EBADMSG);
	if (walked <= c->g.capacity || (d && d->timeout))
		return 0;
	show_passed(c, show_tail);
	return -EAGAIN;
}

static const struct cons_steps mprod_cons = {
	.empty = mprod_empty,
	.ready = mprod_ready,
	.pre_wait = mprod_pre_wait,
	.lapped = plain_lapped,
	.behind = plain_behind,
	.bound = mprod_bound,
	.show = show_tail,
};

SHMX__CHAN_SHAPE(mprod, mprod_prod, mprod_cons);
