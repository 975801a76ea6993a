/* SPDX-License-Identifier: MIT */
/* The record walk every shape shares, written once: where a record goes,
 * how a run of them is placed and stored, how a consumer finds, copies and
 * passes them, and the eight calls of a handle (struct shmx__chan_ops) as
 * templates over a shape's few steps. A shape's file (chan-spsc.c,
 * chan-bcast.c, chan-over.c, chan-mprod.c) defines its steps and then its
 * table with SHMX__CHAN_SHAPE(); the templates are inlined with the steps
 * known, so each table's calls read straight through with no test of the
 * shape and no call through a pointer. What comes from the ring is
 * untrusted: a bad word or index fails the handle with -EBADMSG, never an
 * access outside the ring (shmx(7), "Channels"). Not installed. */
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

/* ---- the consumer's walk ---- */

/* Our tail, then the kick for a producer asleep for room. The tail is a
 * store to our own cache line, which producers read only when the ring
 * looks full; a tail store that a producer going to sleep just then does
 * not see is covered by its membarrier (or the fence of the fences bit;
 * kick() in chan.h). count and index are for display (stat, peers) and
 * for a successor in the slot, which reads them after it took the slot's
 * liveness lock: the release of pos orders them. */
static hot_inline void show_tail(struct shmx_chan *c)
{
	struct shmx__chan_slot *me = c->me;

	__atomic_store_n(&me->count, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&me->index, c->index, __ATOMIC_RELAXED);
	__atomic_store_n(&me->pos, c->pos, __ATOMIC_RELEASE);
	kick(c, &c->hdr->space_waiting, &c->hdr->space_seq);
}

static hot_inline void take(struct shmx_chan *c, uint64_t adv)
{
	c->pos += adv;
	c->count++;
	c->index++;
}

/* A shape's consumer. empty: the word at our position is no record yet
 * (nothing, or one another producer only reserved). ready: the same for a
 * sleeper (shmx__chan_wait()). pre_wait: what a walk that waits looks at
 * first (0 to wait). lapped: what we read may be torn (overwriting);
 * behind: then move on and say so (-ENOBUFS). bound: the limit of a walk
 * over records that are no messages. show: our tail, stored. */
struct cons_steps {
	bool (*empty)(struct shmx_chan *c, uint64_t word);
	ready_fn ready;
	int (*pre_wait)(struct shmx_chan *c, struct deadline *d, uint64_t walked);
	bool (*lapped)(struct shmx_chan *c);
	bool quick;     /* one producer: recv() tries recv_quick() first, and a
			 * batch waits on head first and stops at it */
	ssize_t (*behind)(struct shmx_chan *c);
	int (*bound)(struct shmx_chan *c, struct deadline *d, uint64_t walked);
	void (*show)(struct shmx_chan *c);
};

/* Our cursor moved past records that are no messages (padding, skip
 * records, a dead producer's reservation) since we last stored it: store
 * it before we wait, or the producers count that space as used for as long
 * as we wait, and a producer waiting for it waits as long as we do. */
static hot_inline void show_passed(struct shmx_chan *c, void (*show)(struct shmx_chan *c))
{
	/* Relaxed: our own cursor, which only we store. */
	if (__atomic_load_n(&c->me->pos, __ATOMIC_RELAXED) != c->pos)
		show(c);
}

/* Lapped at a record that is no message: with d (a call of its own) move
 * on, -ENOBUFS; the rest of a batch ends, and the next call says so. */
static hot_inline ssize_t lapped_at(struct shmx_chan *c, struct deadline *d,
				    const struct cons_steps *s)
{
	return d ? s->behind(c) : -EAGAIN;
}

/* ---- the consumer of one producer: head first ---- */

/* Whether the producer (one, which publishes head after its records:
 * chan-spsc.c, chan-bcast.c) has published past our position, from head
 * as we last read it (c->seen), or read again. A consumer that has caught
 * up looks at head, on the producer's line of its own, rather than at the
 * word at its position, on the line the producer is filling: polled, that
 * line goes back and forth between the two for every store the producer
 * makes to it (arrived() has the figures). Only a hint: the
 * record word decides, and the whole path (ring_next()), which polls the
 * word, is what a wait ends in; it also takes what a producer that died
 * between its record and head left unpublished. */
static hot_inline bool head_past(struct shmx_chan *c)
{
	if ((int64_t)(c->seen - c->pos) > 0)
		return true;
	c->seen = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
	return (int64_t)(c->seen - c->pos) > 0;
}

