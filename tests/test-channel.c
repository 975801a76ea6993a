/* SPDX-License-Identifier: MIT */
/* Channels in one process: argument checks, sizes, zero-copy, queries,
 * roles, timeouts and try-mode, a peer that has not attached yet, what an
 * opener refuses, stat, and two threads on one channel (also run under
 * ThreadSanitizer: SHMX_TEST_FILTER=test_threads). Channels between
 * processes are test-channel-peers.c; a peer truncating one,
 * test-truncate.c. SHMX_TEST_SCALE (e.g. 0.01) shrinks the message counts
 * for sanitizers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "channel-util.h"

/* ---- timeouts, try-mode, sizes, roles ---- */

static void test_timeouts(void **state)
{
	static const unsigned modes[] = { 0, SHMX_CHAN_SPIN, SHMX_CHAN_BLOCK };
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };
	int64_t t0, dt;
	size_t i;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 256, P, 0, &tx), 0);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(shmx_chan_open(name, C | modes[i], 0, &rx), 0);
		t0 = tu_now_ms();
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 200), -ETIMEDOUT);
		dt = tu_now_ms() - t0;
		assert_true(dt >= 200);
		assert_true(dt < 5000);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
		const void *p;
		assert_int_equal(shmx_chan_peek(rx, &p, 0), -EAGAIN);
		rx = shmx_chan_close(rx);
	}
	/* Full ring, consumer attached but not reading. */
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	while (shmx_chan_send(tx, buf, 16, 0) == 0)
		;
	assert_int_equal(shmx_chan_send(tx, buf, 16, 0), -EAGAIN);
	void *w;
	assert_int_equal(shmx_chan_reserve(tx, 16, &w, 0), -EAGAIN);
	t0 = tu_now_ms();
	assert_int_equal(shmx_chan_send(tx, buf, 16, 200), -ETIMEDOUT);
	dt = tu_now_ms() - t0;
	assert_true(dt >= 200 && dt < 5000);
	/* Space comes back once the consumer reads. */
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 16);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 16);
	assert_int_equal(shmx_chan_send(tx, buf, 16, 1000), 0);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

static void test_sizes(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	size_t max;
	char *buf;
	void *w;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	max = shmx_chan_max_msg(tx);
	assert_int_equal(max, 4096 / 2 - 8);
	assert_int_equal(shmx_chan_max_msg(rx), max);
	buf = calloc(1, max + 1);
	assert_non_null(buf);
	assert_int_equal(shmx_chan_send(tx, buf, max + 1, 0), -EMSGSIZE);
	assert_int_equal(shmx_chan_send(tx, buf, SIZE_MAX, 0), -EMSGSIZE);
	assert_int_equal(shmx_chan_reserve(tx, max + 1, &w, 0), -EMSGSIZE);
	memset(buf, 'm', max);
	assert_int_equal(shmx_chan_send(tx, buf, max, 0), 0);
	assert_int_equal(shmx_chan_send(tx, NULL, 0, 0), 0);
	/* Too small a buffer: -EMSGSIZE, and the message stays. */
	assert_int_equal(shmx_chan_recv(rx, buf, max - 1, 0), -EMSGSIZE);
	assert_int_equal(shmx_chan_recv(rx, buf, 0, 0), -EMSGSIZE);
	memset(buf, 0, max);
	assert_int_equal(shmx_chan_recv(rx, buf, max, 0), (ssize_t)max);
	assert_true(buf[0] == 'm' && buf[max - 1] == 'm');
	assert_int_equal(shmx_chan_recv(rx, NULL, 0, 0), 0);
	free(buf);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

/* The largest message (shmx_chan_max_msg(3)) fits an empty ring wherever
 * the ring's position is, by send, reserve and batch, in every shape; and
 * the ring holds at most capacity - 8 bytes of records at once (the word
 * after the newest record stays free): 0-byte messages, 8 bytes each, fill
 * it exactly, and two of the largest size never fit together. */
static void fit_at(const struct shmx_chan_params *prm, size_t at)
{
	const char *name = tu_name();
	size_t cap = prm->capacity, max = cap / 2 - 8, k;
	struct shmx_chan *tx, *rx;
	struct iovec iov;
	char buf[256] = { 0 };
	void *w;

	assert_int_equal(shmx_chan_create_params(name, prm, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_max_msg(tx), max);
	for (k = 0; k < at; k += 8) {
		assert_int_equal(shmx_chan_send(tx, buf, 0, 0), 0);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 0);
	}
	assert_int_equal(shmx_chan_send(tx, buf, max, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, max, 0), (ssize_t)max);
	assert_int_equal(shmx_chan_reserve(tx, max, &w, 0), 0);
	assert_int_equal(shmx_chan_commit(tx, max), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, max, 0), (ssize_t)max);
	iov = (struct iovec){ buf, max };
	assert_int_equal(shmx_chan_send_batch(tx, &iov, 1, 0), 1);
	assert_int_equal(shmx_chan_recv(rx, buf, max, 0), (ssize_t)max);
	if (prm->policy == SHMX_CHAN_POLICY_BLOCK) {
		assert_int_equal(shmx_chan_send(tx, buf, max, 0), 0);
		assert_int_equal(shmx_chan_send(tx, buf, max, 0), -EAGAIN);
		assert_int_equal(shmx_chan_recv(rx, buf, max, 0), (ssize_t)max);
		for (k = 0; k < cap - 8; k += 8)
			assert_int_equal(shmx_chan_send(tx, buf, 0, 0), 0);
		assert_int_equal(shmx_chan_send(tx, buf, 0, 0), -EAGAIN);
		assert_int_equal(shmx_chan_used(tx), (ssize_t)(cap - 8));
	}
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
}

