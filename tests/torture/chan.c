/* SPDX-License-Identifier: MIT */
/* Channel producers: numbered, checksummed messages through every call
 * that sends (send, reserve/commit with short commits, batches), directly
 * or through the pollable descriptor. A message's length and bytes are a
 * function of (seed, producer, sequence), so a consumer checks each one
 * exactly. Contracts: shmx(7) TOPOLOGIES, shmx_chan_send(3). */
#include "chan.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

struct ccfg cfg;
struct shmx_chan *anon_chan;

size_t msg_len(unsigned pk, uint64_t seq)
{
	uint64_t h = tt_mix(cfg.seed ^ ((uint64_t)pk << 40) ^ seq);
	size_t lo = cfg.small ? 0 : HDR;

	switch (h % 10) {
	case 0:
		return cfg.small ? 0 : HDR;
	case 1:
		return cfg.max;
	case 2:
		return lo + (h >> 8) % (HDR - lo + 1);
	case 3: case 4: case 5: case 6:
		return lo + (h >> 8) % ((cfg.max < 64 ? cfg.max : 64) - lo + 1);
	default:
		return lo + (h >> 8) % (cfg.max - lo + 1);
	}
}

/* The header (when it fits), then words: random, or padding-like ones
 * (the record format of docs/channel-format.md) that a consumer must
 * never take for records. */
void msg_fill(uint8_t *b, size_t len, unsigned pk, uint64_t seq, bool probe)
{
	uint64_t h = tt_mix(cfg.seed ^ ((uint64_t)pk << 40) ^ seq ^ 0x5a5a);
	size_t i = 0;
	uint32_t w32;

	if (len >= HDR && (cfg.producers > 1 || !cfg.small)) {
		w32 = pk | (probe ? PROBE_FLAG : 0);
		memcpy(b, &w32, 4);
		w32 = (uint32_t)len;
		memcpy(b + 4, &w32, 4);
		memcpy(b + 8, &seq, 8);
		i = HDR;
	}
	for (; i < len; i += 8) {
		uint64_t w;

		h = tt_mix(h);
		w = h;
		if (cfg.padlook && (h & 1))
			w = (uint64_t)0x5058534du << 32 | ((h >> 8) & 0xff8);
		else if (cfg.padlook && (h & 2))
			w = (uint64_t)0x5358534du << 32 | ((h >> 8) & 0xff8);
		memcpy(b + i, &w, len - i < 8 ? len - i : 8);
	}
}

static uint64_t obj_key(struct shmx_chan *c)
{
	struct stat st;

	if (fstat(shmx_fd(shmx_chan_region(c)), &st))
		return 0;
	return (uint64_t)st.st_ino ^ (uint64_t)st.st_dev << 48;
}

/* Which generation of the name's objects c is a handle of: the one whose
 * creator recorded its (dev, inode), the latest if tmpfs gave a freed
 * inode again; -1 if none within 2 s. */
int chan_gen(struct shmx_chan *c)
{
	uint64_t key = obj_key(c);
	int64_t end = tt_now_ns() + 2000000000LL;

	do {
		for (int g = (int)atomic_load(&tt->ep.chan.ngen) - 1; g >= 0; g--)
			if (atomic_load(&tt->ep.chan.gen_key[g]) == key)
				return g;
		tt_sleep_ms(1);
	} while (tt_now_ns() < end);
	return -1;
}

static struct shmx_chan *chan_join(unsigned role, struct tt_rng *r)
{
	struct shmx_chan *c = NULL;
	struct tt_call k;
	int err;

	while (!tt_stopping()) {
		if (cfg.anon) {
			tt_close_inherited(shmx_fd(shmx_chan_region(anon_chan)));
			tt_call_begin(&k, "shmx_chan_attach", TT_PROMPT);
			err = (int)tt_call_end(&k, shmx_chan_attach(shmx_chan_region(anon_chan),
								  role | cfg.flags, &c));
		} else {
			tt_call_begin(&k, "shmx_chan_open", 200);
			err = (int)tt_call_end(&k, shmx_chan_open(tt->names[0].name,
								  role | cfg.flags, 200, &c));
		}
		if (!err)
			return c;
		tt_sleep_ms(1 + (double)tt_below(r, 10));
	}
	return NULL;
}

static int pick_tmo(struct tt_rng *r)
{
	return tt_chance(r, 15) ? 0 : (int)tt_below(r, 300);
}

