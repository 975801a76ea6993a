/* SPDX-License-Identifier: MIT */
/* A channel's pollable descriptor (shmx_chan_fd(); shmx(7), "Polling")
 * becomes readable only when there is something to do: data or room, a
 * peer that attaches, closes or dies. On an idle channel whose peer role
 * has several slots, a poll loop (try, then poll) wakes a handful of
 * times in a second at most, never every liveness slice; and each death
 * is still seen. Real processes, real kills. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "channel-util.h"

#define IDLE_MS   1000
#define MAX_WAKES 5     /* the first readable, a peer's late kick or two */
#define MSG       100

struct shape {
	unsigned producers, consumers;
	unsigned attach;        /* peers of the other role that attach */
	int role;               /* ours: P or C */
};

/* A peer child: open role, post ready, wait to be killed. */
static pid_t idle_peer(const char *name, int role, int ready)
{
	struct shmx_chan *c;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	TU_CKEQ(shmx_chan_open(name, role, LONG_MS, &c), 0);
	tu_ready_forever(ready);
}

/* One try of our role: 1 when it did something, else its error. */
static int try_once(struct shmx_chan *c, int role)
{
	unsigned char buf[MSG] = { 0 };
	ssize_t r = role == P ? shmx_chan_send(c, buf, MSG, 0)
			      : shmx_chan_recv(c, buf, sizeof(buf), 0);

	return r >= 0 ? 1 : (int)r;
}

/* Poll loop for ms: try until the try finds nothing, then poll; how many
 * times the descriptor woke us. Every try must find nothing but -EAGAIN. */
static int count_wakes(struct shmx_chan *c, int role, int ms)
{
	int fd = shmx_chan_fd(c), wakes = 0, r;
	int64_t end = tu_now_ms() + ms, left;

	assert_true(fd >= 0);
	while ((left = end - tu_now_ms()) > 0) {
		while ((r = try_once(c, role)) == 1)
			;
		assert_int_equal(r, -EAGAIN);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, (int)left) == 1)
			wakes++;
	}
	return wakes;
}

static struct shmx_chan *make(const char *name, const struct shape *s)
{
	struct shmx_chan_params p = { .capacity = 4096, .producers = s->producers,
				      .consumers = s->consumers };
	struct shmx_chan *c;

	assert_int_equal(shmx_chan_create_params(name, &p, s->role, 0600, &c), 0);
	return c;
}

static void idle_wakes(const struct shape *s)
{
	const char *name = tu_name();
	struct shmx_chan *c = make(name, s);
	int ready[2], wakes, other = s->role == P ? C : P;
	pid_t pid[8];

	tu_ev_init(ready);
	for (unsigned k = 0; k < s->attach; k++) {
		pid[k] = idle_peer(name, other, ready[1]);
		assert_true(tu_ev_wait(ready[0], LONG_MS));
	}
	wakes = count_wakes(c, s->role, IDLE_MS);
	print_message("# %s, %u producer slots, %u consumer slots, %u attached: %d wake-ups in %d ms\n",
		      s->role == P ? "producer" : "consumer", s->producers, s->consumers,
		      s->attach, wakes, IDLE_MS);
	assert_true(wakes <= MAX_WAKES);
	for (unsigned k = 0; k < s->attach; k++)
		tu_kill9(pid[k], LONG_MS);
	c = shmx_chan_close(c);
	close(ready[0]);
	close(ready[1]);
}

static void test_idle_consumer_of_three_producers(void **state)
{
	(void)state;
	idle_wakes(&(struct shape){ 3, 1, 3, C });
}

static void test_idle_consumer_of_a_broadcast_of_two_producers(void **state)
{
	(void)state;
	idle_wakes(&(struct shape){ 2, 2, 2, C });
}

static void test_idle_broadcast_producer_ring_full(void **state)
{
	(void)state;
	idle_wakes(&(struct shape){ 1, 2, 1, P });
}

static void test_idle_broadcast_producer_two_consumers_ring_full(void **state)
{
	(void)state;
	idle_wakes(&(struct shape){ 1, 3, 2, P });
}

static void test_idle_producer_of_several_ring_full(void **state)
{
	(void)state;
	idle_wakes(&(struct shape){ 2, 2, 2, P });
}

/* Deaths are still seen: a consumer polling three idle producers wakes
 * for the last one's death, and its try says so. */
static void test_last_producer_death_wakes_idle_poller(void **state)
{
	const struct shape s = { 3, 1, 3, C };
	const char *name = tu_name();
	struct shmx_chan *c = make(name, &s);
	int ready[2], fd = shmx_chan_fd(c);
	unsigned char buf[MSG];
	pid_t pid[3];
	ssize_t r;

	(void)state;
	tu_ev_init(ready);
	assert_true(fd >= 0);
	for (unsigned k = 0; k < 3; k++) {
		pid[k] = idle_peer(name, P, ready[1]);
		assert_true(tu_ev_wait(ready[0], LONG_MS));
	}
	for (unsigned k = 0; k < 3; k++)
		tu_kill9(pid[k], LONG_MS);
	while ((r = shmx_chan_recv(c, buf, sizeof(buf), 0)) == -EAGAIN) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		assert_int_equal(poll(&p, 1, LONG_MS), 1);
	}
	assert_int_equal(r, -EOWNERDEAD);
	c = shmx_chan_close(c);
	close(ready[0]);
	close(ready[1]);
}