static void test_largest_message_fits(void **state)
{
	static const unsigned shapes[][3] = {
		{ 1, 1, 0 }, { 2, 1, 0 }, { 1, 2, 0 }, { 2, 2, 0 }, { 1, 1, 1 },
	};
	static const size_t caps[] = { 64, 128 };

	(void)state;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++)
			for (size_t at = 0; at < caps[c]; at += 8) {
				struct shmx_chan_params prm = {
					.capacity = caps[c], .producers = shapes[s][0],
					.consumers = shapes[s][1], .policy = shapes[s][2],
				};

				fit_at(&prm, at);
			}
}

static void test_zero_copy(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	const void *q, *q2;
	char buf[64];
	void *p;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_commit(tx, 0), -EINVAL);
	assert_int_equal(shmx_chan_reserve(tx, 100, &p, 0), 0);
	assert_true(((uintptr_t)p & 7) == 0);
	assert_int_equal(shmx_chan_reserve(tx, 10, &p, 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_send(tx, "x", 1, 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_commit(tx, 101), -EMSGSIZE);
	memcpy(p, "hello, ring", 11);
	/* Nothing visible before the commit. */
	assert_int_equal(shmx_chan_peek(rx, &q, 0), -EAGAIN);
	assert_int_equal(shmx_chan_commit(tx, 11), 0);
	assert_int_equal(shmx_chan_commit(tx, 0), -EINVAL);
	assert_int_equal(shmx_chan_release(rx), -EINVAL);
	assert_int_equal(shmx_chan_peek(rx, &q, 0), 11);
	assert_memory_equal(q, "hello, ring", 11);
	/* Peeking again shows the same message; recv waits for release. */
	assert_int_equal(shmx_chan_peek(rx, &q2, 0), 11);
	assert_ptr_equal(q, q2);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EINPROGRESS);
	assert_int_equal(shmx_chan_release(rx), 0);
	assert_int_equal(shmx_chan_release(rx), -EINVAL);
	assert_int_equal(shmx_chan_peek(rx, &q, 0), -EAGAIN);
	/* Round trips across the wrap point, mixing both paths. */
	for (int i = 0; i < 1000; i++) {
		size_t len = (size_t)(i * 37) % (shmx_chan_max_msg(tx) + 1);
		unsigned char *m;

		assert_int_equal(shmx_chan_reserve(tx, len, &p, 0), 0);
		fill(p, len, (uint64_t)i);
		assert_int_equal(shmx_chan_commit(tx, len), 0);
		assert_int_equal(shmx_chan_peek(rx, &q, 0), (ssize_t)len);
		m = (unsigned char *)q;
		assert_true(intact(m, len, (uint64_t)i));
		assert_int_equal(shmx_chan_release(rx), 0);
	}
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

static void test_queries(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_capacity(tx), 1024);
	assert_int_equal(shmx_chan_capacity(rx), 1024);
	assert_int_equal(shmx_chan_capacity(NULL), 0);
	assert_int_equal(shmx_chan_max_msg(NULL), 0);
	assert_int_equal(shmx_chan_used(NULL), -EINVAL);
	assert_int_equal(shmx_chan_pending(NULL), -EINVAL);
	assert_int_equal(shmx_chan_used(tx), 0);
	assert_int_equal(shmx_chan_pending(rx), 0);
	assert_int_equal(shmx_chan_send(tx, buf, 5, 0), 0);   /* record: 8 + 8 */
	assert_int_equal(shmx_chan_send(tx, buf, 16, 0), 0);  /* 8 + 16 */
	assert_int_equal(shmx_chan_send(tx, buf, 0, 0), 0);   /* 8 */
	assert_int_equal(shmx_chan_used(tx), 48);
	assert_int_equal(shmx_chan_used(rx), 48);
	assert_int_equal(shmx_chan_pending(tx), 3);
	assert_int_equal(shmx_chan_pending(rx), 3);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 5);
	assert_int_equal(shmx_chan_used(rx), 32);
	assert_int_equal(shmx_chan_pending(rx), 2);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 16);
	assert_int_equal(shmx_chan_used(tx), 8);
	assert_int_equal(shmx_chan_pending(tx), 1);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 0);
	assert_int_equal(shmx_chan_used(tx), 0);
	assert_int_equal(shmx_chan_pending(tx), 0);
	assert_int_equal(shmx_chan_used(rx), 0);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

