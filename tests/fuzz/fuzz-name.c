/* SPDX-License-Identifier: MIT */
/* Fuzz target: name validation. Whatever the bytes, shmx__name either
 * rejects them or returns a canonical "/name" that the kernel can take. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static void check(const char *in, size_t max)
{
	char out[SHMX__NAME_BUF];
	size_t len;
	int err;

	memset(out, 0x7e, sizeof(out));
	err = shmx__name(in, max, out);
	if (err) {
		FUZZ_ASSERT(err == -EINVAL || err == -ENAMETOOLONG);
		FUZZ_ASSERT((unsigned char)out[0] == 0x7e);
		return;
	}
	len = strlen(out);
	FUZZ_ASSERT(out[0] == '/');
	FUZZ_ASSERT(len >= 2 && len - 1 <= max);
	FUZZ_ASSERT(!strchr(out + 1, '/'));
	FUZZ_ASSERT(strcmp(out, "/.") && strcmp(out, "/.."));
	/* never one of glibc's semaphore files */
	FUZZ_ASSERT(strncmp(out, "/sem.", 5));
	for (size_t i = 1; i < len; i++)
		FUZZ_ASSERT((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	/* canonical form is a fixed point */
	{
		char again[SHMX__NAME_BUF];

		FUZZ_ASSERT(shmx__name(out, max, again) == 0);
		FUZZ_ASSERT(!strcmp(out, again));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	check(s, SHMX_NAME_MAX);
	check(s, SHMX_NAME_MAX - 4);
	check(s, SHMX_PAIR_NAME_MAX);
	check(s, 1);
	free(s);
	return 0;
}
