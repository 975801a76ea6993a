/* SPDX-License-Identifier: MIT */
/* shmx-bridge out: one consumer slot of a local channel, each message
 * published on the subject. A message is looked at in place and released
 * only once published (core NATS: handed to the client, at most once;
 * JetStream: acknowledged by the stream, js.c), so a message NATS refuses
 * stays in the channel. On an overwrite channel it is copied out first. */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The channel's verdict when there is nothing more to read, or 0. */
static int ended(struct br *b, long err)
{
	if (err == -EPIPE)
		return BR_OK;
	if (err == -EOWNERDEAD)
		fprintf(stderr, "shmx-bridge: %s: the producer died\n", b->o.channel);
	else
		fprintf(stderr, "shmx-bridge: %s: %s\n", b->o.channel, shmx_strerror((int)err));
	return BR_FAIL;
}

int br_too_big(struct br *b, size_t len, int64_t room)
{
	fprintf(stderr, "shmx-bridge: %s: a message of %zu bytes is larger than the "
		"server's max payload of %" PRId64 " bytes%s; it stays in the channel\n",
		b->o.channel, len, room, b->o.stream ? " (less the message id header)" : "");
	return BR_FAIL;
}

/* Publish one message, waiting while the connection is away (the client
 * buffers while it reconnects; a full buffer is retried, not dropped). */
static int publish_core(struct br *b, const void *msg, size_t len)
{
	natsStatus s;

	if ((int64_t)len > b->max_payload)
		return br_too_big(b, len, b->max_payload);
	for (;;) {
		s = natsConnection_Publish(b->nc, b->o.subject, msg, (int)len);
		if (s == NATS_OK)
			return 0;
		if (s == NATS_CONNECTION_CLOSED || br_stop) {
			fprintf(stderr, "shmx-bridge: publish: %s\n", br_nats_err(s));
			return BR_FAIL;
		}
		nats_Sleep(10);
	}
}

int br_src_init(struct br *b, struct shmx_chan *c, struct br_src *src)
{
	struct shmx_chan_info info;

	*src = (struct br_src){ .size = shmx_chan_max_msg(c) };
	if (shmx_chan_stat(b->o.channel, &info) == 0) {
		src->copy = info.policy == SHMX_CHAN_POLICY_OVERWRITE;
		src->bcast = info.consumers > 1;
	}
	if (src->copy && !(src->buf = malloc(src->size ? src->size : 1)))
		return BR_FAIL;
	return 0;
}

/* The next message: in place (block: it stays in the channel until
 * br_src_done()), or copied (overwrite, where the producer may write over
 * a message while we publish it). */
ssize_t br_src_take(struct shmx_chan *c, struct br_src *src, const void **msg)
{
	ssize_t len;

	if (!src->copy)
		return shmx_chan_peek(c, msg, BR_SLICE_MS);
	len = shmx_chan_recv(c, src->buf, src->size, BR_SLICE_MS);
	*msg = src->buf;
	return len;
}

void br_src_done(struct shmx_chan *c, struct br_src *src)
{
	if (!src->copy)
		shmx_chan_release(c);
}

static int out_core(struct br *b, struct shmx_chan *c, struct br_src *src)
{
	const void *msg;
	ssize_t len;
	int rc = 0;

	br_ready(b);
	while (!rc && br_running(b)) {
		len = br_src_take(c, src, &msg);
		if (len == -ETIMEDOUT || len == -EAGAIN || len == -EINTR)
			continue;
		if (len == -ENOBUFS) {
			b->n.drops = (uint64_t)shmx_chan_lost(c);
			continue;
		}
		if (len < 0)
			return ended(b, len);
		rc = publish_core(b, msg, (size_t)len);
		if (rc)
			break;
		br_src_done(c, src);
		b->n.msgs++;
		b->n.bytes += (uint64_t)len;
	}
	return rc;
}

int br_out(struct br *b)
{
	struct br_src src = { 0 };
	struct shmx_chan *c;
	int err, rc;

	err = shmx_chan_open(b->o.channel, SHMX_CHAN_CONSUMER, b->o.timeout_ms, &c);
	if (err < 0) {
		fprintf(stderr, "shmx-bridge: %s: %s\n", b->o.channel, shmx_strerror(err));
		return err == -EINVAL || err == -ENAMETOOLONG ? BR_USAGE : BR_FAIL;
	}
	rc = br_src_init(b, c, &src);
	if (!rc)
		rc = b->o.stream ? br_out_js(b, c, &src, ended) : out_core(b, c, &src);
	free(src.buf);
	shmx_chan_close(c);
	return rc;
}
