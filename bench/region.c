/* SPDX-License-Identifier: MIT */
/* Region create + destroy: libshmx against the same steps by hand. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

/* ---- region create + destroy ---- */

static int region_setup(struct win *w)
{
	new_name(w->name[0], sizeof(w->name[0]), "");
	return 0;
}

static int region_shmx(struct win *w, long n)
{
	struct shmx_region *r;
	int err;

	for (long i = 0; i < n; i++) {
		err = shmx_create(w->name[0], 4096, 0, 0, &r);
		if (err)
			return err;
		shmx_close(r);
		err = shmx_unlink(w->name[0]);
		if (err)
			return err;
	}
	return 0;
}

/* What a careful user writes by hand: exclusive create, exact mode, size,
 * pages reserved, close, unlink; map says whether mmap/munmap is included. */
static int region_raw_one(const char *name, bool map)
{
	int fd, err = 0;

	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) || ftruncate(fd, 4096))
		err = -errno;
	if (!err)
		err = -posix_fallocate(fd, 0, 4096);
	if (!err && map) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			err = -errno;
		else
			munmap(p, 4096);
	}
	close(fd);
	if (shm_unlink(name) && !err)
		err = -errno;
	return err;
}

static int region_raw(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		int err = region_raw_one(w->name[0], false);

		if (err)
			return err;
	}
	return 0;
}

static int region_raw_map(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		int err = region_raw_one(w->name[0], true);

		if (err)
			return err;
	}
	return 0;
}

static void region_teardown(struct win *w)
{
	shm_unlink(w->name[0]);
}


/* ---- the items ---- */

const struct item item_region_shmx = { .kind = K_LOCAL, .setup = region_setup,
	.parent = region_shmx, .teardown = region_teardown };
const struct item item_region_raw = { .kind = K_LOCAL, .setup = region_setup,
	.parent = region_raw, .teardown = region_teardown };
const struct item item_region_raw_map = { .kind = K_LOCAL, .setup = region_setup,
	.parent = region_raw_map, .teardown = region_teardown };
