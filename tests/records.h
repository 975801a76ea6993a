/* SPDX-License-Identifier: MIT */
/* The array of structs that the file interop tests exchange, as the
 * memory-mapped file tutorials lay it out: fixed-size records, native byte
 * order. Shared by file-tutorial.c (no libshmx) and test-file.c. */
#ifndef SHMX_TEST_RECORDS_H
#define SHMX_TEST_RECORDS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct record {
	int32_t id;
	int32_t count;
	double value;
	char name[24];
};

/* Record i as a writer with seed fills it. */
static inline void record_fill(struct record *r, int i, int seed)
{
	memset(r, 0, sizeof(*r));
	r->id = i;
	r->count = seed * 1000 + i;
	r->value = i * 1.5 + seed;
	snprintf(r->name, sizeof(r->name), "item-%d-%d", seed, i);
}

/* Whether record i is what record_fill() wrote with seed. */
static inline int record_ok(const struct record *r, int i, int seed)
{
	struct record want;

	record_fill(&want, i, seed);
	return !memcmp(r, &want, sizeof(want));
}

#endif
