/* SPDX-License-Identifier: MIT */
/* The ring's consumer side for every shape but one producer and one
 * consumer with the block policy (chan-spsc.c): it finds, copies and
 * releases records. It keeps its own index privately and treats
 * the other side's index, every record word and every length in the ring
 * as untrusted input: a bad value makes the handle fail with -EBADMSG,
 * never an access outside the ring. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/uio.h>

#include "chan.h"

/* ---- consumer ---- */

static hot_inline bool is_busy(uint64_t word)
{
	return word >> 63;
}

/* Overwriting: low has passed our position, so what we read there may be
 * torn. The acquire fence pairs with the producer's release fence between
 * moving low and writing over the records (overwrite_room()). */
static hot_inline bool overtaken(struct shmx_chan *c)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return (int64_t)(__atomic_load_n(&c->hdr->low, __ATOMIC_RELAXED) - c->pos) > 0;
}

/* 1 when a record word is at our position, 0 when not (yet); overwriting,
 * also when the producer has overtaken us. A record another producer has
 * only reserved is not ready (settle() in chan-wait.c looks whether its
 * producer is gone). */
static int data_ready(struct shmx_chan *c, uint64_t need)
{
	uint64_t word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);

	(void)need;
	if (word && (!c->multi || !is_busy(word)))
		return 1;
	return c->over && overtaken(c);
}

/* Our tail is stored after every message (a store to our own cache line,
 * which producers read only when the ring looks full), then kick() looks
 * whether a producer sleeps for space: a tail store that a producer going
 * to sleep just then does not see is covered by its membarrier (or, with
 * the fences bit, by the fence kick() then issues; see kick() in chan.h).
 * count and index are for display (stat, peers) and for a successor in
 * the slot, which reads them after it took the slot's liveness lock: the
 * release of pos orders them, relaxed is enough. A batch stores the tail
 * once, after its last message. An overwriting producer never waits for
 * us: the tail is only for display then, relaxed too. */
