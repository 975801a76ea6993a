/* SPDX-License-Identifier: MIT */
/* The edges of addresses: "//x" is neither a name nor a path (glibc,
 * Python and the library mean or refuse /dev/shm/x, a path would be /x at
 * the root); rm removes a regular file and nothing else (a symlink, a
 * FIFO, a directory are refused, and stay); System V keys are taken as
 * ipcs and ls --sysv print them, a letter as first hex digit included. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/" TU_PREFIX "addr-%d", (int)getpid());
	return mkdir(dir, 0700);
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 && tu_group_teardown(state) == 0 ? 0 : -1;
}

static const char *in_dir(const char *file)
{
	static char path[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, file);
	return path[k];
}

static void test_double_slash_is_a_usage_error(void **state)
{
	const char *name = tu_name();
	char arg[128], root[128];
	struct stat st;
	bool made;
	int rc;

	(void)state;
	snprintf(arg, sizeof(arg), "/%s", name);        /* "//shmx-test-..." */
	snprintf(root, sizeof(root), "%s", name);       /* what a path would be */
	rc = shmx("create", arg, "4K");
	made = lstat(root, &st) == 0;
	if (made)
		unlink(root);           /* a file at the root of the file system */
	assert_false(made);
	assert_int_equal(rc, 2);
	assert_err_has("shmx: create: invalid address '//");
	assert_false(tu_exists(name));
	assert_int_equal(shmx("stat", arg), 2);
	assert_int_equal(shmx("rm", arg), 2);
}

static void test_rm_removes_a_regular_file_only(void **state)
{
	const char *file = in_dir("file"), *link = in_dir("link");
	const char *fifo = in_dir("fifo"), *sub = in_dir("sub");
	struct stat st;
	int fd;

	(void)state;
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);

	assert_int_equal(shmx("rm", link), 1);
	assert_err_has("is a symbolic link, not a file: not removed");
	assert_int_equal(lstat(link, &st), 0);
	assert_int_equal(shmx("rm", fifo), 1);
	assert_err_has("not a regular file: not removed");
	assert_int_equal(lstat(fifo, &st), 0);
	assert_int_equal(shmx("rm", sub), 1);
	assert_int_equal(lstat(sub, &st), 0);
	assert_int_equal(shmx("rm", "--json", link), 1);
	assert_out_has("\"errors\":[\n{\"address\":");
	assert_int_equal(lstat(link, &st), 0);

	assert_int_equal(shmx("rm", file), 0);
	assert_int_equal(lstat(file, &st), -1);
	assert_int_equal(lstat(link, &st), 0);  /* the dangling link stays */
}

/* A segment whose key starts with a letter in hex, as ipcs -m prints it. */
static void test_sysv_keys_as_ipcs_prints_them(void **state)
{
	key_t key = (key_t)0xfedc0000u + (getpid() & 0xffff);
	char arg[32], line[64];

	(void)state;
	sysv_id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	if (sysv_id < 0) {
		tu_skip("shmget: %s", strerror(errno));
		return;
	}
	snprintf(arg, sizeof(arg), "sysv:0x%08x", (unsigned)key);
	assert_int_equal(shmx("stat", arg), 0);
	snprintf(line, sizeof(line), "Key:        0x%08x\n", (unsigned)key);
	assert_out_has(line);
	snprintf(arg, sizeof(arg), "sysv:0X%08X", (unsigned)key);
	assert_int_equal(shmx("stat", arg), 0);
	/* ls --sysv prints it the same way */
	assert_int_equal(shmx("ls", "--sysv"), 0);
	snprintf(line, sizeof(line), "0x%08x", (unsigned)key);
	assert_out_has(line);
	assert_int_equal(shmx("stat", "sysv:0xfg"), 2);
	assert_int_equal(shmx("stat", "sysv:0x"), 2);
	assert_int_equal(shmx("stat", "sysv:0x1ffffffff"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_double_slash_is_a_usage_error),
		T(test_rm_removes_a_regular_file_only),
		T(test_sysv_keys_as_ipcs_prints_them),
	};
	int rc;

	if (setup(NULL))
		return 1;
	rc = cmocka_run_group_tests(tests, tu_group_setup, NULL);
	teardown(NULL);
	return rc;
}
