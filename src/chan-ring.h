/* SPDX-License-Identifier: MIT */
/* The record walk every shape shares, written once, the producer's half:
 * where a record goes, how a run of them is placed and stored, and the
 * producer's four calls of a handle (struct shmx__chan_ops) as templates
 * over a shape's few steps; the consumer's half and the shape's table are
 * chan-walk.h. A shape's file (chan-spsc.c, chan-bcast.c, chan-over.c,
 * chan-mprod.c) defines its steps and then its table with
 * SHMX__CHAN_SHAPE(); the templates are inlined with the steps known, so
 * each table's calls read straight through with no test of the shape and
 * no call through a pointer. What comes from the ring is untrusted: a bad
 * word or index fails the handle with -EBADMSG, never an access outside
 * the ring (shmx(7), "Channels"). Not installed. */
#ifndef SHMX_CHAN_RING_H
#define SHMX_CHAN_RING_H

#include <string.h>
#include <sys/uio.h>

#include "chan.h"

/* ---- placing records ---- */

/* Where a record of len payload bytes goes from position pos: its ring
 * offset, and in *pad the padding before it (the rest of the ring, when
 * the record does not fit before its end: records are contiguous). */
static hot_inline uint64_t rec_at(const struct shmx_chan *c, uint64_t pos, size_t len,
				  uint64_t *pad)
{
	uint64_t o = pos & c->g.mask, room = c->g.capacity - o;

	*pad = REC + align8(len) > room ? room : 0;
	return *pad ? 0 : o;
}

/* How many of the n messages, placed one after the other from c->pos, fit
 * in avail bytes; *span is the bytes they take, padding included. */
static hot_inline size_t run_fits(const struct shmx_chan *c, const struct iovec *m,
				  size_t n, uint64_t avail, uint64_t *span)
{
	uint64_t pos = c->pos, pad, t;
	size_t k;

	for (k = 0; k < n; k++) {
		rec_at(c, pos, m[k].iov_len, &pad);
		t = pad + REC + align8(m[k].iov_len);
		if (t > avail - (pos - c->pos))
			break;
		pos += t;
	}
	*span = pos - c->pos;
	return k;
}

/* The bytes free from pos behind c->peer, the oldest position a consumer
 * may still read, keeping room for the zero word after the last record. */
static hot_inline uint64_t room_left(const struct shmx_chan *c, uint64_t pos)
{
	uint64_t used = pos - c->peer + REC;

	return used >= c->g.capacity ? 0 : c->g.capacity - used;
}

/* What the first message of a run takes, padding included. */
static hot_inline uint64_t first_size(const struct shmx_chan *c, const struct iovec *m)
{
	uint64_t pad;

	rec_at(c, c->pos, m->iov_len, &pad);
	return pad + REC + align8(m->iov_len);
}

/* One producer's record: zero the word after it, store its word, then the
 * padding word that leads to it (both release): a consumer, which polls
 * words, sees a whole record or nothing, never a stale word. The record is
 * sized by what is committed (nothing was stored at the reservation). */
