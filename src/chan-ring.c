/* SPDX-License-Identifier: MIT */
/* The ring: the producer reserves and commits records, the consumer finds,
 * copies and releases them. Each side keeps its own index privately and
 * treats the peer's index, every record word and every length in the ring
 * as untrusted input: a bad value makes the handle fail with -EBADMSG,
 * never an access outside the ring. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/uio.h>

#include "chan.h"

/* ---- producer ---- */

/* 1 when need more bytes (and the zero word after them) fit, 0 when not
 * (yet), -EBADMSG for a tail that cannot be: ahead of our head, more than a
 * ring behind, misaligned. */
static int space_ready(struct shmx_chan *c, uint64_t need)
{
	uint64_t tail = __atomic_load_n(&c->hdr->tail, __ATOMIC_ACQUIRE);

	if (c->pos - tail > c->g.capacity || (tail & (SHMX__CHAN_ALIGN - 1)))
		return fail(c, -EBADMSG);
	c->peer = tail;
	return c->pos + need + REC - tail <= c->g.capacity;
}

/* Make what we stored visible through head and sent, then wake a consumer
 * asleep for data (kick()). A batch stores several records and publishes
 * once: the consumer polls record words, so it can take them earlier, but
 * the fence in kick() after the last one is what a sleeping consumer
 * relies on. */
static hot_inline void publish(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	__atomic_store_n(&h->sent, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&h->head, c->pos, __ATOMIC_RELEASE);
	kick(c, &h->data_waiting, &h->data_seq);
}

/* The ring looks full: say so. Consumers of this release look at
 * space_waiting after every tail store (kick()); consumers of earlier
 * releases fenced and looked only when they saw space_wanted, so it is
 * still set for them (the format is shared, docs/channel-format.md).
 * Records a batch stored are published first: the consumer may be asleep
 * waiting for them, and only it can make the room we wait for. */
