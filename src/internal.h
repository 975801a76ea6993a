/* SPDX-License-Identifier: MIT */
/* What the layers of libshmx share. Not installed. */
#ifndef SHMX_INTERNAL_H
#define SHMX_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "shmx.h"

#define SHMX_EXPORT __attribute__((visibility("default")))

/* "/" + up to NAME_MAX bytes + NUL */
#define SHMX__NAME_BUF (1 + SHMX_NAME_MAX + 1)
/* glibc keeps semaphore "/x" as /dev/shm/sem.x: 4 bytes of NAME_MAX gone */
#define SHMX__SEM_NAME_MAX (SHMX_NAME_MAX - 4)

struct shmx_region {
	int fd;
	unsigned flags;
	size_t size;            /* mapped length when mapped, else last known */
	void *addr;             /* NULL when not mapped */
	char name[SHMX__NAME_BUF];
};

/* libc's -1 + errno, as -errno; anything else passes through. */
static inline int shmx__neg(int r)
{
	return r == -1 ? -errno : r;
}

/* name.c: check name and write its canonical "/name" form to out (of
 * SHMX__NAME_BUF bytes); max is the longest allowed length after the '/'. */
int shmx__name(const char *name, size_t max, char *out);

/* region.c */
int shmx__region_from_fd(int fd, const char *canon, unsigned flags,
			 struct shmx_region **ret);
/* Unlink canon only if it still names the object behind fd. */
void shmx__unlink_if_same(const char *canon, int fd);

/* Liveness slots: byte (SHMX__SLOT_BASE + slot) of the object, far past any
 * data so they never collide with locks a user takes on the bytes. */
#define SHMX__SLOT_BASE ((off_t)1 << 62)
int shmx__slot_lock(int fd, unsigned slot);   /* 0, -EBUSY if held elsewhere */
int shmx__slot_unlock(int fd, unsigned slot);
int shmx__slot_held(int fd, unsigned slot);   /* 1 held, 0 free, -errno */

/* Deadlines on CLOCK_MONOTONIC. */
int shmx__deadline(int timeout_ms, struct timespec *dl); /* -EINVAL if < -1 */
bool shmx__forever(const struct timespec *dl);
bool shmx__expired(const struct timespec *dl);
/* The earlier of dl and now + slice_ms, for waits that poll liveness. */
void shmx__slice(const struct timespec *dl, int slice_ms, struct timespec *out);

/* SIGBUS guard (region.c): run copy between guard_begin and guard_end;
 * begin returns non-zero (as -EFAULT) when a SIGBUS jumped back. */
int shmx__copy(void *dst, const void *src, size_t len);

#endif
