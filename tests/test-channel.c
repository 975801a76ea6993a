/* SPDX-License-Identifier: MIT */
/* Channels between real processes (fork) on real /dev/shm objects: the
 * 10-million-message stream, dead and closed peers, timeouts, try-mode,
 * size limits, roles, open/publish races, queries, stat, and two threads on
 * one channel (also run under ThreadSanitizer: SHMX_TEST_FILTER=threads).
 * SHMX_TEST_SCALE (e.g. 0.01) shrinks the message counts for sanitizers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000 /* "forever" for a test: failing beats hanging */

static long scaled(long n)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	double f = s ? atof(s) : 1.0;
	long m = (long)((double)n * (f > 0 ? f : 1.0));

	return m < 1000 ? 1000 : m;
}

/* ---- message contents: sequence number, checksum, pattern ---- */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= UINT64_C(0x7fb5d329728ea185);
	x ^= x >> 27;
	x *= UINT64_C(0x81dadef4bc2dd44d);
	return x ^ (x >> 33);
}

/* Sizes: 0, 1, max-1, max, many small, some anywhere up to max; with a
 * 4 KiB ring the records land on every offset, so they straddle the wrap
 * point in every way. */
static size_t size_of(uint64_t seq, size_t max)
{
	uint64_t r = mix(seq);

	switch (seq % 16) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return max - 1;
	case 3:
		return max;
	case 4: case 5: case 6: case 7:
		return 8 + r % 57;
	case 8: case 9: case 10: case 11:
		return r % 17;
	default:
		return r % (max + 1);
	}
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325), w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * UINT64_C(0x100000001b3);
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* len >= 16: seq, checksum of the rest, pattern; shorter: pattern only
 * (the length itself is checked against the expected schedule). */
static void fill(unsigned char *p, size_t len, uint64_t seq)
{
	uint64_t x = mix(seq ^ UINT64_C(0x9e3779b97f4a7c15)), sum;
	size_t i, start = len >= 16 ? 16 : 0;

	for (i = start; i < len; i += 8) {
		x = mix(x);
		memcpy(p + i, &x, len - i < 8 ? len - i : 8);
	}
	if (start) {
		sum = checksum(p + 16, len - 16);
		memcpy(p, &seq, 8);
		memcpy(p + 8, &sum, 8);
	}
}

static bool intact(const unsigned char *p, size_t len, uint64_t seq)
{
	unsigned char ref[64];
	uint64_t s, sum;

	if (len < 16) {
		fill(ref, len, seq);
		return memcmp(ref, p, len) == 0;
	}
	memcpy(&s, p, 8);
	memcpy(&sum, p + 8, 8);
	return s == seq && sum == checksum(p + 16, len - 16);
}

/* ---- producer and consumer loops (used by processes and threads) ---- */

/* Send count messages (count < 0: until an error); zero-copy for every
 * third. Returns 0 or the error that stopped it. */
static int produce(struct shmx_chan *tx, long count, unsigned char *buf)
{
	size_t max = shmx_chan_max_msg(tx), len;
	uint64_t seq;
	void *p;
	int err;

	for (seq = 0; count < 0 || seq < (uint64_t)count; seq++) {
		len = size_of(seq, max);
		if (seq % 3 == 0) {
			err = shmx_chan_reserve(tx, len, &p, LONG_MS);
			if (!err) {
				fill(p, len, seq);
				err = shmx_chan_commit(tx, len);
			}
		} else {
			fill(buf, len, seq);
			err = shmx_chan_send(tx, buf, len, LONG_MS);
		}
		if (err)
			return err;
	}
	return 0;
}

/* Receive until count messages in all or an error; every message must be
 * the next in sequence (*got, counted up), of the scheduled size, intact.
 * Returns 0, the error, or -EILSEQ for a wrong message. */
static int consume_all(struct shmx_chan *rx, long count, unsigned char *buf, long *got)
{
	size_t max = shmx_chan_max_msg(rx);
	const void *p;
	uint64_t seq;
	ssize_t n;

	for (seq = (uint64_t)*got; count < 0 || seq < (uint64_t)count; seq++) {
		if (seq % 5 == 0) {
			n = shmx_chan_peek(rx, &p, LONG_MS);
			if (n >= 0 && ((size_t)n != size_of(seq, max) || !intact(p, (size_t)n, seq)))
				return -EILSEQ;
			if (n >= 0)
				n = shmx_chan_release(rx);
		} else {
			n = shmx_chan_recv(rx, buf, max, LONG_MS);
			if (n >= 0 && ((size_t)n != size_of(seq, max) || !intact(buf, (size_t)n, seq)))
				return -EILSEQ;
		}
		if (n < 0)
			return (int)n;
		*got = (long)seq + 1;
	}
	return 0;
}

