/* SPDX-License-Identifier: MIT */
/* What the channel workers (chan.c) and the channel episode (chan-ep.c)
 * share: the shape of the channel, fixed before the first fork. */
#ifndef TORTURE_CHAN_H
#define TORTURE_CHAN_H

#include "torture.h"

#define HDR 16                  /* identity, length, sequence */
#define PROBE_FLAG 0x80000000u

struct ccfg {
	uint64_t seed;
	unsigned producers, consumers, policy, flags;
	size_t cap, max;
	bool anon;
	mode_t mode;
	bool small;             /* messages below HDR bytes (one producer) */
	bool padlook;           /* payload words that look like padding */
	bool zero_copy;         /* reserve and peek (no truncation planned) */
};

extern struct ccfg cfg;
extern struct shmx_chan *anon_chan;

static inline bool is_queue(void)
{
	return cfg.consumers == 1 && cfg.policy == SHMX_CHAN_POLICY_BLOCK;
}

size_t msg_len(unsigned pk, uint64_t seq);
void msg_fill(uint8_t *b, size_t len, unsigned pk, uint64_t seq, bool probe);
void chan_producer(int idx, uint64_t seed);
void chan_consumer(int idx, uint64_t seed);
int chan_spawn(int role, uint64_t seed, int gen);
int chan_gen(struct shmx_chan *c);

#endif
