/* SPDX-License-Identifier: MIT */
/* The producer's public calls: each checks the handle and calls its
 * shape's (struct shmx__chan_ops, chosen at attach) inside one guarded
 * section; and what the producers of more than one shape share out of
 * line. The shapes are chan-spsc.c, chan-bcast.c, chan-over.c and
 * chan-mprod.c; the record walk they share is chan-ring.h and chan-walk.h. */
#define _GNU_SOURCE
#include <sys/uio.h>

#include "chan.h"

/* One producer: 1 when need more bytes (and the zero word after them)
 * fit behind the slowest consumer that counts, 0 when not (yet),
 * -EBADMSG for a cursor that cannot be. From head as we published it
 * (several producers look from the current head: chan-multi.c). */
int shmx__chan_space_ready(struct shmx_chan *c, uint64_t need)
{
	uint64_t min;
	int err = shmx__chan_slowest(c, c->pub, false, &min);

	if (err)
		return fail(c, err);
	c->peer = min;
	return c->pos + need + REC - min <= c->g.capacity;
}

int shmx__chan_batch_lens_ok(const struct shmx_chan *c, const struct iovec *msgs, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		if (!msgs[i].iov_base && msgs[i].iov_len)
			return -EINVAL;
		if (msgs[i].iov_len > c->g.max_msg)
			err = -EMSGSIZE;
	}
	return err;
}

/* ---- the public calls that touch the ring (each one guarded section) ---- */

SHMX__CHAN_CALL(int, send, (struct shmx_chan *c, const void *buf, size_t len, int timeout_ms),
		(c, buf, len, timeout_ms))
SHMX__CHAN_CALL(ssize_t, send_batch,
		(struct shmx_chan *c, const struct iovec *msgs, size_t n, int timeout_ms),
		(c, msgs, n, timeout_ms))
SHMX__CHAN_CALL(int, reserve, (struct shmx_chan *c, size_t len, void **ptr, int timeout_ms),
		(c, len, ptr, timeout_ms))
SHMX__CHAN_CALL(int, commit, (struct shmx_chan *c, size_t len), (c, len))
