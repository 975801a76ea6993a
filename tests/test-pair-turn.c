/* SPDX-License-Identifier: MIT */
/* The pair's one turn against what other processes do (shmx(7), "The
 * turn"): a pair's files mixed by a replacement, a handle of an earlier
 * region, a foreign sem_post, a read lock or a stopped peer, a truncated
 * control object or semaphore file, plain sem_open programs on the other
 * side, an attach generation that wraps; and the cost of a turn: no fcntl
 * and no fstat (calls from the static library are redirected to counters
 * here). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pair-util.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define WAIT_MS 5000
#define ROUNDS 2000

/* ---- counters of the calls a turn must not make ---- */

static unsigned long n_fcntl, n_fstat;
int __real_fcntl64(int fd, int cmd, ...);
int __real_fstat64(int fd, struct stat *st);
int __wrap_fcntl64(int fd, int cmd, ...);
int __wrap_fstat64(int fd, struct stat *st);

int __wrap_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	__atomic_fetch_add(&n_fcntl, 1, __ATOMIC_RELAXED);
	return __real_fcntl64(fd, cmd, arg);
}

int __wrap_fstat64(int fd, struct stat *st)
{
	__atomic_fetch_add(&n_fstat, 1, __ATOMIC_RELAXED);
	return __real_fstat64(fd, st);
}

/* ---- helpers ---- */

static const char *file_of(const char *fmt, const char *name)
{
	static char buf[4][300];
	static int i;
	char *b = buf[i++ % 4];

	tu_devshm_path(b, sizeof(buf[0]), fmt, name);
	return b;
}

#define CTL_FILE "/dev/shm/%s.shmx-p"
#define SEM_W_FILE "/dev/shm/sem.%s.shmx-w"
#define SEM_R_FILE "/dev/shm/sem.%s.shmx-r"

static void foreign_post(const char *name, const char *suffix)
{
	char sname[300];
	sem_t *s;

	snprintf(sname, sizeof(sname), "%s%s", name, suffix);
	s = sem_open(sname, 0);
	assert_true(s != SEM_FAILED);
	assert_int_equal(sem_post(s), 0);
	sem_close(s);
}

/* ---- a replacement, an old handle ---- */

/* A stale pair (its writer died after posting) is replaced while a reader
 * opens: the reader finds the old control object with the new semaphores.
 * It must not join that mix (its recovery would post a second turn while
 * the new writer holds the first). */
static void test_mixed_files_of_a_replacement_are_not_joined(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *w, *rd = SENTINEL;
	char keep[300];
	pid_t pid;
	int err;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_pair *p;

		TU_CKEQ(shmx_pair_create(r, W, 0, &p), 0);
		TU_CKEQ(shmx_pair_wait(p, WAIT_MS), 0);
		TU_CKEQ(shmx_pair_post(p), 0);
		_exit(0);       /* dies after posting, never closes */
	}
	assert_int_equal(tu_child_verdict(pid, WAIT_MS, NULL), 0);
	snprintf(keep, sizeof(keep), "%s-old", file_of(CTL_FILE, name));
	assert_int_equal(link(file_of(CTL_FILE, name), keep), 0);
	/* The supervisor: remove the stale pair, make it again. */
	assert_int_equal(shmx_pair_unlink(name), 0);
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	/* What the racing reader sees: the old control object. */
	assert_int_equal(rename(keep, file_of(CTL_FILE, name)), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *mine;

		TU_CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		err = shmx_pair_open(mine, R, &rd);
		if (err == 0)
			TU_CKEQ(shmx_pair_wait(rd, 200), -ETIMEDOUT);
		TU_CKEQ(err, -ESTALE);
		TU_CK(rd == SENTINEL);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, WAIT_MS * 3, NULL), 0);
	shmx_pair_close(w);
	shmx_close(r);
}

/* The names are removed and made again while an old participant lives: a
 * handle of the earlier region does not join the new pair. */
