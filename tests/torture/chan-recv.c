/* SPDX-License-Identifier: MIT */
/* Channel consumers: every call that receives (recv, peek/release,
 * batches, the pollable descriptor), each message checked against what its
 * producer must have sent. Invariants, from shmx(7) TOPOLOGIES: a queue
 * delivers each message of a live producer once and in its order, also
 * across a consumer replaced (one message a dead one was reading may come
 * again); a broadcast consumer gets everything sent after it attached; an
 * overwrite consumer has received + lost = sent exactly. After the name
 * was replaced, a consumer gets the messages of its own object's
 * producers only (chan.mixed). */
#include "chan.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct cons {
	struct shmx_chan *c;
	uint8_t *buf;
	size_t size;
	uint64_t next[TT_PRODS];        /* broadcast, overwrite: seq + 1 */
	uint64_t first_hi[TT_PRODS];    /* the first one may be at most this */
	bool seen[TT_PRODS];
	uint32_t takeover;              /* messages a dead predecessor held */
	uint64_t lost;
	int gen;                        /* of the name's objects: chan_gen() */
	bool polled;
};

static bool hostile(void)
{
	return atomic_load(&tt->hostile) != 0;
}

/* Which producer and sequence a message claims, or false. */
static bool identify(struct cons *s, const uint8_t *b, size_t len, unsigned *pk,
		     uint64_t *seq, bool *probe)
{
	uint32_t w;

	if (cfg.producers == 1 && cfg.small) {
		*pk = 0;
		*seq = is_queue() ? atomic_load(&tt->ep.chan.last[0]) : s->next[0];
		*probe = false;
		return true;
	}
	if (len < HDR)
		return false;
	memcpy(&w, b, 4);
	*probe = w & PROBE_FLAG;
	*pk = w & ~PROBE_FLAG;
	memcpy(seq, b + 8, 8);
	return *pk < atomic_load(&tt->ep.chan.nprod);
}

static void check_order(struct cons *s, unsigned pk, uint64_t seq)
{
	uint64_t exp, k = s->takeover;

	if (is_queue()) {
		exp = atomic_load(&tt->ep.chan.last[pk]);
		if (!s->seen[pk] && k)
			atomic_fetch_add(&tt->takeover_checks, 1);
		if (!s->seen[pk] && k)
			tt_check(seq + k >= exp && seq <= exp + k, "chan.order",
				 "queue: producer %u message %llu after a takeover, expected %llu (+-%llu)",
				 pk, (unsigned long long)seq, (unsigned long long)exp,
				 (unsigned long long)k);
		else
			tt_check(seq == exp, "chan.order",
				 "queue: producer %u message %llu, expected %llu", pk,
				 (unsigned long long)seq, (unsigned long long)exp);
		atomic_store(&tt->ep.chan.last[pk], seq + 1);
	} else if (!s->seen[pk]) {
		tt_check(seq <= s->first_hi[pk], "chan.order",
			 "producer %u: first message %llu, sent before attach %llu",
			 pk, (unsigned long long)seq, (unsigned long long)s->first_hi[pk]);
	} else {
		tt_check(seq == s->next[pk], "chan.order",
			 "producer %u message %llu, expected %llu (lost so far %llu)", pk,
			 (unsigned long long)seq, (unsigned long long)s->next[pk],
			 (unsigned long long)s->lost);
	}
	s->next[pk] = seq + 1;
	s->seen[pk] = true;
}

