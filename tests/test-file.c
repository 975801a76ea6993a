/* SPDX-License-Identifier: MIT */
/* File regions (shmx_file_create(3)) that work: the region contracts on a
 * file system path, durability (SHMX_DURABLE syncs the file, then its
 * directory), a struct array that outlives its writer, and the classic
 * open + ftruncate + mmap program and libshmx reading each other's files.
 * Every error, and what a failed or killed create leaves, is
 * test-file-errors.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "records.h"

#define NRECS      1000

/* ---- success paths ---- */

static void test_file_create_then_open_shares_the_bytes(void **state)
{
	const char *path = fpath("data");
	struct shmx_region *a = NULL, *b = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_file_create(path, 8192, SHMX_MAP, 0640, &a), 0);
	assert_string_equal(shmx_name(a), path);
	assert_int_equal(shmx_size(a), 8192);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	/* reserved: every page has blocks behind it */
	assert_true(st.st_blocks * 512 >= 8192);
	memcpy(shmx_addr(a), "hello", 6);
	assert_int_equal(shmx_file_open(path, SHMX_RDONLY | SHMX_MAP, &b), 0);
	assert_string_equal(shmx_name(b), path);
	assert_string_equal(shmx_addr(b), "hello");
	shmx_close(b);
	shmx_close(a);
	assert_int_equal(shmx_file_unlink(path), 0);
	assert_int_equal(entries(tmpdir), 0);
}

static void test_file_mode_0_means_0600_and_lazy_reserves_nothing(void **state)
{
	const char *path = fpath("lazy");
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_file_create(path, 1 << 20, SHMX_LAZY, 0, &r), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 1 << 20);
	assert_true(st.st_blocks * 512 < (1 << 20));
	shmx_close(r);
}

static void test_file_relative_path_is_in_the_working_directory(void **state)
{
	struct shmx_region *r = NULL;
	char old[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(shmx_file_create("rel.bin", 4096, 0, 0, &r), 0);
	assert_string_equal(shmx_name(r), "rel.bin");
	shmx_close(r);
	assert_int_equal(chdir(old), 0);
	assert_int_equal(entries(tmpdir), 1);
}

/* Every region call on a file region. */
static void test_file_region_supports_every_region_call(void **state)
{
	const char *path = fpath("calls");
	struct shmx_region *r = NULL;
	struct shmx_info info;
	char buf[4];
	struct stat st;

	(void)state;
	assert_int_equal(shmx_file_create(path, 4096, SHMX_UNLINK_ON_CLOSE, 0604, &r), 0);
	assert_null(shmx_addr(r));
	assert_true(shmx_fd(r) >= 0);
	assert_int_equal(shmx_write(r, 10, "abc", 3), 3);
	assert_int_equal(shmx_map(r), 0);
	assert_memory_equal((char *)shmx_addr(r) + 10, "abc", 3);
	assert_int_equal(shmx_resize(r, 3 * 4096), 0);
	assert_int_equal(shmx_size(r), 3 * 4096);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3 * 4096);
	assert_int_equal(shmx_write(r, 3 * 4096 - 3, "xyz", 3), 3);
	assert_int_equal(shmx_sync(r), 0);
	assert_int_equal(shmx_unmap(r), 0);
	assert_int_equal(shmx_read(r, 3 * 4096 - 3, buf, 3), 3);
	assert_memory_equal(buf, "xyz", 3);
	assert_int_equal(shmx_resize(r, 4096), 0);
	assert_int_equal(shmx_fstat(r, &info), 0);
	assert_int_equal(info.size, 4096);
	assert_int_equal(info.mode, 0604);
	assert_int_equal(info.uid, geteuid());
	assert_int_equal(info.holders, 0);
	assert_int_equal(shmx_sysv_id(r), -EOPNOTSUPP);
	assert_int_equal(shmx_anon_send(r, 0), -EOPNOTSUPP);
	/* created with SHMX_UNLINK_ON_CLOSE: the one removal asked for */
	shmx_close(r);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_file_sync_range_is_ms_sync_or_ms_async(void **state)
{
	const char *path = fpath("sync");
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_file_create(path, 3 * 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_sync_range(r, 0, 1, 0), -EINVAL);  /* not mapped */
	assert_int_equal(shmx_map(r), 0);
	assert_int_equal(shmx_sync_range(r, 5000, 10, 0), 0);
	assert_int_equal(msync_flags, MS_SYNC);
	assert_int_equal(shmx_sync_range(r, 100, 8000, SHMX_ASYNC), 0);
	assert_int_equal(msync_flags, MS_ASYNC);
	assert_int_equal(shmx_sync(r), 0);
	assert_int_equal(msync_flags, MS_SYNC);
	msync_flags = -1;
	assert_int_equal(shmx_sync_range(r, 3 * 4096, 0, 0), 0);
	assert_int_equal(msync_flags, -1);
	assert_int_equal(shmx_sync_range(r, 3 * 4096 + 1, 0, 0), -ERANGE);
	assert_int_equal(shmx_sync_range(r, 4096, 2 * 4096 + 1, 0), -ERANGE);
	assert_int_equal(shmx_sync_range(r, 0, SIZE_MAX, 0), -ERANGE);
	assert_int_equal(shmx_sync_range(r, 0, 1, SHMX_ASYNC << 1), -EINVAL);
	assert_int_equal(shmx_sync_range(NULL, 0, 1, 0), -EINVAL);
	shmx_close(r);
}

/* ---- durability ---- */

static void test_file_durable_syncs_the_file_then_its_directory(void **state)
{
	const char *path = fpath("durable");
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_file_create(path, 4096, 0, 0, &r), 0);
	shmx_close(r);
	assert_int_equal(fsyncs, 0);
	path = fpath("durable");
	assert_int_equal(shmx_file_create(path, 4096, SHMX_DURABLE, 0, &r), 0);
	assert_string_equal(fsync_log, "fd");
	shmx_close(r);
}

