/* SPDX-License-Identifier: MIT */
/* Who can reach an object (shmx(7), Permissions): exact modes under any
 * umask, planted files and links that are never adopted or followed,
 * group- or other-writable channels an attacher refuses, files that are not
 * regular, descriptors that never cross an exec, and another user
 * (uid 65534) who can neither open nor remove what is private. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000           /* "forever" in a test: failing beats hanging */
#define CHILD_MS 120000


/* fmt with its one "%s" replaced by name without its slash. */
static void devshm_path(char *buf, size_t len, const char *fmt, const char *name)
{
	const char *hole = strstr(fmt, "%s");

	snprintf(buf, len, "%.*s%s%s", (int)(hole - fmt), fmt, name + 1, hole + 2);
}

/* ---- security: modes ---- */

static mode_t mode_of(const char *fmt, const char *name)
{
	char path[600];
	struct stat st;

	devshm_path(path, sizeof(path), fmt, name);
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void make_all(mode_t mode, mode_t want)
{
	const char *region = tu_name(), *chan = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	struct shmx_chan *c;

	assert_int_equal(shmx_create(region, 4096, SHMX_MAP, mode, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, mode, &p), 0);
	assert_int_equal(shmx_chan_create(chan, 4096, P, mode, &c), 0);
	assert_int_equal(mode_of("/dev/shm/%s", region), want);
	assert_int_equal(mode_of("/dev/shm/sem.%s.shmx-w", region), want);
	assert_int_equal(mode_of("/dev/shm/sem.%s.shmx-r", region), want);
	assert_int_equal(mode_of("/dev/shm/%s", chan), want);
	shmx_chan_close(c);
	shmx_pair_close(p);
	shmx_close(r);
}

static void test_mode_any_umask(void **state)
{
	static const mode_t masks[] = { 022, 077, 000, 0777 };
	mode_t old = umask(0);

	(void)state;
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		umask(masks[i]);
		make_all(0, 0600);
		make_all(0640, 0640);
		make_all(0604, 0604);
	}
	umask(old);
}

/* ---- security: planted files and links are never adopted ---- */

struct planted {
	char path[600];
	struct stat st;
	bool link;
};

static const char planted_data[] = "planted by someone else\n";

static void plant_file(struct planted *pl, const char *fmt, const char *name)
{
	int fd;

	devshm_path(pl->path, sizeof(pl->path), fmt, name);
	fd = open(pl->path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, planted_data, sizeof(planted_data)), sizeof(planted_data));
	close(fd);
	assert_int_equal(lstat(pl->path, &pl->st), 0);
	pl->link = false;
}

static void plant_link(struct planted *pl, const char *fmt, const char *name,
		       const char *target)
{
	devshm_path(pl->path, sizeof(pl->path), fmt, name);
	assert_int_equal(symlink(target, pl->path), 0);
	assert_int_equal(lstat(pl->path, &pl->st), 0);
	pl->link = true;
}

static void same_file(const char *path, const struct stat *was)
{
	struct stat st;
	char buf[256];
	ssize_t n;
	int fd;

	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_ino, was->st_ino);
	assert_int_equal(st.st_mode, was->st_mode);
	assert_int_equal(st.st_size, was->st_size);
	assert_int_equal(st.st_uid, was->st_uid);
	assert_true(st.st_mtim.tv_sec == was->st_mtim.tv_sec &&
		    st.st_mtim.tv_nsec == was->st_mtim.tv_nsec);
	if (S_ISLNK(st.st_mode))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, sizeof(planted_data));
	assert_memory_equal(buf, planted_data, sizeof(planted_data));
}

static void target_file(char *path, size_t len, struct stat *st)
{
	int fd;

	snprintf(path, len, "/tmp/shmx-test-target-%d", (int)getpid());
	unlink(path);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, planted_data, sizeof(planted_data)), sizeof(planted_data));
	close(fd);
	assert_int_equal(stat(path, st), 0);
}

static void test_planted_region_chan(void **state)
{
	char target[128];
	struct stat tst;
	struct planted pl;
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL;
	const char *name;

	(void)state;
	target_file(target, sizeof(target), &tst);
	for (int kind = 0; kind < 2; kind++) {
		name = tu_name();
		if (kind)
			plant_link(&pl, "/dev/shm/%s", name, target);
		else
			plant_file(&pl, "/dev/shm/%s", name);
		assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), -EEXIST);
		assert_int_equal(shmx_create(name, 4096, SHMX_LAZY, 0, &r), -EEXIST);
		assert_int_equal(shmx_chan_create(name, 4096, P, 0, &c), -EEXIST);
		assert_null(r);
		assert_null(c);
		same_file(pl.path, &pl.st);
		same_file(target, &tst);
		/* and opening does not follow the link either */
		if (kind)
			assert_int_equal(shmx_open(name, 0, &r), -ELOOP);
	}
	unlink(target);
}

