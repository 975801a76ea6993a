/* cc chan-producer.c $(pkg-config --cflags --libs libshmx) -o chan-producer */
/* SPDX-License-Identifier: MIT */
/* Create a channel and send each line of stdin as one message (or --count
 * generated ones); run chan-consumer with the same name to print them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmx.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: chan-producer [--count N] [NAME]\n"
		   "Create channel NAME (default /shmx-chan-example) and send stdin's\n"
		   "lines, or N generated messages, to a chan-consumer.\n");
}

int main(int argc, char **argv)
{
	const char *name = "/shmx-chan-example";
	long count = -1, i;
	struct shmx_chan *c;
	char line[4096];
	int err = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = atol(argv[++i]);
		} else if (argv[i][0] != '-') {
			name = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	err = shmx_chan_create(name, 1 << 16, SHMX_CHAN_PRODUCER, 0600, &c);
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
	/* Closing tells the consumer "no more" (it gets -EPIPE once it has
	 * read everything); the consumer removes the name. */
	shmx_chan_close(c);
	return err ? 1 : 0;
}