/* A peer forked after our first try holds copies of every descriptor we
 * had then, the pidfd that watches the first peer among them: once that
 * peer dies, closing our copy does not take it out of the descriptor's
 * epoll set (only the last close of the file does), so it had to be
 * taken out explicitly, or the descriptor stayed readable for good with
 * nothing to do (~100,000 wake-ups a second). Two producers of a queue;
 * the first dies; the second, idle, must not make us spin. */
static void test_a_death_seen_by_a_forked_peer_leaves_no_spin(void **state)
{
	const struct shape s = { 2, 1, 0, C };
	const char *name = tu_name();
	struct shmx_chan *c = make(name, &s);
	int ready[2], wakes;
	pid_t a, b;

	(void)state;
	tu_ev_init(ready);
	assert_true(shmx_chan_fd(c) >= 0);
	a = idle_peer(name, P, ready[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(try_once(c, C), -EAGAIN);     /* watches a's process */
	b = idle_peer(name, P, ready[1]);               /* inherits that pidfd */
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(try_once(c, C), -EAGAIN);
	tu_kill9(a, LONG_MS);
	wakes = count_wakes(c, C, IDLE_MS);
	print_message("# after the first producer's death: %d wake-ups in %d ms\n", wakes,
		      IDLE_MS);
	assert_true(wakes <= MAX_WAKES);
	tu_kill9(b, LONG_MS);
	c = shmx_chan_close(c);
	close(ready[0]);
	close(ready[1]);
}

/* A peer that leaves its slot while its process lives on (it exec'd: the
 * handle's descriptor is close-on-exec, so its lock went) fires no pidfd;
 * a try then says it is gone, and from that try on the descriptor stays
 * readable, as shmx_chan_fd(3) says (it stayed unreadable for good). */
static void test_descriptor_stays_readable_once_a_try_saw_the_peer_gone(void **state)
{
	const struct shape s = { 1, 1, 0, C };
	const char *name = tu_name();
	struct shmx_chan *c = make(name, &s);
	struct pollfd p = { .fd = shmx_chan_fd(c), .events = POLLIN };
	int ready[2], go[2], r = -EAGAIN;
	int64_t end;
	pid_t pid;

	(void)state;
	assert_true(p.fd >= 0);
	tu_ev_init(ready);
	tu_ev_init(go);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *me;
		char b;

		TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &me), 0);
		(void)!write(ready[1], "r", 1);
		(void)!read(go[0], &b, 1);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	/* armed, the attach's kick taken: nothing makes it readable now */
	while (poll(&p, 1, 100) == 1)
		assert_int_equal(try_once(c, C), -EAGAIN);
	assert_int_equal(write(go[1], "g", 1), 1);
	end = tu_now_ms() + LONG_MS;
	while (r == -EAGAIN && tu_now_ms() < end) {
		r = try_once(c, C);
		usleep(5000);
	}
	assert_int_equal(r, -EOWNERDEAD);
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(try_once(c, C), -EOWNERDEAD);
	assert_int_equal(poll(&p, 1, 0), 1);
	tu_kill9(pid, LONG_MS);
	c = shmx_chan_close(c);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
	}
}

/* A broadcast producer polling for room that the slowest of two idle
 * consumers holds: that consumer's death wakes it, and the room is there. */
static void test_slow_consumer_death_wakes_idle_producer(void **state)
{
	const struct shape s = { 1, 2, 2, P };
	const char *name = tu_name();
	struct shmx_chan *c = make(name, &s);
	int ready[2], fd = shmx_chan_fd(c), r;
	pid_t pid[2];

	(void)state;
	tu_ev_init(ready);
	assert_true(fd >= 0);
	for (unsigned k = 0; k < 2; k++) {
		pid[k] = idle_peer(name, C, ready[1]);
		assert_true(tu_ev_wait(ready[0], LONG_MS));
	}
	while ((r = try_once(c, P)) == 1)
		;
	assert_int_equal(r, -EAGAIN);
	for (unsigned k = 0; k < 2; k++)
		tu_kill9(pid[k], LONG_MS);
	while ((r = try_once(c, P)) == -EAGAIN) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		assert_int_equal(poll(&p, 1, LONG_MS), 1);
	}
	assert_int_equal(r, 1);
	c = shmx_chan_close(c);
	close(ready[0]);
	close(ready[1]);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_idle_consumer_of_three_producers),
		T(test_idle_consumer_of_a_broadcast_of_two_producers),
		T(test_idle_broadcast_producer_ring_full),
		T(test_idle_broadcast_producer_two_consumers_ring_full),
		T(test_idle_producer_of_several_ring_full),
		T(test_last_producer_death_wakes_idle_poller),
		T(test_slow_consumer_death_wakes_idle_producer),
		T(test_a_death_seen_by_a_forked_peer_leaves_no_spin),
		T(test_descriptor_stays_readable_once_a_try_saw_the_peer_gone),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
