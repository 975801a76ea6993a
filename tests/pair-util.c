/* SPDX-License-Identifier: MIT */
/* What the semaphore pair tests share (pair-util.h). */
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
	struct shmx_info info;

	assert_int_equal(shmx_stat(name, &info), 0);
	return info.holders;
}
