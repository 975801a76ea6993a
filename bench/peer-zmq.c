/* SPDX-License-Identifier: MIT */
/*
 * ZeroMQ over ipc://, a peer a user might pick instead of the channel: PAIR
 * sockets with the library's defaults, the child binds and the parent
 * connects. The endpoint is in the abstract namespace ("ipc://@..."), so
 * nothing is left on disk. Every wait has a 5 s timeout (ZMQ_SNDTIMEO and
 * ZMQ_RCVTIMEO), as a careful user would set. Each process has its own
 * context, made after the fork: a context does not survive one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "bench.h"

struct zpeer {
	void *ctx, *sock;
};

static int zmq_fail(void)
{
	int err = zmq_errno();

	/* a timed-out wait is EAGAIN to ZeroMQ */
	return err == EAGAIN ? -ETIMEDOUT : -err;
}

static void zpeer_close(struct zpeer *z)
{
	if (!z)
		return;
	if (z->sock)
		zmq_close(z->sock);
	if (z->ctx)
		zmq_ctx_term(z->ctx);
	free(z);
}

/* The child lingers: a send only queues the message for the context's I/O
 * thread, and the child's last answer must leave before it exits. */
static int zpeer_options(void *sock, bool child)
{
	int ms = IO_TIMEOUT_MS, linger = child ? IO_TIMEOUT_MS : 0;

	if (zmq_setsockopt(sock, ZMQ_SNDTIMEO, &ms, sizeof(ms)) ||
	    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &ms, sizeof(ms)) ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)))
		return zmq_fail();
	return 0;
}

static int zpeer_open(struct win *w, bool bind)
{
	struct zpeer *z = calloc(1, sizeof(*z));
	char ep[128];
	int err;

	if (!z)
		return -ENOMEM;
	snprintf(ep, sizeof(ep), "ipc://@%s", w->name[0]);
	z->ctx = zmq_ctx_new();
	for (int i = 0; i < 2 && z->ctx; i++)
		if (g_cpu[i] >= 0)
			zmq_ctx_set(z->ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, g_cpu[i]);
	z->sock = z->ctx ? zmq_socket(z->ctx, ZMQ_PAIR) : NULL;
	err = z->sock ? zpeer_options(z->sock, bind) : zmq_fail();
	if (!err && (bind ? zmq_bind(z->sock, ep) : zmq_connect(z->sock, ep)))
		err = zmq_fail();
	if (err) {
		zpeer_close(z);
		return err;
	}
	w->peer = z;
	return 0;
}

static int zmq_setup(struct win *w)
{
	new_name(w->name[0], sizeof(w->name[0]), "-zmq");
	return alloc_bufs(w);
}

static int zmq_attach(struct win *w)
{
	return zpeer_open(w, true);
}

static int zmq_start(struct win *w)
{
	return zpeer_open(w, false);
}

static int zsend(struct win *w, size_t len)
{
	struct zpeer *z = w->peer;

	while (zmq_send(z->sock, w->src, len, 0) < 0) {
		if (zmq_errno() != EINTR || g_abort)
			return zmq_fail();
	}
	return 0;
}

static int zrecv(struct win *w, size_t len)
{
	struct zpeer *z = w->peer;
	int k;

	while ((k = zmq_recv(z->sock, w->buf, len, 0)) < 0) {
		if (zmq_errno() != EINTR || g_abort)
			return zmq_fail();
	}
	return (size_t)k == len ? 0 : -EBADMSG;
}

static int zmq_rt_parent(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		int err = zsend(w, 8);

		if (!err)
			err = zrecv(w, 8);
		if (err)
			return err;
	}
	return 0;
}

static int zmq_rt_child(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		int err = zrecv(w, 8);

		if (!err)
			err = zsend(w, 8);
		if (err)
			return err;
	}
	return 0;
}

static int zmq_stream_send(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		int err = zsend(w, w->it->size);

		if (err)
			return err;
	}
	return 0;
}

static int zmq_stream_recv(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		int err = zrecv(w, w->it->size);

		if (err)
			return err;
		clobber(w->buf);
	}
	return 0;
}

static void zmq_detach(struct win *w)
{
	zpeer_close(w->peer);
}

static void zmq_teardown(struct win *w)
{
	zpeer_close(w->peer);
	free_bufs(w);
}

const struct item item_zmq_rt = { .kind = K_RT, .size = 8, .setup = zmq_setup,
	.attach = zmq_attach, .start = zmq_start, .parent = zmq_rt_parent,
	.child = zmq_rt_child, .detach = zmq_detach, .teardown = zmq_teardown };
const struct item item_zmq_stream = { .kind = K_TPUT, .setup = zmq_setup,
	.attach = zmq_attach, .start = zmq_start, .parent = zmq_stream_send,
	.child = zmq_stream_recv, .detach = zmq_detach, .teardown = zmq_teardown };
