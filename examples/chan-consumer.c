/* cc chan-consumer.c $(pkg-config --cflags --libs libshmx) -o chan-consumer */
/* SPDX-License-Identifier: MIT */
/* Open a channel made by chan-producer and print every message until the
 * producers close it; a producer that died is an error (exit status 1).
 * Run several with chan-producer --consumers N: each prints every line. */
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
		       "waiting up to 10 s for chan-producer to create it; messages lost\n"
		       "to an overwriting producer are counted on stderr.\n");
		return 0;
	}
	if (argc > 1)
		name = argv[1];
	/* One consumer slot of several is taken; -EUSERS when none is free. */
	err = shmx_chan_open(name, SHMX_CHAN_CONSUMER, 10000, &c);
	if (err) {
		fprintf(stderr, "chan-consumer: %s: %s\n", name, shmx_strerror(err));
		return 1;
	}
	/* -ENOBUFS: the producer overwrote messages we had not read; the next
	 * call goes on with the oldest one still there. */
	while ((n = shmx_chan_recv(c, msg, sizeof(msg), -1)) >= 0 || n == -ENOBUFS)
		if (n > 0)
			fwrite(msg, 1, (size_t)n, stdout);
	if (shmx_chan_lost(c) > 0)
		fprintf(stderr, "chan-consumer: lost %zd messages\n", shmx_chan_lost(c));
	/* -EPIPE: every producer closed after its last message: a clean end. */
	if (n != -EPIPE)
		fprintf(stderr, "chan-consumer: %s\n", shmx_strerror((int)n));
	shmx_chan_close(c);
	shmx_chan_unlink(name);
	return n == -EPIPE ? 0 : 1;
}