static void test_roles(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx, *x = NULL;
	const void *q;
	char buf[8];
	void *p;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, C, 0, &rx), 0);
	/* One consumer at a time; the creator holds it. */
	assert_int_equal(shmx_chan_open(name, C, 0, &x), -EBUSY);
	assert_null(x);
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, P, 0, &x), -EBUSY);
	assert_int_equal(shmx_chan_open(name, P, 1000, &x), -EBUSY);
	assert_null(x);
	assert_int_equal(shmx_chan_recv(tx, buf, sizeof(buf), 0), -EBADF);
	assert_int_equal(shmx_chan_peek(tx, &q, 0), -EBADF);
	assert_int_equal(shmx_chan_release(tx), -EBADF);
	assert_int_equal(shmx_chan_send(rx, "x", 1, 0), -EBADF);
	assert_int_equal(shmx_chan_reserve(rx, 1, &p, 0), -EBADF);
	assert_int_equal(shmx_chan_commit(rx, 0), -EBADF);
	/* A role freed by close can be taken again. */
	rx = shmx_chan_close(rx);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
	assert_int_equal(shmx_chan_unlink(name), 0);
	assert_int_equal(shmx_chan_unlink(name), -ENOENT);
}

static void test_args(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c = NULL, *tx;
	struct shmx_chan_info info;
	char buf[8];
	const void *q;
	void *p;

	(void)state;
	/* create */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, NULL), -EINVAL);
	assert_int_equal(shmx_chan_create(NULL, 1024, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create("", 1024, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create("/a/b", 1024, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, 0, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | C, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK,
					  0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_ALLOW_SHARED, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | SHMX_RDONLY, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P | (1u << 20), 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1000, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 0, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 32, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, (size_t)1 << 33, P, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_create(name, 1024, P, 01000, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(tu_devshm_count(name + 1), 0);
	/* open */
	assert_int_equal(shmx_chan_open(name, C, 0, NULL), -EINVAL);
	assert_int_equal(shmx_chan_open(NULL, C, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, 0, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, P | C, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, C | SHMX_MAP, 0, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, C | SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK, 0, &c),
			 -EINVAL);
	assert_int_equal(shmx_chan_open(name, C, -2, &c), -EINVAL);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), -ENOENT);
	assert_int_equal(shmx_chan_open(name, C, 50, &c), -ENOENT);
	assert_null(c);
	/* the rest, on a real channel */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), 0);
	assert_int_equal(shmx_chan_send(NULL, "x", 1, 0), -EINVAL);
	assert_int_equal(shmx_chan_send(tx, NULL, 1, 0), -EINVAL);
	assert_int_equal(shmx_chan_send(tx, "x", 1, -2), -EINVAL);
	assert_int_equal(shmx_chan_reserve(NULL, 1, &p, 0), -EINVAL);
	assert_int_equal(shmx_chan_reserve(tx, 1, NULL, 0), -EINVAL);
	assert_int_equal(shmx_chan_reserve(tx, 1, &p, -5), -EINVAL);
	assert_int_equal(shmx_chan_commit(NULL, 0), -EINVAL);
	assert_int_equal(shmx_chan_recv(NULL, buf, 8, 0), -EINVAL);
	assert_int_equal(shmx_chan_recv(c, NULL, 8, 0), -EINVAL);
	assert_int_equal(shmx_chan_recv(c, buf, 8, -2), -EINVAL);
	assert_int_equal(shmx_chan_peek(NULL, &q, 0), -EINVAL);
	assert_int_equal(shmx_chan_peek(c, NULL, 0), -EINVAL);
	assert_int_equal(shmx_chan_peek(c, &q, -2), -EINVAL);
	assert_int_equal(shmx_chan_release(NULL), -EINVAL);
	assert_int_equal(shmx_chan_stat(name, NULL), -EINVAL);
	assert_int_equal(shmx_chan_stat(NULL, &info), -EINVAL);
	assert_int_equal(shmx_chan_unlink(NULL), -EINVAL);
	assert_int_equal(shmx_chan_unlink("/"), -EINVAL);
	assert_null(shmx_chan_close(NULL));
	/* a name that exists: create never adopts it */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &c), -EEXIST);
	tx = shmx_chan_close(tx);
	c = shmx_chan_close(c);
}

