/* SPDX-License-Identifier: MIT */
/* A peer truncates one of a named pair's files (either semaphore file or
 * the control object) to 0 while we are in shmx_pair_wait, asleep or
 * spinning, or before our shmx_pair_post: under shmx_guard_sigbus() the
 * call is -EFAULT within its deadline, the handle stays failed, and the
 * process dies of nothing (shmx_pair_wait(3), shmx(7) "The turn"). The
 * truncation may land inside the C library's semaphore code and between
 * its load of the count and its futex call: a SIGBUS there, or a futex
 * EFAULT, must not be unwound through nor abort. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pair-util.h"
#include "proc-util.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define REPS     50
#define CHILD_MS 10000          /* a child's verdict; failing beats hanging */
#define WAIT_MS  5000           /* the child's wait: -EFAULT long before */

enum file { SEM_W, SEM_R, CTL };
enum when { ASLEEP, ASLEEP_STOPPED, SPINNING, BEFORE_POST };

static void path_of(char *buf, size_t len, const char *name, enum file f)
{
	static const char *const pre[] = { "sem.", "sem.", "" };
	static const char *const suf[] = { ".shmx-w", ".shmx-r", ".shmx-p" };

	snprintf(buf, len, "/dev/shm/%s%s%s", pre[f], name + 1, suf[f]);
}

/* Whether pid is inside a futex wait on a bitset (what a semaphore sleep
 * is, whoever makes it): /proc/PID/syscall gives the number, then the
 * arguments, the operation second, with or without the private and clock flags. */
static bool in_futex_wait(pid_t pid)
{
	unsigned long nr, addr, op;
	char path[64], line[256];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f))
		in = sscanf(line, "%lu %lx %lx", &nr, &addr, &op) == 3 &&
		     (op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET;
	if (f)
		fclose(f);
	return in;
}

/* Its state letter, a process that cannot be read ('?': reaped) counted
 * as a zombie. */
static char state_of(pid_t pid)
{
	char st = tu_proc_state(pid);

	return st == '?' ? 'Z' : st;
}

static void wait_for_futex_sleep(pid_t pid)
{
	int64_t end = tu_now_ms() + CHILD_MS;

	while (!in_futex_wait(pid) && state_of(pid) != 'Z' && tu_now_ms() < end)
		usleep(200);
}

/* The child: a participant under the guard. A reader waits for a turn
 * that never comes (the writer holds it); a writer takes its first turn,
 * tells the parent, and posts once the parent has truncated. */
static _Noreturn void child(const char *name, enum file f, int role, int ready, int go)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	int err;

	TU_CKEQ(shmx_guard_sigbus(), 0);
	TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
	TU_CKEQ(shmx_pair_open(r, role, &p), 0);
	if (role == W) {
		TU_CKEQ(shmx_pair_wait(p, 0), 0);
		tu_ev_post(ready);
		TU_CK(tu_ev_wait(go, CHILD_MS));
		/* A post touches the control object and the peer's semaphore,
		 * and looks at no size on its way (no fstat on the fast
		 * path): with our own semaphore file gone it may still
		 * succeed; the wait after it cannot. */
		err = shmx_pair_post(p);
		TU_CK(err == -EFAULT || (err == 0 && f == SEM_W));
	} else {
		tu_ev_post(ready);
		TU_CKEQ(shmx_pair_wait(p, WAIT_MS), -EFAULT);
	}
	/* failed for good: no call touches the files again */
	TU_CKEQ(shmx_pair_wait(p, 0), -EFAULT);
	TU_CKEQ(shmx_pair_wait(p, 100), -EFAULT);
	TU_CKEQ(shmx_pair_post(p), -EFAULT);
	shmx_pair_close(p);
	shmx_close(r);
	_exit(0);
}

static void remove_all(const char *name)
{
	char path[300];

	for (int f = SEM_W; f <= CTL; f++) {
		path_of(path, sizeof(path), name, f);
		unlink(path);
	}
	shmx_unlink(name);
}

/* The other role: made in a process of its own (under the guard too,
 * and the guard is once per process: a test process cannot hand it on to
 * its forked children), holding the turn if hold; it lives until killed. */
static pid_t peer(const char *name, int role, bool hold)
{
	int ready[2];
	pid_t pid;

	tu_ev_init(ready);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r;
		struct shmx_pair *p;

		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
		TU_CKEQ(shmx_pair_create(r, role, 0, &p), 0);
		if (hold)
			TU_CKEQ(shmx_pair_wait(p, 0), 0);
		tu_ready_forever(ready[1]);
	}
	assert_true(tu_ev_wait(ready[0], CHILD_MS));
	close(ready[0]);
	close(ready[1]);
	return pid;
}

