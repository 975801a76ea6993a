/* SPDX-License-Identifier: MIT */
/* Several producers on one channel (shmx(7)) between real processes:
 * every message arrives once, each producer's in its order, zero-copy
 * reservations committed shorter than reserved among them; all consumers
 * of a broadcast see one order; a producer killed between reserve and
 * commit, or holding the reservation lock, wedges nobody.
 * SHMX_TEST_SCALE (e.g. 0.1) shrinks the message counts for sanitizers. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "fanout-util.h"

#define BLOCK SHMX_CHAN_POLICY_BLOCK

/* A producer child: opens a slot, waits for go (if go >= 0), sends
 * messages 0 .. n-1 of producer k (fan_produce(): every third zero-copy,
 * some committed shorter than reserved), closes. */
static pid_t producer(const char *name, unsigned k, int64_t n, int go)
{
	struct shmx_chan *tx;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	tx = fan_open(name, P);
	if (go >= 0)
		TU_CK(tu_ev_wait(go, LONG_MS));
	TU_CKEQ(fan_produce(tx, fan_pid_seq(k, 0), fan_pid_seq(k, (uint64_t)n), true, LONG_MS),
		0);
	shmx_chan_close(tx);
	_exit(0);
}

/* Every message of each of producers, n each, then err. */
static void assert_all_of(const struct fan_report *r, unsigned producers, int64_t n,
			  int err)
{
	if (r->bad)
		print_message("# wrong message: producer %lld, number %lld\n",
			      (long long)((r->bad - 1) >> FAN_SEQ_BITS) - 1,
			      (long long)((r->bad - 1) & ((INT64_C(1) << FAN_SEQ_BITS) - 1)));
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->err, err);
	for (unsigned k = 0; k < producers; k++)
		assert_int_equal(r->per[k], n);
	assert_int_equal(r->got, (int64_t)producers * n);
}

/* ---- three producers, one consumer ---- */

static void test_three_producers_one_consumer(void **state)
{
	const struct fan_opts o = { .mode = FAN_MIXED, .ided = true, .timeout_ms = LONG_MS,
				    .producers = 3 };
	const char *name = tu_name();
	int64_t n = scaled(1000000), t0 = tu_now_ms();
	struct shmx_chan_peer peers[4];
	struct shmx_chan *rx;
	struct fan_report r;
	pid_t pid[3];

	(void)state;
	rx = fan_create(name, 1 << 16, 3, 1, BLOCK, C);
	for (unsigned k = 0; k < 3; k++)
		pid[k] = producer(name, k, n, -1);
	fan_consume(rx, &o, &r);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(tu_child_verdict(pid[k], CHILD_MS, NULL), 0);
	print_message("# 3 x %lld messages in %lld ms\n", (long long)n,
		      (long long)(tu_now_ms() - t0));
	assert_all_of(&r, 3, n, -EPIPE);        /* all closed, all taken */
	assert_int_equal(fan_peers(name, peers, 4), 4);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(peers[k].state, SHMX_PEER_CLOSED);
		assert_int_equal(peers[k].count, n);
	}
	assert_int_equal(peers[3].count, 3 * n);
	rx = shmx_chan_close(rx);
}

/* ---- two producers, two consumers: one order ---- */

static void test_two_producers_two_consumers_one_order(void **state)
{
	const struct fan_opts o[2] = {
		{ .mode = FAN_RECV, .ided = true, .timeout_ms = LONG_MS, .producers = 2 },
		{ .mode = FAN_MIXED, .ided = true, .timeout_ms = LONG_MS, .producers = 2 },
	};
	const char *name = tu_name();
	int64_t n = scaled(1000000) / 2;
	struct shmx_chan *owner;
	struct fan_report r[2];
	int rep[2][2], go[2];
	pid_t cons[2], prod[2];

	(void)state;
	/* The creator leaves its consumer slot: a closed one does not count. */
	owner = fan_create(name, 1 << 16, 2, 2, BLOCK, C);
	owner = shmx_chan_close(owner);
	tu_ev_init(go);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe(rep[i]), 0);
		cons[i] = fan_consumer(name, &o[i], rep[i][1]);
	}
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 2, LONG_MS));
	for (unsigned k = 0; k < 2; k++)
		prod[k] = producer(name, k, n, go[0]);
	assert_true(fan_wait_count(name, P, SHMX_PEER_ATTACHED, 2, LONG_MS));
	tu_ev_post(go[1]);
	tu_ev_post(go[1]);
	for (int i = 0; i < 2; i++) {
		fan_report_recv(rep[i][0], &r[i]);
		assert_int_equal(tu_child_verdict(cons[i], CHILD_MS, NULL), 0);
		assert_all_of(&r[i], 2, n, -EPIPE);
		close(rep[i][0]);
		close(rep[i][1]);
	}
	for (int k = 0; k < 2; k++)
		assert_int_equal(tu_child_verdict(prod[k], CHILD_MS, NULL), 0);
	/* The same interleaving in both, and not a trivial one. */
	assert_true(r[0].hash == r[1].hash);
	assert_true(r[0].first == r[1].first);
	close(go[0]);
	close(go[1]);
}

