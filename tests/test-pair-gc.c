/* SPDX-License-Identifier: MIT */
/* shmx gc and the pair's files: it removes a pair's files only once it
 * has checked that the control object is libshmx's (magic, size, ABI) and
 * that the semaphores are the ones it records; another program's objects
 * that merely have a pair's names ("/x.shmx-p", "/x.shmx-w", no "/x") are
 * left alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static int gc(const char *pattern)
{
	pid_t pid = tu_fork();
	int status;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(tu_build_path("tools/shmx"), "shmx", "gc", pattern, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_gc_leaves_another_programs_look_alikes(void **state)
{
	const char *name = tu_name();
	char ctl[300], sname[300], pat[300];
	unsigned char junk[64];
	sem_t *s;
	int fd;

	(void)state;
#ifndef __GLIBC__
	tu_skip("this C library's sem_open() does not use glibc's /dev/shm/sem.NAME, "
		"where the pair's semaphores are");
	return;
#endif
	snprintf(ctl, sizeof(ctl), "/dev/shm%s.shmx-p", name);
	fd = open(ctl, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	snprintf(sname, sizeof(sname), "%s.shmx-w", name);
	s = sem_open(sname, O_CREAT | O_EXCL, 0600, 0);
	assert_true(s != SEM_FAILED);
	sem_close(s);
	snprintf(pat, sizeof(pat), "%s*", name);
	assert_int_equal(gc(pat), 0);
	assert_int_equal(access(ctl, F_OK), 0);
	assert_true(tu_sem_exists(name, ".shmx-w"));
	unlink(ctl);
	sem_unlink(sname);
}

/* A plain region and a plain sem_open("/x.shmx-w") beside it, no control
 * object: two programs' objects, not a pair whose creator died (a pair's
 * control object is linked in first and records each semaphore file
 * before that file is named). gc leaves both. */
static void test_gc_leaves_a_region_and_a_plain_semaphore(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	char sname[300], pat[300];
	sem_t *s;

	(void)state;
#ifndef __GLIBC__
	tu_skip("this C library's sem_open() does not use glibc's /dev/shm/sem.NAME");
	return;
#endif
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	shmx_close(r);
	snprintf(sname, sizeof(sname), "%s.shmx-w", name);
	s = sem_open(sname, O_CREAT | O_EXCL, 0600, 0);
	assert_true(s != SEM_FAILED);
	sem_close(s);
	snprintf(pat, sizeof(pat), "%s*", name);
	assert_int_equal(gc(pat), 0);
	assert_true(tu_sem_exists(name, ".shmx-w"));
	assert_true(tu_exists(name));
	/* nor does shmx_pair_unlink() take it: no control object vouches */
	assert_int_equal(shmx_pair_unlink(name), -ENOENT);
	assert_true(tu_sem_exists(name, ".shmx-w"));
	sem_unlink(sname);
	assert_int_equal(shmx_unlink(name), 0);
}

/* A real pair whose region is gone is still removed. */
static void test_gc_removes_a_verified_orphaned_pair(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	char pat[300];

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
	snprintf(pat, sizeof(pat), "%s*", name);
	assert_int_equal(gc(pat), 0);
	assert_false(tu_sem_exists(name, ".shmx-w"));
	assert_false(tu_sem_exists(name, ".shmx-r"));
	assert_int_equal(tu_devshm_count(name + 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_gc_leaves_another_programs_look_alikes, tu_teardown),
		cmocka_unit_test_teardown(test_gc_leaves_a_region_and_a_plain_semaphore,
					  tu_teardown),
		cmocka_unit_test_teardown(test_gc_removes_a_verified_orphaned_pair, tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
