/* SPDX-License-Identifier: MIT */
/* One-way streams that are not libshmx (pipe, Unix socket, a plain spin ring)
 * and memcpy: what the channel's throughput is compared with. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define BIG_SET (256 * MiB)     /* memcpy working set far beyond the caches */

static unsigned char *g_big_src, *g_big_dst;

/* ---- one-way streams over a pipe or a Unix socket ---- */

static int stream_send(struct win *w, long n)
{
	for (long i = 0; i < n; i++)
		if (write_full(w->fd[0], w->src, w->it->size))
			return -EIO;
	return 0;
}

/* One read per message (looping only on short reads), as a message-based
 * receiver would do. */
static int stream_recv(struct win *w, long n)
{
	for (long i = 0; i < n; i++)
		if (read_full(w->fd[1], w->buf, w->it->size))
			return -EIO;
	return 0;
}

/* ---- a plain spin ring with memcpy: what two cores can do at all ----
 * Fixed slots of the message size, head and tail on their own lines, each
 * side caching the other's index; no validation, no waiting but spinning.
 * A reference for the channel's streams, not a target. */

struct ring {
	_Alignas(64) atomic_ulong head;
	_Alignas(64) atomic_ulong tail;
	_Alignas(64) unsigned char data[];
};

/* The stream ring's size: the channel's, at least four messages. */
size_t stream_ring_bytes(const struct item *it)
{
	size_t cap = it->ring ? it->ring : opt.ring;

	while (cap < 4 * it->size)
		cap <<= 1;
	return cap;
}

static int ring_setup(struct win *w)
{
	int err = alloc_bufs(w);

	if (err)
		return err;
	w->ring_len = sizeof(struct ring) + stream_ring_bytes(w->it);
	w->ring = mmap(NULL, w->ring_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->ring == MAP_FAILED) {
		w->ring = NULL;
		return -errno;
	}
	return 0;
}

static int ring_send(struct win *w, long n)
{
	struct ring *r = w->ring;
	size_t len = w->it->size, slots = stream_ring_bytes(w->it) / len;
	unsigned long head = atomic_load_explicit(&r->head, memory_order_relaxed);

	for (long i = 0; i < n; i++, head++) {
		while (head - w->seq >= slots) {
			w->seq = atomic_load_explicit(&r->tail, memory_order_acquire);
			if (g_abort)
				return -EINTR;
			cpu_relax();
		}
		memcpy(r->data + (head % slots) * len, w->src, len);
		atomic_store_explicit(&r->head, head + 1, memory_order_release);
	}
	return 0;
}

static int ring_recv(struct win *w, long n)
{
	struct ring *r = w->ring;
	size_t len = w->it->size, slots = stream_ring_bytes(w->it) / len;
	unsigned long tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	for (long i = 0; i < n; i++, tail++) {
		while (w->seq == tail) {
			w->seq = atomic_load_explicit(&r->head, memory_order_acquire);
			cpu_relax();
		}
		memcpy(w->buf, r->data + (tail % slots) * len, len);
		clobber(w->buf);
		atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	}
	return 0;
}

static void ring_teardown(struct win *w)
{
	if (w->ring)
		munmap(w->ring, w->ring_len);
	free_bufs(w);
}

/* ---- memcpy ---- */

static int memcpy_setup(struct win *w)
{
	return alloc_bufs(w);
}

static int memcpy_run(struct win *w, long n)
{
	size_t len = w->it->size;

	for (long i = 0; i < n; i++) {
		memcpy(w->buf, w->src, len);
		clobber(w->buf);
	}
	return 0;
}

static void memcpy_teardown(struct win *w)
{
	free_bufs(w);
}

static int big_setup(struct win *w)
{
	(void)w;
	if (g_big_src)
		return 0;
	g_big_src = aligned_alloc(2 * MiB, BIG_SET);
	g_big_dst = aligned_alloc(2 * MiB, BIG_SET);
	if (!g_big_src || !g_big_dst)
		return -ENOMEM;
	memset(g_big_src, 0x5a, BIG_SET);
	memset(g_big_dst, 0, BIG_SET);
	return 0;
}

/* 1 MiB blocks walking through 256 MiB: every block comes from memory. */
static int big_run(struct win *w, long n)
{
	static size_t off;

	(void)w;
	for (long i = 0; i < n; i++) {
		memcpy(g_big_dst + off, g_big_src + off, MiB);
		clobber(g_big_dst);
		off = (off + MiB) % BIG_SET;
	}
	return 0;
}


/* ---- the items ---- */

const struct item item_sock_stream = { .kind = K_TPUT, .setup = sock_setup,
	.parent = stream_send, .child = stream_recv, .teardown = fd_teardown };
const struct item item_pipe_stream = { .kind = K_TPUT, .setup = pipe_setup,
	.parent = stream_send, .child = stream_recv, .teardown = fd_teardown };
const struct item item_plain_ring = { .kind = K_TPUT, .setup = ring_setup,
	.parent = ring_send, .child = ring_recv, .teardown = ring_teardown };
const struct item item_memcpy = { .kind = K_LOCAL, .setup = memcpy_setup,
	.parent = memcpy_run, .teardown = memcpy_teardown };
const struct item item_memcpy_big = { .kind = K_LOCAL, .size = MiB,
	.setup = big_setup, .parent = big_run };
