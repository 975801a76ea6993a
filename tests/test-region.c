/* SPDX-License-Identifier: MIT */
/* Regions against the real /dev/shm: every function's success path and the
 * errors its man page lists, plus the create/open contracts of shmx(7). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

static char self_exe[PATH_MAX];

/* --wrap=posix_fallocate64 (what the 64-bit-off_t build calls): inject
 * failures the kernel will not give on demand */
int __real_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len);
static int fallocate_eintr;   /* fail with EINTR this many times */
static int fallocate_error;   /* then fail once with this error */
static int fallocate_calls;

int __wrap_posix_fallocate64(int fd, off_t off, off_t len)
{
	fallocate_calls++;
	if (fallocate_eintr > 0) {
		fallocate_eintr--;
		return EINTR;
	}
	if (fallocate_error) {
		int e = fallocate_error;

		fallocate_error = 0;
		return e;
	}
	return __real_posix_fallocate64(fd, off, len);
}

/* --wrap=linkat: as on a kernel before 6.10 (AT_EMPTY_PATH refused with
 * ENOENT without CAP_DAC_READ_SEARCH) with no /proc mounted. */
int __real_linkat(int olddir, const char *old, int newdir, const char *new, int flags);
int __wrap_linkat(int olddir, const char *old, int newdir, const char *new, int flags);
static bool linkat_old_kernel_no_proc;

int __wrap_linkat(int olddir, const char *old, int newdir, const char *new, int flags)
{
	if (linkat_old_kernel_no_proc &&
	    ((flags & AT_EMPTY_PATH) || !strncmp(old, "/proc/", strlen("/proc/")))) {
		errno = ENOENT;
		return -1;
	}
	return __real_linkat(olddir, old, newdir, new, flags);
}

static char *shm_path(const char *name)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "/dev/shm%s", name);
	return buf;
}

static void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 31 + (i >> 8));
}

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

/* glibc keeps semaphore "/x" as /dev/shm/sem.x, so a region called
 * "/sem.X.shmx-w" would be the file of pair X's semaphore: it would make
 * shmx_pair_create() on X fail, and shmx_pair_unlink("/X") remove it. No
 * region or channel takes a name in that namespace (shmx(7), Names). */
