/* SPDX-License-Identifier: MIT */
/* The libshmx items: the channel (round trips, copy and zero-copy streams)
 * and the pair. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench.h"

/* ---- the libshmx pair: writer in the parent, reader in the child ---- */

static int pair_setup(struct win *w)
{
	int err;

	new_name(w->name[0], sizeof(w->name[0]), "");
	err = shmx_create(w->name[0], 4096, 0, 0, &w->reg);
	if (err)
		return err;
	err = shmx_pair_create(w->reg, SHMX_PAIR_WRITER, 0, &w->pair);
	if (err) {
		w->reg = shmx_close(w->reg);
		shmx_unlink(w->name[0]);
	}
	return err;
}

static int pair_attach(struct win *w)
{
	int err;

	/* the parent's handles came with fork(); a real reader has its own */
	err = shmx_open(w->name[0], 0, &w->reg);
	if (err)
		return err;
	return shmx_pair_open(w->reg, SHMX_PAIR_READER, &w->pair);
}

static int pair_start(struct win *w)
{
	return shmx_pair_wait(w->pair, IO_TIMEOUT_MS);
}

static int pair_parent(struct win *w, long n)
{
	int err;

	for (long i = 0; i < n; i++) {
		err = shmx_pair_post(w->pair);
		if (!err)
			err = shmx_pair_wait(w->pair, IO_TIMEOUT_MS);
		if (err)
			return err;
	}
	return 0;
}

static int pair_child(struct win *w, long n)
{
	int err;

	for (long i = 0; i < n; i++) {
		err = shmx_pair_wait(w->pair, IO_TIMEOUT_MS);
		if (!err)
			err = shmx_pair_post(w->pair);
		if (err)
			return err;
	}
	return 0;
}

static void pair_teardown(struct win *w)
{
	w->pair = shmx_pair_close(w->pair);
	w->reg = shmx_close(w->reg);
	shmx_pair_unlink(w->name[0]);
	shmx_unlink(w->name[0]);
}

/* ---- the libshmx channel ---- */

/* Small rings for round trips; for streams room for several messages. */
static size_t chan_capacity(const struct item *it)
{
	return it->kind == K_RT ? 64 * KiB : stream_ring_bytes(it);
}

/* ch[0] carries parent -> child, ch[1] child -> parent (round trips). */
static int chan_setup(struct win *w)
{
	const struct item *it = w->it;
	size_t cap = chan_capacity(it);
	int err;

	err = alloc_bufs(w);
	if (err)
		return err;
	new_name(w->name[0], sizeof(w->name[0]), "");
	err = shmx_chan_create(w->name[0], cap, it->flags | SHMX_CHAN_PRODUCER, 0,
			       &w->ch[0]);
	if (err || it->kind != K_RT)
		return err;
	new_name(w->name[1], sizeof(w->name[1]), "");
	err = shmx_chan_create(w->name[1], cap, it->flags | SHMX_CHAN_CONSUMER, 0,
			       &w->ch[1]);
	if (err) {
		w->ch[0] = shmx_chan_close(w->ch[0]);
		shmx_chan_unlink(w->name[0]);
	}
	return err;
}

static int chan_attach(struct win *w)
{
	const struct item *it = w->it;
	int err;

	err = shmx_chan_open(w->name[0], it->flags | SHMX_CHAN_CONSUMER,
			     IO_TIMEOUT_MS, &w->ch[0]);
	if (err || it->kind != K_RT)
		return err;
	return shmx_chan_open(w->name[1], it->flags | SHMX_CHAN_PRODUCER,
			      IO_TIMEOUT_MS, &w->ch[1]);
}

static int chan_rt_parent(struct win *w, long n)
{
	ssize_t k;
	int err;

	for (long i = 0; i < n; i++) {
		err = shmx_chan_send(w->ch[0], w->src, 8, IO_TIMEOUT_MS);
		if (err)
			return err;
		k = shmx_chan_recv(w->ch[1], w->buf, 8, IO_TIMEOUT_MS);
		if (k != 8)
			return k < 0 ? (int)k : -EBADMSG;
	}
	return 0;
}

static int chan_rt_child(struct win *w, long n)
{
	ssize_t k;
	int err;

	for (long i = 0; i < n; i++) {
		k = shmx_chan_recv(w->ch[0], w->buf, 8, IO_TIMEOUT_MS);
		if (k != 8)
			return k < 0 ? (int)k : -EBADMSG;
		err = shmx_chan_send(w->ch[1], w->src, 8, IO_TIMEOUT_MS);
		if (err)
			return err;
	}
	return 0;
}

/* ---- the channel through its pollable descriptor (shmx_chan_fd()) ----
 * A receiver in an event loop: try, and on -EAGAIN wait in poll(2) on the
 * descriptor; the sender sends as usual (its kick writes our eventfd). */

static ssize_t poll_recv(struct shmx_chan *c, void *buf, size_t size)
{
	struct pollfd p = { .fd = shmx_chan_fd(c), .events = POLLIN };
	ssize_t k;

	if (p.fd < 0)
		return p.fd;
	while ((k = shmx_chan_recv(c, buf, size, 0)) == -EAGAIN) {
		if (poll(&p, 1, IO_TIMEOUT_MS) == 0 || g_abort)
			return -ETIMEDOUT;
	}
	return k;
}

static int chan_poll_parent(struct win *w, long n)
{
	ssize_t k;
	int err;

	for (long i = 0; i < n; i++) {
		err = shmx_chan_send(w->ch[0], w->src, 8, IO_TIMEOUT_MS);
		if (err)
			return err;
		k = poll_recv(w->ch[1], w->buf, 8);
		if (k != 8)
			return k < 0 ? (int)k : -EBADMSG;
	}
	return 0;
}

