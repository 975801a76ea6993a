/* SPDX-License-Identifier: MIT */
/* The semaphore pair: every function's success path and every documented
 * error by value, deadlines, and peers that die. Planted semaphores and
 * modes under a umask are test-planted.c and test-perms.c; deadlines under
 * a signal storm, test-signals.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define SENTINEL ((struct shmx_pair *)0x1)

static void sem_path(const char *name, char which, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/shm/sem.%s.shmx-%c", name + 1, which);
}

static bool sem_exists(const char *name, char which)
{
	char path[512];
	struct stat st;

	sem_path(name, which, path, sizeof(path));
	return lstat(path, &st) == 0;
}

static struct shmx_region *region(const char *name, bool create)
{
	struct shmx_region *r = NULL;

	if (create)
		assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
	else
		assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	return r;
}

static uint32_t holders(const char *name)
{
	struct shmx_info info;

	assert_int_equal(shmx_stat(name, &info), 0);
	return info.holders;
}

/* ---- success paths ---- */

static void test_handoff(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true), *rr = region(name, false);
	struct shmx_pair *w = NULL, *r = NULL;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_non_null(w);
	assert_true(sem_exists(name, 'w') && sem_exists(name, 'r'));
	assert_int_equal(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
	assert_non_null(r);
	assert_int_equal(holders(name), (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER) |
						 (1u << SHMX_SLOT_READER));
	/* the reader's turn starts at 0, the writer's at 1 */
	assert_int_equal(shmx_pair_wait(r, 0), -EAGAIN);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	memcpy(shmx_addr(rw), "hello", 6);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(w, 0), -EAGAIN);
	assert_int_equal(shmx_pair_wait(r, 1000), 0);
	assert_string_equal(shmx_addr(rr), "hello");
	assert_int_equal(shmx_pair_post(r), 0);
	assert_int_equal(shmx_pair_wait(w, 1000), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	/* close never unlinks, and releases the slots */
	assert_null(shmx_pair_close(r));
	assert_null(shmx_pair_close(w));
	assert_int_equal(holders(name), 0);
	assert_true(sem_exists(name, 'w') && sem_exists(name, 'r'));
	assert_int_equal(shmx_pair_unlink(name), 0);
	assert_false(sem_exists(name, 'w') || sem_exists(name, 'r'));
	assert_int_equal(shmx_pair_unlink(name), -ENOENT);
	shmx_close(rw);
	shmx_close(rr);
	assert_int_equal(shmx_unlink(name), 0);
}

/* A reader may own the pair; its writer then opens it. */
static void test_reader_creates(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rr = region(name, true), *rw = region(name, false);
	struct shmx_pair *w = NULL, *r = NULL;

	(void)state;
	assert_int_equal(shmx_pair_create(rr, SHMX_PAIR_READER, 0600, &r), 0);
	assert_int_equal(shmx_pair_open(rw, SHMX_PAIR_WRITER, &w), 0);
	assert_int_equal(holders(name), (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER) |
						 (1u << SHMX_SLOT_READER));
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(r, 1000), 0);
	assert_int_equal(shmx_pair_post(r), 0);
	shmx_pair_close(w);
	shmx_pair_close(r);
	shmx_close(rr);
	shmx_close(rw);
}

/* The pair keeps its own reference: closing the region keeps the role. */
static void test_outlives_region_handle(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *w = NULL;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	rw = shmx_close(rw);
	assert_int_equal(holders(name), (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER));
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	shmx_pair_close(w);
	assert_int_equal(holders(name), 0);
}

/* Both roles on one region handle: each pair handle has its own open file
 * description, so the roles' locks do not mix (with a shared one, the
 * opener would take the owner's lock for its own and call it dead). */
static void test_two_roles_one_region(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *w = NULL, *r = NULL, *w2 = NULL;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_open(rw, SHMX_PAIR_READER, &r), 0);
	assert_int_equal(shmx_pair_open(rw, SHMX_PAIR_WRITER, &w2), -EBUSY);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(r, 1000), 0);
	assert_int_equal(shmx_pair_post(r), 0);
	assert_int_equal(shmx_pair_wait(w, 1000), 0);
	/* the reader leaves: its lock goes, the writer's stays */
	shmx_pair_close(r);
	assert_int_equal(holders(name), (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER));
	shmx_pair_close(w);
	assert_int_equal(holders(name), 0);
	shmx_close(rw);
}