static void check_msg(struct cons *s, const uint8_t *b, size_t len)
{
	static uint8_t *want;
	unsigned pk;
	uint64_t seq;
	size_t due, bad = 0;
	bool probe, ok;

	if (hostile())
		return;
	if (!want)
		want = malloc(cfg.max + 8);
	ok = identify(s, b, len, &pk, &seq, &probe);
	tt_check(ok, "chan.payload", "a message of %zu bytes from no producer", len);
	if (!ok)
		return;
	ok = cfg.small || atomic_load(&tt->ep.chan.gen_of[pk]) == s->gen + 1;
	tt_check(ok, "chan.mixed", "a consumer of the name's object %d got producer %u's "
		 "message %llu, sent into object %d", s->gen, pk, (unsigned long long)seq,
		 (int)atomic_load(&tt->ep.chan.gen_of[pk]) - 1);
	if (!ok)
		return;
	due = probe ? cfg.max : msg_len(pk, seq);
	ok = len == due;
	if (ok) {
		msg_fill(want, len, pk, seq, probe);
		while (bad < len && want[bad] == b[bad])
			bad++;
		ok = bad == len;
	}
	tt_check(ok, "chan.payload", "producer %u message %llu: %zu bytes (due %zu), "
		 "corrupt or not the one due (first wrong byte at %zu)",
		 pk, (unsigned long long)seq, len, due, bad);
	check_order(s, pk, seq);
}

/* -ENOBUFS: the messages lost move what comes next (one producer: the
 * creator of our object). */
static void overtaken(struct cons *s)
{
	ssize_t lost = shmx_chan_lost(s->c);
	unsigned pk = (unsigned)atomic_load(&tt->ep.chan.gen_creator[s->gen]);

	tt_check(lost >= (ssize_t)s->lost, "chan.lost", "lost went from %llu to %zd",
		 (unsigned long long)s->lost, lost);
	if (lost < (ssize_t)s->lost)
		return;
	if (s->seen[pk])
		s->next[pk] += (uint64_t)lost - s->lost;
	else
		s->first_hi[pk] += (uint64_t)lost - s->lost;
	s->lost = (uint64_t)lost;
}

static long recv_peek(struct cons *s, int tmo)
{
	struct tt_call k;
	const void *p;
	long n, err;

	tt_call_begin(&k, "shmx_chan_peek", tmo);
	n = tt_call_end(&k, shmx_chan_peek(s->c, &p, tmo));
	if (n < 0)
		return n;
	memcpy(s->buf, p, (size_t)n);
	tt_call_begin(&k, "shmx_chan_release", TT_PROMPT);
	err = tt_call_end(&k, shmx_chan_release(s->c));
	if (err)
		return err;     /* -ENOBUFS: torn, discard it */
	check_msg(s, s->buf, (size_t)n);
	return 1;
}

static long recv_batch(struct cons *s, int tmo, struct tt_rng *r)
{
	size_t lens[16], max = 1 + tt_below(r, 16), off = 0;
	struct tt_call k;
	long n;

	tt_me->inflight = (uint32_t)max;
	tt_call_begin(&k, "shmx_chan_recv_batch", tmo);
	n = tt_call_end(&k, shmx_chan_recv_batch(s->c, s->buf, s->size, lens, max, tmo));
	for (long i = 0; i < n; i++) {
		check_msg(s, s->buf + off, lens[i]);
		off += lens[i];
	}
	return n;
}

static long recv_one(struct cons *s, struct tt_rng *r, int tmo)
{
	struct tt_call k;
	long n;

	tt_me->inflight = 1;
	if (cfg.zero_copy && tt_chance(r, 30))
		return recv_peek(s, tmo);
	if (tt_chance(r, 30))
		return recv_batch(s, tmo, r);
	tt_call_begin(&k, "shmx_chan_recv", tmo);
	n = tt_call_end(&k, shmx_chan_recv(s->c, s->buf, cfg.max, tmo));
	if (n < 0)
		return n;
	check_msg(s, s->buf, (size_t)n);
	return 1;
}

/* A try found nothing and armed the descriptor; a message that is there
 * now must make it readable (shmx(7), Polling). */
