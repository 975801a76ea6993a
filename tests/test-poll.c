/* SPDX-License-Identifier: MIT */
/* Pollable descriptors (shmx_chan_fd(), shmx_pair_fd(); shmx(7),
 * "Polling") between real processes: one epoll set over three channels,
 * a broadcast (two consumers and the producer polling), one consumer
 * polling several producers, the producer's side, the pair, dead and late
 * peers, descriptor leaks (fan-out shapes too),
 * nothing left after kill -9, and a connector of another user refused.
 * SHMX_TEST_SCALE (e.g. 0.01) shrinks the message counts for sanitizers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define CAP 4096
#define NCHAN 3
#define WAIT_MS 10000   /* "forever" for one wait: failing beats hanging */
#define CHILD_MS 60000
#define MSG_MAX 200

static long scaled(long n)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	double f = s ? atof(s) : 1.0;
	long m = (long)((double)n * (f > 0 ? f : 1.0));

	return m < 100 ? 100 : m;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* A message: its sequence number, then bytes derived from it. */
static size_t fill(unsigned char *buf, uint64_t seq)
{
	size_t len = sizeof(seq) + (size_t)(seq * 7 % (MSG_MAX - sizeof(seq)));

	memcpy(buf, &seq, sizeof(seq));
	for (size_t i = sizeof(seq); i < len; i++)
		buf[i] = (unsigned char)(seq + i);
	return len;
}

static bool intact(const unsigned char *buf, ssize_t len, uint64_t want)
{
	unsigned char ref[MSG_MAX];

	return len >= 0 && (size_t)len == fill(ref, want) && !memcmp(buf, ref, (size_t)len);
}

static void wait_byte(int fd)
{
	char b;

	if (!readable(fd, WAIT_MS) || read(fd, &b, 1) != 1)
		_exit(9);
}

static void send_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

/* A child that waits to be killed: never longer than a test may take,
 * and never past its parent, if a failing test leaves it behind. */
static void linger(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	poll(NULL, 0, CHILD_MS);
	_exit(0);
}

/* A child that opens name in role flags (and, with fd, takes its
 * descriptor), then lingers until killed; returns once it is attached. */
static pid_t lingering_peer(const char *name, unsigned flags, bool fd)
{
	struct shmx_chan *c;
	int ready[2];
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (shmx_chan_open(name, flags, WAIT_MS, &c) || (fd && shmx_chan_fd(c) < 0))
			_exit(2);
		send_byte(ready[1]);
		linger();
	}
	wait_byte(ready[0]);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

static void reap_ok(pid_t pid)
{
	int status;

	assert_int_equal(tu_waitpid(pid, CHILD_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void kill_and_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, WAIT_MS, &status), 0);
}

/* A child that opens name as producer and sends n messages, then closes. */
static pid_t producer(const char *name, long n)
{
	unsigned char buf[MSG_MAX];
	struct shmx_chan *tx;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	if (shmx_chan_open(name, P, WAIT_MS, &tx))
		_exit(2);
	for (long i = 0; i < n; i++) {
		if (shmx_chan_send(tx, buf, fill(buf, (uint64_t)i), CHILD_MS))
			_exit(3);
	}
	shmx_chan_close(tx);
	_exit(0);
}

/* ---- one thread, one epoll set, three channels ---- */

struct rx {
	struct shmx_chan *c;
	long got;
	bool closed;
};

/* Drain until -EAGAIN (armed again) or the producer's close. */
static void drain(struct rx *r)
{
	unsigned char buf[MSG_MAX];
	ssize_t n;

	while ((n = shmx_chan_recv(r->c, buf, sizeof(buf), 0)) >= 0) {
		if (!intact(buf, n, (uint64_t)r->got))
			fail_msg("message %ld: wrong length or contents", r->got);
		r->got++;
	}
	if (n == -EPIPE)
		r->closed = true;
	else if (n != -EAGAIN)
		fail_msg("recv: %s", shmx_strerror((int)n));
}

