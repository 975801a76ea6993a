/* SPDX-License-Identifier: MIT */
/* What the channel's files share; not installed. channel.c creates, opens
 * and closes a channel, chan-attach.c takes a slot in one and picks the
 * calls of its shape (struct shmx__chan_ops); chan-send.c and chan-recv.c
 * are the public calls that send and receive, through those; each shape
 * has a file, chan-spsc.c (one producer, block), chan-bcast.c (its
 * broadcast), chan-over.c (overwrite), chan-mprod.c and chan-multi.c
 * (several producers), over the record walk they share, chan-ring.h and
 * chan-walk.h; chan-stat.c describes a channel from outside and a
 * handle's view of its ring; chan-peers.c sees the peers by shape (the
 * room, their fates: struct shmx__chan_look, also chosen at attach);
 * chan-wait.c sleeps, wakes and polls; chan-format.c checks the shared
 * format (also for tests and fuzzers). */
#ifndef SHMX_CHAN_H
#define SHMX_CHAN_H

#include <sys/types.h>

#include "fork.h"
#include "internal.h"

#define ROLES        (SHMX_CHAN_PRODUCER | SHMX_CHAN_CONSUMER)
#define WAITS        (SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK)
#define CREATE_FLAGS (ROLES | WAITS | SHMX_UNLINK_ON_CLOSE)
#define NO_SLOT      (~0u)
#define OPEN_FLAGS   (ROLES | WAITS | SHMX_ALLOW_SHARED)
#define ANON_FLAGS   (ROLES | WAITS)

#define REC          ((uint64_t)SHMX__CHAN_REC)
#define SLICE_MS     15    /* a sleeper re-checks liveness this often */
#define SPIN_POLLS   4000  /* adaptive: polls (with pause) before sleeping */
#define SPIN_CLOCK   1024  /* pure spin: polls between clock reads */
#define SPIN_LIVE    16    /* pure spin: clock reads between liveness checks */
#define QUICK_POLLS  128   /* a consumer's polls of head before its whole path */
#define OPEN_POLL_NS 1000000L

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* The fast path's pieces, which the batch calls share with the single
 * ones: without this, a second caller makes the compiler call them out of
 * line, which costs the single calls more than the batch saves. */
#define hot_inline  inline __attribute__((always_inline))

struct shmx_chan;
struct iovec;

/* What a handle does, by the channel's shape, chosen once when it
 * attaches (shmx__chan_attach()); each table's calls read straight
 * through, with no test of the shape (chan-ring.h, chan-walk.h). The
 * public calls check the handle and call these inside the guarded section. */
struct shmx__chan_ops {
	int (*send)(struct shmx_chan *c, const void *buf, size_t len, int timeout_ms);
	ssize_t (*send_batch)(struct shmx_chan *c, const struct iovec *msgs, size_t n,
			      int timeout_ms);
	int (*reserve)(struct shmx_chan *c, size_t len, void **ptr, int timeout_ms);
	int (*commit)(struct shmx_chan *c, size_t len);
	ssize_t (*recv)(struct shmx_chan *c, void *buf, size_t size, int timeout_ms);
	ssize_t (*recv_batch)(struct shmx_chan *c, void *buf, size_t size, size_t *lens,
			      size_t max_msgs, int timeout_ms);
	ssize_t (*peek)(struct shmx_chan *c, const void **ptr, int timeout_ms);
	int (*release)(struct shmx_chan *c);
};
/* chan-spsc.c: one producer with the block policy, its one consumer, and
 * the consumers of a broadcast with one producer */
extern const struct shmx__chan_ops shmx__chan_spsc_ops;
/* chan-bcast.c: the producer of a broadcast with the block policy */
extern const struct shmx__chan_ops shmx__chan_bcast_ops;
/* chan-over.c: the overwrite policy, both sides */
extern const struct shmx__chan_ops shmx__chan_over_ops;
/* chan-mprod.c: several producers, both sides */
extern const struct shmx__chan_ops shmx__chan_mprod_ops;