/* ---- a peer not yet attached ---- */

/* A peer that never attached is not dead: wait, time out. */
static void test_peer_not_yet_attached(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(shmx_chan_create(name, 256, P, 0, &tx), 0);
	while (shmx_chan_send(tx, buf, 8, 0) == 0)
		;
	assert_int_equal(shmx_chan_send(tx, buf, 8, 0), -EAGAIN);
	assert_int_equal(shmx_chan_send(tx, buf, 8, 50), -ETIMEDOUT);
	/* A consumer that opens later gets everything. */
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 8);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);

	assert_int_equal(shmx_chan_create(name2, 256, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 50), -ETIMEDOUT);
	rx = shmx_chan_close(rx);
}

/* ---- what an opener refuses, stat ---- */

static void test_open_not_a_channel(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_chan_info info;
	struct shmx_region *r;
	struct shmx_chan *c = NULL;

	(void)state;
	/* bytes that are not a header */
	assert_int_equal(shmx_create(name, SHMX__CHAN_HDR_SIZE + 1024, SHMX_MAP, 0, &r), 0);
	memset(shmx_addr(r), 0x5a, shmx_size(r));
	assert_int_equal(shmx_chan_open(name, C, 1000, &c), -EBADMSG);
	assert_int_equal(shmx_chan_stat(name, &info), -EBADMSG);
	r = shmx_close(r);
	/* a size no channel has */
	assert_int_equal(shmx_create(name2, 5000, 0, 0, &r), 0);
	assert_int_equal(shmx_chan_open(name2, C, 1000, &c), -EBADMSG);
	assert_int_equal(shmx_chan_stat(name2, &info), -EBADMSG);
	assert_null(c);
	r = shmx_close(r);
}

static void test_allow_shared(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *c = NULL;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 1024, P, 0666, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
	assert_null(c);
	assert_int_equal(shmx_chan_open(name, C | SHMX_ALLOW_SHARED, 0, &c), 0);
	c = shmx_chan_close(c);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_unlink(name), 0);
	/* group-writable too */
	assert_int_equal(shmx_chan_create(name, 1024, P, 0620, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
	tx = shmx_chan_close(tx);
}

static void test_stat(void **state)
{
	const char *name = tu_name();
	struct shmx_chan_info info;
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(shmx_chan_stat(name, &info), -ENOENT);
	assert_int_equal(shmx_chan_create(name, 1024, P, 0, &tx), 0);
	memset(&info, 0xff, sizeof(info));
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.abi, 2);
	assert_int_equal(info.header_size, 4096);
	assert_int_equal(info.capacity, 1024);
	assert_int_equal(info.max_msg, 504);
	assert_int_equal(info.used, 0);
	assert_int_equal(info.sent, 0);
	assert_int_equal(info.producer_pid, getpid());
	assert_int_equal(info.consumer_pid, 0);
	assert_int_equal(info.holders, (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER));
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_send(tx, buf, 10, 0), 0);
	assert_int_equal(shmx_chan_send(tx, buf, 10, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 10);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.sent, 2);
	assert_int_equal(info.used, 24);
	assert_int_equal(info.holders, 7u);
	assert_int_equal(info.consumer_pid, getpid());
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 10);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.used, 0);
	assert_int_equal(info.received, 2);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.holders, 1u << SHMX_SLOT_READER);
	rx = shmx_chan_close(rx);
}