static void test_one_epoll_receives_from_three_producers(void **state)
{
	const long n = scaled(100000);
	struct rx rx[NCHAN] = { 0 };
	struct epoll_event ev;
	pid_t pid[NCHAN];
	int ep, open = NCHAN;
	int64_t end;

	(void)state;
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	for (int i = 0; i < NCHAN; i++) {
		const char *name = tu_name();

		assert_int_equal(shmx_chan_create(name, CAP, C, 0, &rx[i].c), 0);
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)i };
		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, shmx_chan_fd(rx[i].c), &ev), 0);
		pid[i] = producer(name, n);
	}
	end = tu_now_ms() + CHILD_MS;
	while (open > 0) {
		int k = epoll_wait(ep, &ev, 1, (int)(end - tu_now_ms()));

		if (k <= 0)
			fail_msg("epoll_wait: %d (deadline or error)", k);
		drain(&rx[ev.data.u32]);
		if (rx[ev.data.u32].closed) {
			epoll_ctl(ep, EPOLL_CTL_DEL, shmx_chan_fd(rx[ev.data.u32].c), NULL);
			open--;
		}
	}
	for (int i = 0; i < NCHAN; i++) {
		assert_int_equal(rx[i].got, n);
		reap_ok(pid[i]);
		shmx_chan_close(rx[i].c);
	}
	close(ep);
}

/* ---- several consumers, several producers ---- */

static struct shmx_chan *create_shaped(const char *name, unsigned producers,
				       unsigned consumers, unsigned role)
{
	struct shmx_chan_params p = { .capacity = CAP, .producers = producers,
				      .consumers = consumers };
	struct shmx_chan *c;

	assert_int_equal(shmx_chan_create_params(name, &p, role, 0, &c), 0);
	return c;
}

/* Wait for fd to be readable in epoll set ep (a deadline, not a sleep). */
static bool epoll_readable(int ep, int timeout_ms)
{
	struct epoll_event ev;

	return epoll_wait(ep, &ev, 1, timeout_ms) == 1;
}

/* A broadcast consumer child: one epoll set over its descriptor, drain
 * on every wake-up; exits 0 after messages 0 .. n-1 in order, then the
 * producer's close. */
static pid_t polling_consumer(const char *name, long n, int ready)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned char buf[MSG_MAX];
	struct shmx_chan *rx;
	long got = 0;
	ssize_t k;
	int ep;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || shmx_chan_open(name, C, WAIT_MS, &rx) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, shmx_chan_fd(rx), &ev))
		_exit(2);
	send_byte(ready);
	for (;;) {
		while ((k = shmx_chan_recv(rx, buf, sizeof(buf), 0)) >= 0) {
			if (!intact(buf, k, (uint64_t)got))
				_exit(3);
			got++;
		}
		if (k == -EPIPE)
			break;
		if (k != -EAGAIN || !epoll_readable(ep, WAIT_MS))
			_exit(4);
	}
	_exit(got == n ? 0 : 5);
}

/* Two consumers poll a broadcast channel; the producer polls for room. */
static void test_epoll_broadcast_consumers_and_producer(void **state)
{
	const long n = scaled(100000);
	const char *name = tu_name();
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned char buf[MSG_MAX];
	struct shmx_chan *tx;
	int ready[2], ep, err;
	pid_t pid[2];

	(void)state;
	assert_int_equal(pipe(ready), 0);
	tx = create_shaped(name, 1, 2, P);
	for (int i = 0; i < 2; i++)
		pid[i] = polling_consumer(name, n, ready[1]);
	wait_byte(ready[0]);
	wait_byte(ready[0]);
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, shmx_chan_fd(tx), &ev), 0);
	for (long i = 0; i < n; i++) {
		size_t len = fill(buf, (uint64_t)i);

		while ((err = shmx_chan_send(tx, buf, len, 0)) == -EAGAIN) {
			if (!epoll_readable(ep, WAIT_MS))
				fail_msg("message %ld: no wake-up", i);
		}
		assert_int_equal(err, 0);
	}
	tx = shmx_chan_close(tx);
	for (int i = 0; i < 2; i++)
		reap_ok(pid[i]);
	close(ep);
	close(ready[0]);
	close(ready[1]);
}

/* The n-th message of producer k: its number says which. */
static uint64_t id_of(unsigned k, long n)
{
	return (uint64_t)k << 40 | (uint64_t)n;
}

/* A producer child of a channel with several producer slots. */
static pid_t multi_producer(const char *name, unsigned k, long n)
{
	unsigned char buf[MSG_MAX];
	struct shmx_chan *tx;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (shmx_chan_open(name, P, WAIT_MS, &tx))
		_exit(2);
	for (long i = 0; i < n; i++) {
		if (shmx_chan_send(tx, buf, fill(buf, id_of(k, i)), CHILD_MS))
			_exit(3);
	}
	shmx_chan_close(tx);
	_exit(0);
}