static void test_a_handle_of_an_earlier_region_does_not_join(void **state)
{
	const char *name = tu_name();
	struct shmx_region *old = region(name, true), *r;
	struct shmx_pair *w, *w2, *rd, *p = SENTINEL;

	(void)state;
	assert_int_equal(shmx_pair_create(old, W, 0, &w), 0);
	assert_int_equal(shmx_pair_open(old, R, &rd), 0);
	rd = shmx_pair_close(rd);
	/* the old writer lives on */
	assert_int_equal(shmx_pair_unlink(name), 0);
	assert_int_equal(shmx_unlink(name), 0);
	r = region(name, true);
	assert_int_equal(shmx_pair_create(r, W, 0, &w2), 0);
	assert_int_equal(shmx_pair_wait(w2, 0), 0);
	assert_int_equal(shmx_pair_open(old, R, &p), -ESTALE);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(shmx_pair_open(old, W, &p), -ESTALE);
	/* The real reader still gets its turn, once. */
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	assert_int_equal(shmx_pair_open(r, R, &p), -EBUSY);
	/* A held role: still -ESTALE to the old handle (shmx_pair_open(3)) */
	assert_int_equal(shmx_pair_open(old, R, &p), -ESTALE);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(shmx_pair_post(w2), 0);
	assert_int_equal(shmx_pair_wait(rd, WAIT_MS), 0);
	shmx_pair_close(rd);
	shmx_pair_close(w2);
	shmx_pair_close(w);
	shmx_close(r);
	shmx_close(old);
}

/* ---- a foreign sem_post ---- */

/* A token the turn does not account for is never a turn: not while the
 * peer holds the turn, not left over once the turn comes back. */
static void test_a_foreign_post_is_not_a_turn(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *w, *rd;

	(void)state;
#ifndef __GLIBC__
	tu_skip("this C library's sem_open() does not use glibc's /dev/shm/sem.NAME, "
		"where the pair's semaphores are");
	return;
#endif
	r = region(name, true);
	assert_int_equal(shmx_pair_create(r, W, 0666, &w), 0);
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	foreign_post(name, ".shmx-r");
	assert_int_equal(shmx_pair_wait(rd, 200), -ETIMEDOUT);
	assert_int_equal(shmx_pair_wait(rd, 0), -EAGAIN);
	/* A post while the turn is on its way: one turn, no extra. */
	assert_int_equal(shmx_pair_post(w), 0);
	foreign_post(name, ".shmx-r");
	foreign_post(name, ".shmx-w");
	assert_int_equal(shmx_pair_wait(w, 0), -EAGAIN);
	assert_int_equal(shmx_pair_wait(rd, 0), 0);
	assert_int_equal(shmx_pair_post(rd), 0);
	assert_int_equal(shmx_pair_wait(rd, 100), -ETIMEDOUT);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_wait(rd, 100), -ETIMEDOUT);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(rd, WAIT_MS), 0);
	assert_int_equal(shmx_pair_wait(w, 100), -ETIMEDOUT);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
}

/* ---- plain sem_open programs on the other side ---- */

static _Noreturn void classic(const char *name, bool writer, int rounds)
{
	char a[300], b[300];
	sem_t *mine, *peer;
	struct timespec ts;

	snprintf(a, sizeof(a), "%s.shmx-%c", name, writer ? 'w' : 'r');
	snprintf(b, sizeof(b), "%s.shmx-%c", name, writer ? 'r' : 'w');
	mine = sem_open(a, 0);
	peer = sem_open(b, 0);
	TU_CK(mine != SEM_FAILED && peer != SEM_FAILED);
	for (int i = 0; i < rounds; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WAIT_MS / 1000;
		TU_CKEQ(sem_timedwait(mine, &ts), 0);
		TU_CKEQ(sem_post(peer), 0);
	}
	_exit(0);
}

static void interop(bool shmx_writer)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	pid_t pid;

#ifndef __GLIBC__
	tu_skip("this C library's sem_open() does not use glibc's /dev/shm/sem.NAME, "
		"where the pair's semaphores are");
	return;