/* ---- reservations ---- */

/* All consumers see the reservation order: a record reserved first holds
 * back the ones after it until it is committed, however short. */
static void test_reservation_order_and_short_commit(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *a, *b, *rx;
	unsigned char buf[2048];
	void *p;

	(void)state;
	rx = fan_create(name, 4096, 2, 1, BLOCK, C);
	assert_int_equal(shmx_chan_open(name, P, 0, &a), 0);
	assert_int_equal(shmx_chan_open(name, P, 0, &b), 0);
	assert_int_equal(shmx_chan_slot(a), 0);
	assert_int_equal(shmx_chan_slot(b), 1);
	assert_int_equal(shmx_chan_reserve(a, 1000, &p, 0), 0);
	assert_int_equal(shmx_chan_send(b, "second", 6, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(shmx_chan_pending(rx), 2);
	memcpy(p, "first", 5);
	assert_int_equal(shmx_chan_commit(a, 5), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "first", 5);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "second", 6);
	/* Short commits, many rings of them: the rest of each reservation is
	 * skipped, never delivered. */
	for (int i = 0; i < 1000; i++) {
		struct shmx_chan *tx = i % 2 ? a : b;

		assert_int_equal(shmx_chan_reserve(tx, 1 + (size_t)i % 1500, &p, 0), 0);
		memcpy(p, &i, 1);
		assert_int_equal(shmx_chan_commit(tx, 1), 0);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 1);
		assert_int_equal(buf[0], (unsigned char)i);
	}
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	a = shmx_chan_close(a);
	b = shmx_chan_close(b);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EPIPE);
	rx = shmx_chan_close(rx);
}

/* A producer that reserves, says so, and waits to be killed. */
static void reserve_and_wait(const char *name, unsigned k, int64_t n, int ready)
{
	struct shmx_chan *tx = fan_open(name, P);
	void *p;

	TU_CKEQ(fan_produce(tx, fan_pid_seq(k, 0), fan_pid_seq(k, (uint64_t)n), true, LONG_MS),
		0);
	TU_CKEQ(shmx_chan_reserve(tx, 200, &p, LONG_MS), 0);
	memset(p, 0x5a, 100);           /* half written */
	tu_ready_forever(ready);
}

/* Killed between reserve and commit while two others send on: the
 * consumer, stopped at the reserved record, and the two, waiting for room
 * behind it, go on once it is dead; the consumer receives everything else,
 * and the death is the end. */
