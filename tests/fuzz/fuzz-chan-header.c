/* SPDX-License-Identifier: MIT */
/* Fuzz target: channel header and record validation. Input: a header image
 * (up to its size), then the object size (8 bytes), then record words. Any
 * header that validates must describe a ring that fits the object; any
 * record that validates must lie inside the ring. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static void check_geometry(const struct shmx__chan_hdr *h, uint64_t size,
			   const struct shmx__chan_geom *g)
{
	FUZZ_ASSERT(g->capacity >= SHMX__CHAN_MIN_CAP);
	FUZZ_ASSERT(g->capacity <= SHMX__CHAN_MAX_CAP);
	FUZZ_ASSERT((g->capacity & (g->capacity - 1)) == 0);
	FUZZ_ASSERT(g->mask == g->capacity - 1);
	FUZZ_ASSERT(g->max_msg == shmx__chan_max_msg(g->capacity));
	FUZZ_ASSERT(g->max_msg + SHMX__CHAN_REC <= g->capacity);
	FUZZ_ASSERT(h->header_size == SHMX__CHAN_HDR_SIZE);
	FUZZ_ASSERT(SHMX__CHAN_HDR_SIZE + g->capacity <= size);
}

static void check_record(const struct shmx__chan_geom *g, uint64_t pos, uint64_t word)
{
	uint64_t adv = 0, off = pos & g->mask;
	int64_t len = 0;

	if (shmx__chan_record(g, pos, word, &adv, &len) != 0)
		return;
	FUZZ_ASSERT(adv > 0 && adv <= g->capacity);
	FUZZ_ASSERT(adv % SHMX__CHAN_ALIGN == 0);
	if (len < 0) {
		/* padding: runs exactly to the end of the ring */
		FUZZ_ASSERT(off + adv == g->capacity);
		return;
	}
	FUZZ_ASSERT((uint64_t)len <= g->max_msg);
	FUZZ_ASSERT(off + SHMX__CHAN_REC + (uint64_t)len <= g->capacity);
	FUZZ_ASSERT(adv >= SHMX__CHAN_REC + (uint64_t)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shmx__chan_hdr h;
	struct shmx__chan_geom g, untouched;
	uint64_t objsize = 0, word, pos = 0;
	size_t n = size < sizeof(h) ? size : sizeof(h);
	int err;

	memset(&h, 0, sizeof(h));
	memcpy(&h, data, n);
	data += n;
	size -= n;
	if (size >= 8) {
		memcpy(&objsize, data, 8);
		data += 8;
		size -= 8;
	}
	memset(&g, 0xa5, sizeof(g));
	untouched = g;
	err = shmx__chan_validate(&h, objsize, &g);
	if (err) {
		FUZZ_ASSERT(err == -EBADMSG || err == -EPROTONOSUPPORT);
		FUZZ_ASSERT(!memcmp(&g, &untouched, sizeof(g)));
		/* the records are still worth checking against a sane ring */
		g.capacity = 4096;
		g.mask = 4095;
		g.max_msg = shmx__chan_max_msg(4096);
	} else {
		check_geometry(&h, objsize, &g);
	}
	while (size >= 16) {
		memcpy(&pos, data, 8);
		memcpy(&word, data + 8, 8);
		pos &= ~(uint64_t)(SHMX__CHAN_ALIGN - 1);
		check_record(&g, pos, word);
		data += 16;
		size -= 16;
	}
	return 0;
}