#endif
	r = region(name, true);
	assert_int_equal(shmx_pair_create(r, shmx_writer ? W : R, 0, &p), 0);
	pid = tu_fork();
	if (pid == 0)
		classic(name, !shmx_writer, ROUNDS);
	for (int i = 0; i < ROUNDS; i++) {
		int err = shmx_pair_wait(p, WAIT_MS);

		if (err)
			print_message("# round %d: %d\n", i, err);
		assert_int_equal(err, 0);
		assert_int_equal(shmx_pair_post(p), 0);
	}
	assert_int_equal(tu_child_verdict(pid, WAIT_MS, NULL), 0);
	shmx_pair_close(p);
	shmx_close(r);
}

static void test_a_plain_sem_open_reader_gets_every_turn(void **state)
{
	(void)state;
	interop(true);
}

static void test_a_plain_sem_open_writer_gets_every_turn(void **state)
{
	(void)state;
	interop(false);
}

/* ---- locks and stopped peers ---- */

/* Read access is enough for F_RDLCK: a reader-only user locks the whole
 * control object and the writer's slot. Nothing waits on it: post, open
 * and a wait(-1) whose writer dies all return. */
static void test_read_locks_hold_no_call(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *rd;
	/* the bytes of the turn word and state (the slots are write-locked
	 * by their holders: no read lock can be had there) */
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_len = 128 };
	int lk, done[2];
	pid_t wpid;

	(void)state;
	tu_ev_init(done);
	assert_int_equal(shmx_pair_create(r, R, 0644, &rd), 0);
	wpid = tu_fork();
	if (wpid == 0) {
		struct shmx_region *mine;
		struct shmx_pair *p;

		TU_CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		TU_CKEQ(shmx_pair_open(mine, W, &p), 0);
		TU_CKEQ(shmx_pair_wait(p, WAIT_MS), 0);
		TU_CKEQ(shmx_pair_post(p), 0);
		tu_ev_post(done[1]);
		pause();
		_exit(0);
	}
	assert_true(tu_ev_wait(done[0], WAIT_MS));
	lk = open(file_of(CTL_FILE, name), O_RDONLY);
	assert_true(lk >= 0);
	assert_int_equal(fcntl(lk, F_OFD_SETLK, &fl), 0);
	assert_int_equal(wait_within(rd, WAIT_MS, 2 * WAIT_MS), 0);
	assert_int_equal(shmx_pair_post(rd), 0);
	/* The writer dies; its slot is read-locked before anyone looks
	 * (where it is, the control object, and the region's same byte). */
	tu_kill9(wpid, WAIT_MS);
	{
		int rl = open(tu_shm_path(name), O_RDONLY);
		struct flock s = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
				   .l_start = (off_t)1 << 62 | SHMX_SLOT_WRITER, .l_len = 1 };

		assert_true(rl >= 0);
		assert_int_equal(fcntl(rl, F_OFD_SETLK, &s), 0);
		assert_int_equal(fcntl(lk, F_OFD_SETLK, &s), 0);
		assert_int_equal(wait_within(rd, -1, WAIT_MS), -EOWNERDEAD);
		close(rl);
	}
	close(lk);
	shmx_pair_close(rd);
	shmx_close(r);
	close(done[0]);
	close(done[1]);
}

/* A peer stopped while it holds the turn: a wait returns at its deadline. */
static void test_a_stopped_peer_holds_no_wait_past_its_deadline(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *rd;
	struct timespec a, b;
	int ready[2];
	pid_t pid;
	long ms;

	(void)state;
	tu_ev_init(ready);
	assert_int_equal(shmx_pair_create(r, R, 0, &rd), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_pair *p;

		TU_CKEQ(shmx_pair_open(r, W, &p), 0);
		TU_CKEQ(shmx_pair_wait(p, WAIT_MS), 0);
		tu_ev_post(ready[1]);
		raise(SIGSTOP);
		_exit(0);
	}
	assert_true(tu_ev_wait(ready[0], WAIT_MS));
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(shmx_pair_wait(rd, 300), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 300 && ms < WAIT_MS);
	tu_kill9(pid, WAIT_MS);
	assert_int_equal(shmx_pair_wait(rd, WAIT_MS), -EOWNERDEAD);
	shmx_pair_close(rd);
	shmx_close(r);
	close(ready[0]);
	close(ready[1]);
}

