/* SPDX-License-Identifier: MIT */
/* A peer that closes while another process reads the slots is never
 * reported dead: shmx_chan_peers(3) says SHMX_PEER_DEAD only of a holder
 * that died attached. The slot's state word and its liveness lock are
 * read one after the other, and a close (state "closed", then the lock
 * freed) can fall between the two reads; a consumer that attaches and
 * closes in a loop, with nobody dying, makes that window wide enough to
 * hit within a second. (shmx send read such a close as a receiver's
 * death.) Nor is a healthy channel said to be corrupt because its
 * consumer moved on between the reads of head and of its cursor. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

#define LOOK_MS 1500

static void churn(const char *name, unsigned role)
{
	struct shmx_chan *c;

	for (;;) {
		if (shmx_chan_open(name, role, 1000, &c) == 0)
			shmx_chan_close(c);
	}
}

static void never_dead(unsigned consumers, unsigned role)
{
	struct shmx_chan_params prm = { .capacity = 4096, .producers = 1,
					 .consumers = consumers };
	struct shmx_chan_peer p[4];
	const char *name = tu_name();
	unsigned owner = role == SHMX_CHAN_CONSUMER ? SHMX_CHAN_PRODUCER : SHMX_CHAN_CONSUMER;
	struct shmx_chan *c = NULL;
	unsigned long looks = 0, dead = 0, closed = 0;
	int64_t t0;
	pid_t pid;
	int n;

	assert_int_equal(shmx_chan_create_params(name, &prm, owner, 0600, &c), 0);
	pid = tu_fork();
	if (pid == 0)
		churn(name, role);
	t0 = tu_now_ms();
	while (tu_now_ms() - t0 < LOOK_MS) {
		n = shmx_chan_peers(name, p, 4);
		assert_true(n >= 2);
		for (int i = 0; i < n && i < 4; i++) {
			if (p[i].role != role)
				continue;
			dead += p[i].state == SHMX_PEER_DEAD;
			closed += p[i].state == SHMX_PEER_CLOSED;
		}
		looks++;
	}
	kill(pid, SIGKILL);
	tu_child_verdict(pid, 5000, NULL);
	print_message("# %lu looks, %lu saw a closed slot, %lu a dead one\n", looks, closed,
		      dead);
	assert_true(closed > 0);        /* the churn did run */
	assert_int_equal(dead, 0);
	shmx_chan_close(c);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

/* A producer and consumers streaming as fast as they can, nobody
 * attaching or dying: every look at the slots and every stat succeeds. */
static void stream(const char *name, unsigned role)
{
	static char buf[256];
	struct shmx_chan *c;
	ssize_t err;

	if (shmx_chan_open(name, role, 5000, &c))
		_exit(2);
	for (;;) {
		err = role == SHMX_CHAN_PRODUCER ? shmx_chan_send(c, buf, 40, 1000)
						 : shmx_chan_recv(c, buf, sizeof(buf), 1000);
		if (err < 0 && err != -ETIMEDOUT)
			_exit(3);
	}
}

static atomic_bool stop;

static void *drain(void *arg)
{
	static char buf[256];

	while (!atomic_load(&stop))
		shmx_chan_recv(arg, buf, sizeof(buf), 10);
	return NULL;
}

static void healthy_while_streaming(unsigned consumers)
{
	struct shmx_chan_params prm = { .capacity = 4096, .producers = 1,
					 .consumers = consumers };
	struct shmx_chan_peer p[4];
	struct shmx_chan_info info;
	const char *name = tu_name();
	struct shmx_chan *c = NULL;
	unsigned long looks = 0, bad = 0;
	int first = 0, err, n;
	pthread_t th;
	pid_t pid[3];
	int64_t t0;

	assert_int_equal(shmx_chan_create_params(name, &prm, SHMX_CHAN_CONSUMER, 0600, &c), 0);
	for (unsigned i = 0; i < consumers; i++) {
		pid[i] = tu_fork();
		if (pid[i] == 0)
			stream(name, i ? SHMX_CHAN_CONSUMER : SHMX_CHAN_PRODUCER);
	}
	atomic_store(&stop, false);
	assert_int_equal(pthread_create(&th, NULL, drain, c), 0);
	t0 = tu_now_ms();
	while (tu_now_ms() - t0 < LOOK_MS) {
		n = shmx_chan_peers(name, p, 4);
		err = n < 0 ? n : shmx_chan_stat(name, &info);
		bad += err < 0;
		if (err < 0 && !first)
			first = err;
		looks++;
	}
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	print_message("# %lu looks, %lu failed (first: %s)\n", looks, bad, tu_errname(first));
	for (unsigned i = 0; i < consumers; i++) {
		kill(pid[i], SIGKILL);
		tu_child_verdict(pid[i], 5000, NULL);
	}
	assert_int_equal(bad, 0);
	shmx_chan_close(c);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

static void test_closing_consumer_is_not_dead(void **state)
{
	(void)state;
	never_dead(1, SHMX_CHAN_CONSUMER);
}

static void test_closing_broadcast_consumer_is_not_dead(void **state)
{
	(void)state;
	never_dead(2, SHMX_CHAN_CONSUMER);
}

static void test_closing_producer_is_not_dead(void **state)
{
	(void)state;
	never_dead(1, SHMX_CHAN_PRODUCER);
}

static void test_streaming_channel_is_healthy(void **state)
{
	(void)state;
	healthy_while_streaming(1);
}

static void test_streaming_broadcast_is_healthy(void **state)
{
	(void)state;
	healthy_while_streaming(2);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_closing_consumer_is_not_dead),
		T(test_closing_broadcast_consumer_is_not_dead),
		T(test_closing_producer_is_not_dead),
		T(test_streaming_channel_is_healthy),
		T(test_streaming_broadcast_is_healthy),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