static hot_inline void put_record(struct shmx_chan *c, uint64_t off, uint64_t pad,
				  size_t len, size_t resv)
{
	uint64_t size = REC + align8(len);

	(void)resv;
	__atomic_store_n(word_at(c, off + size), 0, __ATOMIC_RELAXED);
	__atomic_store_n(word_at(c, off), (uint64_t)SHMX__CHAN_TAG_MSG << 32 | len,
			 __ATOMIC_RELEASE);
	if (pad)
		__atomic_store_n(word_at(c, c->pos),
				 (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (pad - REC),
				 __ATOMIC_RELEASE);
	c->pos += pad + size;
	c->count++;
}

/* One producer's publish where consumers attach at head (broadcast) or
 * read it as a bound (overwrite): head and sent as one, under head_seq
 * (shmx__chan_set_head()); then the kick for the consumers asleep for
 * data. A batch publishes once: the consumers poll record words and may
 * take them earlier, but the kick after the last is what a sleeper needs. */
static hot_inline void publish_as_one(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	shmx__chan_set_head(h, c->pos, c->count);
	c->pub = c->pos;
	kick(c, &h->data_waiting, &h->data_seq);
}

/* One producer with the block policy: room for as many of the n messages
 * as fit, at least the first, found once for the run. From the consumers'
 * cursor seen last, then (when not all fit) from their cursors of now;
 * then it waits for the first, having published what a batch stored: only
 * the consumers, which may sleep for it, make the room. */
static hot_inline ssize_t reserve_block(struct shmx_chan *c, const struct iovec *m,
					size_t n, struct deadline *d,
					void (*publish)(struct shmx_chan *c))
{
	uint64_t span, first;
	size_t k = run_fits(c, m, n, room_left(c, c->pos), &span);
	int err;

	if (likely(k == n))
		return (ssize_t)k;
	first = first_size(c, m);
	err = shmx__chan_space_ready(c, first);
	if (err < 0)
		return err;
	if (!err) {
		if (c->pos != c->pub)
			publish(c);
		err = shmx__chan_wait(c, shmx__chan_space_ready, first, d);
		if (err)
			return err;
	}
	return (ssize_t)run_fits(c, m, n, room_left(c, c->pos), &span);
}

/* ---- the producer's calls ---- */

/* A shape's producer: the room for a run of messages from c->pos (at
 * least the first; waiting as the shape waits), the commit of one record
 * placed there by rec_at() (c->pos moves past it), and what makes the
 * stored records known to the consumers (and wakes them). */
struct prod_steps {
	ssize_t (*reserve)(struct shmx_chan *c, const struct iovec *m, size_t n,
			   struct deadline *d);
	void (*commit)(struct shmx_chan *c, uint64_t off, uint64_t pad, size_t len,
		       size_t resv);
	void (*publish)(struct shmx_chan *c);
	/* One producer with the block policy: send() tries send_quick()
	 * first (the room from the cursor seen last, a record placed
	 * before the ring's end, the slow path for anything else). */
	bool quick;
};

/* The steps name##_prod of one producer with the block policy whose
 * publish is pub_fn (chan-spsc.c, chan-bcast.c). */
#define SHMX__CHAN_BLOCK_PRODUCER(name, pub_fn)                                      \
static ssize_t name##_room(struct shmx_chan *c, const struct iovec *m, size_t n,    \
			   struct deadline *d)                                      \
{ return reserve_block(c, m, n, d, pub_fn); }                                       \
static const struct prod_steps name##_prod = {                                      \
	.reserve = name##_room, .commit = put_record, .publish = pub_fn,            \
	.quick = true,                                                              \
}

/* The checks of a call that sends one message, then its room. */
static hot_inline int ring_place(struct shmx_chan *c, size_t len, struct deadline *d,
				 const struct prod_steps *s)
{
	struct iovec m = { .iov_len = len };
	ssize_t k;
	int err = producer_ok(c, d->timeout);

	if (err)
		return err;
	if (len > c->g.max_msg)
		return -EMSGSIZE;
	k = s->reserve(c, &m, 1, d);
	return k < 0 ? (int)k : 0;
}

static hot_inline int ring_send(struct shmx_chan *c, const void *buf, size_t len,
				int timeout_ms, const struct prod_steps *s)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off, pad;
	int err;

	if (!buf && len)
		return -EINVAL;
	if ((err = ring_place(c, len, &d, s)))
		return err;
	off = rec_at(c, c->pos, len, &pad);
	/* len 0 may come with buf NULL, which memcpy must not see. A fault in
	 * the copy is caught by the guarded section of shmx_chan_send(). */
	if (len)
		memcpy(c->ring + off + REC, buf, len);
	s->commit(c, off, pad, len, len);
	s->publish(c);
	return 0;
}

/* send() of one producer with the block policy when nothing is in the
 * way: a valid call on a handle in order, with room behind the consumers'
 * cursor as last seen, for a record that needs no padding. Everything
 * tested at once, nothing stored before: false sends it the whole way
 * (ring_send()), which then finds what was in the way and says so in its
 * order. The message is sent as ring_send() would. */
static hot_inline bool send_quick(struct shmx_chan *c, const void *buf, size_t len,
				  int timeout_ms, const struct prod_steps *s)
{
	uint64_t off = c->pos & c->g.mask, size = REC + align8(len);
	uint64_t used = c->pos - c->peer + REC;

	if (unlikely(c->error || c->cur_len || !is_producer(c) || timeout_ms < -1 ||
		     (!buf && len) || len > c->g.max_msg || size > c->g.capacity - off ||
		     used >= c->g.capacity || size > c->g.capacity - used))
		return false;
	if (len)
		memcpy(c->ring + off + REC, buf, len);
	s->commit(c, off, 0, len, len);
	s->publish(c);
	return true;
}

