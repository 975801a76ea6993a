/* SPDX-License-Identifier: MIT */
/* A peer that closes while another process reads the slots is never
 * reported dead: shmx_chan_peers(3) says SHMX_PEER_DEAD only of a holder
 * that died attached. The slot's state word and its liveness lock are
 * read one after the other, and a close (state "closed", then the lock
 * freed) can fall between the two reads; a consumer that attaches and
 * closes in a loop, with nobody dying, makes that window wide enough to
 * hit within a second. (shmx send read such a close as a receiver's
 * death.) */
#define _GNU_SOURCE
#include <errno.h>
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

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_closing_consumer_is_not_dead),
		T(test_closing_broadcast_consumer_is_not_dead),
		T(test_closing_producer_is_not_dead),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
