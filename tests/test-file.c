/* SPDX-License-Identifier: MIT */
/* File regions (shmx_file_create(3)): the region contracts on a file system
 * path, every error the pages list, by value; creation killed at each step
 * leaves nothing; a struct array outlives its writer; the classic
 * open + ftruncate + mmap program and libshmx read each other's files.
 * Everything lives under a mkdtemp directory in /tmp, emptied after each
 * test and removed at the end. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "records.h"
#include "testutil.h"

#define NOBODY     65534
#define CHILD_MS   20000
#define NRECS      1000
#define SMALL_FS   "size=64k"

static char tmpdir[64];       /* "/tmp/shmx-test-file-XXXXXX" */

/* A fresh path tmpdir/what-N (a few buffers in turn). */
static const char *fpath(const char *what)
{
	static char bufs[4][PATH_MAX];
	static unsigned next, seq;
	char *b = bufs[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s-%u", tmpdir, what, seq++);
	return b;
}

/* Entries of dir besides "." and "..". */
static int entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	if (f->level > 0)
		remove(path);
	return 0;
}

static void empty_tmpdir(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shmx-test-file-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0)
		return -1;
	return tu_group_setup(state);
}

static int group_teardown(void **state)
{
	empty_tmpdir();
	rmdir(tmpdir);
	return tu_group_teardown(state);
}

static int teardown(void **state)
{
	empty_tmpdir();
	return tu_teardown(state);
}

/* ---- failure injection and stopping points (-Wl,--wrap) ---- */

enum stage { NONE, AT_RESERVE, AT_MAP, AT_FSYNC, AT_PUBLISH };

static enum stage stall_at;
static int stall_fd = -1;
static int fail_fallocate;      /* errno posix_fallocate returns, 0: none */
static int fail_dir_fsync;      /* errno fsync of a directory gives */
static bool no_tmpfile;         /* open(O_TMPFILE) fails as on old file systems */
static int fsyncs;              /* fsync calls: 'f' file, 'd' directory */
static char fsync_log[8];
static int msync_flags = -1;

static void stall(enum stage s)
{
	if (stall_at != s)
		return;
	(void)!write(stall_fd, "s", 1);
	for (;;)
		pause();
}

int __real_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len)
{
	stall(AT_RESERVE);
	if (fail_fallocate)
		return fail_fallocate;
	return __real_posix_fallocate64(fd, off, len);
}

void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	stall(AT_MAP);
	return __real_mmap64(addr, len, prot, flags, fd, off);
}

int __real_shmx__publish_at(struct shmx_region *r, const char *path);
int __wrap_shmx__publish_at(struct shmx_region *r, const char *path);
int __wrap_shmx__publish_at(struct shmx_region *r, const char *path)
{
	stall(AT_PUBLISH);
	return __real_shmx__publish_at(r, path);
}

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
	struct stat st;
	bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);

	if (fsyncs < (int)sizeof(fsync_log) - 1)
		fsync_log[fsyncs++] = dir ? 'd' : 'f';
	stall(AT_FSYNC);
	if (dir && fail_dir_fsync) {
		errno = fail_dir_fsync;
		return -1;
	}
	return __real_fsync(fd);
}

int __real_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (no_tmpfile && (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return __real_open64(path, flags, mode);
}

int __real_msync(void *addr, size_t len, int flags);
int __wrap_msync(void *addr, size_t len, int flags);
int __wrap_msync(void *addr, size_t len, int flags)
{
	msync_flags = flags;
	return __real_msync(addr, len, flags);
}

static int reset(void **state)
{
	(void)state;
	stall_at = NONE;
	fail_fallocate = fail_dir_fsync = 0;
	no_tmpfile = false;
	fsyncs = 0;
	memset(fsync_log, 0, sizeof(fsync_log));
	msync_flags = -1;
	return 0;
}

/* ---- children: as another user, in a private mount namespace ---- */

#define AS_NOBODY 1u
#define NEW_NS    2u

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		_exit(120);
}

/* A tmpfs of opts on dir, seen only by this process: it goes with it. */
static void private_tmpfs(const char *dir, unsigned long mflags, const char *opts)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", mflags, opts))
		_exit(121);
}

/* Run fn(arg) in a child; its result is the child's exit code: 0, or the
 * errno of the failure, so tests compare by value. */