/* How a handle sees its peers, by shape and role, chosen once when it
 * attaches as its ops are (chan-peers.c): what a wait settles on and a
 * producer's room, with no test of the shape. */
struct shmx__chan_look {
	/* Producers: the slowest consumer that counts, from `from` (head as
	 * we know it); dead ones are marked when reap is set. */
	int (*slowest)(struct shmx_chan *c, uint64_t from, bool reap, uint64_t *min);
	/* The peers as one: 0 (one alive, or none came yet), -EPIPE,
	 * -EOWNERDEAD, -errno. */
	int (*gone)(struct shmx_chan *c);
	/* A consumer stopped at a reserved record: 1 when its producer is
	 * gone (the record is then skipped), else 0, or -EBADMSG. */
	int (*stuck)(struct shmx_chan *c);
	/* A producer of several: 1 while another live producer's reservation
	 * is in flight (our room may wait for it), else 0. */
	int (*in_flight)(struct shmx_chan *c);
	/* A poller about to arm: the peers' state words into states[], and
	 * their processes watched (chan-wait.c); false when one alive could
	 * not be. */
	bool (*watch)(struct shmx_chan *c, uint32_t *states);
	/* shmx_chan_used(), shmx_chan_pending() (chan-stat.c) */
	ssize_t (*used)(struct shmx_chan *c);
	ssize_t (*pending)(struct shmx_chan *c);
};
/* Producers: one producer and one consumer slot, several; the same
 * overwriting; several producers and one consumer slot, several. */
extern const struct shmx__chan_look shmx__chan_look_queue;
extern const struct shmx__chan_look shmx__chan_look_bcast;
extern const struct shmx__chan_look shmx__chan_look_over_queue;
extern const struct shmx__chan_look shmx__chan_look_over_bcast;
extern const struct shmx__chan_look shmx__chan_look_mp_queue;
extern const struct shmx__chan_look shmx__chan_look_mp_bcast;
/* Consumers: of one producer, the same overwriting, of several. */
extern const struct shmx__chan_look shmx__chan_look_consumer;
extern const struct shmx__chan_look shmx__chan_look_over_consumer;
extern const struct shmx__chan_look shmx__chan_look_mp_consumer;
/* chan-wait.c: a poller watches its one peer, or each of several. */
bool shmx__chan_watch_one(struct shmx_chan *c, uint32_t *states);
bool shmx__chan_watch_each(struct shmx_chan *c, uint32_t *states);
/* chan-stat.c: bytes in use, by role and shape */
ssize_t shmx__chan_used_one(struct shmx_chan *c);
ssize_t shmx__chan_used_mp(struct shmx_chan *c);
ssize_t shmx__chan_used_over(struct shmx_chan *c);
ssize_t shmx__chan_used_cons(struct shmx_chan *c);
ssize_t shmx__chan_used_cons_over(struct shmx_chan *c);
/* chan-stat.c: messages not yet taken, by role and shape */
ssize_t shmx__chan_pending_queue(struct shmx_chan *c);
ssize_t shmx__chan_pending_bcast(struct shmx_chan *c);
ssize_t shmx__chan_pending_mp_queue(struct shmx_chan *c);
ssize_t shmx__chan_pending_mp_bcast(struct shmx_chan *c);
ssize_t shmx__chan_pending_over_queue(struct shmx_chan *c);
ssize_t shmx__chan_pending_over_bcast(struct shmx_chan *c);
ssize_t shmx__chan_pending_cons(struct shmx_chan *c);
ssize_t shmx__chan_pending_cons_over(struct shmx_chan *c);