static void test_producer_killed_between_reserve_and_commit(void **state)
{
	const struct fan_opts o = { .mode = FAN_MIXED, .ided = true, .timeout_ms = LONG_MS,
				    .producers = 3 };
	const char *name = tu_name();
	int64_t n = scaled(100000), end;
	struct shmx_chan_peer peers[4];
	struct shmx_chan *owner;
	struct fan_report r;
	int ready[2], rep[2];
	pid_t pid[3], cons;

	(void)state;
	tu_ev_init(ready);
	assert_int_equal(pipe(rep), 0);
	/* The creator leaves: the one killed takes producer slot 0 again,
	 * the two others slots 1 and 2. */
	owner = fan_create(name, 4096, 3, 1, BLOCK, P);
	owner = shmx_chan_close(owner);
	pid[2] = tu_fork();
	if (pid[2] == 0)
		reserve_and_wait(name, 2, 10, ready[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	/* (Before a producer attached it would find only the creator's
	 * closed slot: -EPIPE.) */
	cons = fan_consumer(name, &o, rep[1]);
	for (unsigned k = 0; k < 2; k++)
		pid[k] = producer(name, k, n, -1);
	/* The consumer has the 10 before the reservation and stops there;
	 * the two attach (else one would take the dead one's slot, and with
	 * it the death) and send until the ring is full behind it. */
	end = tu_now_ms() + LONG_MS;
	do {
		assert_true(tu_now_ms() < end);
		usleep(1000);
		fan_peers(name, peers, 4);
	} while (peers[3].count != 10 || peers[1].count + peers[2].count < 10 ||
		 peers[1].state != SHMX_PEER_ATTACHED || peers[2].state != SHMX_PEER_ATTACHED);
	tu_kill9(pid[2], LONG_MS);
	fan_report_recv(rep[0], &r);
	assert_int_equal(tu_child_verdict(cons, CHILD_MS, NULL), 0);
	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(tu_child_verdict(pid[k], CHILD_MS, NULL), 0);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.per[0], n);
	assert_int_equal(r.per[1], n);
	assert_int_equal(r.per[2], 10);
	assert_int_equal(r.got, 2 * n + 10);
	/* The others closed after it died; one producer died: -EOWNERDEAD. */
	assert_int_equal(r.err, -EOWNERDEAD);
	assert_int_equal(fan_peers(name, peers, 4), 4);
	assert_int_equal(peers[0].state, SHMX_PEER_DEAD);
	assert_int_equal(peers[0].pid, pid[2]);
	assert_int_equal(peers[1].state, SHMX_PEER_CLOSED);
	assert_int_equal(peers[2].state, SHMX_PEER_CLOSED);
	close(rep[0]);
	close(rep[1]);
	close(ready[0]);
	close(ready[1]);
}

/* The last producer to go died between reserve and commit, after the
 * others closed: everything they sent after its reservation arrives, then
 * -EOWNERDEAD. */
static void test_last_producer_dies_holding_a_reservation(void **state)
{
	const struct fan_opts o = { .mode = FAN_RECV, .ided = true, .timeout_ms = LONG_MS,
				    .producers = 3 };
	const char *name = tu_name();
	const int64_t n = 1000;  /* the ring holds all they send */
	struct shmx_chan *rx;
	struct fan_report r;
	int ready[2];
	pid_t pid[3];

	(void)state;
	tu_ev_init(ready);
	rx = fan_create(name, 1 << 20, 3, 1, BLOCK, C);
	pid[2] = tu_fork();
	if (pid[2] == 0)
		reserve_and_wait(name, 2, 5, ready[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	for (unsigned k = 0; k < 2; k++) {
		pid[k] = producer(name, k, n, -1);
		assert_int_equal(tu_child_verdict(pid[k], CHILD_MS, NULL), 0);
	}
	/* Nothing after the reservation can be taken before it is settled. */
	assert_int_equal(shmx_chan_pending(rx), 2 * n + 6);
	tu_kill9(pid[2], LONG_MS);
	fan_consume(rx, &o, &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.per[0], n);
	assert_int_equal(r.per[1], n);
	assert_int_equal(r.per[2], 5);
	assert_int_equal(r.err, -EOWNERDEAD);
	rx = shmx_chan_close(rx);
	close(ready[0]);
	close(ready[1]);
}

/* A producer died holding the reservation lock, after it stored its
 * reserved record and before it moved head (made here by hand, at that
 * exact step, over a producer that really attached and died): the next
 * producer takes the lock over, moves head past the record, and the
 * consumer skips it. */
static void test_lock_holder_died_mid_reservation(void **state)
{
	const char *name = tu_name();
	struct shmx__chan_hdr *h;
	struct shmx_chan_peer peers[3];
	struct shmx_chan *rx, *tx;
	struct shmx_region *r;
	unsigned char buf[64], *ring;
	uint64_t head;
	int ready[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ready);
	rx = fan_create(name, 4096, 2, 1, BLOCK, C);
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	pid = tu_fork();
	if (pid == 0) {
		tx = fan_open(name, P);
		TU_CKEQ(shmx_chan_send(tx, "before", 6, 0), 0);
		tu_ready_forever(ready[1]);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	tu_kill9(pid, LONG_MS);
	assert_int_equal(fan_peers(name, peers, 3), 3);
	assert_int_equal(peers[1].state, SHMX_PEER_DEAD);
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	h = shmx_addr(r);
	ring = (unsigned char *)h + h->header_size;
	head = h->head;
	/* its reserved record at head (and the zero word after it), the lock
	 * its own: slot 1, generation 1 */
	memset(ring + (head & 4095) + 8, 0, 24);
	*(uint64_t *)(void *)(ring + (head & 4095)) =
		(uint64_t)(SHMX__CHAN_TAG_BUSY | 1u << 24 | 1u) << 32 | 16;
	h->lock = 2 | 1u << 8;
	assert_int_equal(shmx_chan_send(tx, "after", 5, LONG_MS), 0);
	assert_int_equal(h->lock, 0);
	assert_true(h->head == head + 24 + 16);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), 6);
	assert_memory_equal(buf, "before", 6);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), 5);
	assert_memory_equal(buf, "after", 5);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	tx = shmx_chan_close(tx);
	r = shmx_close(r);
	rx = shmx_chan_close(rx);
	close(ready[0]);
	close(ready[1]);
}