static void test_semaphore_file_names_refused(void **state)
{
	const char *x = tu_name();
	struct shmx_region *r = NULL, *o = NULL;
	struct shmx_chan *c = NULL;
	struct shmx_pair *p = NULL;
	struct shmx_info info;
	char sem[300];

	(void)state;
	snprintf(sem, sizeof(sem), "/sem.%s.shmx-w", x + 1);
	assert_int_equal(shmx_create(sem, 4096, 0, 0, &o), -EINVAL);
	assert_int_equal(shmx_create(sem + 1, 4096, 0, 0, &o), -EINVAL);
	assert_int_equal(shmx_chan_create(sem, 4096, SHMX_CHAN_PRODUCER, 0, &c), -EINVAL);
	assert_null(o);
	assert_null(c);
	assert_false(tu_sem_exists(x, ".shmx-w"));
	/* so the pair's semaphore file is the pair's alone */
	assert_int_equal(shmx_create(x, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	assert_true(tu_sem_exists(x, ".shmx-w"));
	/* and the region calls do not reach it under its file name */
	assert_int_equal(shmx_open(sem, SHMX_RDONLY, &o), -EINVAL);
	assert_int_equal(shmx_stat(sem, &info), -EINVAL);
	assert_int_equal(shmx_unlink(sem), -EINVAL);
	assert_int_equal(shmx_chan_unlink(sem + 1), -EINVAL);
	assert_true(tu_sem_exists(x, ".shmx-w"));
	shmx_pair_close(p);
	shmx_close(r);
}

/* Only the prefix "sem." is glibc's: names that merely start with "sem",
 * or hold "sem." further on, are ordinary. */
static const char *const near_sem[][2] = {
	{ "/sem", "" }, { "/sem-", "" }, { "/x", "sem.y" }, { "/SEM.", "" },
};
#define N_NEAR_SEM (sizeof(near_sem) / sizeof(near_sem[0]))
static char near_sem_base[64];

static const char *near_sem_name(size_t i)
{
	static char name[300];

	snprintf(name, sizeof(name), "%s%s%s", near_sem[i][0], near_sem_base + 1,
		 near_sem[i][1]);
	return name;
}

static int near_sem_teardown(void **state)
{
	for (size_t i = 0; i < N_NEAR_SEM && near_sem_base[0]; i++)
		shm_unlink(near_sem_name(i));
	return tu_teardown(state);
}

static void test_names_near_semaphore_prefix_work(void **state)
{
	struct shmx_region *r = NULL;
	const char *name;

	(void)state;
	snprintf(near_sem_base, sizeof(near_sem_base), "%s", tu_name());
	for (size_t i = 0; i < N_NEAR_SEM; i++) {
		name = near_sem_name(i);
		assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
		assert_true(tu_exists(name));
		r = shmx_close(r);
		assert_int_equal(shmx_unlink(name), 0);
	}
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
	fill(p, 8192, 7);
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
	fill(buf, sizeof(buf), 42);
	memcpy(shmx_addr(r), buf, sizeof(buf));
	assert_int_equal(shmx_create(name, 8192, 0, 0600, &r2), -EEXIST);
	assert_ptr_equal(r2, (struct shmx_region *)0x1);
	/* the existing object keeps its size, mode and bytes */
	assert_int_equal(lstat(shm_path(name), &st), 0);
	assert_int_equal(st.st_size, 4096);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(shmx_read(r, 0, back, sizeof(back)), 4096);
	assert_memory_equal(back, buf, sizeof(buf));
	shmx_close(r);
}

static void test_create_enospc_larger_than_devshm(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = (struct shmx_region *)0x1;
	struct statvfs vfs;
	uint64_t total;

	(void)state;
	assert_int_equal(statvfs("/dev/shm", &vfs), 0);
	total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	assert_int_equal(shmx_create(name, total + (1 << 20), 0, 0, &r), -ENOSPC);
	assert_ptr_equal(r, (struct shmx_region *)0x1);
	assert_false(tu_exists(name));
}

/* A tmpfs of 1 MiB mounted over /dev/shm in a private mount namespace: a
 * full /dev/shm gives -ENOSPC at create time and leaves no name. */
static void test_create_enospc_small_tmpfs(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0) {
		tu_skip("needs root to mount a small tmpfs");
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_region *a = NULL, *b = NULL;

		if (unshare(CLONE_NEWNS) < 0)
			_exit(77);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(77);
		if (mount("shmx-test", "/dev/shm", "tmpfs", 0, "size=1m") < 0)
			_exit(77);
		if (shmx_create("/shmx-test-full-a", 768 << 10, 0, 0, &a) != 0)
			_exit(1);
		if (shmx_create("/shmx-test-full-b", 512 << 10, 0, 0, &b) != -ENOSPC)
			_exit(2);
		if (tu_exists("/shmx-test-full-b"))
			_exit(3);
		/* the reservation stays: the first object is fully writable */
		if (shmx_map(a) != 0)
			_exit(4);
		memset(shmx_addr(a), 1, 768 << 10);
		_exit(0);
	}
	assert_int_equal(tu_waitpid(pid, 20000, &st), 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		tu_skip("cannot mount tmpfs in a new mount namespace here");
		return;
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_create_fallocate_eintr_retried(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	fallocate_calls = 0;
	fallocate_eintr = 3;
	assert_int_equal(shmx_create(name, 65536, 0, 0, &r), 0);
	assert_int_equal(fallocate_calls, 4);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 >= 65536);
	shmx_close(r);
}

/* Any failure after the name exists removes the name again. */
static void test_create_failure_leaves_nothing(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;

	(void)state;
	fallocate_error = ENOSPC;
	assert_int_equal(shmx_create(name, 65536, 0, 0, &r), -ENOSPC);
	assert_false(tu_exists(name));
	fallocate_error = EIO;
	assert_int_equal(shmx_create(name, 65536, SHMX_MAP, 0, &r), -EIO);
	assert_false(tu_exists(name));
	assert_null(r);
	fallocate_error = 0;
}

/* ---- open ---- */

static void test_open_rdwr_and_rdonly(void **state)
{
	const char *name = tu_name();
	struct shmx_region *w = NULL, *ro = NULL;
	unsigned char buf[100];

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0644, &w), 0);
	fill(shmx_addr(w), 4096, 3);
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
	int st;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &w), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_region *ro = NULL;
		char line[512], want[64];
		int found = 0;
		FILE *f;

		signal(SIGSEGV, SIG_DFL);
		if (shmx_open(name, SHMX_RDONLY | SHMX_MAP, &ro) != 0)
			_exit(10);
		snprintf(want, sizeof(want), "%lx-", (unsigned long)shmx_addr(ro));
		f = fopen("/proc/self/maps", "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, want, strlen(want)))
				found = !strncmp(strchr(line, ' ') + 1, "r--s", 4) ? 1 : 2;
		if (found != 1)
			_exit(11);
		*(volatile char *)shmx_addr(ro) = 1;
		_exit(12);
	}
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
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
	assert_int_equal(mkdir(shm_path(dir), 0700), 0);
	assert_int_equal(shmx_open(dir, SHMX_RDONLY, &r), -EISDIR);
	assert_int_equal(shmx_open(dir, 0, &r), -EISDIR);
	rmdir(shm_path(dir));
	assert_int_equal(mkfifo(shm_path(fifo), 0600), 0);
	assert_int_equal(shmx_open(fifo, 0, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_open(fifo, SHMX_RDONLY, &r), -EMEDIUMTYPE);
	assert_int_equal(symlink("/dev/shm/../shm/x", shm_path(link)), 0);
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
	fill(shmx_addr(r), 4096, 9);
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

static void test_resize_failure_changes_nothing(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	fallocate_error = ENOSPC;
	assert_int_equal(shmx_resize(r, 1 << 20), -ENOSPC);
	assert_int_equal(shmx_size(r), 4096);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_size, 4096);
	memset(shmx_addr(r), 1, 4096);
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

	fill(in, sizeof(in), 77);
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

/* A socket bound in /dev/shm is not a shared-memory object either. */
static void test_open_socket(void **state)
{
	const char *name = tu_name();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct shmx_region *r = NULL;
	struct shmx_info info;
	int s;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/dev/shm%s", name);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(shmx_open(name, 0, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_open(name, SHMX_RDONLY, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_stat(name, &info), -EMEDIUMTYPE);
	assert_null(r);
	close(s);
}

/* The ERRORS entry ".B NAME" of docs/man/page, up to the next entry:
 * malloc'd, or NULL if the page has none. */
static char *man_error_entry(const char *page, const char *errname)
{
	char path[PATH_MAX], key[64], *text = NULL, *start, *end, *entry;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "docs/man/%s", page);
	f = fopen(tu_source_path(path), "re");
	assert_non_null(f);
	assert_true(getdelim(&text, &len, 0, f) > 0);
	fclose(f);
	snprintf(key, sizeof(key), ".TP\n.B %s\n", errname);
	start = strstr(text, key);
	if (!start) {
		free(text);
		return NULL;
	}
	start += strlen(key);
	end = strstr(start, "\n.TP\n");
	entry = strndup(start, end ? (size_t)(end - start) : strlen(start));
	free(text);
	return entry;
}