struct shmx_chan {
	/* hot: private copies, the only geometry we trust after open */
	struct shmx__chan_hdr *hdr;
	unsigned char *ring;
	struct shmx__chan_slot *me;     /* our slot block */
	struct shmx__chan_geom g; /* capacity, mask, max_msg, slots, policy */
	const struct shmx__chan_ops *ops;
	const struct shmx__chan_look *look;
	uint64_t pos;           /* ours: producer head / consumer tail */
	uint64_t peer;          /* producer: slowest consumer seen; consumer: unused */
	uint64_t count;         /* messages we committed / released */
	uint64_t cur_off;       /* ring offset of the reserved/peeked record */
	uint64_t cur_adv;       /* consumer: peeked record's size, 0 if none */
	uint64_t cur_len;       /* reserved (+1, 0 if none) / peeked length */
	uint64_t pad;           /* producer: padding before the reserved record */
	uint64_t low;           /* overwrite producer: oldest intact record */
	uint64_t low_msgs;      /* ... and the messages before it */
	uint64_t index;         /* overwrite consumer: messages passed */
	uint64_t lost;          /* overwrite consumer: messages lost */
	uint64_t dead_at;       /* consumer: position of a dead producer's record + 1 */
	uint64_t seen;          /* consumer of one producer: head as last read */
	int error;              /* sticky -EBADMSG / -EFAULT */
	unsigned flags;
	bool multi;             /* several producer slots: reserve under the lock */
	bool bcast;             /* several consumer slots */
	bool over;              /* policy overwrite */
	bool alone;             /* the only slot of our role */
	/* cold */
	struct shmx__chan_slot *prods;  /* producer slot blocks */
	struct shmx__chan_slot *conss;  /* consumer slot blocks */
	unsigned slot;                  /* ours, in our role */
	struct shmx_region *region;     /* ours: the mapping, the slot locks */
	struct shmx_region *shared;     /* anonymous creator: the one to hand out */
	size_t map_size;
	bool owner;
	uint32_t gen;                   /* our attach generation */
	uint64_t pub;                   /* producer (one): head as last published */
	uint64_t run_end;               /* producer (several): end of the run reserved */
	struct shmx__poll *poll;        /* shmx_chan_fd(): we poll */
	struct shmx__forkable fk;       /* region's descriptor, closed in a child */
	struct shmx__kick **kicks;      /* the peers poll: how we wake each slot */
};

/* Values of the "waiting" words (data_waiting, space_waiting): a sleeper
 * on the futex, a poller armed on its descriptor (shmx_chan_fd()). */
#define WAIT_SLEEP 1u
#define WAIT_POLL  2u

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

static inline int fail(struct shmx_chan *c, int err)
{
	c->error = err;
	return err;
}

/* The checks every producer call makes first. */
static inline int producer_ok(struct shmx_chan *c, int timeout_ms)
{
	if (!c || timeout_ms < -1)
		return -EINVAL;
	if (c->error)           /* first: an inherited handle is EBADFD */
		return c->error;
	if (!is_producer(c))
		return -EBADF;
	return c->cur_len ? -EINPROGRESS : 0;
}

static inline int consumer_ok(struct shmx_chan *c, int timeout_ms)
{
	if (!c || timeout_ms < -1)
		return -EINVAL;
	if (c->error)           /* first: an inherited handle is EBADFD */
		return c->error;
	return is_producer(c) ? -EBADF : 0;
}

static inline uint64_t *word_at(const struct shmx_chan *c, uint64_t off)
{
	return (uint64_t *)(void *)(c->ring + (off & c->g.mask));
}

/* The common record, checked inline: a message of at most max_msg bytes
 * that ends before the ring does. Anything else (padding, a reserved
 * record, or a word that cannot be) goes through shmx__chan_record(),
 * which decides. Our own position is always aligned: we only ever add
 * aligned sizes to it. */
static inline bool plain_msg(const struct shmx_chan *c, uint64_t word, uint64_t *adv)
{
	uint64_t len = (uint32_t)word, size = REC + align8(len);

	if ((word >> 32) != SHMX__CHAN_TAG_MSG || len > c->g.max_msg ||
	    size > c->g.capacity - (c->pos & c->g.mask))
		return false;
	*adv = size;
	return true;
}

