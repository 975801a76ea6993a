/* SPDX-License-Identifier: MIT */
/* The record walk every shape shares, the consumer's half: how a consumer
 * finds, copies and passes records, its four calls of a handle as
 * templates over a shape's steps (struct cons_steps), the consumer of one
 * producer, and SHMX__CHAN_SHAPE(), which makes a shape's table of all
 * eight calls. The producer's half is chan-ring.h. Not installed. */
#ifndef SHMX_CHAN_WALK_H
#define SHMX_CHAN_WALK_H

#include "chan-ring.h"

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