static void test_unlink(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *w = NULL;
	char path[512];

	(void)state;
	assert_int_equal(shmx_pair_unlink(name), -ENOENT);
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	shmx_pair_close(w);
	/* one half left (e.g. removed by hand): still found and removed */
	sem_path(name, 'r', path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(shmx_pair_unlink(name), 0);
	assert_false(sem_exists(name, 'w'));
	assert_int_equal(shmx_pair_unlink(name), -ENOENT);
	/* the name without its slash works the same */
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	shmx_pair_close(w);
	assert_int_equal(shmx_pair_unlink(name + 1), 0);
	assert_false(sem_exists(name, 'w') || sem_exists(name, 'r'));
	shmx_close(rw);
}

/* ---- documented errors ---- */

static void test_bad_args(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *p = SENTINEL, *w = NULL;
	static const unsigned bad_flags[] = {
		0, SHMX_PAIR_WRITER | SHMX_PAIR_READER, SHMX_PAIR_WRITER | 1u,
		SHMX_PAIR_READER | (1u << 20), 1u << 10, ~0u,
	};
	size_t i;

	(void)state;
	assert_int_equal(shmx_pair_create(NULL, SHMX_PAIR_WRITER, 0, &p), -EINVAL);
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, NULL), -EINVAL);
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 01600, &p), -EINVAL);
	assert_int_equal(shmx_pair_open(NULL, SHMX_PAIR_READER, &p), -EINVAL);
	assert_int_equal(shmx_pair_open(rw, SHMX_PAIR_READER, NULL), -EINVAL);
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		assert_int_equal(shmx_pair_create(rw, bad_flags[i], 0, &p), -EINVAL);
		assert_int_equal(shmx_pair_open(rw, bad_flags[i], &p), -EINVAL);
	}
	assert_ptr_equal(p, SENTINEL);  /* untouched on failure */
	assert_false(sem_exists(name, 'w') || sem_exists(name, 'r'));
	assert_int_equal(shmx_pair_wait(NULL, 0), -EINVAL);
	assert_int_equal(shmx_pair_post(NULL), -EINVAL);
	assert_null(shmx_pair_close(NULL));
	assert_int_equal(shmx_pair_unlink(NULL), -EINVAL);
	assert_int_equal(shmx_pair_unlink(""), -EINVAL);
	assert_int_equal(shmx_pair_unlink("/"), -EINVAL);
	assert_int_equal(shmx_pair_unlink("/a/b"), -EINVAL);
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_wait(w, -2), -EINVAL);
	assert_int_equal(shmx_pair_wait(w, -1000), -EINVAL);
	shmx_pair_close(w);
	shmx_close(rw);
}

/* OFD write locks need a writable fd: a read-only region cannot carry a role. */
static void test_rdonly_region(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true), *ro = NULL;
	struct shmx_pair *p = SENTINEL, *w = NULL;

	(void)state;
	assert_int_equal(shmx_open(name, SHMX_RDONLY, &ro), 0);
	assert_int_equal(shmx_pair_create(ro, SHMX_PAIR_WRITER, 0, &p), -EBADF);
	assert_false(sem_exists(name, 'w'));
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_open(ro, SHMX_PAIR_READER, &p), -EBADF);
	assert_ptr_equal(p, SENTINEL);
	shmx_pair_close(w);
	shmx_close(ro);
	shmx_close(rw);
}

static void long_name(char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len + 2, "%s", tu_name());
	n = strlen(buf);
	memset(buf + n, 'z', len + 1 - n);
	buf[len + 1] = 0;
}

static void test_name_too_long(void **state)
{
	char name[SHMX_NAME_MAX + 2];
	struct shmx_region *r = NULL;
	struct shmx_pair *p = SENTINEL;

	(void)state;
	/* 245 bytes: a fine region name, too long once ".shmx-w" is added */
	long_name(name, SHMX_PAIR_NAME_MAX + 1);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), -ENAMETOOLONG);
	assert_int_equal(shmx_pair_open(r, SHMX_PAIR_READER, &p), -ENAMETOOLONG);
	assert_int_equal(shmx_pair_unlink(name), -ENAMETOOLONG);
	assert_ptr_equal(p, SENTINEL);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
	/* 244 bytes: the semaphores are 251, the longest glibc takes */
	long_name(name, SHMX_PAIR_NAME_MAX);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	assert_true(sem_exists(name, 'w') && sem_exists(name, 'r'));
	shmx_pair_close(p);
	assert_int_equal(shmx_pair_unlink(name), 0);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
}

