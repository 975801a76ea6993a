/* SPDX-License-Identifier: MIT */
/* Channels between real processes (tu_fork) on real /dev/shm objects: the
 * 10-million-message stream, producers and consumers killed -9 (even in the
 * middle of a message) or closing cleanly, an opener that waits for its
 * creator, and a producer asleep on a full ring woken by the one recv that
 * frees room. Channels in one process are test-channel.c.
 * SHMX_TEST_SCALE (e.g. 0.01) shrinks the message counts for sanitizers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "channel-util.h"

/* ---- the stream ---- */

static void test_stream(void **state)
{
	const char *name = tu_name();
	long count = scaled(10000000), got = 0;
	struct shmx_chan *rx;
	unsigned char *buf;
	int64_t t0 = tu_now_ms();
	int ev[2];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, C, 0, &rx), 0);
	tu_ev_init(ev);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *tx;
		unsigned char *b = malloc(4096);

		TU_CK(b);
		TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &tx), 0);
		tu_ev_post(ev[1]);
		TU_CKEQ(produce(tx, count, b), 0);
		shmx_chan_close(tx);
		_exit(0);
	}
	/* Both are in: the name goes now, so that a run killed by its
	 * timeout in the long stream leaves nothing in /dev/shm. */
	assert_true(tu_ev_wait(ev[0], LONG_MS));
	assert_int_equal(shmx_chan_unlink(name), 0);
	close(ev[0]);
	close(ev[1]);
	buf = malloc(shmx_chan_max_msg(rx));
	assert_non_null(buf);
	assert_int_equal(consume_all(rx, count, buf, &got), 0);
	assert_int_equal(got, count);
	assert_int_equal(tu_child_verdict(pid, 60000, NULL), 0);
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
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *tx;

		TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &tx), 0);
		produce(tx, -1, malloc(4096));
		_exit(3);       /* killed before: the ring stays full */
	}
	assert_int_equal(consume_all(rx, 20000, buf, &got), 0);
	tu_kill9(pid, 10000);
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
	tu_ev_init(ev);
	assert_int_equal(shmx_chan_create(name, 4096, C, 0, &rx), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *tx;
		void *p;

		/* 0, 1 and max-1 bytes fit together; then 100 bytes, half done */
		TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &tx), 0);
		TU_CKEQ(produce(tx, 3, buf), 0);
		TU_CKEQ(shmx_chan_reserve(tx, 100, &p, LONG_MS), 0);
		fill(p, 50, 3);
		tu_ready_forever(ev[1]);
	}
	assert_true(tu_ev_wait(ev[0], LONG_MS));
	tu_kill9(pid, 10000);
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
	tu_ev_init(ev);
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &tx), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *rx;
		long got = 0;

		TU_CKEQ(shmx_chan_open(name, C, LONG_MS, &rx), 0);
		TU_CKEQ(consume_all(rx, 1000, buf, &got), 0);
		tu_ready_forever(ev[1]);
	}
	err = produce(tx, 1000, buf);
	assert_int_equal(err, 0);
	assert_true(tu_ev_wait(ev[0], LONG_MS));
	tu_kill9(pid, 10000);
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
	tu_ev_init(ev);
	tu_ev_init(go);
	pid = tu_fork();
	if (pid == 0) {
		TU_CKEQ(shmx_chan_open(name, P, 0, &tx), 0);
		TU_CKEQ(shmx_chan_send(tx, "x", 1, 0), 0);
		tu_ev_post(ev[1]);
		TU_CK(tu_ev_wait(go[0], LONG_MS));
		usleep(100000); /* let the parent fall asleep; not a sync point */
		shmx_chan_close(tx);
		_exit(0);
	}
	assert_true(tu_ev_wait(ev[0], LONG_MS));
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), 1);
	tu_ev_post(go[1]);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), -EPIPE);
	assert_int_equal(tu_child_verdict(pid, 60000, NULL), 0);
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

/* ---- open: waiting for the creator, refusing what is not a channel ---- */

