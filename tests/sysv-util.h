/* SPDX-License-Identifier: MIT */
/* What the System V tests share: keys, ids and files a test makes, removed
 * in its teardown, and a group that fails if the SysV table holds a segment
 * afterwards that it did not hold before. */
#ifndef SHMX_SYSV_UTIL_H
#define SHMX_SYSV_UTIL_H

#include <sys/ipc.h>

#include "testutil.h"

#define SZ       8192
#define NOBODY   65534

/* A fresh key for this process, removed (if used) in teardown. */
key_t tkey(void);
/* Remove the segment of key k (if any) in teardown. */
void track_key(key_t k);
/* Remove the segment id in teardown. */
void track_id(int id);
/* Remove this file or directory under /tmp in teardown (files first). */
const char *track_path(const char *path);
/* The segment's IPC_STAT metadata; fails the test if there is none. */
struct shmx_sysv_info sinfo(int id);

int sysv_teardown(void **state);
int sysv_group_setup(void **state);
int sysv_group_teardown(void **state);

/* Every test removes what it made, whatever happened. */
#define T(fn) cmocka_unit_test_teardown(fn, sysv_teardown)

#endif
