/* SPDX-License-Identifier: MIT */
/* What /proc tells a test about another process (proc-util.h). */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc-util.h"
#include "testutil.h"

char tu_proc_state(pid_t pid)
{
	char path[64], line[512], *p = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f))
		p = strrchr(line, ')');         /* the name may hold anything */
	if (f)
		fclose(f);
	return p && p[1] && p[2] ? p[2] : '?';
}

/* Whether stopped pid is inside FUTEX_WAIT_BITSET on all bits: its
 * /proc/PID/syscall shows the call's arguments, the operation second and
 * the bitset sixth, whatever the system call's number (under qemu-user it
 * is the host's, not the one the test was built with). */
static bool in_futex_wait(pid_t pid)
{
	unsigned long a[6] = { 0 };
	char path[64], line[256];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f))
		in = sscanf(line, "%*s %lx %lx %lx %lx %lx %lx", &a[0], &a[1], &a[2], &a[3],
			    &a[4], &a[5]) == 6 &&
		     a[1] == FUTEX_WAIT_BITSET && (uint32_t)a[5] == FUTEX_BITSET_MATCH_ANY;
	if (f)
		fclose(f);
	return in;
}

/* Stopped elsewhere (between two sleeps) it goes on, and we look again a
 * millisecond later: a sleep lasts a slice, the time between two far less. */
bool tu_stop_in_futex_wait(pid_t pid, const uint32_t *flag, int timeout_ms)
{
	int64_t end = tu_now_ms() + timeout_ms;

	while (tu_now_ms() < end) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE) && kill(pid, SIGSTOP) == 0) {
			while (tu_proc_state(pid) != 'T' && tu_now_ms() < end)
				usleep(100);
			if (in_futex_wait(pid))
				return true;
			kill(pid, SIGCONT);
		}
		usleep(1000);
	}
	return false;
}
