/* SPDX-License-Identifier: MIT */
/* Liveness slots: each participant holds an OFD write lock on one byte of
 * an open file description of its own; the kernel drops it however the
 * process dies (shmx(7), CONTRACTS). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int slot_lk(int fd, int cmd, short type, unsigned slot, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = SHMX__SLOT_BASE + (off_t)slot;
	fl->l_len = 1;
	return shmx__neg(fcntl(fd, cmd, fl));
}

int shmx__slot_lock(int fd, unsigned slot)
{
	struct flock fl;
	int err = slot_lk(fd, F_OFD_SETLK, F_WRLCK, slot, &fl);

	return (err == -EAGAIN || err == -EACCES) ? -EBUSY : err;
}

int shmx__slot_unlock(int fd, unsigned slot)
{
	struct flock fl;

	return slot_lk(fd, F_OFD_SETLK, F_UNLCK, slot, &fl);
}

/* A participant holds its slot with a write lock. A read lock (anyone
 * who may read the object can take one) is nobody's liveness: it only
 * shows while no write lock is there. */
int shmx__slot_held(int fd, unsigned slot)
{
	struct flock fl;
	int err = slot_lk(fd, F_OFD_GETLK, F_WRLCK, slot, &fl);

	return err < 0 ? err : fl.l_type == F_WRLCK;
}


/* Where /proc is not mounted: the object by its name, if the name still
 * leads to it (it may be gone, or taken by another object by now). */
static int reopen_by_name(const struct shmx_region *r, int oflag)
{
	struct stat a, b;
	int fd;

	if (!r->path[0])
		return -ESTALE;
	fd = open(r->path, oflag | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	if (fstat(fd, &a) < 0 || fstat(r->fd, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* A second open file description of r's object. OFD locks belong to the
 * description, so a lock taken through it is independent of r's own fd and of
 * any other handle on r. Never a dup(): it shares the description and so its
 * locks, and one role would then take (and release) another's. Through /proc,
 * else by name; -ESTALE when neither leads to r's object. */
int shmx__reopen(const struct shmx_region *r)
{
	int oflag = ((r->flags & SHMX_RDONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	char self[64];
	int fd;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", r->fd);
	fd = open(self, oflag);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return -errno;
	return reopen_by_name(r, oflag);
}

/* Which of the first 31 slots are held, as the bits of *mask (bit 31 is
 * SHMX_HOLDERS_UNKNOWN in struct shmx_info). */
int shmx__holders(int fd, uint32_t *mask)
{
	unsigned slot;
	int held;

	for (slot = 0; slot < 31; slot++) {
		held = shmx__slot_held(fd, slot);
		if (held < 0)
			return held;
		*mask |= held ? 1u << slot : 0;
	}
	return 0;
}
