/* SPDX-License-Identifier: MIT */
/* The pollable descriptors (shmx_chan_fd(), shmx_pair_fd(); shmx(7),
 * "Polling") see a peer's death that comes after a try found it alive:
 * the peer's process is gone while its liveness slot still looks held
 * (its open file description lives on in a descriptor the peer handed
 * over a Unix socket, as a peer that dies between a try's liveness check
 * and its arming leaves it for an instant), then the slot is freed. The
 * descriptor must become readable and a try must report the death; a try
 * that closed the exited process's pidfd as a predecessor's left it
 * unreadable for good. Handed over, not inherited by a forked child: a
 * handle's descriptors are closed in a child (src/fork.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define CAP 4096
#define WAIT_MS 10000
#define SEEN_MS 3000    /* a death is seen within this (a slice is 15 ms) */

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* Hand every descriptor of ours on the object's files (/dev/shm/NAME*)
 * over sock, so that their open file descriptions, and the liveness
 * slot on them, outlive us. */
static void hand_over(int sock, const char *name)
{
	char path[64], link[PATH_MAX], want[PATH_MAX];
	char ctl[CMSG_SPACE(sizeof(int) * 16)] = { 0 };
	int fds[16], n = 0, fd, one = 1;
	struct iovec iov = { .iov_base = &one, .iov_len = sizeof(one) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl };
	struct cmsghdr *cm;
	ssize_t len;

	snprintf(want, sizeof(want), "/dev/shm%s", name);
	for (fd = 3; fd < 1024 && n < 16; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (!strncmp(link, want, strlen(want)))
			fds[n++] = fd;
	}
	if (!n)
		_exit(4);
	m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	if (sendmsg(sock, &m, 0) != (ssize_t)sizeof(one))
		_exit(5);
}

/* The descriptors hand_over() sent: kept in fds[], their count returned. */
static int take_over(int sock, int *fds, int max)
{
	char ctl[CMSG_SPACE(sizeof(int) * 16)];
	int one, n;
	struct iovec iov = { .iov_base = &one, .iov_len = sizeof(one) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(one))
		return 0;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return 0;
	n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	n = n < max ? n : max;
	memcpy(fds, CMSG_DATA(cm), sizeof(int) * n);
	return n;
}

/* What the peer does: attach (its own code), say so, wait for "go", hand
 * its descriptors over sock, then exit without closing. */
typedef void (*attach_fn)(const char *name);

static _Noreturn void peer(const char *name, attach_fn attach, int ready, int go, int sock)
{
	attach(name);
	tu_ev_post(ready);
	if (!tu_ev_wait(go, WAIT_MS))
		_exit(3);
	hand_over(sock, name);
	_exit(0);
}

static void chan_producer(const char *name)
{
	struct shmx_chan *tx;

	TU_CKEQ(shmx_chan_open(name, SHMX_CHAN_PRODUCER, WAIT_MS, &tx), 0);
}

static void pair_writer(const char *name)
{
	struct shmx_region *r;
	struct shmx_pair *w;

	TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
	TU_CKEQ(shmx_pair_open(r, SHMX_PAIR_WRITER, &w), 0);
}

/* The poller's side, common to both: try() is one try (timeout 0). */
struct poller {
	int fd;
	long (*try)(void *h);
	void *h;
};

static long chan_try(void *h)
{
	char buf[64];

	return shmx_chan_recv(h, buf, sizeof(buf), 0);
}

static long pair_try(void *h)
{
	return shmx_pair_wait(h, 0);
}

static void run(const char *name, attach_fn attach, struct poller *pl)
{
	int ready[2], go[2], sock[2], held[16], n, k;
	pid_t pid;
	long r = -EAGAIN;
	struct timespec t0, t;

	tu_ev_init(ready);
	tu_ev_init(go);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock), 0);
	pid = tu_fork();
	if (pid == 0)
		peer(name, attach, ready[1], go[0], sock[1]);
	assert_true(tu_ev_wait(ready[0], WAIT_MS));
	/* First try while the peer lives: the pidfd is opened for it. */
	assert_true(readable(pl->fd, WAIT_MS));
	assert_int_equal(pl->try(pl->h), -EAGAIN);
	tu_ev_post(go[1]);
	n = take_over(sock[0], held, 16);
	assert_true(n > 0);
	assert_int_equal(tu_child_verdict(pid, WAIT_MS, NULL), 0);
	/* Its process is gone, its slot held by the descriptors it handed
	 * over: a try still finds it alive. */
	assert_true(readable(pl->fd, WAIT_MS));
	assert_int_equal(pl->try(pl->h), -EAGAIN);
	/* Now the slot goes too: the death must be seen. */
	for (k = 0; k < n; k++)
		close(held[k]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > SEEN_MS)
			break;
		if (!readable(pl->fd, 100))
			continue;
		r = pl->try(pl->h);
		if (r != -EAGAIN)
			break;
	}
	if (r != -EOWNERDEAD)
		print_message("# descriptor readable: %d, last try: %ld\n",
			      readable(pl->fd, 0), r);
	assert_int_equal(r, -EOWNERDEAD);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(sock[0]);
	close(sock[1]);
}

static void test_chan_fd_sees_a_death_after_a_try_found_it_alive(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *rx;
	struct poller pl;

	(void)state;
	assert_int_equal(shmx_chan_create(name, CAP, SHMX_CHAN_CONSUMER, 0, &rx), 0);
	pl = (struct poller){ .fd = shmx_chan_fd(rx), .try = chan_try, .h = rx };
	assert_true(pl.fd >= 0);
	run(name, chan_producer, &pl);
	shmx_chan_close(rx);
	shmx_chan_unlink(name);
}

static void test_pair_fd_sees_a_death_after_a_try_found_it_alive(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *rd;
	struct poller pl;

	(void)state;
	assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_READER, 0, &rd), 0);
	pl = (struct poller){ .fd = shmx_pair_fd(rd), .try = pair_try, .h = rd };
	assert_true(pl.fd >= 0);
	run(name, pair_writer, &pl);
	shmx_pair_close(rd);
	shmx_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_chan_fd_sees_a_death_after_a_try_found_it_alive,
					  tu_teardown),
		cmocka_unit_test_teardown(test_pair_fd_sees_a_death_after_a_try_found_it_alive,
					  tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
