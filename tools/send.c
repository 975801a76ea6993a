/* SPDX-License-Identifier: MIT */
/* shmx send: standard input into a channel (by default) or into a region
 * and its semaphore pair (--pair), for shmx recv or any program speaking
 * the same format (shmx(1), STREAMS). Binary-safe; --lines sends a line a
 * message. The sender creates the object unless told to open one, and
 * removes the names it created as soon as every slot has been taken (or at
 * the end when some never were), so from then on nothing is left whichever
 * side dies; a sender killed before that leaves them, stale, for shmx gc.
 * It watches its receivers' processes (watch.c): a receiver that dies is
 * noticed within a slice, room in the ring or not, and it exits 0 only
 * once every receiver took the end marker.
 * A channel may have several consumers (each gets the whole stream) and
 * several producers (each sends its own stream and its own end marker).
 * The pair mode is in send-pair.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmx-tool.h"
#include "send.h"

#define DEFAULT_SIZE (64 * 1024)
#define MIN_RING     64         /* shmx_chan_create(3) */

bool expired(const struct sender *s)
{
	return s->timeout_ms >= 0 && stream_now_ms() - s->start_ms >= s->timeout_ms;
}

bool give_up(const struct sender *s)
{
	return !s->attached && expired(s);
}

/* Once the receiver is attached, both sides hold all they need and the
 * names can go: nothing is left behind whichever side dies from then on. */
void remove_names(struct sender *s)
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
bool at_end(struct sender *s, const char *buf, ssize_t n)
{
	bool quit = s->lines && !s->mid_line && n > 0 && stream_is_quit(buf, (size_t)n);

	s->mid_line = n > 0 && buf[n - 1] != '\n';
	return n <= 0 || quit;
}

ssize_t read_input(struct sender *s, void *buf, size_t max)
{
	return s->lines ? stream_read_line(buf, max) : stream_read(buf, max);
}

/* ---- channel ---- */

static bool broadcast(const struct sender *s)
{
	return s->shape.consumers > 1;
}

/* A broadcast consumer gets only what is sent after it attached, and an
 * overwriting producer runs over what nobody has read yet: both want the
 * consumers there first. A queue keeps what it holds for a late one. */
static bool wait_first(const struct sender *s)
{
	return !s->no_wait &&
	       (broadcast(s) || s->shape.policy == SHMX_CHAN_POLICY_OVERWRITE);
}

/* The names may go once as many parties attached as the channel has
 * slots: then every party that will ever come holds the channel. Attaches
 * are counted, not slots: a producer that is done frees its slot for the
 * next one. With --no-wait too: a receiver that comes late misses the start
 * of the stream, not all of it (shmx(1)); one that never comes is not
 * waited for (done_waiting()), and the names go at the end. */
static bool shape_complete(const struct sender *s, unsigned cons_seen)
{
	return s->prods_seen >= s->shape.producers && cons_seen >= s->shape.consumers;
}

/* A receiver that closed once the end marker may be in the ring may have
 * taken it: chan_drain() judges by what is left in the ring, not by how
 * the receiver ended. One that died is told as a death (shmx_chan_peers(3)
 * never says a closing peer died). */
static bool taken_end(const struct sender *s, int gone)
{
	return s->end_out && gone == -EPIPE;
}

/* Read the slots while it matters: whether the consumers we wait for are
 * there (s->attached; each time, so that the names go as soon as they
 * are), then, for a creator still waiting for producers, whether the names
 * can go (every LOOK_MS: the stream is flowing by then). */
