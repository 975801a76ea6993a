/* SPDX-License-Identifier: MIT */
/* A peer truncates the object under a mapping (shmx_guard_sigbus(3),
 * shmx(7) Formatted regions). A region's copies, a pair's waits and every
 * channel call then return -EFAULT, never SIGBUS, and say so again on the
 * next call. And at random moments while this side opens, uses and closes
 * a channel: no call dies of SIGBUS; each returns its ordinary result or
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
#include "pair-util.h"
#include "proc-util.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS      20000    /* "forever" in a test: failing beats hanging */
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
	pid = tu_fork();
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

/* ---- peer truncation ---- */

/* Raw region: the reader's copies return -EFAULT once the writer process
 * has truncated the object under its mapping (with the guard). */
static void test_region_copies_after_a_peer_truncates_are_efault(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	int ready[2], done[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ready);
	tu_ev_init(done);
	assert_int_equal(shmx_create(name, 64 * 1024, SHMX_MAP, 0, &r), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *mine;
		char buf[100] = "x";

		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		TU_CKEQ(shmx_read(mine, 8192, buf, sizeof(buf)), sizeof(buf));
		tu_ev_post(ready[1]);
		TU_CK(tu_ev_wait(done[0], LONG_MS));
		TU_CKEQ(shmx_read(mine, 8192, buf, sizeof(buf)), -EFAULT);
		TU_CKEQ(shmx_write(mine, 60000, buf, sizeof(buf)), -EFAULT);
		TU_CKEQ(shmx_read(mine, 0, buf, sizeof(buf)), sizeof(buf)); /* page 0 stays */
		shmx_close(mine);
		_exit(0);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(ftruncate(shmx_fd(r), 4096), 0);
	tu_ev_post(done[1]);
	assert_int_equal(tu_child_verdict(pid, LONG_MS, NULL), 0);
	shmx_close(r);
}

/* Pair: a reader blocked "forever" returns -EFAULT when another process
 * truncates the region below its size at attach; so does the writer. */
static void test_pair_after_a_peer_truncates_is_efault(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *w;
	int ready[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ready);
	assert_int_equal(shmx_create(name, 64 * 1024, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *mine;
		struct shmx_pair *p;

		TU_CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		TU_CKEQ(shmx_pair_open(mine, R, &p), 0);
		tu_ev_post(ready[1]);
		TU_CKEQ(shmx_pair_wait(p, -1), -EFAULT);
		TU_CKEQ(shmx_pair_wait(p, 0), -EFAULT);
		TU_CKEQ(shmx_pair_post(p), -EFAULT);
		shmx_pair_close(p);
		shmx_close(mine);
		_exit(0);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(ftruncate(shmx_fd(r), 4096), 0);
	assert_int_equal(tu_child_verdict(pid, LONG_MS, NULL), 0);
	/* A turn at hand is taken without a look (no system call on the
	 * fast path); a wait that finds none looks: -EFAULT. */
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(w, 0), -EFAULT);
	/* shmx(7): a truncated object is -EFAULT, for a post too */
	assert_int_equal(shmx_pair_post(w), -EFAULT);
	shmx_pair_close(w);
	shmx_close(r);
}

/* Pair, in one process: a waiter that finds no turn looks at the region
 * and gets the error instead of sleeping on (a turn at hand is taken
 * without a look: the fast path makes no system call), and once the region
 * is grown back the handoff goes on. */
static void test_pair_turn_survives_a_truncation_and_regrowth(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true), *rr = region(name, false);
	struct shmx_region *evil = NULL;
	struct shmx_pair *w = NULL, *r = NULL;

	(void)state;
	assert_int_equal(shmx_open(name, 0, &evil), 0);
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(ftruncate(shmx_fd(evil), 4096), 0);
	assert_int_equal(shmx_pair_wait(r, 0), -EFAULT);
	assert_int_equal(shmx_pair_wait(r, 1000), -EFAULT);
	assert_int_equal(shmx_pair_wait(r, -1), -EFAULT);
	assert_int_equal(shmx_pair_post(r), -EFAULT);
	/* grown back: the turn was kept, the handoff goes on */
	assert_int_equal(ftruncate(shmx_fd(evil), 8192), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(r, 0), 0);
	assert_int_equal(shmx_pair_post(r), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	shmx_pair_close(w);
	shmx_pair_close(r);
	shmx_close(evil);
	shmx_close(rw);
	shmx_close(rr);
}

/* Channel, a consumer waiting for data when the producer's process
 * truncates the object: -EFAULT, and it stays so. */
static void trunc_waiting_consumer(unsigned mode)
{
	const char *name = tu_name();
	struct shmx__chan_hdr *hdr;
	struct shmx_chan *prod;
	struct shmx_region *r;
	int ready[2];
	int64_t end;
	pid_t pid;

	tu_ev_init(ready);
	assert_int_equal(shmx_chan_create(name, 1 << 16, P, 0, &prod), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *c;
		char buf[64];

		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_chan_open(name, C | mode, LONG_MS, &c), 0);
		tu_ev_post(ready[1]);
		TU_CKEQ(shmx_chan_recv(c, buf, sizeof(buf), LONG_MS), -EFAULT);
		TU_CKEQ(shmx_chan_recv(c, buf, sizeof(buf), 0), -EFAULT);
		shmx_chan_close(c);
		_exit(0);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	/* Truncate while it sleeps: its "asleep" flag in the header is up. */
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	hdr = shmx_addr(r);
	end = tu_now_ms() + LONG_MS;
	while (!__atomic_load_n(&hdr->data_waiting, __ATOMIC_ACQUIRE) && tu_now_ms() < end)
		usleep(1000);
	assert_int_equal(hdr->data_waiting, 1);
	assert_int_equal(ftruncate(shmx_fd(r), SHMX__CHAN_HDR_SIZE), 0);
	shmx_close(r);
	assert_int_equal(tu_child_verdict(pid, LONG_MS, NULL), 0);
	shmx_chan_close(prod);
}

/* shmx_chan_send(3): "a consumer that must survive a hostile truncation
 * should use SHMX_CHAN_BLOCK" (an adaptive one polls the ring unguarded). */
static void test_blocking_consumer_asleep_when_truncated_gets_efault(void **state)
{
	(void)state;
	trunc_waiting_consumer(SHMX_CHAN_BLOCK);
}

/* Every channel call after a peer truncated the object, with the guard
 * installed and a SHMX_CHAN_BLOCK consumer: an error (-EFAULT), never
 * SIGBUS. One child per call. shmx_chan_send(3) promises it for the copies
 * and for a blocking consumer; shmx(7) (Formatted regions) promises it of
 * every channel call, from open to close; the failure message tells the two
 * apart. */
enum trunc_op { T_SEND, T_SEND0, T_RESERVE, T_RECV, T_RECV_WAIT, T_PEEK, T_USED,
		T_PENDING, T_CLOSE, T_OPS };

/* What shmx_chan_send(3) promises (guarded copies, a blocking consumer). */
static const bool trunc_documented[T_OPS] = {
	[T_SEND] = true, [T_RECV] = true, [T_RECV_WAIT] = true, [T_PEEK] = true,
	[T_CLOSE] = true,
};

static const char *const trunc_names[T_OPS] = {
	"shmx_chan_send(100 bytes)", "shmx_chan_send(0 bytes)",
	"shmx_chan_reserve + shmx_chan_commit(0 bytes)",
	"shmx_chan_recv(pending message, timeout 0)",
	"shmx_chan_recv(pending message, timeout 1000)",
	"shmx_chan_peek(pending message)", "shmx_chan_used", "shmx_chan_pending",
	"shmx_chan_close",
};

static long trunc_call(enum trunc_op op, struct shmx_chan *prod, struct shmx_chan *cons)
{
	char buf[128] = "x";
	const void *cp;
	long rc;
	void *p;

	switch (op) {
	case T_SEND:
		return shmx_chan_send(prod, buf, 100, 0);
	case T_SEND0:
		return shmx_chan_send(prod, buf, 0, 0);
	case T_RESERVE:
		/* reserving needs no access, and may succeed; the commit must not
		 * (the caller wrote no payload: nothing outside libshmx faulted) */
		rc = shmx_chan_reserve(prod, 100, &p, 0);
		return rc ? rc : shmx_chan_commit(prod, 0);
	case T_RECV:
		return shmx_chan_recv(cons, buf, sizeof(buf), 0);
	case T_RECV_WAIT:
		return shmx_chan_recv(cons, buf, sizeof(buf), 1000);
	case T_PEEK:
		return shmx_chan_peek(cons, &cp, 0);
	case T_USED:
		return shmx_chan_used(cons);
	case T_PENDING:
		return shmx_chan_pending(prod);
	default:
		shmx_chan_close(prod);
		shmx_chan_close(cons);
		return 0;
	}
}

/* The queries only read the header: a count is fine while it is there. */
static bool trunc_ok(enum trunc_op op, long rc)
{
	if (op == T_CLOSE)
		return rc == 0;
	if (op == T_USED || op == T_PENDING)
		return rc >= 0 || rc == -EFAULT;
	return rc == -EFAULT;
}

static void trunc_call_child(const char *name, enum trunc_op op, off_t size, int ready,
			     int done)
{
	struct shmx_chan *prod, *cons;
	long rc;

	TU_CKEQ(shmx_guard_sigbus(), 0);
	TU_CKEQ(shmx_chan_create(name, 1 << 16, P | SHMX_CHAN_BLOCK, 0, &prod), 0);
	TU_CKEQ(shmx_chan_open(name, C | SHMX_CHAN_BLOCK, 0, &cons), 0);
	TU_CKEQ(shmx_chan_send(prod, "pending", 8, 0), 0);
	tu_ev_post(ready);
	TU_CK(tu_ev_wait(done, LONG_MS));
	(void)size;
	rc = trunc_call(op, prod, cons);
	if (!trunc_ok(op, rc))
		fprintf(stderr, "# %s: %ld %s\n", trunc_names[op], rc, tu_errname(rc));
	TU_CK(trunc_ok(op, rc));
	/* sticky: the next call says the same */
	if (op != T_CLOSE)
		TU_CK(trunc_ok(op, trunc_call(op, prod, cons)));
	_exit(0);
}

static void test_every_channel_call_after_a_truncation_is_efault(void **state)
{
	static const off_t sizes[] = { SHMX__CHAN_HDR_SIZE, 0 };
	struct shmx_region *r;
	int ready[2], done[2], code, nfailed = 0;
	pid_t pid;

	(void)state;
	for (size_t s = 0; s < 2; s++) {
		for (int op = 0; op < T_OPS; op++) {
			const char *name = tu_name();

			tu_ev_init(ready);
			tu_ev_init(done);
			pid = tu_fork();
			if (pid == 0)
				trunc_call_child(name, op, sizes[s], ready[1], done[0]);
			assert_true(tu_ev_wait(ready[0], LONG_MS));
			assert_int_equal(shmx_open(name, 0, &r), 0);
			assert_int_equal(ftruncate(shmx_fd(r), sizes[s]), 0);
			shmx_close(r);
			tu_ev_post(done[1]);
			if (tu_child_verdict(pid, LONG_MS, &code)) {
				nfailed++;
				print_message("# %s after truncation to %lld: %s (%s)\n",
					 trunc_names[op], (long long)sizes[s],
					 code > 128 ? strsignal(code - 128) : "wrong result",
					 trunc_documented[op] ? "the man page promises -EFAULT" :
					 "shmx(7) promises it; shmx_chan_send(3) leaves it out");
			}
			close(ready[0]);
			close(ready[1]);
			close(done[0]);
			close(done[1]);
		}
	}
	if (nfailed)
		fail_msg("%d channel calls after a truncation did not return -EFAULT "
			 "(listed above)", nfailed);
}

/* ---- random truncations ---- */

/* Why a fault in an atomic is not survived under ThreadSanitizer. */
#define TSAN_ATOMIC_FAULT                                                        \
	"a truncation fault inside an atomic read-modify-write or release store " \
	"leaves the sanitizer's lock for that word held, and the next atomic on " \
	"it deadlocks (scripts/test.sh)"

static void test_truncation_never_kills(void **state)
{
	const char *name = tu_name();
	long trials = scaled(TRIALS);
	pid_t pid;

	(void)state;
	/* random truncation points land in the channel's atomics */
	TU_SKIP_UNDER_TSAN(TSAN_ATOMIC_FAULT);
	/* a SIGBUS that gets past the guard kills the worker: its verdict */
	pid = tu_fork();
	if (pid == 0)
		worker(name, trials);
	assert_int_equal(tu_child_verdict(pid, WORKER_MS, NULL), 0);
	assert_false(tu_exists(name));
}

/* A peer truncates the channel while a blocking consumer sleeps, without
 * the guard: it notices before it sleeps again (-EFAULT), and says so
 * again. The truncation lands while the consumer is stopped in its sleep:
 * between sleeps it reads the ring, and a truncation then is a SIGBUS
 * (shmx_chan_send(3)). */
static void test_blocking_consumer_notices_a_truncation_before_it_sleeps(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r, *m;
	struct shmx_chan *rx;
	char buf[16];
	pid_t pid;
	int rc;

	(void)state;
	/* Blocking: a spinning consumer polls the ring itself, and a poll of a
	 * truncated page faults (only copies are guarded; see shmx_chan_recv(3)). */
	assert_int_equal(shmx_chan_create(name, 1 << 16, C | SHMX_CHAN_BLOCK, 0, &rx), 0);
	pid = tu_fork();
	if (pid == 0) {
		TU_CKEQ(shmx_open(name, SHMX_MAP, &m), 0);
		TU_CKEQ(shmx_open(name, 0, &r), 0);
		/* its "asleep" flag up, and stopped inside the sleep */
		TU_CK(tu_stop_in_futex_wait(getppid(), &((struct shmx__chan_hdr *)
							 shmx_addr(m))->data_waiting, LONG_MS));
		rc = shmx_resize(r, SHMX__CHAN_HDR_SIZE);
		TU_CKEQ(kill(getppid(), SIGCONT), 0);
		TU_CKEQ(rc, 0);
		_exit(0);
	}
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), -EFAULT);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EFAULT);
	assert_int_equal(tu_child_verdict(pid, 60000, NULL), 0);
	rx = shmx_chan_close(rx);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_region_copies_after_a_peer_truncates_are_efault),
		T(test_pair_after_a_peer_truncates_is_efault),
		T(test_pair_turn_survives_a_truncation_and_regrowth),
		T(test_blocking_consumer_asleep_when_truncated_gets_efault),
		T(test_blocking_consumer_notices_a_truncation_before_it_sleeps),
		T(test_every_channel_call_after_a_truncation_is_efault),
		T(test_truncation_never_kills),
	};

	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
