/* SPDX-License-Identifier: MIT */
/* shmx-bridge: a local channel to NATS (out) or NATS to a local channel (in).
 * This file parses the command line, handles the signals and prints the
 * summary; the guarantees of each mode are in docs/man/shmx-bridge.1. */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t br_stop;
volatile sig_atomic_t br_report;

static const char usage[] =
"usage: shmx-bridge out --server URL[,URL...] --subject SUBJ [OPTIONS] CHANNEL\n"
"       shmx-bridge in  --server URL[,URL...] --subject SUBJ [OPTIONS] CHANNEL\n"
"\n"
"out consumes the local channel (one consumer slot) and publishes each message;\n"
"in subscribes and produces each message into the local channel.\n"
"Core NATS (default): at most once. JetStream (--jetstream): each message once\n"
"into the channel across restarts of either bridge and of servers (shmx-bridge(1)).\n"
"\n"
"  -s, --server LIST      NATS servers, comma-separated; reconnects to any of them\n"
"  -S, --subject SUBJ     the subject to publish on or subscribe to\n"
"  -j, --jetstream STREAM publish into / consume from this stream (created when\n"
"                         missing, with SUBJ as its only subject)\n"
"  -d, --durable NAME     in, JetStream: the durable consumer (required)\n"
"      --state FILE       in, JetStream: what was delivered (default\n"
"                         /tmp/shmx-bridge.STREAM.NAME.state)\n"
"      --replicas N       replicas of a stream this bridge creates (default 1)\n"
"      --dup-window SEC   duplicate window of a stream it creates (default 120)\n"
"      --ack-wait SEC     in, JetStream: redelivery delay of the consumer (default 5)\n"
"  -c, --create           in: create CHANNEL when it does not exist, with:\n"
"      --capacity BYTES   ring size, a power of two (default 1048576)\n"
"      --consumers N      consumer slots (default 1; more makes a broadcast)\n"
"      --policy P         block (default) or overwrite\n"
"  -n, --count N          stop after N messages (default: run until stopped)\n"
"  -t, --timeout MS       wait for the servers and the channel (default 5000)\n"
"      --send-asap        write each message to the server at once, not in the\n"
"                         client's batches: a shorter round trip, less throughput\n"
"      --stats            a progress line on stderr every second (also SIGUSR1)\n"
"  -h, --help             this text\n"
"\n"
"Exit: 0 done (--count reached, or out: the local producers left and the\n"
"channel is drained), 1 failure, 2 usage, 3 done but messages were dropped,\n"
"128+N stopped by signal N (after the summary line).\n";

__attribute__((format(printf, 1, 2)))
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shmx-bridge: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see shmx-bridge --help)\n");
	return BR_USAGE;
}

/* A subject is dot-separated tokens, none empty, no white space; only a
 * subscriber (in) may use the wildcards, each a whole token, ">" last. */