static pid_t fork_child(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	return pid;
}

static void wait_ok(pid_t pid)
{
	int status;

	assert_int_equal(tu_waitpid(pid, 60000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void kill_and_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	assert_true(WIFSIGNALED(status));
}

/* Read one byte from a pipe with a deadline: the peer's "ready" event.
 * No cmocka assertion: forked children call it too. */
static bool got_event(int fd)
{
	struct timespec ts = { 0, 1000000 };
	int64_t end = tu_now_ms() + LONG_MS;
	char ch;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (read(fd, &ch, 1) != 1) {
		if (tu_now_ms() >= end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

#define wait_event(fd) assert_true(got_event(fd))

static void signal_event(int fd)
{
	char ch = 1;

	if (write(fd, &ch, 1) != 1)
		_exit(90);
}

/* ---- the stream ---- */

static void test_stream(void **state)
{
	const char *name = tu_name();
	long count = scaled(10000000), got = 0;
	struct shmx_chan *rx;
	unsigned char *buf;
	int64_t t0 = tu_now_ms();
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, C, 0, &rx), 0);
	pid = fork_child();
	if (pid == 0) {
		struct shmx_chan *tx;
		unsigned char *b = malloc(4096);

		if (!b || shmx_chan_open(name, P, LONG_MS, &tx))
			_exit(2);
		if (produce(tx, count, b))
			_exit(3);
		shmx_chan_close(tx);
		_exit(0);
	}
	buf = malloc(shmx_chan_max_msg(rx));
	assert_non_null(buf);
	assert_int_equal(consume_all(rx, count, buf, &got), 0);
	assert_int_equal(got, count);
	wait_ok(pid);
	/* The producer closed: everything was received, then -EPIPE. */
	assert_int_equal(shmx_chan_recv(rx, buf, 4096, LONG_MS), -EPIPE);
	print_message("# %ld messages in %lld ms\n", count, (long long)(tu_now_ms() - t0));
	free(buf);
	rx = shmx_chan_close(rx);
}

/* ---- dead and closed peers ---- */

static void test_producer_killed(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *rx;
	unsigned char buf[4096];
	long got = 0;
	pid_t pid;
	int err;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, C, 0, &rx), 0);
	pid = fork_child();
	if (pid == 0) {
		struct shmx_chan *tx;

		if (shmx_chan_open(name, P, LONG_MS, &tx))
			_exit(2);
		produce(tx, -1, malloc(4096));
		_exit(3);
	}
	assert_int_equal(consume_all(rx, 20000, buf, &got), 0);
	kill_and_reap(pid);
	/* Everything committed before the kill, in order and intact, then the
	 * death: never a torn message. */
	err = consume_all(rx, -1, buf, &got);
	assert_int_equal(err, -EOWNERDEAD);
	assert_true(got >= 20000);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EOWNERDEAD);
	rx = shmx_chan_close(rx);
}

/* Killed between reserve and commit: that message never appears. */
static void test_producer_killed_mid_message(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *rx;
	unsigned char buf[4096];
	int ev[2];
	long got = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ev), 0);
	assert_int_equal(shmx_chan_create(name, 4096, C, 0, &rx), 0);
	pid = fork_child();
	if (pid == 0) {
		struct shmx_chan *tx;
		void *p;

		/* 0, 1 and max-1 bytes fit together; then 100 bytes, half done */
		if (shmx_chan_open(name, P, LONG_MS, &tx) || produce(tx, 3, buf) ||
		    shmx_chan_reserve(tx, 100, &p, LONG_MS))
			_exit(2);
		fill(p, 50, 3);
		signal_event(ev[1]);
		pause();
		_exit(3);
	}
	wait_event(ev[0]);
	kill_and_reap(pid);
	assert_int_equal(consume_all(rx, -1, buf, &got), -EOWNERDEAD);
	assert_int_equal(got, 3);
	assert_int_equal(shmx_chan_pending(rx), 0);
	close(ev[0]);
	close(ev[1]);
	rx = shmx_chan_close(rx);
}

/* The other way round: a producer waiting for space learns of the death. */
static void test_consumer_killed(void **state)
{
	const char *name = tu_name();
	unsigned char buf[4096];
	struct shmx_chan *tx;
	int ev[2], err;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ev), 0);
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &tx), 0);
	pid = fork_child();
	if (pid == 0) {
		struct shmx_chan *rx;
		long got = 0;

		if (shmx_chan_open(name, C, LONG_MS, &rx) || consume_all(rx, 1000, buf, &got))
			_exit(2);
		signal_event(ev[1]);
		pause();
		_exit(3);
	}
	err = produce(tx, 1000, buf);
	assert_int_equal(err, 0);
	wait_event(ev[0]);
	kill_and_reap(pid);
	/* Fills the ring, then must see the corpse rather than time out. */
	memset(buf, 0, sizeof(buf));
	do
		err = shmx_chan_send(tx, buf, 100, LONG_MS);
	while (err == 0);
	assert_int_equal(err, -EOWNERDEAD);
	close(ev[0]);
	close(ev[1]);
	tx = shmx_chan_close(tx);
}