static long recv_polled(struct cons *s, struct tt_rng *r)
{
	struct pollfd pfd = { .fd = shmx_chan_fd(s->c), .events = POLLIN };
	uint32_t stops = atomic_load(&tt_me->stops);
	long n = recv_one(s, r, 0);
	int pr;

	tt_check(pfd.fd >= 0 || tt_documented("shmx_chan_fd", pfd.fd), "chan.errors",
		 "shmx_chan_fd returned %d, an error its man page does not list", pfd.fd);
	if (n != -EAGAIN || pfd.fd < 0)
		return n;
	if (cfg.producers == 1 && cfg.policy == SHMX_CHAN_POLICY_BLOCK &&
	    shmx_chan_pending(s->c) > 0) {
		pr = poll(&pfd, 1, 1000);
		tt_check(pr != 0 || hostile() || atomic_load(&tt_me->stops) != stops,
			 "poll.missed", "a message was waiting and the descriptor stayed unreadable 1 s");
		return -EAGAIN;
	}
	poll(&pfd, 1, (int)tt_below(r, 200));
	return -EAGAIN;
}

static bool producers_idle(void)
{
	for (int i = 0; i < TT_PROCS; i++) {
		struct tt_proc *p = &tt->proc[i];

		if (p->role == TT_PRODUCER && atomic_load(&p->state) == TT_P_RUN &&
		    atomic_load(&p->joined) && !atomic_load(&p->killing) &&
		    !atomic_load(&tt->ep.chan.idle[i]))
			return false;
	}
	return true;
}

/* Everything every producer sent after we attached came, exactly. A
 * queue consumer killed in a call may have taken its last messages with
 * it: they were delivered, to the dead one. */
static void final_check(struct cons *s)
{
	uint64_t k = atomic_load(&tt->ep.chan.takeover);

	for (unsigned pk = 0; pk < atomic_load(&tt->ep.chan.nprod) && !hostile(); pk++) {
		uint64_t sent = atomic_load(&tt->ep.chan.sent[pk]);
		uint64_t d = atomic_load(&tt->ep.chan.dead[pk]);
		uint64_t got = is_queue() ? atomic_load(&tt->ep.chan.last[pk])
					  : s->seen[pk] ? s->next[pk] : 0;
		uint64_t lo = !is_queue() ? sent : k < sent ? sent - k : 0;

		if (atomic_load(&tt->ep.chan.gen_of[pk]) != s->gen + 1)
			continue;       /* another object's producer, or none */
		if (!is_queue() && !s->seen[pk]) {
			tt_check(sent <= s->first_hi[pk] + (d ? d - 1 : 0), "chan.exactly-once",
				 "producer %u sent %llu, none came (attached at %llu)", pk,
				 (unsigned long long)sent, (unsigned long long)s->first_hi[pk]);
			continue;
		}
		tt_check(got >= lo && got <= (d ? sent + d - 1 : sent),
			 "chan.exactly-once", "producer %u%s sent %llu, received up to %llu (lost %llu)",
			 pk, d ? " (killed)" : "", (unsigned long long)sent,
			 (unsigned long long)got, (unsigned long long)s->lost);
	}
}

/* The messages killed consumers may have taken with them: what each was
 * in a call for when it was killed (its inflight, final once it is dead).
 * Read from their entries, not from ep.chan.takeover, which their reaper
 * adds to only when it reaps them: a slot is free from its holder's death
 * on, so a consumer already waiting for it (one of an old object's,
 * respawned after the name was replaced, opens the new object's name)
 * takes it before that, and took a count short of the dead one's call
 * for a loss (chan.order "after a takeover, expected N (+-k)", seed
 * 12834033331558405327). A killed one still alive is another object's
 * consumer (ours is dead: we hold its slot): counting it only widens
 * the tolerance. */
static uint32_t takeover_so_far(void)
{
	uint32_t n = 0;
	bool stale = false;

	for (int i = 0; i < TT_PROCS; i++) {
		struct tt_proc *p = &tt->proc[i];

		if (p->role != TT_CONSUMER || !atomic_load(&p->killing))
			continue;
		n += atomic_load(&p->inflight);
		stale |= atomic_load(&p->state) == TT_P_RUN && atomic_load(&p->inflight);
	}
	if (stale)
		atomic_fetch_add(&tt->attach_unreaped, 1);
	return n;
}