/* ---- the room behind what every consumer passed ---- */

/* A consumer that passes a record which is not a message (the unused end
 * of a reservation committed shorter, or the reservation of a producer that
 * died) moves the cursor the producers count their room from before it
 * waits: the largest message fits in a ring that is empty, while the
 * consumers wait for data. With one consumer and with two. */
static void skip_then_largest(unsigned consumers, bool killed)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx[2];
	unsigned char buf[2048];
	int ready[2];
	pid_t pid = 0;
	void *p;

	tu_ev_init(ready);
	rx[0] = fan_create(name, 4096, 2, consumers, BLOCK, C);
	for (unsigned i = 1; i < consumers; i++)
		assert_int_equal(shmx_chan_open(name, C, 0, &rx[i]), 0);
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	if (killed) {
		/* a producer that reserves the largest record and dies */
		pid = tu_fork();
		if (pid == 0) {
			struct shmx_chan *dead = fan_open(name, P);

			TU_CKEQ(shmx_chan_reserve(dead, 2040, &p, 0), 0);
			tu_ready_forever(ready[1]);
		}
		assert_true(tu_ev_wait(ready[0], LONG_MS));
		tu_kill9(pid, LONG_MS);
	} else {
		/* the largest reservation, committed empty: a skip record */
		assert_int_equal(shmx_chan_reserve(tx, 2040, &p, 0), 0);
		assert_int_equal(shmx_chan_commit(tx, 0), 0);
	}
	for (unsigned i = 0; i < consumers; i++) {
		if (!killed)
			assert_int_equal(shmx_chan_recv(rx[i], buf, sizeof(buf), 0), 0);
		/* past the skip or the dead record, then nothing: a wait */
		assert_int_equal(shmx_chan_recv(rx[i], buf, sizeof(buf), killed ? 100 : 0),
				 killed ? -ETIMEDOUT : -EAGAIN);
	}
	assert_int_equal(shmx_chan_used(tx), 0);
	memset(buf, 7, sizeof(buf));
	assert_int_equal(shmx_chan_send(tx, buf, 2040, 0), 0);
	for (unsigned i = 0; i < consumers; i++) {
		assert_int_equal(shmx_chan_recv(rx[i], buf, sizeof(buf), 0), 2040);
		rx[i] = shmx_chan_close(rx[i]);
	}
	tx = shmx_chan_close(tx);
	close(ready[0]);
	close(ready[1]);
}

static void test_skip_moves_the_cursor_queue(void **state)
{
	(void)state;
	skip_then_largest(1, false);
}

static void test_skip_moves_the_cursor_broadcast(void **state)
{
	(void)state;
	skip_then_largest(2, false);
}

static void test_dead_reservation_moves_the_cursor(void **state)
{
	(void)state;
	skip_then_largest(1, true);
	skip_then_largest(2, true);
}

/* ---- a reservation is never lapped ---- */

