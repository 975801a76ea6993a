/* SPDX-License-Identifier: MIT */
/* shmx_chan_stat(): a channel described from outside, without attaching
 * and without mapping it: the header read with pread, checked as an opener
 * checks it, the indices read one at a time. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/stat.h>

#include "chan.h"

static int read_u64(struct shmx_region *r, size_t off, uint64_t *v)
{
	ssize_t n = shmx_read(r, off, v, sizeof(*v));

	/* Short, or past the end (-ERANGE): truncated since we checked. */
	if (n == (ssize_t)sizeof(*v))
		return 0;
	return n < 0 && n != -ERANGE ? (int)n : -EBADMSG;
}

static int read_u32(struct shmx_region *r, size_t off, uint32_t *v)
{
	ssize_t n = shmx_read(r, off, v, sizeof(*v));

	if (n == (ssize_t)sizeof(*v))
		return 0;
	return n < 0 && n != -ERANGE ? (int)n : -EBADMSG;
}

/* The header read with pread, checked as an opener checks it. */
static int stat_header(struct shmx_region *r, struct shmx__chan_hdr *h,
		       struct shmx__chan_geom *g)
{
	struct stat st;

	if (fstat(shmx_fd(r), &st) < 0)
		return -errno;
	if (unpublished(st.st_mode))
		return -EAGAIN;
	if (shmx_read(r, 0, h, sizeof(*h)) != (ssize_t)sizeof(*h))
		return -EBADMSG;
	return shmx__chan_validate(h, (uint64_t)st.st_size, g);
}

static size_t slot_off(const struct shmx__chan_geom *g, bool producer, unsigned s)
{
	return SHMX__CHAN_SLOTS_AT + SHMX__CHAN_SLOT_SIZE * (producer ? s : g->producers + s);
}

/* The slot's state word and whether its liveness lock is held, read
 * around the lock test (as slot_fate() in chan-wait.c): a holder closing
 * in between (state "closed", then the lock freed) must not pass for one
 * that died attached with a word read only before the test, nor a new
 * holder for the old one with a word read only after it. A word that
 * keeps changing is a holder coming and going: held, for this look. */
static int slot_word(struct shmx_region *r, size_t at, unsigned lock, uint32_t *state)
{
	uint32_t again;
	int err, held = 1;

	for (int tries = 0; tries < 4; tries++) {
		err = read_u32(r, at, state);
		if (err)
			return err;
		held = shmx__slot_held(shmx_fd(r), lock);
		if (held < 0)
			return held;
		err = read_u32(r, at, &again);
		if (err)
			return err;
		if (again == *state)
			return held;
	}
	return 1;
}

#define LAG_TRIES 8     /* looks at a cursor and head that keep moving */

/* A consumer's lag behind head (*lag, shmx__chan_distance(): negative for
 * a pair that cannot be). Both move while we read them: the consumer may
 * be a record ahead of a head read before its cursor, and a cursor read a
 * moment before head may be more than a ring behind it (the stream ran on
 * between the two reads, as a look that is preempted lets it, on a small
 * ring). So a pair that cannot be is read again, cursor then head, and
 * judged only once head stood still around the cursor's read; one that
 * never does (a look preempted every time) is taken as a full ring, never
 * as corrupt: what moves is alive. test-peers-race. */
static int consumer_lag(struct shmx_region *r, const struct shmx__chan_geom *g,
			size_t pos_at, uint64_t head, uint64_t *pos, ssize_t *lag)
{
	uint64_t again;
	int err;

	*lag = shmx__chan_distance(head, *pos, g->capacity);
	for (int tries = 0; *lag < 0 && tries < LAG_TRIES; tries++) {
		err = read_u64(r, pos_at, pos);
		if (!err)
			err = read_u64(r, offsetof(struct shmx__chan_hdr, head), &again);
		if (err)
			return err;
		*lag = shmx__chan_distance(again, *pos, g->capacity);
		if (again == head)
			return 0;
		head = again;
	}
	if (*lag < 0)
		*lag = (ssize_t)g->capacity;
	return 0;
}