/* Write a valid header by hand into a raw region, magic last. */
static void publish_by_hand(void *base, uint64_t cap)
{
	struct shmx__chan_hdr *h = base;

	h->abi = SHMX__CHAN_ABI;
	h->header_size = SHMX__CHAN_HDR_SIZE;
	h->capacity = cap;
	h->max_msg = shmx__chan_max_msg(cap);
	h->producers = 1;
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

/* shmx_chan_open(name, flags, timeout) in a child, which must return want
 * within deadline_ms (a hang is a failure, not a hung suite). */
static void open_in_child(const char *name, unsigned flags, int timeout, int deadline_ms,
			  int want)
{
	struct shmx_chan *c;
	pid_t pid = tu_fork();

	if (pid == 0) {
		TU_CKEQ(shmx_chan_open(name, flags, timeout, &c), want);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, deadline_ms, NULL), 0);
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
	tu_ev_init(ev);
	/* 1. the name does not exist yet */
	pid = tu_fork();
	if (pid == 0) {
		tu_ev_post(ev[1]);
		TU_CKEQ(shmx_chan_open(name, C, LONG_MS, &c), 0);
		_exit(0);
	}
	assert_true(tu_ev_wait(ev[0], LONG_MS));
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &c), 0);
	assert_int_equal(tu_child_verdict(pid, 60000, NULL), 0);
	c = shmx_chan_close(c);

	/* 2. it exists, sized, mode 0: its creator publishes late */
	fd = half_made(name2, 1024, &base);
	pid = tu_fork();
	if (pid == 0) {
		tu_ev_post(ev[1]);
		TU_CKEQ(shmx_chan_open(name2, P, LONG_MS, &c), 0);
		_exit(0);
	}
	assert_true(tu_ev_wait(ev[0], LONG_MS));
	usleep(50000); /* make "late" likely; correctness does not depend on it */
	publish_by_hand(base, 1024);
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(tu_child_verdict(pid, 60000, NULL), 0);

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
	open_in_child(name, C, -1, 5000, -EBADMSG);
	open_in_child(name, P, 0, 5000, -EBADMSG);
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
	open_in_child(name, C, -1, 5000, -EBADMSG);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 <= SHMX__CHAN_HDR_SIZE);
	/* all zero again, and nothing allocated: still nothing afterwards */
	assert_int_equal(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				   SHMX__CHAN_HDR_SIZE), 0);
	t0 = tu_now_ms();
	open_in_child(name, C, -1, 5000, -EBADMSG);
	assert_true(tu_now_ms() - t0 < 2000);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_blocks, 0);
	close(fd);
}

/* ---- wake-ups ---- */

#define WAKE_SLOW_MS 10 /* a lost wake-up waits out the 15 ms sleep slice */

/* A consumer that takes exactly one message per request, then stops. */
static void take_one_per_request(const char *name, int req[2])
{
	struct shmx_chan *rx;
	char buf[64];

	close(req[1]);  /* the parent's close is the end */
	TU_CKEQ(shmx_chan_open(name, C | SHMX_CHAN_BLOCK, LONG_MS, &rx), 0);
	while (tu_ev_wait(req[0], LONG_MS))
		TU_CK(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS) >= 0);
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
	tu_ev_init(req);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_CHAN_BLOCK, 0, &tx), 0);
	pid = tu_fork();
	if (pid == 0)
		take_one_per_request(name, req);
	while ((rc = shmx_chan_send(tx, msg, sizeof(msg), 0)) == 0)
		;
	assert_int_equal(rc, -EAGAIN);
	for (i = 0; i < trials; i++) {
		tu_ev_post(req[1]);
		t0 = tu_now_ms();
		assert_int_equal(shmx_chan_send(tx, msg, sizeof(msg), LONG_MS), 0);
		slow += tu_now_ms() - t0 >= WAKE_SLOW_MS;
	}
	print_message("# %ld of %ld blocked sends took >= %d ms\n", slow, trials,
		      WAKE_SLOW_MS);
	close(req[1]);
	assert_int_equal(tu_child_verdict(pid, 60000, NULL), 0);
	close(req[0]);
	tx = shmx_chan_close(tx);
	/* A scheduler hiccup on a loaded machine may cost one; a lost wake-up
	 * costs them all. */
	assert_true(slow * 100 <= trials);
}

/* The slot of a broadcast consumer is attached, as shmx_chan_peers()
 * shows it, only once the consumer has fixed where it starts: a producer
 * that waits for that and then sends is heard. Each trial a fresh
 * channel, a consumer process that opens it and waits for one message,
 * and a producer that polls the slots and sends at once. */
#define ATTACH_TRIALS 300
#define HEARD_MS 500

static bool consumer0_attached(const char *name)
{
	struct shmx_chan_peer p[3];

	return shmx_chan_peers(name, p, 3) == 3 && p[1].state == SHMX_PEER_ATTACHED;
}

static void test_peers_attached_consumer_hears_the_next_message(void **state)
{
	struct shmx_chan_params prm = { .capacity = 4096, .consumers = 2 };
	struct shmx_chan *tx;
	int64_t end;
	pid_t pid;
	int i;

	(void)state;
	for (i = 0; i < ATTACH_TRIALS; i++) {
		const char *name = tu_name();

		assert_int_equal(shmx_chan_create_params(name, &prm, P, 0, &tx), 0);
		pid = tu_fork();
		if (pid == 0) {
			struct shmx_chan *rx;
			char buf[8];

			TU_CKEQ(shmx_chan_open(name, C, LONG_MS, &rx), 0);
			TU_CKEQ(shmx_chan_recv(rx, buf, sizeof(buf), HEARD_MS), 5);
			_exit(0);
		}
		end = tu_now_ms() + LONG_MS;
		while (!consumer0_attached(name) && tu_now_ms() < end)
			;
		assert_int_equal(shmx_chan_send(tx, "hello", 5, 0), 0);
		if (tu_child_verdict(pid, LONG_MS, NULL))
			fail_msg("trial %d: the consumer shown attached missed the message", i);
		tx = shmx_chan_close(tx);
		shmx_chan_unlink(name);
	}
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_clean_close),
		T(test_open_waits),
		T(test_open_all_zero_is_not_a_channel),
		T(test_open_validates_before_populating),
		T(test_producer_killed),
		T(test_producer_killed_mid_message),
		T(test_consumer_killed),
		T(test_blocked_send_woken_by_one_recv),
		T(test_peers_attached_consumer_hears_the_next_message),
		T(test_stream),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
