/* SPDX-License-Identifier: MIT */
/* What the file region tests share: a mkdtemp directory in /tmp that every
 * test works in (emptied after each test, removed at the end), failure
 * injection and stopping points through -Wl,--wrap, and children. */
#ifndef SHMX_FILE_UTIL_H
#define SHMX_FILE_UTIL_H

#include <stdbool.h>

#include "testutil.h"

#define NOBODY     65534
#define CHILD_MS   20000

extern char tmpdir[64];         /* "/tmp/shmx-test-file-XXXXXX" */

/* A fresh path tmpdir/what-N (a few buffers in turn). */
const char *fpath(const char *what);
/* Entries of dir besides "." and "..". */
int entries(const char *dir);

/* Where a child started by tu_fork_stalled() stops (tu_stall). */
enum stage { NONE, AT_RESERVE, AT_MAP, AT_FSYNC, AT_PUBLISH };

/* The wrapped calls' knobs, reset before each test. */
extern int fail_fallocate;      /* errno posix_fallocate returns, 0: none */
extern int fail_dir_fsync;      /* errno fsync of a directory gives */
extern bool no_tmpfile;         /* open(O_TMPFILE) fails as on old file systems */
extern int fsyncs;              /* fsync calls, logged: 'f' file, 'd' directory */
extern char fsync_log[8];
extern int msync_flags;         /* of the last msync, -1: none */

int file_reset(void **state);
int file_teardown(void **state);
int file_group_setup(void **state);
int file_group_teardown(void **state);

#define T(f) cmocka_unit_test_setup_teardown(f, file_reset, file_teardown)

/* Children: as uid 65534, or as we are. */
#define AS_NOBODY 1u
/* Run fn(arg) in a child (tu_fork); the test fails unless fn returns want
 * (0 or a -errno: compared by value, in the child). */
void in_child(unsigned how, int (*fn)(const char *), const char *arg, int want);
/* Whether a child can become uid 65534 (we are root). */
bool can_drop(void);

#endif
