/* SPDX-License-Identifier: MIT */
/* Channel: a single-producer/single-consumer ring of variable-length
 * messages in a formatted region (header layout in internal.h, described in
 * docs/channel-format.md). Each side keeps its own index privately and
 * treats the peer's index, every record header and every length in the ring
 * as untrusted input: a bad value makes the handle fail with -EBADMSG,
 * never an access outside the ring. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define ROLES        (SHMX_CHAN_PRODUCER | SHMX_CHAN_CONSUMER)
#define WAITS        (SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK)
#define CREATE_FLAGS (ROLES | WAITS | SHMX_UNLINK_ON_CLOSE)
#define OPEN_FLAGS   (ROLES | WAITS | SHMX_ALLOW_SHARED)
#define ANON_FLAGS   (ROLES | WAITS)

#define REC          ((uint64_t)SHMX__CHAN_REC)
#define SLICE_MS     15    /* a sleeper re-checks liveness this often */
#define SPIN_POLLS   4000  /* adaptive: polls (with pause) before sleeping */
#define SPIN_CLOCK   1024  /* pure spin: polls between clock reads */
#define SPIN_LIVE    16    /* pure spin: clock reads between liveness checks */
#define OPEN_POLL_NS 1000000L

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct shmx_chan {
	/* hot: private copies, the only geometry we trust after open */
	struct shmx__chan_hdr *hdr;
	unsigned char *ring;
	struct shmx__chan_geom g; /* capacity, mask, max_msg */
	uint64_t pos;           /* ours: producer head / consumer tail */
	uint64_t peer;          /* last validated peer index */
	uint64_t count;         /* messages we committed / released */
	uint64_t cur_off;       /* ring offset of the reserved/peeked record */
	uint64_t cur_adv;       /* consumer: peeked record's size, 0 if none */
	uint64_t cur_len;       /* reserved (+1, 0 if none) / peeked length */
	uint64_t pad;           /* producer: padding before the reserved record */
	int error;              /* sticky -EBADMSG / -EFAULT */
	unsigned flags;
	/* cold */
	struct shmx_region *region;     /* ours: the mapping, the slot locks */
	struct shmx_region *shared;     /* anonymous creator: the one to hand out */
	size_t map_size;
	bool owner;
};

struct deadline {
	int timeout;
	bool set;
	struct timespec ts;
};

typedef int (*ready_fn)(struct shmx_chan *c, uint64_t need);

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static inline uint64_t align8(uint64_t n)
{
	return (n + SHMX__CHAN_ALIGN - 1) & ~(uint64_t)(SHMX__CHAN_ALIGN - 1);
}

static inline bool is_producer(const struct shmx_chan *c)
{
	return c->flags & SHMX_CHAN_PRODUCER;
}

static int fail(struct shmx_chan *c, int err)
{
	c->error = err;
	return err;
}

/* A peer can truncate the object under us at any moment. Once the caller
 * has opted in with shmx_guard_sigbus(), a SIGBUS anywhere in a section
 * (polling a word, storing an index, copying) becomes a sticky -EFAULT on
 * the handle instead of killing the process. Without the guard the cost is
 * one relaxed load. Every access to the mapping, from open to close, is
 * inside one. */
static int chan_fault(const struct shmx_chan *c)
{
	((struct shmx_chan *)c)->error = -EFAULT;
	return -EFAULT;
}

/* r = expr, as a guarded section over c's whole mapping. */
#define ON_RING(r, c, expr) \
	SHMX__GUARDED(r, (c)->hdr, (c)->map_size, expr, chan_fault(c))

/* fn(c) as a guarded section, in a frame of its own: the caller's locals
 * live across no sigsetjmp. */
static int on_ring(struct shmx_chan *c, int (*fn)(struct shmx_chan *c))
{
	int err;

	ON_RING(err, c, fn(c));
	return err;
}

/* ---- validation (also used by the tests and fuzz targets) ---- */

uint64_t shmx__chan_max_msg(uint64_t capacity)
{
	return capacity / 2 - REC;
}

int shmx__chan_validate(const struct shmx__chan_hdr *h, uint64_t object_size,
			struct shmx__chan_geom *g)
{
	uint64_t cap = h->capacity;

