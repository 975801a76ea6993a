/* SPDX-License-Identifier: MIT */
/* shmx-bridge in: messages of the subject produced into a local channel.
 * Core NATS: a plain subscription (what the client drops when the channel
 * holds it back too long is counted as drops). JetStream: a durable pull
 * consumer, one message outstanding at a time so that a redelivery can
 * never come after a later message; each is acknowledged (natsMsg_AckSync)
 * only after the channel took it, and state.c drops a redelivery of one
 * that was already taken. */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Send, waiting as long as the channel's policy makes us (block: for the
 * consumers; overwrite: never) and we are not told to stop. */
static int deliver(struct br *b, struct shmx_chan *c, const void *msg, size_t len)
{
	int err;

	do {
		err = shmx_chan_send(c, msg, len, BR_SLICE_MS);
	} while ((err == -ETIMEDOUT || err == -EAGAIN || err == -EINTR) && !br_stop);
	if (!err) {
		b->n.msgs++;
		b->n.bytes += len;
		return 0;
	}
	if (br_stop)
		return -EINTR;
	if (err == -EMSGSIZE)
		fprintf(stderr, "shmx-bridge: %s: a message of %zu bytes is larger than "
			"the channel's largest, %zu bytes\n", b->o.channel, len,
			shmx_chan_max_msg(c));
	else if (err == -EPIPE || err == -EOWNERDEAD)
		fprintf(stderr, "shmx-bridge: %s: the consumer %s\n", b->o.channel,
			err == -EPIPE ? "left" : "died");
	else
		fprintf(stderr, "shmx-bridge: %s: %s\n", b->o.channel, shmx_strerror(err));
	return BR_FAIL;
}

static int in_core(struct br *b, struct shmx_chan *c)
{
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	int64_t dropped = 0;
	natsStatus s;
	int rc = 0;

	s = natsConnection_SubscribeSync(&sub, b->nc, b->o.subject);
	/* hold up to this much while the channel makes us wait; past it the
	 * client drops, and we count it */
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(sub, 1 << 20, 1 << 30);
	if (s != NATS_OK) {
		fprintf(stderr, "shmx-bridge: subscribe %s: %s\n", b->o.subject,
			br_nats_err(s));
		natsSubscription_Destroy(sub);
		return s == NATS_INVALID_SUBJECT ? BR_USAGE : BR_FAIL;
	}
	br_ready(b);
	while (!rc && br_running(b)) {
		s = natsSubscription_NextMsg(&m, sub, BR_SLICE_MS);
		if (natsSubscription_GetDropped(sub, &dropped) == NATS_OK)
			b->n.drops = (uint64_t)dropped;
		if (s == NATS_TIMEOUT || s == NATS_SLOW_CONSUMER)
			continue;
		if (s != NATS_OK) {
			fprintf(stderr, "shmx-bridge: %s\n", br_nats_err(s));
			rc = BR_FAIL;
			break;
		}
		rc = deliver(b, c, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
		natsMsg_Destroy(m);
		rc = rc == -EINTR ? 0 : rc;
	}
	natsSubscription_Destroy(sub);
	return rc;
}

/* Create the channel with the shape asked for, or open it. */
static int open_channel(struct br *b, struct shmx_chan **c)
{
	int err = -ENOENT;

	if (b->o.create)
		err = shmx_chan_create_params(b->o.channel, &b->o.shape,
					      SHMX_CHAN_PRODUCER, 0600, c);
	if (err == -ENOENT || err == -EEXIST)
		err = shmx_chan_open(b->o.channel, SHMX_CHAN_PRODUCER, b->o.timeout_ms, c);
	if (err < 0) {
		fprintf(stderr, "shmx-bridge: %s: %s\n", b->o.channel, shmx_strerror(err));
		return err == -EINVAL || err == -ENAMETOOLONG ? BR_USAGE : BR_FAIL;
	}
	return 0;
}

int br_in(struct br *b)
{
	struct shmx_chan *c = NULL;
	int rc;

	rc = open_channel(b, &c);
	if (!rc)
		rc = b->o.stream ? br_in_js(b, c, deliver) : in_core(b, c);
	shmx_chan_close(c);
	return rc;
}
