/* SPDX-License-Identifier: MIT */
/* shmx send: standard input into a channel (by default) or into a region
 * and its semaphore pair (--pair), for shmx recv or any program speaking
 * the same format (shmx(1), STREAMS). Binary-safe; --lines sends a line a
 * message. The sender creates the object unless told to open one, and
 * removes the names it created as soon as the receiver is attached (or at
 * the end when none came), so nothing is left whichever side dies. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmx-tool.h"

#define DEFAULT_SIZE (64 * 1024)
#define MIN_RING     64         /* shmx_chan_create(3) */
#define ABORT_WAIT_MS 200       /* for the turn that carries the abort marker */

struct sender {
	char name[NAME_BUF];
	uint64_t size;          /* ring or region bytes */
	int timeout_ms;         /* for a receiver to show up */
	int64_t start_ms;
	bool open, lines, pair;
	bool created, attached, removed;
	bool mid_line;          /* --lines: the last piece did not end a line */
	/* channel */
	struct shmx_chan *chan;
	/* pair */
	struct shmx_region *region;
	struct shmx_pair *pp;
	struct stream_frame *frame;
	unsigned turns;         /* from the 2nd on, a receiver took a message */
	bool holding;
};

static bool give_up(const struct sender *s)
{
	return !s->attached && s->timeout_ms >= 0 &&
	       stream_now_ms() - s->start_ms >= s->timeout_ms;
}

/* Once the receiver is attached, both sides hold all they need and the
 * names can go: nothing is left behind whichever side dies from then on. */
static void remove_names(struct sender *s)
{
	if (!s->created || s->removed)
		return;
	if (s->pair) {
		shmx_pair_unlink(s->name);
		shmx_unlink(s->name);
	} else {
		shmx_chan_unlink(s->name);
	}
	s->removed = true;
}

/* The end of input, or with --lines the line "quit". A line longer than a
 * message goes in pieces, and a piece that is not the start of a line is
 * data, whatever it holds. */
static bool at_end(struct sender *s, const char *buf, ssize_t n)
{
	bool quit = s->lines && !s->mid_line && n > 0 && stream_is_quit(buf, (size_t)n);

	s->mid_line = n > 0 && buf[n - 1] != '\n';
	return n <= 0 || quit;
}

static ssize_t read_input(struct sender *s, void *buf, size_t max)
{
	return s->lines ? stream_read_line(buf, max) : stream_read(buf, max);
}

/* ---- channel ---- */

static void chan_check_receiver(struct sender *s)
{
	struct shmx_chan_info info;

	if (s->attached || shmx_chan_stat(s->name, &info))
		return;
	s->attached = (info.holders & (1u << SHMX_SLOT_READER)) || info.received;
	if (s->attached)
		remove_names(s);
}

static int chan_put(struct sender *s, const void *buf, size_t len)
{
	int err;

	for (;;) {
		err = shmx_chan_send(s->chan, buf, len, STREAM_SLICE_MS);
		chan_check_receiver(s);
		if (err != -ETIMEDOUT)
			return err;
		if (stream_stop)
			return -EINTR;
		if (give_up(s))
			return -ETIMEDOUT;
	}
}

/* After the end marker: the data is in the ring; wait for someone to take
 * it before the name may go. */
static int chan_wait_receiver(struct sender *s)
{
	while (!s->attached && !stream_stop && !give_up(s)) {
		stream_nap();
		chan_check_receiver(s);
	}
	return s->attached ? 0 : stream_stop ? -EINTR : -ETIMEDOUT;
}

static int chan_send_all(struct sender *s)
{
	size_t max = shmx_chan_max_msg(s->chan);
	char *buf = malloc(max);
	ssize_t n;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err) {
		n = read_input(s, buf, max);
		if (at_end(s, buf, n)) {
			err = n < 0 ? (int)n : chan_put(s, "", 0);   /* "" = the end */
			break;
		}
		err = chan_put(s, buf, (size_t)n);
	}
	free(buf);
	return err ? err : chan_wait_receiver(s);
}

static int chan_run(struct sender *s)
{
	int err;

	if (s->open)
		err = stream_chan_open(s->name, SHMX_CHAN_PRODUCER, s->timeout_ms, &s->chan);
	else
		err = shmx_chan_create(s->name, (size_t)s->size, SHMX_CHAN_PRODUCER, 0600,
				       &s->chan);
	if (err)
		return stream_report("sender", "receiver", s->name, s->timeout_ms, err);
	s->created = !s->open;
	err = chan_send_all(s);
	/* Closing without the end marker tells the receiver we were cut. */
	s->chan = shmx_chan_close(s->chan);
	remove_names(s);
	return stream_report("sender", "receiver", s->name, s->timeout_ms, err);
}

/* ---- pair ---- */

/* Wait for our turn in slices (to notice a signal); give up after the
 * timeout only while no receiver has ever taken a message. */
static int pair_turn(struct sender *s)
{
	int err;

	while (!s->holding) {
		err = shmx_pair_wait(s->pp, STREAM_SLICE_MS);
		if (!err) {
			s->holding = true;
			if (!s->attached && (++s->turns > 1 || s->open)) {
				s->attached = true;
				remove_names(s);
			}
		} else if (err != -ETIMEDOUT) {
			return err;
		} else if (stream_stop) {
			return -EINTR;
		} else if (give_up(s)) {
			return -ETIMEDOUT;
		}
	}
	return 0;
}

static int pair_put(struct sender *s, size_t len, uint32_t flags)
{
	int err = pair_turn(s);

	if (err)
		return err;
	s->frame->len = (uint32_t)len;
	s->frame->flags = flags;
	err = shmx_pair_post(s->pp);
	if (!err)
		s->holding = false;
	return err;
}