	if (h->magic != SHMX__CHAN_MAGIC)
		return -EBADMSG;
	if (h->abi != SHMX__CHAN_ABI)
		return -EPROTONOSUPPORT;
	if (h->header_size != SHMX__CHAN_HDR_SIZE)
		return -EBADMSG;
	if (cap < SHMX__CHAN_MIN_CAP || cap > SHMX__CHAN_MAX_CAP || (cap & (cap - 1)))
		return -EBADMSG;
	if (object_size < SHMX__CHAN_HDR_SIZE || object_size - SHMX__CHAN_HDR_SIZE < cap)
		return -EBADMSG;
	if (h->max_msg != shmx__chan_max_msg(cap) || h->consumers != 1 || h->flags)
		return -EBADMSG;
	g->capacity = cap;
	g->mask = cap - 1;
	g->max_msg = h->max_msg;
	return 0;
}

/* The producer writes a record only where it fits before the ring's end
 * (a padding record fills the rest), so a valid record never wraps. */
int shmx__chan_record(const struct shmx__chan_geom *g, uint64_t pos, uint64_t word,
		      uint64_t *advance, int64_t *len)
{
	uint64_t room = g->capacity - (pos & g->mask), size;
	uint32_t tag = (uint32_t)(word >> 32), l = (uint32_t)word;

	if (pos & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	if (tag == SHMX__CHAN_TAG_PAD) {
		if (room == g->capacity || l != room - REC)
			return -EBADMSG;
		*advance = room;
		*len = -1;
		return 0;
	}
	if (tag != SHMX__CHAN_TAG_MSG || l > g->max_msg)
		return -EBADMSG;
	size = REC + align8(l);
	if (size > room)
		return -EBADMSG;
	*advance = size;
	*len = l;
	return 0;
}

/* ---- waking and sleeping ---- */

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int futex_wait(uint32_t *word, uint32_t val, const struct timespec *abs)
{
	/* BITSET takes an absolute CLOCK_MONOTONIC time; not PRIVATE: the
	 * word is in a mapping shared with another process. */
	long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, abs, NULL,
			 FUTEX_BITSET_MATCH_ANY);

	return r < 0 ? -errno : 0;
}

static void bump(uint32_t *seq)
{
	__atomic_fetch_add(seq, 1, __ATOMIC_RELEASE);
	futex_wake(seq);
}

static __attribute__((noinline)) void kick_slow(uint32_t *waiting, uint32_t *seq)
{
	if (__atomic_exchange_n(waiting, 0, __ATOMIC_RELAXED))
		bump(seq);
}

/* After publishing an index (the producer's record word and head, the
 * consumer's tail): store, full fence, load the peer's "asleep" flag. The
 * sleeper does the mirror image in sleep_loop(): store its flag, full fence,
 * load our index. The two fences are sequentially consistent, so they are
 * ordered one way or the other in C11's single total order S: if ours comes
 * first, the sleeper's load after its fence sees our index and it does not
 * sleep; if its fence comes first, our load after ours sees its flag and we
 * wake it. No interleaving loses both (Dekker). Without either fence a
 * store may still sit in its CPU's store buffer while the load after it is
 * served, also on x86: both sides miss each other and the sleeper waits for
 * its slice to run out. tests/spin/chan.pml models this, store buffers
 * included, and catches the fence missing on either side. */
static inline void kick(uint32_t *waiting, uint32_t *seq)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (unlikely(__atomic_load_n(waiting, __ATOMIC_RELAXED)))
		kick_slow(waiting, seq);
}

/* ---- liveness ---- */

/* A peer we never saw attach may still come: only a peer whose state word
 * says it attached, and whose slot is free, is gone. The word is read
 * around the lock test so a new peer attaching meanwhile is not taken for
 * the old one's corpse. */
static int peer_gone(struct shmx_chan *c)
{
	unsigned slot = is_producer(c) ? SHMX_SLOT_READER : SHMX_SLOT_WRITER;
	uint32_t *word = is_producer(c) ? &c->hdr->cons_state : &c->hdr->prod_state;
	uint32_t w1, w2;
	int tries, held;

	for (tries = 0; tries < 4; tries++) {
		w1 = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		held = shmx__slot_held(shmx_fd(c->region), slot);
		if (held)
			return held < 0 ? held : 0;
		w2 = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		if (w1 != w2)
			continue;
		if (w1 & SHMX__CHAN_CLOSED)
			return -EPIPE;
		return (w1 & SHMX__CHAN_ATTACHED) ? -EOWNERDEAD : 0;
	}
	return 0;
}

