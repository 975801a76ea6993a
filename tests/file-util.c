/* SPDX-License-Identifier: MIT */
/* What the file region tests share (file-util.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "file-util.h"

char tmpdir[64];

const char *fpath(const char *what)
{
	static char bufs[4][PATH_MAX];
	static unsigned next, seq;
	char *b = bufs[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s-%u", tmpdir, what, seq++);
	return b;
}

int entries(const char *dir)
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

int file_group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shmx-test-file-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0)
		return -1;
	return tu_group_setup(state);
}

int file_group_teardown(void **state)
{
	tu_empty_dir(tmpdir);
	rmdir(tmpdir);
	return tu_group_teardown(state);
}

int file_teardown(void **state)
{
	tu_empty_dir(tmpdir);
	return tu_teardown(state);
}

/* ---- failure injection and stopping points (-Wl,--wrap) ---- */

int fail_fallocate;
int fail_dir_fsync;
bool no_tmpfile;
int fsyncs;
char fsync_log[8];
int msync_flags = -1;

int __real_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len)
{
	tu_stall(AT_RESERVE);
	if (fail_fallocate)
		return fail_fallocate;
	return __real_posix_fallocate64(fd, off, len);
}

void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	tu_stall(AT_MAP);
	return __real_mmap64(addr, len, prot, flags, fd, off);
}

int __real_shmx__publish_at(struct shmx_region *r, const char *path);
int __wrap_shmx__publish_at(struct shmx_region *r, const char *path);
int __wrap_shmx__publish_at(struct shmx_region *r, const char *path)
{
	tu_stall(AT_PUBLISH);
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
	tu_stall(AT_FSYNC);
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

int file_reset(void **state)
{
	(void)state;
	fail_fallocate = fail_dir_fsync = 0;
	no_tmpfile = false;
	fsyncs = 0;
	memset(fsync_log, 0, sizeof(fsync_log));
	msync_flags = -1;
	return 0;
}

/* ---- children ---- */

static void drop_to_nobody(void)
{
	TU_CKEQ(setgroups(0, NULL), 0);
	TU_CKEQ(setresgid(NOBODY, NOBODY, NOBODY), 0);
	TU_CKEQ(setresuid(NOBODY, NOBODY, NOBODY), 0);
}

void in_child(unsigned how, int (*fn)(const char *), const char *arg, int want)
{
	pid_t pid = tu_fork();

	if (pid == 0) {
		if (how & AS_NOBODY)
			drop_to_nobody();
		TU_CKEQ(fn(arg), want);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
}

bool can_drop(void)
{
	return geteuid() == 0;
}
