/* SPDX-License-Identifier: MIT */
/* shmx send: standard input into a channel (by default) or into a region
 * and its semaphore pair (--pair), for shmx recv or any program speaking
 * the same format (shmx(1), STREAMS). Binary-safe; --lines sends a line a
 * message. The sender creates the object unless told to open one, and
 * removes what it created. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmx-tool.h"

struct sender {
	char name[NAME_BUF];
	uint64_t size;          /* ring or region bytes */
	int timeout_ms;         /* for a receiver to show up */
	int64_t start_ms;
	bool open, lines, pair;
	bool created, attached;
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

/* ---- channel ---- */

/* Once the receiver is attached, the name can go: nothing is left behind
 * whichever side dies from then on. */
static void chan_check_receiver(struct sender *s)
{
	struct shmx_chan_info info;

	if (s->attached || shmx_chan_stat(s->name, &info))
		return;
	s->attached = (info.holders & (1u << SHMX_SLOT_READER)) || info.received;
	if (s->attached && s->created)
		shmx_chan_unlink(s->name);
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
		n = s->lines ? stream_read_line(buf, max) : stream_read(buf, max);
		if (n <= 0 || (s->lines && stream_is_quit(buf, (size_t)n))) {
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
		err = shmx_chan_open(s->name, SHMX_CHAN_PRODUCER, s->timeout_ms, &s->chan);
	else
		err = shmx_chan_create(s->name, (size_t)s->size, SHMX_CHAN_PRODUCER, 0600,
				       &s->chan);
	if (err)
		return op_error(s->name, err);
	s->created = !s->open;
	err = chan_send_all(s);
	/* Closing without the end marker tells the receiver we were cut. */
	s->chan = shmx_chan_close(s->chan);
	if (s->created && !s->attached)
		shmx_chan_unlink(s->name);
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
			s->attached = ++s->turns > 1 || s->open;
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
		n = s->lines ? stream_read_line((char *)s->frame->data, max) :
			       stream_read(s->frame->data, max);
		if (n < 0)
			return (int)n;
		if (n == 0 || (s->lines && stream_is_quit((char *)s->frame->data, (size_t)n)))
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
	if (!s->holding && shmx_pair_wait(s->pp, 200) == 0)
		s->holding = true;
	if (s->holding)
		pair_put(s, 0, STREAM_END | STREAM_ABORT);
}

static int pair_start(struct sender *s)
{
	int err;

	if (s->open) {
		err = shmx_open(s->name, SHMX_MAP, &s->region);
		if (!err)
			err = shmx_pair_open(s->region, SHMX_PAIR_WRITER, &s->pp);
	} else {
		err = shmx_create(s->name, (size_t)s->size, SHMX_MAP, 0600, &s->region);
		if (!err && (err = shmx_pair_create(s->region, SHMX_PAIR_WRITER, 0600, &s->pp)))
			shmx_unlink(s->name);
		s->created = !err;
	}
	if (!err && shmx_size(s->region) <= sizeof(*s->frame))
		err = -EMSGSIZE;
	if (!err)
		s->frame = shmx_addr(s->region);
	return err;
}

static int pair_run(struct sender *s)
{
	int err = pair_start(s);

	if (err) {
		s->pp = shmx_pair_close(s->pp);
		s->region = shmx_close(s->region);
		return op_error(s->name, err);
	}
	err = pair_send_all(s);
	if (err == -EINTR)
		pair_abort(s);
	s->pp = shmx_pair_close(s->pp);
	if (s->created) {
		shmx_pair_unlink(s->name);
		shmx_unlink(s->name);
	}
	s->region = shmx_close(s->region);
	return stream_report("sender", "receiver", s->name, s->timeout_ms, err);
}

/* ---- command ---- */

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
				   optind < argc ? argv[optind + 1] : "");
	return name_arg(argv[optind], s->name);
}

static int send_run(int argc, char **argv)
{
	struct sender s = { .size = 64 * 1024, .timeout_ms = 5000 };
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
