/* SPDX-License-Identifier: MIT */
/* The pair's pollable descriptor (shmx_pair_fd(3); shmx(7), "Polling")
 * around its arming. A reader's try (shmx_pair_wait(p, 0)) looks at the
 * writer (its state word, its liveness slot), then arms; the writer ends
 * while it does: it closes and lives on, closes and exits, exits without
 * closing, or is SIGKILLed, its end moved across the try by a random
 * delay, with a fresh pair each round for a few seconds. Whatever the
 * order, the descriptor must become readable and a try then say what
 * happened (-EPIPE, -EOWNERDEAD), and stay so. Also: a writer replaced
 * after a death (the arming drops the dead one's pidfd), and a writer
 * whose slot goes while its process lives on (exec): once a try saw it
 * gone, the descriptor stays readable. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define WAIT_MS 10000
#define SEEN_MS 2000            /* an end is seen within this (a slice is 15 ms) */
#define ROUNDS_MS 3000          /* each case races for about this long */
#define MAX_ROUNDS 3000
#define DELAY_NS 40000          /* the writer's end, after "go", within this */
/* and our try, after "go", within this for a writer that exits: an exit
 * takes longer than a try (its locks go on the way out, its pidfd fires
 * at the end); a close lands in a try that starts at once */
#define EXIT_NS 400000

enum end { CLOSE_LIVE, CLOSE_EXIT, EXIT, KILL };

static const char *const end_name[] = { "closes and lives on", "closes and exits",
					"exits without closing", "is SIGKILLed" };

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void put(int fd, uint32_t v)
{
	if (write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		_exit(6);
}

/* One word from fd, or false at end of file / after ms. */
static bool get(int fd, uint32_t *v, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && read(fd, v, sizeof(*v)) == (ssize_t)sizeof(*v);
}

static void spin_ns(uint32_t ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < (long)ns);
}

static struct shmx_pair *open_writer(const char *name)
{
	struct shmx_region *r;
	struct shmx_pair *w;

	TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
	TU_CKEQ(shmx_pair_open(r, SHMX_PAIR_WRITER, &w), 0);
	shmx_close(r);          /* the pair keeps a description of its own */
	return w;
}

/* "Go", shared with every writer: the delay + 1, set by the reader just
 * before its try. A writer spins for it (a pipe's wake-up would come
 * after the try is over), then waits the delay. */
static uint32_t *go;

static uint32_t wait_go(void)
{
	int64_t until = tu_now_ms() + WAIT_MS;
	uint32_t v;

	while (!(v = __atomic_load_n(go, __ATOMIC_ACQUIRE)))
		if (tu_now_ms() > until)
			_exit(2);
	return v - 1;
}

/* The writer: for each "open" it attaches and answers 1; on "go" it waits
 * the delay and ends as e says. One that lives on answers 2 once closed
 * and takes the next round; end of file: done. */
static _Noreturn void writer(const char *name, int in, int out, enum end e)
{
	struct shmx_pair *w;
	uint32_t v;

	for (;;) {
		if (!get(in, &v, WAIT_MS))
			_exit(0);
		w = open_writer(name);
		put(out, 1);
		spin_ns(wait_go());
		switch (e) {
		case CLOSE_LIVE:
		case CLOSE_EXIT:
			shmx_pair_close(w);
			if (e == CLOSE_EXIT)
				_exit(0);
			put(out, 2);
			break;
		case EXIT:
			_exit(0);
		case KILL:
			raise(SIGKILL);
			_exit(3);
		}
	}
}

struct writer_proc {
	pid_t pid;
	int in, out;            /* our ends: commands, answers */
};

static void writer_start(struct writer_proc *wp, const char *name, enum end e)
{
	int cmd[2], ans[2];

	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ans, O_CLOEXEC), 0);
	wp->pid = tu_fork();
	if (wp->pid == 0) {
		close(cmd[1]);
		close(ans[0]);
		writer(name, cmd[0], ans[1], e);
	}
	close(cmd[0]);
	close(ans[1]);
	wp->in = cmd[1];
	wp->out = ans[0];
}

/* Done with it: end of file for one that lives on, then its verdict
 * (code: what it must have ended with). */
static void writer_end(struct writer_proc *wp, int code)
{
	int status = 0;

	close(wp->in);
	close(wp->out);
	/* not tu_child_verdict(): a SIGKILL a round is no news */
	assert_int_equal(tu_waitpid(wp->pid, WAIT_MS, &status), 0);
	assert_int_equal(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status),
			 code);
	wp->pid = 0;
}

/* After the writer ended: the descriptor readable within SEEN_MS, and a
 * try made only when it is readable says want (a readable descriptor with
 * nothing new is allowed: the try re-arms it); the descriptor stays
 * readable after. r is the result of the try that raced the end. 0, or
 * the last try's result (1: the descriptor was never readable). */
