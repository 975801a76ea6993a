/* SPDX-License-Identifier: MIT */
/* What the shmx tool tests share: running it (as we are, or as uid 65534)
 * with its result in R, assertions on R that print the run when they fail,
 * objects made or read directly, and names removed in teardown. */
#ifndef SHMX_CLI_UTIL_H
#define SHMX_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

extern struct tu_result R;      /* the last run */

/* Names made outside tu_name()'s reach (plain semaphores, odd names) and a
 * System V segment, removed by cli_teardown whatever happened. */
extern char extra_sem[4][300], extra_shm[4][300];
extern int sysv_id;

/* shmx(in, len, "cmd", args..., NULL): result in R, returns the exit code. */
int shmx_in(const void *in, size_t in_len, ...);
#define shmx(...) shmx_in(NULL, 0, __VA_ARGS__, NULL)
#define shmx_stdin(data, len, ...) shmx_in(data, len, __VA_ARGS__, NULL)
/* The tool as uid 65534 runs it: a copy it can reach (tu_copy_for_others). */
extern const char *nobody_shmx;
int shmx_nobody_in(const void *in, size_t in_len, ...);
#define shmx_nobody(...) shmx_nobody_in(NULL, 0, __VA_ARGS__, NULL)

/* The last run's exit status and output, as TAP comments. */
void dump_result(void);

#define assert_out_has(s)                                                        \
	do {                                                                     \
		if (!strstr(R.out, (s)))                                         \
			dump_result();                                           \
		assert_non_null(strstr(R.out, (s)));                             \
	} while (0)
#define assert_err_has(s)                                                        \
	do {                                                                     \
		if (!strstr(R.err, (s)))                                         \
			dump_result();                                           \
		assert_non_null(strstr(R.err, (s)));                             \
	} while (0)
#define assert_out_lacks(s) assert_null(strstr(R.out, (s)))
#define assert_exit(code)                                                        \
	do {                                                                     \
		if (R.exit_code != (code))                                       \
			dump_result();                                           \
		assert_int_equal(R.exit_code, (code));                           \
	} while (0)

void make_region(const char *name, size_t size, const void *data, size_t len);
void read_region(const char *name, void *buf, size_t len);
void make_sem(const char *name);
/* A pair made by libshmx, its region removed since: orphaned pair files. */
void make_orphan_pair(const char *name);
/* Keep name in slot (extra_sem or extra_shm) for the teardown. */
void remember(char slot[4][300], const char *name);
/* Bytes that differ at every offset. */
void pattern(unsigned char *p, size_t n);
/* name exists with this size and mode (shmx_stat). */
void check_created(const char *name, uint64_t size, mode_t mode);
/* The ls line of name has these KIND STATE SIZE MODE columns (size and mode
 * NULL: not checked). */
void assert_ls(const char *name, const char *kind, const char *state,
	       const char *size, const char *mode);


int cli_teardown(void **state);
#define T(f) cmocka_unit_test_teardown(f, cli_teardown)

#endif