static void one(enum file f, enum when when, unsigned rep)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	bool post = when == BEFORE_POST;
	int ready[2], go[2], code = 0;
	char path[300];
	pid_t other, pid;

	/* The peer takes the role the child does not, and holds the turn
	 * when the child is the reader (which then waits in vain). */
	other = peer(name, post ? R : W, !post);
	tu_ev_init(ready);
	tu_ev_init(go);
	pid = tu_fork();
	if (pid == 0)
		child(name, f, post ? W : R, ready[1], go[0]);
	assert_true(tu_ev_wait(ready[0], CHILD_MS));
	path_of(path, sizeof(path), name, f);
	if (when == ASLEEP || when == ASLEEP_STOPPED)
		wait_for_futex_sleep(pid);
	if (when == ASLEEP_STOPPED) {
		/* Stopped in its sleep: the futex call restarts on SIGCONT
		 * over the truncated page. */
		int64_t end = tu_now_ms() + CHILD_MS;

		kill(pid, SIGSTOP);
		while (!strchr("TZ", state_of(pid)) && tu_now_ms() < end)
			usleep(100);
	}
	if (when == SPINNING) {
		struct timespec ts = { 0, (long)(rep * 2000u % 60000u) };

		nanosleep(&ts, NULL);
	}
	assert_int_equal(truncate(path, 0), 0);
	if (when == ASLEEP_STOPPED)
		kill(pid, SIGCONT);
	tu_ev_post(go[1]);
	if (tu_child_verdict(pid, CHILD_MS, &code))
		print_message("# file %d, case %d, repetition %u: verdict %d\n", f, when, rep, code);
	tu_kill9(other, CHILD_MS);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	shmx_close(r);
	remove_all(name);
	assert_int_equal(code, 0);
}

/* Where the wait sleeps in the C library's sem_timedwait (any C library
 * but glibc on 64 bits: shmx_pair_wait(3), BUGS), a truncation under a
 * sleeper is not survived, and the sleeper is not found by its futex
 * call: the asleep cases do not apply there. */
#if defined(__GLIBC__) && ULONG_MAX > 0xffffffffUL
#define OWN_SLEEP 1
#else
#define OWN_SLEEP 0
#endif

static void reps(enum file f, enum when when)
{
	/* The post's first touch of the truncated control object is the
	 * turn word's compare-and-swap; the calls after it touch that word
	 * again. */
	if (f == CTL && when == BEFORE_POST)
		TU_SKIP_UNDER_TSAN("a truncation fault inside an atomic compare-and-swap "
				   "leaves the sanitizer's lock for that word held, and the "
				   "next atomic on it deadlocks (scripts/test.sh)");
	if (!OWN_SLEEP && (when == ASLEEP || when == ASLEEP_STOPPED)) {
		tu_skip("this C library's sem_timedwait is the sleep here, and a truncation "
			"under it is not survived (shmx_pair_wait(3), BUGS)");
		return;
	}
	for (unsigned i = 0; i < REPS; i++)
		one(f, when, i);
}

#define CASE(fn, f, when)                                                        \
	static void fn(void **state)                                             \
	{                                                                        \
		(void)state;                                                     \
		reps(f, when);                                                   \
	}

CASE(test_sem_w_truncated_while_reader_asleep, SEM_W, ASLEEP)
CASE(test_sem_r_truncated_while_reader_asleep, SEM_R, ASLEEP)
CASE(test_ctl_truncated_while_reader_asleep, CTL, ASLEEP)
CASE(test_sem_w_truncated_while_reader_stopped_asleep, SEM_W, ASLEEP_STOPPED)
CASE(test_sem_r_truncated_while_reader_stopped_asleep, SEM_R, ASLEEP_STOPPED)
CASE(test_ctl_truncated_while_reader_stopped_asleep, CTL, ASLEEP_STOPPED)
CASE(test_sem_w_truncated_while_reader_spins, SEM_W, SPINNING)
CASE(test_sem_r_truncated_while_reader_spins, SEM_R, SPINNING)
CASE(test_ctl_truncated_while_reader_spins, CTL, SPINNING)
CASE(test_sem_w_truncated_before_writer_posts, SEM_W, BEFORE_POST)
CASE(test_sem_r_truncated_before_writer_posts, SEM_R, BEFORE_POST)
CASE(test_ctl_truncated_before_writer_posts, CTL, BEFORE_POST)

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sem_w_truncated_while_reader_asleep),
		T(test_sem_r_truncated_while_reader_asleep),
		T(test_ctl_truncated_while_reader_asleep),
		T(test_sem_w_truncated_while_reader_stopped_asleep),
		T(test_sem_r_truncated_while_reader_stopped_asleep),
		T(test_ctl_truncated_while_reader_stopped_asleep),
		T(test_sem_w_truncated_while_reader_spins),
		T(test_sem_r_truncated_while_reader_spins),
		T(test_ctl_truncated_while_reader_spins),
		T(test_sem_w_truncated_before_writer_posts),
		T(test_sem_r_truncated_before_writer_posts),
		T(test_ctl_truncated_before_writer_posts),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