static int truncated(struct shmx_chan *c)
{
	struct stat st;

	if (fstat(shmx_fd(c->region), &st) < 0)
		return -errno;
	return (uint64_t)st.st_size < c->map_size ? -EFAULT : 0;
}

/* A fresh look at the peer: 1 ready, 0 keep waiting, or an error. Ready
 * wins over a dead or closed peer, and is tested after the liveness check:
 * everything committed before the peer died is still delivered. */
static int settle(struct shmx_chan *c, ready_fn ready, uint64_t need)
{
	int err = truncated(c), r;

	if (err)
		return fail(c, err);
	err = peer_gone(c);
	r = ready(c, need);
	return r ? r : err;
}

static int deadline_get(struct deadline *d)
{
	if (!d->set) {
		d->set = true;
		return shmx__deadline(d->timeout, &d->ts);
	}
	return 0;
}

static int spin(struct shmx_chan *c, ready_fn ready, uint64_t need, struct deadline *d)
{
	bool pure = c->flags & SHMX_CHAN_SPIN;
	unsigned i, clocks = 0;
	int r;

	for (i = 1;; i++) {
		cpu_relax();
		r = ready(c, need);
		if (r)
			return r;
		if (!pure) {
			if (i >= SPIN_POLLS)
				return 0;
			continue;
		}
		if (i % SPIN_CLOCK)
			continue;
		if (shmx__expired(&d->ts)) {
			r = settle(c, ready, need);
			return r ? r : -ETIMEDOUT;
		}
		if (++clocks % SPIN_LIVE == 0 && (r = settle(c, ready, need)))
			return r;
	}
}

static int sleep_loop(struct shmx_chan *c, ready_fn ready, uint64_t need,
		      struct deadline *d)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *seq = is_producer(c) ? &h->space_seq : &h->data_seq;
	uint32_t *waiting = is_producer(c) ? &h->space_waiting : &h->data_waiting;
	struct timespec slice;
	uint32_t s;
	int r;

	for (;;) {
		r = settle(c, ready, need);
		if (r)
			break;
		if (shmx__expired(&d->ts)) {
			r = -ETIMEDOUT;
			break;
		}
		s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		__atomic_store_n(waiting, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r = ready(c, need);
		if (r)
			break;
		shmx__slice(&d->ts, SLICE_MS, &slice);
		r = futex_wait(seq, s, &slice);
		if (r == -EFAULT) {     /* the word's page was truncated away */
			r = fail(c, r);
			break;
		}
		if (r && r != -ETIMEDOUT && r != -EAGAIN && r != -EINTR)
			break;
		/* Woken: the index moved. Timed out: look at the peer (and
		 * the object's size) before touching the ring again. */
		if (r != -ETIMEDOUT && (r = ready(c, need)))
			break;
	}
	if (__atomic_load_n(waiting, __ATOMIC_RELAXED))
		__atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
	return r;
}

/* Wait until ready(c, need); 0 or -errno (-EAGAIN for a try). */
static int wait_for(struct shmx_chan *c, ready_fn ready, uint64_t need,
		    struct deadline *d)
{
	int r;

	if (d->timeout == 0) {
		r = settle(c, ready, need);
		return r > 0 ? 0 : r < 0 ? r : -EAGAIN;
	}
	r = deadline_get(d);
	if (r)
		return r;
	if (!(c->flags & SHMX_CHAN_BLOCK)) {
		r = spin(c, ready, need, d);
		if (r)
			return r > 0 ? 0 : r;
	}
	r = sleep_loop(c, ready, need, d);
	return r > 0 ? 0 : r;
}

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

/* The ring looks full: say so. Consumers of this release look at
 * space_waiting after every tail store (kick()); consumers of earlier
 * releases fenced and looked only when they saw space_wanted, so it is
 * still set for them (the format is shared, docs/channel-format.md). */
static int wait_for_space(struct shmx_chan *c, uint64_t need, struct deadline *d)
{
	uint32_t *wanted = &c->hdr->space_wanted;
	int err;

	__atomic_store_n(wanted, 1, __ATOMIC_RELAXED);
	err = wait_for(c, space_ready, need, d);
	__atomic_store_n(wanted, 0, __ATOMIC_RELAXED);
	return err;
}

static inline uint64_t *word_at(const struct shmx_chan *c, uint64_t off)
{
	return (uint64_t *)(void *)(c->ring + (off & c->g.mask));
}

