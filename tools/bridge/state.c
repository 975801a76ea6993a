/* SPDX-License-Identifier: MIT */
/* shmx-bridge in: what it already delivered, so that a redelivery after a
 * crash is dropped. Before each send into the channel it records (stream
 * sequence, the producer slot's count before the send); the channel bumps
 * that count in the commit itself, so after a crash anywhere the count says
 * whether the recorded message went in. The record lives in a small file
 * mapped shared: a store survives the process's death (not the machine's,
 * and neither does the channel). Two records and a generation: one is
 * always whole. */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define BR_STATE_MAGIC 0x73686d7862726931ULL /* "shmxbri1" */

struct br_rec {
	uint64_t seq;           /* stream sequence about to be sent */
	uint64_t count;         /* producer count before it */
	uint64_t delivered;     /* last sequence known in before it */
};

struct br_state {
	uint64_t magic;
	uint64_t epoch;         /* the channel's incarnation */
	uint64_t gen;           /* rec[gen & 1] is the current one */
	struct br_rec rec[2];
};

int br_state_open(const char *path, uint64_t epoch, struct br_state **ret)
{
	struct br_state *s;
	int fd, err = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(*s)) < 0)
		err = -errno;
	s = err ? MAP_FAILED : mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				    MAP_SHARED, fd, 0);
	if (!err && s == MAP_FAILED)
		err = -errno;
	close(fd);
	if (err)
		return err;
	/* another channel, or a new file: nothing of it was delivered here */
	if (s->magic != BR_STATE_MAGIC || s->epoch != epoch) {
		*s = (struct br_state){ .magic = BR_STATE_MAGIC, .epoch = epoch };
		s->rec[0].count = UINT64_MAX;
	}
	*ret = s;
	return 0;
}

void br_state_close(struct br_state *s)
{
	if (s)
		munmap(s, sizeof(*s));
}

uint64_t br_state_delivered(const struct br_state *s, uint64_t count_now)
{
	const struct br_rec *r = &s->rec[__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) & 1];

	if (r->count != UINT64_MAX && count_now > r->count)
		return r->seq;
	return r->delivered;
}

void br_state_begin(struct br_state *s, uint64_t seq, uint64_t count)
{
	uint64_t g = s->gen;
	uint64_t delivered = br_state_delivered(s, count);
	struct br_rec *r = &s->rec[(g + 1) & 1];

	r->seq = seq;
	r->count = count;
	r->delivered = delivered;
	__atomic_store_n(&s->gen, g + 1, __ATOMIC_RELEASE);
}