/* One slot, read field by field (each could change under us), with what
 * its liveness lock says. */
static int stat_slot(struct shmx_region *r, const struct shmx__chan_geom *g, bool producer,
		     unsigned s, uint64_t head, struct shmx_chan_peer *p)
{
	size_t off = slot_off(g, producer, s);
	/* A lone producer's count is sent: it does not store it twice. */
	size_t count = producer && g->producers == 1 ? offsetof(struct shmx__chan_hdr, sent)
						     : off + offsetof(struct shmx__chan_slot, count);
	uint32_t state;
	int32_t pid;
	uint64_t pos = 0;
	int err, held;

	held = slot_word(r, off + offsetof(struct shmx__chan_slot, state),
			 producer ? SHMX__CHAN_LOCK_PROD(s) : SHMX__CHAN_LOCK_CONS(s), &state);
	if (held < 0)
		return held;
	err = read_u32(r, off + offsetof(struct shmx__chan_slot, pid), (uint32_t *)&pid);
	if (!err)
		err = read_u64(r, count, &p->count);
	if (!err && !producer)
		err = read_u64(r, off + offsetof(struct shmx__chan_slot, lost), &p->lost);
	if (!err && !producer)
		err = read_u64(r, off + offsetof(struct shmx__chan_slot, pos), &pos);
	if (err)
		return err;
	p->role = producer ? SHMX_CHAN_PRODUCER : SHMX_CHAN_CONSUMER;
	p->slot = s;
	p->pid = pid;
	p->generation = state >> 8;
	/* Held is not enough: a holder still attaching (a broadcast consumer
	 * placing its cursor) may not receive what is sent now; the state
	 * word says "attached" only once it is done. */
	if (held && (state & SHMX__CHAN_ATTACHED) &&
	    !(state & (SHMX__CHAN_CLOSED | SHMX__CHAN_REAPED)))
		p->state = SHMX_PEER_ATTACHED;
	else if (state & SHMX__CHAN_CLOSED)
		p->state = SHMX_PEER_CLOSED;
	else if (!held && (state & (SHMX__CHAN_ATTACHED | SHMX__CHAN_JOINING)))
		p->state = SHMX_PEER_DEAD;
	else
		p->state = SHMX_PEER_FREE;
	/* A broadcast slot whose holder closed, died and was reaped, or never
	 * came keeps whatever cursor it had, any number of rings behind head
	 * by now: it does not count, and has no lag (nor does one joining). */
	if (!producer && g->consumers > 1 &&
	    (!shmx__chan_counts(state) || !(state & SHMX__CHAN_ATTACHED)))
		return 0;
	if (!producer) {
		ssize_t lag;

		err = consumer_lag(r, g, off + offsetof(struct shmx__chan_slot, pos), head,
				   &pos, &lag);
		if (err)
			return err;
		if ((pos & (SHMX__CHAN_ALIGN - 1)) ||
		    (lag < 0 && g->policy != SHMX__CHAN_POLICY_OVERWRITE))
			return -EBADMSG;
		p->lag = lag < 0 ? g->capacity : (uint64_t)lag;
	}
	return 0;
}

static bool counts(const struct shmx__chan_geom *g, const struct shmx_chan_peer *p)
{
	return g->consumers == 1 || p->state == SHMX_PEER_ATTACHED;
}