static int chan_poll_child(struct win *w, long n)
{
	ssize_t k;
	int err;

	for (long i = 0; i < n; i++) {
		k = poll_recv(w->ch[0], w->buf, 8);
		if (k != 8)
			return k < 0 ? (int)k : -EBADMSG;
		err = shmx_chan_send(w->ch[1], w->src, 8, IO_TIMEOUT_MS);
		if (err)
			return err;
	}
	return 0;
}

static int chan_send_copy(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		int err = shmx_chan_send(w->ch[0], w->src, w->it->size, IO_TIMEOUT_MS);

		if (err)
			return err;
	}
	return 0;
}

static int chan_recv_copy(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		ssize_t k = shmx_chan_recv(w->ch[0], w->buf, w->it->size, IO_TIMEOUT_MS);

		if (k != (ssize_t)w->it->size)
			return k < 0 ? (int)k : -EBADMSG;
	}
	return 0;
}

/* Batches of up to BATCH_MSGS messages a call on either side: one index
 * store and one fence per batch instead of per message. */
#define BATCH_MSGS 32

static int chan_send_batch(struct win *w, long n)
{
	struct iovec v[BATCH_MSGS];
	ssize_t k;

	for (int i = 0; i < BATCH_MSGS; i++)
		v[i] = (struct iovec){ .iov_base = w->src, .iov_len = w->it->size };
	while (n > 0) {
		k = shmx_chan_send_batch(w->ch[0], v, n < BATCH_MSGS ? (size_t)n :
					 BATCH_MSGS, IO_TIMEOUT_MS);
		if (k < 0)
			return (int)k;
		n -= k;
	}
	return 0;
}

static int chan_recv_batch(struct win *w, long n)
{
	size_t lens[BATCH_MSGS], size = w->it->size * BATCH_MSGS;
	ssize_t k;

	while (n > 0) {
		k = shmx_chan_recv_batch(w->ch[0], w->buf, size, lens,
					 n < BATCH_MSGS ? (size_t)n : BATCH_MSGS,
					 IO_TIMEOUT_MS);
		if (k < 0)
			return (int)k;
		if (lens[0] != w->it->size)
			return -EBADMSG;
		clobber(w->buf);
		n -= k;
	}
	return 0;
}

static int chan_batch_setup(struct win *w)
{
	int err = chan_setup(w);

	if (err)
		return err;
	/* the receive buffer holds a whole batch */
	free(w->buf);
	w->buf = aligned_alloc(64, w->it->size * BATCH_MSGS);
	return w->buf ? 0 : -ENOMEM;
}

/* Zero-copy: the producer writes every byte of the message in place (the
 * byte is the message's number), the consumer reads every byte in place
 * into a checksum, as a consumer that uses the data would, and reports it:
 * the same work on the data as a copy, so the figures compare. */
static int chan_send_zc(struct win *w, long n)
{
	size_t len = w->it->size;
	void *p;
	int err;

	for (long i = 0; i < n; i++) {
		err = shmx_chan_reserve(w->ch[0], len, &p, IO_TIMEOUT_MS);
		if (err)
			return err;
		memset(p, (unsigned char)w->seq++, len);
		err = shmx_chan_commit(w->ch[0], len);
		if (err)
			return err;
	}
	return 0;
}

static int chan_recv_zc(struct win *w, long n)
{
	size_t len = w->it->size;
	const void *p;
	ssize_t k;

	for (long i = 0; i < n; i++) {
		k = shmx_chan_peek(w->ch[0], &p, IO_TIMEOUT_MS);
		if (k != (ssize_t)len)
			return k < 0 ? (int)k : -EBADMSG;
		w->sum += sum_bytes(p, len);
		k = shmx_chan_release(w->ch[0]);
		if (k)
			return (int)k;
	}
	return 0;
}

/* A consumer that skipped bytes, or read another message's, shows here. */
static int chan_verify_zc(struct win *w, uint64_t child_sum)
{
	return child_sum == fill_sum(w->it->size, 0, w->seq) ? 0 : -EBADMSG;
}

static void chan_teardown(struct win *w)
{
	for (int i = 0; i < 2; i++) {
		if (!w->ch[i])
			continue;
		w->ch[i] = shmx_chan_close(w->ch[i]);
		shmx_chan_unlink(w->name[i]);
	}
	free_bufs(w);
}


/* ---- the items ---- */

const struct item item_chan_rt = { .kind = K_RT, .size = 8, .setup = chan_setup,
	.attach = chan_attach, .parent = chan_rt_parent, .child = chan_rt_child,
	.teardown = chan_teardown };
const struct item item_chan_poll_rt = { .kind = K_RT, .size = 8, .setup = chan_setup,
	.attach = chan_attach, .parent = chan_poll_parent, .child = chan_poll_child,
	.teardown = chan_teardown };
const struct item item_chan_copy = { .kind = K_TPUT, .setup = chan_setup,
	.attach = chan_attach, .parent = chan_send_copy, .child = chan_recv_copy,
	.teardown = chan_teardown };
const struct item item_chan_zc = { .kind = K_TPUT, .setup = chan_setup,
	.attach = chan_attach, .parent = chan_send_zc, .child = chan_recv_zc,
	.verify = chan_verify_zc, .teardown = chan_teardown };
const struct item item_chan_batch = { .kind = K_TPUT, .setup = chan_batch_setup,
	.attach = chan_attach, .parent = chan_send_batch, .child = chan_recv_batch,
	.teardown = chan_teardown };
const struct item item_pair = { .kind = K_RT, .size = 8, .setup = pair_setup,
	.attach = pair_attach, .start = pair_start, .parent = pair_parent,
	.child = pair_child, .teardown = pair_teardown };
