/* cc chan-producer.c $(pkg-config --cflags --libs libshmx) -o chan-producer */
/* SPDX-License-Identifier: MIT */
/* Create a channel and send each line of stdin as one message (or --count
 * generated ones); run chan-consumer with the same name to print them.
 * --consumers N: N chan-consumers each print every line (broadcast).
 * --producers M: M chan-producers feed it; the first creates, the others join. */
#define _DEFAULT_SOURCE /* usleep */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmx.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: chan-producer [--count N] [--consumers N] [--producers M]\n"
		   "                     [--policy block|overwrite] [NAME]\n"
		   "Create channel NAME (default /shmx-chan-example), or join it as one of\n"
		   "its M producers, and send stdin's lines, or N generated messages, to\n"
		   "the chan-consumers. overwrite: never wait, a slow consumer loses some.\n");
}

/* A broadcast consumer gets only what is sent after it attached, and the
 * last producer to close ends the stream: start once every slot was taken
 * (generation: attaches so far), for 10 s at most. */
static int wait_for_all(const char *name)
{
	struct shmx_chan_peer p[2 * SHMX_CHAN_MAX_PEERS];
	int n, i, seen, tries;

	for (tries = 0; tries < 1000; tries++) {
		n = shmx_chan_peers(name, p, 2 * SHMX_CHAN_MAX_PEERS);
		if (n < 0)
			return n;
		for (i = 0, seen = 0; i < n; i++)
			seen += p[i].generation > 0;
		if (seen == n)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	struct shmx_chan_params p = { .capacity = 1 << 16 };
	const char *name = "/shmx-chan-example";
	long count = -1, i;
	struct shmx_chan *c;
	char line[4096];
	int err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--consumers") && i + 1 < argc) {
			p.consumers = (uint32_t)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--producers") && i + 1 < argc) {
			p.producers = (uint32_t)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
			p.policy = !strcmp(argv[++i], "overwrite") ? SHMX_CHAN_POLICY_OVERWRITE
								   : SHMX_CHAN_POLICY_BLOCK;
		} else if (argv[i][0] != '-') {
			name = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	err = shmx_chan_create_params(name, &p, SHMX_CHAN_PRODUCER, 0600, &c);
	if (err == -EEXIST && p.producers > 1)  /* another producer made it: join */
		err = shmx_chan_open(name, SHMX_CHAN_PRODUCER, 1000, &c);
	if (!err && (p.consumers > 1 || p.producers > 1)) {
		err = wait_for_all(name);
		if (err) {
			c = shmx_chan_close(c);
			shmx_chan_unlink(name);
		}
	}
	if (err) {
		fprintf(stderr, "chan-producer: %s: %s\n", name, shmx_strerror(err));
		return 1;
	}
	/* Without a consumer the ring fills and send waits: -1 = no timeout,
	 * but a consumer that dies or leaves is still reported. */
	for (i = 0; !err && (count < 0 ? fgets(line, sizeof(line), stdin) != NULL : i < count);
	     i++) {
		if (count >= 0)
			snprintf(line, sizeof(line), "message %ld\n", i);
		err = shmx_chan_send(c, line, strlen(line), -1);
	}
	if (err)
		fprintf(stderr, "chan-producer: send: %s\n", shmx_strerror(err));
	/* Closing tells the consumers "no more" once every producer has (they
	 * get -EPIPE once they have read everything); they remove the name. */
	shmx_chan_close(c);
	return err ? 1 : 0;
}