static void chan_look(struct sender *s, bool now)
{
	struct shmx_chan_peer p[2 * SHMX_CHAN_MAX_PEERS];
	unsigned cons_now = 0, cons_seen = 0, prods = 0;
	int n, i, err;

	if (s->attached && (s->removed || !s->created))
		return;
	if (!now && s->attached && stream_now_ms() - s->looked_ms < LOOK_MS)
		return;
	s->looked_ms = stream_now_ms();
	n = shmx_chan_peers(s->name, p, sizeof(p) / sizeof(p[0]));
	/* Only the creator removes the name, once every slot was taken. */
	if (n == -ENOENT && !s->created)
		s->attached = true;
	for (i = 0; i < n; i++) {
		if (p[i].role == SHMX_CHAN_PRODUCER) {
			prods += p[i].generation;
		} else {
			cons_seen += p[i].generation;
			cons_now += p[i].state == SHMX_PEER_ATTACHED;
		}
	}
	if (n <= 0)
		return;
	err = watch_peers(&s->watch, s->name, p, n);
	if (err && !s->lost && !taken_end(s, err))
		s->lost = err;
	s->prods_seen = prods;
	if (!s->attached)
		s->attached = broadcast(s) ? cons_now == s->shape.consumers : cons_seen > 0;
	if (shape_complete(s, cons_seen))
		remove_names(s);
}

/* Whether a receiver is gone before the end of the stream (every LOOK_MS):
 * the one receiver of a queue ends the stream; of several, the others
 * still get it, and the exit status says that one did not. */
static int receivers_check(struct sender *s)
{
	int64_t now = stream_now_ms();

	if (now - s->checked_ms >= LOOK_MS) {
		s->checked_ms = now;
		/* ended: died, or closed (after the end marker, maybe
		 * with it: chan_drain() tells) */
		if (watch_ended(&s->watch) && !s->lost && !s->end_out)
			s->lost = -EOWNERDEAD;
	}
	return broadcast(s) ? 0 : s->lost;
}

static struct sender *idle_sender;

/* Waiting for input: look at the slots and the receivers. */
static int chan_idle(void)
{
	chan_look(idle_sender, false);
	return receivers_check(idle_sender);
}

static int chan_put(struct sender *s, const void *buf, size_t len)
{
	int err;

	for (;;) {
		err = shmx_chan_send(s->chan, buf, len, STREAM_SLICE_MS);
		chan_look(s, false);
		if (!err)
			err = receivers_check(s);
		if (err != -ETIMEDOUT)
			return err;
		if (stream_stop)
			return -EINTR;
		if (give_up(s))
			return -ETIMEDOUT;
	}
}

/* Until cond holds, looking at the slots; -ETIMEDOUT once the timeout
 * (from the start) has passed, -EINTR once stopped. */
static int chan_wait(struct sender *s, bool (*cond)(const struct sender *))
{
	for (;;) {
		chan_look(s, true);
		if (cond(s))
			return 0;
		if (stream_stop)
			return -EINTR;
		if (expired(s))
			return -ETIMEDOUT;
		stream_nap();
	}
}

static bool consumers_there(const struct sender *s)
{
	return s->attached;
}

/* The creator keeps the names until every slot was taken; anyone else
 * waits only for the receiver, as the data is in the ring. With --no-wait
 * on a broadcast nobody is waited for: the names go when we end. */
static bool done_waiting(const struct sender *s)
{
	return s->attached && (s->removed || !s->created || (s->no_wait && broadcast(s)));
}

/* After the end marker: until every receiver took it (nothing of ours is
 * left in the ring), or every watched receiver has ended without taking
 * it. With no receiver watched (no pidfds here; or a joining sender that
 * found the names gone, so never saw the slots), as before: the marker is
 * in the ring. */
static int chan_drain(struct sender *s)
{
	ssize_t left;

	for (;;) {
		left = shmx_chan_pending(s->chan);
		if (left <= 0)
			return (int)left;
		if (s->watch.blind || !s->watch.any)
			return 0;
		/* a receiver that ends now may have taken it: not s->lost */
		watch_ended(&s->watch);
		/* All ended: the last may have taken it just before. */
		if (!watch_count(&s->watch) && shmx_chan_pending(s->chan) != 0)
			return s->lost ? s->lost : -EOWNERDEAD;
		if (!watch_count(&s->watch))
			return 0;
		if (stream_stop)
			return -EINTR;
		stream_nap();
	}
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
			s->end_out = n >= 0;
			err = n < 0 ? (int)n : chan_put(s, "", 0);   /* "" = the end */
			break;
		}
		err = chan_put(s, buf, (size_t)n);
	}
	free(buf);
	return err;
}

