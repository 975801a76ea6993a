/* SPDX-License-Identifier: MIT */
/* Taking a slot in a channel: the first free one of our role, and where
 * we start in it: a producer from the published head (after what a dead
 * predecessor left), a queue's consumer from its slot's cursor, a
 * broadcast consumer from head (docs/channel-format.md). */
#define _GNU_SOURCE
#include <unistd.h>

#include "chan.h"

/* A producer that died between storing a record's word and its head left
 * records the consumer may already have read: continue after them. */
static int skip_unpublished(struct shmx_chan *c)
{
	uint64_t word, adv;
	int64_t len;

	while ((word = __atomic_load_n(word_at(c, c->pos), __ATOMIC_ACQUIRE))) {
		if (shmx__chan_record(&c->g, c->pos, word, &adv, &len) || len == -2 ||
		    (int64_t)(c->pos + adv + REC - c->peer) > (int64_t)c->g.capacity)
			return -EBADMSG;
		c->pos += adv;
		c->count += len >= 0;
	}
	/* The consumer cannot have read past the last record. */
	return (int64_t)(c->pos - c->peer) < 0 ? -EBADMSG : 0;
}

/* One producer starts from the published head, which a previous holder
 * of its slot (closed or dead) left behind, untrusted like any shared
 * value; overwriting, also from low. */
static int producer_indices(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint64_t head, sent;
	int err;

	if (c->multi) {
		/* Only the lock's holder changes head and sent; one that died
		 * changing them left head_seq odd for whoever takes the lock
		 * over (repair_head() in chan-multi.c), which we leave alone.
		 * The room is looked up at the first reservation: a ring
		 * behind forces it. */
		head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
		if (head & (SHMX__CHAN_ALIGN - 1))
			return -EBADMSG;
		c->pos = c->pub = head;
		c->peer = head - c->g.capacity;
		/* A dead predecessor's reservation is gone with it. Relaxed,
		 * here and for our slot's words below: the slot is ours (its
		 * lock), and a predecessor's stores were all visible once its
		 * lock was free (a system call, and it is gone). */
		__atomic_store_n(&c->me->resv, 0, __ATOMIC_RELAXED);
		c->count = __atomic_load_n(&c->me->count, __ATOMIC_RELAXED);
		return 0;
	}
	/* Relaxed: one producer, so its only writer was a predecessor in our
	 * slot, gone; read2() then reads the words under it properly. */
	if (__atomic_load_n(&h->head_seq, __ATOMIC_RELAXED) & 1)   /* died updating */
		__atomic_fetch_add(&h->head_seq, 1, __ATOMIC_RELAXED);
	shmx__chan_read2(&h->head_seq, &h->head, &h->sent, &head, &sent);
	if (head & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	c->pos = c->pub = head;
	c->count = sent;
	if (c->over) {
		if (__atomic_load_n(&h->low_seq, __ATOMIC_RELAXED) & 1)
			__atomic_fetch_add(&h->low_seq, 1, __ATOMIC_RELAXED);
		shmx__chan_read2(&h->low_seq, &h->low, &h->low_msgs, &c->low, &c->low_msgs);
		if ((c->low & (SHMX__CHAN_ALIGN - 1)) || head - c->low > c->g.capacity)
			return -EBADMSG;
		c->peer = c->low;
	} else {
		err = shmx__chan_slowest(c, head, false, &c->peer);
		if (err)
			return err;
	}
	err = skip_unpublished(c);
	if (!err && c->pos != head)
		shmx__chan_set_head(h, c->pos, c->count);
	c->pub = c->pos;
	return err;
}

/* A queue's consumer continues where its slot's previous holder left. */
static int queue_indices(struct shmx_chan *c)
{
	struct shmx__chan_slot *me = c->me;
	uint64_t head = __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);

	c->pos = __atomic_load_n(&me->pos, __ATOMIC_ACQUIRE);
	if (((c->pos | head) & (SHMX__CHAN_ALIGN - 1)) ||
	    (!c->over && shmx__chan_distance(head, c->pos, c->g.capacity) < 0))
		return -EBADMSG;
	/* Relaxed: our slot's counters, its last holder gone (see above). */
	c->count = __atomic_load_n(&me->count, __ATOMIC_RELAXED);
	c->index = __atomic_load_n(&me->index, __ATOMIC_RELAXED);
	c->lost = __atomic_load_n(&me->lost, __ATOMIC_RELAXED);
	/* What was lost was passed; shmx_chan_lost() returns it as ssize_t. */
	if (c->lost > c->index || (int64_t)c->index < 0)
		return -EBADMSG;
	return 0;
}

/* A broadcast consumer starts at head: cursor and "attached" stored,
 * then a full fence, then head read again. A producer computing its room
 * (shmx__chan_slowest()) fences before it reads the cursors: either it
 * sees ours, or we see a head at least as new as the one it counted from,
 * so nothing we start at is written over before we read it. */
