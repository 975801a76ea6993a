/* SPDX-License-Identifier: MIT */
/* A System V segment and the other processes on it: what a creator killed
 * during create leaves (shmx_sysv_create(3)), data exchanged both ways with
 * a tutorial-style program (ftok, shmget, shmat and two semaphores), and
 * ipcs(1) listing it. The segment itself is test-sysv.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sysv-util.h"

/* ---- kill -9 during create ---- */

/* Wrapped: stop a child at a step (tu_fork_stalled). */
enum stage { NONE, AT_SHMGET, AT_SHMAT };

int __real_shmget(key_t key, size_t size, int flg);
int __wrap_shmget(key_t key, size_t size, int flg);
int __wrap_shmget(key_t key, size_t size, int flg)
{
	tu_stall(AT_SHMGET);
	return __real_shmget(key, size, flg);
}

void *__real_shmat(int id, const void *addr, int flg);
void *__wrap_shmat(int id, const void *addr, int flg);
void *__wrap_shmat(int id, const void *addr, int flg)
{
	tu_stall(AT_SHMAT);
	return __real_shmat(id, addr, flg);
}

static void make_segment(void *key, int ready_fd)
{
	struct shmx_region *r = NULL;

	(void)ready_fd;
	shmx_sysv_create(*(key_t *)key, SZ, SHMX_MAP, 0640, &r);
}

/* A creator of the segment of *key, killed with SIGKILL at step s. */
static pid_t crash_child(enum stage s, key_t key)
{
	pid_t pid = tu_fork_stalled(s, make_segment, &key, 20000);

	tu_kill9(pid, 10000);
	return pid;
}

static void fresh_create(key_t key)
{
	struct shmx_region *r = NULL;

	assert_int_equal(shmx_sysv_create(key, SZ, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(r)), 0);
	shmx_close(r);
}

static void test_crash_before_shmget_leaves_nothing(void **state)
{
	key_t k = tkey();

	(void)state;
	crash_child(AT_SHMGET, k);
	assert_int_equal(shmget(k, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	fresh_create(k);
}

/* SysV has no unnamed build step: shmget makes the whole segment, sized,
 * zeroed, with its mode, under its key. A creator killed after it leaves
 * that complete segment, unattached, until someone removes it. */
static void test_crash_after_shmget_leaves_a_complete_segment(void **state)
{
	struct shmx_region *r = NULL;
	struct shmx_sysv_info info;
	key_t k = tkey();
	pid_t pid;

	(void)state;
	pid = crash_child(AT_SHMAT, k);
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0, &r), -EEXIST);
	assert_int_equal(shmx_sysv_open(k, SHMX_MAP, &r), 0);
	info = sinfo(shmx_sysv_id(r));
	assert_int_equal(info.cpid, pid);
	assert_int_equal(info.size, SZ);
	assert_int_equal(info.mode, 0640);
	assert_int_equal(info.nattch, 1);       /* ours only */
	assert_int_equal(((unsigned char *)shmx_addr(r))[SZ - 1], 0);
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(r)), 0);
	shmx_close(r);
	fresh_create(k);
}

/* ---- a tutorial-style program ---- */

static int run_tutorial(char **argv, char **out)
{
	struct tu_result res;
	int rc;

	assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	if (res.exit_code)
		tu_print_lines("sysv-tutorial stderr", res.err);
	rc = res.exit_code;
	if (out)
		*out = strdup(res.out);
	tu_result_free(&res);
	return rc;
}

struct tut {
	char path[64];
	char sem1[128], sem2[128];
	key_t key;
};

/* A key file and two semaphore names the teardown sweeps. */
static void tut_setup(struct tut *t)
{
	const char *base = tu_name();
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/shmx-test-tut-XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	close(fd);
	track_path(t->path);
	snprintf(t->sem1, sizeof(t->sem1), "%s.shmx-w", base);
	snprintf(t->sem2, sizeof(t->sem2), "%s.shmx-r", base);
	assert_int_equal(shmx_sysv_key(t->path, 'R', &t->key), 0);
	track_key(t->key);
}

static void test_libshmx_reads_what_a_tutorial_writer_wrote(void **state)
{
	struct tut t;
	struct shmx_region *r = NULL;
	char buf[64] = "";
	char *argv[] = { getenv("SHMX_SYSV_TUTORIAL"), "write", t.path, "82",
			 t.sem1, t.sem2, "written by the tutorial", NULL };

	(void)state;
	tut_setup(&t);
	assert_int_equal(run_tutorial(argv, NULL), 0);
	assert_int_equal(shmx_sysv_open(t.key, SHMX_RDONLY, &r), 0);
	assert_int_equal(shmx_read(r, 0, buf, sizeof(buf)), sizeof(buf));
	assert_string_equal(buf, "written by the tutorial");
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(r)), 0);
	shmx_close(r);
}

static void test_a_tutorial_reader_reads_what_libshmx_wrote(void **state)
{
	struct tut t;
	struct shmx_region *r = NULL;
	char *out = NULL;
	char *argv[] = { getenv("SHMX_SYSV_TUTORIAL"), "read", t.path, "82",
			 t.sem1, t.sem2, NULL };
	int id;

	(void)state;
	tut_setup(&t);
	assert_int_equal(shmx_sysv_create(t.key, 4096, 0, 0644, &r), 0);
	id = shmx_sysv_id(r);
	assert_int_equal(shmx_write(r, 0, "written by libshmx", 19), 19);
	r = shmx_close(r);
	assert_int_equal(run_tutorial(argv, &out), 0);
	assert_string_equal(out, "written by libshmx");
	free(out);
	/* the tutorial reader destroys the segment when done */
	assert_int_equal(shmx_sysv_open_id(id, 0, &r), -ENOENT);
}

/* ipcs(1) of util-linux lists the segment: key, id, perms, bytes, nattch. */
static void test_ipcs_shows_the_segment(void **state)
{
	char *argv[] = { "/usr/bin/ipcs", "-m", NULL };
	struct shmx_region *r = NULL;
	unsigned long long bytes = 0, nattch = 0;
	struct tu_result res;
	char want[32], owner[64];
	const char *line;
	int id = -1;
	unsigned perms = 0;
	key_t k = tkey();

	(void)state;
	if (access(argv[0], X_OK))
		tu_skip("no %s", argv[0]);
	assert_int_equal(shmx_sysv_create(k, 12288, SHMX_MAP, 0640, &r), 0);
	snprintf(want, sizeof(want), "0x%08x ", (unsigned)k);
	assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	assert_int_equal(res.exit_code, 0);
	line = strstr(res.out, want);
	if (!line) {
		tu_print_lines("ipcs -m", res.out);
		fail_msg("ipcs -m does not list key %s", want);
	}
	assert_int_equal(sscanf(line + strlen(want), "%d %63s %o %llu %llu", &id, owner,
				&perms, &bytes, &nattch), 5);
	assert_int_equal(id, shmx_sysv_id(r));
	assert_int_equal(perms, 0640);
	assert_int_equal(bytes, 12288);
	assert_int_equal(nattch, 1);
	tu_result_free(&res);
	shmx_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_crash_before_shmget_leaves_nothing),
		T(test_crash_after_shmget_leaves_a_complete_segment),
		T(test_libshmx_reads_what_a_tutorial_writer_wrote),
		T(test_a_tutorial_reader_reads_what_libshmx_wrote),
		T(test_ipcs_shows_the_segment),
	};

	return cmocka_run_group_tests(tests, sysv_group_setup, sysv_group_teardown);
}