/* A peer can truncate the object under us at any moment. Once the caller
 * has opted in with shmx_guard_sigbus(), a SIGBUS anywhere in a section
 * (polling a word, storing an index, copying) becomes a sticky -EFAULT on
 * the handle instead of killing the process. Without the guard the cost is
 * one relaxed load. Every access to the mapping, from open to close, is
 * inside one. */
static inline int chan_fault(const struct shmx_chan *c)
{
	((struct shmx_chan *)c)->error = -EFAULT;
	return -EFAULT;
}

static inline struct shmx__chan_slot *peer_slots(const struct shmx_chan *c)
{
	return is_producer(c) ? c->conss : c->prods;
}

static inline unsigned peer_count(const struct shmx_chan *c)
{
	return is_producer(c) ? c->g.consumers : c->g.producers;
}

static inline unsigned lock_byte(bool producer, unsigned slot)
{
	return producer ? SHMX__CHAN_LOCK_PROD(slot) : SHMX__CHAN_LOCK_CONS(slot);
}

/* A broadcast consumer whose cursor holds the producers back: attached
 * or attaching, and neither closed nor found dead. */
static inline bool shmx__chan_counts(uint32_t state)
{
	return (state & (SHMX__CHAN_ATTACHED | SHMX__CHAN_JOINING)) &&
	       !(state & (SHMX__CHAN_CLOSED | SHMX__CHAN_REAPED));
}

/* The tag of a record reserved by producer slot s of generation gen. */
static inline uint32_t busy_tag(unsigned s, uint32_t gen)
{
	return SHMX__CHAN_TAG_BUSY | s << 24 | (gen & 0xffffff);
}

/* What a poller's name carries: its slot and attach generation. */
static inline uint32_t shmx__chan_poll_gen(unsigned slot, uint32_t gen)
{
	return (uint32_t)slot << 24 | (gen & 0xffffff);
}

/* r = expr, as a guarded section over c's whole mapping. */
#define ON_RING(r, c, expr) \
	SHMX__GUARDED(r, (c)->hdr, (c)->map_size, expr, chan_fault(c))

/* A public call on the ring, shmx_chan_<name>(params), which calls its
 * shape's (struct shmx__chan_ops, chosen at attach) as one guarded
 * section. Without the guard it is a jump into the shape's call; with it,
 * the section (sigsetjmp) has a frame of its own, <name>_guarded(). */
#define SHMX__CHAN_CALL(type, name, params, args)                                    \
static __attribute__((noinline)) type name##_guarded params                          \
{                                                                                    \
	type r;                                                                      \
									     \
	ON_RING(r, c, c->ops->name args);                                            \
	return r;                                                                    \
}                                                                                    \
SHMX_EXPORT type shmx_chan_##name params                                             \
{                                                                                    \
	if (!c)                                                                      \
		return -EINVAL;                                                      \
	if (likely(!shmx__guard_on()))                                               \
		return c->ops->name args;                                            \
	return name##_guarded args;                                                  \
}

/* chan-send.c: every message of a batch checked before the first is
 * sent: a bad one fails the call with nothing sent. -EINVAL for a NULL
 * message with a length (any of them: an argument, reported before the
 * handle's state, as send() does), else -EMSGSIZE for one too long. */
int shmx__chan_batch_lens_ok(const struct shmx_chan *c, const struct iovec *msgs, size_t n);

/* chan-wait.c */
void shmx__chan_kick_slow(struct shmx_chan *c, uint32_t *waiting, uint32_t *seq);

/* The header's flags word: bit 0, set by any party that cannot use
 * membarrier(2) (docs/channel-format.md, "Liveness and waiting"); bit 1,
 * sticky, a producer died attached: set by the producer that takes its
 * slot over, before its own state word hides the death, and by a
 * consumer that sees one (shmx(7), "A participant that dies"). */
#define SHMX__CHAN_FLAG_FENCES 1u
#define SHMX__CHAN_FLAG_DIED   2u
/* This process fences as the running side: it could not register for
 * membarrier (or registered in a parent before a fork, and not again). */
extern int shmx__chan_no_membarrier;