/* Room for a record of len payload bytes, contiguous: when it does not fit
 * before the ring's end, the record goes to offset 0 and commit_at() fills
 * the end with a padding record. Returns the record's ring offset. */
static int reserve_space(struct shmx_chan *c, size_t len, struct deadline *d,
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

/* Publish: zero the word after the record, store the record's word, then
 * the padding word that leads to it (both release): the consumer, which
 * polls words, sees a whole record or nothing, never a stale word. */
static int commit_at(struct shmx_chan *c, uint64_t off, size_t len)
{
	struct shmx__chan_hdr *h = c->hdr;
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
	__atomic_store_n(&h->sent, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&h->head, c->pos, __ATOMIC_RELEASE);
	kick(&h->data_waiting, &h->data_seq);
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
 * wakes a producer asleep for space. Its fence is paid on every message,
 * as the producer pays it on every commit: a cheaper test first (of
 * space_wanted, or once in a while) is a load that can overtake our tail
 * store, and then a producer that went to sleep just then stays asleep
 * for a whole slice although there is room (see kick()). */
static void consume(struct shmx_chan *c, uint64_t adv)
{
	struct shmx__chan_hdr *h = c->hdr;

	c->pos += adv;
	c->count++;
	__atomic_store_n(&h->received, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&h->tail, c->pos, __ATOMIC_RELEASE);
	kick(&h->space_waiting, &h->space_seq);
}

/* Find the next message record (skipping padding): its payload length, its
 * ring offset in c->cur_off and its size in *adv. */
static ssize_t next_msg(struct shmx_chan *c, struct deadline *d, uint64_t *adv)
{
	uint64_t word;
	int64_t len;
	int err;

	for (;;) {
		word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
		if (!word) {
			err = wait_for(c, data_ready, 0, d);
			if (err)
				return err;
			word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE);
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

/* ---- attach, create, open, close ---- */

static bool bad_flags(unsigned flags, unsigned allowed)
{
	unsigned role = flags & ROLES;

	return (flags & ~allowed) ||
	       (role != SHMX_CHAN_PRODUCER && role != SHMX_CHAN_CONSUMER) ||
	       (flags & WAITS) == WAITS;
}

/* The consumer reads a record as soon as its word is stored, a moment
 * before the producer's head or sent counter catches up: a peer index that
 * is a little behind ours counts as "nothing", one far off as corrupt. */
static ssize_t distance(uint64_t ahead, uint64_t behind, uint64_t limit)
{
	uint64_t n = ahead - behind;

	if (n <= limit)
		return (ssize_t)n;
	return behind - ahead <= limit ? 0 : -EBADMSG;
}

/* A producer that died between storing a record's word and its head left
 * records the consumer may already have read: continue after them. */
static int skip_unpublished(struct shmx_chan *c)
{
	uint64_t word, adv;
	int64_t len;

	while ((word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE))) {
		if (shmx__chan_record(&c->g, c->pos, word, &adv, &len) ||
		    (int64_t)(c->pos + adv + REC - c->peer) > (int64_t)c->g.capacity)
			return -EBADMSG;
		c->pos += adv;
		c->count += len >= 0;
	}
	/* The consumer cannot have read past the last record. */
	return (int64_t)(c->pos - c->peer) < 0 ? -EBADMSG : 0;
}

/* Start from the published indices, which a previous holder of our role
 * (closed or dead) left behind; they are untrusted like any shared value. */
static int take_indices(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
	uint64_t head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);

	/* The consumer may be a record ahead of head (see distance()). */
	if (distance(head, tail, c->g.capacity) < 0 || ((head | tail) & (SHMX__CHAN_ALIGN - 1)))
		return -EBADMSG;
	if (is_producer(c)) {
		c->pos = head;
		c->peer = tail;
		c->count = __atomic_load_n(&h->sent, __ATOMIC_RELAXED);
		return skip_unpublished(c);
	} else {
		c->pos = c->peer = tail;
		c->count = __atomic_load_n(&h->received, __ATOMIC_RELAXED);
	}
	return 0;
}

/* The header's part of attaching: our indices, then "attached". */
static int attach_shared(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *state = is_producer(c) ? &h->prod_state : &h->cons_state;
	int32_t *pid = is_producer(c) ? &h->producer_pid : &h->consumer_pid;
	uint32_t gen;
	int err = take_indices(c);

	if (err)
		return err;
	gen = (__atomic_load_n(state, __ATOMIC_RELAXED) >> 8) + 1;
	__atomic_store_n(pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(state, gen << 8 | SHMX__CHAN_ATTACHED, __ATOMIC_RELEASE);
	return 0;
}

/* Take our role's slot and say so in the header: a peer that opens later
 * then knows we attached, and takes our free slot for a death. */
static int attach(struct shmx_chan *c)
{
	unsigned slot = is_producer(c) ? SHMX_SLOT_WRITER : SHMX_SLOT_READER;
	int fd = shmx_fd(c->region), err;

	err = shmx__slot_lock(fd, slot);
	if (err)
		return err;
	err = on_ring(c, attach_shared);
	if (err)
		shmx__slot_unlock(fd, slot);
	return err;
}

static struct shmx_chan *chan_new(struct shmx_region *r, unsigned flags)
{
	struct shmx_chan *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->region = r;
	c->flags = flags;
	c->hdr = shmx_addr(r);
	c->map_size = shmx_size(r);
	c->ring = (unsigned char *)c->hdr + SHMX__CHAN_HDR_SIZE;
	return c;
}

void shmx__chan_write_header(struct shmx__chan_hdr *h, uint64_t capacity)
{
	h->abi = SHMX__CHAN_ABI;
	h->header_size = SHMX__CHAN_HDR_SIZE;
	h->capacity = capacity;
	h->max_msg = shmx__chan_max_msg(capacity);
	h->consumers = 1;
	h->flags = 0;
	/* Everything above is visible before the magic that vouches for it. */
	__atomic_store_n(&h->magic, SHMX__CHAN_MAGIC, __ATOMIC_RELEASE);
}

static int write_header(struct shmx_chan *c)
{
	shmx__chan_write_header(c->hdr, c->g.capacity);
	return 0;
}

static bool bad_capacity(size_t capacity)
{
	return capacity < SHMX__CHAN_MIN_CAP || (uint64_t)capacity > SHMX__CHAN_MAX_CAP ||
	       (capacity & (capacity - 1));
}

/* The creator's part: the geometry it chose, the owner's slot and its
 * role. The object is fresh and nobody else holds it yet: no slot is taken. */
static int take_owner(struct shmx_chan *c, size_t capacity)
{
	int err;

	c->g.capacity = capacity;
	c->g.mask = capacity - 1;
	c->g.max_msg = shmx__chan_max_msg(capacity);
	err = shmx__slot_lock(shmx_fd(c->region), SHMX_SLOT_OWNER);
	if (!err)
		err = attach(c);
	if (!err)
		c->owner = true;
	return err;
}

SHMX_EXPORT int shmx_chan_create(const char *name, size_t capacity, unsigned flags,
				 mode_t mode, struct shmx_chan **ret)
{
	char canon[SHMX__NAME_BUF];
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL;
	int err;

	if (!ret || bad_flags(flags, CREATE_FLAGS) || (mode & ~(mode_t)0777))
		return -EINVAL;
	if (bad_capacity(capacity))
		return -EINVAL;
	err = shmx__name(name, SHMX_NAME_MAX, canon);
	if (err)
		return err;
	/* Built unnamed and linked in only once the header is complete: an
	 * opener never sees a half-made channel, and a creator killed at any
	 * point before that leaves nothing behind. Where the object has to be
	 * built under its name (no O_TMPFILE), it keeps mode 0 until then:
	 * that is how an opener tells it from a finished object that is not a
	 * channel (unpublished()). */
	err = shmx__create(canon, SHMX__CHAN_HDR_SIZE + capacity,
			   SHMX_POPULATE | (flags & SHMX_UNLINK_ON_CLOSE), 0, &r);
	if (err)
		return err;
	c = chan_new(r, flags & ~SHMX_UNLINK_ON_CLOSE);
	if (!c) {
		err = -ENOMEM;
		goto fail;
	}
	err = take_owner(c, capacity);
	if (err)
		goto fail;
	/* Named (the fallback), the object is visible: the guard covers us. */
	err = on_ring(c, write_header);
	if (!err)
		err = shmx__neg(fchmod(shmx_fd(r), mode ? mode : 0600));
	if (!err)
		err = shmx__publish(r, canon);
	if (err)
		goto fail;
	*ret = c;
	return 0;
fail:
	free(c);
	shmx__discard(r);
	return err;
}

/* Mode 0 is "not published yet": a channel's creator keeps its object at
 * mode 0 until the header is complete (shmx_chan_create()), and a
 * published channel never has mode 0 (0 means 0600 to create). Anything
 * else whose header is not a channel's is not one: -EBADMSG at once, so
 * open and stat agree, and an open with no timeout does not wait for a
 * header that nobody will write. */
static bool unpublished(mode_t mode)
{
	return (mode & 07777) == 0;
}

/* err from opening name, where shm_open() refused (EACCES) or the object
 * was empty (ENODATA): -ENODATA for a channel being created, -EBADMSG for
 * an empty object that is not one. */
static int classify(const char *name, int err)
{
	char canon[SHMX__NAME_BUF], path[SHMX__PATH_BUF];
	struct stat st;

	if ((err != -EACCES && err != -ENODATA) || shmx__name(name, SHMX_NAME_MAX, canon))
		return err;
	shmx__path(canon, false, path);
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unpublished(st.st_mode))
		return -ENODATA;
	return err == -ENODATA ? -EBADMSG : err;
}

/* A formatted object that anyone but us can write is under someone else's
 * control: not trusted unless the caller says so. */
static int check_object(struct shmx_region *r, unsigned flags)
{
	struct stat st;
	uint64_t cap;

	if (fstat(shmx_fd(r), &st) < 0)
		return -errno;
	if (unpublished(st.st_mode))
		return -ENODATA;
	if (!(flags & SHMX_ALLOW_SHARED) &&
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_uid != geteuid()))
		return -EACCES;
	if ((uint64_t)st.st_size < SHMX__CHAN_HDR_SIZE + SHMX__CHAN_MIN_CAP)
		return -EBADMSG;
	cap = (uint64_t)st.st_size - SHMX__CHAN_HDR_SIZE;
	if (cap > SHMX__CHAN_MAX_CAP || (cap & (cap - 1)))
		return -EBADMSG;
	return 0;
}

/* shmx_open() and the checks that need no mapping. The mapping is lazy:
 * nothing is allocated before the header is known to be a channel's. */
static int open_region(const char *name, unsigned flags, struct shmx_region **r)
{
	int err = classify(name, shmx_open(name, 0, r));

	if (err)
		return err;
	err = check_object(*r, flags);
	/* Truncated to nothing since: no channel (any more). */
	if (!err && (err = shmx_map(*r)) == -ENODATA)
		err = -EBADMSG;
	if (err)
		*r = shmx_close(*r);
	return err;
}

/* The header, copied once with pread(): a read(2) of a truncated object is
 * short, never a SIGBUS. Validated against the size we mapped. */
static int read_header(struct shmx_chan *c)
{
	struct shmx__chan_hdr copy;
	ssize_t n = pread(shmx_fd(c->region), &copy, sizeof(copy), 0);

	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(copy))
		return -EBADMSG;
	return shmx__chan_validate(&copy, c->map_size, &c->g);
}

