/* SPDX-License-Identifier: MIT */
/* The consumer's public calls: each checks the handle and calls its
 * shape's (struct shmx__chan_ops, chosen at attach) inside one guarded
 * section. The shapes are chan-spsc.c, chan-bcast.c, chan-over.c and
 * chan-mprod.c; the record walk they share is chan-ring.h and chan-walk.h. */
#define _GNU_SOURCE
#include <sys/uio.h>

#include "chan.h"

/* ---- the public calls that touch the ring (each one guarded section) ---- */

SHMX__CHAN_CALL(ssize_t, recv, (struct shmx_chan *c, void *buf, size_t size, int timeout_ms),
		(c, buf, size, timeout_ms))
SHMX__CHAN_CALL(ssize_t, recv_batch,
		(struct shmx_chan *c, void *buf, size_t size, size_t *lens, size_t max_msgs,
		 int timeout_ms),
		(c, buf, size, lens, max_msgs, timeout_ms))
SHMX__CHAN_CALL(ssize_t, peek, (struct shmx_chan *c, const void **ptr, int timeout_ms),
		(c, ptr, timeout_ms))
SHMX__CHAN_CALL(int, release, (struct shmx_chan *c), (c))
