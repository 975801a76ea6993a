/* SPDX-License-Identifier: MIT */
/* Where a named pair's liveness lives (shmx(7), "The turn"): on the pair's
 * own control object, so a new pair made on the same region neither hides
 * the old peer's departure nor is blocked by the old peer's slots; a user
 * who may only read cannot lock a slot; a turn word someone wrote over is
 * an error, not a second turn; a call after a truncation says -EFAULT. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "pair-util.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define WAIT_MS 5000
#define SLOT_BYTE(slot) ((off_t)1 << 62 | (slot))

static const char *ctl_file(const char *name)
{
	static char buf[2][300];
	static int i;
	char *b = buf[i++ % 2];

	tu_devshm_path(b, sizeof(buf[0]), "/dev/shm/%s.shmx-p", name);
	return b;
}

/* ---- a new pair on the same region ---- */

/* A makes a pair (the writer) in a child and the old reader joins it; A
 * dies (kill) or closes; B removes the pair's names and makes a new pair
 * on the same region. The old reader learns of A's departure at its next
 * wait, however long that wait may be, and B's pair takes a reader of its
 * own whatever the old reader holds. */
static void old_peer_leaves(bool killed, int want)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *rd, *w2, *rd2 = SENTINEL;
	int ev[2], go[2];
	pid_t a;

	tu_ev_init(ev);
	tu_ev_init(go);
	a = tu_fork();
	if (a == 0) {
		struct shmx_region *mine;
		struct shmx_pair *p;

		TU_CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		TU_CKEQ(shmx_pair_create(mine, W, 0, &p), 0);
		tu_ev_post(ev[1]);
		TU_CK(tu_ev_wait(go[0], WAIT_MS));
		shmx_pair_close(p);
		tu_ev_post(ev[1]);
		pause();
		_exit(0);
	}
	assert_true(tu_ev_wait(ev[0], WAIT_MS));
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	if (killed) {
		tu_kill9(a, WAIT_MS);
	} else {
		tu_ev_post(go[1]);
		assert_true(tu_ev_wait(ev[0], WAIT_MS));
	}
	/* B: the names removed and made again, the region kept. */
	assert_int_equal(shmx_pair_unlink(name), 0);
	assert_int_equal(shmx_pair_create(r, W, 0, &w2), 0);
	/* -1: forever if the departure stays hidden (wait_within's limit
	 * then says so) */
	assert_int_equal(wait_within(rd, -1, WAIT_MS), want);
	assert_int_equal(shmx_pair_open(r, R, &rd2), 0);
	assert_int_equal(shmx_pair_wait(w2, 0), 0);
	assert_int_equal(shmx_pair_post(w2), 0);
	assert_int_equal(shmx_pair_wait(rd2, WAIT_MS), 0);
	shmx_pair_close(rd2);
	shmx_pair_close(w2);
	shmx_pair_close(rd);
	if (!killed)
		tu_kill9(a, WAIT_MS);
	close(ev[0]);
	close(ev[1]);
	close(go[0]);
	close(go[1]);
	shmx_close(r);
}

static void test_a_new_pair_does_not_hide_a_death(void **state)
{
	(void)state;
	old_peer_leaves(true, -EOWNERDEAD);
}

static void test_a_new_pair_does_not_hide_a_close(void **state)
{
	(void)state;
	old_peer_leaves(false, -EPIPE);
}

/* ---- a user who may only read ---- */

/* The owner's pair of mode 0644 on a region of mode 0644: uid 65534 may
 * read the region, but takes no read lock on a slot of the pair (it cannot
 * open the control object), so the owner's reader and writer open. */
static void test_a_reader_only_user_locks_no_slot(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *w, *rd = SENTINEL;
	int ev[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ev);
	assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0644, &r), 0);
	assert_int_equal(fchmod(shmx_fd(r), 0644), 0);
	assert_int_equal(shmx_pair_create(r, W, 0644, &w), 0);
	pid = tu_fork();
	if (pid == 0) {
		const char *files[2] = { tu_shm_path(name), ctl_file(name) };
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
				    .l_start = SLOT_BYTE(SHMX_SLOT_READER), .l_len = 1 };
		int fd, locked = 0;

		TU_CK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		      setresuid(65534, 65534, 65534) == 0);
		/* Every file of the pair this user can open, read-locked
		 * where the reader's slot is. */
		for (int i = 0; i < 2; i++) {
			fd = open(files[i], O_RDONLY);
			if (fd < 0) {
				TU_CKEQ(errno, EACCES);
				TU_CK(i == 1);  /* the control object */
				continue;
			}
			locked += fcntl(fd, F_OFD_SETLK, &fl) == 0;
		}
		TU_CK(locked == 1);
		tu_ev_post(ev[1]);
		pause();
		_exit(0);
	}
	assert_true(tu_ev_wait(ev[0], WAIT_MS));
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(rd, WAIT_MS), 0);
	tu_kill9(pid, WAIT_MS);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
	close(ev[0]);
	close(ev[1]);
}