static void test_clean_close(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char buf[64];
	int ev[2], go[2];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_send(tx, "one", 3, 0), 0);
	assert_int_equal(shmx_chan_send(tx, "two", 3, 0), 0);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 3);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EPIPE);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 100), -EPIPE);

	/* A new producer may take over; the consumer carries on. */
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_send(tx, "three", 5, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 5);

	/* A consumer asleep in recv is woken by the close, not by a timeout.
	 * (The child opens its own handle: a forked copy of a handle is the
	 * same open file description, and closing it would end ours too.) */
	tx = shmx_chan_close(tx);
	assert_int_equal(pipe(ev), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork_child();
	if (pid == 0) {
		if (shmx_chan_open(name, P, 0, &tx) || shmx_chan_send(tx, "x", 1, 0))
			_exit(2);
		signal_event(ev[1]);
		if (!got_event(go[0]))
			_exit(3);
		usleep(100000); /* let the parent fall asleep; not a sync point */
		shmx_chan_close(tx);
		_exit(0);
	}
	wait_event(ev[0]);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), 1);
	signal_event(go[1]);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), -EPIPE);
	wait_ok(pid);
	close(go[0]);
	close(go[1]);

	/* Consumer closes: the producer learns when it would have to wait. */
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	rx = shmx_chan_close(rx);
	while (shmx_chan_send(tx, buf, 60, 0) == 0)
		;
	assert_int_equal(shmx_chan_send(tx, buf, 60, 0), -EPIPE);
	assert_int_equal(shmx_chan_send(tx, buf, 60, 1000), -EPIPE);
	close(ev[0]);
	close(ev[1]);
	tx = shmx_chan_close(tx);
}

/* A peer that never attached is not dead: wait, time out. */
static void test_peer_not_yet_attached(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(shmx_chan_create(name, 256, P, 0, &tx), 0);
	while (shmx_chan_send(tx, buf, 8, 0) == 0)
		;
	assert_int_equal(shmx_chan_send(tx, buf, 8, 0), -EAGAIN);
	assert_int_equal(shmx_chan_send(tx, buf, 8, 50), -ETIMEDOUT);
	/* A consumer that opens later gets everything. */
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 8);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);

	assert_int_equal(shmx_chan_create(name2, 256, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 50), -ETIMEDOUT);
	rx = shmx_chan_close(rx);
}

/* ---- timeouts, try-mode, sizes, roles ---- */

static void test_timeouts(void **state)
{
	static const unsigned modes[] = { 0, SHMX_CHAN_SPIN, SHMX_CHAN_BLOCK };
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };
	int64_t t0, dt;
	size_t i;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 256, P, 0, &tx), 0);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(shmx_chan_open(name, C | modes[i], 0, &rx), 0);
		t0 = tu_now_ms();
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 200), -ETIMEDOUT);
		dt = tu_now_ms() - t0;
		assert_true(dt >= 200);
		assert_true(dt < 5000);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
		const void *p;
		assert_int_equal(shmx_chan_peek(rx, &p, 0), -EAGAIN);
		rx = shmx_chan_close(rx);
	}
	/* Full ring, consumer attached but not reading. */
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	while (shmx_chan_send(tx, buf, 16, 0) == 0)
		;
	assert_int_equal(shmx_chan_send(tx, buf, 16, 0), -EAGAIN);
	void *w;
	assert_int_equal(shmx_chan_reserve(tx, 16, &w, 0), -EAGAIN);
	t0 = tu_now_ms();
	assert_int_equal(shmx_chan_send(tx, buf, 16, 200), -ETIMEDOUT);
	dt = tu_now_ms() - t0;
	assert_true(dt >= 200 && dt < 5000);
	/* Space comes back once the consumer reads. */
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 16);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 16);
	assert_int_equal(shmx_chan_send(tx, buf, 16, 1000), 0);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

