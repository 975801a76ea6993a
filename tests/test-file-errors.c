/* SPDX-License-Identifier: MIT */
/* File regions (shmx_file_create(3)) that fail: every error the pages list,
 * by value (as root and as uid 65534, on a full and on a read-only file
 * system), a create without O_TMPFILE, and creation killed at each step:
 * none of it leaves anything behind. What works is test-file.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"

#define SMALL_FS   "size=64k"

/* ---- errors, by value ---- */

static void test_file_create_existing_path_is_eexist_and_keeps_it(void **state)
{
	const char *path = fpath("exists");
	struct shmx_region *r = NULL;
	struct stat st;
	int fd;

	(void)state;
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(shmx_file_create(path, 4096, 0, 0, &r), -EEXIST);
	assert_int_equal(shmx_file_create(path, 4 << 20, 0, 0, &r), -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* a directory there is an existing name too */
	assert_int_equal(shmx_file_create(tmpdir, 4096, 0, 0, &r), -EEXIST);
}

/* A symlink is never followed: not to create through, not to open. */
static void test_file_symlink_is_eexist_to_create_and_eloop_to_open(void **state)
{
	const char *target = fpath("target"), *link = fpath("link");
	const char *dangling = fpath("dangling");
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_file_create(target, 4096, 0, 0, &r), 0);
	shmx_close(r);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(shmx_file_open(link, 0, &r), -ELOOP);
	assert_int_equal(shmx_file_open(link, SHMX_RDONLY, &r), -ELOOP);
	assert_int_equal(shmx_file_create(link, 4096, 0, 0, &r), -EEXIST);
	assert_int_equal(symlink(fpath("nowhere"), dangling), 0);
	assert_int_equal(shmx_file_create(dangling, 4096, 0, 0, &r), -EEXIST);
	assert_int_equal(entries(tmpdir), 3);
}

static void test_file_missing_directory_or_file_is_enoent(void **state)
{
	char path[PATH_MAX];
	struct shmx_region *r = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such-dir/x", tmpdir);
	assert_int_equal(shmx_file_create(path, 4096, 0, 0, &r), -ENOENT);
	assert_int_equal(shmx_file_open(fpath("missing"), 0, &r), -ENOENT);
	assert_int_equal(shmx_file_unlink(fpath("missing")), -ENOENT);
	assert_int_equal(entries(tmpdir), 0);
}

static void test_file_directory_is_eisdir(void **state)
{
	char path[PATH_MAX];
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_file_open(tmpdir, SHMX_RDONLY, &r), -EISDIR);
	assert_int_equal(shmx_file_open(tmpdir, 0, &r), -EISDIR);
	snprintf(path, sizeof(path), "%s/", tmpdir);
	assert_int_equal(shmx_file_create(path, 4096, 0, 0, &r), -EISDIR);
	assert_int_equal(shmx_file_unlink(tmpdir), -EISDIR);
}

