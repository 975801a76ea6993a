/* SPDX-License-Identifier: MIT */
/* Fuzz target: channel header and record validation. Input: a header image
 * (up to its size), then the object size (8 bytes), then record words. Any
 * header that validates must describe a ring that fits the object, with
 * slots and a policy in range; any record that validates must lie inside
 * the ring, and a reserved or skip record only where several producers
 * may store one. A header that does not validate still gives the records
 * a ring: its slot counts and policy, brought into range. */
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
	FUZZ_ASSERT(g->producers >= 1 && g->producers <= SHMX__CHAN_MAX_PEERS);
	FUZZ_ASSERT(g->consumers >= 1 && g->consumers <= SHMX__CHAN_MAX_PEERS);
	FUZZ_ASSERT(g->policy == SHMX__CHAN_POLICY_BLOCK ||
		    (g->policy == SHMX__CHAN_POLICY_OVERWRITE && g->producers == 1));
	FUZZ_ASSERT(g->producers == h->producers && g->consumers == h->consumers &&
		    g->policy == h->policy);
	/* every slot block lies in the header, the ring starts page-aligned */
	FUZZ_ASSERT(h->header_size == g->header_size);
	FUZZ_ASSERT(g->header_size >= SHMX__CHAN_SLOTS_AT +
		    SHMX__CHAN_SLOT_SIZE * (uint64_t)(g->producers + g->consumers));
	FUZZ_ASSERT(g->header_size % SHMX__CHAN_HDR_MIN == 0);
	FUZZ_ASSERT(g->header_size + g->capacity <= size);
}

static void check_record(const struct shmx__chan_geom *g, uint64_t pos, uint64_t word)
{
	uint64_t adv = 0, off = pos & g->mask;
	uint32_t tag = (uint32_t)(word >> 32);
	int64_t len = 0;

	if (shmx__chan_record(g, pos, word, &adv, &len) != 0)
		return;
	FUZZ_ASSERT(adv > 0 && adv <= g->capacity);
	FUZZ_ASSERT(adv % SHMX__CHAN_ALIGN == 0);
	FUZZ_ASSERT(off + adv <= g->capacity);
	if (len == -1 && tag == SHMX__CHAN_TAG_PAD) {
		/* padding: runs exactly to the end of the ring */
		FUZZ_ASSERT(off + adv == g->capacity);
		return;
	}
	if (len == -1) {
		/* the unused end of a short commit */
		FUZZ_ASSERT(tag == SHMX__CHAN_TAG_SKIP && g->producers > 1);
		return;
	}
	if (len == -2) {
		/* reserved by a producer slot there is */
		FUZZ_ASSERT(g->producers > 1 && (tag & SHMX__CHAN_TAG_BUSY));
		FUZZ_ASSERT(((tag >> 24) & 0x7f) < g->producers);
		FUZZ_ASSERT(adv == SHMX__CHAN_REC + ((word & 0xffffffffu) + 7) / 8 * 8);
		FUZZ_ASSERT((word & 0xffffffffu) <= g->max_msg);
		return;
	}
	FUZZ_ASSERT(len >= 0 && tag == SHMX__CHAN_TAG_MSG);
	FUZZ_ASSERT((uint64_t)len <= g->max_msg);
	FUZZ_ASSERT(off + SHMX__CHAN_REC + (uint64_t)len <= g->capacity);
	FUZZ_ASSERT(adv >= SHMX__CHAN_REC + (uint64_t)len);
}

/* A ring for the records of a header that did not validate. */
static void fallback_geometry(const struct shmx__chan_hdr *h, struct shmx__chan_geom *g)
{
	uint32_t producers = 1 + h->producers % SHMX__CHAN_MAX_PEERS;
	uint32_t policy = producers == 1 ? h->policy % 2 : SHMX__CHAN_POLICY_BLOCK;

	FUZZ_ASSERT(shmx__chan_geometry(4096, producers, 1 + h->consumers % SHMX__CHAN_MAX_PEERS,
					policy, g) == 0);
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
		fallback_geometry(&h, &g);
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
