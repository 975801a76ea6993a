/* SPDX-License-Identifier: MIT */
/* shmx-bridge: what the bridge reads of a local channel from outside its
 * handle: the channel's incarnation, and a slot's message count, which the
 * channel keeps with each commit and release (shmx_chan_peers(3)). */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <sys/stat.h>

/* The object's inode: a channel created again under the same name is
 * another one, whose counts start again at zero. */
int br_chan_epoch(struct shmx_chan *c, uint64_t *epoch)
{
	struct stat st;
	int fd = shmx_fd(shmx_chan_region(c));

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	*epoch = ((uint64_t)st.st_dev << 40) ^ (uint64_t)st.st_ino;
	return 0;
}

int br_chan_count(const char *name, unsigned role, int slot, uint64_t *count,
		  uint32_t *generation)
{
	struct shmx_chan_peer p[2 * SHMX_CHAN_MAX_PEERS];
	int n = shmx_chan_peers(name, p, 2 * SHMX_CHAN_MAX_PEERS);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (p[i].role != role || p[i].slot != (uint32_t)slot)
			continue;
		*count = p[i].count;
		if (generation)
			*generation = p[i].generation;
		return 0;
	}
	return -ENOENT;
}