/* What the pages promise for a socket planted in /dev/shm is what the
 * calls return. */
static void test_man_pages_name_the_socket_error(void **state)
{
	static const char *const pages[] = { "shmx_open.3", "shmx_stat.3" };
	const char *name = tu_name();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct shmx_region *r = NULL;
	struct shmx_info info;
	int s, got[2];

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/dev/shm%s", name);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	got[0] = shmx_open(name, 0, &r);
	got[1] = shmx_stat(name, &info);
	close(s);
	for (size_t i = 0; i < 2; i++) {
		char *entry = man_error_entry(pages[i], strerrorname_np(-got[i]));

		if (!entry || !strstr(entry, "socket"))
			fail_msg("%s: no %s entry that names a socket", pages[i],
				 strerrorname_np(-got[i]));
		free(entry);
		entry = man_error_entry(pages[i], "ENXIO");
		if (entry)
			fail_msg("%s lists ENXIO, which no call returns", pages[i]);
	}
}

/* The two-step create behind every create: invisible until published,
 * nothing left if the creator dies first, -EEXIST at publish. */
static void test_hidden_create(void **state)
{
	const char *name = tu_name(), *taken = tu_name();
	struct shmx_region *r = NULL, *t = NULL;
	int p[2], st;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(shmx__create(name, 4096, SHMX_MAP, 0640, &r), 0);
	assert_false(tu_exists(name));
	memset(shmx_addr(r), 7, 4096);
	assert_int_equal(shmx__publish(r, name), 0);
	assert_string_equal(shmx_name(r), name);
	assert_true(tu_exists(name));
	assert_int_equal(lstat(shm_path(name), &(struct stat){ 0 }), 0);
	shmx_close(r);
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	assert_int_equal(((char *)shmx_addr(r))[4095], 7);
	shmx_close(r);
	/* the name was taken meanwhile: publish fails, discard leaves the
	 * other object alone */
	assert_int_equal(shmx__create(taken, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_create(taken, 100, 0, 0, &t), 0);
	assert_int_equal(shmx__publish(r, taken), -EEXIST);
	shmx__discard(r);
	assert_true(tu_exists(taken));
	assert_int_equal(shmx_size(t), 100);
	shmx_close(t);
	/* large sizes fail fast, before reserving anything */
	assert_int_equal(shmx__create(taken, 2 << 20, 0, 0, &r), -EEXIST);
	/* a creator killed before publishing leaves nothing at all */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_region *h = NULL;
		const char *n = tu_name();

		if (shmx__create(n, 1 << 20, 0, 0, &h))
			_exit(1);
		(void)!write(p[1], n, strlen(n) + 1);
		for (;;)
			pause();
	}
	close(p[1]);
	{
		char child_name[64] = "";
		ssize_t n = read(p[0], child_name, sizeof(child_name));

		assert_true(n > 0);
		kill(pid, SIGKILL);
		assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
		assert_false(tu_exists(child_name));
	}
	close(p[0]);
	(void)c;
}

