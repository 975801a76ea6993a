/* cc reader.c $(pkg-config --cflags --libs libshmx) -o reader */
/* SPDX-License-Identifier: MIT */
/*
 * reader: print what a writer sends through shared memory.
 *
 * The reader waits for the writer's region and semaphore pair to appear,
 * attaches as the reader, and takes turns: wait for "may read", copy the
 * message to standard output, post "may write". It stops at the writer's
 * end marker. It never removes anything: the writer owns the names.
 *
 *   ./reader > copy.bin         # start it before or after the writer
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shmx.h>

/* The layout both programs agree on, at the start of the region. */
struct msg {
	uint32_t len;           /* bytes of data that follow */
	uint32_t flags;
	unsigned char data[];
};
#define MSG_END   1u            /* no more messages */
#define MSG_ABORT 2u            /* ... because the writer was interrupted */

#define SLICE_MS 100            /* how often a wait looks at the stop flag */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Not there yet, or half made: the writer may be starting right now. */
static bool not_ready(int err)
{
	return err == -ENOENT || err == -ENODATA || err == -EACCES;
}

/* Wait up to timeout_ms for the writer's region and pair. */
static int attach(const char *name, int timeout_ms, struct shmx_region **r,
		  struct shmx_pair **p)
{
	int64_t end = now_ms() + timeout_ms;
	int err;

	for (;;) {
		err = *r ? 0 : shmx_open(name, SHMX_MAP, r);
		if (!err)
			err = shmx_pair_open(*r, SHMX_PAIR_READER, p);
		if (!err || !not_ready(err))
			return err;
		if (stop)
			return -EINTR;
		if (timeout_ms >= 0 && now_ms() >= end)
			return -ETIMEDOUT;
		usleep(10 * 1000);
	}
}

static int write_all(const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(STDOUT_FILENO, buf, len);
		if (n < 0 && errno == EINTR && !stop)
			continue;
		if (n < 0)
			return stop ? -EINTR : -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Take turns until the end marker. The header is read once and checked
 * against the region's size: the writer is another program. */
static int receive(struct shmx_region *r, struct shmx_pair *p)
{
	const struct msg *m = shmx_addr(r);
	size_t max = shmx_size(r) - sizeof(*m);  /* checked below */
	uint32_t len, flags;
	int err;

	if (shmx_size(r) <= sizeof(*m))
		return -EBADMSG;
	for (;;) {
		err = shmx_pair_wait(p, SLICE_MS);
		if (err == -ETIMEDOUT && !stop)
			continue;
		if (err)
			return err == -ETIMEDOUT ? -EINTR : err;
		len = m->len;
		flags = m->flags;
		if (len > max)
			return -EBADMSG;
		err = write_all(m->data, len);
		if (err)
			return err;
		err = shmx_pair_post(p);
		if (err || (flags & MSG_END))
			return err ? err : (flags & MSG_ABORT) ? -ECANCELED : 0;
	}
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Write what a writer sends through POSIX shared memory to standard output.\n\n"
		"  -n, --name NAME     region name (default /shmx-demo)\n"
		"  -t, --timeout MS    wait this long for the writer (default 5000, -1 forever)\n"
		"  -h, --help          show this help\n", argv0);
}

static int report(const char *name, int timeout_ms, int err)
{
	switch (err) {
	case 0:
		return 0;
	case -EOWNERDEAD:
		fprintf(stderr, "reader: writer died (%s)\n", shmx_strerror(err));
		return 1;
	case -ETIMEDOUT:
		fprintf(stderr, "reader: no writer at %s within %d ms\n", name, timeout_ms);
		return 1;
	case -ECANCELED:
		fprintf(stderr, "reader: writer was interrupted before the end\n");
		return 1;
	case -EINTR:
		fprintf(stderr, "reader: interrupted\n");
		return 128 + stop;
	case -EBADMSG:
		fprintf(stderr, "reader: bad message in %s\n", name);
		return 1;
	}
	fprintf(stderr, "reader: %s: %s\n", name, shmx_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };  /* no SA_RESTART */
	const char *name = "/shmx-demo";
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;
	int c, err, timeout_ms = 5000;
	char *end;

	while ((c = getopt_long(argc, argv, "n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 't':
			timeout_ms = (int)strtol(optarg, &end, 10);
			if (*optarg && !*end && timeout_ms >= -1)
				break;
			fprintf(stderr, "reader: bad timeout '%s'\n", optarg);
			return 2;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "reader: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = attach(name, timeout_ms, &r, &p);
	if (err == -EOWNERDEAD) {
		fprintf(stderr, "reader: the writer of %s is dead (left over: shmx rm %s)\n",
			name, name);
		err = 1;
	} else {
		if (!err)
			err = receive(r, p);
		err = report(name, timeout_ms, err);
	}
	shmx_pair_close(p);
	shmx_close(r);
	return err;
}
