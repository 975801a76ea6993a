/* SPDX-License-Identifier: MIT */
/* A channel's pollable descriptor (shmx_chan_fd(3)) becomes readable once
 * every peer closed, whatever the order of a close's steps and a try's
 * (tests/spin/chan2-close.pml has every order; here the ones it found,
 * forced). A close stores "closed", frees the slot, then wakes a poller
 * whose bit is in the waiting word (leave() in src/channel.c); a try reads
 * the peers' state words, looks at their slots, then arms (src/chan-wait.c).
 * The closer is a real process that lives on (no pidfd fires), stopped
 * between its "closed" and the freeing of its slot by a wrapper of
 * fcntl(); the poller's look at that slot, by a wrapper too. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#include "channel-util.h"

#define MSG 64
#define READABLE_MS 5000        /* a lost wake-up is for good */

/* ---- the stops (tests/meson.build links with --wrap=fcntl64) ---- */

int __real_fcntl64(int fd, int cmd, ...);
int __wrap_fcntl64(int fd, int cmd, ...);

/* In the closer: stop before the slot's unlock, after "closed". */
static bool stop_at_unlock;
/* In the poller: after the first look that finds a slot held. */
static bool stop_at_held;
static int closing[2], go[2], closed[2];

int __wrap_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	struct flock *fl;
	int r;

	va_start(ap, cmd);
	fl = va_arg(ap, struct flock *);
	va_end(ap);
	if (stop_at_unlock && cmd == F_OFD_SETLK && fl->l_type == F_UNLCK) {
		stop_at_unlock = false;
		tu_ev_post(closing[1]);
		TU_CK(tu_ev_wait(go[0], LONG_MS));
	}
	r = __real_fcntl64(fd, cmd, fl);
	if (stop_at_held && cmd == F_OFD_GETLK && r == 0 && fl->l_type == F_WRLCK) {
		/* The try took the closer for alive: now it frees its slot
		 * and wakes whoever it finds polling. */
		stop_at_held = false;
		tu_ev_post(go[1]);
		assert_true(tu_ev_wait(closed[0], LONG_MS));
	}
	return r;
}

/* ---- helpers ---- */

static struct shmx_chan *make(const char *name, unsigned producers)
{
	struct shmx_chan_params p = { .capacity = 4096, .producers = producers, .consumers = 1 };
	struct shmx_chan *c;

	assert_int_equal(shmx_chan_create_params(name, &p, C, 0600, &c), 0);
	return c;
}

/* A producer that attaches, then on "go" closes, stopping before its
 * slot goes; it lives on after. */
static pid_t closer(const char *name, int ready)
{
	struct shmx_chan *c;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &c), 0);
	tu_ev_post(ready);
	TU_CK(tu_ev_wait(go[0], LONG_MS));
	stop_at_unlock = true;
	c = shmx_chan_close(c);
	tu_ready_forever(closed[1]);
}

/* ---- the orders ---- */

/* Another producer closed long ago; the last one's "closed" is in its
 * state word before the try reads it, its slot still held when the try
 * looks (alive, then), freed before the try's watch, and its wake-up
 * comes before the try's bit (it finds nobody to wake). The try must not
 * end with the descriptor unreadable for good: before the fix the state
 * word after the fence was the one read before the look ("closed" both),
 * so nothing looked again, and no tick was set for a slot found free. */
static void test_last_producer_closing_while_the_try_looks(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c = make(name, 2), *b;
	struct pollfd p = { .fd = shmx_chan_fd(c), .events = POLLIN };
	unsigned char buf[MSG];
	int ready[2];
	ssize_t r;
	pid_t pid;

	(void)state;
	assert_true(p.fd >= 0);
	tu_ev_init(ready);
	tu_ev_init(closing);
	tu_ev_init(go);
	tu_ev_init(closed);
	pid = closer(name, ready[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(shmx_chan_open(name, P, LONG_MS, &b), 0);
	b = shmx_chan_close(b);
	tu_ev_post(go[1]);
	assert_true(tu_ev_wait(closing[0], LONG_MS));
	stop_at_held = true;
	r = shmx_chan_recv(c, buf, sizeof(buf), 0);
	assert_false(stop_at_held);     /* the try did look while it was closing */
	if (r == -EAGAIN) {
		assert_int_equal(poll(&p, 1, READABLE_MS), 1);
		r = shmx_chan_recv(c, buf, sizeof(buf), 0);
	}
	assert_int_equal(r, -EPIPE);
	assert_int_equal(poll(&p, 1, 0), 1);   /* and stays readable */
	tu_kill9(pid, LONG_MS);
	c = shmx_chan_close(c);
	for (int k = 0; k < 2; k++) {
		close(ready[k]);
		close(closing[k]);
		close(go[k]);
		close(closed[k]);
	}
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_last_producer_closing_while_the_try_looks),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