/* ---- truncation ---- */

/* With shmx_guard_sigbus(), a control object or a semaphore file that
 * another process truncates is an error, not a SIGBUS. */
static void truncated(const char *fmt)
{
	const char *name = tu_name();
	pid_t pid = tu_fork();

	if (pid == 0) {
		struct shmx_region *r;
		struct shmx_pair *w, *rd;

		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
		TU_CKEQ(shmx_pair_create(r, W, 0, &w), 0);
		TU_CKEQ(shmx_pair_open(r, R, &rd), 0);
		TU_CKEQ(shmx_pair_wait(w, 0), 0);
		TU_CKEQ(shmx_pair_post(w), 0);
		TU_CKEQ(truncate(file_of(fmt, name), 0), 0);
		TU_CKEQ(shmx_pair_wait(rd, 100), -EFAULT);
		TU_CKEQ(shmx_pair_wait(w, 0), -EFAULT);
		shmx_pair_close(rd);
		shmx_pair_close(w);
		shmx_pair_unlink(name);
		shmx_unlink(name);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, WAIT_MS, NULL), 0);
}

static void test_truncated_control_object_is_an_error(void **state)
{
	(void)state;
	truncated(CTL_FILE);
}

static void test_truncated_semaphore_file_is_an_error(void **state)
{
	(void)state;
	truncated(SEM_R_FILE);
}

/* ---- the pollable descriptor ---- */

/* The reader's attach generation after 2^24 - 1 attaches: the next one
 * wraps, and a post still wakes the poller. */
static void test_poller_after_the_generation_wraps(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *w, *rd;
	uint32_t *ctl;
	int fd;

	(void)state;
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	fd = open(file_of(CTL_FILE, name), O_RDWR);
	assert_true(fd >= 0);
	ctl = mmap(NULL, 64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(ctl != MAP_FAILED);
	close(fd);
	/* state[R] at byte 20: generation 2^24 - 1, closed */
	__atomic_store_n(&ctl[5], 0xffffffu << 8 | 2, __ATOMIC_RELEASE);
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	fd = shmx_pair_fd(rd);
	assert_true(fd >= 0);
	for (int i = 0; i < 3; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		assert_int_equal(shmx_pair_wait(rd, 0), -EAGAIN);
		assert_int_equal(shmx_pair_wait(w, 0), 0);
		assert_int_equal(shmx_pair_post(w), 0);
		assert_int_equal(poll(&p, 1, 1000), 1);
		assert_int_equal(shmx_pair_wait(rd, 0), 0);
		assert_int_equal(shmx_pair_post(rd), 0);
	}
	munmap(ctl, 64);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
}

/* Writer and reader of two users (neither root): the writer makes the
 * region and the pair (mode 0666), the reader opens them; every post wakes
 * the other's poller, in both directions. */
static _Noreturn void user_side(const char *name, uid_t uid, bool writer, int ack)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	int fd;

	TU_CK(setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0);
	if (writer) {
		TU_CKEQ(shmx_create(name, 8192, SHMX_MAP, 0666, &r), 0);
		TU_CKEQ(fchmod(shmx_fd(r), 0666), 0);
		TU_CKEQ(shmx_pair_create(r, W, 0666, &p), 0);
	} else {
		TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
		TU_CKEQ(shmx_pair_open(r, R, &p), 0);
	}
	fd = shmx_pair_fd(p);
	TU_CK(fd >= 0);
	tu_ev_post(ack);
	for (int i = 0; i < 6; i++) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int err;

		while ((err = shmx_pair_wait(p, 0)) == -EAGAIN)
			TU_CKEQ(poll(&pf, 1, 2000), 1);
		TU_CKEQ(err, 0);
		TU_CKEQ(shmx_pair_post(p), 0);
	}
	/* the writer stays until the reader is through its last turn */
	if (writer)
		TU_CKEQ(shmx_pair_wait(p, 2000), 0);
	shmx_pair_close(p);
	_exit(0);
}

