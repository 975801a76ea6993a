/* SPDX-License-Identifier: MIT */
/* A peer truncates a channel's object at random moments while this side
 * opens, uses and closes it: with shmx_guard_sigbus() on, no channel call
 * dies of SIGBUS (shmx_guard_sigbus(3)); each returns its ordinary result or
 * -EFAULT (an open may also find a size no channel has: -EBADMSG), close
 * still releases the roles, and nothing is left in /dev/shm.
 * SHMX_TEST_SCALE (e.g. 0.1) shrinks the number of trials. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define CAP          (16u << 10)
#define TRIALS       1000
#define MAX_DELAY_NS 400000   /* the truncation lands within this of "go" */
#define MAX_ROUNDS   100000   /* a round that never sees the truncation: a bug */
#define WORKER_MS    240000
#define CHILD_MS     10000
#define MSG          64

static long scaled(long n)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	double f = s ? atof(s) : 1.0;
	long m = (long)((double)n * (f > 0 ? f : 1.0));

	return m < 10 ? 10 : m;
}

/* Sizes a peer may truncate to: nothing, inside the header page, the
 * header only, half the ring (a size that passes the geometry check). */
static const off_t cut_sizes[] = {
	0, 100, 2048, SHMX__CHAN_HDR_SIZE, SHMX__CHAN_HDR_SIZE + CAP / 2,
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The truncating peer: waits for "go", busy-waits delay_ns (a sleep would
 * round up to the timer slack), truncates, exits. */
static pid_t start_cutter(const char *name, int go, int64_t delay_ns, off_t size)
{
	int fd = shm_open(name, O_RDWR, 0);
	int64_t end;
	pid_t pid;
	char ch;

	if (fd < 0)
		return -1;
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (read(go, &ch, 1) != 1)
			_exit(2);
		end = now_ns() + delay_ns;
		while (now_ns() < end)
			;
		_exit(ftruncate(fd, size) ? 3 : 0);
	}
	close(fd);
	return pid;
}

struct tally {
	long bad;           /* results outside the allowed set */
	long faults;        /* -EFAULT seen */
	long opens_ok;
	long open_faults;   /* of them, in an open: the window is hit */
};

static void check(struct tally *t, const char *what, long rc, const long *ok, size_t n)
{
	size_t i;

	if (rc == -EFAULT) {
		t->faults++;
		return;
	}
	for (i = 0; i < n; i++)
		if (rc == ok[i] || (ok[i] == 1 && rc >= 0))
			return;
	if (t->bad++ < 10)
		fprintf(stderr, "# %s returned %ld (%s)\n", what, rc, strerror((int)-rc));
}

/* Allowed results besides -EFAULT; 1 means "any count >= 0". */
static const long OPEN_OK[] = { 0, -EBADMSG };
static const long SEND_OK[] = { 0, -EAGAIN, -EPIPE };
static const long RECV_OK[] = { 1, -EAGAIN, -EPIPE };
static const long DONE_OK[] = { 0 };
static const long COUNT_OK[] = { 1 };
static const long STAT_OK[] = { 0, -EBADMSG };
#define CHECK(t, what, rc, ok) check(t, what, (long)(rc), ok, sizeof(ok) / sizeof(ok[0]))

/* What a producer does in a round: copy, then zero-copy (without touching
 * the reserved bytes: the guard protects libshmx's accesses, not the
 * caller's own). */
static void produce_round(struct tally *t, struct shmx_chan *tx)
{
	static const char msg[MSG];
	void *p;
	int rc, i;

	for (i = 0; i < 4; i++) {
		CHECK(t, "send", shmx_chan_send(tx, msg, sizeof(msg), 0), SEND_OK);
		rc = shmx_chan_reserve(tx, MSG, &p, 0);
		CHECK(t, "reserve", rc, SEND_OK);
		if (rc == 0)
			CHECK(t, "commit", shmx_chan_commit(tx, MSG), DONE_OK);
		CHECK(t, "used (producer)", shmx_chan_used(tx), COUNT_OK);
		CHECK(t, "pending (producer)", shmx_chan_pending(tx), COUNT_OK);
	}
}