/* Until each of the channel's n producer slots has had a holder (attached,
 * or attached and closed already): before that, -EPIPE only says that
 * every producer that came has closed (musl CI: the first producer had
 * not attached yet when the other two were done). */
static void producers_came(const char *name, unsigned n)
{
	struct shmx_chan_peer p[8];
	int64_t t0 = tu_now_ms();
	unsigned came;
	int k;

	do {
		k = shmx_chan_peers(name, p, 8);
		assert_true(k >= 0);
		came = 0;
		for (int i = 0; i < k; i++)
			came += p[i].role == SHMX_CHAN_PRODUCER && p[i].generation > 0;
		if (came >= n)
			return;
		usleep(1000);
	} while (tu_now_ms() - t0 < WAIT_MS);
	fail_msg("only %u of %u producers attached", came, n);
}

/* One consumer polls a channel three producer processes send to: every
 * message, each producer's in order. */
static void test_epoll_one_consumer_three_producers(void **state)
{
	const long n = scaled(100000);
	const char *name = tu_name();
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned char buf[MSG_MAX];
	long next[3] = { 0 };
	struct shmx_chan *rx;
	pid_t pid[3];
	uint64_t id;
	ssize_t k;
	int ep;

	(void)state;
	rx = create_shaped(name, 3, 1, C);
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, shmx_chan_fd(rx), &ev), 0);
	for (unsigned i = 0; i < 3; i++)
		pid[i] = multi_producer(name, i, n);
	producers_came(name, 3);
	for (;;) {
		while ((k = shmx_chan_recv(rx, buf, sizeof(buf), 0)) >= 0) {
			memcpy(&id, buf, sizeof(id));
			if (id >> 40 >= 3 || !intact(buf, k, id_of(id >> 40, next[id >> 40])))
				fail_msg("message %llx: not the next of its producer",
					 (unsigned long long)id);
			next[id >> 40]++;
		}
		if (k == -EPIPE)
			break;
		assert_int_equal(k, -EAGAIN);
		if (!epoll_readable(ep, WAIT_MS))
			fail_msg("no wake-up after %ld, %ld, %ld", next[0], next[1], next[2]);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(next[i], n);
		reap_ok(pid[i]);
	}
	shmx_chan_close(rx);
	close(ep);
}

/* ---- the producer's side: readable when space frees ---- */

static void test_producer_fd_readable_when_space_frees(void **state)
{
	const char *name = tu_name();
	unsigned char buf[MSG_MAX] = { 0 };
	struct shmx_chan *tx;
	int go[2], ready[2], fd;
	long sent = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(shmx_chan_create(name, CAP, P, 0, &tx), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_chan *c;

		if (shmx_chan_open(name, C, WAIT_MS, &c))
			_exit(2);
		send_byte(ready[1]);
		wait_byte(go[0]);
		while (shmx_chan_recv(c, buf, sizeof(buf), WAIT_MS) >= 0)
			;
		_exit(0);
	}
	wait_byte(ready[0]);
	fd = shmx_chan_fd(tx);
	assert_true(fd >= 0);
	while (shmx_chan_send(tx, buf, 100, 0) == 0)
		sent++;
	assert_true(sent > 0);
	/* Full and armed: not readable until the consumer takes one. */
	assert_false(readable(fd, 50));
	send_byte(go[1]);
	/* Space may be free when readable: a record that wraps needs more
	 * than one message freed. Every -EAGAIN arms it again. */
	for (long i = 0; i < 10 * sent; i++) {
		int err;

		while ((err = shmx_chan_send(tx, buf, 100, 0)) == -EAGAIN) {
			if (!readable(fd, WAIT_MS))
				fail_msg("message %ld: no wake-up", i);
		}
		assert_int_equal(err, 0);
	}
	tx = shmx_chan_close(tx);
	reap_ok(pid);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

/* ---- the pair: readable when the turn may be ours ---- */

static void test_pair_fd_readable_when_turn_comes(void **state)
{
	const long rounds = scaled(2000);
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	pid_t pid;
	int fd;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_READER, 0, &p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_pair *w;

		if (shmx_pair_open(r, SHMX_PAIR_WRITER, &w))
			_exit(2);
		for (long i = 0; i < rounds; i++) {
			if (shmx_pair_wait(w, CHILD_MS) || shmx_pair_post(w))
				_exit(3);
		}
		shmx_pair_close(w);
		_exit(0);
	}
	fd = shmx_pair_fd(p);
	assert_true(fd >= 0);
	for (long i = 0; i < rounds; i++) {
		int err;

		while ((err = shmx_pair_wait(p, 0)) == -EAGAIN) {
			if (!readable(fd, WAIT_MS))
				fail_msg("round %ld: no wake-up", i);
		}
		assert_int_equal(err, 0);
		assert_int_equal(shmx_pair_post(p), 0);
	}
	reap_ok(pid);
	shmx_pair_close(p);
	shmx_close(r);
}

