/* SPDX-License-Identifier: MIT */
/* shmx-bridge: what its files share. main.c parses and reports, nats.c
 * connects and checks the stream, out.c and in.c move the messages, state.c
 * keeps what the receiving side already delivered. Public <shmx.h> only. */
#ifndef SHMX_BRIDGE_H
#define SHMX_BRIDGE_H

#include <nats/nats.h>
#include <shmx.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes, as shmx(1)'s. */
#define BR_OK     0
#define BR_FAIL   1
#define BR_USAGE  2
#define BR_LOST   3

/* How long one wait lasts before the loops look at the signal flags. */
#define BR_SLICE_MS 100

struct br_opts {
	bool out;               /* out: channel -> NATS; else in */
	const char *servers;    /* "nats://h:p,nats://h2:p2" */
	const char *subject;
	const char *stream;     /* JetStream mode when set */
	const char *durable;
	const char *state;      /* in: delivered-state file */
	const char *channel;
	int replicas;           /* for a stream this bridge creates */
	int64_t dup_window_s;
	int64_t ack_wait_s;
	int timeout_ms;         /* connect and channel-open deadline */
	uint64_t count;         /* stop after this many (0: never) */
	bool stats;             /* a progress line every second */
	bool create;            /* in: create the channel when missing */
	bool send_asap;         /* no batching in the client */
	struct shmx_chan_params shape;
};

struct br_counts {
	uint64_t msgs, bytes;
	uint64_t drops;         /* lost: overwritten locally or by a slow consumer */
	uint64_t dups;          /* in: redeliveries dropped; out: publishes already stored */
	uint64_t resent;        /* out: publishes retried */
	uint64_t reconnects;
};

struct br {
	struct br_opts o;
	struct br_counts n;
	natsConnection *nc;
	jsCtx *js;
	int64_t max_payload;
	int64_t stream_created; /* the stream's incarnation (JetStream) */
};

extern volatile sig_atomic_t br_stop;   /* the signal that asked to stop */
extern volatile sig_atomic_t br_report; /* SIGUSR1 asked for a progress line */

/* main.c */
void br_progress(const struct br *b);
/* The line that says the bridge is moving messages now. */
void br_ready(struct br *b);
bool br_running(struct br *b);

/* nats.c */
int br_connect(struct br *b);
void br_disconnect(struct br *b);
int br_stream_ensure(struct br *b);
const char *br_nats_err(natsStatus s);

/* out.c, in.c: the exit code. */
int br_out(struct br *b);
int br_in(struct br *b);
/* out.c: the error for a message above the server's limit (room bytes). */
int br_too_big(struct br *b, size_t len, int64_t room);
/* out.c: where out takes its messages from. */
struct br_src {
	bool copy;              /* overwrite channel: copied out, no peek */
	bool bcast;             /* several consumer slots */
	char *buf;
	size_t size;
};
int br_src_init(struct br *b, struct shmx_chan *c, struct br_src *src);
ssize_t br_src_take(struct shmx_chan *c, struct br_src *src, const void **msg);
void br_src_done(struct shmx_chan *c, struct br_src *src);
/* js.c: out in JetStream mode; ended() turns a channel error into an exit
 * code. */
int br_out_js(struct br *b, struct shmx_chan *c, struct br_src *src,
	      int (*ended)(struct br *, long));
/* js-in.c: in in JetStream mode; deliver() sends one message into the
 * channel (0, -EINTR when told to stop, or an exit code). */
typedef int (*br_deliver_fn)(struct br *b, struct shmx_chan *c, const void *msg,
			     size_t len);
int br_in_js(struct br *b, struct shmx_chan *c, br_deliver_fn deliver);

/* state.c: the last stream sequence delivered into the channel, and the
 * channel's producer count when it was about to be. */
struct br_state;
int br_state_open(const char *path, uint64_t epoch, struct br_state **ret);
void br_state_close(struct br_state *s);
/* Before sending stream sequence seq when the slot had sent count. */
void br_state_begin(struct br_state *s, uint64_t seq, uint64_t count);
/* The last sequence known delivered, given the slot's count now. */
uint64_t br_state_delivered(const struct br_state *s, uint64_t count_now);

/* chan.c: a channel's incarnation and a slot's count (shmx_chan_peers). */
int br_chan_epoch(struct shmx_chan *c, uint64_t *epoch);
int br_chan_count(const char *name, unsigned role, int slot, uint64_t *count,
		  uint32_t *generation);

#endif