static void test_file_not_a_region_file_is_refused(void **state)
{
	const char *empty = fpath("empty"), *fifo = fpath("fifo");
	struct shmx_region *r = NULL;
	int fd;

	(void)state;
	fd = open(empty, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(shmx_file_open(empty, 0, &r), -ENODATA);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(shmx_file_open(fifo, 0, &r), -EMEDIUMTYPE);
	assert_null(r);
}

static int create_here(const char *path)
{
	struct shmx_region *r = NULL;
	int err = shmx_file_create(path, 4096, 0, 0640, &r);

	shmx_close(r);
	return err;
}

static int open_here(const char *path)
{
	struct shmx_region *r = NULL;
	int err = shmx_file_open(path, SHMX_RDONLY, &r);

	shmx_close(r);
	return err;
}

static void test_file_unwritable_directory_or_unreadable_file_is_eacces(void **state)
{
	const char *path = fpath("root-only");
	struct shmx_region *r = NULL;

	(void)state;
	if (!can_drop())
		tu_skip("needs root to run a child as uid 65534");
	/* tmpdir is root's, 0755: nobody may not create in it */
	in_child(AS_NOBODY, create_here, fpath("nobody"), -EACCES);
	assert_int_equal(entries(tmpdir), 0);
	assert_int_equal(shmx_file_create(path, 4096, 0, 0600, &r), 0);
	shmx_close(r);
	in_child(AS_NOBODY, open_here, path, -EACCES);
}

static void test_file_mode_is_exact_under_umask_0777_as_nobody(void **state)
{
	char dir[128], path[PATH_MAX];
	struct stat st;

	(void)state;
	if (!can_drop())
		tu_skip("needs root to run a child as uid 65534");
	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/exact", dir);
	umask(0777);
	in_child(AS_NOBODY, create_here, path, 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, NOBODY);
}

/* A tmpfs of opts on dir, seen only by this process: it goes with it. */
static void private_tmpfs(const char *dir, unsigned long mflags, const char *opts)
{
	TU_CKEQ(unshare(CLONE_NEWNS), 0);
	TU_CKEQ(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	TU_CKEQ(mount("tmpfs", dir, "tmpfs", mflags, opts), 0);
}

static int enospc_child(const char *dir)
{
	char path[PATH_MAX];
	struct shmx_region *r = NULL;

	private_tmpfs(dir, 0, SMALL_FS);
	snprintf(path, sizeof(path), "%s/big", dir);
	TU_CKEQ(shmx_file_create(path, 1 << 20, 0, 0, &r), -ENOSPC);
	/* nothing half-made, and a create that fits still works */
	TU_CKEQ(entries(dir), 0);
	TU_CKEQ(shmx_file_create(path, 4096, 0, 0, &r), 0);
	shmx_close(r);
	return 0;
}

static void test_file_full_file_system_is_enospc_and_leaves_nothing(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to mount a small tmpfs");
	snprintf(dir, sizeof(dir), "%s/small", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	in_child(0, enospc_child, dir, 0);
}

static int erofs_child(const char *dir)
{
	char path[PATH_MAX];

	private_tmpfs(dir, MS_RDONLY, SMALL_FS);
	snprintf(path, sizeof(path), "%s/ro", dir);
	return create_here(path);
}

static void test_file_read_only_file_system_is_erofs(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to mount a tmpfs");
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	in_child(0, erofs_child, dir, -EROFS);
}

/* Without O_TMPFILE the file is built under its name, and a failure
 * removes it again. */
static void test_file_without_o_tmpfile_builds_named_and_cleans_up(void **state)
{
	const char *path = fpath("named");
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	no_tmpfile = true;
	fail_fallocate = ENOSPC;
	assert_int_equal(shmx_file_create(path, 4096, 0, 0, &r), -ENOSPC);
	assert_int_equal(entries(tmpdir), 0);
	fail_fallocate = 0;
	assert_int_equal(shmx_file_create(path, 4096, SHMX_MAP, 0620, &r), 0);
	assert_string_equal(shmx_name(r), path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0620);
	assert_int_equal(shmx_file_create(path, 4096, 0, 0, &r), -EEXIST);
	shmx_close(r);
}

/* ---- kill -9 at each step of a create ---- */

struct create {
	const char *path;
	unsigned flags;
};

static void create_file(void *arg, int ready_fd)
{
	const struct create *c = arg;
	struct shmx_region *r = NULL;

	(void)ready_fd;
	shmx_file_create(c->path, 1 << 20, c->flags, 0, &r);
}

static void crash_leaves_nothing(enum stage s, unsigned flags)
{
	const char *path = fpath("crash");
	struct shmx_region *r = NULL;
	struct create c = { path, flags };

	tu_kill9(tu_fork_stalled(s, create_file, &c, CHILD_MS), CHILD_MS);
	assert_int_equal(entries(tmpdir), 0);
	assert_int_equal(shmx_file_open(path, 0, &r), -ENOENT);
	assert_int_equal(shmx_file_create(path, 4096, 0, 0, &r), 0);
	shmx_close(r);
	assert_int_equal(shmx_file_unlink(path), 0);
}

static void test_file_crash_before_reserve_leaves_nothing(void **state)
{
	(void)state;
	crash_leaves_nothing(AT_RESERVE, 0);
}

static void test_file_crash_before_map_leaves_nothing(void **state)
{
	(void)state;
	crash_leaves_nothing(AT_MAP, SHMX_MAP);
}

static void test_file_crash_before_durable_sync_leaves_nothing(void **state)
{
	(void)state;
	crash_leaves_nothing(AT_FSYNC, SHMX_DURABLE);
}

static void test_file_crash_before_link_leaves_nothing(void **state)
{
	(void)state;
	crash_leaves_nothing(AT_PUBLISH, SHMX_MAP | SHMX_DURABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_file_create_existing_path_is_eexist_and_keeps_it),
		T(test_file_symlink_is_eexist_to_create_and_eloop_to_open),
		T(test_file_missing_directory_or_file_is_enoent),
		T(test_file_directory_is_eisdir),
		T(test_file_not_a_region_file_is_refused),
		T(test_file_unwritable_directory_or_unreadable_file_is_eacces),
		T(test_file_mode_is_exact_under_umask_0777_as_nobody),
		T(test_file_full_file_system_is_enospc_and_leaves_nothing),
		T(test_file_read_only_file_system_is_erofs),
		T(test_file_without_o_tmpfile_builds_named_and_cleans_up),
		T(test_file_crash_before_reserve_leaves_nothing),
		T(test_file_crash_before_map_leaves_nothing),
		T(test_file_crash_before_durable_sync_leaves_nothing),
		T(test_file_crash_before_link_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, file_group_setup, file_group_teardown);
}
