/* SPDX-License-Identifier: MIT */
/* shmx-bridge out: one consumer slot of a local channel, each message
 * published on the subject. Core NATS: copied out of the channel, then
 * published (at most once). JetStream: looked at in place, published with a
 * message id, released only once the stream acknowledged it (js.c). */
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

static int out_core(struct br *b, struct shmx_chan *c)
{
	size_t size = shmx_chan_max_msg(c);
	char *buf = malloc(size ? size : 1);
	ssize_t len;
	int rc = 0;

	if (!buf)
		return BR_FAIL;
	while (!rc && br_running(b)) {
		len = shmx_chan_recv(c, buf, size, BR_SLICE_MS);
		if (len == -ETIMEDOUT || len == -EAGAIN || len == -EINTR)
			continue;
		if (len == -ENOBUFS) {
			b->n.drops = (uint64_t)shmx_chan_lost(c);
			continue;
		}
		if (len < 0) {
			rc = ended(b, len);
			break;
		}
		rc = publish_core(b, buf, (size_t)len);
		if (!rc) {
			b->n.msgs++;
			b->n.bytes += (uint64_t)len;
		}
	}
	free(buf);
	return rc;
}

int br_out(struct br *b)
{
	struct shmx_chan *c;
	int err, rc;

	err = shmx_chan_open(b->o.channel, SHMX_CHAN_CONSUMER, b->o.timeout_ms, &c);
	if (err < 0) {
		fprintf(stderr, "shmx-bridge: %s: %s\n", b->o.channel, shmx_strerror(err));
		return err == -EINVAL || err == -ENAMETOOLONG ? BR_USAGE : BR_FAIL;
	}
	rc = b->o.stream ? br_out_js(b, c, ended) : out_core(b, c);
	shmx_chan_close(c);
	return rc;
}
