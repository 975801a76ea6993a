/* SPDX-License-Identifier: MIT */
/* Regions against the real /dev/shm: every function's success path and the
 * errors its man page lists, plus the create/open contracts of shmx(7). How
 * a create is built and published is test-region-create.c; a region and
 * other processes, test-region-peers.c; a full /dev/shm and a resize it
 * refuses, test-limits.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

/* ---- create ---- */

static void test_create_defaults(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct stat st;
	int fl;

	(void)state;
	assert_int_equal(shmx_create(name, 65536, 0, 0, &r), 0);
	assert_non_null(r);
	assert_string_equal(shmx_name(r), name);
	assert_int_equal(shmx_size(r), 65536);
	assert_null(shmx_addr(r));
	assert_true(shmx_fd(r) >= 0);
	fl = fcntl(shmx_fd(r), F_GETFD);
	assert_true(fl & FD_CLOEXEC);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65536);
	/* pages are reserved up front: no SIGBUS later on a full /dev/shm */
	assert_true((uint64_t)st.st_blocks * 512 >= 65536);
	r = shmx_close(r);
	assert_null(r);
	/* closing never unlinks */
	assert_true(tu_exists(name));
	assert_int_equal(shmx_unlink(name), 0);
	assert_false(tu_exists(name));
}

static void test_create_lazy_reserves_nothing(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_create(name, 1 << 20, SHMX_LAZY, 0, &r), 0);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_int_equal(st.st_blocks, 0);
	shmx_close(r);
}

static void test_create_name_forms(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;

	(void)state;
	/* without the slash, as Python spells it; the handle keeps "/name" */
	assert_int_equal(shmx_create(name + 1, 4096, 0, 0, &r), 0);
	assert_string_equal(shmx_name(r), name);
	shmx_close(r);
	assert_true(tu_exists(name));
}

static void test_create_map_and_populate(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *o = NULL;
	unsigned char *p;

	(void)state;
	assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
	p = shmx_addr(r);
	assert_non_null(p);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[8191], 0);
	tu_pattern(p, 8192, 7);
	shmx_close(r);
	assert_int_equal(shmx_open(name, SHMX_POPULATE, &o), 0);
	assert_non_null(shmx_addr(o));
	p = shmx_addr(o);
	assert_int_equal(p[100], (unsigned char)(7 + 100 * 31));
	shmx_close(o);
}

static void test_create_errors(void **state)
{
	struct shmx_region *r = (struct shmx_region *)0x1;
	const char *name = tu_name();
	char longname[SHMX_NAME_MAX + 3];

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, NULL), -EINVAL);
	assert_int_equal(shmx_create(NULL, 4096, 0, 0, &r), -EINVAL);
	assert_int_equal(shmx_create("/", 4096, 0, 0, &r), -EINVAL);
	assert_int_equal(shmx_create("/a/b", 4096, 0, 0, &r), -EINVAL);
	assert_int_equal(shmx_create(name, 0, 0, 0, &r), -EINVAL);
	assert_int_equal(shmx_create(name, (size_t)INT64_MAX + 1, 0, 0, &r), -EFBIG);
	assert_int_equal(shmx_create(name, SIZE_MAX, 0, 0, &r), -EFBIG);
	assert_int_equal(shmx_create(name, 4096, SHMX_RDONLY, 0, &r), -EINVAL);
	assert_int_equal(shmx_create(name, 4096, 1u << 20, 0, &r), -EINVAL);
	assert_int_equal(shmx_create(name, 4096, 0, 01600, &r), -EINVAL);
	assert_int_equal(shmx_create(name, 4096, 0, 04600, &r), -EINVAL);
	longname[0] = '/';
	memset(longname + 1, 'x', SHMX_NAME_MAX + 1);
	longname[SHMX_NAME_MAX + 2] = 0;
	assert_int_equal(shmx_create(longname, 4096, 0, 0, &r), -ENAMETOOLONG);
	/* nothing written on failure, nothing created */
	assert_ptr_equal(r, (struct shmx_region *)0x1);
	assert_false(tu_exists(name));
}

