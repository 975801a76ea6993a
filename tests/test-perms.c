/* SPDX-License-Identifier: MIT */
/* Who can reach an object (shmx(7), Permissions): exact modes under any
 * umask (regions, channels, a pair's semaphores, as root and as a normal
 * user), group- or other-writable channels an attacher refuses, a semaphore
 * file of someone else, descriptors that never cross an exec, and another
 * user (uid 65534) who can neither open nor remove what is private. Files
 * that someone else put in /dev/shm are test-planted.c. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000           /* "forever" in a test: failing beats hanging */
#define CHILD_MS 120000
#define NOBODY 65534

/* ---- modes ---- */

static void make_all(mode_t mode, mode_t want)
{
	const char *region = tu_name(), *chan = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	struct shmx_chan *c;

	assert_int_equal(shmx_create(region, 4096, SHMX_MAP, mode, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, mode, &p), 0);
	assert_int_equal(shmx_chan_create(chan, 4096, P, mode, &c), 0);
	assert_int_equal(tu_devshm_mode("/dev/shm/%s", region), want);
	assert_int_equal(tu_devshm_mode("/dev/shm/sem.%s.shmx-w", region), want);
	assert_int_equal(tu_devshm_mode("/dev/shm/sem.%s.shmx-r", region), want);
	/* A channel holds liveness slots: read only with write (shmx(7)). */
	assert_int_equal(tu_devshm_mode("/dev/shm/%s", chan), shmx__lock_mode(want));
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

static void check_mode(mode_t umask_val, mode_t want, mode_t expect)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	mode_t old = umask(umask_val);

	assert_int_equal(shmx_create(name, 4096, 0, want, &r), 0);
	umask(old);
	assert_int_equal(tu_devshm_mode("/dev/shm/%s", name), expect);
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

/* A pair's semaphores take the mode asked for, whatever the umask. */
static void pair_mode_case(mode_t umask_val, mode_t asked, mode_t want)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;
	mode_t old;

	assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
	old = umask(umask_val);
	assert_int_equal(shmx_pair_create(r, W, asked, &p), 0);
	umask(old);
	assert_int_equal(tu_devshm_mode("/dev/shm/sem.%s.shmx-w", name), want);
	assert_int_equal(tu_devshm_mode("/dev/shm/sem.%s.shmx-r", name), want);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(shmx_pair_unlink(name), 0);
	assert_int_equal(shmx_unlink(name), 0);
}

static void test_mode_umask(void **state)
{
	static const mode_t umasks[] = { 022, 077 };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		pair_mode_case(umasks[i], 0, 0600);
		pair_mode_case(umasks[i], 0660, 0660);
		pair_mode_case(umasks[i], 0666, 0666);
		pair_mode_case(umasks[i], 0400, 0400);
	}
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

		tu_devshm_path(path, sizeof(path), "/dev/shm/%s", name);
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

/* ---- exact modes for a normal user under any umask ---- */

/* In the child: create as nobody under umask u, check every file. */
static void exact_mode_child(const char *name, mode_t u, mode_t want)
{
	static const char *const files[] = {
		"/dev/shm/sem.%s.shmx-w", "/dev/shm/sem.%s.shmx-r", "/dev/shm/%s.shmx-p",
	};
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL, *q = NULL;
	char path[600];
	struct stat st;

	drop_privileges();
	umask(u);
	TU_CKEQ(shmx_create(name, 4096, 0, 0600, &r), 0);
	TU_CKEQ(shmx_pair_create(r, W, want, &p), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		tu_devshm_path(path, sizeof(path), files[i], name);
		TU_CKEQ(lstat(path, &st), 0);
		/* the control object holds the slots: read permission only
		 * with write permission (shmx_pair_create(3)) */
		TU_CKEQ(st.st_mode & 07777,
			strstr(files[i], "shmx-p") ? (want & 0222) | (want & 0222) << 1 : want);
	}
	/* and the pair works for its owner, if the mode lets it write */
	if (want & 0200) {
		TU_CKEQ(shmx_pair_open(r, R, &q), 0);
		TU_CKEQ(shmx_pair_wait(p, 0), 0);
		TU_CKEQ(shmx_pair_post(p), 0);
		TU_CKEQ(shmx_pair_wait(q, 0), 0);
	}
	_exit(0);
}

static void exact_mode_case(mode_t u, mode_t want)
{
	const char *name = tu_name();
	pid_t pid = tu_fork();

	if (pid == 0)
		exact_mode_child(name, u, want);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
}

static void test_exact_mode_as_normal_user_any_umask(void **state)
{
	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to become uid %d", NOBODY);
	exact_mode_case(0477, 0600);
	exact_mode_case(0777, 0600);
	exact_mode_case(0477, 0644);
	exact_mode_case(0777, 0400);
}

/* ---- pair semaphore files are checked before use ---- */

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

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mode_any_umask),
		T(test_create_mode_ignores_umask),
		T(test_mode_umask),
		T(test_exact_mode_as_normal_user_any_umask),
		T(test_chan_open_shared),
		T(test_cloexec),
		T(test_unprivileged),
		T(test_foreign_semaphore_file_is_refused),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
