/* SPDX-License-Identifier: MIT */
/* The channel most users run: one producer slot, one consumer slot, the
 * block policy (shmx(7)). Both sides straight through, with no test of the
 * shape: the producer stores a record (and the padding before it when it
 * wraps), then head, and looks whether the consumer sleeps; the consumer
 * polls the word at its position, copies, stores its tail and looks
 * whether the producer sleeps (kick() in chan.h). Every other shape goes
 * through chan-send.c and chan-recv.c; waiting is chan-wait.c's, for all.
 * What comes from the ring is untrusted as everywhere: a bad word or index
 * fails the handle with -EBADMSG, never an access outside the ring. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/uio.h>

#include "chan.h"

/* ---- producer ---- */

/* head and sent as the consumer and stat read them; then the kick. sent
 * is for display: the release of head orders it, and the consumer finds
 * data by the record words, never by head. */
static hot_inline void publish(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	__atomic_store_n(&h->sent, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&h->head, c->pos, __ATOMIC_RELEASE);
	c->pub = c->pos;
	kick(c, &h->data_waiting, &h->data_seq);
}

/* Room for a record of len bytes, contiguous (past the ring's end it goes
 * to offset 0 behind a padding record): from the tail we saw last, and
 * only when that is not enough from the consumer's tail of now; then we
 * wait, having published what a batch stored (only the consumer, which
 * may sleep for it, makes the room). */
static hot_inline int place(struct shmx_chan *c, size_t len, struct deadline *d,
			    uint64_t *off)
{
	uint64_t need = REC + align8(len), o = c->pos & c->g.mask;
	uint64_t room = c->g.capacity - o, total = need > room ? room + need : need;
	int err;

	if (unlikely(c->pos + total + REC - c->peer > c->g.capacity)) {
		err = shmx__chan_space_ready(c, total);
		if (err < 0)
			return err;
		if (!err) {
			if (c->pos != c->pub)
				publish(c);
			err = shmx__chan_wait(c, shmx__chan_space_ready, total, d);
			if (err)
				return err;
		}
	}
	c->pad = total - need;
	*off = c->pad ? 0 : o;
	return 0;
}

/* Zero the word after the record, store its word, then the padding word
 * that leads to it (both release): the consumer, which polls words, sees a
 * whole record or nothing. */
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

static int spsc_send(struct shmx_chan *c, const void *buf, size_t len, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off;
	int err;

	if (!buf && len)
		return -EINVAL;
	if ((err = producer_ok(c, timeout_ms)))
		return err;
	if (len > c->g.max_msg)
		return -EMSGSIZE;
	if ((err = place(c, len, &d, &off)))
		return err;
	/* len 0 may come with buf NULL, which memcpy must not see */
	if (len)
		memcpy(c->ring + off + REC, buf, len);
	put_record(c, off, len);
	publish(c);
	return 0;
}

/* Every record as send() stores it; one publish for the lot (place()
 * publishes before it waits). */
static ssize_t spsc_send_batch(struct shmx_chan *c, const struct iovec *msgs, size_t n,
			  int timeout_ms)
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
		if ((err = place(c, msgs[i].iov_len, &d, &off)))
			break;
		if (msgs[i].iov_len)
			memcpy(c->ring + off + REC, msgs[i].iov_base, msgs[i].iov_len);
		put_record(c, off, msgs[i].iov_len);
	}
	if (!i)
		return err;
	publish(c);
	return (ssize_t)i;
}

static int spsc_reserve(struct shmx_chan *c, size_t len, void **ptr, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off;
	int err;

	if (!ptr)
		return -EINVAL;
	if ((err = producer_ok(c, timeout_ms)))
		return err;
	if (len > c->g.max_msg)
		return -EMSGSIZE;
	if ((err = place(c, len, &d, &off)))
		return err;
	c->cur_off = off;
	c->cur_len = len + 1;
	*ptr = c->ring + off + REC;
	return 0;
}

/* The record is sized by what is committed: nothing was stored at
 * reserve, so a shorter message needs no skip record. */