/* Fault the ring in now rather than on the first lap; best effort. A
 * truncated range fails with EFAULT here, never a SIGBUS. */
static void populate(struct shmx_chan *c)
{
#ifdef MADV_POPULATE_WRITE
	(void)madvise(c->hdr, c->map_size, MADV_POPULATE_WRITE);
#else
	(void)c;
#endif
}

/* What every way into an existing channel shares once its object is open
 * and mapped: the header copied once and validated, our role taken, and
 * only then the ring faulted in. On failure the caller still owns r. */
static int attach_region(struct shmx_region *r, unsigned flags, struct shmx_chan **ret)
{
	struct shmx_chan *c = chan_new(r, flags & ~SHMX_ALLOW_SHARED);
	int err;

	if (!c)
		return -ENOMEM;
	err = read_header(c);
	if (!err)
		err = attach(c);
	if (err) {
		free(c);
		return err;
	}
	populate(c);
	*ret = c;
	return 0;
}

static int try_open(const char *name, unsigned flags, struct shmx_chan **ret)
{
	struct shmx_region *r;
	int err = open_region(name, flags, &r);

	if (err)
		return err;
	err = attach_region(r, flags, ret);
	if (err)
		shmx_close(r);
	return err;
}

static bool retryable(int err)
{
	return err == -ENOENT || err == -ENODATA;
}