static void start_at_head(struct shmx_chan *c, uint32_t gen)
{
	struct shmx__chan_hdr *h = c->hdr;
	struct shmx__chan_slot *me = c->me;
	uint64_t head, sent;

	shmx__chan_read2(&h->head_seq, &h->head, &h->sent, &head, &sent);
	/* Release: a producer that reads this cursor then reads our state
	 * word at least as new as the one attach_shared() cleared (read_slot()
	 * in chan-peers.c). */
	__atomic_store_n(&me->pos, head, __ATOMIC_RELEASE);
	__atomic_store_n(&me->count, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&me->lost, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&me->index, sent, __ATOMIC_RELAXED);
	__atomic_store_n(&me->state, gen << 8 | SHMX__CHAN_JOINING, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	shmx__chan_read2(&h->head_seq, &h->head, &h->sent, &head, &sent);
	c->pos = head & ~(uint64_t)(SHMX__CHAN_ALIGN - 1);
	c->index = sent;
	c->count = c->lost = 0;
	__atomic_store_n(&me->index, sent, __ATOMIC_RELAXED);
	__atomic_store_n(&me->pos, c->pos, __ATOMIC_RELEASE);
	/* Only now "attached" (shmx_chan_peers()): whoever waits for us to
	 * show up before it sends finds our cursor in place. */
	__atomic_store_n(&me->state, gen << 8 | SHMX__CHAN_ATTACHED, __ATOMIC_RELEASE);
}

/* The header's part of attaching: our indices, then "attached". */
static int attach_shared(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;
	struct shmx__chan_slot *me = c->me;
	/* Relaxed: we hold the slot; only a producer reaping a dead consumer
	 * writes it besides its holder, and only the flags. */
	uint32_t gen = (__atomic_load_n(&me->state, __ATOMIC_RELAXED) >> 8) + 1;
	int err = 0;

	c->gen = gen;
	shmx__chan_barrier_setup(c);
	/* A predecessor that died attached left "attached" behind: until we
	 * store our own state the slot is not shown as anyone's. A dead
	 * producer's death is kept in the header first: once our state is
	 * stored, nothing else says it (shmx__chan_died()). */
	if (is_producer(c))
		shmx__chan_remember_death(c, __atomic_load_n(&me->state, __ATOMIC_ACQUIRE));
	__atomic_fetch_and(&me->state, ~SHMX__CHAN_ATTACHED, __ATOMIC_RELAXED);
	__atomic_store_n(&me->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&me->armed, 0, __ATOMIC_RELAXED);
	if (is_producer(c))
		err = producer_indices(c);
	else if (!c->bcast)
		err = queue_indices(c);
	if (err)
		return err;
	if (!is_producer(c) && c->bcast)
		start_at_head(c, gen);
	else
		__atomic_store_n(&me->state, gen << 8 | SHMX__CHAN_ATTACHED, __ATOMIC_RELEASE);
	/* A peer polling since before we came watches no process of ours:
	 * tell it (arm() in chan-wait.c pairs with this). */
	if (is_producer(c))
		kick(c, &h->data_waiting, &h->data_seq);
	else
		kick(c, &h->space_waiting, &h->space_seq);
	return 0;
}

/* How we see our peers, by shape and role (chan-peers.c). */
static const struct shmx__chan_look *look_of(const struct shmx_chan *c)
{
	if (!is_producer(c)) {
		if (c->multi)
			return &shmx__chan_look_mp_consumer;
		return c->over ? &shmx__chan_look_over_consumer : &shmx__chan_look_consumer;
	}
	if (c->multi)
		return c->bcast ? &shmx__chan_look_mp_bcast : &shmx__chan_look_mp_queue;
	if (c->over)
		return c->bcast ? &shmx__chan_look_over_bcast : &shmx__chan_look_over_queue;
	return c->bcast ? &shmx__chan_look_bcast : &shmx__chan_look_queue;
}

/* The calls of our shape and role, chosen here once. */
static const struct shmx__chan_ops *shape_ops(const struct shmx_chan *c)
{
	if (c->over)
		return &shmx__chan_over_ops;
	if (c->multi)
		return &shmx__chan_mprod_ops;
	return c->bcast && is_producer(c) ? &shmx__chan_bcast_ops : &shmx__chan_spsc_ops;
}

/* Take a free slot of our role (the first whose liveness lock we get) and
 * say so in the header: a peer that opens later then knows we attached,
 * and takes our free slot for a death. All slots taken: -EBUSY for a
 * channel with one slot of the role (as version 1), -EUSERS otherwise. */
int shmx__chan_attach(struct shmx_chan *c)
{
	unsigned n = is_producer(c) ? c->g.producers : c->g.consumers, s;
	int fd = shmx_fd(c->region), err = -EBUSY;

	c->multi = c->g.producers > 1;
	c->bcast = c->g.consumers > 1;
	c->over = c->g.policy == SHMX__CHAN_POLICY_OVERWRITE;
	c->ops = shape_ops(c);
	c->look = look_of(c);
	c->alone = (is_producer(c) ? c->g.producers : c->g.consumers) == 1;
	c->prods = (struct shmx__chan_slot *)(void *)((unsigned char *)c->hdr +
						       SHMX__CHAN_SLOTS_AT);
	c->conss = c->prods + c->g.producers;
	c->ring = (unsigned char *)c->hdr + c->g.header_size;
	for (s = 0; s < n; s++) {
		err = shmx__slot_lock(fd, lock_byte(is_producer(c), s));
		if (err != -EBUSY)
			break;
	}
	if (err)
		return err == -EBUSY && n > 1 ? -EUSERS : err;
	c->slot = s;
	c->me = is_producer(c) ? &c->prods[s] : &c->conss[s];
	err = shmx__chan_on_ring(c, attach_shared);
	if (err)
		shmx__slot_unlock(fd, lock_byte(is_producer(c), s));
	return err;
}