static void test_busy(void **state)
{
	const char *name = tu_name();
	struct shmx_region *a = region(name, true), *b = region(name, false);
	struct shmx_region *c = region(name, false);
	struct shmx_pair *w = NULL, *r = NULL, *p = SENTINEL;

	(void)state;
	assert_int_equal(shmx_pair_create(a, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_WRITER, &p), -EBUSY);
	/* a second owner on another handle: the owner slot is taken */
	assert_int_equal(shmx_pair_create(b, SHMX_PAIR_READER, 0, &p), -EBUSY);
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_READER, &r), 0);
	assert_int_equal(shmx_pair_open(c, SHMX_PAIR_READER, &p), -EBUSY);
	assert_ptr_equal(p, SENTINEL);
	/* the failures took nothing from the pair */
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(r, 1000), 0);
	/* a released role can be taken again */
	r = shmx_pair_close(r);
	assert_int_equal(shmx_pair_open(c, SHMX_PAIR_READER, &r), 0);
	shmx_pair_close(r);
	shmx_pair_close(w);
	shmx_close(a);
	shmx_close(b);
	shmx_close(c);
}

/* Opening while the creator's semaphores are missing: -ENOENT (retry). */
static void test_open_missing(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *p = SENTINEL;

	(void)state;
	assert_int_equal(shmx_pair_open(r, SHMX_PAIR_READER, &p), -ENOENT);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(holders(name), 0);
	shmx_close(r);
}

static void test_stale_closed_owner(void **state)
{
	const char *name = tu_name();
	struct shmx_region *a = region(name, true), *b = region(name, false);
	struct shmx_pair *w = NULL, *p = SENTINEL;

	(void)state;
	assert_int_equal(shmx_pair_create(a, SHMX_PAIR_WRITER, 0, &w), 0);
	shmx_pair_close(w);
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_READER, &p), -EOWNERDEAD);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(holders(name), 0);  /* the failed open kept no role */
	shmx_close(a);
	shmx_close(b);
}

static void read_byte(int fd, char want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c = 0;

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, want);
}

/* The owner was killed -9 holding the pair: an opener finds it stale. */
static void test_stale_killed_owner(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *b;
	struct shmx_pair *p = SENTINEL;
	int fds[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_pair *w;

		if (shmx_create(name, 4096, 0, 0, &r) || shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &w))
			_exit(1);
		(void)!write(fds[1], "C", 1);
		for (;;)
			pause();
	}
	close(fds[1]);
	read_byte(fds[0], 'C');
	b = region(name, false);
	assert_int_equal(holders(name), (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER));
	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_READER, &p), -EOWNERDEAD);
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_WRITER, &p), -EOWNERDEAD);
	assert_ptr_equal(p, SENTINEL);
	close(fds[0]);
	shmx_close(b);
}

/* ---- the turn: misuse, try ---- */

static void test_misuse(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true), *rr = region(name, false);
	struct shmx_pair *w = NULL, *r = NULL;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
	/* posting a turn not held */
	assert_int_equal(shmx_pair_post(w), -EPERM);
	assert_int_equal(shmx_pair_post(r), -EPERM);
	assert_int_equal(shmx_pair_wait(r, 0), -EAGAIN);  /* nothing was posted */
	/* waiting while holding the turn */
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_wait(w, 0), -EDEADLK);
	assert_int_equal(shmx_pair_wait(w, -1), -EDEADLK);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_post(w), -EPERM);
	assert_int_equal(shmx_pair_wait(r, 0), 0);
	assert_int_equal(shmx_pair_wait(r, 0), -EDEADLK);
	assert_int_equal(shmx_pair_post(r), 0);
	/* exactly one turn went round: nothing extra appeared */
	assert_int_equal(shmx_pair_wait(r, 0), -EAGAIN);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_wait(r, 0), -EAGAIN);
	shmx_pair_close(w);
	shmx_pair_close(r);
	shmx_close(rw);
	shmx_close(rr);
}

/* ---- deadlines ---- */

/* A writer with nobody to take the turn: -ETIMEDOUT after 200 ms (under a
 * signal storm: test-signals.c). */