/* A record at a position head was seen past: one producer publishes head
 * at record boundaries, after the records, so the record ends at or
 * before head. One that claims to run past it has a corrupt length (it
 * would hand out bytes never sent and skip the messages after it): true.
 * Judged only where head was seen past our position already, so a
 * consumer that saw the word first (a round trip's) loads nothing more. */
static hot_inline bool past_head(struct shmx_chan *c, uint64_t adv)
{
	uint64_t end = c->pos + adv;

	if ((int64_t)(c->seen - c->pos) <= 0 || (int64_t)(c->seen - end) >= 0)
		return false;
	c->seen = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
	return (int64_t)(c->seen - end) < 0;
}

/* The next message: its length, its ring offset in c->cur_off, its size
 * in *adv; records that are no messages are passed (padding; skip
 * records and dead producers' reservations where several produce). With
 * d NULL (the rest of a batch) it does not wait: -EAGAIN when none is
 * there. Overwriting, a word at our position, whatever it says, is from
 * our lap only while we are not lapped, so a padding word is followed
 * only after that is checked (a message's copy is checked after it is
 * made). */
static hot_inline ssize_t ring_next(struct shmx_chan *c, struct deadline *d,
				    uint64_t *adv, const struct cons_steps *s)
{
	uint64_t word, walked = 0;
	int64_t len;
	int err;

	for (;;) {
		word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
		if (likely(plain_msg(c, word, adv))) {
			if (s->quick && unlikely(past_head(c, *adv)))
				return fail(c, -EBADMSG);
			c->cur_off = c->pos & c->g.mask;
			return (ssize_t)(uint32_t)word;
		}
		if (s->empty(c, word)) {
			if (!d)
				return -EAGAIN;
			if ((err = s->pre_wait(c, d, walked)))
				return err;
			show_passed(c, s->show);
			if ((err = shmx__chan_wait(c, s->ready, 0, d)))
				return err;
			continue;
		}
		if (shmx__chan_record(&c->g, c->pos, word, adv, &len))
			return s->lapped(c) ? lapped_at(c, d, s) : fail(c, -EBADMSG);
		c->cur_off = c->pos & c->g.mask;
		if (len >= 0)
			return (ssize_t)len;
		if (s->lapped(c))
			return lapped_at(c, d, s);
		c->pos += *adv;
		walked += *adv;
		if (len == -2) {        /* its producer is gone: never committed */
			c->dead_at = 0;
			c->index++;
		}
		if ((err = s->bound(c, d, walked)))
			return err;
	}
}

/* ---- the consumer's calls ---- */

/* The checks of a call that takes messages, then the first message,
 * waited for, which must fit in size bytes. */
static hot_inline ssize_t ring_first(struct shmx_chan *c, size_t size, struct deadline *d,
				     uint64_t *adv, const struct cons_steps *s)
{
	ssize_t len;
	int err;

	if ((err = consumer_ok(c, d->timeout)))
		return err;
	if (c->cur_adv)
		return -EINPROGRESS;
	len = ring_next(c, d, adv, s);
	/* Lapped, the length itself may be torn. */
	if (len >= 0 && (size_t)len > size)
		return s->lapped(c) ? s->behind(c) : -EMSGSIZE;
	return len;
}

/* head_past(), polled a little by a call that may spin (not a try, not
 * SHMX_CHAN_BLOCK): a message that comes within a few microseconds is
 * taken with nothing between seeing it and copying it. */
static hot_inline bool head_moved(struct shmx_chan *c, int timeout_ms)
{
	unsigned polls = 0;

	while (!head_past(c)) {
		if (!timeout_ms || (c->flags & SHMX_CHAN_BLOCK) || ++polls > QUICK_POLLS)
			return false;
		cpu_relax();
	}
	return true;
}

/* The word at our position once a message may be there, polled a little
 * as head_moved() polls: SHMX_CHAN_SPIN, chosen for latency, polls the
 * word itself, which is one line to bring over instead of two (head, then
 * the record), at the price head_past() says. SCHED_FIFO A/B runs on a
 * 2-vCPU VM: an 8 B spin round trip 1.39-1.59x the busy-spin floor polling
 * the word, 1.45-1.80x polling head; a 64 B stream in its slow regime
 * (the consumer caught up) 54-58 ns a message polling the word, 43-47
 * polling head. */
static hot_inline bool arrived(struct shmx_chan *c, int timeout_ms, uint64_t *word)
{
	unsigned polls = 0;

	if (!(c->flags & SHMX_CHAN_SPIN)) {
		if (!head_moved(c, timeout_ms))
			return false;
		*word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
		return true;
	}
	while (!(*word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE))) {
		if (!timeout_ms || ++polls > QUICK_POLLS)
			return false;
		cpu_relax();
	}
	return true;
}

