/* SPDX-License-Identifier: MIT */
/* Broadcast channels (several consumer slots, shmx(7)) between real
 * processes: every consumer receives every message sent after it attached,
 * exactly once and in order, a consumer that joins mid-stream starts where
 * it attached, one killed -9 holds the producer up for no more than a
 * wait slice, and what shmx_chan_peers() says of each slot. Overwriting is
 * test-overwrite.c, several producers test-mprod.c.
 * SHMX_TEST_SCALE (e.g. 0.1) shrinks the message counts for sanitizers. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanout-util.h"

#define BLOCK SHMX_CHAN_POLICY_BLOCK

/* A consumer child that takes messages the way mode says. */
static pid_t consumer(const char *name, enum fan_mode mode, int rep)
{
	const struct fan_opts o = { .mode = mode, .timeout_ms = LONG_MS };

	return fan_consumer(name, &o, rep);
}

static uint64_t hash_of(uint64_t first, uint64_t end)
{
	uint64_t h = TU_FNV_INIT;

	for (uint64_t s = first; s < end; s++)
		h = tu_fnv1a(h, &s, sizeof(s));
	return h;
}

static void assert_report(const struct fan_report *r, int64_t first, int64_t end)
{
	if (r->bad)
		print_message("# wrong message: number %lld\n", (long long)r->bad - 1);
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->err, -EPIPE);   /* the producer closed, all was taken */
	assert_int_equal(r->first, first);
	assert_int_equal(r->next, end);
	assert_int_equal(r->got, end - first);
	assert_int_equal(r->nobufs, 0);
	assert_int_equal(r->lost, 0);
	assert_true(r->hash == hash_of((uint64_t)first, (uint64_t)end));
}

/* ---- every message to every consumer ---- */

/* Four consumers (recv, peek/release, recv_batch, all three in turn) from
 * the start, a fifth from the middle: the producer stops after message
 * half - 1 until shmx_chan_peers() shows the fifth attached, so it must
 * receive exactly half .. n-1. */
static void test_every_consumer_every_message_late_one_from_its_attach(void **state)
{
	const char *name = tu_name();
	int64_t n = scaled(1000000), half = n / 2, t0 = tu_now_ms();
	struct shmx_chan_peer peers[6];
	struct fan_report r[5];
	struct shmx_chan *tx;
	int rep[5][2];
	pid_t pid[5];

	(void)state;
	while (half % 50 == 7)  /* the first message it sees carries its number */
		half++;
	tx = fan_create(name, 1 << 16, 1, 5, BLOCK, P);
	for (int i = 0; i < 5; i++)
		assert_int_equal(pipe(rep[i]), 0);
	for (int i = 0; i < 4; i++)
		pid[i] = consumer(name, (enum fan_mode)i, rep[i][1]);
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 4, LONG_MS));
	assert_int_equal(fan_produce(tx, 0, (uint64_t)half, false, LONG_MS), 0);
	pid[4] = consumer(name, FAN_RECV, rep[4][1]);
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 5, LONG_MS));
	assert_int_equal(fan_produce(tx, (uint64_t)half, (uint64_t)n, false, LONG_MS), 0);
	tx = shmx_chan_close(tx);
	for (int i = 0; i < 5; i++) {
		fan_report_recv(rep[i][0], &r[i]);
		assert_int_equal(tu_child_verdict(pid[i], CHILD_MS, NULL), 0);
		assert_report(&r[i], i < 4 ? 0 : half, n);
		close(rep[i][0]);
		close(rep[i][1]);
	}
	/* Each slot closed, having received its messages. */
	assert_int_equal(fan_peers(name, peers, 6), 6);
	for (int i = 1; i < 6; i++) {
		assert_int_equal(peers[i].state, SHMX_PEER_CLOSED);
		assert_int_equal(peers[i].count, i < 5 ? n : n - half);
	}
	assert_int_equal(peers[0].count, n);
	print_message("# %lld messages to 4 + 1 consumers in %lld ms\n", (long long)n,
		      (long long)(tu_now_ms() - t0));
}

/* ---- what shmx_chan_peers() calls attached ---- */

/* A child opening a consumer stops right after it took its slot's lock
 * (the wrapper below), before its cursor is in place. */
static int stall_ready = -1, stall_go = -1;

int __real_shmx__slot_lock(int fd, unsigned slot);
int __wrap_shmx__slot_lock(int fd, unsigned slot);
int __wrap_shmx__slot_lock(int fd, unsigned slot)
{
	int err = __real_shmx__slot_lock(fd, slot);

	if (!err && stall_ready >= 0) {
		tu_ev_post(stall_ready);
		TU_CK(tu_ev_wait(stall_go, LONG_MS));
		stall_ready = -1;
	}
	return err;
}

