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

int shmx__chan_geometry(uint64_t capacity, uint32_t producers, uint32_t consumers,
			uint32_t policy, struct shmx__chan_geom *g)
{
	if (capacity < SHMX__CHAN_MIN_CAP || capacity > SHMX__CHAN_MAX_CAP ||
	    (capacity & (capacity - 1)))
		return -EINVAL;
	if (!producers || producers > SHMX__CHAN_MAX_PEERS || !consumers ||
	    consumers > SHMX__CHAN_MAX_PEERS)
		return -EINVAL;
	/* Overwriting takes one producer: a record another producer reserved
	 * a ring ago and has not committed cannot be written over without
	 * waiting for it, and an overwriting producer never waits. */
	if (policy > SHMX__CHAN_POLICY_OVERWRITE ||
	    (policy == SHMX__CHAN_POLICY_OVERWRITE && producers > 1))
		return -EINVAL;
	g->capacity = capacity;
	g->mask = capacity - 1;
	g->max_msg = shmx__chan_max_msg(capacity);
	g->header_size = shmx__chan_hdr_size(producers, consumers);
	g->producers = producers;
	g->consumers = consumers;
	g->policy = policy;
	return 0;
}

int shmx__chan_validate(const struct shmx__chan_hdr *h, uint64_t object_size,
			struct shmx__chan_geom *g)
{
	struct shmx__chan_geom v;

	if (h->magic != SHMX__CHAN_MAGIC)
		return -EBADMSG;
	if (h->abi != SHMX__CHAN_ABI)
		return -EPROTONOSUPPORT;
	if (shmx__chan_geometry(h->capacity, h->producers, h->consumers, h->policy, &v))
		return -EBADMSG;
	if (h->header_size != v.header_size || h->max_msg != v.max_msg ||
	    (h->flags & ~(SHMX__CHAN_FLAG_FENCES | SHMX__CHAN_FLAG_DIED)))
		return -EBADMSG;
	if (object_size < v.header_size || object_size - v.header_size < v.capacity)
		return -EBADMSG;
	*g = v;         /* only a header that is valid in every field */
	return 0;
}

/* The producer writes a record only where it fits before the ring's end
 * (a padding record fills the rest), so a valid record never wraps. A
 * reserved record is sized like the message it will be. */
int shmx__chan_record(const struct shmx__chan_geom *g, uint64_t pos, uint64_t word,
		      uint64_t *advance, int64_t *len)
{
	uint64_t room = g->capacity - (pos & g->mask), size;
	uint32_t tag = (uint32_t)(word >> 32), l = (uint32_t)word;
	bool busy = tag & SHMX__CHAN_TAG_BUSY;

	if (pos & (SHMX__CHAN_ALIGN - 1))
		return -EBADMSG;
	if (tag == SHMX__CHAN_TAG_PAD) {
		if (room == g->capacity || l != room - REC)
			return -EBADMSG;
		*advance = room;
		*len = -1;
		return 0;
	}
	if (tag == SHMX__CHAN_TAG_SKIP && g->producers > 1 && l <= room - REC &&
	    !(l & (SHMX__CHAN_ALIGN - 1))) {
		*advance = REC + l;
		*len = -1;
		return 0;
	}
	if (busy && (g->producers < 2 || ((tag >> 24) & 0x7f) >= g->producers))
		return -EBADMSG;
	if ((!busy && tag != SHMX__CHAN_TAG_MSG) || l > g->max_msg)
		return -EBADMSG;
	size = REC + align8(l);
	if (size > room)
		return -EBADMSG;
	*advance = size;
	*len = busy ? -2 : (int64_t)l;
	return 0;
}


void shmx__chan_write_header(struct shmx__chan_hdr *h, const struct shmx__chan_geom *g)
{
	h->abi = SHMX__CHAN_ABI;
	h->header_size = g->header_size;
	h->capacity = g->capacity;
	h->max_msg = g->max_msg;
	h->producers = g->producers;
	h->consumers = g->consumers;
	h->policy = g->policy;
	h->flags = 0;
	/* Everything above is visible before the magic that vouches for it. */
	__atomic_store_n(&h->magic, SHMX__CHAN_MAGIC, __ATOMIC_RELEASE);
}


void shmx__chan_read2(const uint32_t *seq, const uint64_t *a, const uint64_t *b,
		      uint64_t *va, uint64_t *vb)
{
	uint32_t s1, s2;
	unsigned tries;

	for (tries = 0;; tries++) {
		/* A seqlock read: the two words relaxed, between the acquire
		 * load of seq and the acquire fence before seq again. */
		s1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		*va = __atomic_load_n(a, __ATOMIC_RELAXED);
		*vb = __atomic_load_n(b, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(seq, __ATOMIC_RELAXED);
		if ((s1 == s2 && !(s1 & 1)) || tries > 100000)
			return;
		cpu_relax();
	}
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