static void test_timeout_200(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *w = NULL;
	int64_t t0, dt;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_wait(w, 200), -ETIMEDOUT);
	dt = tu_now_ms() - t0;
	assert_true(dt >= 200);
	assert_true(dt < 2000);
	shmx_pair_close(w);
	shmx_close(rw);
}

/* ---- peers that die ---- */

struct peer_case {
	unsigned waiter_role;
	bool waiter_creates;
	int timeout;
};

struct pipes {
	int a2b[2], b2a[2], go[2], res[2];
};

static void close_pipes(struct pipes *pp)
{
	int *f = &pp->a2b[0];

	for (int i = 0; i < 8; i++)
		if (f[i] >= 0)
			close(f[i]);
}

static int child_read(int fd, char want)
{
	char c = 0;

	return read(fd, &c, 1) == 1 && c == want ? 0 : -1;
}

/* One side of the pair, in its own process with its own region handle.
 * The waiter reports its result; the other side dies by SIGKILL once the
 * parent closes "go", while the waiter is inside its wait. */
static void child(const char *name, unsigned role, bool creates, bool waiter,
		  int in, int out, const struct pipes *pp, int timeout)
{
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;
	char c;

	/* only the parent may hold "go" open, or the EOF never comes */
	close(pp->go[1]);
	if (creates) {
		if (shmx_create(name, 4096, 0, 0, &r) || shmx_pair_create(r, role, 0, &p))
			_exit(10);
		(void)!write(out, "C", 1);
		if (child_read(in, 'O'))
			_exit(11);
	} else {
		if (child_read(in, 'C') || shmx_open(name, 0, &r) || shmx_pair_open(r, role, &p))
			_exit(12);
		(void)!write(out, "O", 1);
	}
	if (!waiter) {
		while (read(pp->go[0], &c, 1) > 0)
			;
		/* Die well inside the waiter's wait, not before it starts. */
		usleep(100 * 1000);
		kill(getpid(), SIGKILL);
	}
	/* A writer first uses its initial turn, so that its wait blocks. */
	if (role == SHMX_PAIR_WRITER && (shmx_pair_wait(p, 0) || shmx_pair_post(p)))
		_exit(13);
	int64_t t0 = tu_now_ms();
	int res[2];

	(void)!write(pp->res[1], "W", 1);
	res[0] = shmx_pair_wait(p, timeout);
	res[1] = (int)(tu_now_ms() - t0);
	(void)!write(pp->res[1], res, sizeof(res));
	_exit(0);
}

static pid_t start(const char *name, const struct peer_case *pc, bool a, struct pipes *pp)
{
	unsigned other = pc->waiter_role == SHMX_PAIR_WRITER ? SHMX_PAIR_READER
							      : SHMX_PAIR_WRITER;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	/* a is the waiter, b the one that dies */
	if (a)
		child(name, pc->waiter_role, pc->waiter_creates, true, pp->b2a[0],
		      pp->a2b[1], pp, pc->timeout);
	child(name, other, !pc->waiter_creates, false, pp->a2b[0], pp->b2a[1], pp, -1);
	_exit(99);
}

static void peer_dies(const struct peer_case *pc)
{
	const char *name = tu_name();
	struct pipes pp;
	int res[2], sa, sb;
	pid_t a, b;

	assert_int_equal(pipe2(pp.a2b, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pp.b2a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pp.go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pp.res, O_CLOEXEC), 0);
	a = start(name, pc, true, &pp);
	b = start(name, pc, false, &pp);
	close(pp.go[0]);
	close(pp.res[1]);
	pp.go[0] = pp.res[1] = -1;
	read_byte(pp.res[0], 'W');
	close(pp.go[1]);  /* b dies now */
	pp.go[1] = -1;
	{
		struct pollfd pfd = { .fd = pp.res[0], .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 10000), 1);
	}
	assert_int_equal(read(pp.res[0], res, sizeof(res)), sizeof(res));
	assert_int_equal(tu_waitpid(a, 10000, &sa), 0);
	assert_int_equal(tu_waitpid(b, 10000, &sb), 0);
	close_pipes(&pp);
	assert_true(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
	assert_true(WIFSIGNALED(sb) && WTERMSIG(sb) == SIGKILL);
	assert_int_equal(res[0], -EOWNERDEAD);
	/* promptly: the peer died about 100 ms into the wait */
	assert_true(res[1] < 2000);
	if (pc->timeout > 0)
		assert_true(res[1] < pc->timeout);
}

