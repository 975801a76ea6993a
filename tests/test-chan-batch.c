/* SPDX-License-Identifier: MIT */
/* Batches on a channel (shmx_chan_send_batch, shmx_chan_recv_batch) between
 * real processes on real /dev/shm objects: mixed sizes across the ring's
 * wrap and up to max_msg, intact against single calls on the other side;
 * partial batches when the ring fills or the buffer is short; timeouts; a
 * peer dying mid-batch; and wake-ups that a batch must not lose.
 * SHMX_TEST_SCALE (e.g. 0.1) shrinks the message counts for sanitizers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000   /* "forever" for a test: failing beats hanging */
#define RING 4096       /* small: records land on every offset, and wrap */
#define MAX_MSG (RING / 2 - 8)
#define BATCH 24        /* messages per batch call */
#define WAKE_SLOW_MS 10 /* a lost wake-up waits out the 15 ms sleep slice */

static long scaled(long n)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	double f = s ? atof(s) : 1.0;
	long m = (long)((double)n * (f > 0 ? f : 1.0));

	return m < 200 ? 200 : m;
}

/* ---- messages: a length schedule and a pattern checked byte by byte ---- */

static size_t size_of(uint64_t seq)
{
	uint64_t r = seq * UINT64_C(0x9e3779b97f4a7c15);

	switch (seq % 8) {
	case 0:
		return 0;
	case 1:
		return MAX_MSG;
	case 2:
		return MAX_MSG - 1;
	case 3:
		return 1;
	case 4: case 5:
		return (r >> 40) % 65;
	default:
		return (r >> 40) % (MAX_MSG + 1);
	}
}

static unsigned char byte_of(uint64_t seq, size_t i)
{
	return (unsigned char)(seq * 131 + i * 7 + (seq >> 8));
}

static void fill(unsigned char *p, uint64_t seq)
{
	for (size_t i = 0; i < size_of(seq); i++)
		p[i] = byte_of(seq, i);
}

static bool intact(const unsigned char *p, size_t len, uint64_t seq)
{
	if (len != size_of(seq))
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] != byte_of(seq, i))
			return false;
	return true;
}

/* ---- process helpers (no cmocka assertions in children) ---- */

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