static int in_child(unsigned how, int (*fn)(const char *), const char *arg)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (how & AS_NOBODY)
			drop_to_nobody();
		_exit(fn(arg));
	}
	assert_int_equal(tu_waitpid(pid, CHILD_MS, &st), 0);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static bool can_drop(void)
{
	return geteuid() == 0;
}

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
	return -err;
}

static int open_here(const char *path)
{
	struct shmx_region *r = NULL;
	int err = shmx_file_open(path, SHMX_RDONLY, &r);

	shmx_close(r);
	return -err;
}

static void test_file_unwritable_directory_or_unreadable_file_is_eacces(void **state)
{
	const char *path = fpath("root-only");
	struct shmx_region *r = NULL;

	(void)state;
	if (!can_drop())
		tu_skip("needs root to run a child as uid 65534");
	/* tmpdir is root's, 0755: nobody may not create in it */
	assert_int_equal(in_child(AS_NOBODY, create_here, fpath("nobody")), EACCES);
	assert_int_equal(entries(tmpdir), 0);
	assert_int_equal(shmx_file_create(path, 4096, 0, 0600, &r), 0);
	shmx_close(r);
	assert_int_equal(in_child(AS_NOBODY, open_here, path), EACCES);
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
	assert_int_equal(in_child(AS_NOBODY, create_here, path), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, NOBODY);
}

static int enospc_child(const char *dir)
{
	char path[PATH_MAX];
	struct shmx_region *r = NULL;
	int err;

	private_tmpfs(dir, 0, SMALL_FS);
	snprintf(path, sizeof(path), "%s/big", dir);
	err = shmx_file_create(path, 1 << 20, 0, 0, &r);
	if (err != -ENOSPC)
		return err ? -err : 100;
	/* nothing half-made, and a create that fits still works */
	if (entries(dir) != 0)
		return 101;
	err = shmx_file_create(path, 4096, 0, 0, &r);
	shmx_close(r);
	return err ? 102 : ENOSPC;
}

static void test_file_full_file_system_is_enospc_and_leaves_nothing(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to mount a small tmpfs");
	snprintf(dir, sizeof(dir), "%s/small", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(in_child(0, enospc_child, dir), ENOSPC);
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
	assert_int_equal(in_child(0, erofs_child, dir), EROFS);
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

static void crash_child(enum stage s, unsigned flags, const char *path)
{
	struct shmx_region *r = NULL;
	struct pollfd pfd;
	int p[2], st;
	pid_t pid;
	char c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		stall_at = s;
		stall_fd = p[1];
		shmx_file_create(path, 1 << 20, flags, 0, &r);
		_exit(3);       /* the stall never returns */
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, CHILD_MS), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, CHILD_MS, &st), 0);
	assert_true(WIFSIGNALED(st));
}

static void crash_leaves_nothing(enum stage s, unsigned flags)
{
	const char *path = fpath("crash");
	struct shmx_region *r = NULL;

	crash_child(s, flags, path);
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

/* ---- a struct array that outlives its writer ---- */

static int write_records(const char *path)
{
	struct shmx_region *r = NULL;
	struct record *recs;
	int err;

	err = shmx_file_create(path, NRECS * sizeof(*recs), SHMX_MAP | SHMX_DURABLE,
			       0644, &r);
	if (err)
		return -err;
	recs = shmx_addr(r);
	for (int i = 0; i < NRECS; i++)
		record_fill(&recs[i], i, 7);
	err = shmx_sync(r);
	shmx_close(r);
	return -err;
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
	assert_int_equal(in_child(0, write_records, path), 0);
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
	assert_int_equal(in_child(0, write_records, path), 0);
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
#define T(f) cmocka_unit_test_setup_teardown(f, reset, teardown)
		T(test_file_create_then_open_shares_the_bytes),
		T(test_file_mode_0_means_0600_and_lazy_reserves_nothing),
		T(test_file_relative_path_is_in_the_working_directory),
		T(test_file_region_supports_every_region_call),
		T(test_file_sync_range_is_ms_sync_or_ms_async),
		T(test_file_durable_syncs_the_file_then_its_directory),
		T(test_file_durable_failure_leaves_nothing),
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
		T(test_file_struct_array_outlives_its_writer),
		T(test_file_tutorial_writer_is_read_by_libshmx),
		T(test_file_libshmx_writer_is_read_by_tutorial),
		T(test_file_libshmx_rewrites_a_tutorial_file_in_place),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