/* ---- dead and late peers ---- */

static void test_dead_peer_wakes_poller(void **state)
{
	const char *name = tu_name();
	unsigned char buf[MSG_MAX];
	struct shmx_chan *rx;
	int fd;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create(name, CAP, C, 0, &rx), 0);
	pid = lingering_peer(name, P, false);
	fd = shmx_chan_fd(rx);
	assert_true(fd >= 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	assert_false(readable(fd, 50));
	kill_and_reap(pid);
	assert_true(readable(fd, WAIT_MS));
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EOWNERDEAD);
	shmx_chan_close(rx);
}

/* Until a send or a recv succeeds, wait for fd and try again: false if
 * that takes longer than ms. */
static bool polled_send(struct shmx_chan *tx, int fd, int ms)
{
	unsigned char buf[MSG_MAX] = { 0 };
	int64_t end = tu_now_ms() + ms;
	int err;

	while ((err = shmx_chan_send(tx, buf, 100, 0)) == -EAGAIN)
		if (tu_now_ms() > end || !readable(fd, (int)(end - tu_now_ms())))
			return false;
	assert_int_equal(err, 0);
	return true;
}

/* A broadcast producer polling for room that only a dead consumer holds
 * back: the descriptor wakes it (the consumer's process is watched),
 * and the next try finds the dead one no longer counts. */
static void test_dead_broadcast_consumer_wakes_polling_producer(void **state)
{
	const char *name = tu_name();
	unsigned char buf[MSG_MAX] = { 0 };
	struct shmx_chan *tx;
	int fd;
	int64_t t0;
	pid_t pid;

	(void)state;
	tx = create_shaped(name, 1, 2, P);
	pid = lingering_peer(name, C, false);
	fd = shmx_chan_fd(tx);
	assert_true(fd >= 0);
	while (shmx_chan_send(tx, buf, 100, 0) == 0)
		;
	assert_false(polled_send(tx, fd, 200));  /* full, and it is alive */
	t0 = tu_now_ms();
	kill_and_reap(pid);
	assert_true(polled_send(tx, fd, 2000));
	print_message("# room %lld ms after the kill\n", (long long)(tu_now_ms() - t0));
	shmx_chan_close(tx);
}

/* A consumer polling several producers, stopped at a record one of them
 * reserved and never committed: its death wakes the consumer, which skips
 * the record and gets what the other sent after it. */
static void test_dead_reserving_producer_wakes_polling_consumer(void **state)
{
	const char *name = tu_name();
	unsigned char buf[MSG_MAX];
	struct shmx_chan *rx, *other;
	int ready[2], fd;
	ssize_t k;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	rx = create_shaped(name, 2, 1, C);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_chan *tx;
		void *p;

		if (shmx_chan_open(name, P, WAIT_MS, &tx) || shmx_chan_reserve(tx, 64, &p, 0))
			_exit(2);
		send_byte(ready[1]);
		linger();
	}
	wait_byte(ready[0]);
	assert_int_equal(shmx_chan_open(name, P, 0, &other), 0);
	assert_int_equal(shmx_chan_send(other, "after", 5, 0), 0);
	fd = shmx_chan_fd(rx);
	assert_true(fd >= 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	kill_and_reap(pid);
	while ((k = shmx_chan_recv(rx, buf, sizeof(buf), 0)) == -EAGAIN)
		assert_true(readable(fd, WAIT_MS));
	assert_int_equal(k, 5);
	assert_memory_equal(buf, "after", 5);
	shmx_chan_close(other);
	shmx_chan_close(rx);
	close(ready[0]);
	close(ready[1]);
}

