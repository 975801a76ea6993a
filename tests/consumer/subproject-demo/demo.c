/* SPDX-License-Identifier: MIT */
/* Uses libshmx built as a meson subproject: one region, one round trip.
 * The name is argv[1], or "/shmx-demo-<pid>". Prints OK on success. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <shmx.h>

int main(int argc, char **argv)
{
	struct shmx_region *r = NULL;
	char name[64];
	int err;

	if (argc > 1)
		snprintf(name, sizeof(name), "%s", argv[1]);
	else
		snprintf(name, sizeof(name), "/shmx-demo-%d", (int)getpid());
	err = shmx_create(name, 64, SHMX_MAP | SHMX_UNLINK_ON_CLOSE, 0, &r);
	if (err) {
		fprintf(stderr, "demo: shmx_create: %s\n", shmx_strerror(err));
		return 1;
	}
	memcpy(shmx_addr(r), "subproject", 11);
	err = strcmp(shmx_addr(r), "subproject");
	r = shmx_close(r);
	if (err)
		return 1;
	printf("OK libshmx %s\n", shmx_version());
	return 0;
}