/* A consumer shmx_chan_peers() shows attached receives every message sent
 * from then on: one that has its lock and not yet its cursor is not
 * shown attached. */
static void test_peers_attached_means_receiving(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx;
	int ready[2], go[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ready);
	tu_ev_init(go);
	tx = fan_create(name, 4096, 1, 2, BLOCK, P);
	pid = tu_fork();
	if (pid == 0) {
		unsigned char buf[64];
		struct shmx_chan *rx;

		stall_ready = ready[1];
		stall_go = go[0];
		rx = fan_open(name, C);
		TU_CKEQ(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), 5);
		TU_CK(!memcmp(buf, "after", 5));
		TU_CKEQ(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), -EPIPE);
		_exit(0);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(fan_count(name, C, SHMX_PEER_ATTACHED), 0);
	assert_int_equal(fan_count(name, C, SHMX_PEER_FREE), 2);
	assert_int_equal(shmx_chan_send(tx, "before", 6, 0), 0);
	tu_ev_post(go[1]);
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 1, LONG_MS));
	assert_int_equal(shmx_chan_send(tx, "after", 5, 0), 0);
	tx = shmx_chan_close(tx);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* ---- a consumer killed -9 ---- */

struct lat {
	int64_t *start, *end;
};

/* The producer child: go, send n with a finite timeout (each must
 * succeed), then learn when the kill happened and report the longest
 * time any send was held up after it (spare[1], ms). */
static pid_t timed_producer(const char *name, int64_t n, int go, int kill_at, int rep)
{
	struct fan_report r = { 0 };
	unsigned char buf[FAN_MAX];
	struct shmx_chan *tx;
	struct lat l;
	int64_t t_kill, worst = 0;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	l.start = calloc((size_t)n, sizeof(int64_t));
	l.end = calloc((size_t)n, sizeof(int64_t));
	TU_CK(l.start && l.end);
	tx = fan_open(name, P);
	TU_CK(tu_ev_wait(go, LONG_MS));
	for (int64_t i = 0; i < n; i++) {
		l.start[i] = tu_now_ms();
		TU_CKEQ(shmx_chan_send(tx, buf, fan_fill(buf, (uint64_t)i, false), 5000), 0);
		l.end[i] = tu_now_ms();
	}
	shmx_chan_close(tx);
	TU_CKEQ(read(kill_at, &t_kill, sizeof(t_kill)), sizeof(t_kill));
	for (int64_t i = 0; i < n; i++) {
		int64_t from = l.start[i] > t_kill ? l.start[i] : t_kill;

		if (l.end[i] >= t_kill && l.end[i] - from > worst)
			worst = l.end[i] - from;
	}
	r.spare[1] = worst;
	r.got = n;
	fan_report_send(rep, &r);
	_exit(0);
}

/* Takes a few messages, then stops reading: the ring fills behind it. */
static pid_t stalled_consumer(const char *name, int ready)
{
	unsigned char buf[FAN_MAX];
	struct shmx_chan *rx;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	rx = fan_open(name, C);
	for (uint64_t i = 0; i < 1000; i++) {
		ssize_t k = shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS);

		TU_CK(k >= 0 && fan_intact(buf, (size_t)k, i, false));
	}
	tu_ready_forever(ready);
}

/* Wait until the consumer in slot s is within one record of a full ring:
 * the producer is (about to be) waiting for it alone. */
static void wait_lagging(const char *name, unsigned s, uint64_t cap)
{
	struct shmx_chan_peer peers[8];
	int64_t end = tu_now_ms() + LONG_MS;

	for (;;) {
		fan_peers(name, peers, 8);
		if (peers[1 + s].lag + 2 * (8 + FAN_MAX + 8) >= cap)
			return;
		if (tu_now_ms() > end)
			fail_msg("consumer %u lags %llu bytes only", s,
				 (unsigned long long)peers[1 + s].lag);
		usleep(1000);
	}
}