/* A producer that attaches after the consumer armed is watched as well. */
static void test_peer_attaching_after_arm_is_watched(void **state)
{
	const char *name = tu_name();
	unsigned char buf[MSG_MAX];
	struct shmx_chan *rx;
	int fd, err;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create(name, CAP, C, 0, &rx), 0);
	fd = shmx_chan_fd(rx);
	assert_true(fd >= 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_chan *tx;

		if (shmx_chan_open(name, P, WAIT_MS, &tx))
			_exit(2);
		linger();
	}
	/* Its attach wakes us; the try then watches it. */
	assert_true(readable(fd, WAIT_MS));
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	kill_and_reap(pid);
	assert_true(readable(fd, WAIT_MS));
	err = (int)shmx_chan_recv(rx, buf, sizeof(buf), 0);
	assert_int_equal(err, -EOWNERDEAD);
	shmx_chan_close(rx);
}

/* ---- descriptors ---- */

static void test_open_close_cycles_leak_no_descriptor(void **state)
{
	const long cycles = scaled(10000);
	const char *name = tu_name();
	unsigned char buf[MSG_MAX] = { 0 };
	struct shmx_chan *tx, *rx;
	int before;

	(void)state;
	assert_int_equal(shmx_chan_create(name, CAP, P, 0, &tx), 0);
	before = tu_count_fds();
	assert_true(before > 0);
	for (long i = 0; i < cycles; i++) {
		int fd;

		assert_int_equal(shmx_chan_open(name, C, WAIT_MS, &rx), 0);
		fd = shmx_chan_fd(rx);
		assert_true(fd >= 0);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
		/* The send connects to this consumer's listener (a new one each
		 * time), the next one writes its eventfd. */
		assert_int_equal(shmx_chan_send(tx, buf, 8, 0), 0);
		assert_true(readable(fd, WAIT_MS));
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 8);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
		assert_int_equal(shmx_chan_send(tx, buf, 8, 0), 0);
		assert_true(readable(fd, WAIT_MS));
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 8);
		rx = shmx_chan_close(rx);
	}
	/* The producer keeps one connection to the last consumer's listener
	 * and its eventfd until it meets the next one. */
	assert_true(tu_count_fds() <= before + 2);
	shmx_chan_close(tx);
	assert_true(tu_count_fds() < before);
}

/* The same on a broadcast consumer and on one of several producers: each
 * cycle takes a slot, a descriptor, a wake-up, and gives them back. */
static void test_open_close_cycles_leak_no_descriptor_fan_out(void **state)
{
	const long cycles = scaled(10000);
	const char *bname = tu_name(), *mname = tu_name();
	unsigned char buf[MSG_MAX] = { 0 };
	struct shmx_chan *tx, *rx, *mrx, *mtx;
	int before;

	(void)state;
	tx = create_shaped(bname, 1, 2, P);
	mrx = create_shaped(mname, 2, 1, C);
	before = tu_count_fds();
	assert_true(before > 0);
	for (long i = 0; i < cycles; i++) {
		int fd;

		assert_int_equal(shmx_chan_open(bname, C, WAIT_MS, &rx), 0);
		fd = shmx_chan_fd(rx);
		assert_true(fd >= 0);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
		assert_int_equal(shmx_chan_send(tx, buf, 8, 0), 0);
		assert_true(readable(fd, WAIT_MS));
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 8);
		rx = shmx_chan_close(rx);

		assert_int_equal(shmx_chan_open(mname, P, WAIT_MS, &mtx), 0);
		assert_true(shmx_chan_fd(mtx) >= 0);
		assert_int_equal(shmx_chan_send(mtx, buf, 8, 0), 0);
		assert_int_equal(shmx_chan_recv(mrx, buf, sizeof(buf), 0), 8);
		mtx = shmx_chan_close(mtx);
	}
	/* as above: a connection and an eventfd kept for the last poller */
	assert_true(tu_count_fds() <= before + 2);
	shmx_chan_close(tx);
	shmx_chan_close(mrx);
	assert_true(tu_count_fds() < before);
}

/* ---- the listener's name ---- */