/* Where an unnamed object cannot be given a name, creates still work:
 * a region and a channel with their exact mode whatever the umask, a
 * failed create leaves no name, a taken name stays untouched. Returns 0,
 * or the number of the step that failed (it runs in children too). */
static int create_where_unnamed_cannot_be_linked(const char *region, const char *chan)
{
	struct shmx_chan *c = NULL, *cc = NULL;
	struct shmx_region *r = NULL;
	mode_t old = umask(077);
	char msg[8] = "";
	struct stat st;
	int step = 0;

	if (++step && shmx_create(region, 8192, SHMX_MAP, 0644, &r))
		goto out;
	if (++step && (fstat(shmx_fd(r), &st) || (st.st_mode & 07777) != 0644 ||
		       st.st_size != 8192 || lstat(shm_path(region), &st)))
		goto out;
	if (++step && shmx_create(region, 4096, 0, 0, &(struct shmx_region *){ 0 }) != -EEXIST)
		goto out;
	if (++step && (lstat(shm_path(region), &st) || st.st_size != 8192))
		goto out;
	if (++step && shmx_chan_create(chan, 4096, SHMX_CHAN_PRODUCER, 0640, &c))
		goto out;
	if (++step && (lstat(shm_path(chan), &st) || (st.st_mode & 07777) != 0640))
		goto out;
	if (++step && (shmx_chan_open(chan, SHMX_CHAN_CONSUMER, 1000, &cc) ||
		       shmx_chan_send(c, "hi", 3, 1000) || shmx_chan_recv(cc, msg, 8, 1000) != 3 ||
		       strcmp(msg, "hi")))
		goto out;
	step = 0;
out:
	shmx_chan_close(cc);
	shmx_chan_close(c);
	shmx_close(r);
	umask(old);
	return step;
}

static void test_create_where_unnamed_cannot_be_linked(void **state)
{
	const char *region = tu_name(), *chan = tu_name(), *failed = tu_name();
	struct shmx_region *r = NULL;
	int step;

	(void)state;
	linkat_old_kernel_no_proc = true;
	step = create_where_unnamed_cannot_be_linked(region, chan);
	/* a create that fails part-way takes its name away again */
	fallocate_error = ENOSPC;
	assert_int_equal(shmx_create(failed, 65536, 0, 0, &r), -ENOSPC);
	fallocate_error = 0;
	linkat_old_kernel_no_proc = false;
	if (step)
		fail_msg("step %d failed", step);
	assert_false(tu_exists(failed));
	assert_null(r);
}

/* seccomp: linkat with AT_EMPTY_PATH fails with ENOENT, as before Linux
 * 6.10 for a process without CAP_DAC_READ_SEARCH. */
static int refuse_empty_path_links(void)
{
#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef TEST_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_linkat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* flags, the low word of the fifth argument (little-endian) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOENT),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	return -1;
#endif
}

/* Both routes really closed: AT_EMPTY_PATH refused, no /proc/self/fd. */
static bool unnamed_cannot_be_linked(void)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0);
	bool closed;

	closed = fd >= 0 && linkat(fd, "", AT_FDCWD, "/dev/shm", AT_EMPTY_PATH) < 0 &&
		 errno == ENOENT && access("/proc/self/fd", F_OK) < 0;
	if (fd >= 0)
		close(fd);
	return closed;
}

/* The same for real, as in a container or chroot without /proc on a
 * kernel before 6.10: a child in its own mount namespace unmounts /proc
 * and has linkat(AT_EMPTY_PATH) refused by the kernel (seccomp). */