static void test_file_durable_failure_leaves_nothing(void **state)
{
	const char *path = fpath("eio");
	struct shmx_region *r = NULL;

	(void)state;
	fail_dir_fsync = EIO;
	assert_int_equal(shmx_file_create(path, 4096, SHMX_DURABLE, 0, &r), -EIO);
	assert_null(r);
	assert_int_equal(entries(tmpdir), 0);
	fail_dir_fsync = 0;
	assert_int_equal(shmx_file_create(path, 4096, SHMX_DURABLE, 0, &r), 0);
	shmx_close(r);
}

/* ---- a struct array that outlives its writer ---- */

static int write_records(const char *path)
{
	struct shmx_region *r = NULL;
	struct record *recs;
	int err;

	err = shmx_file_create(path, NRECS * sizeof(*recs), SHMX_MAP | SHMX_DURABLE,
			       0644, &r);
	if (err)
		return err;
	recs = shmx_addr(r);
	for (int i = 0; i < NRECS; i++)
		record_fill(&recs[i], i, 7);
	err = shmx_sync(r);
	shmx_close(r);
	return err;
}

static void check_records(const char *path, int seed)
{
	struct shmx_region *r = NULL;
	const struct record *recs;

	assert_int_equal(shmx_file_open(path, SHMX_RDONLY | SHMX_MAP, &r), 0);
	assert_int_equal(shmx_size(r), NRECS * sizeof(*recs));
	recs = shmx_addr(r);
	for (int i = 0; i < NRECS; i++)
		assert_true(record_ok(&recs[i], i, seed));
	shmx_close(r);
}

static void test_file_struct_array_outlives_its_writer(void **state)
{
	const char *path = fpath("records");

	(void)state;
	/* the writer has exited (reaped) before the reader starts */
	in_child(0, write_records, path, 0);
	check_records(path, 7);
}

static int run_tutorial(const char *verb, const char *path, const char *seed)
{
	char n[16];
	char *argv[] = { getenv("SHMX_FILE_TUTORIAL"), (char *)verb, (char *)path, n,
			 (char *)seed, NULL };
	struct tu_result res;
	int code;

	snprintf(n, sizeof(n), "%d", NRECS);
	assert_non_null(argv[0]);
	assert_int_equal(tu_run(argv, NULL, 0, CHILD_MS, &res), 0);
	if (res.exit_code)
		tu_print_lines("file-tutorial", res.err);
	code = res.exit_code;
	tu_result_free(&res);
	return code;
}

static void test_file_tutorial_writer_is_read_by_libshmx(void **state)
{
	const char *path = fpath("tutorial");

	(void)state;
	assert_int_equal(run_tutorial("write", path, "3"), 0);
	check_records(path, 3);
}

static void test_file_libshmx_writer_is_read_by_tutorial(void **state)
{
	const char *path = fpath("tutorial");

	(void)state;
	in_child(0, write_records, path, 0);
	assert_int_equal(run_tutorial("read", path, "7"), 0);
	/* the check itself can fail: another seed does not match */
	assert_int_equal(run_tutorial("read", path, "8"), 1);
}

/* Written through a file region while the tutorial program has it open
 * for reading, after it wrote it: the same pages both ways. */
static void test_file_libshmx_rewrites_a_tutorial_file_in_place(void **state)
{
	const char *path = fpath("inplace");
	struct shmx_region *r = NULL;
	struct record *recs;

	(void)state;
	assert_int_equal(run_tutorial("write", path, "1"), 0);
	assert_int_equal(shmx_file_open(path, SHMX_MAP, &r), 0);
	recs = shmx_addr(r);
	for (int i = 0; i < NRECS; i++)
		record_fill(&recs[i], i, 2);
	assert_int_equal(shmx_sync_range(r, 0, shmx_size(r), SHMX_ASYNC), 0);
	shmx_close(r);
	assert_int_equal(run_tutorial("read", path, "2"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_file_create_then_open_shares_the_bytes),
		T(test_file_mode_0_means_0600_and_lazy_reserves_nothing),
		T(test_file_relative_path_is_in_the_working_directory),
		T(test_file_region_supports_every_region_call),
		T(test_file_sync_range_is_ms_sync_or_ms_async),
		T(test_file_durable_syncs_the_file_then_its_directory),
		T(test_file_durable_failure_leaves_nothing),
		T(test_file_struct_array_outlives_its_writer),
		T(test_file_tutorial_writer_is_read_by_libshmx),
		T(test_file_libshmx_writer_is_read_by_tutorial),
		T(test_file_libshmx_rewrites_a_tutorial_file_in_place),
	};

	return cmocka_run_group_tests(tests, file_group_setup, file_group_teardown);
}
