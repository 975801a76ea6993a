/* SPDX-License-Identifier: MIT */
/* Close-on-fork for the descriptors whose open file description holds a
 * handle's liveness locks (fork.c); not installed. */
#ifndef SHMX_FORK_H
#define SHMX_FORK_H

#include <errno.h>

/* What a handle answers in a forked child (shmx(7), "Liveness"): its
 * descriptor there is no longer the parent's. */
#define SHMX__FORKED (-EBADFD)

/* One handle's entry, inside the handle: its liveness descriptor, its
 * mapping of that descriptor's object and its sticky error word. */
struct shmx__forkable {
	struct shmx__forkable *prev, *next;
	int fd;
	void *addr;
	size_t len;
	int *error;
};

/* Watch fd, mapped at addr for len bytes, for the handle whose sticky
 * error is *error: in a child forked after this, fd is another descriptor
 * and the range private zero pages (neither refers to the parent's
 * description, which a mapping keeps alive as a descriptor does, and with
 * it the parent's locks), and *error is SHMX__FORKED. 0, or -ENOMEM /
 * -EMFILE where the first call cannot set this up. */
int shmx__fork_watch(struct shmx__forkable *f, int fd, void *addr, size_t len, int *error);
/* Stop watching (at close, in the parent or a child); safe on an entry
 * never watched (zeroed). */
void shmx__fork_unwatch(struct shmx__forkable *f);

#endif