/* Whether the Dekker pairing with a sleeper takes a full fence on the
 * running side: the header's bit (a party that cannot call membarrier
 * sleeps with a fence only) or our own state. The flags word is on the
 * header's first line, which nothing writes after creation but that bit:
 * a load that hits the cache. */
static inline bool full_fences(const struct shmx_chan *c)
{
	/* Relaxed: a bit that is only ever set; read just before it is, it
	 * costs one missed fence, which the sleeper's slice covers
	 * (set_fences() in chan-wait.c). */
	return __atomic_load_n(&shmx__chan_no_membarrier, __ATOMIC_RELAXED) ||
	       (__atomic_load_n(&c->hdr->flags, __ATOMIC_RELAXED) & SHMX__CHAN_FLAG_FENCES);
}

/* After publishing an index (the producer's record word and head, the
 * consumer's tail): the peer's "asleep" flag. The sleeper stores its flag,
 * then issues membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) (sleeper_barrier()
 * in chan-wait.c), then loads our index. That call runs a full barrier on
 * every CPU that runs a registered process (every party registers when it
 * attaches), us included: our index store is either before that barrier in
 * our program order, and visible to the sleeper's load after the call, or
 * our flag load is after it, and sees the flag the sleeper stored before
 * the call. So the running side needs only the compiler's barrier here:
 * the sleeper, which is about to wait anyway, pays for the ordering. With
 * the header's fences bit set, or in a process that could not register,
 * both sides go back to the full fence (Dekker: store, fence, load on each
 * side; one of the two loads sees the other side's store). Without either,
 * a store may still sit in its CPU's store buffer while the load after it
 * is served, also on x86: both sides miss each other and the sleeper waits
 * for its slice to run out. A poller arms (WAIT_POLL) with the same store,
 * barrier and second look, and the flag it finds makes us write its
 * eventfd instead. tests/spin/chan.pml models this, store buffers, the
 * membarrier and pollers included, and catches any barrier missing. */
static inline void kick(struct shmx_chan *c, uint32_t *waiting, uint32_t *seq)
{
	if (unlikely(full_fences(c)))
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	/* Relaxed: ordered after our store by the fence above (or by the
	 * sleeper's membarrier); kick_slow()'s exchange takes it with acquire. */
	if (unlikely(__atomic_load_n(waiting, __ATOMIC_RELAXED)))
		shmx__chan_kick_slow(c, waiting, seq);
}
/* A producer died attached (SHMX__CHAN_FLAG_DIED): acquire, after the
 * state words that showed no producer left (the taker set the bit before
 * it stored its own state). */
static inline bool shmx__chan_died(const struct shmx_chan *c)
{
	return __atomic_load_n(&c->hdr->flags, __ATOMIC_ACQUIRE) & SHMX__CHAN_FLAG_DIED;
}

/* state, a producer slot's word as its last holder left it: attached and
 * neither closed nor marked is a death, kept in the header for good. */
static inline void shmx__chan_remember_death(struct shmx_chan *c, uint32_t state)
{
	if ((state & (SHMX__CHAN_ATTACHED | SHMX__CHAN_JOINING)) &&
	    !(state & (SHMX__CHAN_CLOSED | SHMX__CHAN_REAPED)) && !shmx__chan_died(c))
		__atomic_fetch_or(&c->hdr->flags, SHMX__CHAN_FLAG_DIED, __ATOMIC_SEQ_CST);
}

/* At attach: register this process for membarrier, or set the header's
 * fences bit (and fence ourselves) when it cannot be used. */
void shmx__chan_barrier_setup(struct shmx_chan *c);
/* Wake the peers polling on their descriptors (they armed with WAIT_POLL). */
void shmx__chan_poll_kick(struct shmx_chan *c);
/* chan-peers.c: what became of the holder of a slot: 1 alive, -EPIPE
 * (closed), -EOWNERDEAD (died attached), 0 (never came, or marked); *state
 * the state word it was judged by (not set for 1). */