/* ---- a user who may write ---- */

/* In a forked child: become uid 65534 and read-lock the reader's slot of
 * name's pair (a user any 0666 pair lets in); tell ev, then wait. */
static _Noreturn void read_lock_reader_slot(const char *name, int ev)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = SLOT_BYTE(SHMX_SLOT_READER), .l_len = 1 };
	int fd;

	TU_CK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
	      setresuid(65534, 65534, 65534) == 0);
	fd = open(ctl_file(name), O_RDONLY);
	TU_CK(fd >= 0);
	TU_CKEQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
	tu_ready_forever(ev);
}

/* A pair of mode 0666 lets every user take part, so uid 65534 may also
 * read-lock the slot of a role whose holder died (shmx_pair_create(3),
 * Liveness). That holds off the role's replacement (its open is -EBUSY,
 * at once) and nothing else: the survivor sees the death within a slice,
 * no call waits past its deadline, and once the lock goes the role is
 * taken and the dead holder's turn handed out. */
static void test_a_read_lock_on_a_0666_pair_holds_off_a_replacement_only(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *w, *rd = SENTINEL;
	int ev[2];
	pid_t x, locker;

	(void)state;
	tu_ev_init(ev);
	assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0666, &r), 0);
	assert_int_equal(fchmod(shmx_fd(r), 0666), 0);
	assert_int_equal(shmx_pair_create(r, W, 0666, &w), 0);
	x = tu_fork();
	if (x == 0) {
		struct shmx_region *mine;
		struct shmx_pair *p;

		TU_CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		TU_CKEQ(shmx_pair_open(mine, R, &p), 0);
		TU_CKEQ(shmx_pair_wait(p, WAIT_MS), 0);        /* dies holding it */
		tu_ready_forever(ev[1]);
	}
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_true(tu_ev_wait(ev[0], WAIT_MS));
	tu_kill9(x, WAIT_MS);
	locker = tu_fork();
	if (locker == 0)
		read_lock_reader_slot(name, ev[1]);
	assert_true(tu_ev_wait(ev[0], WAIT_MS));
	/* A read lock is nobody's liveness: the reader is seen dead. */
	assert_int_equal(wait_within(w, -1, WAIT_MS), -EOWNERDEAD);
	assert_int_equal(wait_within(w, 100, WAIT_MS), -EOWNERDEAD);
	/* Its replacement is held off, as by a live holder, at once. */
	assert_int_equal(shmx_pair_open(r, R, &rd), -EBUSY);
	assert_ptr_equal(rd, SENTINEL);
	tu_kill9(locker, WAIT_MS);
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	assert_int_equal(shmx_pair_wait(rd, WAIT_MS), 0);       /* the dead one's */
	assert_int_equal(shmx_pair_post(rd), 0);
	assert_int_equal(shmx_pair_wait(w, WAIT_MS), 0);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
	close(ev[0]);
	close(ev[1]);
}

/* ---- a turn word written over ---- */

struct turn_view {
	uint32_t *turn, *state;
	void *map;
};

/* The control object's turn word and state words, as someone with write
 * access to it sees them (src/pair.h: turn at 12, state at 16). */
static void view(const char *name, struct turn_view *v)
{
	int fd = open(ctl_file(name), O_RDWR);

	assert_true(fd >= 0);
	v->map = mmap(NULL, 128, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(v->map != MAP_FAILED);
	close(fd);
	v->turn = (uint32_t *)((char *)v->map + 12);
	v->state = (uint32_t *)((char *)v->map + 16);
}

/* A foreign post on the pair's semaphore file, mapped by its path rather
 * than sem_open()ed: musl's sem_open() names its files differently
 * (tu_sem_make()), and the file holds this C library's sem_t either way. */
static void post_sem(const char *name, const char *suffix)
{
	char path[320];
	sem_t *s;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/sem.%s%s", name + 1, suffix);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(s != MAP_FAILED);
	assert_int_equal(sem_post(s), 0);
	munmap(s, sizeof(*s));
}

/* word(turn, writer's state) is written over the turn while the writer
 * holds it, then "may read" is posted: the reader fails -EBADMSG at once
 * (not at its deadline), and never holds a turn beside the writer's. */
static void scribbled(uint32_t (*word)(uint32_t turn, uint32_t wstate))
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *w, *rd;
	struct turn_view v;
	int64_t t0;

	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	view(name, &v);
	__atomic_store_n(v.turn, word(*v.turn, v.state[0]), __ATOMIC_SEQ_CST);
	post_sem(name, ".shmx-r");
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_wait(rd, 3000), -EBADMSG);
	assert_true(tu_now_ms() - t0 < 2000);
	/* and the writer, who still holds, finds the word not its own */
	assert_int_equal(shmx_pair_post(w), -EBADMSG);
	munmap(v.map, 128);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
}

/* where = 7: none of the four */
static uint32_t bad_where(uint32_t turn, uint32_t wstate)
{
	(void)wstate;
	return (turn & ~0xffu) | 7;
}