static int wait_for_space(struct shmx_chan *c, uint64_t need, struct deadline *d)
{
	uint32_t *wanted = &c->hdr->space_wanted;
	int err;

	publish(c);
	__atomic_store_n(wanted, 1, __ATOMIC_RELAXED);
	err = shmx__chan_wait(c, space_ready, need, d);
	__atomic_store_n(wanted, 0, __ATOMIC_RELAXED);
	return err;
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
		err = space_ready(c, total);
		if (err < 0)
			return err;
		if (!err && (err = wait_for_space(c, total, d)))
			return err;
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

static int commit_at(struct shmx_chan *c, uint64_t off, size_t len)
{
	put_record(c, off, len);
	publish(c);
	return 0;
}

static int producer_ok(struct shmx_chan *c, int timeout_ms)
{
	if (!c || timeout_ms < -1)
		return -EINVAL;
	if (!is_producer(c))
		return -EBADF;
	if (c->error)
		return c->error;
	return c->cur_len ? -EINPROGRESS : 0;
}

static int chan_send(struct shmx_chan *c, const void *buf, size_t len, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off;
	int err;

	if (!buf && len)
		return -EINVAL;
	err = producer_ok(c, timeout_ms);
	if (err)
		return err;
	if (len > c->g.max_msg)
		return -EMSGSIZE;
	err = reserve_space(c, len, &d, &off);
	if (err)
		return err;
	/* len 0 may come with buf NULL, which memcpy must not see. A fault in
	 * the copy is caught by the guarded section of shmx_chan_send(). */
	if (len)
		memcpy(c->ring + off + REC, buf, len);
	return commit_at(c, off, len);
}

/* Every message of a batch is checked before the first is sent: a bad
 * one fails the call with nothing sent. */
static int batch_lens_ok(const struct shmx_chan *c, const struct iovec *msgs,
			 size_t n)
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
static ssize_t chan_send_batch(struct shmx_chan *c, const struct iovec *msgs,
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
		err = batch_lens_ok(c, msgs, n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		err = reserve_space(c, msgs[i].iov_len, &d, &off);
		if (err)
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

static int chan_reserve(struct shmx_chan *c, size_t len, void **ptr, int timeout_ms)
{
	struct deadline d = { .timeout = timeout_ms };
	uint64_t off;
	int err;

	if (!ptr)
		return -EINVAL;
	err = producer_ok(c, timeout_ms);
	if (err)
		return err;
	if (len > c->g.max_msg)
		return -EMSGSIZE;
	err = reserve_space(c, len, &d, &off);
	if (err)
		return err;
	c->cur_off = off;
	c->cur_len = len + 1;
	*ptr = c->ring + off + REC;
	return 0;
}

static int chan_commit(struct shmx_chan *c, size_t len)
{
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
	c->cur_len = 0;
	return commit_at(c, c->cur_off, len);
}


/* ---- consumer ---- */

/* 1 when a record word is at our position, 0 when not (yet). */
static int data_ready(struct shmx_chan *c, uint64_t need)
{
	(void)need;
	return __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE) != 0;
}

/* Our tail is stored after every message (a store to our own cache line,
 * which the producer reads only when the ring looks full), then kick()
 * wakes a producer asleep for space. Its fence is paid on every call, as
 * the producer pays it on every commit: a cheaper test first (of
 * space_wanted, or once in a while) is a load that can overtake our tail
 * store, and then a producer that went to sleep just then stays asleep
 * for a whole slice although there is room (see kick()). A batch stores
 * the tail once, after its last message. */
static hot_inline void show_tail(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	__atomic_store_n(&h->received, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&h->tail, c->pos, __ATOMIC_RELEASE);
	kick(c, &h->space_waiting, &h->space_seq);
}

static void consume(struct shmx_chan *c, uint64_t adv)
{
	c->pos += adv;
	c->count++;
	show_tail(c);
}

/* The common record, checked inline: a message of at most max_msg bytes
 * that ends before the ring does. Anything else (padding, or a word that
 * cannot be) goes through shmx__chan_record(), which decides. Our own
 * position is always aligned: we only ever add aligned sizes to it. */
static hot_inline bool plain_msg(const struct shmx_chan *c, uint64_t word, uint64_t *adv)
{
	uint64_t len = (uint32_t)word, size = REC + align8(len);

	if ((word >> 32) != SHMX__CHAN_TAG_MSG || len > c->g.max_msg ||
	    size > c->g.capacity - (c->pos & c->g.mask))
		return false;
	*adv = size;
	return true;
}

/* Find the next message record (skipping padding): its payload length, its
 * ring offset in c->cur_off and its size in *adv. With d NULL it does not
 * wait: -EAGAIN when nothing is there yet. */
static hot_inline ssize_t next_msg(struct shmx_chan *c, struct deadline *d, uint64_t *adv)
{
	uint64_t word;
	int64_t len;
	int err;

	for (;;) {
		word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
		if (!word) {
			if (!d)
				return -EAGAIN;
			err = shmx__chan_wait(c, data_ready, 0, d);
			if (err)
				return err;
			word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
		}
		if (likely(plain_msg(c, word, adv))) {
			c->cur_off = c->pos & c->g.mask;
			return (ssize_t)(uint32_t)word;
		}
		if (shmx__chan_record(&c->g, c->pos, word, adv, &len))
			return fail(c, -EBADMSG);
		c->cur_off = c->pos & c->g.mask;
		if (len >= 0)
			return (ssize_t)len;
		c->pos += *adv;
	}
}

static int consumer_ok(struct shmx_chan *c, int timeout_ms)
{
	if (!c || timeout_ms < -1)
		return -EINVAL;
	if (is_producer(c))
		return -EBADF;
	return c->error;
}

static ssize_t chan_recv(struct shmx_chan *c, void *buf, size_t size, int timeout_ms)
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
	if ((size_t)len > size)
		return -EMSGSIZE;
	/* A fault in the copy is caught by shmx_chan_recv()'s guarded section. */
	if (len)
		memcpy(buf, c->ring + c->cur_off + REC, (size_t)len);
	consume(c, adv);
	return len;
}

/* Wait for one message, then take, without waiting, every one that is
 * there, fits and is counted for: copied back to back, one tail store
 * (and one fence) for the lot. A message that does not fit stays for the
 * next call; a bad record after the first ends the batch, and the next
 * call reports it (the error is sticky). */
static ssize_t chan_recv_batch(struct shmx_chan *c, void *buf, size_t size,
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
		len = -EMSGSIZE;
	while (len >= 0 && (size_t)len <= size - used) {
		if (len)
			memcpy(out + used, c->ring + c->cur_off + REC, (size_t)len);
		used += (size_t)len;
		lens[k++] = (size_t)len;
		c->pos += adv;
		c->count++;
		if (k == max_msgs)
			break;
		len = next_msg(c, NULL, &adv);
	}
	if (!k)
		return len;
	show_tail(c);
	return (ssize_t)k;
}

static ssize_t chan_peek(struct shmx_chan *c, const void **ptr, int timeout_ms)
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

static int chan_release(struct shmx_chan *c)
{
	int err = consumer_ok(c, 0);

	if (err)
		return err;
	if (!c->cur_adv)
		return -EINVAL;
	consume(c, c->cur_adv);
	c->cur_adv = 0;
	return 0;
}


/* ---- queries ---- */

SHMX_EXPORT size_t shmx_chan_capacity(const struct shmx_chan *c)
{
	return c ? (size_t)c->g.capacity : 0;
}

SHMX_EXPORT size_t shmx_chan_max_msg(const struct shmx_chan *c)
{
	return c ? (size_t)c->g.max_msg : 0;
}

static ssize_t chan_used(const struct shmx_chan *c)
{
	const struct shmx__chan_hdr *h;
	uint64_t peer;

	if (!c)
		return -EINVAL;
	if (c->error)
		return c->error;
	h = c->hdr;
	if (is_producer(c))
		peer = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
	else
		peer = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
	if (peer & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	if (is_producer(c))
		return shmx__chan_distance(c->pos, peer, c->g.capacity);
	return shmx__chan_distance(peer, c->pos, c->g.capacity);
}

static ssize_t chan_pending(const struct shmx_chan *c)
{
	const struct shmx__chan_hdr *h;
	uint64_t limit;

	if (!c)
		return -EINVAL;
	if (c->error)
		return c->error;
	h = c->hdr;
	limit = c->g.capacity / REC;
	if (is_producer(c))
		return shmx__chan_distance(c->count, __atomic_load_n(&h->received, __ATOMIC_RELAXED), limit);
	return shmx__chan_distance(__atomic_load_n(&h->sent, __ATOMIC_RELAXED), c->count, limit);
}


/* ---- the public calls that touch the ring (each one guarded section) ---- */

SHMX_EXPORT int shmx_chan_send(struct shmx_chan *c, const void *buf, size_t len,
			       int timeout_ms)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_send(c, buf, len, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_send_batch(struct shmx_chan *c, const struct iovec *msgs,
				     size_t n, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_send_batch(c, msgs, n, timeout_ms));
	return r;
}

SHMX_EXPORT int shmx_chan_reserve(struct shmx_chan *c, size_t len, void **ptr,
				  int timeout_ms)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_reserve(c, len, ptr, timeout_ms));
	return r;
}

SHMX_EXPORT int shmx_chan_commit(struct shmx_chan *c, size_t len)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_commit(c, len));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_recv(struct shmx_chan *c, void *buf, size_t size,
				   int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_recv(c, buf, size, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_recv_batch(struct shmx_chan *c, void *buf, size_t size,
				     size_t *lens, size_t max_msgs, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_recv_batch(c, buf, size, lens, max_msgs, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_peek(struct shmx_chan *c, const void **ptr, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_peek(c, ptr, timeout_ms));
	return r;
}

SHMX_EXPORT int shmx_chan_release(struct shmx_chan *c)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_release(c));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_used(const struct shmx_chan *c)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_used(c));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_pending(const struct shmx_chan *c)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_pending(c));
	return r;
}