/* One send of message seq (a batch from it); returns messages sent. */
static long send_one(struct shmx_chan *c, unsigned pk, uint64_t seq, struct tt_rng *r,
		     uint8_t *buf, bool probe)
{
	size_t len = probe ? cfg.max : msg_len(pk, seq);
	int tmo = probe ? 3000 : pick_tmo(r);
	struct tt_call k;
	long err;
	void *p;

	tt_me->inflight = 1;
	if (!probe && cfg.zero_copy && tt_chance(r, 30)) {
		size_t res = len;

		if (tt_chance(r, 50))
			res += tt_below(r, cfg.max - len + 1);
		tt_call_begin(&k, "shmx_chan_reserve", tmo);
		err = tt_call_end(&k, shmx_chan_reserve(c, res, &p, tmo));
		if (err)
			return err;
		msg_fill(p, len, pk, seq, false);
		tt_call_begin(&k, "shmx_chan_commit", TT_PROMPT);
		err = tt_call_end(&k, shmx_chan_commit(c, len));
		return err ? err : 1;
	}
	if (!probe && tt_chance(r, 25)) {
		struct iovec iov[8];
		size_t n = 1 + tt_below(r, 8), off = 0;

		for (size_t i = 0; i < n; i++) {
			iov[i].iov_len = msg_len(pk, seq + i);
			iov[i].iov_base = buf + off;
			msg_fill(buf + off, iov[i].iov_len, pk, seq + i, false);
			off += iov[i].iov_len;
		}
		tt_me->inflight = (uint32_t)n;
		tt_call_begin(&k, "shmx_chan_send_batch", tmo);
		return tt_call_end(&k, shmx_chan_send_batch(c, iov, n, tmo));
	}
	msg_fill(buf, len, pk, seq, probe);
	tt_call_begin(&k, "shmx_chan_send", tmo);
	err = tt_call_end(&k, shmx_chan_send(c, buf, len, tmo));
	return err ? err : 1;
}

/* Through the descriptor: tries (timeout 0), poll(2) between them. */
static long send_polled(struct shmx_chan *c, unsigned pk, uint64_t seq,
			struct tt_rng *r, uint8_t *buf)
{
	struct pollfd pfd = { .fd = shmx_chan_fd(c), .events = POLLIN };
	long n = -EAGAIN;

	if (pfd.fd < 0) {
		tt_check(tt_documented("shmx_chan_fd", pfd.fd), "chan.errors",
			 "shmx_chan_fd returned %d, an error its man page does not list",
			 pfd.fd);
		return pfd.fd;
	}
	for (int i = 0; i < 4 && n == -EAGAIN && !tt_stopping(); i++) {
		struct tt_call k;

		msg_fill(buf, msg_len(pk, seq), pk, seq, false);
		tt_me->inflight = 1;
		tt_call_begin(&k, "shmx_chan_send", 0);
		n = tt_call_end(&k, shmx_chan_send(c, buf, msg_len(pk, seq), 0));
		n = n ? n : 1;
		if (n == -EAGAIN)
			poll(&pfd, 1, (int)tt_below(r, 100));
	}
	return n;
}

/* The anonymous channel's creator reaps its dead first: a queue
 * consumer's replacement must find the messages the dead one took in its
 * call already counted (ep.chan.takeover, tt_reap_one()). */
static void anon_spawns(uint64_t seed)
{
	static uint32_t made[2];
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		tt_reap_one(pid, st);
	for (int k = 0; k < 2; k++)
		while (atomic_load(&tt->spawn_req[k]) > made[k] && !tt_stopping())
			chan_spawn(k ? TT_CONSUMER : TT_PRODUCER, tt_mix(seed + ++made[k]), -1);
}

