/* cc reader.c $(pkg-config --cflags --libs libshmx) -o reader */
/* SPDX-License-Identifier: MIT */
/*
 * reader: the classic shared-memory read.c, done right. It waits for
 * ./writer's region and semaphore pair, prints each line the writer hands
 * over until the empty one, and never removes anything (the writer owns
 * the names). A writer that died is reported, not waited for forever.
 *
 *   ./reader /chat                     (start it before or after the writer)
 */
#define _POSIX_C_SOURCE 200809L    /* strnlen, nanosleep */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <shmx.h>

#define WAIT_MS 10000           /* how long the writer may take */

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "/shmx-demo";
	const struct timespec pause = { 0, 10 * 1000 * 1000 };
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;
	const char *msg;
	int err, tries = 0;

	if (argc > 1 && argv[1][0] == '-') {
		printf("usage: reader [NAME]  (prints what ./writer NAME sends)\n");
		return 0;
	}
	do {    /* the writer may not have created everything yet */
		err = r ? 0 : shmx_open(name, SHMX_MAP, &r);
		if (!err)
			err = shmx_pair_open(r, SHMX_PAIR_READER, &p);
	} while (err == -ENOENT && ++tries < WAIT_MS / 10 && !nanosleep(&pause, NULL));
	while (!err && !(err = shmx_pair_wait(p, WAIT_MS))) {
		/* Our turn: the region holds a line. Bounded: it is shared. */
		msg = shmx_addr(r);
		if (!msg[0])
			break;
		fwrite(msg, 1, strnlen(msg, shmx_size(r)), stdout);
		err = shmx_pair_post(p);
	}
	if (!err)
		err = shmx_pair_post(p);        /* let the writer finish */
	if (err)
		fprintf(stderr, "reader: %s: %s\n", name, shmx_strerror(err));
	shmx_pair_close(p);
	shmx_close(r);
	return err ? 1 : 0;
}