static void test_planted_semaphores(void **state)
{
	static const char *const which[] = { "/dev/shm/sem.%s.shmx-w", "/dev/shm/sem.%s.shmx-r" };
	char target[128];
	struct stat tst;
	struct planted pl;
	struct shmx_region *r;
	struct shmx_pair *p = NULL;
	const char *name;

	(void)state;
	target_file(target, sizeof(target), &tst);
	for (int w = 0; w < 2; w++) {
		for (int kind = 0; kind < 2; kind++) {
			name = tu_name();
			assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
			if (kind)
				plant_link(&pl, which[w], name, target);
			else
				plant_file(&pl, which[w], name);
			assert_int_equal(shmx_pair_create(r, W, 0, &p), -EEXIST);
			assert_null(p);
			same_file(pl.path, &pl.st);
			same_file(target, &tst);
			/* no half pair: the other semaphore is not left behind */
			assert_false(tu_sem_exists(name, w ? ".shmx-w" : ".shmx-r"));
			shmx_close(r);
		}
	}
	/* A planted sem.NAME (glibc's file for a semaphore "/NAME") is not
	 * the pair's: it is neither used nor touched. */
	name = tu_name();
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	plant_file(&pl, "/dev/shm/sem.%s", name);
	assert_int_equal(shmx_pair_create(r, W, 0, &p), 0);
	same_file(pl.path, &pl.st);
	assert_int_equal(mode_of("/dev/shm/sem.%s.shmx-w", name), 0600);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(unlink(pl.path), 0);
	unlink(target);
}

/* ---- security: what an attacher refuses ---- */

static void test_chan_open_shared(void **state)
{
	static const struct {
		mode_t mode;
		int expect;
	} modes[] = {
		{ 0660, -EACCES }, { 0620, -EACCES }, { 0602, -EACCES }, { 0666, -EACCES },
		{ 0640, 0 },       { 0644, 0 },       { 0600, 0 },
	};
	struct shmx_chan *prod, *c;
	const char *name;

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		name = tu_name();
		assert_int_equal(shmx_chan_create(name, 4096, P, modes[i].mode, &prod), 0);
		assert_int_equal(shmx_chan_open(name, C, 0, &c), modes[i].expect);
		if (!modes[i].expect)
			shmx_chan_close(c);
		assert_int_equal(shmx_chan_open(name, C | SHMX_ALLOW_SHARED, 0, &c), 0);
		shmx_chan_close(c);
		shmx_chan_close(prod);
	}
	/* made private, then opened up by a "peer" */
	name = tu_name();
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &prod), 0);
	{
		char path[600];

		devshm_path(path, sizeof(path), "/dev/shm/%s", name);
		assert_int_equal(chmod(path, 0666), 0);
		assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
		/* owned by someone else, however private */
		assert_int_equal(chmod(path, 0600), 0);
		if (geteuid() == 0) {
			assert_int_equal(chown(path, 65534, 65534), 0);
			assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
			assert_int_equal(shmx_chan_open(name, C | SHMX_ALLOW_SHARED, 0, &c), 0);
			shmx_chan_close(c);
		}
	}
	shmx_chan_close(prod);
}

