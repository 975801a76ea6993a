/* SPDX-License-Identifier: MIT */
/* A region and other processes: a reader exec'd from this program sees the
 * bytes (and a wrong expectation fails), an exec'd program inherits no
 * libshmx descriptor, and the kernel drops a killed process's slot. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

static char self_exe[PATH_MAX];

/* ---- a slot held by a killed process ---- */

/* The kernel drops a dead process's slot locks, however it died. */
static void test_slot_released_on_kill(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_info info;
	int p[2];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	tu_ev_init(p);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *o = NULL;

		TU_CKEQ(shmx_open(name, 0, &o), 0);
		TU_CKEQ(shmx__slot_lock(shmx_fd(o), SHMX_SLOT_OWNER), 0);
		tu_ready_forever(p[1]);
	}
	close(p[1]);
	assert_true(tu_ev_wait(p[0], 10000));
	close(p[0]);
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, 1u << SHMX_SLOT_OWNER);
	tu_kill9(pid, 10000);
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, 0);
	shmx_close(r);
}

/* ---- two processes, the reader exec'd ---- */

static int child_read(const char *name, const char *expect_seed)
{
	unsigned char want[65536];
	struct shmx_region *r = NULL;
	int err;

	err = shmx_open(name, SHMX_RDONLY | SHMX_MAP, &r);
	if (err) {
		fprintf(stderr, "open %s: %s\n", name, shmx_strerror(err));
		return 1;
	}
	tu_pattern(want, sizeof(want), (unsigned)atoi(expect_seed));
	err = shmx_size(r) != sizeof(want) || memcmp(shmx_addr(r), want, sizeof(want));
	shmx_close(r);
	return err ? 2 : 0;
}

static void test_exec_reader(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct tu_result res;

	(void)state;
	assert_int_equal(shmx_create(name, 65536, SHMX_MAP, 0, &r), 0);
	tu_pattern(shmx_addr(r), 65536, 1234);
	{
		char *argv[] = { self_exe, "--child-read", (char *)name, "1234", NULL };

		assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	}
	if (res.exit_code != 0)
		fail_msg("reader exited %d: %s", res.exit_code, res.err);
	tu_result_free(&res);
	/* and a wrong expectation really fails */
	{
		char *argv[] = { self_exe, "--child-read", (char *)name, "1235", NULL };

		assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	}
	assert_int_equal(res.exit_code, 2);
	tu_result_free(&res);
	shmx_close(r);
	/* the exec'd attacher did not unlink */
	assert_true(tu_exists(name));
}

/* An exec'd child inherits no libshmx descriptor (all are O_CLOEXEC). */
static void test_exec_inherits_no_fd(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *o = NULL;
	struct tu_result res;
	char *argv[] = { "/bin/sh", "-c", "ls -l /proc/self/fd/", NULL };

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_open(name, 0, &o), 0);
	assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_null(strstr(res.out, name + 1));
	tu_result_free(&res);
	shmx_close(o);
	shmx_close(r);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_slot_released_on_kill),
		T(test_exec_reader),
		T(test_exec_inherits_no_fd),
	};

	if (argc == 4 && !strcmp(argv[1], "--child-read"))
		return child_read(argv[2], argv[3]);
	if (!realpath("/proc/self/exe", self_exe))
		return 99;
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