int shmx__chan_slot_fate(struct shmx_chan *c, bool producer, unsigned s, uint32_t *state);
/* 1 when producer slot s of generation gen (from a reserved record's tag)
 * is gone: its liveness slot is free, or another attach holds it. */
int shmx__chan_prod_gone(struct shmx_chan *c, unsigned s, uint32_t gen);
/* A producer's room: the slowest consumer that counts, by our shape. */
static inline int shmx__chan_slowest(struct shmx_chan *c, uint64_t from, bool reap,
				     uint64_t *min)
{
	return c->look->slowest(c, from, reap, min);
}
/* Advance a futex word and wake its sleepers. */
void shmx__chan_bump(uint32_t *seq);
/* -EFAULT once the object shrank below our mapping. */
int shmx__chan_truncated(struct shmx_chan *c);
/* Wait until ready(c, need): 0, or -errno (-EAGAIN for a try, -ETIMEDOUT,
 * -EPIPE / -EOWNERDEAD for a peer gone with nothing left for us). */
int shmx__chan_wait(struct shmx_chan *c, ready_fn ready, uint64_t need,
		    struct deadline *d);
/* chan-send.c: one producer, 1 when need more bytes fit behind the
 * slowest consumer that counts, 0 when not (yet), -EBADMSG. */
int shmx__chan_space_ready(struct shmx_chan *c, uint64_t need);
/* chan-multi.c: the first k (returned, >= 1) of the n messages reserved
 * under the lock, from c->pos, or -errno. */
ssize_t shmx__chan_reserve_multi(struct shmx_chan *c, const struct iovec *m, size_t n,
				 struct deadline *d);
/* d's absolute time, computed on first use: 0 or -errno. */
int shmx__chan_deadline(struct deadline *d);

/* A channel not yet published: its creator keeps the mode 0 until the
 * header is complete (shmx_chan_open(3)). */
static inline bool unpublished(mode_t mode)
{
	return (mode & 07777) == 0;
}

/* head and sent as one, for a consumer that attaches (shmx__chan_read2()):
 * they change under head_seq. */
static inline void shmx__chan_set_head(struct shmx__chan_hdr *h, uint64_t head, uint64_t sent)
{
	/* Relaxed: the seqlock's only writer (one producer, or the holder of
	 * the reservation lock, acquired) reads its own value. */
	uint32_t seq = __atomic_load_n(&h->head_seq, __ATOMIC_RELAXED);

	__atomic_store_n(&h->head_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&h->sent, sent, __ATOMIC_RELAXED);
	__atomic_store_n(&h->head, head, __ATOMIC_RELEASE);
	__atomic_store_n(&h->head_seq, seq + 2, __ATOMIC_RELEASE);
}
/* chan-format.c: two words a sequence lock covers (head and sent, low and
 * low_msgs), read as one. A writer that died between the halves leaves
 * the sequence odd: after a while the values are taken as they are (the
 * caller checks them, as every shared value). */
void shmx__chan_read2(const uint32_t *seq, const uint64_t *a, const uint64_t *b,
		      uint64_t *va, uint64_t *vb);

/* channel.c: fn(c) as a guarded section, in a frame of its own: the
 * caller's locals live across no sigsetjmp. */
int shmx__chan_on_ring(struct shmx_chan *c, int (*fn)(struct shmx_chan *c));
/* chan-attach.c: take a free slot of our role and our place in the ring;
 * -EBUSY (one slot, taken), -EUSERS (all taken), -EBADMSG. */
int shmx__chan_attach(struct shmx_chan *c);

/* channel.c: err from opening name, where shm_open() refused (EACCES) or
 * the object was empty (ENODATA): -ENODATA for a channel being created,
 * -EBADMSG for an empty object that is not one. */
int shmx__chan_classify(const char *name, int err);

/* chan-format.c: how far ahead is ahead of behind, at most limit; 0 for
 * "a little behind" (see there), -EBADMSG for a value that cannot be. */
ssize_t shmx__chan_distance(uint64_t ahead, uint64_t behind, uint64_t limit);

#endif