/* The abstract name of a listener, as shmx(7) gives it. */
static void listener_name(const char *name, char role, unsigned gen, char *out, size_t size)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_equal(stat(path, &st), 0);
	snprintf(out, size, "shmx-%llx-%llx-%c-%u", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, role, gen);
}

static bool bound(const char *abstract)
{
	char line[512], want[128];
	FILE *f = fopen("/proc/net/unix", "r");
	bool found = false;

	assert_non_null(f);
	snprintf(want, sizeof(want), " @%s\n", abstract);
	while (!found && fgets(line, sizeof(line), f)) {
		size_t l = strlen(line), w = strlen(want);

		found = l >= w && !strcmp(line + l - w, want);
	}
	fclose(f);
	return found;
}

static void test_nothing_left_after_kill9(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx;
	char abstract[96];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create(name, CAP, P, 0, &tx), 0);
	pid = lingering_peer(name, C, true);
	/* The consumer's first attach: generation 1. */
	listener_name(name, 'c', 1, abstract, sizeof(abstract));
	assert_true(bound(abstract));
	kill_and_reap(pid);
	assert_false(bound(abstract));
	shmx_chan_close(tx);
}

/* ---- credentials ---- */

/* Connect to the listener as uid (unchanged if 0): 0 if an eventfd was
 * handed over, 1 if we were hung up on, 2 on an error. */
static int try_connect(const char *abstract, uid_t uid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				    strlen(abstract));
	int s;
	ssize_t n;

	if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
		return 2;
	memcpy(sa.sun_path + 1, abstract, strlen(abstract));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(s, (struct sockaddr *)&sa, len))
		return 2;
	n = recvmsg(s, &m, 0);
	if (n == 0)
		return 1;
	return n == 1 && CMSG_FIRSTHDR(&m) ? 0 : 2;
}

/* Run try_connect() in a child while we service the listener: every time
 * the descriptor is readable (a connection pending, a connection's end of
 * file), a try takes care of it. */
static int connector(struct shmx_chan *rx, const char *abstract, uid_t uid)
{
	unsigned char buf[MSG_MAX];
	int status, fd = shmx_chan_fd(rx);
	int64_t end = tu_now_ms() + WAIT_MS;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(try_connect(abstract, uid));
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (tu_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("connector as uid %u: no answer", (unsigned)uid);
		}
		if (readable(fd, 10))
			assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	}
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_foreign_uid_connector_refused(void **state)
{
	const char *name = tu_name();
	unsigned char buf[MSG_MAX];
	struct shmx_chan *rx;
	char abstract[96];

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to connect as uid 65534");
	assert_int_equal(shmx_chan_create(name, CAP, C, 0, &rx), 0);
	assert_true(shmx_chan_fd(rx) >= 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	listener_name(name, 'c', 1, abstract, sizeof(abstract));
	/* The owner is handed the eventfd: the check below can fail. */
	assert_int_equal(connector(rx, abstract, 0), 0);
	assert_int_equal(connector(rx, abstract, 65534), 1);
	shmx_chan_close(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_one_epoll_receives_from_three_producers,
					  tu_teardown),
		cmocka_unit_test_teardown(test_epoll_broadcast_consumers_and_producer,
					  tu_teardown),
		cmocka_unit_test_teardown(test_epoll_one_consumer_three_producers,
					  tu_teardown),
		cmocka_unit_test_teardown(test_producer_fd_readable_when_space_frees,
					  tu_teardown),
		cmocka_unit_test_teardown(test_pair_fd_readable_when_turn_comes, tu_teardown),
		cmocka_unit_test_teardown(test_dead_peer_wakes_poller, tu_teardown),
		cmocka_unit_test_teardown(test_peer_attaching_after_arm_is_watched,
					  tu_teardown),
		cmocka_unit_test_teardown(test_dead_broadcast_consumer_wakes_polling_producer,
					  tu_teardown),
		cmocka_unit_test_teardown(test_dead_reserving_producer_wakes_polling_consumer,
					  tu_teardown),
		cmocka_unit_test_teardown(test_open_close_cycles_leak_no_descriptor,
					  tu_teardown),
		cmocka_unit_test_teardown(test_open_close_cycles_leak_no_descriptor_fan_out,
					  tu_teardown),
		cmocka_unit_test_teardown(test_nothing_left_after_kill9, tu_teardown),
		cmocka_unit_test_teardown(test_foreign_uid_connector_refused, tu_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