static void test_create_exists_untouched(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *r2 = (struct shmx_region *)0x1;
	unsigned char buf[4096], back[4096];
	struct stat st;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0640, &r), 0);
	tu_pattern(buf, sizeof(buf), 42);
	memcpy(shmx_addr(r), buf, sizeof(buf));
	assert_int_equal(shmx_create(name, 8192, 0, 0600, &r2), -EEXIST);
	assert_ptr_equal(r2, (struct shmx_region *)0x1);
	/* the existing object keeps its size, mode and bytes */
	assert_int_equal(lstat(tu_shm_path(name), &st), 0);
	assert_int_equal(st.st_size, 4096);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(shmx_read(r, 0, back, sizeof(back)), 4096);
	assert_memory_equal(back, buf, sizeof(buf));
	shmx_close(r);
}

/* ---- open ---- */

static void test_open_rdwr_and_rdonly(void **state)
{
	const char *name = tu_name();
	struct shmx_region *w = NULL, *ro = NULL;
	unsigned char buf[100];

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0644, &w), 0);
	tu_pattern(shmx_addr(w), 4096, 3);
	assert_int_equal(shmx_open(name, SHMX_RDONLY | SHMX_MAP, &ro), 0);
	assert_int_equal(shmx_size(ro), 4096);
	assert_true(fcntl(shmx_fd(ro), F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(shmx_fd(ro), F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_memory_equal(shmx_addr(ro), shmx_addr(w), 4096);
	/* read-only handles refuse every write path */
	assert_int_equal(shmx_write(ro, 0, buf, 1), -EBADF);
	assert_int_equal(shmx_resize(ro, 8192), -EBADF);
	shmx_close(ro);
	shmx_close(w);
}

/* The read-only mapping is PROT_READ: /proc/self/maps says "r--s" and a
 * store kills the process with SIGSEGV. */
static void test_open_rdonly_really_readonly(void **state)
{
	const char *name = tu_name();
	struct shmx_region *w = NULL;
	pid_t pid;
	int code;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &w), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *ro = NULL;
		char line[512], want[64];
		int found = 0;
		FILE *f;

		TU_CKEQ(shmx_open(name, SHMX_RDONLY | SHMX_MAP, &ro), 0);
		snprintf(want, sizeof(want), "%lx-", (unsigned long)shmx_addr(ro));
		f = fopen("/proc/self/maps", "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, want, strlen(want)))
				found = !strncmp(strchr(line, ' ') + 1, "r--s", 4) ? 1 : 2;
		TU_CKEQ(found, 1);
		*(volatile char *)shmx_addr(ro) = 1;
		_exit(0);
	}
	tu_child_verdict(pid, 10000, &code);
	assert_int_equal(code, 128 + SIGSEGV);
	shmx_close(w);
}

static void test_open_errors(void **state)
{
	const char *name = tu_name(), *empty = tu_name(), *dir = tu_name();
	const char *fifo = tu_name(), *link = tu_name();
	struct shmx_region *r = (struct shmx_region *)0x1;
	int fd;

	(void)state;
	assert_int_equal(shmx_open(name, 0, NULL), -EINVAL);
	assert_int_equal(shmx_open(NULL, 0, &r), -EINVAL);
	assert_int_equal(shmx_open("..", 0, &r), -EINVAL);
	assert_int_equal(shmx_open(name, SHMX_LAZY, &r), -EINVAL);
	assert_int_equal(shmx_open(name, SHMX_UNLINK_ON_CLOSE, &r), -EINVAL);
	assert_int_equal(shmx_open(name, 0, &r), -ENOENT);
	/* exists but size 0: a creator that has not sized it yet, or foreign */
	fd = shm_open(empty, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(shmx_open(empty, 0, &r), -ENODATA);
	/* not regular files */
	assert_int_equal(mkdir(tu_shm_path(dir), 0700), 0);
	assert_int_equal(shmx_open(dir, SHMX_RDONLY, &r), -EISDIR);
	assert_int_equal(shmx_open(dir, 0, &r), -EISDIR);
	rmdir(tu_shm_path(dir));
	assert_int_equal(mkfifo(tu_shm_path(fifo), 0600), 0);
	assert_int_equal(shmx_open(fifo, 0, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_open(fifo, SHMX_RDONLY, &r), -EMEDIUMTYPE);
	assert_int_equal(symlink("/dev/shm/../shm/x", tu_shm_path(link)), 0);
	assert_int_equal(shmx_open(link, 0, &r), -ELOOP);
	assert_ptr_equal(r, (struct shmx_region *)0x1);
}

/* ---- map / unmap / close / unlink ---- */

static void test_map_unmap(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *o = NULL;

	(void)state;
	assert_int_equal(shmx_map(NULL), -EINVAL);
	assert_int_equal(shmx_unmap(NULL), -EINVAL);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_unmap(r), -EALREADY);
	assert_int_equal(shmx_map(r), 0);
	assert_int_equal(shmx_map(r), -EALREADY);
	memset(shmx_addr(r), 0xab, 4096);
	assert_int_equal(shmx_unmap(r), 0);
	assert_null(shmx_addr(r));
	assert_int_equal(shmx_unmap(r), -EALREADY);
	/* map takes the object's current size: another handle resized it */
	assert_int_equal(shmx_open(name, 0, &o), 0);
	assert_int_equal(shmx_resize(o, 3 * 4096), 0);
	assert_int_equal(shmx_map(r), 0);
	assert_int_equal(shmx_size(r), 3 * 4096);
	assert_int_equal(((unsigned char *)shmx_addr(r))[4095], 0xab);
	assert_int_equal(((unsigned char *)shmx_addr(r))[3 * 4096 - 1], 0);
	shmx_close(o);
	shmx_close(r);
}

static void test_map_truncated_to_zero(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(ftruncate(shmx_fd(r), 0), 0);
	assert_int_equal(shmx_map(r), -ENODATA);
	assert_null(shmx_addr(r));
	shmx_close(r);
}

static void test_close_and_unlink(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_region *r = NULL, *o = NULL;

	(void)state;
	assert_null(shmx_close(NULL));
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP | SHMX_UNLINK_ON_CLOSE, 0, &r), 0);
	/* an attacher's close never unlinks */
	assert_int_equal(shmx_open(name, 0, &o), 0);
	assert_null(shmx_close(o));
	assert_true(tu_exists(name));
	assert_null(shmx_close(r));
	assert_false(tu_exists(name));
	/* UNLINK_ON_CLOSE removes only the object it created, not a newer one
	 * that took the name meanwhile */
	assert_int_equal(shmx_create(name2, 4096, SHMX_UNLINK_ON_CLOSE, 0, &r), 0);
	assert_int_equal(shmx_unlink(name2), 0);
	assert_int_equal(shmx_create(name2, 4096, 0, 0, &o), 0);
	shmx_close(r);
	assert_true(tu_exists(name2));
	shmx_close(o);
	/* unlink errors */
	assert_int_equal(shmx_unlink(name), -ENOENT);
	assert_int_equal(shmx_unlink(NULL), -EINVAL);
	assert_int_equal(shmx_unlink(""), -EINVAL);
	assert_int_equal(shmx_unlink("/x/y"), -EINVAL);
}