static int stat_fill(struct shmx_region *r, struct shmx_chan_info *info)
{
	struct shmx__chan_hdr h;
	struct shmx__chan_geom g;
	struct shmx_chan_peer p;
	uint64_t head;
	unsigned slot;
	int err;

	err = stat_header(r, &h, &g);
	if (!err)
		err = read_u64(r, offsetof(struct shmx__chan_hdr, head), &head);
	if (err)
		return err;
	if (head & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	info->abi = h.abi;
	info->header_size = h.header_size;
	info->capacity = g.capacity;
	info->max_msg = g.max_msg;
	info->sent = h.sent;
	info->policy = g.policy;
	info->producers = g.producers;
	info->consumers = g.consumers;
	for (slot = 0; slot < g.consumers; slot++) {
		memset(&p, 0, sizeof(p));
		err = stat_slot(r, &g, false, slot, head, &p);
		if (err)
			return err;
		if (!slot) {
			info->received = p.count;
			info->consumer_pid = p.pid;
		}
		info->lost += p.lost;
		if (counts(&g, &p) && p.lag > info->used)
			info->used = p.lag;
	}
	err = read_u32(r, slot_off(&g, true, 0) + offsetof(struct shmx__chan_slot, pid),
		       (uint32_t *)&info->producer_pid);
	if (err)
		return err;
	return shmx__holders(shmx_fd(r), &info->holders);
}

static int open_stat(const char *name, struct shmx_region **r)
{
	int err = shmx__chan_classify(name, shmx_open(name, SHMX_RDONLY, r));

	return err == -ENODATA ? -EAGAIN : err;
}

SHMX_EXPORT int shmx_chan_stat(const char *name, struct shmx_chan_info *info)
{
	struct shmx_chan_info tmp;
	struct shmx_region *r;
	int err;

	if (!info)
		return -EINVAL;
	err = open_stat(name, &r);
	if (err)
		return err;
	memset(&tmp, 0, sizeof(tmp));
	err = stat_fill(r, &tmp);
	shmx_close(r);
	if (!err)
		*info = tmp;
	return err;
}

static int peers_fill(struct shmx_region *r, struct shmx_chan_peer *peers, size_t n)
{
	struct shmx__chan_hdr h;
	struct shmx__chan_geom g;
	uint64_t head;
	unsigned i, total;
	int err = stat_header(r, &h, &g);

	if (!err)
		err = read_u64(r, offsetof(struct shmx__chan_hdr, head), &head);
	if (err)
		return err;
	total = g.producers + g.consumers;
	for (i = 0; i < total && i < n; i++) {
		memset(&peers[i], 0, sizeof(peers[i]));
		err = stat_slot(r, &g, i < g.producers, i < g.producers ? i : i - g.producers,
				head, &peers[i]);
		if (err)
			return err;
	}
	return (int)total;
}

SHMX_EXPORT int shmx_chan_peers(const char *name, struct shmx_chan_peer *peers, size_t n)
{
	struct shmx_region *r;
	int err;

	if (!peers && n)
		return -EINVAL;
	err = open_stat(name, &r);
	if (err)
		return err;
	err = peers_fill(r, peers, n);
	shmx_close(r);
	return err;
}

SHMX_EXPORT ssize_t shmx_chan_lost(const struct shmx_chan *c)
{
	if (!c)
		return -EINVAL;
	if (is_producer(c))
		return -EBADF;
	return (ssize_t)c->lost;
}

SHMX_EXPORT int shmx_chan_slot(const struct shmx_chan *c)
{
	return c ? (int)c->slot : -EINVAL;
}


/* ---- a handle's own view: geometry, bytes and messages in the ring ---- */

SHMX_EXPORT size_t shmx_chan_capacity(const struct shmx_chan *c)
{
	return c ? (size_t)c->g.capacity : 0;
}

SHMX_EXPORT size_t shmx_chan_max_msg(const struct shmx_chan *c)
{
	return c ? (size_t)c->g.max_msg : 0;
}

/* Bytes of the ring in use: from the slowest consumer that counts to
 * head as we know it (producer), or from our position to head (consumer).
 * One body per role, the shape as constants; the variants are in the
 * handle's table (struct shmx__chan_look, chan-peers.c). */
static hot_inline ssize_t producer_used(struct shmx_chan *c, const bool multi)
{
	uint64_t peer, from = multi ? __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE) : c->pub;
	uint64_t top = multi ? from : c->pos;
	int err = shmx__chan_slowest(c, from, false, &peer);

	if (err)
		return err;
	/* More than a ring behind only while a consumer joins: full. */
	if (top - peer > c->g.capacity)
		return (ssize_t)c->g.capacity;
	return shmx__chan_distance(top, peer, c->g.capacity);
}

ssize_t shmx__chan_used_one(struct shmx_chan *c)
{
	return producer_used(c, false);
}