static void test_refuses_non_regular(void **state)
{
	const char *fifo = tu_name(), *dir = tu_name(), *link = tu_name(), *real = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL, *c2 = NULL;
	char path[600], target[600];
	int64_t t0;

	(void)state;
	devshm_path(path, sizeof(path), "/dev/shm/%s", fifo);
	assert_int_equal(mkfifo(path, 0600), 0);
	t0 = tu_now_ms();
	assert_int_equal(shmx_open(fifo, 0, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_open(fifo, SHMX_RDONLY, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_chan_open(fifo, C, 0, &c), -EMEDIUMTYPE);
	assert_true(tu_now_ms() - t0 < 5000); /* a FIFO never hangs the open */
	devshm_path(path, sizeof(path), "/dev/shm/%s", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(shmx_open(dir, 0, &r), -EISDIR);
	assert_int_equal(shmx_chan_open(dir, C, 0, &c), -EISDIR);
	assert_int_equal(rmdir(path), 0);
	/* a link to a real channel: refused, not followed */
	assert_int_equal(shmx_chan_create(real, 4096, P, 0, &c), 0);
	devshm_path(path, sizeof(path), "/dev/shm/%s", link);
	devshm_path(target, sizeof(target), "/dev/shm/%s", real);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(shmx_open(link, 0, &r), -ELOOP);
	assert_int_equal(shmx_chan_open(link, C, 0, &c2), -ELOOP);
	assert_null(r);
	assert_null(c2);
	shmx_chan_close(c);
}

/* ---- security: FD_CLOEXEC ---- */

/* Our descriptors that lead into /dev/shm; each must be close-on-exec. */
static int shm_fds(void)
{
	char path[64], target[600];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0, fd;
	ssize_t len;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		if (strncmp(target, "/dev/shm/", 9))
			continue;
		n++;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			fail_msg("fd %d (%s) is not close-on-exec", fd, target);
	}
	closedir(d);
	return n;
}

static void test_cloexec(void **state)
{
	const char *region = tu_name(), *chan = tu_name();
	char *argv[] = { "/bin/sh", "-c", "ls -l /proc/$$/fd", NULL };
	struct shmx_region *r, *r2;
	struct shmx_pair *w, *rd;
	struct shmx_chan *prod, *cons;
	struct tu_result res;

	(void)state;
	assert_int_equal(shmx_create(region, 4096, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	assert_int_equal(shmx_open(region, SHMX_MAP, &r2), 0);
	assert_int_equal(shmx_pair_open(r2, R, &rd), 0);
	assert_int_equal(shmx_chan_create(chan, 4096, P, 0, &prod), 0);
	assert_int_equal(shmx_chan_open(chan, C, 0, &cons), 0);
	/* region, its pair's dup, the second handle, its dup, two channels */
	assert_true(shm_fds() >= 6);
	assert_int_equal(tu_run(argv, NULL, 0, LONG_MS, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(res.out, "pipe:"));  /* the listing worked */
	if (strstr(res.out, "/dev/shm"))
		fail_msg("the exec'd child holds a /dev/shm descriptor:\n%s", res.out);
	tu_result_free(&res);
	shmx_chan_close(cons);
	shmx_chan_close(prod);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r2);
	shmx_close(r);
}

/* ---- security: an unprivileged user ---- */

static void drop_privileges(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		tu_child_skip("cannot drop to uid/gid 65534 (not root?)");
}

static void unprivileged_child(const char *priv, const char *open_region, const char *chan)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct shmx_chan *c;
	struct shmx_info info;
	struct shmx_chan_info ci;

	drop_privileges();
	TU_CKEQ(shmx_open(priv, 0, &r), -EACCES);
	TU_CKEQ(shmx_open(priv, SHMX_RDONLY, &r), -EACCES);
	TU_CKEQ(shmx_open(open_region, SHMX_MAP, &r), 0);  /* 0666 region, 0600 pair */
	TU_CKEQ(shmx_pair_open(r, R, &p), -EACCES);
	TU_CKEQ(shmx_pair_open(r, W, &p), -EACCES);
	TU_CKEQ(shmx_chan_open(chan, C, 0, &c), -EACCES);
	TU_CKEQ(shmx_chan_open(chan, P | SHMX_ALLOW_SHARED, 0, &c), -EACCES);
	TU_CKEQ(shmx_chan_stat(chan, &ci), -EACCES);
	/* metadata stays visible, liveness unknown */
	TU_CKEQ(shmx_stat(priv, &info), 0);
	TU_CK(info.holders == SHMX_HOLDERS_UNKNOWN && info.mode == 0600 && info.uid == 0);
	TU_CKEQ(info.size, 4096);
	/* and nothing can be removed: /dev/shm is sticky */
	TU_CKEQ(shmx_unlink(priv), -EACCES);
	TU_CKEQ(shmx_unlink(open_region), -EACCES);
	TU_CKEQ(shmx_pair_unlink(open_region), -EACCES);
	TU_CKEQ(shmx_chan_unlink(chan), -EACCES);
	_exit(0);
}

static void test_unprivileged(void **state)
{
	const char *priv = tu_name(), *open_region = tu_name(), *chan = tu_name();
	struct shmx_region *r1, *r2;
	struct shmx_pair *p;
	struct shmx_chan *c;
	struct stat st;
	pid_t pid;
	int code;

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to drop to an unprivileged user");
	assert_int_equal(stat("/dev/shm", &st), 0);
	if (!(st.st_mode & S_ISVTX))
		tu_skip("/dev/shm is not sticky here");
	assert_int_equal(shmx_create(priv, 4096, SHMX_MAP, 0, &r1), 0);
	assert_int_equal(shmx_create(open_region, 4096, SHMX_MAP, 0666, &r2), 0);
	assert_int_equal(shmx_pair_create(r2, W, 0, &p), 0);
	assert_int_equal(shmx_chan_create(chan, 4096, P, 0, &c), 0);
	pid = tu_fork();
	if (pid == 0)
		unprivileged_child(priv, open_region, chan);
	if (tu_child_verdict(pid, CHILD_MS, &code) && code == TU_SKIP_CODE)
		tu_skip("cannot drop to uid/gid 65534");
	assert_int_equal(code, 0);
	assert_true(tu_exists(priv) && tu_exists(open_region) && tu_exists(chan));
	assert_true(tu_sem_exists(open_region, ".shmx-w") && tu_sem_exists(open_region, ".shmx-r"));
	shmx_chan_close(c);
	shmx_pair_close(p);
	shmx_close(r2);
	shmx_close(r1);
}

/* ---- regions: planted files, modes under any umask ---- */

static char *shm_path(const char *name)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "/dev/shm%s", name);
	return buf;
}

/* A planted regular file or symlink is never adopted. */
static void test_create_planted(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_region *r = NULL;
	int fd;

	(void)state;
	fd = open(shm_path(name), O_CREAT | O_EXCL | O_WRONLY, 0666);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), -EEXIST);
	assert_int_equal(symlink("/tmp/shmx-nowhere", shm_path(name2)), 0);
	assert_int_equal(shmx_create(name2, 4096, 0, 0, &r), -EEXIST);
	assert_int_equal(access("/tmp/shmx-nowhere", F_OK), -1);
	assert_null(r);
}

