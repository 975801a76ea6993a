/* SPDX-License-Identifier: MIT */
/* The channel most users run: one producer slot, one consumer slot, the
 * block policy (shmx(7)); and the consumers of every channel with one
 * producer and the block policy (a broadcast's producer is chan-bcast.c's).
 * The producer stores a record (and the padding before it when it wraps),
 * then head, and looks whether the consumer sleeps; the consumer polls the
 * word at its position, copies, stores its tail and looks whether the
 * producer sleeps (kick() in chan.h). The walk itself is chan-ring.h's
 * and chan-walk.h's, shared by every shape; waiting is chan-wait.c's. */
#define _GNU_SOURCE

#include "chan-walk.h"

/* head and sent as the consumer and stat read them; then the kick. sent
 * is for display: the release of head orders it, and the consumer finds
 * data by the record words (head is only a hint to one that caught up:
 * head_past() in chan-walk.h). */
static hot_inline void spsc_publish(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;

	__atomic_store_n(&h->sent, c->count, __ATOMIC_RELAXED);
	__atomic_store_n(&h->head, c->pos, __ATOMIC_RELEASE);
	c->pub = c->pos;
	kick(c, &h->data_waiting, &h->data_seq);
}

SHMX__CHAN_BLOCK_PRODUCER(spsc, spsc_publish);
SHMX__CHAN_SHAPE(spsc, spsc_prod, plain_cons);
