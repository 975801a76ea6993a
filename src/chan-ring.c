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

/* 1 when need more bytes (and the zero word after them) fit behind the
 * slowest consumer that counts, 0 when not (yet), -EBADMSG for a cursor
 * that cannot be. Several producers look from the current head, which
 * another may have moved. */
static int space_ready(struct shmx_chan *c, uint64_t need)
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
 * the fence in kick() after the last one is what a sleeping consumer
 * relies on. Overwriting, head and sent change under head_seq: a consumer
 * that attaches reads both as one. */
static hot_inline void publish(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	if (c->multi) {
		/* head and sent moved when we reserved */
	} else if (c->over || c->bcast) {
		shmx__chan_set_head(h, c->pos, c->count);
	} else {
		__atomic_store_n(&h->sent, c->count, __ATOMIC_RELAXED);
		__atomic_store_n(&h->head, c->pos, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&c->me->count, c->count, __ATOMIC_RELAXED);
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
	return shmx__chan_wait(c, space_ready, need, d);
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
			err = space_ready(c, total);
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


/* ---- several producers: reserve under the lock, commit on our own ---- */

/* The lock word of its holder: slot + 1 and the attach generation. */
static uint32_t lock_value(const struct shmx_chan *c)
{
	return (c->slot + 1) | (c->gen & 0xffffff) << 8;
}

/* The holder of the lock died holding it (we took it over): it may have
 * stored reserved and padding records after head, and not head. Walk past
 * them: a reserved record of a dead producer is skipped by the consumers
 * like padding. */
static int repair_head(struct shmx_chan *c, uint32_t dead)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint64_t pos = __atomic_load_n(&h->head, __ATOMIC_RELAXED), word, adv;
	uint64_t sent = __atomic_load_n(&h->sent, __ATOMIC_RELAXED);
	int64_t len;
	int steps;

	if (pos & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	for (steps = 0; steps < 2; steps++) {
		word = __atomic_load_n(word_at(c, pos), __ATOMIC_ACQUIRE);
		if (!word)
			break;
		if (shmx__chan_record(&c->g, pos, word, &adv, &len) || len >= 0 ||
		    (len == -2 && (uint32_t)(word >> 32) !=
				  busy_tag((dead & 0xff) - 1, dead >> 8)))
			return -EBADMSG;
		pos += adv;
		sent += len == -2;
	}
	/* Even again, if it died between the two halves of the update. */
	if (__atomic_load_n(&h->head_seq, __ATOMIC_RELAXED) & 1)
		__atomic_fetch_add(&h->head_seq, 1, __ATOMIC_RELAXED);
	shmx__chan_set_head(h, pos, sent);
	return 0;
}

/* The holder is gone when its slot is free or another attach holds it. */
static int holder_gone(struct shmx_chan *c, uint32_t v)
{
	unsigned s = (v & 0xff) - 1;

	if (!(v & 0xff) || s >= c->g.producers)
		return -EBADMSG;
	if (s == c->slot)       /* our own slot, an earlier attach of it */
		return (v >> 8) != (c->gen & 0xffffff);
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
		if (!d->set && (err = shmx__deadline(d->timeout, &d->ts)))
			return err;
		d->set = true;
		if (d->timeout >= 0 && shmx__expired(&d->ts))
			return d->timeout ? -ETIMEDOUT : -EAGAIN;
		sched_yield();
	}
}

static void lock_drop(struct shmx_chan *c)
{
	__atomic_store_n(&c->hdr->lock, 0, __ATOMIC_RELEASE);
}

/* Reserve a record of len bytes under the lock: zero the word after it,
 * store its word with our "reserved" tag, then the padding word before it
 * if it wraps, then head. Consumers wait at a reserved word until we
 * commit (commit_multi()), or skip it once we are gone. */
static int reserve_multi(struct shmx_chan *c, size_t len, struct deadline *d,
			 uint64_t *off)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint64_t need = REC + align8(len), head, o, room, total;
	int err;

	for (;;) {
		err = lock_take(c, d);
		if (err)
			return err;
		head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
		if (head & (SHMX__CHAN_ALIGN - 1)) {
			lock_drop(c);
			return fail(c, -EBADMSG);
		}
		o = head & c->g.mask;
		room = c->g.capacity - o;
		total = need > room ? room + need : need;
		c->pos = head;
		if (head + total + REC - c->peer <= c->g.capacity)
			break;
		err = space_ready(c, total);
		if (err > 0)
			break;
		lock_drop(c);
		if (err < 0 || (err = wait_for_space(c, total, d)))
			return err;
	}
	*off = total > need ? 0 : o;
	__atomic_store_n(word_at(c, *off + need), 0, __ATOMIC_RELAXED);
	__atomic_store_n(word_at(c, *off), (uint64_t)busy_tag(c->slot, c->gen) << 32 | len,
			 __ATOMIC_RELEASE);
	if (total > need)
		__atomic_store_n(word_at(c, head),
				 (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (room - REC),
				 __ATOMIC_RELEASE);
	shmx__chan_set_head(h, head + total, __atomic_load_n(&h->sent, __ATOMIC_RELAXED) + 1);
	lock_drop(c);
	c->pos = head + total;
	return 0;
}

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
	c->count++;
}