static bool got_event(int fd)
{
	struct timespec ts = { 0, 200000 };
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

static void signal_event(int fd)
{
	char ch = 1;

	if (write(fd, &ch, 1) != 1)
		_exit(90);
}

/* ---- both ends, batched or not ---- */

struct msgs {
	unsigned char *data;    /* BATCH messages of up to MAX_MSG bytes */
	struct iovec iov[BATCH];
	size_t lens[BATCH];
};

static struct msgs *msgs_new(void)
{
	struct msgs *m = calloc(1, sizeof(*m));

	if (m)
		m->data = malloc((size_t)BATCH * MAX_MSG);
	return m && m->data ? m : NULL;
}

/* Send count messages from seq 0; batches of up to BATCH when batched. */
static int produce(struct shmx_chan *c, long count, bool batched, struct msgs *m)
{
	ssize_t k;
	long seq = 0;
	int n, i;

	while (seq < count) {
		n = batched ? (int)((count - seq) < BATCH ? count - seq : BATCH) : 1;
		for (i = 0; i < n; i++) {
			m->iov[i].iov_base = m->data + (size_t)i * MAX_MSG;
			m->iov[i].iov_len = size_of((uint64_t)(seq + i));
			fill(m->iov[i].iov_base, (uint64_t)(seq + i));
		}
		if (batched)
			k = shmx_chan_send_batch(c, m->iov, (size_t)n, LONG_MS);
		else if (!(k = shmx_chan_send(c, m->iov[0].iov_base, m->iov[0].iov_len,
					      LONG_MS)))
			k = 1;
		if (k < 0)
			return (int)k;
		/* a partial batch: the rest goes again, renumbered from here */
		seq += k;
	}
	return 0;
}

/* Receive count messages and check every byte; -EBADMSG for a wrong one. */
static int consume(struct shmx_chan *c, long count, bool batched, struct msgs *m)
{
	size_t size = (size_t)BATCH * MAX_MSG, off;
	long seq = 0;
	ssize_t k;

	while (seq < count) {
		if (batched) {
			k = shmx_chan_recv_batch(c, m->data, size, m->lens, BATCH, LONG_MS);
		} else {
			k = shmx_chan_recv(c, m->data, MAX_MSG, LONG_MS);
			m->lens[0] = (size_t)k;
			k = k < 0 ? k : 1;
		}
		if (k < 0)
			return (int)k;
		off = 0;
		for (ssize_t i = 0; i < k; i++, seq++) {
			if (!intact(m->data + off, m->lens[i], (uint64_t)seq))
				return -EBADMSG;
			off += m->lens[i];
		}
	}
	return 0;
}

static void child_consume(const char *name, unsigned flags, long count, bool batched)
{
	struct shmx_chan *c;
	struct msgs *m = msgs_new();

	if (!m || shmx_chan_open(name, C | flags, LONG_MS, &c))
		_exit(2);
	_exit(consume(c, count, batched, m) ? 3 : 0);
}

/* ---- the stream, every pairing of batched and single ends ---- */

static void stream(unsigned flags, bool batch_send, bool batch_recv)
{
	const char *name = tu_name();
	long count = scaled(50000);
	struct shmx_chan *tx;
	struct msgs *m = msgs_new();
	pid_t pid;

	assert_non_null(m);
	assert_int_equal(shmx_chan_create(name, RING, P | flags, 0, &tx), 0);
	pid = fork_child();
	if (pid == 0)
		child_consume(name, flags, count, batch_recv);
	assert_int_equal(produce(tx, count, batch_send, m), 0);
	wait_ok(pid);
	tx = shmx_chan_close(tx);
	free(m->data);
	free(m);
}

/* Mixed sizes from 0 to max_msg through a 4 KiB ring: every record offset,
 * padding at the wrap, all of it byte for byte, in every pairing. */
static void test_batch_send_intact_against_single_recv(void **state)
{
	(void)state;
	stream(0, true, false);
	stream(SHMX_CHAN_BLOCK, true, false);
}

static void test_batch_recv_intact_against_single_send(void **state)
{
	(void)state;
	stream(0, false, true);
	stream(SHMX_CHAN_SPIN, false, true);
}

static void test_batch_both_ends_intact(void **state)
{
	(void)state;
	stream(0, true, true);
	stream(SHMX_CHAN_BLOCK, true, true);
}

/* ---- partial batches ---- */

/* A batch larger than the ring: a try sends what fits and says how many;
 * with a timeout it waits that long, then does the same. What went is
 * whole and in order. */
static void test_send_batch_partial_when_ring_fills(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	struct msgs *m = msgs_new();
	struct iovec iov[BATCH];
	char msg[120] = "m";
	ssize_t sent, got, more;
	int64_t t0;

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < BATCH; i++)
		iov[i] = (struct iovec){ .iov_base = msg, .iov_len = sizeof(msg) };
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	sent = shmx_chan_send_batch(tx, iov, BATCH, 0);
	assert_true(sent >= 1 && sent < BATCH);
	assert_int_equal(shmx_chan_send_batch(tx, iov, BATCH, 0), -EAGAIN);
	t0 = tu_now_ms();
	assert_int_equal(shmx_chan_send_batch(tx, iov, BATCH, 30), -ETIMEDOUT);
	assert_true(tu_now_ms() - t0 >= 30);
	got = shmx_chan_recv_batch(rx, m->data, (size_t)BATCH * MAX_MSG, m->lens,
				   BATCH, 0);
	assert_int_equal(got, sent);
	for (ssize_t i = 0; i < got; i++)
		assert_int_equal(m->lens[i], sizeof(msg));
	more = shmx_chan_send_batch(tx, iov, BATCH, 0);
	assert_int_equal(more, sent);
	assert_int_equal(shmx_chan_pending(rx), sent);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
	free(m->data);
	free(m);
}

/* recv_batch stops at max_msgs, and before a message that does not fit in
 * what is left of the buffer: that one stays for the next call. A first
 * message larger than the whole buffer is -EMSGSIZE, kept, as recv does. */