static void test_sizes(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	size_t max;
	char *buf;
	void *w;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	max = shmx_chan_max_msg(tx);
	assert_int_equal(max, 4096 / 2 - 8);
	assert_int_equal(shmx_chan_max_msg(rx), max);
	buf = calloc(1, max + 1);
	assert_non_null(buf);
	assert_int_equal(shmx_chan_send(tx, buf, max + 1, 0), -EMSGSIZE);
	assert_int_equal(shmx_chan_send(tx, buf, SIZE_MAX, 0), -EMSGSIZE);
	assert_int_equal(shmx_chan_reserve(tx, max + 1, &w, 0), -EMSGSIZE);
	memset(buf, 'm', max);
	assert_int_equal(shmx_chan_send(tx, buf, max, 0), 0);
	assert_int_equal(shmx_chan_send(tx, NULL, 0, 0), 0);
	/* Too small a buffer: -EMSGSIZE, and the message stays. */
	assert_int_equal(shmx_chan_recv(rx, buf, max - 1, 0), -EMSGSIZE);
	assert_int_equal(shmx_chan_recv(rx, buf, 0, 0), -EMSGSIZE);
	memset(buf, 0, max);
	assert_int_equal(shmx_chan_recv(rx, buf, max, 0), (ssize_t)max);
	assert_true(buf[0] == 'm' && buf[max - 1] == 'm');
	assert_int_equal(shmx_chan_recv(rx, NULL, 0, 0), 0);
	free(buf);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

static void test_zero_copy(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	const void *q, *q2;
	char buf[64];
	void *p;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_commit(tx, 0), -EINVAL);
	assert_int_equal(shmx_chan_reserve(tx, 100, &p, 0), 0);
	assert_true(((uintptr_t)p & 7) == 0);
	assert_int_equal(shmx_chan_reserve(tx, 10, &p, 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_send(tx, "x", 1, 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_commit(tx, 101), -EMSGSIZE);
	memcpy(p, "hello, ring", 11);
	/* Nothing visible before the commit. */
	assert_int_equal(shmx_chan_peek(rx, &q, 0), -EAGAIN);
	assert_int_equal(shmx_chan_commit(tx, 11), 0);
	assert_int_equal(shmx_chan_commit(tx, 0), -EINVAL);
	assert_int_equal(shmx_chan_release(rx), -EINVAL);
	assert_int_equal(shmx_chan_peek(rx, &q, 0), 11);
	assert_memory_equal(q, "hello, ring", 11);
	/* Peeking again shows the same message; recv waits for release. */
	assert_int_equal(shmx_chan_peek(rx, &q2, 0), 11);
	assert_ptr_equal(q, q2);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_release(rx), 0);
	assert_int_equal(shmx_chan_release(rx), -EINVAL);
	assert_int_equal(shmx_chan_peek(rx, &q, 0), -EAGAIN);
	/* Round trips across the wrap point, mixing both paths. */
	for (int i = 0; i < 1000; i++) {
		size_t len = (size_t)(i * 37) % (shmx_chan_max_msg(tx) + 1);
		unsigned char *m;

		assert_int_equal(shmx_chan_reserve(tx, len, &p, 0), 0);
		fill(p, len, (uint64_t)i);
		assert_int_equal(shmx_chan_commit(tx, len), 0);
		assert_int_equal(shmx_chan_peek(rx, &q, 0), (ssize_t)len);
		m = (unsigned char *)q;
		assert_true(intact(m, len, (uint64_t)i));
		assert_int_equal(shmx_chan_release(rx), 0);
	}
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

static void test_queries(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_capacity(tx), 1024);
	assert_int_equal(shmx_chan_capacity(rx), 1024);
	assert_int_equal(shmx_chan_capacity(NULL), 0);
	assert_int_equal(shmx_chan_max_msg(NULL), 0);
	assert_int_equal(shmx_chan_used(NULL), -EINVAL);
	assert_int_equal(shmx_chan_pending(NULL), -EINVAL);
	assert_int_equal(shmx_chan_used(tx), 0);
	assert_int_equal(shmx_chan_pending(rx), 0);
	assert_int_equal(shmx_chan_send(tx, buf, 5, 0), 0);   /* record: 8 + 8 */
	assert_int_equal(shmx_chan_send(tx, buf, 16, 0), 0);  /* 8 + 16 */
	assert_int_equal(shmx_chan_send(tx, buf, 0, 0), 0);   /* 8 */
	assert_int_equal(shmx_chan_used(tx), 48);
	assert_int_equal(shmx_chan_used(rx), 48);
	assert_int_equal(shmx_chan_pending(tx), 3);
	assert_int_equal(shmx_chan_pending(rx), 3);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 5);
	assert_int_equal(shmx_chan_used(rx), 32);
	assert_int_equal(shmx_chan_pending(rx), 2);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 16);
	assert_int_equal(shmx_chan_used(tx), 8);
	assert_int_equal(shmx_chan_pending(tx), 1);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 0);
	assert_int_equal(shmx_chan_used(tx), 0);
	assert_int_equal(shmx_chan_pending(tx), 0);
	assert_int_equal(shmx_chan_used(rx), 0);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

