/* SPDX-License-Identifier: MIT */
/* Helpers shared by every libshmx test executable. */
#ifndef SHMX_TESTUTIL_H
#define SHMX_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "shmx.h"
#include "wrap-lfs.h"

/* Prefix of every object a test creates: "shmx-test-<pid>-". */
#define TU_PREFIX "shmx-test-"

/* A fresh unique name "/shmx-test-<pid>-<n>", remembered so that
 * tu_cleanup() unlinks it (and its pair semaphores) whatever happened. */
const char *tu_name(void);
/* Unlink everything tu_name() handed out; returns how many existed. */
int tu_cleanup(void);
/* Entries of /dev/shm whose name starts with prefix ("" for all). */
int tu_devshm_count(const char *prefix);
/* cmocka group setup/teardown: teardown cleans up, then fails the group
 * if /dev/shm holds anything of this process's. */
int tu_group_setup(void **state);
int tu_group_teardown(void **state);
/* Per-test teardown: tu_cleanup(). */
int tu_teardown(void **state);

/* "/dev/shm" + name ("/x"), in one of a few static buffers used in turn. */
const char *tu_shm_path(const char *name);
/* Fill p with a pattern of seed: the same seed, the same bytes. */
void tu_pattern(void *p, size_t n, unsigned seed);
/* fmt (e.g. "/dev/shm/sem.%s.shmx-w") with its one "%s" replaced by name
 * without its slash, into buf. */
void tu_devshm_path(char *buf, size_t len, const char *fmt, const char *name);
/* The permission bits of that file (not following a link); fails the test
 * if it is missing. */
mode_t tu_devshm_mode(const char *fmt, const char *name);
/* Whether /dev/shm holds name ("/x" or "x"), of any file type. */
bool tu_exists(const char *name);
/* A named semaphore "name" of value 0 as sem_open(name, O_CREAT | O_EXCL,
 * 0600, 0) makes it with glibc: the file /dev/shm/sem.<name>, the layout
 * libshmx and shmx(1) know (musl's sem_open() would make /dev/shm/<name>,
 * which is a region's name); removed by tu_sem_unlink(), 0 or -errno. */
void tu_sem_make(const char *name);
int tu_sem_unlink(const char *name);
/* Whether the semaphore name + suffix exists (/dev/shm/sem.<name><suffix>). */
bool tu_sem_exists(const char *name, const char *suffix);
/* Remove everything below dir (not dir itself), links not followed. */
void tu_empty_dir(const char *dir);
/* Descriptors open in this process now. */
int tu_count_fds(void);
/* Print text (several lines) as TAP comments under a label. */
void tu_print_lines(const char *label, const char *text);

/* Path of a built file: $SHMX_BUILD_ROOT/rel (tools/shmx, examples/writer). */
const char *tu_build_path(const char *rel);
/* Path of a source file: $SHMX_SOURCE_ROOT/rel. */
const char *tu_source_path(const char *rel);

/* Wait for pid up to timeout_ms; on timeout SIGKILL it, reap it and return
 * -ETIMEDOUT. On success *status is the waitpid status. */
int tu_waitpid(pid_t pid, int timeout_ms, int *status);

/* ---- children: one way to fork, one way to judge ---- */

/* The exit code of a child that skips (tu_child_skip), as automake's. */
#define TU_SKIP_CODE 77
/* The verdict of a child that did not finish by its deadline. */
#define TU_TIMED_OUT (-1)

/* fork() with stdout and stderr flushed (nothing printed twice) and, in the
 * child, the fatal signals cmocka and the sanitizers catch reset to their
 * defaults, so a crash is the child's own death. A child never returns
 * into cmocka: it ends with _exit(). Fails the test if fork fails. */
pid_t tu_fork(void);
/* tu_fork() and exec argv with stdin from the file path, stdout to
 * /dev/null, stderr to a pipe whose read end is *err. */
pid_t tu_spawn_input(char *const argv[], const char *path, int *err);
/* Wait for the child pid up to timeout_ms (then SIGKILL and reap it).
 * *code (if code is not NULL) is its verdict: its exit code, 128 + the
 * signal it died of, or TU_TIMED_OUT. Returns 0 if it exited 0; otherwise
 * prints how it ended as a TAP comment and returns -1. */
int tu_child_verdict(pid_t pid, int timeout_ms, int *code);

/* "EFAULT" for -EFAULT; "" for anything that is not a -errno. */
const char *tu_errname(long v);
/* In a child: print "file:line: what" (got and want if eq) and _exit(1). */
_Noreturn void tu_child_fail(const char *file, int line, const char *what,
			     long got, long want, bool eq);