static void test_consumer_killed_never_holds_producer(void **state)
{
	const char *name = tu_name();
	const uint64_t cap = 4096;
	int64_t n = scaled(300000), t_kill;
	struct shmx_chan_peer peers[4];
	struct fan_report r[3];
	struct shmx_chan *owner;
	int rep[3][2], ready[2], go[2], kill_at[2];
	pid_t pid[3], victim, prod;

	(void)state;
	/* The creator takes a consumer slot and leaves it (a closed one does
	 * not count): the producer and the consumers are children, the parent
	 * only watches and kills. */
	owner = fan_create(name, cap, 1, 3, BLOCK, C);
	owner = shmx_chan_close(owner);
	tu_ev_init(ready);
	tu_ev_init(go);
	assert_int_equal(pipe(kill_at), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pipe(rep[i]), 0);
	victim = stalled_consumer(name, ready[1]);      /* slot 0 */
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 1, LONG_MS));
	for (int i = 0; i < 2; i++)
		pid[i] = consumer(name, (enum fan_mode)i, rep[i][1]);
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 3, LONG_MS));
	prod = timed_producer(name, n, go[0], kill_at[0], rep[2][1]);
	tu_ev_post(go[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	wait_lagging(name, 0, cap);
	t_kill = tu_now_ms();
	tu_kill9(victim, LONG_MS);
	assert_int_equal(write(kill_at[1], &t_kill, sizeof(t_kill)), sizeof(t_kill));

	fan_report_recv(rep[2][0], &r[2]);
	assert_int_equal(tu_child_verdict(prod, CHILD_MS, NULL), 0);
	print_message("# longest send after the kill: %lld ms\n", (long long)r[2].spare[1]);
	assert_true(r[2].spare[1] < 1000);
	for (int i = 0; i < 2; i++) {
		fan_report_recv(rep[i][0], &r[i]);
		assert_int_equal(tu_child_verdict(pid[i], CHILD_MS, NULL), 0);
		assert_report(&r[i], 0, n);
	}
	assert_int_equal(fan_peers(name, peers, 4), 4);
	assert_int_equal(peers[1].state, SHMX_PEER_DEAD);
	assert_int_equal(peers[1].pid, victim);
	assert_true(peers[1].count >= 1000);
	assert_int_equal(peers[2].state, SHMX_PEER_CLOSED);
	assert_int_equal(peers[3].state, SHMX_PEER_CLOSED);
	for (int i = 0; i < 3; i++) {
		close(rep[i][0]);
		close(rep[i][1]);
	}
	close(kill_at[0]);
	close(kill_at[1]);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* ---- who counts ---- */

/* Slots nobody holds keep the cursor their last holder left, rings behind
 * the head by now: shmx_chan_peers() and shmx_chan_stat() describe the
 * channel all the same (a lag only for a consumer that counts). */
static void test_peers_and_stat_with_slots_left_behind(void **state)
{
	const char *name = tu_name();
	struct shmx_chan_peer peers[3];
	struct shmx_chan_info info;
	unsigned char buf[64] = { 0 };
	struct shmx_chan *tx, *a;

	(void)state;
	tx = fan_create(name, 4096, 1, 2, BLOCK, P);
	assert_int_equal(shmx_chan_open(name, C, 0, &a), 0);
	assert_int_equal(shmx_chan_send(tx, buf, 56, 0), 0);
	assert_int_equal(shmx_chan_recv(a, buf, sizeof(buf), 0), 56);
	a = shmx_chan_close(a);
	for (int i = 0; i < 1000; i++)  /* 16 rings */
		assert_int_equal(shmx_chan_send(tx, buf, 56, 0), 0);
	assert_int_equal(shmx_chan_peers(name, peers, 3), 3);
	assert_int_equal(peers[1].state, SHMX_PEER_CLOSED);
	assert_int_equal(peers[1].count, 1);
	assert_int_equal(peers[1].lag, 0);
	assert_int_equal(peers[2].state, SHMX_PEER_FREE);
	assert_int_equal(peers[2].lag, 0);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.sent, 1001);
	assert_int_equal(info.used, 0);
	assert_int_equal(info.consumers, 2);
	tx = shmx_chan_close(tx);
}

/* With no consumer attached nothing is kept and the producer never waits;
 * a consumer starts at the head; one that closes stops counting at once;
 * a broadcast producer never sees -EPIPE. */
static void test_only_attached_consumers_count(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *a, *b;
	struct shmx_chan_peer peers[4];
	unsigned char buf[64] = { 0 };
	int err;

	(void)state;
	tx = fan_create(name, 4096, 1, 3, BLOCK, P);
	for (int i = 0; i < 1000; i++)  /* 16 rings' worth */
		assert_int_equal(shmx_chan_send(tx, buf, 56, 0), 0);
	assert_int_equal(shmx_chan_used(tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &a), 0);
	assert_int_equal(shmx_chan_slot(a), 0);
	assert_int_equal(shmx_chan_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(shmx_chan_pending(a), 0);
	assert_int_equal(shmx_chan_send(tx, "one", 3, 0), 0);
	assert_int_equal(shmx_chan_recv(a, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "one", 3);

	/* a fills the ring by not reading; b reads everything */
	assert_int_equal(shmx_chan_open(name, C, 0, &b), 0);
	assert_int_equal(shmx_chan_slot(b), 1);
	while ((err = shmx_chan_send(tx, buf, 56, 0)) == 0)
		assert_int_equal(shmx_chan_recv(b, buf, sizeof(buf), 0), 56);
	assert_int_equal(err, -EAGAIN);
	assert_int_equal(shmx_chan_send(tx, buf, 56, 50), -ETIMEDOUT);
	a = shmx_chan_close(a);
	assert_int_equal(shmx_chan_send(tx, buf, 56, 0), 0);
	assert_int_equal(fan_peers(name, peers, 4), 4);
	assert_int_equal(peers[1].state, SHMX_PEER_CLOSED);
	assert_int_equal(peers[1].generation, 1);
	assert_int_equal(peers[2].state, SHMX_PEER_ATTACHED);
	assert_int_equal(peers[3].state, SHMX_PEER_FREE);

	/* The freed slot is taken again, by the next attach of it. */
	assert_int_equal(shmx_chan_open(name, C, 0, &a), 0);
	assert_int_equal(shmx_chan_slot(a), 0);
	assert_int_equal(fan_peers(name, peers, 4), 4);
	assert_int_equal(peers[1].state, SHMX_PEER_ATTACHED);
	assert_int_equal(peers[1].generation, 2);
	assert_int_equal(peers[1].pid, getpid());
	a = shmx_chan_close(a);
	b = shmx_chan_close(b);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(shmx_chan_send(tx, buf, 56, 0), 0);
	tx = shmx_chan_close(tx);
}

/* ---- the most slots, and no name ---- */

/* 64 consumers (the most), each with every message; a 65th has no slot. */
static void test_sixty_four_consumers(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx[SHMX_CHAN_MAX_PEERS], *extra = NULL;
	struct shmx_chan_info info;
	unsigned char buf[FAN_MAX];

	(void)state;
	tx = fan_create(name, 1 << 14, 1, SHMX_CHAN_MAX_PEERS, BLOCK, P);
	for (unsigned i = 0; i < SHMX_CHAN_MAX_PEERS; i++) {
		assert_int_equal(shmx_chan_open(name, C, 0, &rx[i]), 0);
		assert_int_equal(shmx_chan_slot(rx[i]), i);
	}
	assert_int_equal(shmx_chan_open(name, C, 0, &extra), -EUSERS);
	assert_null(extra);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.consumers, SHMX_CHAN_MAX_PEERS);
	assert_int_equal(info.header_size, 12288);     /* 1024 + 65 slots of 128 */
	for (uint64_t seq = 0; seq < 200; seq++) {
		assert_int_equal(shmx_chan_send(tx, buf, fan_fill(buf, seq, false), 0), 0);
		for (unsigned i = 0; i < SHMX_CHAN_MAX_PEERS; i++) {
			ssize_t n = shmx_chan_recv(rx[i], buf, sizeof(buf), 0);

			assert_true(n > 0 && fan_intact(buf, (size_t)n, seq, false));
		}
	}
	for (unsigned i = 0; i < SHMX_CHAN_MAX_PEERS; i++)
		rx[i] = shmx_chan_close(rx[i]);
	tx = shmx_chan_close(tx);
}

/* A broadcast with no name: consumers attach to the producer's region in
 * children it forked. */
static void test_anonymous_broadcast(void **state)
{
	struct shmx_chan_params p = { .capacity = 4096, .consumers = 2 };
	const int64_t n = 20000;
	struct shmx_chan *tx;
	pid_t pid[2];
	int ready[2];

	(void)state;
	tu_ev_init(ready);
	assert_int_equal(shmx_chan_create_anon_params(&p, P, &tx), 0);
	for (int i = 0; i < 2; i++) {
		pid[i] = tu_fork();
		if (pid[i] == 0) {
			const struct fan_opts o = { .mode = (enum fan_mode)i,
						    .timeout_ms = LONG_MS };
			struct fan_report r;
			struct shmx_chan *rx;

			TU_CKEQ(shmx_chan_attach(shmx_chan_region(tx), C, &rx), 0);
			tu_ev_post(ready[1]);
			fan_consume(rx, &o, &r);
			TU_CKEQ(r.bad, 0);
			TU_CKEQ(r.first, 0);
			TU_CKEQ(r.got, n);
			/* the producer's close: it lets go of its slot even
			 * though we share its descriptions (shmx(7)) */
			TU_CKEQ(r.err, -EPIPE);
			_exit(0);
		}
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(fan_produce(tx, 0, (uint64_t)n, false, LONG_MS), 0);
	tx = shmx_chan_close(tx);
	for (int i = 0; i < 2; i++)
		assert_int_equal(tu_child_verdict(pid[i], CHILD_MS, NULL), 0);
	close(ready[0]);
	close(ready[1]);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_peers_and_stat_with_slots_left_behind),
		T(test_only_attached_consumers_count),
		T(test_peers_attached_means_receiving),
		T(test_sixty_four_consumers),
		T(test_anonymous_broadcast),
		T(test_consumer_killed_never_holds_producer),
		T(test_every_consumer_every_message_late_one_from_its_attach),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