static void test_roles(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx, *x = NULL;
	const void *q;
	char buf[8];
	void *p;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, C, 0, &rx), 0);
	/* One consumer at a time; the creator holds it. */
	assert_int_equal(shmx_chan_open(name, C, 0, &x), -EBUSY);
	assert_null(x);
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, P, 0, &x), -EBUSY);
	assert_int_equal(shmx_chan_open(name, P, 1000, &x), -EBUSY);
	assert_null(x);
	assert_int_equal(shmx_chan_recv(tx, buf, sizeof(buf), 0), -EBADF);
	assert_int_equal(shmx_chan_peek(tx, &q, 0), -EBADF);
	assert_int_equal(shmx_chan_release(tx), -EBADF);
	assert_int_equal(shmx_chan_send(rx, "x", 1, 0), -EBADF);
	assert_int_equal(shmx_chan_reserve(rx, 1, &p, 0), -EBADF);
	assert_int_equal(shmx_chan_commit(rx, 0), -EBADF);
	/* A role freed by close can be taken again. */
	rx = shmx_chan_close(rx);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
	assert_int_equal(shmx_chan_unlink(name), 0);
	assert_int_equal(shmx_chan_unlink(name), -ENOENT);
}

static void test_args(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c = NULL, *tx;
	struct shmx_chan_info info;
	char buf[8];
	const void *q;
	void *p;

	(void)state;
	/* create */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, NULL), -EINVAL);
	assert_int_equal(shmx_chan_create(NULL, 1024, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create("", 1024, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create("/a/b", 1024, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, 0, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | C, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK,
					  0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_ALLOW_SHARED, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_RDONLY, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | (1u << 20), 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1000, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 0, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 32, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, (size_t)1 << 33, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P, 01000, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(tu_devshm_count(name + 1), 0);
	/* open */
	assert_int_equal(shmx_chan_open(name, C, 0, NULL), -EINVAL);
	assert_int_equal(shmx_chan_open(NULL, C, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, 0, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, P | C, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, C | SHMX_MAP, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, C | SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK, 0, &c),
			 -EINVAL);
	assert_int_equal(shmx_chan_open(name, C, -2, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), -ENOENT);
	assert_int_equal(shmx_chan_open(name, C, 50, &c), -ENOENT);
	assert_null(c);
	/* the rest, on a real channel */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), 0);
	assert_int_equal(shmx_chan_send(NULL, "x", 1, 0), -EINVAL);
	assert_int_equal(shmx_chan_send(tx, NULL, 1, 0), -EINVAL);
	assert_int_equal(shmx_chan_send(tx, "x", 1, -2), -EINVAL);
	assert_int_equal(shmx_chan_reserve(NULL, 1, &p, 0), -EINVAL);
	assert_int_equal(shmx_chan_reserve(tx, 1, NULL, 0), -EINVAL);
	assert_int_equal(shmx_chan_reserve(tx, 1, &p, -5), -EINVAL);
	assert_int_equal(shmx_chan_commit(NULL, 0), -EINVAL);
	assert_int_equal(shmx_chan_recv(NULL, buf, 8, 0), -EINVAL);
	assert_int_equal(shmx_chan_recv(c, NULL, 8, 0), -EINVAL);
	assert_int_equal(shmx_chan_recv(c, buf, 8, -2), -EINVAL);
	assert_int_equal(shmx_chan_peek(NULL, &q, 0), -EINVAL);
	assert_int_equal(shmx_chan_peek(c, NULL, 0), -EINVAL);
	assert_int_equal(shmx_chan_peek(c, &q, -2), -EINVAL);
	assert_int_equal(shmx_chan_release(NULL), -EINVAL);
	assert_int_equal(shmx_chan_stat(name, NULL), -EINVAL);
	assert_int_equal(shmx_chan_stat(NULL, &info), -EINVAL);
	assert_int_equal(shmx_chan_unlink(NULL), -EINVAL);
	assert_int_equal(shmx_chan_unlink("/"), -EINVAL);
	assert_null(shmx_chan_close(NULL));
	/* a name that exists: create never adopts it */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &c), -EEXIST);
	tx = shmx_chan_close(tx);
	c = shmx_chan_close(c);
}

/* ---- open: waiting for the creator, refusing what is not a channel ---- */

/* Write a valid ABI 1 header by hand into a raw region, magic last. */
static void publish_by_hand(void *base, uint64_t cap)
{
	struct shmx__chan_hdr *h = base;

	h->abi = SHMX__CHAN_ABI;
	h->header_size = SHMX__CHAN_HDR_SIZE;
	h->capacity = cap;
	h->max_msg = shmx__chan_max_msg(cap);
	h->consumers = 1;
	__atomic_store_n(&h->magic, SHMX__CHAN_MAGIC, __ATOMIC_RELEASE);
}

