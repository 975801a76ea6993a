/* SPDX-License-Identifier: MIT */
/* shmx-bridge out, JetStream mode. Message n of the slot (n = the slot's
 * count + 1, which the channel keeps across a crash of this process) is
 * published with the id "CHANNEL@EPOCH.GEN#n", so the stream's duplicate
 * window drops a re-send; each publish also expects the stream's last id
 * and sequence to be this bridge's previous one, so that a re-send after a
 * longer outage is refused instead of stored twice. The message is
 * released from the channel only after the stream acknowledged it: a crash
 * in between makes the next bridge see it again (shmx(7): a queue's
 * consumer continues where the slot was left) and publish it again with
 * the same id. */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct js_out {
	char prefix[SHMX_NAME_MAX + 64];
	uint64_t next;          /* n of the next message */
	char last_id[SHMX_NAME_MAX + 96];
	uint64_t last_seq;      /* the stream's last sequence, 0 unknown */
	bool stored_next;       /* message next is already in the stream */
	bool bcast;             /* several consumer slots */
};

static void make_id(const struct js_out *j, uint64_t n, char *id, size_t size)
{
	snprintf(id, size, "%s%" PRIu64, j->prefix, n);
}

/* n if id is one of ours, else 0. */
static uint64_t our_n(const struct js_out *j, const char *id)
{
	size_t len = strlen(j->prefix);

	if (!id || strncmp(id, j->prefix, len))
		return 0;
	return strtoull(id + len, NULL, 10);
}

/* The stream's last message on our subject: its id and sequence. */
static int last_stored(struct br *b, char *id, size_t size, uint64_t *seq)
{
	natsMsg *m = NULL;
	const char *v = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	*id = 0;
	*seq = 0;
	s = js_GetLastMsg(&m, b->js, b->o.stream, b->o.subject, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
		return 0;
	if (s != NATS_OK)
		return -1;
	if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) == NATS_OK && v)
		snprintf(id, size, "%s", v);
	*seq = natsMsg_GetSequence(m);
	natsMsg_Destroy(m);
	return 0;
}

/* Where the slot and the stream stand after a start (maybe after a crash
 * between the acknowledgement and the release). */
static int seed(struct br *b, struct shmx_chan *c, struct js_out *j)
{
	uint64_t epoch = 0, count = 0, n;
	uint32_t gen = 0;
	int slot = shmx_chan_slot(c), err;

	err = br_chan_epoch(c, &epoch);
	if (!err)
		err = br_chan_count(b->o.channel, SHMX_CHAN_CONSUMER, slot, &count, &gen);
	if (err < 0) {
		fprintf(stderr, "shmx-bridge: %s: %s\n", b->o.channel, shmx_strerror(err));
		return BR_FAIL;
	}
	/* a broadcast slot taken again starts at the newest message, from 0 */
	snprintf(j->prefix, sizeof(j->prefix), "%s@%" PRIx64 ".%" PRIu32 "#",
		 b->o.channel, epoch, j->bcast ? gen : 0);
	j->next = count + 1;
	while (last_stored(b, j->last_id, sizeof(j->last_id), &j->last_seq) < 0) {
		if (br_stop)
			return BR_FAIL;
		nats_Sleep(100);
	}
	n = our_n(j, j->last_id);
	j->stored_next = n && n == j->next;
	return 0;
}

/* After a refused expectation: stored if the stream's last is our id. */
static int resolve(struct br *b, struct js_out *j, const char *id)
{
	char last[sizeof(j->last_id)];
	uint64_t seq;

	if (last_stored(b, last, sizeof(last), &seq) < 0)
		return -EAGAIN;
	if (strcmp(last, id)) {
		fprintf(stderr, "shmx-bridge: stream %s: its last message is '%s', "
			"not this bridge's '%s': another writer?\n", b->o.stream,
			*last ? last : "(no id)", j->last_id);
		return BR_FAIL;
	}
	j->last_seq = seq;
	b->n.dups++;
	return 0;
}

static void pub_opts(const struct js_out *j, jsPubOptions *po, const char *id)
{
	jsPubOptions_Init(po);
	po->MsgId = id;
	po->MaxWait = 2000;
	if (*j->last_id)
		po->ExpectLastMsgId = j->last_id;
	po->ExpectLastSeq = j->last_seq;
}

/* Publish message j->next until the stream has it exactly once. */
static int publish_js(struct br *b, struct js_out *j, const void *msg, size_t len)
{
	char id[sizeof(j->last_id)];
	jsPubAck *pa = NULL;
	jsPubOptions po;
	jsErrCode jerr;
	natsStatus s;
	int rc = 0;

	make_id(j, j->next, id, sizeof(id));
	/* the id and expectation headers ride in the same payload limit */
	if ((int64_t)(len + strlen(id) + strlen(j->last_id) + 128) > b->max_payload)
		return br_too_big(b, len, b->max_payload);
	for (int tries = 0;; tries++) {
		pub_opts(j, &po, id);
		jerr = 0;
		s = js_Publish(&pa, b->js, b->o.subject, msg, (int)len, &po, &jerr);
		if (tries)
			b->n.resent++;
		if (s == NATS_OK) {
			b->n.dups += pa->Duplicate;
			j->last_seq = pa->Sequence;
			jsPubAck_Destroy(pa);
			break;
		}
		if (jerr == JSStreamWrongLastMsgIDErr || jerr == JSStreamWrongLastSequenceErr) {
			rc = resolve(b, j, id);
			if (rc != -EAGAIN)
				break;
		}
		if (jerr == JSStreamMessageExceedsMaximumErr || s == NATS_MAX_PAYLOAD)
			return br_too_big(b, len, b->max_payload);
		if (br_stop)
			return BR_FAIL;
		if (!tries)
			fprintf(stderr, "shmx-bridge: publish %s: %s (retrying)\n", id,
				br_nats_err(s));
		nats_Sleep(tries < 10 ? 20 : 200);
	}
	if (!rc)
		snprintf(j->last_id, sizeof(j->last_id), "%s", id);
	return rc;
}

static int move_one(struct br *b, struct shmx_chan *c, struct br_src *src,
		    struct js_out *j, const void *msg, size_t len)
{
	int rc = 0;

	if (j->stored_next) {
		/* acknowledged before the last bridge died, not yet released */
		j->stored_next = false;
		make_id(j, j->next, j->last_id, sizeof(j->last_id));
		b->n.dups++;
	} else {
		rc = publish_js(b, j, msg, len);
	}
	if (rc)
		return rc;
	br_src_done(c, src);
	j->next++;
	b->n.msgs++;
	b->n.bytes += len;
	return 0;
}

int br_out_js(struct br *b, struct shmx_chan *c, struct br_src *src,
	      int (*ended)(struct br *, long))
{
	struct js_out j = { .bcast = src->bcast };
	const void *msg;
	ssize_t len;
	int rc;

	rc = seed(b, c, &j);
	if (!rc)
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
		rc = move_one(b, c, src, &j, msg, (size_t)len);
	}
	return rc;
}
