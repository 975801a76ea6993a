/* SPDX-License-Identifier: MIT */
/* A broadcast with one producer and the block policy (shmx(7), "Queue or
 * broadcast"): the producer's room is behind the slowest consumer that
 * counts (bcast_slowest() in chan-peers.c), and head and sent change
 * as one (publish_as_one()), for a consumer that attaches at head
 * (start_at_head() in chan-attach.c). Its consumers walk the ring as a
 * queue's (chan-walk.h). */
#define _GNU_SOURCE

#include "chan-walk.h"

SHMX__CHAN_BLOCK_PRODUCER(bcast, publish_as_one);
SHMX__CHAN_SHAPE(bcast, bcast_prod, plain_cons);