static bool subject_ok(const char *s, bool wild)
{
	size_t tok = 0;

	for (const char *p = s;; p++) {
		if (*p == '.' || !*p) {
			if (!tok)
				return false;
			if (!*p)
				return true;
			tok = 0;
			continue;
		}
		if (*p <= ' ' || *p == 0x7f)
			return false;
		if ((*p == '*' || *p == '>') &&
		    (!wild || tok || (p[1] && p[1] != '.') || (*p == '>' && p[1])))
			return false;
		tok++;
	}
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return false;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

enum { O_STATE = 256, O_REPLICAS, O_DUP, O_ACKWAIT, O_CAP, O_CONS, O_POLICY, O_STATS,
       O_ASAP };

static const struct option longopts[] = {
	{ "server", required_argument, NULL, 's' },
	{ "subject", required_argument, NULL, 'S' },
	{ "jetstream", required_argument, NULL, 'j' },
	{ "durable", required_argument, NULL, 'd' },
	{ "state", required_argument, NULL, O_STATE },
	{ "replicas", required_argument, NULL, O_REPLICAS },
	{ "dup-window", required_argument, NULL, O_DUP },
	{ "ack-wait", required_argument, NULL, O_ACKWAIT },
	{ "create", no_argument, NULL, 'c' },
	{ "capacity", required_argument, NULL, O_CAP },
	{ "consumers", required_argument, NULL, O_CONS },
	{ "policy", required_argument, NULL, O_POLICY },
	{ "count", required_argument, NULL, 'n' },
	{ "timeout", required_argument, NULL, 't' },
	{ "stats", no_argument, NULL, O_STATS },
	{ "send-asap", no_argument, NULL, O_ASAP },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* One option into o; BR_USAGE on a bad value. */
static int parse_one(struct br_opts *o, int ch, const char *arg)
{
	uint64_t v = 0;

	switch (ch) {
	case 's': o->servers = arg; return 0;
	case 'S': o->subject = arg; return 0;
	case 'j': o->stream = arg; return 0;
	case 'd': o->durable = arg; return 0;
	case O_STATE: o->state = arg; return 0;
	case 'c': o->create = true; return 0;
	case O_STATS: o->stats = true; return 0;
	case O_ASAP: o->send_asap = true; return 0;
	case O_POLICY:
		if (!strcmp(arg, "block"))
			o->shape.policy = SHMX_CHAN_POLICY_BLOCK;
		else if (!strcmp(arg, "overwrite"))
			o->shape.policy = SHMX_CHAN_POLICY_OVERWRITE;
		else
			return bad_usage("--policy: '%s' is not block or overwrite", arg);
		return 0;
	}
	if (!parse_u64(arg, &v))
		return bad_usage("'%s' is not a number", arg);
	switch (ch) {
	case O_REPLICAS: o->replicas = (int)v; return v >= 1 && v <= 5 ? 0 :
		bad_usage("--replicas %s: 1 to 5", arg);
	case O_DUP: o->dup_window_s = (int64_t)v; return v ? 0 :
		bad_usage("--dup-window %s: at least 1 second", arg);
	case O_ACKWAIT: o->ack_wait_s = (int64_t)v; return v ? 0 :
		bad_usage("--ack-wait %s: at least 1 second", arg);
	case O_CAP: o->shape.capacity = v; return 0;
	case O_CONS: o->shape.consumers = (uint32_t)v; return 0;
	case 'n': o->count = v; return 0;
	case 't': o->timeout_ms = (int)v; return v <= INT32_MAX ? 0 :
		bad_usage("--timeout %s: too large", arg);
	}
	return BR_USAGE;
}

static int parse(int argc, char **argv, struct br_opts *o)
{
	int ch, err;

	*o = (struct br_opts){ .replicas = 1, .dup_window_s = 120, .ack_wait_s = 5,
			       .timeout_ms = 5000, .shape.capacity = 1 << 20 };
	if (argc < 2)
		return bad_usage("%s", "out or in?");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		exit(0);
	}
	if (strcmp(argv[1], "out") && strcmp(argv[1], "in"))
		return bad_usage("'%s' is not out or in", argv[1]);
	o->out = !strcmp(argv[1], "out");
	optind = 2;
	while ((ch = getopt_long(argc, argv, "s:S:j:d:cn:t:h", longopts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(usage, stdout);
			exit(0);
		}
		if (ch == '?')
			return BR_USAGE;
		err = parse_one(o, ch, optarg);
		if (err)
			return err;
	}
	if (optind != argc - 1)
		return bad_usage("%s", "one CHANNEL name, please");
	o->channel = argv[optind];
	if (!o->servers || !o->subject)
		return bad_usage("%s", "--server and --subject are required");
	if (!subject_ok(o->subject, !o->out))
		return bad_usage("invalid subject '%s'", o->subject);
	if (!o->out && o->stream && !o->durable)
		return bad_usage("%s", "in --jetstream needs --durable NAME");
	return 0;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		br_report = 1;
	else
		br_stop = sig;
}

static void signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void br_progress(const struct br *b)
{
	const struct br_counts *n = &b->n;

	fprintf(stderr, "shmx-bridge %s: %" PRIu64 " messages, %" PRIu64 " bytes, %" PRIu64
		" drops, %" PRIu64 " duplicates dropped, %" PRIu64 " re-sent, %" PRIu64
		" reconnects\n", b->o.out ? "out" : "in", n->msgs, n->bytes, n->drops,
		n->dups, n->resent, n->reconnects);
}

void br_ready(struct br *b)
{
	char url[256] = "";

	natsConnection_GetConnectedUrl(b->nc, url, sizeof(url));
	fprintf(stderr, "shmx-bridge %s: %s %s %s, %s%s, via %s\n", b->o.out ? "out" : "in",
		b->o.channel, b->o.out ? "->" : "<-", b->o.subject,
		b->o.stream ? "jetstream " : "core nats", b->o.stream ? b->o.stream : "", url);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called by the loops between messages: a progress line when asked, and
 * whether to go on. */
bool br_running(struct br *b)
{
	static int64_t next;

	if (b->o.stats && now_ms() >= next) {
		next = now_ms() + 1000;
		br_report = 1;
	}
	if (br_report) {
		br_report = 0;
		br_progress(b);
	}
	return !br_stop && (!b->o.count || b->n.msgs < b->o.count);
}

int main(int argc, char **argv)
{
	struct br b = { 0 };
	int rc;

	rc = parse(argc, argv, &b.o);
	if (rc)
		return rc;
	signals();
	rc = br_connect(&b);
	if (!rc && b.o.stream)
		rc = br_stream_ensure(&b);
	if (!rc)
		rc = b.o.out ? br_out(&b) : br_in(&b);
	br_disconnect(&b);
	/* the client's threads and memory: nothing left for a leak checker */
	nats_Close();
	br_progress(&b);
	if (br_stop)
		return 128 + br_stop;
	if (!rc && b.n.drops)
		return BR_LOST;
	return rc;
}
