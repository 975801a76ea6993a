/* SPDX-License-Identifier: MIT */
/* What the semaphore pair tests share. */
#ifndef SHMX_PAIR_UTIL_H
#define SHMX_PAIR_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"

/* What a failed call must leave in its output parameter. */
#define SENTINEL ((struct shmx_pair *)0x1)

/* name's region of 8192 bytes, mapped: created, or opened. */
struct shmx_region *region(const char *name, bool create);
/* Who holds name's roles now: the slots of its control object (shmx_stat
 * of "name.shmx-p"; 0 without one). The region itself holds none. */
uint32_t holders(const char *name);

/* shmx_pair_wait(p, timeout_ms) in a thread of ours, judged within
 * limit_ms: its result, or TU_TIMED_OUT (the thread is then left in its
 * wait; the test fails). For a wait that may never return: a child cannot
 * run it, since a handle a child inherits answers -EBADFD there (shmx(7),
 * KINDS). */
int wait_within(struct shmx_pair *p, int timeout_ms, int limit_ms);

#endif
