/* SPDX-License-Identifier: MIT */
/* shmx recv: what shmx send (or a program speaking its format) sends, to
 * standard output, from a channel or from a region and its semaphore pair
 * (--pair). The receiver never removes anything: the sender owns names.
 * A channel of several producers carries one stream per producer: it ends
 * with the last of their end markers. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "shmx-tool.h"

struct receiver {
	char name[NAME_BUF];
	int timeout_ms;         /* for the sender to show up */
	bool pair;
	uint32_t producers;     /* end markers that end the stream */
	uint32_t ends;          /* end markers so far */
	uint64_t lost;          /* messages lost so far, as reported */
	int64_t lost_ms;        /* when that was reported */
};

#define LOST_EVERY_MS 1000      /* a receiver that keeps falling behind */

/* ---- channel ---- */

/* Overwritten before we read them: say how many, and go on with the
 * oldest message still there. A receiver that keeps falling behind hears
 * of it once a second, not at every message. */
static void report_lost(struct receiver *rc, const struct shmx_chan *c)
{
	ssize_t lost = shmx_chan_lost(c);

	if (lost < 0 || (uint64_t)lost <= rc->lost)
		return;
	if (rc->lost && stream_now_ms() - rc->lost_ms < LOST_EVERY_MS)
		return;
	rc->lost_ms = stream_now_ms();
	op_errorf(rc->name, "lost %" PRIu64 " messages", (uint64_t)lost - rc->lost);
	rc->lost = (uint64_t)lost;
}

/* Messages until the end marker of every producer; -EPIPE (all closed,
 * some without it) means a sender was cut short. The stop flag is looked
 * at before every message: a stream that never pauses must not outlast a
 * SIGTERM. */
static int chan_receive(struct receiver *rc, struct shmx_chan *c)
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
		if (n == -ETIMEDOUT || n == -ENOBUFS) {
			report_lost(rc, c);
			continue;
		}
		if (n == 0 && ++rc->ends < rc->producers)
			continue;
		if (n <= 0) {
			err = n == -EPIPE ? -ECANCELED : (int)n;
			break;
		}
		err = stream_write(buf, (size_t)n);
	}
	if (shmx_chan_lost(c) > 0)
		rc->lost = (uint64_t)shmx_chan_lost(c);
	free(buf);
	return err;
}

/* The number of producers, from the header, before attaching: the sender
 * removes the name once every slot is taken, ours included. */
static int chan_open(struct receiver *rc, struct shmx_chan **c)
{
	int64_t start = stream_now_ms();
	struct shmx_chan_info ci;
	int err, left;

	for (;;) {
		err = shmx_chan_stat(rc->name, &ci);
		if (err != -ENOENT && err != -EAGAIN)
			break;
		if (stream_stop)
			return -EINTR;
		if (rc->timeout_ms >= 0 && stream_now_ms() - start >= rc->timeout_ms)
			return -ETIMEDOUT;
		stream_nap();
	}
	if (err)
		return err;
	rc->producers = ci.producers;
	left = rc->timeout_ms;
	if (left >= 0)
		left = left > stream_now_ms() - start ? left - (int)(stream_now_ms() - start) : 0;
	return stream_chan_open(rc->name, SHMX_CHAN_CONSUMER, left, c);
}

/* The end, and what went missing on the way. */
static int chan_report(const struct receiver *rc, int err)
{
	if (rc->lost)
		op_errorf(rc->name, "%s; %" PRIu64 " messages lost in all (overwritten "
			  "before they were read)", err ? "stream cut" : "end of stream",
			  rc->lost);
	if ((err == -ECANCELED || err == -EOWNERDEAD) && rc->producers > 1) {
		op_errorf(rc->name, "%" PRIu32 " of %" PRIu32 " senders ended their stream; %s",
			  rc->ends, rc->producers, err == -EOWNERDEAD ?
			  "a sender died (Peer process died)" : "the others left before the end");
		return EXIT_FAIL;
	}
	err = stream_report("receiver", "sender", rc->name, rc->timeout_ms, err);
	return !err && rc->lost ? EXIT_LOST : err;
}

static int chan_run(struct receiver *rc)
{
	struct shmx_chan *c;
	int err;

	err = chan_open(rc, &c);
	if (!err) {
		err = chan_receive(rc, c);
		shmx_chan_close(c);
	}
	return chan_report(rc, err);
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
	while ((c = next_opt(argc, argv, ":pt:h", longs)) != -1) {
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
	struct receiver rc = { .timeout_ms = 5000, .producers = 1 };
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
	"A channel of several producers (shmx send --producers M) ends once each\n"
	"has ended its stream. On a channel of the overwrite policy, messages that\n"
	"were overwritten before they could be read are reported (\"lost N messages\")\n"
	"and the stream goes on.\n"
	"\n"
	"Exit status: 0 at the end of the stream, 1 if the sender died, was\n"
	"interrupted or never came, 3 at the end of a stream that lost messages,\n"
	"128+N after signal N.\n",
};
