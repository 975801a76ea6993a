/* SPDX-License-Identifier: MIT */
/* The semaphore pair in one process: every function's success path, every
 * documented error by value, misuse of the turn, a deadline. Peers in other
 * processes (killed, closed, stale, 20,000 rounds) are test-pair-peers.c;
 * planted semaphores and modes under a umask, test-planted.c and
 * test-perms.c; deadlines under a signal storm, test-signals.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pair-util.h"

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
	/* a second creator on another handle: the pair exists */
	assert_int_equal(shmx_pair_create(b, SHMX_PAIR_READER, 0, &p), -EEXIST);
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
		T(test_misuse),
		T(test_timeout_200),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