/* Producer A reserves while no consumer counts (none attached, or every
 * one past A's record: a broadcast consumer starts at head), and takes
 * its time to commit. The room the other producers compute must still
 * count A's record: lapping it, their records and A's late payload and
 * commit word would land on each other, and a consumer that joined
 * since would get A's message (sent before it attached), a corrupt one,
 * or -EBADMSG. B's records wrap no further than A's reservation. */
static void test_reservation_not_lapped(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *a, *b, *rx;
	unsigned char buf[128];
	int n, more, got = 0;
	ssize_t len;
	void *p;

	(void)state;
	a = fan_create(name, 128, 2, 2, BLOCK, P);
	assert_int_equal(shmx_chan_open(name, P, 0, &b), 0);
	assert_int_equal(shmx_chan_reserve(a, 56, &p, 0), 0);      /* [0, 64) */
	for (n = 0; n < 64 && shmx_chan_send(b, buf, 0, 0) == 0; n++)
		;
	print_message("# B sent %d records of 8 bytes past A's reservation\n", n);
	/* [64, 120): the word after the newest record lands on no one's */
	assert_int_equal(n, 7);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	for (more = 0; more < 64 && shmx_chan_send(b, buf, 0, 0) == 0; more++)
		;
	memset(p, 'A', 56);
	assert_int_equal(shmx_chan_commit(a, 56), 0);
	/* Only what B sent after we attached: "more" empty ones. */
	while ((len = shmx_chan_recv(rx, buf, sizeof(buf), 0)) == 0)
		got++;
	print_message("# the consumer got %d of B's %d, then %zd\n", got, more, len);
	assert_int_equal(len, -EAGAIN);
	assert_int_equal(got, more);
	memset(buf, 'B', 16);
	assert_int_equal(shmx_chan_send(b, buf, 16, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 16);
	assert_int_equal(buf[0], 'B');
	rx = shmx_chan_close(rx);
	b = shmx_chan_close(b);
	a = shmx_chan_close(a);
}

/* ---- a batch that waits for room wakes the consumer first ---- */

struct batch_arg {
	struct shmx_chan *tx;
	ssize_t sent;
};

static void *send_rings(void *arg)
{
	struct batch_arg *a = arg;
	static unsigned char msg[200];
	struct iovec iov[64];

	for (int i = 0; i < 64; i++)
		iov[i] = (struct iovec){ msg, sizeof(msg) };
	a->sent = shmx_chan_send_batch(a->tx, iov, 64, LONG_MS);
	return NULL;
}

/* Several producers: a batch that finds the ring full publishes what it
 * stored (wakes a consumer asleep for data) before it waits for room. The
 * consumer here is a sleeper announced in data_waiting: by the time the
 * producer shows itself asleep for room, it must have cleared it. */
static void test_batch_wakes_before_waiting(void **state)
{
	const char *name = tu_name();
	struct batch_arg a = { 0 };
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	struct shmx_chan *rx;
	unsigned char buf[2048];
	int64_t end;
	pthread_t t;
	int got = 0;

	(void)state;
	rx = fan_create(name, 4096, 2, 1, BLOCK, C);
	assert_int_equal(shmx_chan_open(name, P, SHMX_CHAN_BLOCK, &a.tx), 0);
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	h = shmx_addr(r);
	__atomic_store_n(&h->data_waiting, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(pthread_create(&t, NULL, send_rings, &a), 0);
	end = tu_now_ms() + LONG_MS;
	while (!__atomic_load_n(&h->space_waiting, __ATOMIC_SEQ_CST))
		assert_true(tu_now_ms() < end);
	assert_int_equal(__atomic_load_n(&h->data_waiting, __ATOMIC_SEQ_CST), 0);
	while (got < 64) {
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS), 200);
		got++;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.sent, 64);
	r = shmx_close(r);
	a.tx = shmx_chan_close(a.tx);
	rx = shmx_chan_close(rx);
}

/* ---- takeovers ---- */

/* A producer child that attaches (the next free slot), sends msg and
 * waits; killed here. */
static void attach_send_die(const char *name, const char *msg)
{
	int ready[2];
	pid_t pid;

	tu_ev_init(ready);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *tx = fan_open(name, P);

		TU_CKEQ(shmx_chan_send(tx, msg, strlen(msg), 0), 0);
		tu_ready_forever(ready[1]);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	tu_kill9(pid, LONG_MS);
	close(ready[0]);
	close(ready[1]);
}

