/* SPDX-License-Identifier: MIT */
/* The channel's shared format, checked: the header, a record word, the
 * distance between two indices. Pure functions of private copies (the
 * tests and fuzz targets call them directly). */
#define _GNU_SOURCE
#include <stdint.h>

#include "chan.h"

/* ---- validation (also used by the tests and fuzz targets) ---- */

uint64_t shmx__chan_max_msg(uint64_t capacity)
{
	return capacity / 2 - REC;
}

int shmx__chan_validate(const struct shmx__chan_hdr *h, uint64_t object_size,
			struct shmx__chan_geom *g)
{
	uint64_t cap = h->capacity;

	if (h->magic != SHMX__CHAN_MAGIC)
		return -EBADMSG;
	if (h->abi != SHMX__CHAN_ABI)
		return -EPROTONOSUPPORT;
	if (h->header_size != SHMX__CHAN_HDR_SIZE)
		return -EBADMSG;
	if (cap < SHMX__CHAN_MIN_CAP || cap > SHMX__CHAN_MAX_CAP || (cap & (cap - 1)))
		return -EBADMSG;
	if (object_size < SHMX__CHAN_HDR_SIZE || object_size - SHMX__CHAN_HDR_SIZE < cap)
		return -EBADMSG;
	if (h->max_msg != shmx__chan_max_msg(cap) || h->consumers != 1 || h->flags)
		return -EBADMSG;
	g->capacity = cap;
	g->mask = cap - 1;
	g->max_msg = h->max_msg;
	return 0;
}

/* The producer writes a record only where it fits before the ring's end
 * (a padding record fills the rest), so a valid record never wraps. */
int shmx__chan_record(const struct shmx__chan_geom *g, uint64_t pos, uint64_t word,
		      uint64_t *advance, int64_t *len)
{
	uint64_t room = g->capacity - (pos & g->mask), size;
	uint32_t tag = (uint32_t)(word >> 32), l = (uint32_t)word;

	if (pos & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	if (tag == SHMX__CHAN_TAG_PAD) {
		if (room == g->capacity || l != room - REC)
			return -EBADMSG;
		*advance = room;
		*len = -1;
		return 0;
	}
	if (tag != SHMX__CHAN_TAG_MSG || l > g->max_msg)
		return -EBADMSG;
	size = REC + align8(l);
	if (size > room)
		return -EBADMSG;
	*advance = size;
	*len = l;
	return 0;
}


void shmx__chan_write_header(struct shmx__chan_hdr *h, uint64_t capacity)
{
	h->abi = SHMX__CHAN_ABI;
	h->header_size = SHMX__CHAN_HDR_SIZE;
	h->capacity = capacity;
	h->max_msg = shmx__chan_max_msg(capacity);
	h->consumers = 1;
	h->flags = 0;
	/* Everything above is visible before the magic that vouches for it. */
	__atomic_store_n(&h->magic, SHMX__CHAN_MAGIC, __ATOMIC_RELEASE);
}


/* The consumer reads a record as soon as its word is stored, a moment
 * before the producer's head or sent counter catches up: a peer index that
 * is a little behind ours counts as "nothing", one far off as corrupt. */
ssize_t shmx__chan_distance(uint64_t ahead, uint64_t behind, uint64_t limit)
{
	uint64_t n = ahead - behind;

	if (n <= limit)
		return (ssize_t)n;
	return behind - ahead <= limit ? 0 : -EBADMSG;
}
