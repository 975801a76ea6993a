/* SPDX-License-Identifier: MIT */
/* What the shmx send / shmx recv tests share (stream-util.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "stream-util.h"

struct mode chan_mode = { NULL };
struct mode pair_mode = { "--pair" };

bool is_pair(void **state)
{
	return ((const struct mode *)*state)->opt != NULL;
}

char **args(struct args *a, void **state, const char *sub, const char *name,
	    char *const extra[])
{
	const struct mode *m = *state;
	int i = 0;

	a->v[i++] = (char *)tu_build_path("tools/shmx");
	a->v[i++] = (char *)sub;
	a->v[i++] = (char *)name;
	if (m->opt)
		a->v[i++] = (char *)m->opt;
	while (extra && *extra && i < 15)
		a->v[i++] = *extra++;
	a->v[i] = NULL;
	return a->v;
}

pid_t spawn_recv(void **state, const char *name, int *out, int *err)
{
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	struct args a;
	pid_t pid = tu_spawn(args(&a, state, "recv", name, extra), NULL, out, err);

	assert_true(pid > 0);
	return pid;
}

void wait_handler(pid_t pid, int sig)
{
	int64_t end = tu_now_ms() + WAIT_MS;
	unsigned long long caught = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	while (!(caught & (1ULL << (sig - 1))) && tu_now_ms() < end) {
		f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			sscanf(line, "SigCgt: %llx", &caught);
		fclose(f);
		if (!(caught & (1ULL << (sig - 1))))
			usleep(1000);
	}
	assert_true(caught & (1ULL << (sig - 1)));
}
