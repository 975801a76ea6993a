/* SPDX-License-Identifier: MIT */
/* What the fan-out tests share (several consumers, several producers,
 * overwriting): channels of a given shape, messages of 1 to FAN_MAX bytes
 * made from their number, a consumer loop that checks every message is the
 * next one, slots watched through shmx_chan_peers(), and the report a child
 * sends its parent through a pipe. */
#ifndef SHMX_FANOUT_UTIL_H
#define SHMX_FANOUT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel-util.h"

#define FAN_MAX 300     /* longest message */
#define FAN_ID 8        /* a message this long or longer starts with its number */
#define CHILD_MS 120000 /* how long a child of these tests may run */

/* A channel of that shape (asserts). */
struct shmx_chan *fan_create(const char *name, size_t capacity, unsigned producers,
			     unsigned consumers, unsigned policy, unsigned flags);
/* The same in a child (TU_CK). */
struct shmx_chan *fan_open(const char *name, unsigned flags);

/* Message seq: fan_len() bytes, its number in the first 8 when it has
 * them, the rest made from the number (with a checksum when long enough).
 * Numbers with seq % 50 == 7 are 1 to 7 bytes long unless ided, which
 * makes every message long enough to carry its number. */
size_t fan_len(uint64_t seq, bool ided);
size_t fan_fill(unsigned char *p, uint64_t seq, bool ided);
/* Whether p (n bytes) is message seq. */
bool fan_intact(const unsigned char *p, size_t n, uint64_t seq, bool ided);
/* The number a message says it has (FAN_ID bytes or more), else ~0. */
uint64_t fan_id(const unsigned char *p, size_t n);
/* Several producers: message n of producer k (k < 4). */
#define FAN_SEQ_BITS 40
static inline uint64_t fan_pid_seq(unsigned k, uint64_t n)
{
	return (uint64_t)(k + 1) << FAN_SEQ_BITS | n;
}

/* Send messages first .. end-1 in turn; every third zero-copy, and every
 * seventh of those committed shorter than it was reserved (the message is
 * what counts; the reservation is larger). Returns 0 or the error. */
int fan_produce(struct shmx_chan *tx, uint64_t first, uint64_t end, bool ided,
		int timeout_ms);

/* What a consumer saw, for its parent. */
struct fan_report {
	int64_t got;            /* messages received */
	int64_t first;          /* number of the first (-1: none) */
	int64_t next;           /* the number after the last */
	int64_t lost;           /* shmx_chan_lost() at the end */
	int64_t nobufs;         /* -ENOBUFS returned */
	int64_t err;            /* the error that ended it */
	int64_t bad;            /* 0, or the number of the first wrong message + 1 */
	uint64_t hash;          /* FNV-1a over the numbers received, in order */
	int64_t spare[3];
	int64_t per[4];         /* several producers: the next number of each */
};

/* How a consumer takes messages. */
enum fan_mode { FAN_RECV, FAN_PEEK, FAN_BATCH, FAN_MIXED };

struct fan_opts {
	enum fan_mode mode;
	bool ided;              /* every message carries its number (fan_len()) */
	int timeout_ms;         /* of each call */
	int slow;               /* sleep 1 ms after every slow messages (0: never) */
	unsigned producers;     /* > 1: messages fan_pid_seq(k, n), n in order per k */
};

/* Receive until an error other than -ENOBUFS: every message must be the
 * next one, its number being its predecessor's plus one, plus what
 * shmx_chan_lost() says was lost in between (overwrite), and intact. The
 * first message's number is taken as it comes (it must carry one; what was
 * lost before it is in spare[0]). With several producers, each message
 * must be the next of its producer, from 0 (per[]); hash is over the
 * order of all. Fills *r (slot in spare[2]); stops at the first wrong
 * message. */
void fan_consume(struct shmx_chan *rx, const struct fan_opts *o, struct fan_report *r);
/* A child that opens name as a consumer, runs fan_consume(), closes and
 * reports on rep. */
pid_t fan_consumer(const char *name, const struct fan_opts *o, int rep);

/* A child's report through a pipe; the parent reads it (asserts). */
void fan_report_send(int fd, const struct fan_report *r);
void fan_report_recv(int fd, struct fan_report *r);

/* The slots of name in shmx_chan_peers() (asserts); returns how many. */
int fan_peers(const char *name, struct shmx_chan_peer *peers, size_t n);
/* How many slots of role are in state (SHMX_PEER_*). */
int fan_count(const char *name, unsigned role, unsigned state);
/* Wait (with a deadline) until exactly n slots of role are in state. */
bool fan_wait_count(const char *name, unsigned role, unsigned state, int n, int timeout_ms);

#endif
