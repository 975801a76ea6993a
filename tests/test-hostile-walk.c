/* SPDX-License-Identifier: MIT */
/* A hostile peer against the loops over shared data: a ring of records
 * that are no messages (skip records, reservations of a producer slot
 * nobody holds) and a reservation lock that names the caller itself. Every
 * such loop ends, bounded by the ring (-EBADMSG) or by the caller's
 * deadline, never spins past it (shmx(7), "Several producers"). Each call
 * runs under an alarm of its own: before the fix it spun for good. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define CAP 4096u
#define CHILD_MS 10000  /* a call that has not returned by then hangs */

static struct shmx_chan *shaped(const char *name, unsigned producers, unsigned role,
				unsigned flags)
{
	struct shmx_chan_params p = { .capacity = CAP, .producers = producers,
				      .consumers = 1 };
	struct shmx_chan *c;

	assert_int_equal(shmx_chan_create_params(name, &p, role | flags, 0, &c), 0);
	return c;
}

static struct shmx__chan_hdr *raw_header(const char *name, struct shmx_region **r)
{
	assert_int_equal(shmx_open(name, SHMX_MAP, r), 0);
	return shmx_addr(*r);
}

/* Fill the whole ring with records of word w, each 8 + len bytes. */
static void fill_ring(struct shmx__chan_hdr *h, uint32_t tag, uint32_t len)
{
	unsigned char *ring = (unsigned char *)h + h->header_size;

	memset(ring, 0, CAP);
	for (uint64_t off = 0; off + 8 + len <= CAP; off += 8 + len)
		*(uint64_t *)(void *)(ring + off) = (uint64_t)tag << 32 | len;
}

/* recv on c with timeout_ms: it must return want, within the deadline
 * and not much more. An alarm ends a call that never returns (the test
 * then dies of it instead of hanging); the call runs here, as the handle
 * is ours alone (a forked child's copy answers -EBADFD). */
static void recv_bounded(struct shmx_chan *c, int timeout_ms, long want)
{
	unsigned char buf[CAP];
	int64_t t0 = tu_now_ms();
	ssize_t n;

	alarm(CHILD_MS / 1000);
	n = shmx_chan_recv(c, buf, sizeof(buf), timeout_ms);
	alarm(0);
	assert_int_equal(n, want);
	assert_true(tu_now_ms() - t0 < timeout_ms + 2000);
}

/* Skip records all around the ring, head left at 0: the consumer walks
 * them past the most an honest producer can have written (a ring ahead of
 * the cursor it published) and fails; a try does too. */
static void test_ring_of_skip_records(void **state)
{
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	struct shmx_chan *rx;

	(void)state;
	for (uint32_t len = 0; len <= 8; len += 8) {
		for (int timeout = 0; timeout <= 200; timeout += 200) {
			const char *name = tu_name();

			rx = shaped(name, 2, C, 0);
			h = raw_header(name, &r);
			fill_ring(h, SHMX__CHAN_TAG_SKIP, len);
			recv_bounded(rx, timeout, -EBADMSG);
			r = shmx_close(r);
			rx = shmx_chan_close(rx);
		}
	}
}

/* Reservations of producer slot 1, which nobody ever held, all around the
 * ring: each is skipped like a dead producer's, and the walk ends at the
 * caller's deadline (-ETIMEDOUT; -EAGAIN for a try), whether the consumer
 * spins, sleeps or blocks. */
static void test_ring_of_orphan_reservations(void **state)
{
	static const unsigned flags[] = { 0, SHMX_CHAN_SPIN, SHMX_CHAN_BLOCK };
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	struct shmx_chan *rx;

	(void)state;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const char *name = tu_name();

		rx = shaped(name, 2, C, flags[i]);
		h = raw_header(name, &r);
		fill_ring(h, SHMX__CHAN_TAG_BUSY | 1u << 24 | 1, 0);
		recv_bounded(rx, 200, -ETIMEDOUT);
		recv_bounded(rx, 0, -EAGAIN);
		r = shmx_close(r);
		rx = shmx_chan_close(rx);
	}
}

/* send on c with timeout_ms: it must return want (an alarm as above). */
static void send_bounded(struct shmx_chan *c, int timeout_ms, long want)
{
	int r;

	alarm(CHILD_MS / 1000);
	r = shmx_chan_send(c, "x", 1, timeout_ms);
	alarm(0);
	assert_int_equal(r, want);
}

/* The lock word holds our own slot and our own attach generation: we do
 * not hold it (a handle takes the lock only inside a call), so the value
 * is corrupt: -EBADMSG at once, whatever the timeout, -1 included. */
static void test_lock_names_the_caller(void **state)
{
	static const int timeouts[] = { 0, 1000, -1 };
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	struct shmx_chan *rx, *tx;

	(void)state;
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		const char *name = tu_name();

		rx = shaped(name, 2, C, 0);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
		assert_int_equal(shmx_chan_slot(tx), 0);
		h = raw_header(name, &r);
		/* slot 0, generation 1: the first attach of slot 0, ours */
		assert_int_equal(shmx__chan_slots(h)[0].state >> 8, 1);
		h->lock = 1 | 1u << 8;
		send_bounded(tx, timeouts[i], -EBADMSG);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ring_of_skip_records),
		T(test_ring_of_orphan_reservations),
		T(test_lock_names_the_caller),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
