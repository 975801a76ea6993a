/* SPDX-License-Identifier: MIT */
/* Every call of a channel in every shape (shmx(7), "Channels"): a handle
 * takes the calls of its shape when it attaches, so each shape is walked
 * through all eight, and through those of the other role (-EBADF). And a
 * batch reserves its room once: with several producers, a batch that fits
 * the ring arrives whole, no other producer's message inside it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chan.h"
#include "fanout-util.h"

struct shape {
	unsigned producers, consumers, policy;
};

static const struct shape shapes[] = {
	{ 1, 1, SHMX_CHAN_POLICY_BLOCK },       /* chan-spsc.c */
	{ 1, 2, SHMX_CHAN_POLICY_BLOCK },       /* chan-bcast.c */
	{ 1, 1, SHMX_CHAN_POLICY_OVERWRITE },   /* chan-over.c */
	{ 1, 3, SHMX_CHAN_POLICY_OVERWRITE },
	{ 2, 1, SHMX_CHAN_POLICY_BLOCK },       /* chan-mprod.c */
	{ 3, 2, SHMX_CHAN_POLICY_BLOCK },
};

/* Message i of the walk: i + 1 bytes of i + 'a'. */
static void msg(unsigned char *p, unsigned i)
{
	memset(p, 'a' + (int)i, i + 1);
}

/* send, send_batch (three), reserve and commit shorter: messages 0 .. 5. */
static void send_all(struct shmx_chan *tx)
{
	unsigned char b[4][8];
	struct iovec v[3];
	void *p;

	msg(b[0], 0);
	assert_int_equal(shmx_chan_send(tx, b[0], 1, 0), 0);
	for (unsigned i = 0; i < 3; i++) {
		msg(b[i + 1], i + 1);
		v[i] = (struct iovec){ .iov_base = b[i + 1], .iov_len = i + 2 };
	}
	assert_int_equal(shmx_chan_send_batch(tx, v, 3, 0), 3);
	assert_int_equal(shmx_chan_reserve(tx, 8, &p, 0), 0);
	msg(p, 4);
	assert_int_equal(shmx_chan_commit(tx, 5), 0);
	assert_int_equal(shmx_chan_reserve(tx, 6, &p, 0), 0);
	msg(p, 5);
	assert_int_equal(shmx_chan_commit(tx, 6), 0);
}

/* recv, recv_batch (three), peek and release: the six in order. */
static void recv_all(struct shmx_chan *rx)
{
	unsigned char want[8], got[32];
	size_t lens[3];
	const void *p;
	size_t off = 0;

	assert_int_equal(shmx_chan_recv(rx, got, sizeof(got), 0), 1);
	msg(want, 0);
	assert_memory_equal(got, want, 1);
	assert_int_equal(shmx_chan_recv_batch(rx, got, sizeof(got), lens, 3, 0), 3);
	for (unsigned i = 1; i < 4; i++) {
		assert_int_equal(lens[i - 1], i + 1);
		msg(want, i);
		assert_memory_equal(got + off, want, i + 1);
		off += i + 1;
	}
	for (unsigned i = 4; i < 6; i++) {
		assert_int_equal(shmx_chan_peek(rx, &p, 0), (ssize_t)i + 1);
		msg(want, i);
		assert_memory_equal(p, want, i + 1);
		assert_int_equal(shmx_chan_release(rx), 0);
	}
	assert_int_equal(shmx_chan_recv(rx, got, sizeof(got), 0), -EAGAIN);
}

/* The calls of the other role, refused without touching anything. */
static void wrong_role(struct shmx_chan *tx, struct shmx_chan *rx)
{
	unsigned char b[8] = { 0 };
	struct iovec v = { .iov_base = b, .iov_len = 1 };
	size_t len;
	const void *cp;
	void *p;

	assert_int_equal(shmx_chan_recv(tx, b, sizeof(b), 0), -EBADF);
	assert_int_equal(shmx_chan_recv_batch(tx, b, sizeof(b), &len, 1, 0), -EBADF);
	assert_int_equal(shmx_chan_peek(tx, &cp, 0), -EBADF);
	assert_int_equal(shmx_chan_release(tx), -EBADF);
	assert_int_equal(shmx_chan_send(rx, b, 1, 0), -EBADF);
	assert_int_equal(shmx_chan_send_batch(rx, &v, 1, 0), -EBADF);
	assert_int_equal(shmx_chan_reserve(rx, 1, &p, 0), -EBADF);
	assert_int_equal(shmx_chan_commit(rx, 1), -EBADF);
}