SHMX_EXPORT int shmx_chan_open(const char *name, unsigned flags, int timeout_ms,
			       struct shmx_chan **ret)
{
	const struct timespec pause = { 0, OPEN_POLL_NS };
	struct timespec dl;
	int err;

	if (!ret || bad_flags(flags, OPEN_FLAGS))
		return -EINVAL;
	err = shmx__deadline(timeout_ms, &dl);
	if (err)
		return err;
	for (;;) {
		err = try_open(name, flags, ret);
		if (!retryable(err) || shmx__expired(&dl))
			break;
		nanosleep(&pause, NULL);
	}
	/* Present but never published within the timeout. */
	if (err == -ENODATA)
		err = timeout_ms ? -ETIMEDOUT : -EAGAIN;
	return err;
}

/* ---- channels in anonymous memory, or on any region handle ---- */

/* A handle of our own on r's object, checked as an opened object is before
 * it is mapped. Its open file description is ours alone: OFD locks belong
 * to the description, and r's may be shared with a process it was sent to
 * or a child that inherited it, which would then hold our slots after our
 * death, or take its own role on our description (then neither side could
 * see the other's lock). Never a dup(), for the same reason. */
static int own_region(const struct shmx_region *r, unsigned flags,
		      struct shmx_region **ret)
{
	struct shmx_region *o;
	int fd, err;

