/* SPDX-License-Identifier: MIT */
/* What the semaphore pair tests share (pair-util.h). */
#include <errno.h>
#include <stdio.h>

#include "pair-util.h"

struct shmx_region *region(const char *name, bool create)
{
	struct shmx_region *r = NULL;

	if (create)
		assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
	else
		assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	return r;
}

uint32_t holders(const char *name)
{
	char ctl[300];
	struct shmx_info info;
	int err;

	/* The region itself carries no slot of its pair (shmx(7), "The
	 * turn"): a pair made again on it must not see the old one's. */
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, 0);
	snprintf(ctl, sizeof(ctl), "%s.shmx-p", name);
	err = shmx_stat(ctl, &info);
	if (err == -ENOENT)
		return 0;
	assert_int_equal(err, 0);
	return info.holders;
}
