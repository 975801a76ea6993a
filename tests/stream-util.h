/* SPDX-License-Identifier: MIT */
/* What the shmx send / shmx recv tests share: the two modes every test runs
 * in, the command lines, the pair mode's frame. */
#ifndef SHMX_STREAM_UTIL_H
#define SHMX_STREAM_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

#define TIMEOUT_S  "3000"       /* --timeout of both sides in these tests */
#define TIMEOUT_MS 3000
#define WAIT_MS    10000        /* deadline for a process to end */

/* The mode a test runs in: its cmocka state. */
struct mode {
	const char *opt;        /* NULL (channel) or "--pair" */
};

extern struct mode chan_mode, pair_mode;

/* Each test twice, named after its mode. */
#define T(f) \
	{ #f " (channel)", f, NULL, tu_teardown, &chan_mode }, \
	{ #f " (--pair)", f, NULL, tu_teardown, &pair_mode }

/* The pair mode's frame, as shmx(1) documents it. */
struct frame {
	uint32_t len;
	uint32_t flags;
	unsigned char data[];
};
#define FRAME_END 1u

bool is_pair(void **state);

struct args {
	char *v[16];
};

/* shmx SUB NAME [--pair] [extra...] */
char **args(struct args *a, void **state, const char *sub, const char *name,
	    char *const extra[]);
/* shmx recv NAME with the tests' timeout, stdout and stderr to pipes. */
pid_t spawn_recv(void **state, const char *name, int *out, int *err);
/* The signal handler of pid for sig is installed (it has started waiting). */
void wait_handler(pid_t pid, int sig);

#endif