ssize_t shmx__chan_used_mp(struct shmx_chan *c)
{
	return producer_used(c, true);
}

ssize_t shmx__chan_used_over(struct shmx_chan *c)
{
	return shmx__chan_distance(c->pos, c->low, c->g.capacity);
}

static hot_inline ssize_t consumer_used(struct shmx_chan *c, const bool over)
{
	uint64_t head = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);

	if (head & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	if (over && (int64_t)(head - c->pos) > (int64_t)c->g.capacity)
		return (ssize_t)c->g.capacity;  /* overtaken: it says so next */
	return shmx__chan_distance(head, c->pos, c->g.capacity);
}

ssize_t shmx__chan_used_cons(struct shmx_chan *c)
{
	return consumer_used(c, false);
}

ssize_t shmx__chan_used_cons_over(struct shmx_chan *c)
{
	return consumer_used(c, true);
}

/* Messages not yet taken by the slowest consumer that counts, from the
 * messages sent (ours with one producer) and each consumer's index
 * (messages it has passed). */
static hot_inline ssize_t producer_pending(struct shmx_chan *c, const bool multi,
					   const bool bcast, const bool over)
{
	uint64_t limit = c->g.capacity / REC, index = UINT64_MAX, v;
	uint64_t sent = multi ? __atomic_load_n(&c->hdr->sent, __ATOMIC_ACQUIRE) : c->count;
	unsigned j, n = bcast ? c->g.consumers : 1;
	uint32_t st;

	for (j = 0; j < n; j++) {
		st = __atomic_load_n(&c->conss[j].state, __ATOMIC_ACQUIRE);
		if (bcast && !shmx__chan_counts(st))
			continue;
		/* Relaxed: a count for display, checked as any shared value. */
		v = __atomic_load_n(&c->conss[j].index, __ATOMIC_RELAXED);
		if (index == UINT64_MAX || (int64_t)(v - index) < 0)
			index = v;
	}
	if (index == UINT64_MAX)
		return 0;
	if (over && (int64_t)(sent - index) > (int64_t)limit)
		return (ssize_t)limit;
	return shmx__chan_distance(sent, index, limit);
}

ssize_t shmx__chan_pending_queue(struct shmx_chan *c)
{
	return producer_pending(c, false, false, false);
}

ssize_t shmx__chan_pending_bcast(struct shmx_chan *c)
{
	return producer_pending(c, false, true, false);
}

ssize_t shmx__chan_pending_mp_queue(struct shmx_chan *c)
{
	return producer_pending(c, true, false, false);
}

ssize_t shmx__chan_pending_mp_bcast(struct shmx_chan *c)
{
	return producer_pending(c, true, true, false);
}

ssize_t shmx__chan_pending_over_queue(struct shmx_chan *c)
{
	return producer_pending(c, false, false, true);
}

ssize_t shmx__chan_pending_over_bcast(struct shmx_chan *c)
{
	return producer_pending(c, false, true, true);
}

static hot_inline ssize_t consumer_pending(struct shmx_chan *c, const bool over)
{
	uint64_t limit = c->g.capacity / REC;
	uint64_t sent = __atomic_load_n(&c->hdr->sent, __ATOMIC_ACQUIRE);

	if (over && (int64_t)(sent - c->index) > (int64_t)limit)
		return (ssize_t)limit;
	return shmx__chan_distance(sent, c->index, limit);
}

ssize_t shmx__chan_pending_cons(struct shmx_chan *c)
{
	return consumer_pending(c, false);
}

ssize_t shmx__chan_pending_cons_over(struct shmx_chan *c)
{
	return consumer_pending(c, true);
}

static ssize_t chan_used(struct shmx_chan *c)
{
	return c->error ? c->error : c->look->used(c);
}

static ssize_t chan_pending(struct shmx_chan *c)
{
	return c->error ? c->error : c->look->pending(c);
}

SHMX_EXPORT ssize_t shmx_chan_used(const struct shmx_chan *c)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_used((struct shmx_chan *)c));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_pending(const struct shmx_chan *c)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, chan_pending((struct shmx_chan *)c));
	return r;
}
