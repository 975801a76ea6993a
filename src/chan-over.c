/* SPDX-License-Identifier: MIT */
/* The overwrite policy (shmx(7), "Overwrite"): one producer that never
 * waits for room. It moves low, the oldest record still intact, past what
 * it is about to write over, before it writes; a consumer that low has
 * passed (lapped) moves to low, counts what it lost and says so once,
 * -ENOBUFS. The walk itself is chan-walk.h's. */
#define _GNU_SOURCE

#include "chan-walk.h"

/* ---- producer ---- */

/* Move low past the records the next need bytes (and the zero word after
 * them) will cover, before writing any of them: a consumer that reads low
 * after its copy then knows whether the copy can be torn. The records are
 * our own, read back as untrusted as any. */
static int overwrite_room(struct shmx_chan *c, uint64_t need)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint64_t low = c->low, msgs = c->low_msgs, word, adv;
	uint32_t seq;
	int64_t len;

	/* low never passes the published head (a consumer checks that): a
	 * batch publishes what it stored so far first. */
	if (c->pos != c->pub)
		publish_as_one(c);
	while (c->pos + need + REC - low > c->g.capacity) {
		/* Relaxed: our own records (one producer), read back. */
		word = __atomic_load_n(word_at(c, low), __ATOMIC_RELAXED);
		if (!word || shmx__chan_record(&c->g, low, word, &adv, &len) || len == -2 ||
		    c->pos - (low + adv) > c->g.capacity)
			return fail(c, -EBADMSG);
		low += adv;
		msgs += len >= 0;
	}
	/* The seqlock's writer: we are its only one, so our own value. */
	seq = __atomic_load_n(&h->low_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&h->low_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&h->low_msgs, msgs, __ATOMIC_RELAXED);
	__atomic_store_n(&h->low, low, __ATOMIC_RELAXED);
	__atomic_store_n(&h->low_seq, seq + 2, __ATOMIC_RELEASE);
	/* The writes over the old records come after low, for a reader
	 * whose acquire fence follows its copy. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	c->low = c->peer = low;
	c->low_msgs = msgs;
	return 0;
}

/* Room for as many of the n messages as a ring holds, at least the first
 * (max_msg leaves a ring room for one record and its padding): low moves
 * once for the run. */
static hot_inline ssize_t over_room(struct shmx_chan *c, const struct iovec *m, size_t n,
				    struct deadline *d)
{
	uint64_t span;
	size_t k = run_fits(c, m, n, c->g.capacity - REC, &span);
	int err;

	(void)d;
	if (unlikely(room_left(c, c->pos) < span) && (err = overwrite_room(c, span)))
		return err;
	return (ssize_t)k;
}

static const struct prod_steps over_prod = {
	.reserve = over_room,
	.commit = put_record,
	.publish = publish_as_one,
};

/* ---- consumer ---- */

/* low has passed our position, so what we read there may be torn. The
 * read side of a seqlock: the copy (ring_recv() and the others in
 * chan-walk.h) races with the producer's writes over it by design, and
 * only this test, after it, says whether the copy can be used. The
 * acquire fence pairs with the producer's release fence between moving
 * low and writing over the records (overwrite_room()); low itself relaxed
 * after it. */
static hot_inline bool overtaken(struct shmx_chan *c)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return (int64_t)(__atomic_load_n(&c->hdr->low, __ATOMIC_RELAXED) - c->pos) > 0;
}

/* The producer never waits for us: the tail is for display (stat, peers)
 * and a successor in the slot, relaxed, and nobody is kicked. */
static hot_inline void over_show(struct shmx_chan *c)
{
	struct shmx__chan_slot *me = c->me;

	__atomic_store_n(&me->count, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&me->index, c->index, __ATOMIC_RELAXED);
	__atomic_store_n(&me->pos, c->pos, __ATOMIC_RELAXED);
}

/* Overtaken: everything from our position to low is gone. Count it, move
 * to low (the oldest record still there) and say so, once: -ENOBUFS. */
static ssize_t fell_behind(struct shmx_chan *c)
{
	uint64_t low, msgs, head;

	/* low first: the producer moves it only up to a head it published
	 * before, so a head read after it is at least low. Read before, head
	 * may be older than a low the producer moved since. */
	shmx__chan_read2(&c->hdr->low_seq, &c->hdr->low, &c->hdr->low_msgs, &low, &msgs);
	head = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
	if ((low & (SHMX__CHAN_ALIGN - 1)) || (int64_t)(low - c->pos) <= 0 ||
	    (int64_t)(head - low) < 0 || (int64_t)(msgs - c->index) < 0 ||
	    msgs - c->index > (low - c->pos) / REC)
		return fail(c, -EBADMSG);
	c->lost += msgs - c->index;
	c->index = msgs;
	c->pos = low;
	c->cur_adv = 0;
	__atomic_store_n(&c->me->lost, c->lost, __ATOMIC_RELAXED);
	over_show(c);
	return -ENOBUFS;
}

/* A record word at our position, or overtaken: either ends a wait. */
static int over_ready(struct shmx_chan *c, uint64_t need)
{
	(void)need;
	return plain_ready(c, 0) || overtaken(c);
}

/* Before a wait: overtaken, nothing at our position is ours to wait for. */
static int over_pre_wait(struct shmx_chan *c, struct deadline *d, uint64_t walked)
{
	(void)d, (void)walked;
	return overtaken(c) ? (int)fell_behind(c) : 0;
}

static const struct cons_steps over_cons = {
	.empty = plain_empty,
	.ready = over_ready,
	.pre_wait = over_pre_wait,
	.lapped = overtaken,
	.behind = fell_behind,
	.bound = plain_bound,
	.show = over_show,
};

SHMX__CHAN_SHAPE(over, over_prod, over_cons);