/* A's reservation at head (16 bytes, slot 1, generation 1), the word
 * after it zero, as a lock holder leaves it before it moves head. */
static uint64_t reservation_at_head(struct shmx__chan_hdr *h)
{
	unsigned char *ring = (unsigned char *)h + h->header_size;
	uint64_t head = h->head;

	memset(ring + (head & 4095) + 8, 0, 24);
	*(uint64_t *)(void *)(ring + (head & 4095)) =
		(uint64_t)(SHMX__CHAN_TAG_BUSY | 1u << 24 | 1u) << 32 | 16;
	return head;
}

static void expect_messages(struct shmx_chan *rx, const char *const *msgs, int n)
{
	unsigned char buf[64];

	for (int i = 0; i < n; i++) {
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), LONG_MS),
				 strlen(msgs[i]));
		assert_memory_equal(buf, msgs[i], strlen(msgs[i]));
	}
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
}

/* Two takeovers in a row: A died holding the lock with its reservation
 * after head; B took the lock over and died before it moved head (the
 * lock says B, the record A). The next producer takes over from B, skips
 * A's record, and its message arrives; sent counts A's reservation once. */
static void test_second_takeover(void **state)
{
	static const char *const want[] = { "a", "b", "after" };
	const char *name = tu_name();
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	struct shmx_chan *rx, *tx;
	uint64_t head, sent;

	(void)state;
	rx = fan_create(name, 4096, 3, 1, BLOCK, C);
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	attach_send_die(name, "a");     /* slot 1 */
	attach_send_die(name, "b");     /* slot 2 */
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	h = shmx_addr(r);
	head = reservation_at_head(h);
	sent = h->sent;
	h->lock = 3 | 1u << 8;          /* B: slot 2, generation 1 */
	assert_int_equal(shmx_chan_send(tx, "after", 5, LONG_MS), 0);
	assert_int_equal(h->lock, 0);
	assert_int_equal(h->head, head + 24 + 16);
	assert_int_equal(h->sent, sent + 2);
	expect_messages(rx, want, 3);
	tx = shmx_chan_close(tx);
	r = shmx_close(r);
	rx = shmx_chan_close(rx);
}

/* A holder killed between its stores of sent and head (head_seq odd,
 * sent counting its reservation, head not past it; the sent it meant in
 * its slot, stored first): the producer that takes over counts that
 * reservation once, and leaves head_seq even. */
static void test_holder_died_between_sent_and_head(void **state)
{
	static const char *const want[] = { "a", "after" };
	const char *name = tu_name();
	struct shmx_chan_info info;
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	struct shmx_chan *rx, *tx;
	uint64_t head, sent;

	(void)state;
	rx = fan_create(name, 4096, 2, 1, BLOCK, C);
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	attach_send_die(name, "a");     /* slot 1 */
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	h = shmx_addr(r);
	head = reservation_at_head(h);
	sent = h->sent;
	shmx__chan_slots(h)[1].pos = sent + 1;
	h->head_seq++;
	h->sent = sent + 1;
	h->lock = 2 | 1u << 8;          /* A: slot 1, generation 1 */
	assert_int_equal(shmx_chan_send(tx, "after", 5, LONG_MS), 0);
	assert_int_equal(h->head, head + 24 + 16);
	assert_int_equal(h->head_seq & 1, 0);
	assert_int_equal(h->sent, sent + 2);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.sent, sent + 2);
	expect_messages(rx, want, 2);
	tx = shmx_chan_close(tx);
	r = shmx_close(r);
	rx = shmx_chan_close(rx);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reservation_order_and_short_commit),
		T(test_reservation_not_lapped),
		T(test_skip_moves_the_cursor_queue),
		T(test_skip_moves_the_cursor_broadcast),
		T(test_dead_reservation_moves_the_cursor),
		T(test_batch_wakes_before_waiting),
		T(test_lock_holder_died_mid_reservation),
		T(test_second_takeover),
		T(test_holder_died_between_sent_and_head),
		T(test_last_producer_dies_holding_a_reservation),
		T(test_producer_killed_between_reserve_and_commit),
		T(test_two_producers_two_consumers_one_order),
		T(test_three_producers_one_consumer),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
