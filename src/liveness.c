/* SPDX-License-Identifier: MIT */
/* Liveness slots: each participant holds an OFD write lock on one byte of
 * an open file description of its own; the kernel drops it however the
 * process dies (shmx(7), CONTRACTS). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

int shmx__slot_held(int fd, unsigned slot)
{
	struct flock fl;
	int err = slot_lk(fd, F_OFD_GETLK, F_WRLCK, slot, &fl);

	return err < 0 ? err : fl.l_type != F_UNLCK;
}


/* A second open file description of r's object. OFD locks belong to the
 * description, so a lock taken through it is independent of r's own fd and of
 * any other handle on r (a dup() would share them). Through /proc, because
 * the name may be gone or taken by another object by now; a dup where /proc
 * is not mounted. */
int shmx__reopen(const struct shmx_region *r)
{
	char self[64];
	int fd;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", r->fd);
	fd = open(self, ((r->flags & SHMX_RDONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

