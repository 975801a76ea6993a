/* SPDX-License-Identifier: MIT */
/* The smallest program a user of the installed library writes:
 *   cc consumer.c $(pkg-config --cflags --libs libshmx) -o consumer
 * Creates a region, writes, reopens it read-only, reads back, unlinks.
 * The name is argv[1], or "/shmx-consumer-<pid>". Prints OK on success. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <shmx.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "consumer: %s: %s\n", what, shmx_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	static const char msg[] = "hello from the consumer";
	struct shmx_region *r = NULL;
	char name[64], buf[sizeof(msg)];
	ssize_t n;
	int err;

	if (argc > 1)
		snprintf(name, sizeof(name), "%s", argv[1]);
	else
		snprintf(name, sizeof(name), "/shmx-consumer-%d", (int)getpid());
	if (strcmp(shmx_version(), SHMX_VERSION_STRING))
		fprintf(stderr, "consumer: note: header %s, library %s\n",
			SHMX_VERSION_STRING, shmx_version());

	err = shmx_create(name, 4096, SHMX_MAP, 0600, &r);
	if (err)
		return fail("shmx_create", err);
	n = shmx_write(r, 100, msg, sizeof(msg));
	r = shmx_close(r);
	if (n != (ssize_t)sizeof(msg)) {
		shmx_unlink(name);
		return fail("shmx_write", n < 0 ? (int)n : -EIO);
	}

	err = shmx_open(name, SHMX_RDONLY | SHMX_MAP, &r);
	if (err) {
		shmx_unlink(name);
		return fail("shmx_open", err);
	}
	n = shmx_read(r, 100, buf, sizeof(buf));
	r = shmx_close(r);
	err = shmx_unlink(name);
	if (n != (ssize_t)sizeof(msg) || memcmp(buf, msg, sizeof(msg)))
		return fail("shmx_read", n < 0 ? (int)n : -EIO);
	if (err)
		return fail("shmx_unlink", err);
	err = shmx_open(name, 0, &r);
	if (err != -ENOENT)
		return fail("shmx_open after unlink", err ? err : -EEXIST);
	puts("OK");
	return 0;
}
