/* SPDX-License-Identifier: MIT */
/* Fuzz target: a consumer attached to a region snapshot a hostile or buggy
 * producer could have left. Input: one control byte, then bytes laid over
 * the header's fixed part (1024 bytes), the ring (4096) and the slot
 * blocks after the fixed part (3072) of a real channel object in
 * /dev/shm. The consumer may get errors, never a crash, an out-of-bounds
 * access or a hang (every call here uses timeout 0).
 * Control bits: 1 = keep the identity fields valid (so the fuzzer spends
 * its time on indices, slots and records), in the shape bits 4 and 8 say:
 * 0 one producer and one consumer, 4 a broadcast (3 consumer slots),
 * 8 overwrite (2 consumer slots), 12 three producers; 2 = the producers
 * alive (their slots held), 16 = the first consumer slot held by another
 * consumer (a broadcast's fuzzed consumer then takes another). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "fuzz.h"

#define CAP 4096u

static const struct {
	uint32_t producers, consumers, policy;
} shapes[4] = {
	{ 1, 1, SHMX__CHAN_POLICY_BLOCK },
	{ 1, 3, SHMX__CHAN_POLICY_BLOCK },
	{ 1, 2, SHMX__CHAN_POLICY_OVERWRITE },
	{ 3, 1, SHMX__CHAN_POLICY_BLOCK },
};

/* A message taken in place lies inside the ring of the handle's mapping. */
static void in_ring(struct shmx_chan *c, const void *p, ssize_t n)
{
	const unsigned char *ring = shmx_addr(shmx_chan_region(c));

	ring += SHMX__CHAN_HDR_SIZE;
	FUZZ_ASSERT((size_t)n <= shmx_chan_max_msg(c));
	FUZZ_ASSERT((const unsigned char *)p >= ring &&
		    (const unsigned char *)p + n <= ring + CAP);
}

static ssize_t take(struct shmx_chan *c, int i, unsigned char *buf)
{
	size_t lens[8];
	const void *p;
	ssize_t n;

	switch (i % 3) {
	case 0:
		n = shmx_chan_peek(c, &p, 0);
		if (n >= 0) {
			in_ring(c, p, n);
			/* every byte of the message is inside the ring */
			memcpy(buf, p, (size_t)n);
			n = shmx_chan_release(c);
			FUZZ_ASSERT(n == 0 || n == -ENOBUFS || n == -EBADMSG);
		}
		return n;
	case 1:
		n = shmx_chan_recv(c, buf, (i & 4) ? CAP : 16, 0);
		FUZZ_ASSERT(n < 0 || (size_t)n <= shmx_chan_max_msg(c));
		return n;
	default:
		n = shmx_chan_recv_batch(c, buf, (i & 4) ? CAP : 64, lens, 8, 0);
		FUZZ_ASSERT(n <= 8);
		for (ssize_t k = 0; k < n; k++)
			FUZZ_ASSERT(lens[k] <= shmx_chan_max_msg(c));
		return n;
	}
}

static void consume(const char *name)
{
	struct shmx_chan *c = NULL;
	struct shmx_chan_peer peers[8];
	struct shmx_chan_info info;
	unsigned char buf[CAP];
	ssize_t n;

	(void)shmx_chan_stat(name, &info);
	(void)shmx_chan_peers(name, peers, 8);
	if (shmx_chan_open(name, SHMX_CHAN_CONSUMER | SHMX_CHAN_SPIN, 0, &c) != 0)
		return;
	for (int i = 0; i < 64; i++) {
		(void)shmx_chan_used(c);
		(void)shmx_chan_pending(c);
		FUZZ_ASSERT(shmx_chan_lost(c) >= 0);
		n = take(c, i, buf);
		if (n < 0 && n != -EMSGSIZE && n != -ENOBUFS)
			break;
	}
	shmx_chan_close(c);
}

/* Other parties, as far as the consumer can tell: the owner, and maybe
 * the producers and a first consumer, each a lock on our own open file
 * description of the object. */
static int others(const char *name, unsigned ctl, const struct shmx__chan_hdr *h)
{
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	shmx__slot_lock(fd, SHMX_SLOT_OWNER);
	for (unsigned i = 0; (ctl & 2) && i < h->producers && i < SHMX__CHAN_MAX_PEERS; i++)
		shmx__slot_lock(fd, SHMX__CHAN_LOCK_PROD(i));
	if (ctl & 16)
		shmx__slot_lock(fd, SHMX__CHAN_LOCK_CONS(0));
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t slots = SHMX__CHAN_HDR_SIZE - sizeof(struct shmx__chan_hdr);
	struct shmx_region *r = NULL;
	struct shmx__chan_hdr *h;
	unsigned char *base;
	char name[64];
	unsigned ctl;
	size_t n;
	int fd;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	snprintf(name, sizeof(name), "/shmx-test-fuzz-%d", (int)getpid());
	shmx_unlink(name);
	if (shmx_create(name, SHMX__CHAN_HDR_SIZE + CAP, SHMX_MAP, 0, &r))
		return 0;
	base = shmx_addr(r);
	h = (struct shmx__chan_hdr *)base;
	n = size < sizeof(*h) ? size : sizeof(*h);
	memcpy(h, data, n);
	data += n;
	size -= n;
	n = size < CAP ? size : CAP;
	memcpy(base + SHMX__CHAN_HDR_SIZE, data, n);
	data += n;
	size -= n;
	memcpy(base + sizeof(*h), data, size < slots ? size : slots);
	if (ctl & 1) {
		unsigned s = (ctl >> 2) & 3;
		struct shmx__chan_geom g;

		FUZZ_ASSERT(shmx__chan_geometry(CAP, shapes[s].producers, shapes[s].consumers,
						shapes[s].policy, &g) == 0);
		FUZZ_ASSERT(g.header_size == SHMX__CHAN_HDR_SIZE);
		shmx__chan_write_header(h, &g);
	}
	fd = others(name, ctl, h);
	consume(name);
	if (fd >= 0)
		close(fd);
	shmx_close(r);
	shmx_unlink(name);
	return 0;
}