static void check_mode(mode_t umask_val, mode_t want, mode_t expect)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	mode_t old = umask(umask_val);
	struct stat st;

	assert_int_equal(shmx_create(name, 4096, 0, want, &r), 0);
	umask(old);
	assert_int_equal(lstat(shm_path(name), &st), 0);
	assert_int_equal(st.st_mode & 07777, expect);
	shmx_close(r);
}

static void test_create_mode_ignores_umask(void **state)
{
	(void)state;
	check_mode(022, 0, 0600);
	check_mode(077, 0, 0600);
	check_mode(022, 0666, 0666);
	check_mode(077, 0666, 0666);
	check_mode(077, 0644, 0644);
	check_mode(0, 0400, 0400);
	check_mode(022, 0660, 0660);
}

/* ---- pair semaphore files are checked before use ---- */

#define NOBODY 65534

static void replace_sem(const char *name, char which, int kind)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/sem.%s.shmx-%c", name + 1, which);
	assert_int_equal(unlink(path), 0);
	if (kind == 0) {                /* empty regular file */
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	} else if (kind == 1) {         /* FIFO */
		assert_int_equal(mkfifo(path, 0600), 0);
	} else {                        /* symlink to a good semaphore */
		char other[512];

		snprintf(other, sizeof(other), "sem.%s.shmx-%c", name + 1,
			 which == 'w' ? 'r' : 'w');
		assert_int_equal(symlink(other, path), 0);
	}
}

static void bad_sem_case(char which, int kind)
{
	const char *name = tu_name();
	struct shmx_region *a = NULL, *b = NULL;
	struct shmx_pair *w = NULL, *r = (struct shmx_pair *)0x1;

	assert_int_equal(shmx_create(name, 4096, 0, 0, &a), 0);
	assert_int_equal(shmx_open(name, 0, &b), 0);
	assert_int_equal(shmx_pair_create(a, SHMX_PAIR_WRITER, 0, &w), 0);
	replace_sem(name, which, kind);
	/* never a SIGBUS in sem_trywait later: refused now */
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_READER, &r), -EBADMSG);
	assert_ptr_equal(r, (struct shmx_pair *)0x1);
	shmx_pair_close(w);
	shmx_close(a);
	shmx_close(b);
}

static void test_empty_semaphore_file_is_refused(void **state)
{
	(void)state;
	bad_sem_case('w', 0);
	bad_sem_case('r', 0);
}

static void test_fifo_or_symlink_semaphore_is_refused(void **state)
{
	(void)state;
	bad_sem_case('w', 1);
	bad_sem_case('r', 2);
}

/* A semaphore file of someone else (neither the region's owner nor us). */
static void test_foreign_semaphore_file_is_refused(void **state)
{
	const char *name = tu_name();
	struct shmx_region *a = NULL;
	struct shmx_pair *w = NULL, *r = NULL;
	char path[512];

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to chown");
	assert_int_equal(shmx_create(name, 4096, 0, 0, &a), 0);
	assert_int_equal(shmx_pair_create(a, SHMX_PAIR_WRITER, 0, &w), 0);
	snprintf(path, sizeof(path), "/dev/shm/sem.%s.shmx-r", name + 1);
	assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	assert_int_equal(shmx_pair_open(a, SHMX_PAIR_READER, &r), -EPERM);
	shmx_pair_close(w);
	shmx_close(a);
}

/* ---- group ---- */

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mode_any_umask),
		T(test_planted_region_chan),
		T(test_planted_semaphores),
		T(test_chan_open_shared),
		T(test_refuses_non_regular),
		T(test_cloexec),
		T(test_unprivileged),
		T(test_create_planted),
		T(test_create_mode_ignores_umask),
		T(test_empty_semaphore_file_is_refused),
		T(test_fifo_or_symlink_semaphore_is_refused),
		T(test_foreign_semaphore_file_is_refused),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
