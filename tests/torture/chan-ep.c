/* SPDX-License-Identifier: MIT */
/* A channel episode, the driver's side: a random shape (1:1, queue of
 * several producers, broadcast 1->N and N->M, block or overwrite, named or
 * anonymous, ring of 64 B to 16 KiB), faults at random moments (the
 * name replaced among them), then the probe: once every consumer has
 * emptied the ring, the largest message must fit (chan.wedged). */
#include "chan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool kill_prod, kill_cons, truncating, rdlock;

static int pick_role(int role, struct tt_rng *r)
{
	int c[TT_PROCS], n = 0;

	for (int i = 0; i < TT_PROCS; i++)
		if (atomic_load(&tt->proc[i].state) == TT_P_RUN &&
		    !atomic_load(&tt->proc[i].killing) &&
		    (!role || tt->proc[i].role == role))
			c[n++] = i;
	return n ? c[tt_below(r, n)] : -1;
}

static void shape(struct tt_rng *r)
{
	static const unsigned sh[6][3] = {
		{ 1, 1, 0 }, { 2, 1, 0 }, { 1, 2, 0 }, { 2, 2, 0 }, { 1, 1, 1 }, { 1, 2, 1 },
	};
	unsigned k = (unsigned)tt_below(r, 6);

	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = tt_next(r);
	cfg.producers = sh[k][0] == 2 ? 2 + (unsigned)tt_below(r, 3) : 1;
	cfg.consumers = sh[k][1] == 2 ? 2 + (unsigned)tt_below(r, 2) : 1;
	cfg.policy = sh[k][2];
	/* --shape: what follows is drawn for the shape given (overwrite
	 * takes one producer) */
	if (tt->shape.producers)
		cfg.producers = tt->shape.producers;
	if (tt->shape.consumers)
		cfg.consumers = tt->shape.consumers;
	if (cfg.producers > 1)
		cfg.policy = SHMX_CHAN_POLICY_BLOCK;
	cfg.cap = (size_t)1 << (6 + tt_below(r, 9));
	if (tt->shape.cap)
		cfg.cap = tt->shape.cap;
	cfg.max = cfg.cap / 2 - 8;
	cfg.anon = tt_chance(r, 30);
	cfg.flags = tt_chance(r, 20) ? SHMX_CHAN_BLOCK : 0;
	truncating = !cfg.anon && tt_chance(r, 15);
	rdlock = !cfg.anon && !truncating && tt_chance(r, 15);
	cfg.mode = rdlock ? 0644 : 0600;
	cfg.zero_copy = !truncating;
	kill_prod = cfg.policy == SHMX_CHAN_POLICY_BLOCK && tt_chance(r, 60);
	kill_cons = (cfg.consumers > 1 || is_queue()) && tt_chance(r, 60);
	cfg.small = cfg.producers == 1 && cfg.consumers == 1 && !kill_prod &&
		    !kill_cons && tt_chance(r, 60);
	cfg.padlook = tt_chance(r, 30);
}

static void spawn(int role, struct tt_rng *r)
{
	if (cfg.anon)
		atomic_fetch_add(&tt->spawn_req[role == TT_CONSUMER], 1);
	else
		chan_spawn(role, tt_next(r), -1);
}

/* The creator of the name's current object, if it lives. */
static int current_creator(void)
{
	int g = (int)atomic_load(&tt->ep.chan.ngen);

	for (int i = 0; i < TT_PROCS; i++)
		if (tt->proc[i].creator == g && atomic_load(&tt->proc[i].state) == TT_P_RUN &&
		    !atomic_load(&tt->proc[i].killing))
			return i;
	return -1;
}

/* A supervisor's recovery: remove the channel's name and make a new
 * channel under it, with producers and consumers of its own, while the
 * old peers hold the old object; its creator died first, or lives on.
 * The old peers go on with the old object or end with an error their
 * man pages list; no message crosses to the other object (chan.mixed). */