	if (r->kind == SHMX__SYSV)
		return -EOPNOTSUPP;     /* no descriptor to lock */
	if (r->flags & SHMX_RDONLY)
		return -EBADF;          /* OFD write locks need a writable fd */
	fd = shmx__reopen(r);
	if (fd < 0)
		return fd;
	err = shmx__region_new(r->kind, fd, r->name, 0, 0, &o);
	if (err) {
		close(fd);
		return err;
	}
	err = check_object(o, flags);
	if (err == -ENODATA)
		err = -EAGAIN;  /* a named channel not yet published */
	else if (!err && (err = shmx_map(o)) == -ENODATA)
		err = -EBADMSG;
	if (err) {
		shmx_close(o);
		return err;
	}
	*ret = o;
	return 0;
}

SHMX_EXPORT int shmx_chan_attach(const struct shmx_region *r, unsigned flags,
				 struct shmx_chan **ret)
{
	struct shmx_region *o;
	int err;

	if (!r || !ret || bad_flags(flags, OPEN_FLAGS))
		return -EINVAL;
	err = own_region(r, flags, &o);
	if (err)
		return err;
	err = attach_region(o, flags, ret);
	if (err)
		shmx_close(o);
	return err;
}

/* The memfd is only handed out (shmx_chan_region()); we work on a handle
 * of our own, so a process it is sent to or a child that inherits it holds
 * none of our locks. Nobody else can see the object before we return: the
 * header needs no publication step. */
SHMX_EXPORT int shmx_chan_create_anon(size_t capacity, unsigned flags,
				      struct shmx_chan **ret)
{
	struct shmx_region *shared, *r;
	struct shmx_chan *c;
	int err;

	if (!ret || bad_flags(flags, ANON_FLAGS) || bad_capacity(capacity))
		return -EINVAL;
	err = shmx_anon_create(SHMX__CHAN_HDR_SIZE + capacity, 0, &shared);
	if (err)
		return err;
	err = own_region(shared, 0, &r);
	if (err)
		goto fail_shared;
	c = chan_new(r, flags);
	if (!c) {
		err = -ENOMEM;
		goto fail_region;
	}
	err = take_owner(c, capacity);
	if (!err)
		err = on_ring(c, write_header);
	if (err)
		goto fail_chan;
	populate(c);
	c->shared = shared;
	*ret = c;
	return 0;
fail_chan:
	free(c);
fail_region:
	shmx_close(r);
fail_shared:
	shmx_close(shared);
	return err;
}

SHMX_EXPORT struct shmx_region *shmx_chan_region(const struct shmx_chan *c)
{
	if (!c)
		return NULL;
	return c->shared ? c->shared : c->region;
}

static int mark_closed(struct shmx_chan *c)
{
	uint32_t *state = is_producer(c) ? &c->hdr->prod_state : &c->hdr->cons_state;

	__atomic_fetch_or(state, SHMX__CHAN_CLOSED, __ATOMIC_RELEASE);
	return 0;
}

static int wake_peer(struct shmx_chan *c)
{
	bump(is_producer(c) ? &c->hdr->data_seq : &c->hdr->space_seq);
	return 0;
}

/* "Closed" before the slot goes, so the peer reads a close, not a death;
 * the slots go whatever happens to the mapping. The header is written only
 * in guarded sections (a truncation between any check and the write would
 * SIGBUS), and not at all once the handle has seen a fault; without the
 * guard, a size check is the best we can do. */