/* What we joined: its shape, from its header. A name already gone was
 * removed by its creator, which does so once every slot was taken. */
static int chan_joined(struct sender *s)
{
	struct shmx_chan_info ci;
	int err = shmx_chan_stat(s->name, &ci);

	if (err == -ENOENT) {
		s->attached = true;
		return 0;
	}
	if (!err) {
		s->shape.producers = ci.producers;
		s->shape.consumers = ci.consumers;
		s->shape.policy = ci.policy;
	}
	return err;
}

static int chan_start(struct sender *s)
{
	int err;

	if (s->open) {
		err = stream_chan_open(s->name, SHMX_CHAN_PRODUCER, s->timeout_ms, &s->chan);
		/* the slots, to watch the receivers, before the names may go */
		if (!err)
			chan_look(s, true);
		if (!err)
			err = chan_joined(s);
		return err;
	}
	s->shape.capacity = (size_t)s->size;
	err = shmx_chan_create_params(s->name, &s->shape, SHMX_CHAN_PRODUCER, 0600, &s->chan);
	s->created = !err;
	return err;
}

/* Who never came when the wait ended. */
static const char *missing(const struct sender *s)
{
	return !s->attached ? "receiver" : "producer";
}

int chan_run(struct sender *s)
{
	int err;

	watch_init(&s->watch);
	idle_sender = s;
	stream_idle = chan_idle;
	err = chan_start(s);
	if (broadcast(s) && s->no_wait)
		s->attached = true;     /* nobody to wait for: none is owed the stream */
	if (!err && wait_first(s))
		err = chan_wait(s, consumers_there);
	if (!err)
		err = chan_send_all(s);
	if (!err)
		err = chan_wait(s, done_waiting);
	if (!err)
		err = chan_drain(s);
	if (!err)
		err = s->lost;
	watch_end(&s->watch);
	/* Closing without the end marker tells the receiver we were cut. */
	s->chan = shmx_chan_close(s->chan);
	remove_names(s);
	return stream_report("sender", err == -ETIMEDOUT ? missing(s) : "receiver", s->name,
			     s->timeout_ms, err);
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

/* The options of a channel's shape, against the others. */
static const char *shape_error(const struct sender *s)
{
	if (s->pair && (s->shaped || s->no_wait))
		return "--consumers, --producers, --policy and --no-wait are for a channel, "
		       "not --pair";
	if (s->open && s->shaped)
		return "--consumers, --producers and --policy shape a channel this sender "
		       "creates, not one it opens";
	if (s->shape.policy == SHMX_CHAN_POLICY_OVERWRITE && s->shape.producers > 1)
		return "--policy overwrite takes one producer (an overwriting producer "
		       "never waits, for another producer either)";
	return NULL;
}

static int policy_arg(const char *in, uint32_t *out)
{
	if (!strcmp(in, "block"))
		*out = SHMX_CHAN_POLICY_BLOCK;
	else if (!strcmp(in, "overwrite"))
		*out = SHMX_CHAN_POLICY_OVERWRITE;
	else
		return usage_error("invalid policy '%s' (block or overwrite)", shown(in));
	return 0;
}

enum { OPT_POLICY = 256, OPT_NO_WAIT, OPT_PRODUCER };

/* One option of a channel's shape: 0, or a usage error. */
static int shape_opt(struct sender *s, int c, const char *arg)
{
	s->shaped = true;
	switch (c) {
	case 'c': return count_arg("consumers", arg, SHMX_CHAN_MAX_PEERS, &s->shape.consumers);
	case 'P': return count_arg("producers", arg, SHMX_CHAN_MAX_PEERS, &s->shape.producers);
	default: return policy_arg(arg, &s->shape.policy);
	}
}

static int send_opts(int argc, char **argv, struct sender *s, const char **size)
{
	static const struct option longs[] = {
		{ "pair", no_argument, NULL, 'p' },
		{ "open", no_argument, NULL, 'o' },
		{ "producer", no_argument, NULL, OPT_PRODUCER },
		{ "lines", no_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "consumers", required_argument, NULL, 'c' },
		{ "producers", required_argument, NULL, 'P' },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
		HELP_OPT, END_OPT,
	};
	int c;

	opt_reset();
	while ((c = next_opt(argc, argv, ":pols:t:c:P:h", longs)) != -1) {
		switch (c) {
		case 'p': s->pair = true; break;
		case 'o': case OPT_PRODUCER: s->open = true; break;
		case 'l': s->lines = true; break;
		case OPT_NO_WAIT: s->no_wait = true; break;
		case 's':
			if (size_arg("size", optarg, false, &s->size))
				return EXIT_USAGE;
			*size = optarg;
			break;
		case 't':
			if (timeout_arg(optarg, &s->timeout_ms))
				return EXIT_USAGE;
			break;
		case 'c': case 'P': case OPT_POLICY:
			if (shape_opt(s, c, optarg))
				return EXIT_USAGE;
			break;
		case 'h': return show_help(cmd) ? EXIT_FAIL : -1;
		default: return EXIT_USAGE;
		}
	}
	return 0;
}

static int send_args(int argc, char **argv, struct sender *s)
{
	const char *size = NULL;
	int err = send_opts(argc, argv, s, &size);

	if (err)
		return err;
	if (optind != argc - 1)
		return usage_error(optind < argc ? "unexpected argument '%s'" : "missing NAME%s",
				   optind < argc ? shown(argv[optind + 1]) : "");
	if (size && size_error(s))
		return usage_error("--size %s: %s", shown(size), size_error(s));
	if (shape_error(s))
		return usage_error("%s", shape_error(s));
	return name_arg(argv[optind], s->name);
}

static int send_run(int argc, char **argv)
{
	struct sender s = {
		.size = DEFAULT_SIZE, .timeout_ms = 5000,
		.shape = { .producers = 1, .consumers = 1 },
	};
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
	.synopsis = "send NAME [OPTION]... < DATA",
	.help =
	"Send standard input to a receiver (shmx recv NAME) through a libshmx channel\n"
	"NAME, created now (ring of SIZE bytes, a power of two, default 64K) unless\n"
	"--open is given; any bytes, each read(2) becomes one message, an empty one\n"
	"ends the stream. The name is removed once every slot has been taken (a\n"
	"sender killed before that leaves it, stale, for shmx gc).\n"
	"\n"
	"  -p, --pair          a region of SIZE bytes and its semaphore pair instead\n"
	"  -o, --open          use an existing channel (or region and pair)\n"
	"      --producer      join an existing channel as one more of its producers\n"
	"                      (the same as --open, for a channel)\n"
	"  -l, --lines         one message per line; the line \"quit\" ends the stream\n"
	"  -s, --size SIZE     ring or region size (default 64K)\n"
	"  -t, --timeout MS    wait this long for a receiver (default 5000, -1 forever);\n"
	"                      once one is there, wait as long as it lives\n"
	"  -c, --consumers N   N receivers (1 to 64), each gets the whole stream\n"
	"  -P, --producers M   M senders (1 to 64): this one and M-1 with --producer;\n"
	"                      the stream ends once all M have ended theirs\n"
	"      --policy P      block (default): wait for the slowest receiver;\n"
	"                      overwrite: never wait, a slow receiver loses messages\n"
	"      --no-wait       send at once, without waiting for the N receivers\n"
	"\n"
	"Exit status: 0 once every receiver took the end of the stream, 1 if a\n"
	"receiver died (noticed within 0.1 s, waiting for input or not) or never\n"
	"came (or one of the M senders never joined), 128+N after signal N (the\n"
	"receiver is told the stream was cut).\n",
};