static bool producer_step(struct shmx_chan *c, struct tt_rng *r, uint8_t *buf,
			  uint64_t *seq, bool polled)
{
	unsigned pk = (unsigned)tt_me->ident;
	bool probe = atomic_load(&tt->ep.chan.probe) == (int32_t)(tt_me - tt->proc) + 1;
	long n;

	if (atomic_load(&tt->quiesce) && !probe) {
		atomic_store(&tt->ep.chan.idle[tt_me - tt->proc], 1);
		tt_sleep_ms(2);
		return true;
	}
	n = polled && !probe ? send_polled(c, pk, *seq, r, buf)
			     : send_one(c, pk, *seq, r, buf, probe);
	if (n > 0) {
		*seq += (uint64_t)n;
		atomic_store(&tt->ep.chan.sent[pk], *seq);
	}
	tt_me->inflight = 0;
	if (probe) {
		atomic_store(&tt->ep.chan.probe_err, n > 0 ? 0 : (int32_t)n);
		atomic_store(&tt->ep.chan.probe, 0);
	}
	tt_check(atomic_load(&tt->hostile) || n > 0 || n == -ETIMEDOUT || n == -EAGAIN ||
		 n == -EPIPE || n == -EOWNERDEAD, "chan.errors",
		 "producer %u, message %llu: %ld from an honest channel", pk,
		 (unsigned long long)*seq, n);
	if (n < 0 && n != -ETIMEDOUT && n != -EAGAIN)
		tt_sleep_ms(2);
	return n != -EINPROGRESS;
}

void chan_producer(int idx, uint64_t seed)
{
	struct tt_rng r = { seed };
	struct shmx_chan *c;
	uint8_t *buf = malloc(cfg.max * 8 + 64);
	int gen = tt->proc[idx].creator - 1;
	bool creator = gen >= 0, polled = tt_chance(&r, 25);
	uint64_t seq = 0;
	struct shmx_chan_params prm = {
		.capacity = cfg.cap, .producers = cfg.producers,
		.consumers = cfg.consumers, .policy = cfg.policy,
	};
	int err;

	if (creator) {
		err = cfg.anon ? shmx_chan_create_anon_params(&prm, SHMX_CHAN_PRODUCER |
							      cfg.flags, &anon_chan)
			       : shmx_chan_create_params(tt->names[0].name, &prm,
							 SHMX_CHAN_PRODUCER | cfg.flags,
							 cfg.mode, &anon_chan);
		tt_check(!err, "chan.create", "create%s: %d", gen ? " after a replacement" : "",
			 err);
		if (err)
			return;
		atomic_store(&tt->ep.chan.gen_creator[gen], tt_me->ident);
		atomic_store(&tt->ep.chan.gen_key[gen], obj_key(anon_chan));
		atomic_store(&tt->names[0].live, !cfg.anon);
		c = anon_chan;
	} else {
		c = chan_join(SHMX_CHAN_PRODUCER, &r);
		gen = c ? chan_gen(c) : -1;
		tt_check(!c || gen >= 0, "chan.replace",
			 "producer %d joined an object no creator of the name made", tt_me->ident);
	}
	if (c && gen >= 0) {
		atomic_store(&tt->ep.chan.gen_of[tt_me->ident], gen + 1);
		atomic_store(&tt_me->joined, 1);
	}
	while (c && gen >= 0 && !tt_stopping()) {
		if (creator && cfg.anon)
			anon_spawns(seed);
		if (cfg.small && !atomic_load(&tt->ep.chan.attached)) {
			tt_sleep_ms(1);
			continue;
		}
		if (!producer_step(c, &r, buf, &seq, polled))
			break;
	}
	if (creator && gen + 1 == (int)atomic_load(&tt->ep.chan.ngen))
		atomic_store(&tt->names[0].live, 0);
	{
		struct tt_call k;

		tt_call_begin(&k, "shmx_chan_close", TT_PROMPT);
		tt_call_end(&k, (shmx_chan_close(c), 0));
	}
	free(buf);
	if (creator && cfg.anon) {
		int st;
		pid_t pid;

		while ((pid = waitpid(-1, &st, 0)) > 0)
			tt_reap_one(pid, st);
	}
}

/* A producer or a consumer; a producer that creates generation gen of
 * the name's objects when gen >= 0. */
int chan_spawn(int role, uint64_t seed, int gen)
{
	int i = tt_free_proc();

	if (i < 0)
		return -1;
	tt->proc[i].role = role;
	tt->proc[i].creator = gen + 1;
	tt->proc[i].ident = role == TT_PRODUCER
		? (int)atomic_fetch_add(&tt->ep.chan.nprod, 1) : 0;
	if (tt->proc[i].ident >= TT_PRODS) {
		atomic_store(&tt->proc[i].state, TT_P_FREE);
		return -1;
	}
	tt_spawn(i, role == TT_PRODUCER ? chan_producer : chan_consumer, seed);
	return i;
}
