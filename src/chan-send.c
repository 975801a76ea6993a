/* SPDX-License-Identifier: MIT */
/* The ring's producer side for every shape but one producer and one
 * consumer with the block policy (chan-spsc.c): it reserves and commits
 * records (several producers reserve in chan-multi.c). It keeps its own index privately and treats
 * the other side's index, every record word and every length in the ring
 * as untrusted input: a bad value makes the handle fail with -EBADMSG,
 * never an access outside the ring. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/uio.h>

#include "chan.h"

/* ---- producer ---- */

/* 1 when need more bytes (and the zero word after them) fit behind the
 * slowest consumer that counts, 0 when not (yet), -EBADMSG for a cursor
 * that cannot be. Several producers look from the current head, which
 * another may have moved. */
int shmx__chan_space_ready(struct shmx_chan *c, uint64_t need)
{
	uint64_t min, from = c->pub;
	int err;

	if (c->multi) {
		from = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
		if (from & (SHMX__CHAN_ALIGN - 1))
			return fail(c, -EBADMSG);
		c->pos = from;
	}
	err = shmx__chan_slowest(c, from, false, &min);
	if (err)
		return fail(c, err);
	c->peer = min;
	return c->pos + need + REC - min <= c->g.capacity;
}

/* Make what we stored visible through head and sent, then wake a consumer
 * asleep for data (kick()). A batch stores several records and publishes
 * once: the consumer polls record words, so it can take them earlier, but
 * the kick after the last one is what a sleeping consumer relies on. Overwriting, head and sent change under head_seq: a consumer
 * that attaches reads both as one. */
static hot_inline void publish(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	if (c->multi) {
		/* head and sent moved when we reserved; our own count is ours */
		__atomic_store_n(&c->me->count, c->count, __ATOMIC_RELAXED);
	} else {
		/* overwrite or broadcast (one producer and one consumer
		 * with the block policy is chan-spsc.c's) */
		shmx__chan_set_head(h, c->pos, c->count);
	}
	c->pub = c->pos;
	kick(c, &h->data_waiting, &h->data_seq);
}

/* The ring looks full: wait for the slowest consumer. Records a batch
 * stored are published first: the consumer may be asleep waiting for
 * them, and only it can make the room we wait for. */
static int wait_for_space(struct shmx_chan *c, uint64_t need, struct deadline *d)
{
	if (!c->multi)
		publish(c);
	return shmx__chan_wait(c, shmx__chan_space_ready, need, d);
}

/* Overwriting: move low, the oldest record still intact, past the records
 * the next need bytes (and the zero word after them) will cover, before
 * writing any of them: a consumer that reads low after its copy then
 * knows whether the copy can be torn. The records are our own, read back
 * as untrusted as any. */
static int overwrite_room(struct shmx_chan *c, uint64_t need)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint64_t low = c->low, msgs = c->low_msgs, word, adv;
	uint32_t seq;
	int64_t len;

	/* low never passes the published head (a consumer checks that): a
	 * batch publishes what it stored so far first. */
	if (c->pos != c->pub)
		publish(c);
	while (c->pos + need + REC - low > c->g.capacity) {
		word = __atomic_load_n(word_at(c, low), __ATOMIC_RELAXED);
		if (!word || shmx__chan_record(&c->g, low, word, &adv, &len) || len == -2 ||
		    c->pos - (low + adv) > c->g.capacity)
			return fail(c, -EBADMSG);
		low += adv;
		msgs += len >= 0;
	}
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

/* Room for a record of len payload bytes, contiguous: when it does not fit
 * before the ring's end, the record goes to offset 0 and put_record() fills
 * the end with a padding record. Returns the record's ring offset. */
static hot_inline int reserve_space(struct shmx_chan *c, size_t len, struct deadline *d,
			 uint64_t *off)
{
	uint64_t need = REC + align8(len), o = c->pos & c->g.mask;
	uint64_t room = c->g.capacity - o, total = need > room ? room + need : need;
	int err;

	if (unlikely(c->pos + total + REC - c->peer > c->g.capacity)) {
		if (c->over) {
			err = overwrite_room(c, total);
			if (err)
				return err;
		} else {
			err = shmx__chan_space_ready(c, total);
			if (err < 0)
				return err;
			if (!err && (err = wait_for_space(c, total, d)))
				return err;
		}
	}
	c->pad = total - need;
	*off = c->pad ? 0 : o;
	return 0;
}

/* Store the record: zero the word after it, store its word, then the
 * padding word that leads to it (both release): the consumer, which polls
 * words, sees a whole record or nothing, never a stale word. */