static hot_inline void show_tail(struct shmx_chan *c)
{
	struct shmx__chan_slot *me = c->me;

	__atomic_store_n(&me->count, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&me->index, c->index, __ATOMIC_RELAXED);
	if (c->over) {
		__atomic_store_n(&me->pos, c->pos, __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&me->pos, c->pos, __ATOMIC_RELEASE);
	kick(c, &c->hdr->space_waiting, &c->hdr->space_seq);
}

static hot_inline void take(struct shmx_chan *c, uint64_t adv)
{
	c->pos += adv;
	c->count++;
	c->index++;
}

static void consume(struct shmx_chan *c, uint64_t adv)
{
	take(c, adv);
	show_tail(c);
}

/* Overtaken: everything from our position to low is gone. Count it, move
 * to low (the oldest record still there) and say so, once: -ENOBUFS. */
static ssize_t fell_behind(struct shmx_chan *c)
{
	struct shmx__chan_slot *me = c->me;
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
	__atomic_store_n(&me->lost, c->lost, __ATOMIC_RELAXED);
	show_tail(c);
	return -ENOBUFS;
}

/* Our cursor moved past records that are no messages (padding, skip
 * records, a dead producer's reservation) since we last stored it: store
 * it before we wait, or the producers count that space as used for as long
 * as we wait, and a producer waiting for it waits as long as we do. */
static void show_passed(struct shmx_chan *c)
{
	if (__atomic_load_n(&c->me->pos, __ATOMIC_RELAXED) != c->pos)
		show_tail(c);
}

/* The walk over records that are no messages is bounded twice. By the
 * ring: nobody writes a record more than a ring past the cursor we
 * stored, so passing more than that without storing it is a ring of
 * garbage (overwriting, padding is followed only after overtaken() said
 * no, and a single producer writes no skip records). By the caller: a
 * try, or the rest of a batch (d NULL), stops after a ring of them; a walk
 * that waits between records (a dead producer's reservation is settled in
 * a wait) stops at the deadline (past_deadline()). */
static int walk_bound(struct shmx_chan *c, struct deadline *d, uint64_t walked)
{
	if (!c->over && c->pos - __atomic_load_n(&c->me->pos, __ATOMIC_RELAXED) > c->g.capacity)
		return fail(c, -EBADMSG);
	if (walked <= c->g.capacity || (d && d->timeout))
		return 0;
	show_passed(c);
	return -EAGAIN;
}

/* About to wait again in a call that already passed records: the wait
 * itself may return at once (the next record is another dead producer's),
 * so the deadline is looked at here. */
static int past_deadline(struct shmx_chan *c, struct deadline *d)
{
	int err = shmx__chan_deadline(d);

	if (!err && d->timeout > 0 && shmx__expired(&d->ts))
		err = -ETIMEDOUT;
	if (err)
		show_passed(c);
	return err;
}

/* Find the next message record (skipping padding, and records reserved by
 * a producer that is gone): its payload length, its ring offset in
 * c->cur_off and its size in *adv. With d NULL it does not wait: -EAGAIN
 * when nothing is there yet. Overwriting, -ENOBUFS once we were
 * overtaken (fell_behind()): a word at our position, whatever it says, is
 * from our lap only while low has not passed us, so a padding word is
 * followed only after that is checked (the copy of a message is checked
 * after it is made). */
static hot_inline ssize_t next_msg(struct shmx_chan *c, struct deadline *d, uint64_t *adv)
{
	uint64_t word, walked = 0;
	int64_t len;
	int err;

	for (;;) {
		word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
		if (likely(plain_msg(c, word, adv))) {
			c->cur_off = c->pos & c->g.mask;
			return (ssize_t)(uint32_t)word;
		}
		if (!word || (c->multi && is_busy(word) && c->dead_at != c->pos + 1)) {
			if (!d)         /* the rest of a batch: next call */
				return -EAGAIN;
			if (c->over && overtaken(c))
				return fell_behind(c);
			if (walked && (err = past_deadline(c, d)))
				return err;
			show_passed(c);
			err = shmx__chan_wait(c, data_ready, 0, d);
			if (err)
				return err;
			continue;
		}
		if (shmx__chan_record(&c->g, c->pos, word, adv, &len)) {
			if (c->over && overtaken(c))
				return d ? fell_behind(c) : -EAGAIN;
			return fail(c, -EBADMSG);
		}
		c->cur_off = c->pos & c->g.mask;
		if (len >= 0)
			return (ssize_t)len;
		if (c->over && overtaken(c))
			return d ? fell_behind(c) : -EAGAIN;
		c->pos += *adv;
		walked += *adv;
		if (len == -2) {        /* its producer is gone: never committed */
			c->dead_at = 0;
			c->index++;
		}
		if ((err = walk_bound(c, d, walked)))
			return err;
	}
}

ssize_t shmx__chan_recv_any(struct shmx_chan *c, void *buf, size_t size, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t adv;
	ssize_t len;
	int err;

	if (!buf && size)
		return -EINVAL;
	err = consumer_ok(c, timeout_ms);
	if (err)
		return err;
	if (c->cur_adv)
		return -EINPROGRESS;
	len = next_msg(c, &d, &adv);
	if (len < 0)
		return len;
	/* Overwriting, the length itself may be torn: overtaken first. */
	if ((size_t)len > size)
		return c->over && overtaken(c) ? fell_behind(c) : -EMSGSIZE;
	/* A fault in the copy is caught by shmx_chan_recv()'s guarded section. */
	if (len)
		memcpy(buf, c->ring + c->cur_off + REC, (size_t)len);
	if (c->over && overtaken(c))
		return fell_behind(c);
	consume(c, adv);
	return len;
}

/* Wait for one message, then take, without waiting, every one that is
 * there, fits and is counted for: copied back to back, one tail store
 * (and one fence) for the lot. A message that does not fit stays for the
 * next call; a bad record after the first ends the batch, and the next
 * call reports it (the error is sticky). */
ssize_t shmx__chan_recv_batch_any(struct shmx_chan *c, void *buf, size_t size,
			       size_t *lens, size_t max_msgs, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	unsigned char *out = buf;
	size_t k = 0, used = 0;
	uint64_t adv;
	ssize_t len;
	int err;

	if ((!buf && size) || !lens || !max_msgs)
		return -EINVAL;
	err = consumer_ok(c, timeout_ms);
	if (err)
		return err;
	if (c->cur_adv)
		return -EINPROGRESS;
	len = next_msg(c, &d, &adv);
	if (len >= 0 && (size_t)len > size)
		len = c->over && overtaken(c) ? fell_behind(c) : -EMSGSIZE;
	while (len >= 0 && (size_t)len <= size - used) {
		if (len)
			memcpy(out + used, c->ring + c->cur_off + REC, (size_t)len);
		if (c->over && overtaken(c)) {
			/* Reported by this call if it has nothing else. */
			if (!k)
				return fell_behind(c);
			break;
		}
		used += (size_t)len;
		lens[k++] = (size_t)len;
		take(c, adv);
		if (k == max_msgs)
			break;
		len = next_msg(c, NULL, &adv);
	}
	if (!k)
		return len;
	show_tail(c);
	return (ssize_t)k;
}

ssize_t shmx__chan_peek_any(struct shmx_chan *c, const void **ptr, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t adv;
	ssize_t len;
	int err;

	if (!ptr)
		return -EINVAL;
	err = consumer_ok(c, timeout_ms);
	if (err)
		return err;
	if (!c->cur_adv) {
		len = next_msg(c, &d, &adv);
		if (len < 0)
			return len;
		c->cur_adv = adv;
		c->cur_len = (uint64_t)len;
	}
	*ptr = c->ring + c->cur_off + REC;
	return (ssize_t)c->cur_len;
}

int shmx__chan_release_any(struct shmx_chan *c)
{
	int err = consumer_ok(c, 0);

	if (err)
		return err;
	if (!c->cur_adv)
		return -EINVAL;
	/* What the caller read in place may have been written over. */
	if (c->over && overtaken(c))
		return (int)fell_behind(c);
	consume(c, c->cur_adv);
	c->cur_adv = 0;
	return 0;
}


/* ---- the public calls that touch the ring (each one guarded section) ---- */

SHMX_EXPORT ssize_t shmx_chan_recv(struct shmx_chan *c, void *buf, size_t size,
				   int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->recv(c, buf, size, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_recv_batch(struct shmx_chan *c, void *buf, size_t size,
				     size_t *lens, size_t max_msgs, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->recv_batch(c, buf, size, lens, max_msgs, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_peek(struct shmx_chan *c, const void **ptr, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->peek(c, ptr, timeout_ms));
	return r;
}

SHMX_EXPORT int shmx_chan_release(struct shmx_chan *c)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->release(c));
	return r;
}