/* The named fallback of creation (no O_TMPFILE): the object is visible
 * under its name, mode 0, while its creator writes the header; the mode it
 * gets afterwards is the publication. Returns the descriptor. */
static int half_made(const char *name, uint64_t cap, void **base)
{
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(SHMX__CHAN_HDR_SIZE + cap)), 0);
	*base = mmap(NULL, SHMX__CHAN_HDR_SIZE + cap, PROT_READ | PROT_WRITE, MAP_SHARED,
		     fd, 0);
	assert_true(*base != MAP_FAILED);
	return fd;
}

/* shmx_chan_open(name, flags, timeout) in a child, which must be done
 * within deadline_ms: its result, or -ETIMEDOUT if it hung. */
static int open_in_child(const char *name, unsigned flags, int timeout, int deadline_ms)
{
	struct shmx_chan *c;
	int status, err;
	pid_t pid = fork_child();

	if (pid == 0) {
		err = shmx_chan_open(name, flags, timeout, &c);
		if (!err)
			shmx_chan_close(c);
		_exit(-err);
	}
	if (tu_waitpid(pid, deadline_ms, &status))
		return -ETIMEDOUT;
	assert_true(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

static void test_open_waits(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_chan_info info;
	struct shmx_chan *c;
	void *base;
	int ev[2], fd;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ev), 0);
	/* 1. the name does not exist yet */
	pid = fork_child();
	if (pid == 0) {
		signal_event(ev[1]);
		_exit(shmx_chan_open(name, C, LONG_MS, &c) ? 2 : 0);
	}
	wait_event(ev[0]);
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &c), 0);
	wait_ok(pid);
	c = shmx_chan_close(c);

	/* 2. it exists, sized, mode 0: its creator publishes late */
	fd = half_made(name2, 1024, &base);
	pid = fork_child();
	if (pid == 0) {
		signal_event(ev[1]);
		_exit(shmx_chan_open(name2, P, LONG_MS, &c) ? 2 : 0);
	}
	wait_event(ev[0]);
	usleep(50000); /* make "late" likely; correctness does not depend on it */
	publish_by_hand(base, 1024);
	assert_int_equal(fchmod(fd, 0600), 0);
	wait_ok(pid);

	/* 3. never published: times out (and a try, or stat, says "not yet") */
	memset(base, 0, 64);
	assert_int_equal(fchmod(fd, 0), 0);
	int64_t t0 = tu_now_ms();
	assert_int_equal(shmx_chan_open(name2, P, 200, &c), -ETIMEDOUT);
	assert_true(tu_now_ms() - t0 >= 200);
	assert_int_equal(shmx_chan_open(name2, P, 0, &c), -EAGAIN);
	assert_int_equal(shmx_chan_stat(name2, &info), -EAGAIN);
	munmap(base, SHMX__CHAN_HDR_SIZE + 1024);
	close(fd);
	close(ev[0]);
	close(ev[1]);
}

/* An object its creator finished (mode not 0) whose header is all zero is
 * not a channel, now: open refuses it at once, as stat does, instead of
 * waiting for a magic that no creator will write. */
static void test_open_all_zero_is_not_a_channel(void **state)
{
	const char *name = tu_name();
	struct shmx_chan_info info;
	struct shmx_region *r;

	(void)state;
	assert_int_equal(shmx_create(name, SHMX__CHAN_HDR_SIZE + 1024, 0, 0, &r), 0);
	assert_int_equal(shmx_chan_stat(name, &info), -EBADMSG);
	assert_int_equal(open_in_child(name, C, -1, 5000), -EBADMSG);
	assert_int_equal(open_in_child(name, P, 0, 5000), -EBADMSG);
	r = shmx_close(r);
}

/* A large sparse object that is not a channel: open reads and checks the
 * header before it faults a single page of the ring in. */
static void test_open_validates_before_populating(void **state)
{
	static const size_t big = SHMX__CHAN_HDR_SIZE + ((size_t)256 << 20);
	const char *name = tu_name();
	char junk[SHMX__CHAN_HDR_SIZE];
	struct stat st;
	int64_t t0;
	int fd;

	(void)state;
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)big), 0);
	/* a header that is not one: the header page and nothing more */
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	assert_int_equal(open_in_child(name, C, -1, 5000), -EBADMSG);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 <= SHMX__CHAN_HDR_SIZE);
	/* all zero again, and nothing allocated: still nothing afterwards */
	assert_int_equal(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				   SHMX__CHAN_HDR_SIZE), 0);
	t0 = tu_now_ms();
	assert_int_equal(open_in_child(name, C, -1, 5000), -EBADMSG);
	assert_true(tu_now_ms() - t0 < 2000);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_blocks, 0);
	close(fd);
}