/* Input is read straight into the region while we hold the turn. */
static int pair_send_all(struct sender *s)
{
	size_t max = shmx_size(s->region) - sizeof(*s->frame);
	ssize_t n;
	int err;

	for (;;) {
		err = pair_turn(s);
		if (err)
			return err;
		n = read_input(s, s->frame->data, max);
		if (n < 0)
			return (int)n;
		if (at_end(s, (char *)s->frame->data, n))
			break;
		err = pair_put(s, (size_t)n, 0);
		if (err)
			return err;
	}
	/* The end marker, then wait until the receiver took it. */
	err = pair_put(s, 0, STREAM_END);
	return err ? err : pair_turn(s);
}

/* Interrupted: tell the receiver, if it hands us the turn soon; it would
 * otherwise see us vanish as if we had died. */
static void pair_abort(struct sender *s)
{
	if (!s->holding && shmx_pair_wait(s->pp, ABORT_WAIT_MS) == 0)
		s->holding = true;
	if (s->holding)
		pair_put(s, 0, STREAM_END | STREAM_ABORT);
}

static int pair_start(struct sender *s)
{
	int err;

	if (s->open) {
		err = stream_pair_attach(s->name, SHMX_PAIR_WRITER, s->timeout_ms, &s->region,
					 &s->pp);
	} else {
		err = shmx_create(s->name, (size_t)s->size, SHMX_MAP, 0600, &s->region);
		if (!err && (err = shmx_pair_create(s->region, SHMX_PAIR_WRITER, 0600, &s->pp)))
			shmx_unlink(s->name);
		s->created = !err;
	}
	/* A region made elsewhere must hold a frame header and some data. */
	if (!err && shmx_size(s->region) <= sizeof(*s->frame))
		err = -EMSGSIZE;
	if (!err)
		s->frame = shmx_addr(s->region);
	return err;
}

static int pair_run(struct sender *s)
{
	int err = pair_start(s);

	if (!err)
		err = pair_send_all(s);
	if (err == -EINTR && s->frame)
		pair_abort(s);
	s->pp = shmx_pair_close(s->pp);
	remove_names(s);
	s->region = shmx_close(s->region);
	return stream_report("sender", "receiver", s->name, s->timeout_ms, err);
}

/* ---- command ---- */

/* Checked before anything is created: a ring is a power of two (64 bytes
 * to 4 GiB), a region holds the frame header and some data. */
static const char *size_error(const struct sender *s)
{
	if (s->pair)
		return s->size <= sizeof(struct stream_frame) ?
		       "a region needs more than 8 bytes (the frame header)" : NULL;
	if (s->size < MIN_RING || s->size > (UINT64_C(1) << 32) || (s->size & (s->size - 1)))
		return "a ring is a power of two from 64 bytes to 4G";
	return NULL;
}

static int send_args(int argc, char **argv, struct sender *s)
{
	static const struct option longs[] = {
		{ "pair", no_argument, NULL, 'p' },
		{ "open", no_argument, NULL, 'o' },
		{ "lines", no_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		HELP_OPT, END_OPT,
	};
	const char *size = NULL;
	int c;

	opt_reset();
	while ((c = next_opt(argc, argv, "pols:t:h", longs)) != -1) {
		switch (c) {
		case 'p': s->pair = true; break;
		case 'o': s->open = true; break;
		case 'l': s->lines = true; break;
		case 's':
			if (size_arg("size", optarg, false, &s->size))
				return EXIT_USAGE;
			size = optarg;
			break;
		case 't':
			if (timeout_arg(optarg, &s->timeout_ms))
				return EXIT_USAGE;
			break;
		case 'h': return show_help(cmd) ? EXIT_FAIL : -1;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return usage_error(optind < argc ? "unexpected argument '%s'" : "missing NAME%s",
				   optind < argc ? shown(argv[optind + 1]) : "");
	if (size && size_error(s))
		return usage_error("--size %s: %s", shown(size), size_error(s));
	return name_arg(argv[optind], s->name);
}

static int send_run(int argc, char **argv)
{
	struct sender s = { .size = DEFAULT_SIZE, .timeout_ms = 5000 };
	int err = send_args(argc, argv, &s);

	if (err)
		return err < 0 ? EXIT_SUCCESS : err;
	stream_signals();
	s.start_ms = stream_now_ms();
	return s.pair ? pair_run(&s) : chan_run(&s);
}

const struct command cmd_send = {
	.name = "send",
	.run = send_run,
	.synopsis = "send NAME [--pair] [--open] [--lines] [--size SIZE] [--timeout MS]",
	.help =
	"Send standard input to a receiver (shmx recv NAME) through a libshmx channel\n"
	"NAME, created now (ring of SIZE bytes, a power of two, default 64K) unless\n"
	"--open is given; any bytes, each read(2) becomes one message, an empty one\n"
	"ends the stream. The name is removed once the receiver has attached.\n"
	"\n"
	"  -p, --pair          a region of SIZE bytes and its semaphore pair instead\n"
	"  -o, --open          use an existing channel (or region and pair)\n"
	"  -l, --lines         one message per line; the line \"quit\" ends the stream\n"
	"  -s, --size SIZE     ring or region size (default 64K)\n"
	"  -t, --timeout MS    wait this long for a receiver (default 5000, -1 forever);\n"
	"                      once one is there, wait as long as it lives\n"
	"\n"
	"Exit status: 0 once everything was sent, 1 if the receiver died or never\n"
	"came, 128+N after signal N (the receiver is told the stream was cut).\n",
};