static void test_pollers_of_two_users_are_woken_every_time(void **state)
{
	const char *name = tu_name();
	int ev[2];
	pid_t a, b;

	(void)state;
	if (geteuid() != 0)
		skip();
	tu_ev_init(ev);
	a = tu_fork();
	if (a == 0)
		user_side(name, 65534, true, ev[1]);
	assert_true(tu_ev_wait(ev[0], WAIT_MS));
	b = tu_fork();
	if (b == 0)
		user_side(name, 65533, false, ev[1]);
	assert_int_equal(tu_child_verdict(b, WAIT_MS * 2, NULL), 0);
	assert_int_equal(tu_child_verdict(a, WAIT_MS * 2, NULL), 0);
	close(ev[0]);
	close(ev[1]);
}

/* Any local user can bind any abstract name: one that binds the name a
 * poller of the next generation would have had (shmx(7), "Polling") does
 * not keep it from getting its descriptor, nor its wake-ups. */
static void test_a_squatted_poller_name_is_no_denial(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *w, *rd;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pf = { .events = POLLIN };
	struct stat st;
	socklen_t len;
	int sq, n;

	(void)state;
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "shmx-%llx-%llx-R-1",
		     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	sq = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sq >= 0);
	assert_int_equal(bind(sq, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(listen(sq, 4), 0);
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	pf.fd = shmx_pair_fd(rd);
	assert_true(pf.fd >= 0);
	assert_int_equal(shmx_pair_wait(rd, 0), -EAGAIN);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(poll(&pf, 1, 1000), 1);
	assert_int_equal(shmx_pair_wait(rd, 0), 0);
	close(sq);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
}

/* ---- the cost of a turn ---- */

/* Turns that find their token (writer and reader in one process, so that
 * no wait sleeps): not one fcntl or fstat. */
static void test_a_turn_costs_no_fcntl_and_no_fstat(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *w, *rd;
	unsigned long f0, s0;

	(void)state;
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	f0 = n_fcntl;
	s0 = n_fstat;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(shmx_pair_wait(w, 0), 0);
		assert_int_equal(shmx_pair_post(w), 0);
		assert_int_equal(shmx_pair_wait(rd, -1), 0);
		assert_int_equal(shmx_pair_post(rd), 0);
	}
	print_message("# 1000 round trips: %lu fcntl, %lu fstat\n", n_fcntl - f0,
		      n_fstat - s0);
	assert_int_equal(n_fcntl - f0, 0);
	assert_int_equal(n_fstat - s0, 0);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mixed_files_of_a_replacement_are_not_joined,
					  tu_teardown),
		cmocka_unit_test_teardown(test_a_handle_of_an_earlier_region_does_not_join,
					  tu_teardown),
		cmocka_unit_test_teardown(test_a_foreign_post_is_not_a_turn, tu_teardown),
		cmocka_unit_test_teardown(test_a_plain_sem_open_reader_gets_every_turn,
					  tu_teardown),
		cmocka_unit_test_teardown(test_a_plain_sem_open_writer_gets_every_turn,
					  tu_teardown),
		cmocka_unit_test_teardown(test_read_locks_hold_no_call, tu_teardown),
		cmocka_unit_test_teardown(test_a_stopped_peer_holds_no_wait_past_its_deadline,
					  tu_teardown),
		cmocka_unit_test_teardown(test_truncated_control_object_is_an_error,
					  tu_teardown),
		cmocka_unit_test_teardown(test_truncated_semaphore_file_is_an_error,
					  tu_teardown),
		cmocka_unit_test_teardown(test_poller_after_the_generation_wraps, tu_teardown),
		cmocka_unit_test_teardown(test_pollers_of_two_users_are_woken_every_time,
					  tu_teardown),
		cmocka_unit_test_teardown(test_a_squatted_poller_name_is_no_denial, tu_teardown),
		cmocka_unit_test_teardown(test_a_turn_costs_no_fcntl_and_no_fstat, tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
