/* SPDX-License-Identifier: MIT */
/* shmx recv: what shmx send (or a program speaking its format) sends, to
 * standard output, from a channel or from a region and its semaphore pair
 * (--pair). The receiver never removes anything: the sender owns names. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "shmx-tool.h"

struct receiver {
	char name[NAME_BUF];
	int timeout_ms;         /* for the sender to show up */
	bool pair;
};

/* ---- channel ---- */

/* Messages until the empty one; -EPIPE (closed without it) means the
 * sender was cut short. The stop flag is looked at before every message:
 * a stream that never pauses must not outlast a SIGTERM. */
static int chan_receive(struct shmx_chan *c)
{
	size_t max = shmx_chan_max_msg(c);
	char *buf = malloc(max ? max : 1);
	ssize_t n;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err) {
		if (stream_stop) {
			err = -EINTR;
			break;
		}
		n = shmx_chan_recv(c, buf, max, STREAM_SLICE_MS);
		if (n == -ETIMEDOUT)
			continue;
		if (n <= 0) {
			err = n == -EPIPE ? -ECANCELED : (int)n;
			break;
		}
		err = stream_write(buf, (size_t)n);
	}
	free(buf);
	return err;
}

static int chan_run(const struct receiver *rc)
{
	struct shmx_chan *c;
	int err;

	err = stream_chan_open(rc->name, SHMX_CHAN_CONSUMER, rc->timeout_ms, &c);
	if (!err) {
		err = chan_receive(c);
		shmx_chan_close(c);
	}
	return stream_report("receiver", "sender", rc->name, rc->timeout_ms, err);
}

/* ---- pair ---- */

/* Take turns until the end marker. The frame is read once and checked
 * against the region's size: the sender is another program. As in
 * chan_receive(), the stop flag is looked at every turn. */
static int pair_receive(struct shmx_region *r, struct shmx_pair *p)
{
	const struct stream_frame *f = shmx_addr(r);
	size_t max = shmx_size(r) - sizeof(*f);
	uint32_t len, flags;
	int err;

	if (shmx_size(r) <= sizeof(*f))
		return -EBADMSG;
	for (;;) {
		if (stream_stop)
			return -EINTR;
		err = shmx_pair_wait(p, STREAM_SLICE_MS);
		if (err == -ETIMEDOUT)
			continue;
		if (err)
			return err;
		len = f->len;
		flags = f->flags;
		if (len > max)
			return -EBADMSG;
		err = stream_write(f->data, len);
		if (!err)
			err = shmx_pair_post(p);
		if (err || (flags & STREAM_END))
			return err ? err : (flags & STREAM_ABORT) ? -ECANCELED : 0;
	}
}

static int pair_run(const struct receiver *rc)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	int err;

	err = stream_pair_attach(rc->name, SHMX_PAIR_READER, rc->timeout_ms, &r, &p);
	if (!err) {
		err = pair_receive(r, p);
		shmx_pair_close(p);
		shmx_close(r);
	}
	return stream_report("receiver", "sender", rc->name, rc->timeout_ms, err);
}

/* ---- command ---- */

static int recv_args(int argc, char **argv, struct receiver *rc)
{
	static const struct option longs[] = {
		{ "pair", no_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		HELP_OPT, END_OPT,
	};
	int c;

	opt_reset();
	while ((c = next_opt(argc, argv, "pt:h", longs)) != -1) {
		switch (c) {
		case 'p': rc->pair = true; break;
		case 't':
			if (timeout_arg(optarg, &rc->timeout_ms))
				return EXIT_USAGE;
			break;
		case 'h': return show_help(cmd) ? EXIT_FAIL : -1;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return usage_error(optind < argc ? "unexpected argument '%s'" : "missing NAME%s",
				   optind < argc ? shown(argv[optind + 1]) : "");
	return name_arg(argv[optind], rc->name);
}

static int recv_run(int argc, char **argv)
{
	struct receiver rc = { .timeout_ms = 5000 };
	int err = recv_args(argc, argv, &rc);

	if (err)
		return err < 0 ? EXIT_SUCCESS : err;
	stream_signals();
	return rc.pair ? pair_run(&rc) : chan_run(&rc);
}

const struct command cmd_recv = {
	.name = "recv",
	.run = recv_run,
	.synopsis = "recv NAME [--pair] [--timeout MS]",
	.help =
	"Write what shmx send NAME sends to standard output, byte for byte, until\n"
	"the end of its stream. Waits for the sender to create NAME; never removes\n"
	"anything.\n"
	"\n"
	"  -p, --pair          a region and its semaphore pair instead of a channel\n"
	"  -t, --timeout MS    wait this long for the sender (default 5000, -1 forever);\n"
	"                      once it is there, wait as long as it lives\n"
	"\n"
	"Exit status: 0 at the end of the stream, 1 if the sender died, was\n"
	"interrupted or never came, 128+N after signal N.\n",
};