static void replace_name(struct tt_rng *r)
{
	struct tt_name *n = &tt->names[0];
	uint32_t g = atomic_load(&tt->ep.chan.ngen);
	int k = current_creator();

	/* Not before the name's current object exists: its creator, slow on
	 * a loaded machine, would make it after our unlink, and ours then
	 * finds the name taken (chan.create -EEXIST, seed 195230463086086878) */
	if (g >= TT_GENS || cfg.small || !tt_on(F_REPLACE) ||
	    !atomic_load(&tt->ep.chan.gen_key[g - 1]))
		return;
	atomic_store(&n->live, 0);
	atomic_fetch_add(&n->gen, 1);
	if (k >= 0 && kill_prod && tt_chance(r, 50) && tt_kill(k))
		tt_wait_gone(k);
	tt_fault_step("replace the channel's name");
	atomic_fetch_add(&tt->faults[F_REPLACE], 1);
	shmx_chan_unlink(n->name);
	atomic_store(&tt->ep.chan.ngen, g + 1);
	chan_spawn(TT_PRODUCER, tt_next(r), (int)g);
	for (unsigned i = 1; i < cfg.producers; i++)
		chan_spawn(TT_PRODUCER, tt_next(r), -1);
	for (unsigned i = 0; i < cfg.consumers; i++)
		chan_spawn(TT_CONSUMER, tt_next(r), -1);
}

/* A ring of records a consumer may pass over but that never end: skip
 * records, or reservations of a producer slot nobody holds
 * (docs/channel-format.md). Every call must still keep its deadline. */
static void plant_ring(const char *path, struct tt_rng *r)
{
	struct shmx_chan_info info;
	uint64_t v[2];

	if (shmx_chan_stat(tt->names[0].name, &info))
		return;
	v[0] = (uint64_t)0x5358534du << 32;
	v[1] = (uint64_t)(0x80000000u | (cfg.producers - 1) << 24 | 0x777) << 32;
	for (uint64_t off = 0; off < info.capacity; off += 8) {
		uint64_t w = v[tt_below(r, 2)];

		tt_scribble(path, (off_t)(info.header_size + off),
			    (off_t)(info.header_size + off + 8), r, &w, 1);
	}
}

static void hostile_fault(struct tt_rng *r)
{
	char path[96];
	uint64_t vals[] = {
		0, ~0ull, (uint64_t)0x5358534du << 32, (uint64_t)0x5058534du << 32 | 8,
		(uint64_t)0x4d58534du << 32 | 0xffffff, (uint64_t)0x81000001u << 32,
		(uint64_t)1 << 40, 8,
	};

	snprintf(path, sizeof(path), "/dev/shm/%s", tt->names[0].name + 1);
	if (!tt_on(truncating ? F_TRUNCATE : F_SCRIBBLE))
		return;
	tt_hostile();
	if (truncating) {
		tt_truncate_path(path, (off_t)tt_below(r, 3) * 2048);
		return;
	}
	if (cfg.producers > 1 && tt_chance(r, 50)) {
		tt_fault_step("plant a ring of skippable records");
		atomic_fetch_add(&tt->faults[F_SCRIBBLE], 1);
		plant_ring(path, r);
		return;
	}
	tt_scribble(path, 0, 4096 + (off_t)cfg.cap, r, vals, 8);
}

static void chan_fault(struct tt_rng *r)
{
	char path[96];
	int k;

	if (!cfg.anon && (truncating ? tt_chance(r, 8) : tt_chance(r, 3))) {
		hostile_fault(r);
		return;
	}
	if (!cfg.anon && tt_chance(r, 8)) {
		replace_name(r);
		return;
	}
	if (rdlock && tt_chance(r, 10)) {
		snprintf(path, sizeof(path), "/dev/shm/%s", tt->names[0].name + 1);
		tt_rdlock_other_uid(path, 1500);
		return;
	}
	k = pick_role(0, r);
	if (k < 0)
		return;
	if (tt_chance(r, 30)) {
		tt_stop_cont(k, r);
	} else if (tt_chance(r, 40)) {
		tt_signal(k, tt_chance(r, 30));
	} else if (kill_prod && (k = pick_role(TT_PRODUCER, r)) >= 0 &&
		   (!tt->proc[k].creator || !cfg.anon) && tt_chance(r, 50)) {
		if (k == current_creator() && tt_on(F_KILL))
			atomic_store(&tt->names[0].live, 0);
		if (tt_kill(k)) {
			tt_wait_gone(k);
			spawn(TT_PRODUCER, r);
		}
	} else if (kill_cons && (k = pick_role(TT_CONSUMER, r)) >= 0) {
		if (tt_kill(k)) {
			tt_wait_gone(k);
			spawn(TT_CONSUMER, r);
		}
	}
}

