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
	n = shmx__chan_distance(head, tail, g->capacity);
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


SHMX_EXPORT int shmx_chan_stat(const char *name, struct shmx_chan_info *info)
{
	struct shmx_chan_info tmp;
	struct shmx_region *r;
	int err;

	if (!info)
		return -EINVAL;
	err = shmx__chan_classify(name, shmx_open(name, SHMX_RDONLY, &r));
	if (err)
		return err == -ENODATA ? -EAGAIN : err;
	memset(&tmp, 0, sizeof(tmp));
	err = stat_fill(r, &tmp);
	shmx_close(r);
	if (!err)
		*info = tmp;
	return err;
}