/* A mapping outlives the name: unlink, then the bytes are still there. */
static void test_unlink_keeps_mappings(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	memset(shmx_addr(r), 5, 4096);
	assert_int_equal(shmx_unlink(name), 0);
	assert_int_equal(((char *)shmx_addr(r))[4000], 5);
	assert_int_equal(shmx_sync(r), 0);
	shmx_close(r);
}

/* ---- resize / sync ---- */

static void test_resize(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	unsigned char *p;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_resize(NULL, 4096), -EINVAL);
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	tu_pattern(shmx_addr(r), 4096, 9);
	assert_int_equal(shmx_resize(r, 0), -EINVAL);
	assert_int_equal(shmx_resize(r, SIZE_MAX), -EFBIG);
	assert_int_equal(shmx_resize(r, 1 << 20), 0);
	assert_int_equal(shmx_size(r), 1 << 20);
	p = shmx_addr(r);
	assert_int_equal(p[4095], (unsigned char)(9 + 4095 * 31 + 15));
	assert_int_equal(p[(1 << 20) - 1], 0);
	p[(1 << 20) - 1] = 1;
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_true((uint64_t)st.st_blocks * 512 >= (1 << 20));
	assert_int_equal(shmx_resize(r, 2048), 0);
	assert_int_equal(shmx_size(r), 2048);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_size, 2048);
	p = shmx_addr(r);
	assert_int_equal(p[2047], (unsigned char)(9 + 2047 * 31 + 7));
	/* unmapped resize */
	assert_int_equal(shmx_unmap(r), 0);
	assert_int_equal(shmx_resize(r, 8192), 0);
	assert_int_equal(shmx_size(r), 8192);
	assert_null(shmx_addr(r));
	shmx_close(r);
}

