/* SPDX-License-Identifier: MIT */
/* What the channel tests share: messages that carry their sequence number
 * and a checksum, in a schedule of sizes that straddles the ring's wrap
 * point every way, and the producer and consumer loops that send and check
 * them (in processes and in threads). */
#ifndef SHMX_CHANNEL_UTIL_H
#define SHMX_CHANNEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000 /* "forever" for a test: failing beats hanging */

/* n scaled by SHMX_TEST_SCALE (e.g. 0.01 for sanitizers), at least 1000. */
long scaled(long n);
/* Message seq: len >= 16: seq, checksum of the rest, pattern; shorter:
 * pattern only. */
void fill(unsigned char *p, size_t len, uint64_t seq);
/* Whether p (len bytes) is message seq as fill() made it. */
bool intact(const unsigned char *p, size_t len, uint64_t seq);
/* Send count messages (count < 0: until an error); zero-copy for every
 * third. Returns 0 or the error that stopped it. */
int produce(struct shmx_chan *tx, long count, unsigned char *buf);
/* Receive until count messages in all or an error; every message must be
 * the next in sequence (*got, counted up), of the scheduled size, intact.
 * Returns 0, the error, or -EILSEQ for a wrong message. */
int consume_all(struct shmx_chan *rx, long count, unsigned char *buf, long *got);

#endif
