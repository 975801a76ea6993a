/* cc writer.c $(pkg-config --cflags --libs libshmx) -o writer */
/* SPDX-License-Identifier: MIT */
/*
 * writer: send standard input to a reader through shared memory.
 *
 * The writer creates a region and its semaphore pair, then takes turns with
 * the reader: wait for "may write", put one message in the region, post
 * "may read". A message is a small header (length, flags) and its bytes.
 * End of input (or the line "quit" with --lines) sends an end marker; the
 * writer waits until the reader took it, then removes what it created.
 *
 *   ./writer --lines            # type lines; "quit" or Ctrl-D ends both
 *   ./writer < picture.png      # any bytes
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
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

struct writer {
	struct shmx_region *region;
	struct shmx_pair *pair;
	struct msg *msg;
	size_t max;             /* data bytes per message */
	int timeout_ms;
	unsigned turns;         /* turns we got; from the 2nd on, a reader exists */
	bool holding;
};

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

/* Wait for our turn in slices, so Ctrl-C is noticed; give up after the
 * timeout only while no reader has ever taken a message. */
static int get_turn(struct writer *w)
{
	int64_t end = now_ms() + w->timeout_ms;
	int err;

	while (!w->holding) {
		err = shmx_pair_wait(w->pair, SLICE_MS);
		if (err == 0) {
			w->holding = true;
			w->turns++;
		} else if (err != -ETIMEDOUT) {
			return err;
		} else if (stop) {
			return -EINTR;
		} else if (w->turns < 2 && w->timeout_ms >= 0 && now_ms() >= end) {
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* Copy one message into the region and hand it to the reader. */
static int send_msg(struct writer *w, const void *data, size_t len, uint32_t flags)
{
	int err = get_turn(w);

	if (err)
		return err;
	w->msg->len = (uint32_t)len;
	w->msg->flags = flags;
	if (data != w->msg->data)  /* stream() reads in place */
		memcpy(w->msg->data, data, len);
	err = shmx_pair_post(w->pair);
	if (!err)
		w->holding = false;
	return err;
}

static int send_bytes(struct writer *w, const char *buf, size_t len)
{
	size_t n;
	int err;

	do {
		n = len < w->max ? len : w->max;
		err = send_msg(w, buf, n, 0);
		buf += n;
		len -= n;
	} while (!err && len > 0);
	return err;
}

/* read() from stdin, but never block longer than a slice: a signal that
 * lands just before read() would otherwise be noticed only by the next
 * byte of input. 0 at end of input. */
static ssize_t read_input(void *buf, size_t len)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t n;
	int ready;

	for (;;) {
		if (stop)
			return -EINTR;
		ready = poll(&pfd, 1, SLICE_MS);
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (ready <= 0)
			continue;
		n = read(STDIN_FILENO, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/* Binary mode: whatever one read() returns becomes one message, read
 * straight into the region. We read while holding the turn, so that an
 * interrupt can still tell the reader. */
static int stream(struct writer *w)
{
	ssize_t n;
	int err;

	for (;;) {
		err = get_turn(w);
		if (err)
			return err;
		n = read_input(w->msg->data, w->max);
		if (n <= 0)
			return (int)n;
		err = send_msg(w, w->msg->data, (size_t)n, 0);
		if (err)
			return err;
	}
}

/* --lines: one message per line (newline included), "quit" ends. */
static int lines(struct writer *w)
{
	static char buf[64 * 1024];
	size_t have = 0, len;
	char *nl;
	ssize_t n;
	int err;

	for (;;) {
		nl = memchr(buf, '\n', have);
		if (nl || have == sizeof(buf)) {
			/* a whole line, or a piece of one longer than buf */
			len = nl ? (size_t)(nl - buf) + 1 : have;
			if (nl && len == 5 && !memcmp(buf, "quit\n", 5))
				return 0;
			err = send_bytes(w, buf, len);
			if (err)
				return err;
			memmove(buf, buf + len, have - len);
			have -= len;
			continue;
		}
		err = get_turn(w);
		if (err)
			return err;
		n = read_input(buf + have, sizeof(buf) - have);
		if (n < 0)
			return (int)n;
		if (n == 0)  /* end of input: a last line without newline */
			return have == 0 || (have == 4 && !memcmp(buf, "quit", 4)) ? 0 :
			       send_bytes(w, buf, have);
		have += (size_t)n;
	}
}

static void cleanup(struct writer *w)
{
	const char *name = shmx_name(w->region);

	w->pair = shmx_pair_close(w->pair);
	shmx_pair_unlink(name);
	shmx_unlink(name);
	w->region = shmx_close(w->region);
}

static int finish(struct writer *w, int err)
{
	if (!err) {
		/* The end marker, then wait until the reader took it. */
		err = send_msg(w, "", 0, MSG_END);
		if (!err)
			err = get_turn(w);
	} else if (err == -EINTR) {
		/* Tell the reader the stream was cut, if it hands us the turn
		 * soon; it would otherwise see us vanish as if we had died. */
		if (!w->holding && shmx_pair_wait(w->pair, 200) == 0)
			w->holding = true;
		if (w->holding)
			send_msg(w, "", 0, MSG_END | MSG_ABORT);
	}
	if (err == -EOWNERDEAD)
		fprintf(stderr, "writer: reader died (%s)\n", shmx_strerror(err));
	else if (err == -ETIMEDOUT)
		fprintf(stderr, "writer: no reader showed up within %d ms\n", w->timeout_ms);
	else if (err == -EINTR)
		fprintf(stderr, "writer: interrupted, removing %s\n", shmx_name(w->region));
	else if (err)
		fprintf(stderr, "writer: %s\n", shmx_strerror(err));
	cleanup(w);
	if (err == -EINTR)
		return 128 + stop;
	return err ? 1 : 0;
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Send standard input to a reader through POSIX shared memory.\n\n"
		"  -n, --name NAME     region name (default /shmx-demo)\n"
		"  -s, --size SIZE     region size, K/M suffixes (default 64K)\n"
		"  -t, --timeout MS    wait this long for a reader (default 5000, -1 forever)\n"
		"  -l, --lines         one message per line; the line \"quit\" ends\n"
		"  -h, --help          show this help\n", argv0);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	if (*end == 'K' || *end == 'k') {
		v <<= 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v <<= 20;
		end++;
	}
	if (*end || v <= sizeof(struct msg) || v > ((size_t)1 << 30))
		return -1;
	*out = (size_t)v;
	return 0;
}

static int start(struct writer *w, const char *name, size_t size)
{
	int err = shmx_create(name, size, SHMX_MAP, 0600, &w->region);

	if (err) {
		fprintf(stderr, "writer: cannot create %s: %s\n", name, shmx_strerror(err));
		if (err == -EEXIST)
			fprintf(stderr, "writer: another writer runs, or a dead one left it"
				" (remove it with: shmx rm %s)\n", name);
		return err;
	}
	err = shmx_pair_create(w->region, SHMX_PAIR_WRITER, 0600, &w->pair);
	if (err) {
		fprintf(stderr, "writer: cannot create the semaphores of %s: %s\n", name,
			shmx_strerror(err));
		shmx_unlink(name);
		w->region = shmx_close(w->region);
		return err;
	}
	w->msg = shmx_addr(w->region);
	w->max = size - sizeof(struct msg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "lines", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };  /* no SA_RESTART */
	struct writer w = { .timeout_ms = 5000 };
	const char *name = "/shmx-demo";
	size_t size = 64 * 1024;
	bool by_line = false;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "n:s:t:lh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 's':
			if (parse_size(optarg, &size) == 0)
				break;
			fprintf(stderr, "writer: bad size '%s'\n", optarg);
			return 2;
		case 't':
			w.timeout_ms = (int)strtol(optarg, &end, 10);
			if (*optarg && !*end && w.timeout_ms >= -1)
				break;
			fprintf(stderr, "writer: bad timeout '%s'\n", optarg);
			return 2;
		case 'l':
			by_line = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "writer: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (start(&w, name, size))
		return 1;
	return finish(&w, by_line ? lines(&w) : stream(&w));
}
