/* SPDX-License-Identifier: MIT */
/* What shmx send and shmx recv share: the stop flag of SIGINT/SIGTERM, the
 * frame of the pair mode, bounded reads of stdin and whole writes of
 * stdout, and how the two sides report how a stream ended. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmx-tool.h"

volatile sig_atomic_t stream_stop;
int (*stream_idle)(void);

static void on_signal(int sig)
{
	stream_stop = sig;
}

/* No SA_RESTART: a blocked read or write returns, and the loops look at
 * the flag at least once a slice. */
void stream_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void stream_nap(void)
{
	const struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

int64_t stream_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read() from stdin without blocking longer than a slice: a signal that
 * lands just before read() would otherwise wait for the next input, and a
 * peer that died while we wait is noticed (stream_idle). 0 at end of
 * input, -EINTR once stopped. */
ssize_t stream_read(void *buf, size_t len)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t n;
	int ready;

	for (;;) {
		if (stream_stop)
			return -EINTR;
		ready = poll(&pfd, 1, STREAM_SLICE_MS);
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (ready <= 0 && stream_idle && (n = stream_idle()) < 0)
			return n;
		if (ready <= 0)
			continue;
		n = read(STDIN_FILENO, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/* One line of at most len bytes (newline included) from a buffered
 * stdin; 0 at end of input. */
ssize_t stream_read_line(char *buf, size_t len)
{
	static char in[64 * 1024];
	static size_t have;
	size_t n;
	char *nl;
	ssize_t got;

	for (;;) {
		nl = memchr(in, '\n', have);
		if (nl || have >= len || (have && have == sizeof(in))) {
			n = nl ? (size_t)(nl - in) + 1 : have;
			n = n < len ? n : len;
			break;
		}
		got = stream_read(in + have, sizeof(in) - have);
		if (got < 0)
			return got;
		if (got == 0) {         /* a last line without newline */
			n = have;
			break;
		}
		have += (size_t)got;
	}
	memcpy(buf, in, n);
	memmove(in, in + n, have - n);
	have -= n;
	return (ssize_t)n;
}

int stream_write(const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR && !stream_stop)
			continue;
		if (n < 0)
			return stream_stop ? -EINTR : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool expired(int64_t start_ms, int timeout_ms)
{
	return timeout_ms >= 0 && stream_now_ms() - start_ms >= timeout_ms;
}

/* The library's waits retry EINTR against their deadline, so a signal
 * would not end a wait of -1: wait in slices and look at the flag. */
static int slice_of(int timeout_ms)
{
	return timeout_ms >= 0 && timeout_ms < STREAM_SLICE_MS ? timeout_ms : STREAM_SLICE_MS;
}

int stream_chan_open(const char *name, unsigned flags, int timeout_ms,
		     struct shmx_chan **ret)
{
	int64_t start = stream_now_ms();
	int err;

	for (;;) {
		err = shmx_chan_open(name, flags, slice_of(timeout_ms), ret);
		/* not there yet, or not published yet */
		if (err != -ENOENT && err != -EAGAIN && err != -ETIMEDOUT)
			return err;
		if (stream_stop)
			return -EINTR;
		if (expired(start, timeout_ms))
			return -ETIMEDOUT;
	}
}

/* Not there yet, or half made: the creator may be building it right now
 * (a pair's semaphores get their mode after they exist: -EACCES). */
static bool not_ready(int err)
{
	return err == -ENOENT || err == -ENODATA || err == -EACCES;
}

int stream_pair_attach(const char *name, unsigned role, int timeout_ms,
		       struct shmx_region **ret_r, struct shmx_pair **ret_p)
{
	int64_t start = stream_now_ms();
	struct shmx_region *r = NULL;
	struct shmx_pair *p;
	int err;

	for (;;) {
		err = r ? 0 : shmx_open(name, SHMX_MAP, &r);
		if (!err)
			err = shmx_pair_open(r, role, &p);
		if (!err) {
			*ret_r = r;
			*ret_p = p;
			return 0;
		}
		if (!not_ready(err))
			break;
		err = stream_stop ? -EINTR : -ETIMEDOUT;
		if (stream_stop || expired(start, timeout_ms))
			break;
		stream_nap();
	}
	shmx_close(r);
	return err;
}

/* One message per line (--lines): the line "quit" ends the stream. */
bool stream_is_quit(const char *line, size_t len)
{
	return (len == 5 && !memcmp(line, "quit\n", 5)) ||
	       (len == 4 && !memcmp(line, "quit", 4));
}

/* How a stream ended, as both sides say it; the exit status. */
int stream_report(const char *who, const char *peer, const char *name, int timeout_ms,
		  int err)
{
	switch (err) {
	case 0:
		return EXIT_SUCCESS;
	case -EOWNERDEAD:
		op_errorf(name, "%s died (%s)", peer, shmx_strerror(err));
		return EXIT_FAIL;
	case -ETIMEDOUT:
		op_errorf(name, "no %s within %d ms", peer, timeout_ms);
		return EXIT_FAIL;
	case -ECANCELED:
		op_errorf(name, "%s was interrupted before the end", peer);
		return EXIT_FAIL;
	case -EPIPE:
		op_errorf(name, "%s left before the end of the stream", peer);
		return EXIT_FAIL;
	case -EINTR:
		op_errorf(name, "%s interrupted", who);
		return 128 + stream_stop;
	case -EBADMSG:
		op_errorf(name, "bad message from the %s", peer);
		return EXIT_FAIL;
	case -EBUSY:
	case -EUSERS:
		op_errorf(name, "no room for another %s: every slot of its role is taken (%s)",
			  who, shmx_strerror(err));
		return EXIT_FAIL;
	}
	return op_error(name, err);
}