static void test_dead_writer_forever(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_READER, true, -1 };

	(void)state;
	peer_dies(&pc);
}

static void test_dead_writer_timed(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_READER, false, 10000 };

	(void)state;
	peer_dies(&pc);
}

static void test_dead_reader_forever(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_WRITER, true, -1 };

	(void)state;
	peer_dies(&pc);
}

/* The waiter's peer is the owner itself. */
static void test_dead_owner_forever(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_WRITER, false, -1 };

	(void)state;
	peer_dies(&pc);
}

/* The reader attaches, takes the one turn it was given and is killed
 * before the creator ever looked at its slot: the emptied semaphore still
 * proves it was there, so the creator does not wait for a ghost. */
static void test_dead_before_seen(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *w = NULL;
	int status;
	int64_t t0;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_region *rr = NULL;
		struct shmx_pair *r = NULL;

		if (shmx_open(name, 0, &rr) || shmx_pair_open(rr, SHMX_PAIR_READER, &r) ||
		    shmx_pair_wait(r, 5000))
			_exit(1);
		kill(getpid(), SIGKILL);
	}
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_wait(w, 5000), -EOWNERDEAD);
	assert_true(tu_now_ms() - t0 < 2000);
	shmx_pair_close(w);
	shmx_close(rw);
}

/* A clean close is told apart from a death: -EPIPE. Turns posted before
 * it are still delivered first. */
static void test_peer_closed(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true), *rr = region(name, false);
	struct shmx_pair *w = NULL, *r = NULL;
	int64_t t0;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	w = shmx_pair_close(w);
	assert_int_equal(shmx_pair_wait(r, 5000), 0);
	assert_int_equal(shmx_pair_post(r), 0);
	/* (-1 is covered by the forked cases, where a hang has a deadline) */
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_wait(r, 5000), -EPIPE);
	assert_int_equal(shmx_pair_wait(r, 0), -EPIPE);
	assert_true(tu_now_ms() - t0 < 2000);
	shmx_pair_close(r);
	shmx_close(rw);
	shmx_close(rr);
}

/* ---- many rounds between two processes ---- */

#define ROUNDS 20000

static void test_ping_pong(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw;
	struct shmx_pair *w = NULL;
	int fds[2], status;
	uint64_t *box;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_region *rr = NULL;
		struct shmx_pair *r = NULL;
		uint64_t i, *b;

		close(fds[1]);
		if (child_read(fds[0], 'C') || shmx_open(name, SHMX_MAP, &rr) ||
		    shmx_pair_open(rr, SHMX_PAIR_READER, &r))
			_exit(10);
		b = shmx_addr(rr);
		for (i = 0; i < ROUNDS; i++) {
			if (shmx_pair_wait(r, 5000))
				_exit(11);
			if (b[0] != i)  /* lost or repeated */
				_exit(12);
			b[1] = i * 3;
			if (shmx_pair_post(r))
				_exit(13);
		}
		_exit(0);
	}
	close(fds[0]);
	rw = region(name, true);
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	box = shmx_addr(rw);
	box[1] = UINT64_MAX;
	assert_int_equal(write(fds[1], "C", 1), 1);
	for (uint64_t i = 0; i < ROUNDS; i++) {
		assert_int_equal(shmx_pair_wait(w, 5000), 0);
		if (i > 0)
			assert_true(box[1] == (i - 1) * 3);
		box[0] = i;
		assert_int_equal(shmx_pair_post(w), 0);
	}
	assert_int_equal(shmx_pair_wait(w, 5000), 0);
	assert_true(box[1] == (uint64_t)(ROUNDS - 1) * 3);
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fds[1]);
	shmx_pair_close(w);
	shmx_close(rw);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_handoff),
		T(test_reader_creates),
		T(test_outlives_region_handle),
		T(test_two_roles_one_region),
		T(test_unlink),
		T(test_bad_args),
		T(test_rdonly_region),
		T(test_name_too_long),
		T(test_busy),
		T(test_open_missing),
		T(test_stale_closed_owner),
		T(test_stale_killed_owner),
		T(test_misuse),
		T(test_timeout_200),
		T(test_dead_writer_forever),
		T(test_dead_writer_timed),
		T(test_dead_reader_forever),
		T(test_dead_owner_forever),
		T(test_dead_before_seen),
		T(test_peer_closed),
		T(test_ping_pong),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