/* "the reader holds it", with a generation the reader never had */
static uint32_t foreign_reader_gen(uint32_t turn, uint32_t wstate)
{
	(void)turn;
	(void)wstate;
	return 4 | 0x777u << 8;
}

/* "in the reader's semaphore": a turn the writer never gave */
static uint32_t moved_to_reader(uint32_t turn, uint32_t wstate)
{
	(void)turn;
	(void)wstate;
	return 2;
}

static void test_a_turn_word_of_no_place_is_an_error(void **state)
{
	(void)state;
	scribbled(bad_where);
}

static void test_a_holder_of_no_generation_is_an_error(void **state)
{
	(void)state;
	scribbled(foreign_reader_gen);
}

/* Indistinguishable from a turn the writer gave, for the reader: the
 * writer, who still holds, learns of it at its post. */
static void test_a_turn_moved_under_its_holder_fails_its_post(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct shmx_pair *w, *rd;
	struct turn_view v;

	(void)state;
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	assert_int_equal(shmx_pair_open(r, R, &rd), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	view(name, &v);
	*v.turn = moved_to_reader(*v.turn, v.state[0]);
	post_sem(name, ".shmx-r");
	assert_int_equal(shmx_pair_post(w), -EBADMSG);
	munmap(v.map, 128);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r);
}

/* ---- after a truncation ---- */

/* A post after a wait that said -EFAULT: -EFAULT again (shmx(7): a
 * truncated object), not -EPERM (a post without the turn). */
/* ---- a stream of signals ---- */

static void tick(int sig)
{
	(void)sig;
}

/* The waiter takes a signal every 5 ms (a profiler's or a tick loop's
 * timer, no SA_RESTART): each cuts its sleep short, yet its writer's death
 * is seen about a slice later, not at the wait's deadline (shmx_pair_wait(3):
 * a stream of signals neither ends a wait early nor makes it longer). */
static void test_a_stream_of_signals_does_not_hide_a_death(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = region(name, true);
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa = { .sa_handler = tick }, old;
	struct timespec t0, t1;
	struct shmx_pair *rd;
	int ev[2];
	long ms;
	pid_t w;

	(void)state;
	assert_int_equal(shmx_pair_create(r, R, 0, &rd), 0);
	tu_ev_init(ev);
	w = tu_fork();
	if (w == 0) {
		struct shmx_region *mine;
		struct shmx_pair *p;

		TU_CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		TU_CKEQ(shmx_pair_open(mine, W, &p), 0);
		tu_ev_post(ev[1]);
		pause();
		_exit(0);
	}
	assert_true(tu_ev_wait(ev[0], WAIT_MS));
	tu_kill9(w, WAIT_MS);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(shmx_pair_wait(rd, 4000), -EOWNERDEAD);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	print_message("# death seen after %ld ms under a 5 ms timer\n", ms);
	/* about one slice; the rest is slack for a loaded machine, far
	 * below the deadline a hidden death would take */
	assert_true(ms < 2000);
	shmx_pair_close(rd);
	assert_int_equal(shmx_pair_unlink(name), 0);
	shmx_close(r);
}

static void test_a_post_after_a_truncation_says_efault(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r;
		struct shmx_pair *w, *rd;

		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
		TU_CKEQ(shmx_pair_create(r, W, 0, &w), 0);
		TU_CKEQ(shmx_pair_open(r, R, &rd), 0);
		TU_CKEQ(truncate(ctl_file(name), 0), 0);
		TU_CKEQ(shmx_pair_wait(rd, 100), -EFAULT);
		TU_CKEQ(shmx_pair_post(rd), -EFAULT);
		TU_CKEQ(shmx_pair_wait(w, 0), -EFAULT);
		TU_CKEQ(shmx_pair_post(w), -EFAULT);
		shmx_pair_close(rd);
		shmx_pair_close(w);
		shmx_pair_unlink(name);
		shmx_unlink(name);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, WAIT_MS, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_new_pair_does_not_hide_a_death, tu_teardown),
		cmocka_unit_test_teardown(test_a_new_pair_does_not_hide_a_close, tu_teardown),
		cmocka_unit_test_teardown(test_a_reader_only_user_locks_no_slot, tu_teardown),
		cmocka_unit_test_teardown(test_a_read_lock_on_a_0666_pair_holds_off_a_replacement_only,
					  tu_teardown),
		cmocka_unit_test_teardown(test_a_turn_word_of_no_place_is_an_error, tu_teardown),
		cmocka_unit_test_teardown(test_a_holder_of_no_generation_is_an_error,
					  tu_teardown),
		cmocka_unit_test_teardown(test_a_turn_moved_under_its_holder_fails_its_post,
					  tu_teardown),
		cmocka_unit_test_teardown(test_a_post_after_a_truncation_says_efault, tu_teardown),
		cmocka_unit_test_teardown(test_a_stream_of_signals_does_not_hide_a_death,
					  tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