/* In a child: print the reason and _exit(TU_SKIP_CODE). */
_Noreturn void tu_child_skip(const char *why);
/* Checks in a child (cmocka's asserts belong to the parent). */
#define TU_CK(cond)                                                              \
	do {                                                                     \
		if (!(cond))                                                     \
			tu_child_fail(__FILE__, __LINE__, #cond, 0, 0, false);   \
	} while (0)
#define TU_CKEQ(a, b)                                                            \
	do {                                                                     \
		long a_ = (long)(a), b_ = (long)(b);                             \
		if (a_ != b_)                                                    \
			tu_child_fail(__FILE__, __LINE__, #a, a_, b_, true);     \
	} while (0)

/* SIGKILL a child and reap it (deadline timeout_ms); fails the test unless
 * it died of that SIGKILL. */
void tu_kill9(pid_t pid, int timeout_ms);

/* ---- children stopped at a chosen step ---- */

/* A test that wraps a library call (-Wl,--wrap=) calls tu_stall(STEP) in
 * the wrapper; a child started by tu_fork_stalled() stops there, tells the
 * parent and waits to be killed. 0 is no step: nothing stops. */
void tu_stall(int step);
/* tu_fork() a child that runs fn(arg, ready_fd) and stops at step; return
 * once it has stopped (for step 0: once fn posted ready_fd itself). Fails
 * the test if that does not happen within timeout_ms. fn never returns. */
pid_t tu_fork_stalled(int step, void (*fn)(void *arg, int ready_fd), void *arg,
		      int timeout_ms);
/* In a child: post ready_fd, then wait to be killed. */
_Noreturn void tu_ready_forever(int ready_fd);

/* Events between processes: a byte through a pipe (both ends O_CLOEXEC). */
void tu_ev_init(int ev[2]);
void tu_ev_post(int fd);
/* Read one event; false if none came within ms. */
bool tu_ev_wait(int fd, int ms);

/* ---- what a child or a program writes ---- */

/* Everything from fd until EOF (or timeout_ms), as a malloc'd string;
 * closes fd. */
char *tu_slurp(int fd, int timeout_ms);
/* Read and drop at least want bytes from fd; fails the test if they do not
 * come within timeout_ms (the stream is flowing). */
void tu_read_some(int fd, size_t want, int timeout_ms);
/* 64-bit FNV-1a of buf, continued from h (TU_FNV_INIT to start). */
#define TU_FNV_INIT 0xcbf29ce484222325ULL
uint64_t tu_fnv1a(uint64_t h, const void *buf, size_t len);
/* Everything from fd until EOF, folded into *h and counted in *total.
 * Returns 0 at EOF, -ETIMEDOUT after timeout_ms, or -errno. */
int tu_drain(int fd, int timeout_ms, uint64_t *h, size_t *total);
/* Fail the test if an entry of /dev/shm is name or name + ".suffix": the
 * object, "sem.NAME.shmx-w/-r", a pair's control object. */
void tu_assert_nothing_left(const char *name);

struct tu_result {
	int status;     /* waitpid status */
	int exit_code;  /* WEXITSTATUS, or 128+signal, or -1 on timeout */
	char *out;      /* NUL-terminated, malloc'd */
	size_t out_len;
	char *err;
	size_t err_len;
};
/* Run argv (argv[0] a path) with in as stdin, collect stdout/stderr, kill
 * it after timeout_ms. Returns 0, or -errno if it could not run. */
int tu_run(char *const argv[], const void *in, size_t in_len, int timeout_ms,
	   struct tu_result *res);
void tu_result_free(struct tu_result *res);
/* Start argv with pipes; any of in/out/err may be NULL (then /dev/null). */
pid_t tu_spawn(char *const argv[], int *in, int *out, int *err);

/* A copy of the built program rel (tools/shmx) that any user can run, for a
 * test that execs it as another user: the checkout may be where that user
 * cannot go (under /root). NULL (and a TAP comment) if it cannot be made.
 * Removed by tu_group_teardown(). */
const char *tu_copy_for_others(const char *rel);

/* true if setpriv can drop to uid/gid 65534 here (we are root). */
bool tu_can_drop_privileges(void);
/* true if python3 with multiprocessing.shared_memory runs. */
bool tu_have_python(void);

/* Non-NULL under user-mode emulation (qemu-user, e.g. an aarch64 build
 * run on x86-64): "aarch64 on x86_64", the machine uname() reports (the
 * emulator's) and the kernel's own (/proc/sys/kernel/arch). */
const char *tu_emulated(void);
/* In a test: skip it, with the reason, under emulation. */
#define TU_SKIP_IF_EMULATED(why)                                                 \
	do {                                                                     \
		if (tu_emulated()) {                                             \
			tu_skip("under emulation (%s): %s", tu_emulated(), why); \
			return;                                                  \
		}                                                                \
	} while (0)

/* Built with ThreadSanitizer (gcc says __SANITIZE_THREAD__, clang has the
 * feature): a case whose premise the sanitizer's runtime breaks skips,
 * saying why (scripts/test.sh, the TSan pass). */
#if defined(__SANITIZE_THREAD__)
#define TU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TU_TSAN 1
#endif
#endif
#ifndef TU_TSAN
#define TU_TSAN 0
#endif
#define TU_SKIP_UNDER_TSAN(why)                                                  \
	do {                                                                     \
		if (TU_TSAN) {                                                   \
			tu_skip("under ThreadSanitizer: %s", why);               \
			return;                                                  \
		}                                                                \
	} while (0)

/* Monotonic milliseconds. */
int64_t tu_now_ms(void);

/* Skip with a reason printed in the TAP stream. */
#define tu_skip(...)                                                             \
	do {                                                                     \
		print_message("# SKIP: " __VA_ARGS__);                           \
		print_message("\n");                                             \
		skip();                                                          \
	} while (0)

#endif