static long settle(int fd, struct shmx_pair *rd, long r, long want)
{
	int64_t until = tu_now_ms() + SEEN_MS;

	while (r == -EAGAIN) {
		int64_t left = until - tu_now_ms();

		if (left <= 0 || !readable(fd, (int)left))
			return 1;
		r = shmx_pair_wait(rd, 0);
	}
	if (r != want)
		return r;
	if (!readable(fd, 0) || shmx_pair_wait(rd, 0) != want || !readable(fd, 0))
		return 2;
	return 0;
}

struct tally {
	long rounds, armed, lost, first_r, first_race;
	uint32_t first_delay;
};

static void count(struct tally *t, long verdict, long race, uint32_t delay)
{
	t->rounds++;
	t->armed += race == -EAGAIN;
	if (!verdict)
		return;
	if (!t->lost++) {
		t->first_r = verdict;
		t->first_race = race;
		t->first_delay = delay;
	}
}

static void report(const char *what, const struct tally *t)
{
	print_message("# %s: %ld of %ld rounds lost (the racing try armed in %ld)\n", what,
		      t->lost, t->rounds, t->armed);
	if (t->lost)
		print_message("# first: the racing try said %ld (%s), delay %u ns; then %s\n",
			      t->first_race, tu_errname(t->first_race), t->first_delay,
			      t->first_r == 1 ? "the descriptor never became readable" :
			      t->first_r == 2 ? "it did not stay readable" :
			      tu_errname(t->first_r));
	assert_int_equal(t->lost, 0);
}

/* A fresh pair on name: the reader's handle and its descriptor. */
static struct shmx_pair *reader(const char *name, struct shmx_region **r, int *fd)
{
	struct shmx_pair *rd;

	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, r), 0);
	assert_int_equal(shmx_pair_create(*r, SHMX_PAIR_READER, 0, &rd), 0);
	*fd = shmx_pair_fd(rd);
	assert_true(*fd >= 0);
	return rd;
}

static void reader_done(const char *name, struct shmx_region *r, struct shmx_pair *rd)
{
	shmx_pair_close(rd);
	shmx_close(r);
	assert_int_equal(shmx_pair_unlink(name), 0);
	assert_int_equal(shmx_unlink(name), 0);
}

/* One round: a fresh pair, wp attaches, ends after a random delay while
 * we try, and the descriptor must then show its end. */
static void round_once(const char *name, struct writer_proc *wp, enum end e,
		       unsigned *seed, struct tally *t)
{
	long want = e == CLOSE_LIVE || e == CLOSE_EXIT ? -EPIPE : -EOWNERDEAD;
	struct shmx_region *r;
	struct shmx_pair *rd;
	uint32_t v, delay;
	long first;
	int fd;

	rd = reader(name, &r, &fd);
	__atomic_store_n(go, 0, __ATOMIC_RELAXED);
	put(wp->in, 0);
	assert_true(get(wp->out, &v, WAIT_MS));
	delay = (uint32_t)(rand_r(seed) % DELAY_NS);
	__atomic_store_n(go, delay + 1, __ATOMIC_RELEASE);
	if (want == -EOWNERDEAD)
		spin_ns((uint32_t)rand_r(seed) % EXIT_NS);
	/* Readable at first (shmx_pair_fd(3)): this try is the caller's. */
	first = shmx_pair_wait(rd, 0);
	if (e == CLOSE_LIVE)
		assert_true(get(wp->out, &v, WAIT_MS));
	else
		writer_end(wp, e == KILL ? 128 + SIGKILL : 0);
	count(t, settle(fd, rd, first, want), first, delay);
	reader_done(name, r, rd);
}