static void test_sync(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_sync(NULL), -EINVAL);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_sync(r), -EINVAL);
	assert_int_equal(shmx_map(r), 0);
	assert_int_equal(shmx_sync(r), 0);
	shmx_close(r);
}

static void test_accessors_null(void **state)
{
	(void)state;
	assert_null(shmx_addr(NULL));
	assert_int_equal(shmx_size(NULL), 0);
	assert_null(shmx_name(NULL));
	assert_int_equal(shmx_fd(NULL), -EBADF);
}

/* ---- read / write ---- */

static void check_rw(struct shmx_region *r)
{
	unsigned char in[300], out[300];

	tu_pattern(in, sizeof(in), 77);
	assert_int_equal(shmx_write(r, 100, in, sizeof(in)), 300);
	memset(out, 0, sizeof(out));
	assert_int_equal(shmx_read(r, 100, out, sizeof(out)), 300);
	assert_memory_equal(in, out, sizeof(in));
	/* reads stop at the end, writes past it are refused whole */
	assert_int_equal(shmx_read(r, 4000, out, sizeof(out)), 96);
	assert_int_equal(shmx_read(r, 4096, out, sizeof(out)), 0);
	assert_int_equal(shmx_read(r, 4097, out, 1), -ERANGE);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(shmx_write(r, 4000, out, sizeof(out)), -ERANGE);
	assert_int_equal(shmx_write(r, SIZE_MAX, out, 1), -ERANGE);
	assert_int_equal(shmx_read(r, 4000, in, 96), 96);
	assert_int_not_equal(in[0], 0xee);
	assert_int_equal(shmx_write(r, 4096, out, 0), 0);
	assert_int_equal(shmx_write(r, 0, NULL, 1), -EINVAL);
	assert_int_equal(shmx_read(r, 0, NULL, 1), -EINVAL);
	assert_int_equal(shmx_read(r, 0, NULL, 0), 0);
}

static void test_read_write(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	char c;

	(void)state;
	assert_int_equal(shmx_read(NULL, 0, &c, 1), -EINVAL);
	assert_int_equal(shmx_write(NULL, 0, &c, 1), -EINVAL);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	check_rw(r);            /* through the fd */
	assert_int_equal(shmx_map(r), 0);
	check_rw(r);            /* through the mapping */
	shmx_close(r);
}

/* A peer shrank the object: growing reserves from the real end, so the
 * whole new size is backed. */
static void test_resize_after_peer_shrink(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *o = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_create(name, 1 << 20, 0, 0, &r), 0);
	assert_int_equal(shmx_open(name, 0, &o), 0);
	assert_int_equal(shmx_resize(o, 4096), 0);
	assert_int_equal(shmx_resize(r, 2 << 20), 0);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_size, 2 << 20);
	assert_true((uint64_t)st.st_blocks * 512 >= (2 << 20));
	shmx_close(o);
	shmx_close(r);
}

/* ---- stat ---- */

