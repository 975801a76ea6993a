/* SPDX-License-Identifier: MIT */
/* shmx-bridge in, JetStream mode: a durable pull consumer with at most one
 * message unacknowledged, so the server redelivers a message before it
 * delivers any later one; the state file (state.c) tells a redelivery of a
 * message the channel already took, which is acknowledged and dropped. */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fetches that found nothing (half a second each) before one line says
 * where the consumer stands. */
#define BR_IDLE_REPORT 20

struct js_in {
	natsSubscription *sub;
	struct br_state *st;
	uint64_t count;         /* the producer slot's count (ours alone) */
};

static int subscribe(struct br *b, struct js_in *j)
{
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;

	jsSubOptions_Init(&so);
	so.Stream = b->o.stream;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = b->o.ack_wait_s * 1000000000LL;
	so.Config.MaxAckPending = 1;
	so.Config.DeliverPolicy = js_DeliverAll;
	s = js_PullSubscribe(&j->sub, b->js, b->o.subject, b->o.durable, NULL, &so, &jerr);
	if (s == NATS_OK)
		return 0;
	fprintf(stderr, "shmx-bridge: durable %s on stream %s: %s\n", b->o.durable,
		b->o.stream, br_nats_err(s));
	return BR_FAIL;
}

/* The state file, for this channel and this stream incarnation. */
static int open_state(struct br *b, struct shmx_chan *c, struct js_in *j)
{
	char def[512];
	const char *path = b->o.state;
	uint64_t epoch = 0;
	int err;

	if (!path) {
		snprintf(def, sizeof(def), "/tmp/shmx-bridge.%s.%s.state", b->o.stream,
			 b->o.durable);
		path = def;
	}
	err = br_chan_epoch(c, &epoch);
	if (!err)
		err = br_chan_count(b->o.channel, SHMX_CHAN_PRODUCER, shmx_chan_slot(c),
				    &j->count, NULL);
	if (!err)
		err = br_state_open(path, epoch ^ (uint64_t)b->stream_created, &j->st);
	if (err < 0) {
		fprintf(stderr, "shmx-bridge: %s: %s\n", path, shmx_strerror(err));
		return BR_FAIL;
	}
	return 0;
}

/* One message: dropped when already delivered, else sent into the
 * channel; acknowledged after either. */
static int one(struct br *b, struct shmx_chan *c, struct js_in *j, natsMsg *m,
	       br_deliver_fn deliver)
{
	jsMsgMetaData *meta = NULL;
	jsErrCode jerr = 0;
	uint64_t seq;
	int rc = 0;

	if (natsMsg_GetMetaData(&meta, m) != NATS_OK)
		return 0; /* not a stream message: nothing to deliver or ack */
	seq = meta->Sequence.Stream;
	jsMsgMetaData_Destroy(meta);
	if (seq <= br_state_delivered(j->st, j->count)) {
		b->n.dups++;
	} else {
		br_state_begin(j->st, seq, j->count);
		rc = deliver(b, c, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
		if (rc)
			return rc;
		j->count++;
	}
	/* a lost ack only brings a redelivery, which the state drops */
	natsMsg_AckSync(m, NULL, &jerr);
	return 0;
}

/* Nothing came for a while: say where the consumer stands, so that a
 * stall shows whose it is (the stream's, the consumer's, or ours). */
static void report_idle(struct br *b, struct js_in *j)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;

	if (js_GetConsumerInfo(&ci, b->js, b->o.stream, b->o.durable, NULL, &jerr)) {
		fprintf(stderr, "shmx-bridge: idle; consumer %s: %s\n", b->o.durable,
			br_nats_err(NATS_ERR));
		return;
	}
	fprintf(stderr, "shmx-bridge: idle; delivered up to %" PRIu64 " (stream), "
		"consumer %s: delivered %" PRIu64 ", ack floor %" PRIu64 ", %" PRIu64
		" pending, %" PRId64 " awaiting ack, %" PRId64 " redelivered, leader %s\n",
		br_state_delivered(j->st, j->count), b->o.durable, ci->Delivered.Stream,
		ci->AckFloor.Stream, ci->NumPending, ci->NumAckPending, ci->NumRedelivered,
		ci->Cluster && ci->Cluster->Leader ? ci->Cluster->Leader : "-");
	jsConsumerInfo_Destroy(ci);
}

int br_in_js(struct br *b, struct shmx_chan *c, br_deliver_fn deliver)
{
	struct shmx_chan_info info;
	struct js_in j = { 0 };
	natsMsgList list = { 0 };
	natsStatus s, last = NATS_OK;
	unsigned idle = 0;
	jsErrCode jerr;
	int rc;

	if (shmx_chan_stat(b->o.channel, &info) == 0 && info.producers != 1) {
		fprintf(stderr, "shmx-bridge: %s has %u producer slots; in --jetstream "
			"needs a channel of one producer (its count is the state)\n",
			b->o.channel, info.producers);
		return BR_USAGE;
	}
	rc = open_state(b, c, &j);
	if (!rc)
		rc = subscribe(b, &j);
	if (!rc)
		br_ready(b);
	while (!rc && br_running(b)) {
		jerr = 0;
		s = natsSubscription_Fetch(&list, j.sub, 1, BR_SLICE_MS * 5, &jerr);
		if (s != NATS_OK && ++idle == BR_IDLE_REPORT)
			report_idle(b, &j);
		if (s != NATS_OK) {
			/* a timeout, or a server away: the client reconnects */
			if (s != NATS_TIMEOUT && s != last)
				fprintf(stderr, "shmx-bridge: fetch: %s (retrying)\n",
					br_nats_err(s));
			if (s != NATS_TIMEOUT)
				nats_Sleep(50);
			last = s;
			continue;
		}
		last = NATS_OK;
		idle = 0;
		for (int i = 0; i < list.Count && !rc; i++)
			rc = one(b, c, &j, list.Msgs[i], deliver);
		natsMsgList_Destroy(&list);
	}
	rc = rc == -EINTR ? 0 : rc;
	natsSubscription_Destroy(j.sub);
	br_state_close(j.st);
	return rc;
}