static void consume_round(struct tally *t, struct shmx_chan *rx)
{
	char buf[MSG];
	const void *p;
	ssize_t n;
	int i;

	for (i = 0; i < 4; i++) {
		CHECK(t, "recv", shmx_chan_recv(rx, buf, sizeof(buf), 0), RECV_OK);
		n = shmx_chan_peek(rx, &p, 0);
		CHECK(t, "peek", n, RECV_OK);
		if (n >= 0)
			CHECK(t, "release", shmx_chan_release(rx), DONE_OK);
		CHECK(t, "used (consumer)", shmx_chan_used(rx), COUNT_OK);
		CHECK(t, "pending (consumer)", shmx_chan_pending(rx), COUNT_OK);
	}
}

/* Open both roles, use them, close them. Every round must be able to take
 * the roles again: a close that kept a role lock shows as -EBUSY. */
static void round_trip(struct tally *t, const char *name)
{
	struct shmx_chan_info info;
	struct shmx_chan *tx = NULL, *rx = NULL;
	int rc;

	rc = shmx_chan_open(name, P, 0, &tx);
	CHECK(t, "open producer", rc, OPEN_OK);
	t->opens_ok += rc == 0;
	t->open_faults += rc == -EFAULT;
	rc = shmx_chan_open(name, C, 0, &rx);
	CHECK(t, "open consumer", rc, OPEN_OK);
	t->open_faults += rc == -EFAULT;
	if (tx)
		produce_round(t, tx);
	if (rx)
		consume_round(t, rx);
	CHECK(t, "stat", shmx_chan_stat(name, &info), STAT_OK);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
}

/* One trial: a fresh channel, a cutter, rounds until the cut has surely
 * happened, and one more. */
static int trial(struct tally *t, const char *name, unsigned seed)
{
	struct shmx_chan *c;
	int go[2], status, rounds = 0;
	pid_t pid, done;

	if (shmx_chan_create(name, CAP, P, 0, &c))
		return 10;
	c = shmx_chan_close(c);
	if (pipe(go))
		return 11;
	pid = start_cutter(name, go[0], (int64_t)(seed % MAX_DELAY_NS),
			   cut_sizes[(seed / MAX_DELAY_NS) % (sizeof(cut_sizes) /
								sizeof(cut_sizes[0]))]);
	if (pid < 0 || write(go[1], "g", 1) != 1)
		return 12;
	while ((done = waitpid(pid, &status, WNOHANG)) == 0 && rounds++ < MAX_ROUNDS)
		round_trip(t, name);
	round_trip(t, name);
	close(go[0]);
	close(go[1]);
	if (done != pid && tu_waitpid(pid, CHILD_MS, &status))
		return 13;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 14;
	return shmx_chan_unlink(name) ? 15 : 0;
}

/* The worker runs every trial with the guard on: a SIGBUS kills it, and the
 * test sees the signal. */
static void worker(const char *name, long trials)
{
	struct tally t = { 0 };
	long i;
	int err;

	/* cmocka catches SIGBUS to report a crashed test: here a SIGBUS that
	 * gets past the guard must kill the worker, for the parent to see. */
	signal(SIGBUS, SIG_DFL);
	if (shmx_guard_sigbus())
		_exit(20);
	srand((unsigned)getpid());
	for (i = 0; i < trials; i++) {
		err = trial(&t, name, (unsigned)rand());
		if (err) {
			fprintf(stderr, "# trial %ld failed to run: %d\n", i, err);
			_exit(err);
		}
	}
	fprintf(stderr, "# %ld trials: %ld -EFAULT (%ld from open), %ld producer opens, "
		"%ld bad\n", trials, t.faults, t.open_faults, t.opens_ok, t.bad);
	_exit(t.bad ? 1 : 0);
}

static void test_truncation_never_kills(void **state)
{
	const char *name = tu_name();
	long trials = scaled(TRIALS);
	int status;
	pid_t pid;

	(void)state;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		worker(name, trials);
	assert_int_equal(tu_waitpid(pid, WORKER_MS, &status), 0);
	if (WIFSIGNALED(status))
		fprintf(stderr, "# the worker died of signal %d (%s)\n", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(tu_exists(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_truncation_never_kills, tu_teardown),
	};

	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