static void test_create_without_proc_on_old_kernel(void **state)
{
	const char *region = tu_name(), *chan = tu_name();
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    umount2("/proc", MNT_DETACH) || refuse_empty_path_links())
			_exit(77);
		if (!unnamed_cannot_be_linked())
			_exit(78);
		_exit(create_where_unnamed_cannot_be_linked(region, chan));
	}
	assert_int_equal(tu_waitpid(pid, 30000, &st), 0);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		tu_skip("cannot unmount /proc in a mount namespace or install seccomp here");
		return;
	}
	if (WEXITSTATUS(st) == 78)
		fail_msg("the child could still link an unnamed file");
	if (WEXITSTATUS(st))
		fail_msg("step %d failed", WEXITSTATUS(st));
	assert_true(tu_exists(region));
	assert_true(tu_exists(chan));
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

/* The kernel drops a dead process's slot locks, however it died. */
static void test_slot_released_on_kill(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_info info;
	int p[2], st;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_region *o = NULL;

		if (shmx_open(name, 0, &o) || shmx__slot_lock(shmx_fd(o), SHMX_SLOT_OWNER))
			_exit(1);
		(void)!write(p[1], "x", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, 1u << SHMX_SLOT_OWNER);
	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
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
	fill(want, sizeof(want), (unsigned)atoi(expect_seed));
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
	fill(shmx_addr(r), 65536, 1234);
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
	assert_true(SHMX_VERSION_AT_LEAST(0, 1, 0));
	assert_true(SHMX_VERSION_AT_LEAST(0, 0, 9));
	assert_false(SHMX_VERSION_AT_LEAST(0, 1, 1));
	assert_false(SHMX_VERSION_AT_LEAST(1, 0, 0));
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

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_defaults, tu_teardown),
		cmocka_unit_test_teardown(test_create_lazy_reserves_nothing, tu_teardown),
		cmocka_unit_test_teardown(test_create_name_forms, tu_teardown),
		cmocka_unit_test_teardown(test_create_map_and_populate, tu_teardown),
		cmocka_unit_test_teardown(test_semaphore_file_names_refused, tu_teardown),
		cmocka_unit_test_teardown(test_names_near_semaphore_prefix_work, near_sem_teardown),
		cmocka_unit_test_teardown(test_create_errors, tu_teardown),
		cmocka_unit_test_teardown(test_create_exists_untouched, tu_teardown),
		cmocka_unit_test_teardown(test_create_enospc_larger_than_devshm, tu_teardown),
		cmocka_unit_test_teardown(test_create_enospc_small_tmpfs, tu_teardown),
		cmocka_unit_test_teardown(test_create_fallocate_eintr_retried, tu_teardown),
		cmocka_unit_test_teardown(test_create_failure_leaves_nothing, tu_teardown),
		cmocka_unit_test_teardown(test_open_rdwr_and_rdonly, tu_teardown),
		cmocka_unit_test_teardown(test_open_rdonly_really_readonly, tu_teardown),
		cmocka_unit_test_teardown(test_open_errors, tu_teardown),
		cmocka_unit_test_teardown(test_map_unmap, tu_teardown),
		cmocka_unit_test_teardown(test_map_truncated_to_zero, tu_teardown),
		cmocka_unit_test_teardown(test_close_and_unlink, tu_teardown),
		cmocka_unit_test_teardown(test_unlink_keeps_mappings, tu_teardown),
		cmocka_unit_test_teardown(test_resize, tu_teardown),
		cmocka_unit_test_teardown(test_resize_failure_changes_nothing, tu_teardown),
		cmocka_unit_test_teardown(test_sync, tu_teardown),
		cmocka_unit_test(test_accessors_null),
		cmocka_unit_test_teardown(test_read_write, tu_teardown),
		cmocka_unit_test_teardown(test_resize_after_peer_shrink, tu_teardown),
		cmocka_unit_test_teardown(test_open_socket, tu_teardown),
		cmocka_unit_test_teardown(test_man_pages_name_the_socket_error, tu_teardown),
		cmocka_unit_test_teardown(test_hidden_create, tu_teardown),
		cmocka_unit_test_teardown(test_create_where_unnamed_cannot_be_linked, tu_teardown),
		cmocka_unit_test_teardown(test_create_without_proc_on_old_kernel, tu_teardown),
		cmocka_unit_test_teardown(test_stat, tu_teardown),
		cmocka_unit_test_teardown(test_slot_released_on_kill, tu_teardown),
		cmocka_unit_test_teardown(test_exec_reader, tu_teardown),
		cmocka_unit_test_teardown(test_exec_inherits_no_fd, tu_teardown),
		cmocka_unit_test(test_strerror_and_version),
		cmocka_unit_test_teardown(test_no_leaks, tu_teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child-read"))
		return child_read(argv[2], argv[3]);
	if (!realpath("/proc/self/exe", self_exe))
		return 99;
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