static void test_recv_batch_takes_what_fits(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	unsigned char buf[256];
	size_t lens[8];
	char big[200] = { 0 };

	(void)state;
	assert_int_equal(shmx_chan_create(name, RING, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(shmx_chan_send(tx, "abcdefghij", 10, 0), 0);
	assert_int_equal(shmx_chan_send(tx, big, sizeof(big), 0), 0);
	assert_int_equal(shmx_chan_recv_batch(rx, buf, sizeof(buf), lens, 3, 0), 3);
	assert_int_equal(lens[2], 10);
	assert_memory_equal(buf + 20, "abcdefghij", 10);
	/* two small ones (20 bytes), then 200 bytes do not fit in 100 */
	assert_int_equal(shmx_chan_recv_batch(rx, buf, 100, lens, 8, 0), 2);
	assert_int_equal(shmx_chan_recv_batch(rx, buf, 100, lens, 8, 0), -EMSGSIZE);
	assert_int_equal(shmx_chan_recv_batch(rx, buf, sizeof(buf), lens, 8, 0), 1);
	assert_int_equal(lens[0], sizeof(big));
	assert_int_equal(shmx_chan_recv_batch(rx, buf, sizeof(buf), lens, 8, 0), -EAGAIN);
	assert_int_equal(shmx_chan_pending(tx), 0);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
}

/* A bad message anywhere fails the whole batch before anything is sent. */
static void test_send_batch_checks_every_message_first(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char big[MAX_MSG + 1] = { 0 };
	struct iovec iov[3] = { { "a", 1 }, { "b", 1 }, { big, sizeof(big) } };

	(void)state;
	assert_int_equal(shmx_chan_create(name, RING, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_send_batch(tx, iov, 3, 0), -EMSGSIZE);
	iov[2] = (struct iovec){ NULL, 1 };
	assert_int_equal(shmx_chan_send_batch(tx, iov, 3, 0), -EINVAL);
	assert_int_equal(shmx_chan_pending(rx), 0);
	iov[2] = (struct iovec){ NULL, 0 };
	assert_int_equal(shmx_chan_send_batch(tx, iov, 3, 0), 3);
	assert_int_equal(shmx_chan_pending(rx), 3);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
}

/* A NULL message with a length is an argument error, reported before the
 * handle's state as shmx_chan_send() reports a NULL buf: on a consumer's
 * handle and during a reservation -EINVAL, not -EBADF or -EINPROGRESS; a
 * message too long is reported after them, as send() does. */
static void test_send_batch_checks_arguments_before_the_handle(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char big[MAX_MSG + 1] = { 0 };
	struct iovec bad[2] = { { "a", 1 }, { NULL, 1 } };
	struct iovec bigs[2] = { { "a", 1 }, { big, sizeof(big) } };
	void *p;

	(void)state;
	assert_int_equal(shmx_chan_create(name, RING, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_send(rx, NULL, 1, 0), -EINVAL);
	assert_int_equal(shmx_chan_send_batch(rx, bad, 2, 0), -EINVAL);
	assert_int_equal(shmx_chan_send(rx, big, sizeof(big), 0), -EBADF);
	assert_int_equal(shmx_chan_send_batch(rx, bigs, 2, 0), -EBADF);
	assert_int_equal(shmx_chan_reserve(tx, 8, &p, 0), 0);
	assert_int_equal(shmx_chan_send(tx, NULL, 1, 0), -EINVAL);
	assert_int_equal(shmx_chan_send_batch(tx, bad, 2, 0), -EINVAL);
	assert_int_equal(shmx_chan_send(tx, big, sizeof(big), 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_send_batch(tx, bigs, 2, 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_commit(tx, 0), 0);
	assert_int_equal(shmx_chan_pending(rx), 1);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
}

/* ---- timeouts ---- */

static void test_recv_batch_timeouts(void **state)
{
	static const unsigned modes[] = { 0, SHMX_CHAN_SPIN, SHMX_CHAN_BLOCK };
	unsigned char buf[64];
	size_t lens[4];

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *name = tu_name();
		struct shmx_chan *tx, *rx;
		int64_t t0;

		assert_int_equal(shmx_chan_create(name, RING, P | modes[i], 0, &tx), 0);
		assert_int_equal(shmx_chan_open(name, C | modes[i], 0, &rx), 0);
		assert_int_equal(shmx_chan_recv_batch(rx, buf, sizeof(buf), lens, 4, 0),
				 -EAGAIN);
		t0 = tu_now_ms();
		assert_int_equal(shmx_chan_recv_batch(rx, buf, sizeof(buf), lens, 4, 40),
				 -ETIMEDOUT);
		assert_true(tu_now_ms() - t0 >= 40);
		assert_true(tu_now_ms() - t0 < LONG_MS / 2);
		rx = shmx_chan_close(rx);
		tx = shmx_chan_close(tx);
	}
}

/* ---- a peer gone mid-batch ---- */

/* The producer dies after its batch: everything it sent is delivered,
 * then -EOWNERDEAD. */
static void test_recv_batch_delivers_all_before_dead_producer(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *rx, *tx;
	struct msgs *m = msgs_new();
	long got = 0;
	ssize_t k;
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(m);
	assert_int_equal(shmx_chan_create(name, 1 << 16, C, 0, &rx), 0);
	pid = fork_child();
	if (pid == 0) {
		if (shmx_chan_open(name, P, LONG_MS, &tx) || produce(tx, 100, true, m))
			_exit(2);
		raise(SIGKILL);
	}
	while ((k = shmx_chan_recv_batch(rx, m->data, (size_t)BATCH * MAX_MSG, m->lens,
					 BATCH, LONG_MS)) > 0)
		got += k;
	assert_int_equal(k, -EOWNERDEAD);
	assert_int_equal(got, 100);
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	assert_true(WIFSIGNALED(status));
	rx = shmx_chan_close(rx);
	free(m->data);
	free(m);
}

/* The consumer dies while a batch waits for room: the batch returns what
 * it sent, the next call -EOWNERDEAD. */
static void test_send_batch_returns_partial_when_consumer_dies(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	struct iovec iov[BATCH];
	char msg[100] = "m", buf[128];
	int ev[2], status;
	ssize_t k;
	pid_t pid;

	(void)state;
	for (int i = 0; i < BATCH; i++)
		iov[i] = (struct iovec){ .iov_base = msg, .iov_len = sizeof(msg) };
	assert_int_equal(pipe(ev), 0);
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	pid = fork_child();
	if (pid == 0) {
		/* take two when asked, then die */
		if (shmx_chan_open(name, C, LONG_MS, &rx) || !got_event(ev[0]))
			_exit(2);
		for (int i = 0; i < 2; i++)
			if (shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS) != sizeof(msg))
				_exit(3);
		raise(SIGKILL);
	}
	signal_event(ev[1]);
	k = shmx_chan_send_batch(tx, iov, BATCH, LONG_MS);
	assert_true(k > 2 && k < BATCH);
	assert_int_equal(shmx_chan_send_batch(tx, iov, BATCH, LONG_MS), -EOWNERDEAD);
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	assert_true(WIFSIGNALED(status));
	tx = shmx_chan_close(tx);
	close(ev[0]);
	close(ev[1]);
}

/* ---- wake-ups ---- */

/* A consumer asleep for data, fed one batch larger than the ring per
 * request: the batch stores what fits and must wake the consumer before it
 * sleeps for room itself, or both wait out a sleep slice. Reports back
 * after each whole batch. */
static void consume_batches(const char *name, int req, int done, int n)
{
	struct shmx_chan *rx;
	struct msgs *m = msgs_new();
	ssize_t k;
	int left;

	if (!m || shmx_chan_open(name, C | SHMX_CHAN_BLOCK, LONG_MS, &rx))
		_exit(2);
	while (got_event(req)) {
		for (left = n; left > 0; left -= (int)k) {
			k = shmx_chan_recv_batch(rx, m->data, (size_t)BATCH * MAX_MSG,
						 m->lens, BATCH, LONG_MS);
			if (k <= 0)
				_exit(3);
		}
		signal_event(done);
	}
	_exit(0);
}

static void test_batch_larger_than_ring_wakes_sleeping_consumer(void **state)
{
	const char *name = tu_name();
	long trials = scaled(400) / 4, i, slow = 0;
	struct shmx_chan *tx;
	struct iovec iov[BATCH];
	char msg[120] = { 0 };
	int req[2], done[2];
	int64_t t0;
	pid_t pid;

	(void)state;
	for (int j = 0; j < BATCH; j++)
		iov[j] = (struct iovec){ .iov_base = msg, .iov_len = sizeof(msg) };
	assert_int_equal(pipe(req), 0);
	assert_int_equal(pipe(done), 0);
	/* 1 KiB holds 7 of these 128-byte records: a batch of BATCH overfills it */
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_CHAN_BLOCK, 0, &tx), 0);
	pid = fork_child();
	if (pid == 0)
		consume_batches(name, req[0], done[1], BATCH);
	for (i = 0; i < trials; i++) {
		signal_event(req[1]);
		t0 = tu_now_ms();
		assert_int_equal(shmx_chan_send_batch(tx, iov, BATCH, LONG_MS), BATCH);
		slow += tu_now_ms() - t0 >= WAKE_SLOW_MS;
		assert_true(got_event(done[0]));
	}
	print_message("# %ld of %ld batches took >= %d ms\n", slow, trials, WAKE_SLOW_MS);
	close(req[1]);
	wait_ok(pid);
	tx = shmx_chan_close(tx);
	close(req[0]);
	close(done[0]);
	close(done[1]);
	/* a scheduler hiccup may cost a few; a lost wake-up costs them all */
	assert_true(slow * 20 <= trials);
}

/* A consumer that takes exactly one message per request with recv_batch. */
static void take_one_per_request(const char *name, int req)
{
	struct shmx_chan *rx;
	unsigned char buf[64];
	size_t len;

	if (shmx_chan_open(name, C | SHMX_CHAN_BLOCK, LONG_MS, &rx))
		_exit(2);
	while (got_event(req))
		if (shmx_chan_recv_batch(rx, buf, sizeof(buf), &len, 1, LONG_MS) != 1)
			_exit(3);
	_exit(0);
}

/* A producer asleep on a full ring is woken by the batch receive that
 * freed room, not by its sleep slice running out. */
static void test_blocked_send_woken_by_recv_batch(void **state)
{
	const char *name = tu_name();
	long trials = scaled(1000) / 2, i, slow = 0;
	struct shmx_chan *tx;
	char msg[56] = { 0 };  /* 64-byte records tile the ring */
	struct iovec iov = { msg, sizeof(msg) };
	int req[2];
	int64_t t0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(req), 0);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_CHAN_BLOCK, 0, &tx), 0);
	pid = fork_child();
	if (pid == 0)
		take_one_per_request(name, req[0]);
	while (shmx_chan_send_batch(tx, &iov, 1, 0) == 1)
		;
	for (i = 0; i < trials; i++) {
		signal_event(req[1]);
		t0 = tu_now_ms();
		assert_int_equal(shmx_chan_send_batch(tx, &iov, 1, LONG_MS), 1);
		slow += tu_now_ms() - t0 >= WAKE_SLOW_MS;
	}
	print_message("# %ld of %ld blocked sends took >= %d ms\n", slow, trials,
		      WAKE_SLOW_MS);
	close(req[1]);
	wait_ok(pid);
	close(req[0]);
	tx = shmx_chan_close(tx);
	assert_true(slow * 100 <= trials);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_send_batch_checks_every_message_first,
					  tu_teardown),
		cmocka_unit_test_teardown(test_recv_batch_takes_what_fits, tu_teardown),
		cmocka_unit_test_teardown(test_send_batch_partial_when_ring_fills,
					  tu_teardown),
		cmocka_unit_test_teardown(test_recv_batch_timeouts, tu_teardown),
		cmocka_unit_test_teardown(test_batch_send_intact_against_single_recv,
					  tu_teardown),
		cmocka_unit_test_teardown(test_batch_recv_intact_against_single_send,
					  tu_teardown),
		cmocka_unit_test_teardown(test_batch_both_ends_intact, tu_teardown),
		cmocka_unit_test_teardown(test_recv_batch_delivers_all_before_dead_producer,
					  tu_teardown),
		cmocka_unit_test_teardown(test_send_batch_checks_arguments_before_the_handle,
					  tu_teardown),
		cmocka_unit_test_teardown(test_send_batch_returns_partial_when_consumer_dies,
					  tu_teardown),
		cmocka_unit_test_teardown(test_batch_larger_than_ring_wakes_sleeping_consumer,
					  tu_teardown),
		cmocka_unit_test_teardown(test_blocked_send_woken_by_recv_batch,
					  tu_teardown),
	};

	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