/* recv() of a consumer of one producer when nothing is in the way: a
 * valid call on a handle in order, a message published at our position
 * that fits in size. -1 sends it the whole way (ring_recv()), which finds
 * what was in the way, waits as the handle waits and says so; nothing is
 * taken before. */
static hot_inline ssize_t recv_quick(struct shmx_chan *c, void *buf, size_t size,
				     int timeout_ms, const struct cons_steps *s)
{
	uint64_t word, adv;
	size_t len;

	if (unlikely(c->error || is_producer(c) || c->cur_adv || timeout_ms < -1 ||
		     (!buf && size) || !arrived(c, timeout_ms, &word)))
		return -1;
	len = (uint32_t)word;
	if (unlikely(!plain_msg(c, word, &adv) || len > size || past_head(c, adv)))
		return -1;
	if (len)
		memcpy(buf, c->ring + (c->pos & c->g.mask) + REC, len);
	take(c, adv);
	s->show(c);
	return (ssize_t)len;
}

static hot_inline ssize_t ring_recv(struct shmx_chan *c, void *buf, size_t size,
				    int timeout_ms, const struct cons_steps *s)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t adv = 0;
	ssize_t len;

	if (!buf && size)
		return -EINVAL;
	len = ring_first(c, size, &d, &adv, s);
	if (len < 0)
		return len;
	/* A fault in the copy is caught by shmx_chan_recv()'s guarded section.
	 * Overwriting, the copy is a seqlock's read: the producer may write
	 * over the record meanwhile, and lapped() after the copy says whether
	 * to throw it away (overtaken() in chan-over.c). */
	if (len)
		memcpy(buf, c->ring + c->cur_off + REC, (size_t)len);
	if (s->lapped(c))
		return s->behind(c);
	take(c, adv);
	s->show(c);
	return len;
}

/* Wait for one message, then take, without waiting, every one that is
 * there and fits: copied back to back, one tail store (and one kick) for
 * the lot. A message that does not fit stays for the next call; a bad
 * record after the first ends the batch, and the next call reports it
 * (the error is sticky); so does a lap after the first. */
static hot_inline ssize_t ring_recv_batch(struct shmx_chan *c, void *buf, size_t size,
					  size_t *lens, size_t max_msgs, int timeout_ms,
					  const struct cons_steps *s)
{
	struct deadline d = { .timeout = timeout_ms };
	unsigned char *out = buf;
	size_t k = 0, used = 0;
	uint64_t adv;
	ssize_t len;

	if ((!buf && size) || !lens || !max_msgs)
		return -EINVAL;
	if (s->quick && !c->error && !is_producer(c) && !c->cur_adv)
		head_moved(c, timeout_ms);
	len = ring_first(c, size, &d, &adv, s);
	while (len >= 0 && (size_t)len <= size - used) {
		if (len)
			memcpy(out + used, c->ring + c->cur_off + REC, (size_t)len);
		if (s->lapped(c)) {
			if (!k)
				return s->behind(c);
			break;
		}
		used += (size_t)len;
		lens[k++] = (size_t)len;
		take(c, adv);
		if (k == max_msgs || (s->quick && !head_past(c)))
			break;
		len = ring_next(c, NULL, &adv, s);
	}
	if (!k)
		return len;
	s->show(c);
	return (ssize_t)k;
}

static hot_inline ssize_t ring_peek(struct shmx_chan *c, const void **ptr, int timeout_ms,
				    const struct cons_steps *s)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t adv;
	ssize_t len;
	int err;

	if (!ptr)
		return -EINVAL;
	if ((err = consumer_ok(c, timeout_ms)))
		return err;
	if (!c->cur_adv) {
		len = ring_next(c, &d, &adv, s);
		if (len < 0)
			return len;
		c->cur_adv = adv;
		c->cur_len = (uint64_t)len;
	}
	*ptr = c->ring + c->cur_off + REC;
	return (ssize_t)c->cur_len;
}

static hot_inline int ring_release(struct shmx_chan *c, const struct cons_steps *s)
{
	int err = consumer_ok(c, 0);

	if (err)
		return err;
	if (!c->cur_adv)
		return -EINVAL;
	/* What the caller read in place may have been written over. */
	if (s->lapped(c))
		return (int)s->behind(c);
	take(c, c->cur_adv);
	c->cur_adv = 0;
	s->show(c);
	return 0;
}

