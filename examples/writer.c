/* cc writer.c $(pkg-config --cflags --libs libshmx) -o writer */
/* SPDX-License-Identifier: MIT */
/*
 * writer: the classic shared-memory write.c, done right. It creates a
 * region (0600, pages reserved, never an old object) and its semaphore
 * pair, hands each line of stdin to ./reader through it, sends an empty
 * line to end, and removes what it created. Every wait has a timeout and
 * reports a reader that died. Streams of any bytes: shmx send / shmx recv.
 *
 *   ./writer /chat < notes.txt        (and ./reader /chat elsewhere)
 */
#include <stdio.h>
#include <string.h>

#include <shmx.h>

#define SIZE    4096            /* one line at a time */
#define WAIT_MS 10000           /* how long the reader may take */

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "/shmx-demo";
	struct shmx_region *r;
	struct shmx_pair *p = NULL;
	char line[SIZE];
	int err, end = 0;

	if (argc > 1 && argv[1][0] == '-') {
		printf("usage: writer [NAME]  (lines of stdin to ./reader NAME)\n");
		return 0;
	}
	err = shmx_create(name, SIZE, SHMX_MAP, 0600, &r);
	if (err) {
		fprintf(stderr, "writer: %s: %s\n", name, shmx_strerror(err));
		return 1;
	}
	err = shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p);
	while (!err && !end) {
		/* Our turn: the region is free (the reader took the last line). */
		err = shmx_pair_wait(p, WAIT_MS);
		if (err)
			break;
		end = !fgets(line, sizeof(line), stdin);
		strcpy(shmx_addr(r), end ? "" : line);   /* "" tells the reader to stop */
		err = shmx_pair_post(p);
	}
	if (!err)       /* the reader has taken the empty line */
		err = shmx_pair_wait(p, WAIT_MS);
	if (err)
		fprintf(stderr, "writer: %s: %s\n", name, shmx_strerror(err));
	shmx_pair_close(p);
	shmx_pair_unlink(name);         /* the creator removes what it made */
	shmx_close(r);
	shmx_unlink(name);
	return err ? 1 : 0;
}