SHMX_EXPORT struct shmx_chan *shmx_chan_close(struct shmx_chan *c)
{
	int fd, err = 0;

	if (!c)
		return NULL;
	fd = shmx_fd(c->region);
	if (c->error == -EFAULT || (!shmx__guard_on() && truncated(c)))
		err = -EFAULT;
	if (!err)
		err = on_ring(c, mark_closed);
	shmx__slot_unlock(fd, is_producer(c) ? SHMX_SLOT_WRITER : SHMX_SLOT_READER);
	if (c->owner)
		shmx__slot_unlock(fd, SHMX_SLOT_OWNER);
	/* The peer may sleep up to a slice before it looks at our slot. */
	if (!err)
		on_ring(c, wake_peer);
	shmx_close(c->region);
	shmx_close(c->shared);
	free(c);
	return NULL;
}

SHMX_EXPORT int shmx_chan_unlink(const char *name)
{
	return shmx_unlink(name);
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
		return distance(c->pos, peer, c->g.capacity);
	return distance(peer, c->pos, c->g.capacity);
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
		return distance(c->count, __atomic_load_n(&h->received, __ATOMIC_RELAXED), limit);
	return distance(__atomic_load_n(&h->sent, __ATOMIC_RELAXED), c->count, limit);
}

static int read_u64(struct shmx_region *r, size_t off, uint64_t *v)
{
	ssize_t n = shmx_read(r, off, v, sizeof(*v));

	/* Short, or past the end (-ERANGE): truncated since we checked. */
	if (n == (ssize_t)sizeof(*v))
		return 0;
	return n < 0 && n != -ERANGE ? (int)n : -EBADMSG;
}

/* Indices one at a time, tail first: head only grows, so head >= tail
 * holds for a live channel even while both sides run. */
static int stat_indices(struct shmx_region *r, const struct shmx__chan_geom *g,
			struct shmx_chan_info *info)
{
	uint64_t head, tail;
	ssize_t n;
	int err;

	err = read_u64(r, offsetof(struct shmx__chan_hdr, tail), &tail);
	if (!err)
		err = read_u64(r, offsetof(struct shmx__chan_hdr, head), &head);
	if (err)
		return err;
	n = distance(head, tail, g->capacity);
	if (n < 0 || ((head | tail) & (SHMX__CHAN_ALIGN - 1)))
		n = -EBADMSG;
	if (n < 0)
		return (int)n;
	info->used = (uint64_t)n;
	return 0;
}

static int stat_fill(struct shmx_region *r, struct shmx_chan_info *info)
{
	struct shmx__chan_hdr h;
	struct shmx__chan_geom g;
	struct stat st;
	unsigned slot;
	int err, held;

	if (fstat(shmx_fd(r), &st) < 0)
		return -errno;
	if (unpublished(st.st_mode))
		return -EAGAIN;
	if (shmx_read(r, 0, &h, sizeof(h)) != (ssize_t)sizeof(h))
		return -EBADMSG;
	err = shmx__chan_validate(&h, (uint64_t)st.st_size, &g);
	if (!err)
		err = stat_indices(r, &g, info);
	if (err)
		return err;
	info->abi = h.abi;
	info->header_size = h.header_size;
	info->capacity = g.capacity;
	info->max_msg = g.max_msg;
	info->sent = h.sent;
	info->received = h.received;
	info->producer_pid = h.producer_pid;
	info->consumer_pid = h.consumer_pid;
	for (slot = SHMX_SLOT_OWNER; slot <= SHMX_SLOT_READER; slot++) {
		held = shmx__slot_held(shmx_fd(r), slot);
		if (held < 0)
			return held;
		info->holders |= held ? 1u << slot : 0;
	}
	return 0;
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

SHMX_EXPORT int shmx_chan_stat(const char *name, struct shmx_chan_info *info)
{
	struct shmx_chan_info tmp;
	struct shmx_region *r;
	int err;

	if (!info)
		return -EINVAL;
	err = classify(name, shmx_open(name, SHMX_RDONLY, &r));
	if (err)
		return err == -ENODATA ? -EAGAIN : err;
	memset(&tmp, 0, sizeof(tmp));
	err = stat_fill(r, &tmp);
	shmx_close(r);
	if (!err)
		*info = tmp;
	return err;
}
