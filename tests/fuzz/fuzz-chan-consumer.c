/* SPDX-License-Identifier: MIT */
/* Fuzz target: a consumer attached to a region snapshot a hostile or buggy
 * producer could have left. Input: one control byte, then bytes laid over
 * the header (768) and the ring (4096) of a real channel object in
 * /dev/shm. The consumer may get errors, never a crash, an out-of-bounds
 * access or a hang (every call here uses timeout 0).
 * Control bits: 1 = keep the identity fields valid (so the fuzzer spends
 * its time on indices and records), 2 = producer alive (its slot held). */
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

static void consume(const char *name)
{
	struct shmx_chan *c = NULL;
	struct shmx_chan_info info;
	unsigned char buf[CAP];
	const void *p;
	ssize_t n;

	(void)shmx_chan_stat(name, &info);
	if (shmx_chan_open(name, SHMX_CHAN_CONSUMER | SHMX_CHAN_SPIN, 0, &c) != 0)
		return;
	for (int i = 0; i < 64; i++) {
		(void)shmx_chan_used(c);
		(void)shmx_chan_pending(c);
		if (i & 1) {
			n = shmx_chan_peek(c, &p, 0);
			if (n >= 0) {
				FUZZ_ASSERT((size_t)n <= shmx_chan_max_msg(c));
				/* every byte of the message is inside the ring */
				memcpy(buf, p, (size_t)n);
				FUZZ_ASSERT(shmx_chan_release(c) == 0);
			}
		} else {
			n = shmx_chan_recv(c, buf, (i & 2) ? sizeof(buf) : 16, 0);
			if (n >= 0)
				FUZZ_ASSERT((size_t)n <= shmx_chan_max_msg(c));
		}
		if (n < 0 && n != -EMSGSIZE)
			break;
	}
	shmx_chan_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shmx_region *r = NULL;
	struct shmx__chan_hdr *h;
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
	h = shmx_addr(r);
	n = size < sizeof(*h) ? size : sizeof(*h);
	memcpy(h, data, n);
	data += n;
	size -= n;
	memcpy((char *)h + SHMX__CHAN_HDR_SIZE, data, size < CAP ? size : CAP);
	if (ctl & 1)
		{
			struct shmx__chan_geom g;

			shmx__chan_geometry(CAP, 1, 1, 0, &g);
			shmx__chan_write_header(h, &g);
		}
	/* the owner (and maybe the producer) is another open file description
	 * of ours: alive as far as the consumer can tell */
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd >= 0) {
		shmx__slot_lock(fd, SHMX_SLOT_OWNER);
		if (ctl & 2)
			shmx__slot_lock(fd, SHMX_SLOT_WRITER);
	}
	consume(name);
	if (fd >= 0)
		close(fd);
	shmx_close(r);
	shmx_unlink(name);
	return 0;
}