static int spsc_commit(struct shmx_chan *c, size_t len)
{
	if (!is_producer(c))
		return -EBADF;
	if (c->error)
		return c->error;
	if (!c->cur_len)
		return -EINVAL;
	if (len > c->cur_len - 1)
		return -EMSGSIZE;
	c->cur_len = 0;
	put_record(c, c->cur_off, len);
	publish(c);
	return 0;
}


/* ---- consumer ---- */

static int data_ready(struct shmx_chan *c, uint64_t need)
{
	(void)need;
	return __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE) != 0;
}

/* Our tail, then the kick. count and index are for display and for a
 * successor in the slot: the release of pos orders them. */
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

/* The next message: its length, its offset in c->cur_off, its size in
 * *adv. With d NULL (the rest of a batch) -EAGAIN when none is there.
 * Padding is followed once: the producer stores it after the message at
 * offset 0, and a padding record cannot start there, so this walk takes
 * at most two steps between waits. */
static hot_inline ssize_t next_msg(struct shmx_chan *c, struct deadline *d, uint64_t *adv)
{
	uint64_t word;
	int64_t len;
	int err;

	for (;;) {
		word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
		if (likely(plain_msg(c, word, adv))) {
			c->cur_off = c->pos & c->g.mask;
			return (ssize_t)(uint32_t)word;
		}
		if (!word) {
			if (!d)
				return -EAGAIN;
			if (__atomic_load_n(&c->me->pos, __ATOMIC_RELAXED) != c->pos)
				show_tail(c);   /* past padding: the room is free */
			if ((err = shmx__chan_wait(c, data_ready, 0, d)))
				return err;
			continue;
		}
		if (shmx__chan_record(&c->g, c->pos, word, adv, &len) || len >= 0)
			return fail(c, -EBADMSG);
		c->pos += *adv;         /* padding */
	}
}

static ssize_t spsc_recv(struct shmx_chan *c, void *buf, size_t size, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t adv;
	ssize_t len;
	int err;

	if (!buf && size)
		return -EINVAL;
	if ((err = consumer_ok(c, timeout_ms)))
		return err;
	if (c->cur_adv)
		return -EINPROGRESS;
	len = next_msg(c, &d, &adv);
	if (len < 0)
		return len;
	if ((size_t)len > size)
		return -EMSGSIZE;
	if (len)
		memcpy(buf, c->ring + c->cur_off + REC, (size_t)len);
	take(c, adv);
	show_tail(c);
	return len;
}

/* One message waited for, then every one there that fits, back to back;
 * one tail store for the lot. */
static ssize_t spsc_recv_batch(struct shmx_chan *c, void *buf, size_t size, size_t *lens,
			  size_t max_msgs, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	unsigned char *out = buf;
	size_t k = 0, used = 0;
	uint64_t adv;
	ssize_t len;
	int err;

	if ((!buf && size) || !lens || !max_msgs)
		return -EINVAL;
	if ((err = consumer_ok(c, timeout_ms)))
		return err;
	if (c->cur_adv)
		return -EINPROGRESS;
	len = next_msg(c, &d, &adv);
	if (len >= 0 && (size_t)len > size)
		len = -EMSGSIZE;
	while (len >= 0 && (size_t)len <= size - used) {
		if (len)
			memcpy(out + used, c->ring + c->cur_off + REC, (size_t)len);
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

static ssize_t spsc_peek(struct shmx_chan *c, const void **ptr, int timeout_ms)
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
		len = next_msg(c, &d, &adv);
		if (len < 0)
			return len;
		c->cur_adv = adv;
		c->cur_len = (uint64_t)len;
	}
	*ptr = c->ring + c->cur_off + REC;
	return (ssize_t)c->cur_len;
}

static int spsc_release(struct shmx_chan *c)
{
	int err = consumer_ok(c, 0);

	if (err)
		return err;
	if (!c->cur_adv)
		return -EINVAL;
	take(c, c->cur_adv);
	c->cur_adv = 0;
	show_tail(c);
	return 0;
}

const struct shmx__chan_ops shmx__chan_spsc_ops = {
	.send = spsc_send,
	.send_batch = spsc_send_batch,
	.reserve = spsc_reserve,
	.commit = spsc_commit,
	.recv = spsc_recv,
	.recv_batch = spsc_recv_batch,
	.peek = spsc_peek,
	.release = spsc_release,
};