static void test_open_not_a_channel(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_chan_info info;
	struct shmx_region *r;
	struct shmx_chan *c = NULL;

	(void)state;
	/* bytes that are not a header */
	assert_int_equal(shmx_create(name, SHMX__CHAN_HDR_SIZE + 1024, SHMX_MAP, 0, &r), 0);
	memset(shmx_addr(r), 0x5a, shmx_size(r));
	assert_int_equal(shmx_chan_open(name, C, 1000, &c), -EBADMSG);
	assert_int_equal(shmx_chan_stat(name, &info), -EBADMSG);
	r = shmx_close(r);
	/* a size no channel has */
	assert_int_equal(shmx_create(name2, 5000, 0, 0, &r), 0);
	assert_int_equal(shmx_chan_open(name2, C, 1000, &c), -EBADMSG);
	assert_int_equal(shmx_chan_stat(name2, &info), -EBADMSG);
	assert_null(c);
	r = shmx_close(r);
}

static void test_allow_shared(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *c = NULL;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, P, 0666, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
	assert_null(c);
	assert_int_equal(shmx_chan_open(name, C | SHMX_ALLOW_SHARED, 0, &c), 0);
	c = shmx_chan_close(c);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_unlink(name), 0);
	/* group-writable too */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0620, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
	tx = shmx_chan_close(tx);
}

static void test_stat(void **state)
{
	const char *name = tu_name();
	struct shmx_chan_info info;
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(shmx_chan_stat(name, &info), -ENOENT);
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	memset(&info, 0xff, sizeof(info));
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.abi, 1);
	assert_int_equal(info.header_size, 4096);
	assert_int_equal(info.capacity, 1024);
	assert_int_equal(info.max_msg, 504);
	assert_int_equal(info.used, 0);
	assert_int_equal(info.sent, 0);
	assert_int_equal(info.producer_pid, getpid());
	assert_int_equal(info.consumer_pid, 0);
	assert_int_equal(info.holders, (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER));
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_send(tx, buf, 10, 0), 0);
	assert_int_equal(shmx_chan_send(tx, buf, 10, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 10);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.sent, 2);
	assert_int_equal(info.used, 24);
	assert_int_equal(info.holders, 7u);
	assert_int_equal(info.consumer_pid, getpid());
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 10);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.used, 0);
	assert_int_equal(info.received, 2);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.holders, 1u << SHMX_SLOT_READER);
	rx = shmx_chan_close(rx);
}

/* A peer truncating the object: the sleeper notices before it sleeps. */
static void test_truncated(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *rx;
	struct shmx_region *r;
	char buf[16];
	int ev[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ev), 0);
	/* Blocking: a spinning consumer polls the ring itself, and a poll of a
	 * truncated page faults (only copies are guarded; see shmx_chan_recv(3)). */
	assert_int_equal(shmx_chan_create(name, 1 << 16, C | SHMX_CHAN_BLOCK, 0, &rx), 0);
	pid = fork_child();
	if (pid == 0) {
		if (!got_event(ev[0]))
			_exit(3);
		if (shmx_open(name, 0, &r) || shmx_resize(r, SHMX__CHAN_HDR_SIZE))
			_exit(2);
		_exit(0);
	}
	signal_event(ev[1]);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), -EFAULT);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EFAULT);
	wait_ok(pid);
	rx = shmx_chan_close(rx);
	close(ev[0]);
	close(ev[1]);
}

/* ---- wake-ups ---- */

#define WAKE_SLOW_MS 10 /* a lost wake-up waits out the 15 ms sleep slice */

/* A consumer that takes exactly one message per request, then stops. */
static void take_one_per_request(const char *name, int req)
{
	struct shmx_chan *rx;
	char buf[64];

	if (shmx_chan_open(name, C | SHMX_CHAN_BLOCK, LONG_MS, &rx))
		_exit(2);
	while (got_event(req))
		if (shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS) < 0)
			_exit(3);
	_exit(0);
}

/* A producer asleep on a full ring is woken by the one recv that frees
 * room, not by its sleep slice running out: the consumer's tail store and
 * its look at the producer's "asleep" flag are ordered by a full fence
 * (shmx(7)). Counts the blocked sends that took a slice or more. */