/* A channel of shape sh: every consumer slot taken (rx, the first one the
 * creator), and one producer (*tx). */
static void open_shape(const char *name, const struct shape *sh, struct shmx_chan **rx,
		       struct shmx_chan **tx)
{
	rx[0] = fan_create(name, 4096, sh->producers, sh->consumers, sh->policy, C);
	for (unsigned k = 1; k < sh->consumers; k++)
		assert_int_equal(shmx_chan_open(name, C, LONG_MS, &rx[k]), 0);
	assert_int_equal(shmx_chan_open(name, P, LONG_MS, tx), 0);
}

static void test_every_call_of_every_shape(void **state)
{
	(void)state;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		const char *name = tu_name();
		struct shmx_chan *rx[3] = { NULL }, *tx;
		unsigned k;

		open_shape(name, &shapes[s], rx, &tx);
		wrong_role(tx, rx[0]);
		send_all(tx);
		for (k = 0; k < shapes[s].consumers; k++) {
			recv_all(rx[k]);
			rx[k] = shmx_chan_close(rx[k]);
		}
		tx = shmx_chan_close(tx);
	}
}

/* ---- how each shape sees its peers, chosen once ---- */

/* The table of how a handle sees its peers (chan-peers.c), by shape and
 * role: the producer's, then the consumers'. */
static const struct shmx__chan_look *want_look(const struct shape *s, bool producer)
{
	bool multi = s->producers > 1, bcast = s->consumers > 1;
	bool over = s->policy == SHMX_CHAN_POLICY_OVERWRITE;

	if (!producer && multi)
		return &shmx__chan_look_mp_consumer;
	if (!producer)
		return over ? &shmx__chan_look_over_consumer : &shmx__chan_look_consumer;
	if (multi)
		return bcast ? &shmx__chan_look_mp_bcast : &shmx__chan_look_mp_queue;
	if (over)
		return bcast ? &shmx__chan_look_over_bcast : &shmx__chan_look_over_queue;
	return bcast ? &shmx__chan_look_bcast : &shmx__chan_look_queue;
}

/* Full ring, the block policy: a wait for room times out (the room and
 * the peers looked at through the table, slice by slice); the consumers
 * gone, a queue's producer learns the close, a broadcast's has room. The
 * overwrite policy never waits. */
static void producer_waits(const struct shape *s, struct shmx_chan *tx, struct shmx_chan **rx)
{
	unsigned char b[100] = { 0 };
	int n = 0, err;

	while ((err = shmx_chan_send(tx, b, sizeof(b), 0)) == 0 && ++n < 1000)
		;
	if (s->policy == SHMX_CHAN_POLICY_OVERWRITE) {
		assert_int_equal(err, 0);
	} else {
		assert_int_equal(err, -EAGAIN);
		assert_int_equal(shmx_chan_send(tx, b, sizeof(b), 40), -ETIMEDOUT);
		assert_int_equal(shmx_chan_used(tx), (ssize_t)shmx_chan_capacity(tx) -
						      (ssize_t)shmx_chan_capacity(tx) % 112);
	}
	for (unsigned k = 0; k < s->consumers; k++)
		rx[k] = shmx_chan_close(rx[k]);
	err = shmx_chan_send(tx, b, sizeof(b), 40);
	if (s->policy == SHMX_CHAN_POLICY_BLOCK && s->consumers == 1)
		assert_int_equal(err, -EPIPE);
	else
		assert_int_equal(err, 0);
}

/* A consumer whose producers all closed reads what they sent, then
 * -EPIPE: settled through the table, also with several producers (whose
 * consumers also look for a dead producer's record at each wait); what
 * is pending and in use, as each role's table counts it. */
static void consumer_ends(const char *name, const struct shape *s)
{
	struct shmx_chan *rx, *tx[3];
	unsigned char b[8];

	rx = fan_create(name, 4096, s->producers, s->consumers, s->policy, C);
	assert_ptr_equal(rx->look, want_look(s, false));
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 40), -ETIMEDOUT);
	for (unsigned k = 0; k < s->producers; k++) {
		assert_int_equal(shmx_chan_open(name, P, LONG_MS, &tx[k]), 0);
		assert_ptr_equal(tx[k]->look, want_look(s, true));
		assert_int_equal(shmx_chan_send(tx[k], "x", 1, 0), 0);
	}
	assert_int_equal(shmx_chan_pending(rx), (ssize_t)s->producers);
	assert_int_equal(shmx_chan_used(rx), (ssize_t)s->producers * 16);
	assert_int_equal(shmx_chan_pending(tx[0]), (ssize_t)s->producers);
	for (unsigned k = 0; k < s->producers; k++) {
		assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 40), 1);
		tx[k] = shmx_chan_close(tx[k]);
	}
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 40), -EPIPE);
	rx = shmx_chan_close(rx);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