static bool wait_for(bool (*cond)(void), int64_t ns)
{
	int64_t end = tt_now_ns() + ns;

	while (!cond()) {
		if (tt_now_ns() > end)
			return false;
		tt_ep_reap();
		tt_sleep_ms(5);
	}
	return true;
}

static bool all_idle(int role)
{
	int live = 0;

	for (int i = 0; i < TT_PROCS; i++) {
		struct tt_proc *p = &tt->proc[i];

		if (p->role != role || atomic_load(&p->state) != TT_P_RUN ||
		    atomic_load(&p->killing) || !atomic_load(&p->joined))
			continue;
		live++;
		if (!atomic_load(&tt->ep.chan.idle[i]))
			return false;
	}
	return live > 0;
}

static bool producers_idle(void) { return all_idle(TT_PRODUCER); }
static bool consumers_idle(void) { return all_idle(TT_CONSUMER); }
static bool probe_done(void) { return atomic_load(&tt->ep.chan.probe) == 0; }

/* The ring is empty for every consumer: the largest message fits. */
static void probe(struct tt_rng *r)
{
	int k;

	atomic_store(&tt->quiesce, 1);
	tt_cont_all();
	if (!wait_for(producers_idle, 3000000000LL))
		return;
	if (!wait_for(consumers_idle, 3000000000LL)) {
		for (int i = 0; i < TT_PROCS; i++) {
			struct tt_proc *p = &tt->proc[i];

			if (p->role != TT_CONSUMER || atomic_load(&p->state) != TT_P_RUN ||
			    !p->joined || p->killing || tt->ep.chan.idle[i])
				continue;
			tt_check(atomic_load(&tt->hostile), "chan.drain",
				 "the producers stopped; for 3 s a consumer found no end: "
				 "last call returned %d, now in %s", p->last_ret,
				 p->call_t0 ? p->call_what : "no call");
		}
		return;
	}
	k = pick_role(TT_PRODUCER, r);
	if (k < 0 || !atomic_load(&tt->ep.chan.idle[k]))
		return;
	tt_fault_step("probe: the largest message into an empty ring");
	atomic_store(&tt->ep.chan.probe_err, 1);
	atomic_store(&tt->ep.chan.probe, k + 1);
	if (!wait_for(probe_done, 5000000000LL))
		return;
	tt_check(atomic_load(&tt->ep.chan.probe_err) != -ETIMEDOUT || atomic_load(&tt->hostile),
		 "chan.wedged", "%u producers, %u consumers, ring %zu: the largest message "
		 "(%zu B) found no room for 3 s in a ring every consumer had emptied",
		 cfg.producers, cfg.consumers, cfg.cap, cfg.max);
}

void tt_chan_episode(struct tt_rng *r, int64_t budget_ns)
{
	static unsigned no;
	int64_t end = tt_now_ns() + budget_ns;
	int faults = 3 + (int)tt_below(r, 16);
	char what[128];

	tt_ep_reset();
	shape(r);
	tt_name_set(0, "c%u", no++);
	snprintf(what, sizeof(what), "%s channel %u:%u %s ring %zu%s%s",
		 cfg.anon ? "anonymous" : "named", cfg.producers, cfg.consumers,
		 cfg.policy ? "overwrite" : "block", cfg.cap, cfg.small ? " small" : "",
		 cfg.padlook ? " padlook" : "");
	tt_episode(what);
	atomic_store(&tt->ep.chan.ngen, 1);
	chan_spawn(TT_PRODUCER, tt_next(r), 0);
	for (unsigned i = 1; i < cfg.producers; i++)
		spawn(TT_PRODUCER, r);
	for (unsigned i = 0; i < cfg.consumers; i++)
		spawn(TT_CONSUMER, r);
	/* a number of faults, not a time: a seed replays the same schedule */
	for (int f = 0; f < faults && tt_now_ns() < end; f++) {
		tt_ep_watch();
		tt_sleep_ms(20 + (double)tt_below(r, 200));
		chan_fault(r);
	}
	/* the probe's largest message has no header to tell it apart by; a
	 * producer of an old object may have no consumer left to empty it */
	if (!atomic_load(&tt->hostile) && cfg.policy == SHMX_CHAN_POLICY_BLOCK && !cfg.small &&
	    atomic_load(&tt->ep.chan.ngen) == 1)
		probe(r);
	tt_ep_wait_all(8000000000LL);
	if (!cfg.anon) {
		atomic_store(&tt->names[0].live, 0);
		shmx_chan_unlink(tt->names[0].name);
	}
}