static hot_inline void put_record(struct shmx_chan *c, uint64_t off, size_t len)
{
	uint64_t size = REC + align8(len);

	__atomic_store_n(word_at(c, off + size), 0, __ATOMIC_RELAXED);
	__atomic_store_n(word_at(c, off), (uint64_t)SHMX__CHAN_TAG_MSG << 32 | len,
			 __ATOMIC_RELEASE);
	if (c->pad) {
		__atomic_store_n(word_at(c, c->pos),
				 (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (c->pad - REC),
				 __ATOMIC_RELEASE);
		c->pos += c->pad;
		c->pad = 0;
	}
	c->pos += size;
	c->count++;
}


/* ---- several producers: reserved in chan-multi.c, committed here ---- */

/* The commit: the record's word again, with the message tag. A message
 * shorter than its reservation leaves the rest to a skip record, stored
 * first: the record's size was fixed when it was reserved. */
static hot_inline void commit_multi(struct shmx_chan *c, uint64_t off, size_t len,
				    size_t resv)
{
	uint64_t used = REC + align8(len), size = REC + align8(resv);

	if (used < size)
		__atomic_store_n(word_at(c, off + used),
				 (uint64_t)SHMX__CHAN_TAG_SKIP << 32 | (size - used - REC),
				 __ATOMIC_RELAXED);
	__atomic_store_n(word_at(c, off), (uint64_t)SHMX__CHAN_TAG_MSG << 32 | len,
			 __ATOMIC_RELEASE);
	/* Done with it: the room may pass it now (after the commit, for a
	 * producer that reads this and then writes there). */
	__atomic_store_n(&c->me->resv, 0, __ATOMIC_RELEASE);
	/* A producer may wait for room that only our record held back. */
	kick(c, &c->hdr->space_waiting, &c->hdr->space_seq);
	c->count++;
}

/* A place for len bytes, by whichever protocol the channel has. */
static hot_inline int reserve(struct shmx_chan *c, size_t len, struct deadline *d,
			      uint64_t *off)
{
	if (c->multi)
		return shmx__chan_reserve_multi(c, len, d, off);
	return reserve_space(c, len, d, off);
}

static hot_inline void commit_record(struct shmx_chan *c, uint64_t off, size_t len,
				     size_t resv)
{
	if (c->multi)
		commit_multi(c, off, len, resv);
	else
		put_record(c, off, len);
}

static int commit_at(struct shmx_chan *c, uint64_t off, size_t len, size_t resv)
{
	commit_record(c, off, len, resv);
	publish(c);
	return 0;
}

/* The checks of a call that sends one message, then room for it. */
static hot_inline int place(struct shmx_chan *c, size_t len, struct deadline *d,
			    uint64_t *off)
{
	int err = producer_ok(c, d->timeout);

	if (err)
		return err;
	if (len > c->g.max_msg)
		return -EMSGSIZE;
	return reserve(c, len, d, off);
}

int shmx__chan_send_any(struct shmx_chan *c, const void *buf, size_t len, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off;
	int err;

	if (!buf && len)
		return -EINVAL;
	err = place(c, len, &d, &off);
	if (err)
		return err;
	/* len 0 may come with buf NULL, which memcpy must not see. A fault in
	 * the copy is caught by the guarded section of shmx_chan_send(). */
	if (len)
		memcpy(c->ring + off + REC, buf, len);
	return commit_at(c, off, len, len);
}

int shmx__chan_batch_lens_ok(const struct shmx_chan *c, const struct iovec *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!msgs[i].iov_base && msgs[i].iov_len)
			return -EINVAL;
		if (msgs[i].iov_len > c->g.max_msg)
			return -EMSGSIZE;
	}
	return 0;
}

/* Each record as chan_send() stores it, one publish (and one fence) for
 * the lot; wait_for_space() publishes before it waits. */
ssize_t shmx__chan_send_batch_any(struct shmx_chan *c, const struct iovec *msgs,
			       size_t n, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off;
	size_t i;
	int err;

	if (!msgs || !n)
		return -EINVAL;
	err = producer_ok(c, timeout_ms);
	if (!err)
		err = shmx__chan_batch_lens_ok(c, msgs, n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		err = reserve(c, msgs[i].iov_len, &d, &off);
		if (err)
			break;
		if (msgs[i].iov_len)
			memcpy(c->ring + off + REC, msgs[i].iov_base, msgs[i].iov_len);
		commit_record(c, off, msgs[i].iov_len, msgs[i].iov_len);
	}
	if (!i)
		return err;
	publish(c);
	return (ssize_t)i;
}

int shmx__chan_reserve_any(struct shmx_chan *c, size_t len, void **ptr, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off;
	int err;

	if (!ptr)
		return -EINVAL;
	err = place(c, len, &d, &off);
	if (err)
		return err;
	c->cur_off = off;
	c->cur_len = len + 1;
	*ptr = c->ring + off + REC;
	return 0;
}

int shmx__chan_commit_any(struct shmx_chan *c, size_t len)
{
	size_t resv;

	if (!c)
		return -EINVAL;
	if (!is_producer(c))
		return -EBADF;
	if (c->error)
		return c->error;
	if (!c->cur_len)
		return -EINVAL;
	if (len > c->cur_len - 1)
		return -EMSGSIZE;
	resv = c->cur_len - 1;
	c->cur_len = 0;
	return commit_at(c, c->cur_off, len, resv);
}


/* ---- the public calls that touch the ring (each one guarded section) ---- */

SHMX_EXPORT int shmx_chan_send(struct shmx_chan *c, const void *buf, size_t len,
			       int timeout_ms)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->send(c, buf, len, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_send_batch(struct shmx_chan *c, const struct iovec *msgs,
				     size_t n, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->send_batch(c, msgs, n, timeout_ms));
	return r;
}

SHMX_EXPORT int shmx_chan_reserve(struct shmx_chan *c, size_t len, void **ptr,
				  int timeout_ms)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->reserve(c, len, ptr, timeout_ms));
	return r;
}

SHMX_EXPORT int shmx_chan_commit(struct shmx_chan *c, size_t len)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->commit(c, len));
	return r;
}