/* ---- the consumer of one producer with the block policy (any consumers) ---- */

static hot_inline bool plain_empty(struct shmx_chan *c, uint64_t word)
{
	(void)c;
	return !word;
}

static hot_inline int plain_pre_wait(struct shmx_chan *c, struct deadline *d,
				     uint64_t walked)
{
	(void)c, (void)d, (void)walked;
	return 0;
}

static hot_inline bool plain_lapped(struct shmx_chan *c)
{
	(void)c;
	return false;
}

static hot_inline ssize_t plain_behind(struct shmx_chan *c)
{
	return fail(c, -EBADMSG);
}

/* One producer stores no skip records, and a padding record cannot start
 * at offset 0, where it leads: at most two steps between waits. */
static hot_inline int plain_bound(struct shmx_chan *c, struct deadline *d,
				  uint64_t walked)
{
	(void)d;
	return walked > c->g.capacity ? fail(c, -EBADMSG) : 0;
}

static inline int plain_ready(struct shmx_chan *c, uint64_t need)
{
	(void)need;
	return __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE) != 0;
}

static const struct cons_steps plain_cons = {
	.quick = true,
	.empty = plain_empty,
	.ready = plain_ready,
	.pre_wait = plain_pre_wait,
	.lapped = plain_lapped,
	.behind = plain_behind,
	.bound = plain_bound,
	.show = show_tail,
};

/* ---- a shape's table ---- */

/* The eight calls of shape name over its producer steps P and consumer
 * steps C (both static const), and its table shmx__chan_<name>_ops. */
#define SHMX__CHAN_SHAPE(name, P, C)                                                  \
static __attribute__((noinline)) int name##_send_all(struct shmx_chan *c,          \
						     const void *buf, size_t len, int t) \
{ return ring_send(c, buf, len, t, &(P)); }                                          \
static int name##_send(struct shmx_chan *c, const void *buf, size_t len, int t)     \
{                                                                                    \
	if ((P).quick && send_quick(c, buf, len, t, &(P)))                           \
		return 0;                                                            \
	return name##_send_all(c, buf, len, t);                                      \
}                                                                                    \
static __attribute__((noinline)) ssize_t name##_send_batch_all(struct shmx_chan *c, \
						const struct iovec *m, size_t n, int t) \
{ return ring_send_batch(c, m, n, t, &(P)); }                                        \
static ssize_t name##_send_batch(struct shmx_chan *c, const struct iovec *m,        \
				 size_t n, int t)                                    \
{                                                                                    \
	ssize_t r = (P).quick ? send_batch_quick(c, m, n, t, &(P)) : -1;             \
									     \
	return r >= 0 ? r : name##_send_batch_all(c, m, n, t);                        \
}                                                                                    \
static int name##_reserve(struct shmx_chan *c, size_t len, void **ptr, int t)       \
{ return ring_reserve(c, len, ptr, t, &(P)); }                                       \
static int name##_commit(struct shmx_chan *c, size_t len)                           \
{ return ring_commit(c, len, &(P)); }                                                \
static __attribute__((noinline)) ssize_t name##_recv_all(struct shmx_chan *c,      \
							  void *buf, size_t size, int t) \
{ return ring_recv(c, buf, size, t, &(C)); }                                         \
static ssize_t name##_recv(struct shmx_chan *c, void *buf, size_t size, int t)      \
{                                                                                    \
	ssize_t r = (C).quick ? recv_quick(c, buf, size, t, &(C)) : -1;             \
									     \
	return r >= 0 ? r : name##_recv_all(c, buf, size, t);                        \
}                                                                                    \
static ssize_t name##_recv_batch(struct shmx_chan *c, void *buf, size_t size,       \
				 size_t *lens, size_t max, int t)                    \
{ return ring_recv_batch(c, buf, size, lens, max, t, &(C)); }                        \
static ssize_t name##_peek(struct shmx_chan *c, const void **ptr, int t)            \
{ return ring_peek(c, ptr, t, &(C)); }                                               \
static int name##_release(struct shmx_chan *c)                                      \
{ return ring_release(c, &(C)); }                                                    \
const struct shmx__chan_ops shmx__chan_##name##_ops = {                             \
	.send = name##_send, .send_batch = name##_send_batch,                        \
	.reserve = name##_reserve, .commit = name##_commit,                          \
	.recv = name##_recv, .recv_batch = name##_recv_batch,                        \
	.peek = name##_peek, .release = name##_release,                              \
}

#endif