/* ---- two threads on one object (ThreadSanitizer runs this one) ---- */

struct thread_arg {
	struct shmx_chan *c;
	long count;
	int err;
	long got;
};

static void *producer_thread(void *p)
{
	struct thread_arg *a = p;
	unsigned char *buf = malloc(shmx_chan_max_msg(a->c));

	a->err = buf ? produce(a->c, a->count, buf) : -ENOMEM;
	free(buf);
	return NULL;
}

static void *consumer_thread(void *p)
{
	struct thread_arg *a = p;
	unsigned char *buf = malloc(shmx_chan_max_msg(a->c));

	a->err = buf ? consume_all(a->c, a->count, buf, &a->got) : -ENOMEM;
	free(buf);
	return NULL;
}

static void test_threads(void **state)
{
	static const unsigned modes[] = { 0, SHMX_CHAN_SPIN, SHMX_CHAN_BLOCK };
	struct thread_arg pa, ca;
	pthread_t pt, ct;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *name = tu_name();
		long count = scaled(i == 0 ? 1000000 : 100000);

		memset(&pa, 0, sizeof(pa));
		memset(&ca, 0, sizeof(ca));
		pa.count = ca.count = count;
		/* Two opens, two open file descriptions: the roles' locks work
		 * between them as between processes. */
		assert_int_equal(shmx_chan_create(name, 8192, P | modes[i], 0, &pa.c), 0);
		assert_int_equal(shmx_chan_open(name, C | modes[i], 0, &ca.c), 0);
		assert_int_equal(pthread_create(&ct, NULL, consumer_thread, &ca), 0);
		assert_int_equal(pthread_create(&pt, NULL, producer_thread, &pa), 0);
		assert_int_equal(pthread_join(pt, NULL), 0);
		assert_int_equal(pthread_join(ct, NULL), 0);
		assert_int_equal(pa.err, 0);
		assert_int_equal(ca.err, 0);
		assert_int_equal(ca.got, count);
		pa.c = shmx_chan_close(pa.c);
		ca.c = shmx_chan_close(ca.c);
	}
}

/* A try never waits (shmx(7)), also on the polled path, where a try that
 * finds nothing arms the descriptor: it must not issue an expedited
 * membarrier(2), which waits until every other CPU ran its interrupt and
 * queues behind everyone else's on a kernel mutex (up to 20 ms here with
 * three processes issuing them, 130 ms in a loaded torture run). In a
 * child, after attaching (which may register for membarrier), a seccomp
 * filter kills the process at an expedited membarrier: the tries, empty
 * and not, must survive it. */
static void trap_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(2);
}

static void test_polled_try_never_waits(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *rx, *tx;
	char buf[64];
	int code = -1;
	pid_t pid;

	(void)state;
	TU_SKIP_IF_EMULATED("qemu-user installs no seccomp filter, which the test uses to catch an expedited membarrier");
	pid = tu_fork();
	if (pid == 0) {
		/* a handle is its process's own (src/fork.c): make them here */
		if (shmx_chan_create(name, 4096, SHMX_CHAN_CONSUMER, 0, &rx) ||
		    shmx_chan_open(name, SHMX_CHAN_PRODUCER, 0, &tx) || shmx_chan_fd(rx) < 0 ||
		    shmx_chan_fd(tx) < 0)
			_exit(3);
		trap_membarrier();
		for (int i = 0; i < 100; i++) {
			if (shmx_chan_recv(rx, buf, sizeof(buf), 0) != -EAGAIN ||
			    shmx_chan_send(tx, "x", 1, 0) != 0 ||
			    shmx_chan_recv(rx, buf, sizeof(buf), 0) != 1)
				_exit(4);
		}
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, 10000, &code), 0);
	assert_int_equal(code, 0);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_args),
		T(test_sizes),
		T(test_largest_message_fits),
		T(test_zero_copy),
		T(test_queries),
		T(test_roles),
		T(test_timeouts),
		T(test_peer_not_yet_attached),
		T(test_open_not_a_channel),
		T(test_allow_shared),
		T(test_stat),
		T(test_threads),
		T(test_polled_try_never_waits),
	};

	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