static void test_stat(void **state)
{
	const char *name = tu_name();
	struct shmx_info info, untouched;
	struct shmx_region *r = NULL;
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(shmx_stat(name, NULL), -EINVAL);
	assert_int_equal(shmx_stat("/a/b", &info), -EINVAL);
	memset(&untouched, 0x5a, sizeof(untouched));
	info = untouched;
	assert_int_equal(shmx_stat(name, &info), -ENOENT);
	assert_memory_equal(&info, &untouched, sizeof(info));
	assert_int_equal(shmx_create(name, 12345, 0, 0640, &r), 0);
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(info.size, 12345);
	assert_int_equal(info.mode, 0640);
	assert_int_equal(info.uid, st.st_uid);
	assert_int_equal(info.gid, st.st_gid);
	assert_int_equal(info.mtime.tv_sec, st.st_mtim.tv_sec);
	assert_int_equal(info.mtime.tv_nsec, st.st_mtim.tv_nsec);
	assert_int_equal(info.holders, 0);
	/* a slot lock held through another open file description shows up,
	 * and vanishes when it is released */
	fd = shm_open(name, O_RDWR, 0);
	assert_int_equal(shmx__slot_lock(fd, SHMX_SLOT_OWNER), 0);
	assert_int_equal(shmx__slot_lock(fd, SHMX_SLOT_READER), 0);
	assert_int_equal(shmx__slot_lock(shmx_fd(r), SHMX_SLOT_READER), -EBUSY);
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_READER));
	assert_int_equal(shmx__slot_held(shmx_fd(r), SHMX_SLOT_OWNER), 1);
	assert_int_equal(shmx__slot_held(shmx_fd(r), SHMX_SLOT_WRITER), 0);
	close(fd);
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, 0);
	shmx_close(r);
}

/* ---- misc ---- */

static void test_strerror_and_version(void **state)
{
	(void)state;
	assert_string_equal(shmx_strerror(-EOWNERDEAD), "Peer process died");
	assert_string_equal(shmx_strerror(-EPIPE), "Peer closed the channel");
	assert_string_equal(shmx_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(shmx_strerror(0), "Success");
	assert_string_equal(shmx_strerror(5), "Unknown error");
	assert_string_equal(shmx_strerror(-100000), "Unknown error");
	assert_string_equal(shmx_version(), SHMX_VERSION_STRING);
	/* relative to the header's own version, so a release bump keeps it */
	assert_true(SHMX_VERSION_AT_LEAST(SHMX_VERSION_MAJOR, SHMX_VERSION_MINOR,
					  SHMX_VERSION_PATCH));
	assert_true(SHMX_VERSION_AT_LEAST(SHMX_VERSION_MAJOR, 0, 0));
	assert_true(SHMX_VERSION_AT_LEAST(0, 1, 9));
	assert_false(SHMX_VERSION_AT_LEAST(SHMX_VERSION_MAJOR, SHMX_VERSION_MINOR,
					   SHMX_VERSION_PATCH + 1));
	assert_false(SHMX_VERSION_AT_LEAST(SHMX_VERSION_MAJOR, SHMX_VERSION_MINOR + 1, 0));
	assert_false(SHMX_VERSION_AT_LEAST(SHMX_VERSION_MAJOR + 1, 0, 0));
}

/* 10,000 create/open/close cycles leak no descriptor and no mapping. */
static void test_no_leaks(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *o = NULL;
	int fds = tu_count_fds();

	(void)state;
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
		assert_int_equal(shmx_open(name, SHMX_MAP, &o), 0);
		o = shmx_close(o);
		assert_int_equal(shmx_unlink(name), 0);
		r = shmx_close(r);
	}
	assert_int_equal(tu_count_fds(), fds);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_defaults),
		T(test_create_lazy_reserves_nothing),
		T(test_create_name_forms),
		T(test_create_map_and_populate),
		T(test_create_errors),
		T(test_create_exists_untouched),
		T(test_open_rdwr_and_rdonly),
		T(test_open_rdonly_really_readonly),
		T(test_open_errors),
		T(test_map_unmap),
		T(test_map_truncated_to_zero),
		T(test_close_and_unlink),
		T(test_unlink_keeps_mappings),
		T(test_resize),
		T(test_sync),
		cmocka_unit_test(test_accessors_null),
		T(test_read_write),
		T(test_resize_after_peer_shrink),
		T(test_stat),
		cmocka_unit_test(test_strerror_and_version),
		T(test_no_leaks),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