/* A place for len bytes, by whichever protocol the channel has. */
static hot_inline int reserve(struct shmx_chan *c, size_t len, struct deadline *d,
			      uint64_t *off)
{
	if (c->multi)
		return reserve_multi(c, len, d, off);
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
	err = reserve(c, len, &d, &off);
	if (err)
		return err;
	/* len 0 may come with buf NULL, which memcpy must not see. A fault in
	 * the copy is caught by the guarded section of shmx_chan_send(). */
	if (len)
		memcpy(c->ring + off + REC, buf, len);
	return commit_at(c, off, len, len);
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
	err = reserve(c, len, &d, &off);
	if (err)
		return err;
	c->cur_off = off;
	c->cur_len = len + 1;
	*ptr = c->ring + off + REC;
	return 0;
}

static int chan_commit(struct shmx_chan *c, size_t len)
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
 * which producers read only when the ring looks full), then kick() wakes
 * a producer asleep for space. Its fence is paid on every call, as the
 * producer pays it on every commit: a cheaper test first is a load that
 * can overtake our tail store, and then a producer that went to sleep just
 * then stays asleep for a whole slice although there is room (see kick()).
 * A batch stores the tail once, after its last message. An overwriting
 * producer never waits for us: the tail is only for display then. */
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

/* The common record, checked inline: a message of at most max_msg bytes
 * that ends before the ring does. Anything else (padding, a reserved
 * record, or a word that cannot be) goes through shmx__chan_record(),
 * which decides. Our own position is always aligned: we only ever add
 * aligned sizes to it. */
static hot_inline bool plain_msg(const struct shmx_chan *c, uint64_t word, uint64_t *adv)
{
	uint64_t len = (uint32_t)word, size = REC + align8(len);

	if ((word >> 32) != SHMX__CHAN_TAG_MSG || len > c->g.max_msg ||
	    size > c->g.capacity - (c->pos & c->g.mask))
		return false;
	*adv = size;
	return true;
}

/* Find the next message record (skipping padding, and records reserved by
 * a producer that is gone): its payload length, its ring offset in
 * c->cur_off and its size in *adv. With d NULL it does not wait: -EAGAIN
 * when nothing is there yet. Overwriting, -ENOBUFS once we were
 * overtaken (fell_behind()). */
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
		if (!word || (c->multi && is_busy(word) && c->dead_at != c->pos + 1)) {
			if (!d)         /* the rest of a batch: next call */
				return -EAGAIN;
			if (c->over && overtaken(c))
				return fell_behind(c);
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
		c->pos += *adv;
		if (len == -2) {        /* its producer is gone: never committed */
			c->dead_at = 0;
			c->index++;
		}
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
	/* What the caller read in place may have been written over. */
	if (c->over && overtaken(c))
		return (int)fell_behind(c);
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

/* Bytes of the ring in use: from the slowest consumer that counts to our
 * position (producer), or from ours to head (consumer). */
static ssize_t chan_used(const struct shmx_chan *c)
{
	struct shmx_chan *m = (struct shmx_chan *)c;
	uint64_t peer, from;
	int err;

	if (!c)
		return -EINVAL;
	if (c->error)
		return c->error;
	if (is_producer(c)) {
		from = c->multi ? __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE) : c->pub;
		if (c->over)
			return shmx__chan_distance(c->pos, c->low, c->g.capacity);
		err = shmx__chan_slowest(m, from, false, &peer);
		if (err)
			return err;
		/* More than a ring behind only while a consumer joins: full. */
		if ((c->multi ? from : c->pos) - peer > c->g.capacity)
			return (ssize_t)c->g.capacity;
		return shmx__chan_distance(c->multi ? from : c->pos, peer, c->g.capacity);
	}
	peer = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
	if (peer & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	if (c->over && (int64_t)(peer - c->pos) > (int64_t)c->g.capacity)
		return (ssize_t)c->g.capacity;  /* overtaken: it says so next */
	return shmx__chan_distance(peer, c->pos, c->g.capacity);
}

/* Messages not yet taken: by us (consumer), or by the slowest consumer
 * that counts (producer), from the messages sent and each consumer's
 * index (messages it has passed). */
static ssize_t chan_pending(const struct shmx_chan *c)
{
	const struct shmx__chan_hdr *h;
	uint64_t limit, sent, index = UINT64_MAX, v;
	uint32_t st;
	unsigned j;

	if (!c)
		return -EINVAL;
	if (c->error)
		return c->error;
	h = c->hdr;
	limit = c->g.capacity / REC;
	sent = c->multi || !is_producer(c) ? __atomic_load_n(&h->sent, __ATOMIC_ACQUIRE)
					   : c->count;
	if (!is_producer(c)) {
		if (c->over && (int64_t)(sent - c->index) > (int64_t)limit)
			return (ssize_t)limit;
		return shmx__chan_distance(sent, c->index, limit);
	}
	for (j = 0; j < c->g.consumers; j++) {
		st = __atomic_load_n(&c->conss[j].state, __ATOMIC_ACQUIRE);
		if (c->bcast && !shmx__chan_counts(st))
			continue;
		v = __atomic_load_n(&c->conss[j].index, __ATOMIC_RELAXED);
		if (index == UINT64_MAX || (int64_t)(v - index) < 0)
			index = v;
	}
	if (index == UINT64_MAX)
		return 0;
	if (c->over && (int64_t)(sent - index) > (int64_t)limit)
		return (ssize_t)limit;
	return shmx__chan_distance(sent, index, limit);
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