/* With messages too short to carry a header, the one consumer attached
 * before the first send (chan_producer() waits for it): it starts at 0. */
static void attach_base(struct cons *s)
{
	s->takeover = takeover_so_far();
	for (unsigned pk = 0; pk < TT_PRODS; pk++)
		s->first_hi[pk] = atomic_load(&tt->ep.chan.sent[pk]) + 16;
	s->seen[0] = cfg.small;
	atomic_fetch_add(&tt->ep.chan.attached, 1);
}

static bool consumer_step(struct cons *s, struct tt_rng *r, int64_t *end)
{
	int tmo = tt_chance(r, 15) ? 0 : 1 + (int)tt_below(r, 200);
	long n = s->polled ? recv_polled(s, r) : recv_one(s, r, tmo);

	tt_me->inflight = 0;
	tt_check(hostile() || n > 0 || n == -ETIMEDOUT || n == -EAGAIN || n == -EPIPE ||
		 n == -EOWNERDEAD || (n == -ENOBUFS && cfg.policy), "chan.errors",
		 "consumer: %ld from an honest channel", n);
	if (n == -ENOBUFS)
		overtaken(s);
	if ((n == -ETIMEDOUT || n == -EAGAIN || n == -EPIPE || n == -EOWNERDEAD) &&
	    atomic_load(&tt->quiesce) && producers_idle())
		atomic_store(&tt->ep.chan.idle[tt_me - tt->proc], 1);
	if (tt_stopping() && !*end)
		*end = tt_now_ns() + 4000000000LL;
	if (*end && (n == -EPIPE || n == -EOWNERDEAD)) {
		final_check(s);
		return false;
	}
	if (*end && tt_now_ns() > *end) {
		tt_check(hostile(), "chan.end",
			 "no -EPIPE/-EOWNERDEAD 4 s after the producers were told to leave");
		return false;
	}
	if (n < 0 && n != -ETIMEDOUT && n != -EAGAIN && n != -ENOBUFS)
		tt_sleep_ms(2);
	return true;
}

void chan_consumer(int idx, uint64_t seed)
{
	struct tt_rng r = { seed };
	struct cons *s = calloc(1, sizeof(*s));
	struct tt_call k;
	int64_t end = 0;
	int err;

	(void)idx;
	s->size = cfg.max * 16 + 64;
	s->buf = malloc(s->size);
	s->polled = tt_chance(&r, 25);
	if (cfg.anon)
		tt_close_inherited(shmx_fd(shmx_chan_region(anon_chan)));
	while (!tt_stopping() && !s->c) {
		if (cfg.anon) {
			tt_call_begin(&k, "shmx_chan_attach", TT_PROMPT);
			err = (int)tt_call_end(&k, shmx_chan_attach(shmx_chan_region(anon_chan),
					SHMX_CHAN_CONSUMER | cfg.flags, &s->c));
		} else {
			tt_call_begin(&k, "shmx_chan_open", 200);
			err = (int)tt_call_end(&k, shmx_chan_open(tt->names[0].name,
					SHMX_CHAN_CONSUMER | cfg.flags, 200, &s->c));
		}
		if (err)
			tt_sleep_ms(1 + (double)tt_below(&r, 10));
	}
	s->gen = s->c ? chan_gen(s->c) : -1;
	tt_check(!s->c || s->gen >= 0, "chan.replace",
		 "a consumer joined an object no creator of the name made");
	if (s->c && s->gen >= 0) {
		attach_base(s);
		atomic_store(&tt_me->joined, 1);
	}
	while (s->c && s->gen >= 0 && consumer_step(s, &r, &end))
		;
	tt_call_begin(&k, "shmx_chan_close", TT_PROMPT);
	tt_call_end(&k, (shmx_chan_close(s->c), 0));
	free(s->buf);
	free(s);
}
