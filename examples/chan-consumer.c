/* cc chan-consumer.c $(pkg-config --cflags --libs libshmx) -o chan-consumer */
/* SPDX-License-Identifier: MIT */
/* Open a channel made by chan-producer and print every message until the
 * producer closes it; a producer that died is an error (exit status 1). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <shmx.h>

int main(int argc, char **argv)
{
	const char *name = "/shmx-chan-example";
	struct shmx_chan *c;
	char msg[65536];
	ssize_t n;
	int err;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: chan-consumer [NAME]\n"
		       "Print the messages of channel NAME (default /shmx-chan-example),\n"
		       "waiting up to 10 s for chan-producer to create it.\n");
		return 0;
	}
	if (argc > 1)
		name = argv[1];
	err = shmx_chan_open(name, SHMX_CHAN_CONSUMER, 10000, &c);
	if (err) {
		fprintf(stderr, "chan-consumer: %s: %s\n", name, shmx_strerror(err));
		return 1;
	}
	while ((n = shmx_chan_recv(c, msg, sizeof(msg), -1)) >= 0)
		fwrite(msg, 1, (size_t)n, stdout);
	/* -EPIPE: the producer closed after its last message: a clean end. */
	if (n != -EPIPE)
		fprintf(stderr, "chan-consumer: %s\n", shmx_strerror((int)n));
	shmx_chan_close(c);
	shmx_chan_unlink(name);
	return n == -EPIPE ? 0 : 1;
}