static void test_every_shape_settles_through_its_table(void **state)
{
	(void)state;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		const char *name = tu_name();
		struct shmx_chan *rx[3] = { NULL }, *tx;
		unsigned k;

		open_shape(name, &shapes[s], rx, &tx);
		assert_ptr_equal(tx->look, want_look(&shapes[s], true));
		for (k = 0; k < shapes[s].consumers; k++)
			assert_ptr_equal(rx[k]->look, want_look(&shapes[s], false));
		producer_waits(&shapes[s], tx, rx);
		tx = shmx_chan_close(tx);
		assert_int_equal(shmx_chan_unlink(name), 0);
		consumer_ends(tu_name(), &shapes[s]);
	}
}

/* ---- a batch reserves its room once ---- */

#define BATCH 16
#define BYTES 8

/* A producer child: waits for go, then sends batches of BATCH messages of
 * BYTES bytes, each starting with its producer and number. */
static pid_t batch_producer(const char *name, unsigned k, unsigned batches, int go)
{
	unsigned char b[BATCH][BYTES];
	struct iovec v[BATCH];
	struct shmx_chan *tx;
	pid_t pid = tu_fork();
	uint64_t n = 0;

	if (pid)
		return pid;
	tx = fan_open(name, P);
	TU_CK(tu_ev_wait(go, LONG_MS));
	for (unsigned i = 0; i < batches; i++) {
		for (unsigned j = 0; j < BATCH; j++, n++) {
			uint64_t id = fan_pid_seq(k, n);

			memset(b[j], (int)k, BYTES);
			memcpy(b[j], &id, sizeof(id));
			v[j] = (struct iovec){ .iov_base = b[j], .iov_len = BYTES };
		}
		TU_CKEQ(shmx_chan_send_batch(tx, v, BATCH, LONG_MS), BATCH);
	}
	shmx_chan_close(tx);
	_exit(0);
}

/* Two producers send batches at once into a ring that holds them all (the
 * consumer reads after both are done, so the two run side by side): each
 * batch is reserved as one run, so its messages arrive one after the
 * other. Reserved message by message, the other producer's land inside. */
static void test_batch_of_several_producers_arrives_whole(void **state)
{
	const char *name = tu_name();
	unsigned batches = 100000;
	int64_t total = 2 * (int64_t)batches * BATCH, broken = 0;
	uint64_t id, prev = 0, next[2] = { 0, 0 };
	unsigned char b[BYTES];
	struct shmx_chan *rx;
	pid_t pid[2];
	int go[2];

	(void)state;
	/* The ring holds every message: the room never splits a batch. */
	rx = fan_create(name, 64 << 20, 2, 1, SHMX_CHAN_POLICY_BLOCK, C);
	tu_ev_init(go);
	for (unsigned k = 0; k < 2; k++)
		pid[k] = batch_producer(name, k, batches, go[0]);
	tu_ev_post(go[1]);
	tu_ev_post(go[1]);
	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(tu_child_verdict(pid[k], LONG_MS, NULL), 0);
	for (int64_t i = 0; i < total; i++) {
		assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), LONG_MS), BYTES);
		memcpy(&id, b, sizeof(id));
		unsigned k = (unsigned)(id >> FAN_SEQ_BITS) - 1;

		assert_true(k < 2);
		assert_int_equal(id, fan_pid_seq(k, next[k]));
		/* Inside a batch, the message before is the same producer's. */
		if (next[k] % BATCH && prev != id - 1)
			broken++;
		next[k]++;
		prev = id;
	}
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 0), -EPIPE);
	close(go[0]);
	close(go[1]);
	print_message("# %lld of %lld messages inside another producer's batch\n",
		      (long long)broken, (long long)total);
	assert_int_equal(broken, 0);
	shmx_chan_close(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_every_call_of_every_shape, tu_teardown),
		cmocka_unit_test_teardown(test_every_shape_settles_through_its_table,
					  tu_teardown),
		cmocka_unit_test_teardown(test_batch_of_several_producers_arrives_whole,
					  tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