static void test_blocked_send_woken_by_one_recv(void **state)
{
	const char *name = tu_name();
	long trials = scaled(1000) / 2, i, slow = 0;
	struct shmx_chan *tx;
	char msg[56] = { 0 };  /* 64-byte records tile the ring */
	int req[2], rc;
	int64_t t0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(req), 0);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_CHAN_BLOCK, 0, &tx), 0);
	pid = fork_child();
	if (pid == 0)
		take_one_per_request(name, req[0]);
	while ((rc = shmx_chan_send(tx, msg, sizeof(msg), 0)) == 0)
		;
	assert_int_equal(rc, -EAGAIN);
	for (i = 0; i < trials; i++) {
		signal_event(req[1]);
		t0 = tu_now_ms();
		assert_int_equal(shmx_chan_send(tx, msg, sizeof(msg), LONG_MS), 0);
		slow += tu_now_ms() - t0 >= WAKE_SLOW_MS;
	}
	print_message("# %ld of %ld blocked sends took >= %d ms\n", slow, trials,
		      WAKE_SLOW_MS);
	close(req[1]);
	wait_ok(pid);
	close(req[0]);
	tx = shmx_chan_close(tx);
	/* A scheduler hiccup on a loaded machine may cost one; a lost wake-up
	 * costs them all. */
	assert_true(slow * 100 <= trials);
}

/* ---- two threads on one object (ThreadSanitizer runs this one) ---- */

struct thread_arg {
	struct shmx_chan *c;
	long count;
	int err;
	long got;
};

static void *producer_thread(void *p)
{
	struct thread_arg *a = p;
	unsigned char *buf = malloc(shmx_chan_max_msg(a->c));

	a->err = buf ? produce(a->c, a->count, buf) : -ENOMEM;
	free(buf);
	return NULL;
}

static void *consumer_thread(void *p)
{
	struct thread_arg *a = p;
	unsigned char *buf = malloc(shmx_chan_max_msg(a->c));

	a->err = buf ? consume_all(a->c, a->count, buf, &a->got) : -ENOMEM;
	free(buf);
	return NULL;
}

static void test_threads(void **state)
{
	static const unsigned modes[] = { 0, SHMX_CHAN_SPIN, SHMX_CHAN_BLOCK };
	struct thread_arg pa, ca;
	pthread_t pt, ct;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *name = tu_name();
		long count = scaled(i == 0 ? 1000000 : 100000);

		memset(&pa, 0, sizeof(pa));
		memset(&ca, 0, sizeof(ca));
		pa.count = ca.count = count;
		/* Two opens, two open file descriptions: the roles' locks work
		 * between them as between processes. */
		assert_int_equal(shmx_chan_create(name, 8192, P | modes[i], 0, &pa.c), 0);
		assert_int_equal(shmx_chan_open(name, C | modes[i], 0, &ca.c), 0);
		assert_int_equal(pthread_create(&ct, NULL, consumer_thread, &ca), 0);
		assert_int_equal(pthread_create(&pt, NULL, producer_thread, &pa), 0);
		assert_int_equal(pthread_join(pt, NULL), 0);
		assert_int_equal(pthread_join(ct, NULL), 0);
		assert_int_equal(pa.err, 0);
		assert_int_equal(ca.err, 0);
		assert_int_equal(ca.got, count);
		pa.c = shmx_chan_close(pa.c);
		ca.c = shmx_chan_close(ca.c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_args, tu_teardown),
		cmocka_unit_test_teardown(test_sizes, tu_teardown),
		cmocka_unit_test_teardown(test_zero_copy, tu_teardown),
		cmocka_unit_test_teardown(test_queries, tu_teardown),
		cmocka_unit_test_teardown(test_roles, tu_teardown),
		cmocka_unit_test_teardown(test_timeouts, tu_teardown),
		cmocka_unit_test_teardown(test_peer_not_yet_attached, tu_teardown),
		cmocka_unit_test_teardown(test_clean_close, tu_teardown),
		cmocka_unit_test_teardown(test_open_waits, tu_teardown),
		cmocka_unit_test_teardown(test_open_not_a_channel, tu_teardown),
		cmocka_unit_test_teardown(test_open_all_zero_is_not_a_channel, tu_teardown),
		cmocka_unit_test_teardown(test_open_validates_before_populating, tu_teardown),
		cmocka_unit_test_teardown(test_allow_shared, tu_teardown),
		cmocka_unit_test_teardown(test_stat, tu_teardown),
		cmocka_unit_test_teardown(test_truncated, tu_teardown),
		cmocka_unit_test_teardown(test_producer_killed, tu_teardown),
		cmocka_unit_test_teardown(test_producer_killed_mid_message, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_killed, tu_teardown),
		cmocka_unit_test_teardown(test_blocked_send_woken_by_one_recv, tu_teardown),
		cmocka_unit_test_teardown(test_threads, tu_teardown),
		cmocka_unit_test_teardown(test_stream, tu_teardown),
	};

	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