/* send_batch() of one producer with the block policy when nothing is in
 * the way, as send_quick(): every message valid, and all of them placed
 * before the ring's end with room behind the cursor seen last, found in
 * one pass; then stored as ring_send_batch() stores them. -1 sends the
 * call the whole way, nothing stored. */
static hot_inline ssize_t send_batch_quick(struct shmx_chan *c, const struct iovec *msgs,
					   size_t n, int timeout_ms, const struct prod_steps *s)
{
	uint64_t off = c->pos & c->g.mask, used = c->pos - c->peer + REC, span = 0, size;
	size_t i;

	if (unlikely(c->error || c->cur_len || !is_producer(c) || timeout_ms < -1 ||
		     !msgs || !n || used >= c->g.capacity))
		return -1;
	for (i = 0; i < n; i++) {
		if (unlikely((!msgs[i].iov_base && msgs[i].iov_len) ||
			     msgs[i].iov_len > c->g.max_msg))
			return -1;
		span += REC + align8(msgs[i].iov_len);
	}
	if (unlikely(span > c->g.capacity - used || span > c->g.capacity - off))
		return -1;
	for (i = 0; i < n; i++) {
		size = REC + align8(msgs[i].iov_len);
		if (msgs[i].iov_len)
			memcpy(c->ring + off + REC, msgs[i].iov_base, msgs[i].iov_len);
		s->commit(c, off, 0, msgs[i].iov_len, msgs[i].iov_len);
		off += size;
	}
	s->publish(c);
	return (ssize_t)n;
}

/* Room is reserved once for as many messages as fit (a reservation may
 * wait, and publishes first); each record is stored as send() stores it;
 * one publish (and one kick) for the lot. */
static hot_inline ssize_t ring_send_batch(struct shmx_chan *c, const struct iovec *msgs,
					  size_t n, int timeout_ms,
					  const struct prod_steps *s)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off, pad;
	size_t i = 0, end;
	ssize_t k = 0;
	int err, lens;

	if (!msgs || !n)
		return -EINVAL;
	/* The arguments first, then the handle, then the lengths: as send(). */
	lens = shmx__chan_batch_lens_ok(c, msgs, n);
	if (lens == -EINVAL)
		return lens;
	err = producer_ok(c, timeout_ms);
	if (err || lens)
		return err ? err : lens;
	while (i < n) {
		if ((k = s->reserve(c, msgs + i, n - i, &d)) < 0)
			break;
		for (end = i + (size_t)k; i < end; i++) {
			off = rec_at(c, c->pos, msgs[i].iov_len, &pad);
			if (msgs[i].iov_len)
				memcpy(c->ring + off + REC, msgs[i].iov_base, msgs[i].iov_len);
			s->commit(c, off, pad, msgs[i].iov_len, msgs[i].iov_len);
		}
	}
	if (!i)
		return k;
	s->publish(c);
	return (ssize_t)i;
}

static hot_inline int ring_reserve(struct shmx_chan *c, size_t len, void **ptr,
				   int timeout_ms, const struct prod_steps *s)
{
	struct deadline d = { .timeout = timeout_ms };
	int err;

	if (!ptr)
		return -EINVAL;
	if ((err = ring_place(c, len, &d, s)))
		return err;
	c->cur_off = rec_at(c, c->pos, len, &c->pad);
	c->cur_len = len + 1;
	*ptr = c->ring + c->cur_off + REC;
	return 0;
}

static hot_inline int ring_commit(struct shmx_chan *c, size_t len,
				  const struct prod_steps *s)
{
	size_t resv;

	if (c->error)
		return c->error;
	if (!is_producer(c))
		return -EBADF;
	if (!c->cur_len)
		return -EINVAL;
	if (len > c->cur_len - 1)
		return -EMSGSIZE;
	resv = c->cur_len - 1;
	c->cur_len = 0;
	s->commit(c, c->cur_off, c->pad, len, resv);
	c->pad = 0;
	s->publish(c);
	return 0;
}

#endif