static void race_end(enum end e)
{
	const char *name = tu_name();
	unsigned seed = (unsigned)getpid();
	struct writer_proc wp = { 0 };
	struct tally t = { 0 };
	int64_t until = tu_now_ms() + ROUNDS_MS;

	go = mmap(NULL, sizeof(*go), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(go != MAP_FAILED);
	print_message("# writer %s, seed %u\n", end_name[e], seed);
	while (t.rounds < MAX_ROUNDS && tu_now_ms() < until) {
		if (!wp.pid)
			writer_start(&wp, name, e);
		round_once(name, &wp, e, &seed, &t);
	}
	if (wp.pid)
		writer_end(&wp, 0);
	munmap(go, sizeof(*go));
	report(end_name[e], &t);
}

/* A writer that died, then a new one that attaches and closes around the
 * arming: the try that arms drops the dead one's pidfd (readable) for the
 * new one's; the new one's close must still be seen. */
static void round_replaced(const char *name, struct writer_proc *b, unsigned *seed,
			   struct tally *t)
{
	struct writer_proc a;
	struct shmx_region *r;
	struct shmx_pair *rd;
	uint32_t v, delay;
	long first;
	int fd;

	rd = reader(name, &r, &fd);
	writer_start(&a, name, EXIT);
	__atomic_store_n(go, 0, __ATOMIC_RELAXED);
	put(a.in, 0);
	assert_true(get(a.out, &v, WAIT_MS));
	assert_int_equal(shmx_pair_wait(rd, 0), -EAGAIN);      /* watching a */
	__atomic_store_n(go, 1, __ATOMIC_RELEASE);
	writer_end(&a, 0);
	__atomic_store_n(go, 0, __ATOMIC_RELEASE);
	put(b->in, 0);
	assert_true(get(b->out, &v, WAIT_MS));
	assert_true(readable(fd, SEEN_MS));
	delay = (uint32_t)(rand_r(seed) % DELAY_NS);
	__atomic_store_n(go, delay + 1, __ATOMIC_RELEASE);
	first = shmx_pair_wait(rd, 0);
	assert_true(get(b->out, &v, WAIT_MS));
	count(t, settle(fd, rd, first, -EPIPE), first, delay);
	reader_done(name, r, rd);
}

static void test_replacement_closing_around_the_arming_is_seen(void **state)
{
	const char *name = tu_name();
	unsigned seed = (unsigned)getpid();
	struct writer_proc b = { 0 };
	struct tally t = { 0 };
	int64_t until = tu_now_ms() + ROUNDS_MS;

	(void)state;
	go = mmap(NULL, sizeof(*go), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(go != MAP_FAILED);
	print_message("# a writer dies, its replacement closes and lives on, seed %u\n", seed);
	writer_start(&b, name, CLOSE_LIVE);
	while (t.rounds < MAX_ROUNDS && tu_now_ms() < until)
		round_replaced(name, &b, &seed, &t);
	writer_end(&b, 0);
	munmap(go, sizeof(*go));
	report("replacement closes", &t);
}

/* A writer whose slot goes while its process lives on (it execs: the
 * handle's descriptors are close-on-exec) is not seen by the descriptor
 * (shmx_chan_fd(3), BUGS); but once a try says so, the descriptor stays
 * readable, as a socket at end of file. */
static void test_descriptor_stays_readable_once_a_try_saw_the_writer_gone(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *rd;
	int ready[2], cmd[2], fd, first, again;
	struct pollfd eof = { .events = POLLIN };
	int64_t until;
	bool after;
	char c;
	pid_t pid;

	(void)state;
	rd = reader(name, &r, &fd);
	tu_ev_init(ready);
	tu_ev_init(cmd);
	pid = tu_fork();
	if (pid == 0) {
		close(ready[0]);
		close(cmd[1]);
		(void)open_writer(name);
		tu_ev_post(ready[1]);
		if (!tu_ev_wait(cmd[0], WAIT_MS))
			_exit(2);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(3);
	}
	close(ready[1]);
	close(cmd[0]);
	eof.fd = ready[0];
	assert_true(tu_ev_wait(ready[0], WAIT_MS));
	assert_true(readable(fd, 0));
	assert_int_equal(shmx_pair_wait(rd, 0), -EAGAIN);      /* armed, writer alive */
	tu_ev_post(cmd[1]);
	/* The exec closed the child's end of "ready" (end of file), and its
	 * handle's descriptors, in an order of its own: tries, made for no
	 * reason the descriptor gave, until one sees the slot free. */
	assert_int_equal(poll(&eof, 1, WAIT_MS), 1);
	assert_int_equal(read(ready[0], &c, 1), 0);
	until = tu_now_ms() + WAIT_MS;
	while ((first = shmx_pair_wait(rd, 0)) == -EAGAIN && tu_now_ms() < until)
		usleep(1000);
	after = readable(fd, 0);
	again = shmx_pair_wait(rd, 0);
	tu_kill9(pid, WAIT_MS);
	assert_int_equal(first, -EOWNERDEAD);
	assert_true(after);
	assert_int_equal(again, -EOWNERDEAD);
	assert_true(readable(fd, 0));
	close(ready[0]);
	close(cmd[1]);
	reader_done(name, r, rd);
}

static void test_writer_closing_around_the_arming_is_seen(void **state)
{
	(void)state;
	race_end(CLOSE_LIVE);
}

static void test_writer_closing_then_exiting_around_the_arming_is_seen(void **state)
{
	(void)state;
	race_end(CLOSE_EXIT);
}

static void test_writer_exiting_around_the_arming_is_seen(void **state)
{
	(void)state;
	race_end(EXIT);
}

static void test_writer_killed_around_the_arming_is_seen(void **state)
{
	(void)state;
	race_end(KILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_writer_closing_around_the_arming_is_seen,
					  tu_teardown),
		cmocka_unit_test_teardown(test_writer_closing_then_exiting_around_the_arming_is_seen,
					  tu_teardown),
		cmocka_unit_test_teardown(test_writer_exiting_around_the_arming_is_seen,
					  tu_teardown),
		cmocka_unit_test_teardown(test_writer_killed_around_the_arming_is_seen,
					  tu_teardown),
		cmocka_unit_test_teardown(test_replacement_closing_around_the_arming_is_seen,
					  tu_teardown),
		cmocka_unit_test_teardown(test_descriptor_stays_readable_once_a_try_saw_the_writer_gone,
					  tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
