/* SPDX-License-Identifier: MIT */
/* The consumer's public calls: each checks the handle and calls its
 * shape's (struct shmx__chan_ops, chosen at attach) inside one guarded
 * section. The shapes are chan-spsc.c, chan-bcast.c, chan-over.c and
 * chan-mprod.c; the record walk they share is chan-ring.h. */
#define _GNU_SOURCE
#include <sys/uio.h>

#include "chan.h"

/* ---- the public calls that touch the ring (each one guarded section) ---- */

SHMX_EXPORT ssize_t shmx_chan_recv(struct shmx_chan *c, void *buf, size_t size,
				   int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->recv(c, buf, size, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_recv_batch(struct shmx_chan *c, void *buf, size_t size,
				     size_t *lens, size_t max_msgs, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->recv_batch(c, buf, size, lens, max_msgs, timeout_ms));
	return r;
}

SHMX_EXPORT ssize_t shmx_chan_peek(struct shmx_chan *c, const void **ptr, int timeout_ms)
{
	ssize_t r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->peek(c, ptr, timeout_ms));
	return r;
}

SHMX_EXPORT int shmx_chan_release(struct shmx_chan *c)
{
	int r;

	if (!c)
		return -EINVAL;
	ON_RING(r, c, c->ops->release(c));
	return r;
}
