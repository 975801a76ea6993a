/* SPDX-License-Identifier: MIT */
/* The overwrite policy (shmx(7)): the producer never waits, a consumer
 * that was overtaken gets -ENOBUFS once and goes on with the oldest
 * message still there, and for each consumer the messages it received
 * plus those shmx_chan_lost() counts are exactly the messages sent after
 * it attached, by recv, peek/release and recv_batch alike; what
 * shmx_chan_stat() and shmx_chan_peers() say agrees.
 * SHMX_TEST_SCALE (e.g. 0.1) shrinks the message counts for sanitizers. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "fanout-util.h"

#define OVER SHMX_CHAN_POLICY_OVERWRITE
#define CAP 4096

/* ---- one process: every step known ---- */

static void send_seq(struct shmx_chan *tx, uint64_t first, uint64_t end)
{
	assert_int_equal(fan_produce(tx, first, end, true, 0), 0);
}

/* Take what is there (timeout 0) the way mode says: the first message
 * taken is the one after the received ones and all lost so far, the last
 * is end - 1, and received + lost comes to end exactly. Returns how many
 * were received. */
static int64_t take_all(struct shmx_chan *rx, enum fan_mode mode, int64_t received,
			int64_t end, int64_t nobufs)
{
	const struct fan_opts o = { .mode = mode, .ided = true };
	struct fan_report r;

	fan_consume(rx, &o, &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.err, -EAGAIN);
	assert_int_equal(r.nobufs, nobufs);
	assert_int_equal(r.first, received + r.spare[0]);
	assert_int_equal(r.next, end);
	assert_int_equal(received + r.got + r.lost, end);
	return received + r.got;
}

static void test_overtaken_consumer_step_by_step(void **state)
{
	const char *name = tu_name();
	struct shmx_chan_peer peers[2];
	struct shmx_chan_info info;
	struct shmx_chan *tx, *rx;
	int64_t received, lost;
	const void *p;

	(void)state;
	tx = fan_create(name, CAP, 1, 1, OVER, P);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	assert_int_equal(shmx_chan_lost(rx), 0);
	/* Many rings: the producer never waits (timeout 0). Overtaken: one
	 * -ENOBUFS, then the oldest message still there and the rest. */
	send_seq(tx, 0, 1000);
	received = take_all(rx, FAN_RECV, 0, 1000, 1);
	lost = shmx_chan_lost(rx);
	assert_true(lost > 900 && received > 10);

	/* A peeked message written over: its release says so and counts it;
	 * a batch then starts at the oldest one. */
	send_seq(tx, 1000, 1001);
	assert_int_equal(shmx_chan_peek(rx, &p, 0), fan_len(1000, true));
	send_seq(tx, 1001, 2000);
	assert_int_equal(shmx_chan_release(rx), -ENOBUFS);
	assert_true(shmx_chan_lost(rx) > lost);
	received = take_all(rx, FAN_BATCH, received, 2000, 0);

	/* Overtaken before a batch, before a peek. */
	send_seq(tx, 2000, 3000);
	received = take_all(rx, FAN_BATCH, received, 3000, 1);
	send_seq(tx, 3000, 4000);
	received = take_all(rx, FAN_PEEK, received, 4000, 1);
	/* Not overtaken: nothing lost. */
	lost = shmx_chan_lost(rx);
	send_seq(tx, 4000, 4010);
	received = take_all(rx, FAN_MIXED, received, 4010, 0);
	assert_int_equal(shmx_chan_lost(rx), lost);

	/* From outside: the same numbers. */
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.policy, OVER);
	assert_int_equal(info.sent, 4010);
	assert_int_equal(info.lost, lost);
	assert_int_equal(info.received, received);
	assert_int_equal(fan_peers(name, peers, 2), 2);
	assert_int_equal(peers[1].lost, lost);
	assert_int_equal(peers[1].count, received);
	assert_int_equal(peers[0].count, 4010);
	assert_int_equal(shmx_chan_lost(tx), -EBADF);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
}

/* The consumer stands at a record the producer has since written over
 * with the end of a message: the word it finds there is half old record
 * word, half new payload, and may say any length. Overtaken is what it
 * is: -ENOBUFS, not -EMSGSIZE for a message that was never sent. */
static void test_torn_record_word_is_enobufs(void **state)
{
	const char *name = tu_name();
	unsigned char big[2032] = { 0 }, buf[64], c[10] = { 0 };
	struct shmx_chan *tx, *rx;
	size_t lens[4];

	(void)state;
	for (int round = 0; round < 2; round++) {
		tx = fan_create(name, CAP, 1, 1, OVER, P);
		assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
		assert_int_equal(shmx_chan_send(tx, buf, 8, 0), 0);     /* 0 .. 16 */
		assert_int_equal(shmx_chan_send(tx, buf, 16, 0), 0);    /* 16 .. 40 */
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 8);
		assert_int_equal(shmx_chan_send(tx, big, 2032, 0), 0);  /* .. 2080 */
		assert_int_equal(shmx_chan_send(tx, big, 2008, 0), 0);  /* .. 4096 */
		/* At 4096: 8 + 10 bytes, the last two over the low bytes of the
		 * word at 16, which then says 1024 bytes. */
		c[9] = 0x04;
		assert_int_equal(shmx_chan_send(tx, c, sizeof(c), 0), 0);
		if (round == 0)
			assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -ENOBUFS);
		else
			assert_int_equal(shmx_chan_recv_batch(rx, buf, sizeof(buf), lens, 4, 0),
					 -ENOBUFS);
		assert_int_equal(shmx_chan_lost(rx), 1);
		assert_int_equal(shmx_chan_recv(rx, big, sizeof(big), 0), 2032);
		rx = shmx_chan_close(rx);
		tx = shmx_chan_close(tx);
		assert_int_equal(shmx_chan_unlink(name), 0);
	}
}

/* ---- a slow consumer in another process ---- */

/* Messages first .. end-1, never waiting, in runs of 64 with a pause of
 * 50 us after each: fast enough to overtake a slow consumer again and
 * again, slow enough that it gets a good part of them. */
static int produce_paced(struct shmx_chan *tx, int64_t first, int64_t end)
{
	const struct timespec pause = { 0, 50000 };
	int64_t k;
	int err = 0;

	for (k = first; k < end && !err; k += 64) {
		err = fan_produce(tx, (uint64_t)k, (uint64_t)(k + 64 < end ? k + 64 : end),
				  true, 0);
		nanosleep(&pause, NULL);
	}
	return err;
}

/* The producer in a child: n messages, never waiting, then close. */
static pid_t producer(const char *name, int64_t first, int64_t n, int go)
{
	struct shmx_chan *tx;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	tx = fan_open(name, P);
	if (go >= 0)
		TU_CK(tu_ev_wait(go, LONG_MS));
	TU_CKEQ(produce_paced(tx, first, n), 0);
	shmx_chan_close(tx);
	_exit(0);
}

/* The consumer sleeps now and then while the producer sends: it is
 * overtaken again and again, and must account for every message. */
static void slow_consumer(enum fan_mode mode)
{
	const struct fan_opts o = { .mode = mode, .ided = true, .timeout_ms = LONG_MS,
				    .slow = 300 };
	const char *name = tu_name();
	int64_t n = scaled(1000000) / 2;
	struct shmx_chan_peer peers[2];
	struct shmx_chan_info info;
	struct shmx_chan *rx;
	struct fan_report r;
	pid_t pid;

	rx = fan_create(name, CAP, 1, 1, OVER, C);
	pid = producer(name, 0, n, -1);
	fan_consume(rx, &o, &r);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
	print_message("# received %lld, lost %lld, -ENOBUFS %lld times\n", (long long)r.got,
		      (long long)r.lost, (long long)r.nobufs);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.err, -EPIPE);
	assert_int_equal(r.first, r.spare[0]);
	assert_int_equal(r.next, n);    /* the last one is never written over */
	assert_int_equal(r.got + r.lost, n);
	assert_true(r.nobufs > 0);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.sent, n);
	assert_int_equal(info.lost, r.lost);
	assert_int_equal(info.received, r.got);
	assert_int_equal(fan_peers(name, peers, 2), 2);
	assert_int_equal(peers[1].lost, r.lost);
	assert_int_equal(peers[1].count, r.got);
	rx = shmx_chan_close(rx);
}

static void test_slow_consumer_recv(void **state)
{
	(void)state;
	slow_consumer(FAN_RECV);
}

static void test_slow_consumer_peek_release(void **state)
{
	(void)state;
	slow_consumer(FAN_PEEK);
}

static void test_slow_consumer_recv_batch(void **state)
{
	(void)state;
	slow_consumer(FAN_BATCH);
}

/* Broadcast: three consumers of three speeds from the start and a fourth
 * from the middle (the producer waits until shmx_chan_peers() shows it);
 * each accounts for exactly the messages sent after it attached. */
static void test_broadcast_each_consumer_accounts(void **state)
{
	static const struct fan_opts o[4] = {
		{ .mode = FAN_RECV, .ided = true, .timeout_ms = LONG_MS, .slow = 100 },
		{ .mode = FAN_PEEK, .ided = true, .timeout_ms = LONG_MS, .slow = 300 },
		{ .mode = FAN_BATCH, .ided = true, .timeout_ms = LONG_MS },
		{ .mode = FAN_MIXED, .ided = true, .timeout_ms = LONG_MS, .slow = 50 },
	};
	const char *name = tu_name();
	int64_t n = scaled(1000000) / 2, half = n / 2, lost = 0, start;
	struct shmx_chan_peer peers[5];
	struct shmx_chan_info info;
	struct fan_report r[4];
	struct shmx_chan *tx;
	int rep[4][2];
	pid_t pid[4];

	(void)state;
	tx = fan_create(name, CAP, 1, 4, OVER, P);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pipe(rep[i]), 0);
	for (int i = 0; i < 3; i++)
		pid[i] = fan_consumer(name, &o[i], rep[i][1]);
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 3, LONG_MS));
	assert_int_equal(produce_paced(tx, 0, half), 0);
	pid[3] = fan_consumer(name, &o[3], rep[3][1]);
	assert_true(fan_wait_count(name, C, SHMX_PEER_ATTACHED, 4, LONG_MS));
	assert_int_equal(produce_paced(tx, half, n), 0);
	tx = shmx_chan_close(tx);
	assert_int_equal(fan_peers(name, peers, 5), 5);
	for (int i = 0; i < 4; i++) {
		fan_report_recv(rep[i][0], &r[i]);
		assert_int_equal(tu_child_verdict(pid[i], CHILD_MS, NULL), 0);
		print_message("# consumer %d: received %lld, lost %lld, -ENOBUFS %lld times\n",
			      i, (long long)r[i].got, (long long)r[i].lost,
			      (long long)r[i].nobufs);
		start = i < 3 ? 0 : half;
		assert_int_equal(r[i].bad, 0);
		assert_int_equal(r[i].err, -EPIPE);
		assert_int_equal(r[i].first, start + r[i].spare[0]);
		assert_int_equal(r[i].next, n);
		assert_int_equal(r[i].got + r[i].lost, n - start);
		lost += r[i].lost;
		close(rep[i][0]);
		close(rep[i][1]);
	}
	assert_true(r[0].nobufs > 0);
	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.lost, lost);
	assert_int_equal(fan_peers(name, peers, 5), 5);
	for (int i = 0; i < 4; i++) {
		struct shmx_chan_peer *pe = &peers[1 + r[i].spare[2]];

		assert_int_equal(pe->state, SHMX_PEER_CLOSED);
		assert_int_equal(pe->lost, r[i].lost);
		assert_int_equal(pe->count, r[i].got);
	}
}

/* A producer sending batches bigger than the ring while a consumer reads:
 * low passes records the batch has stored but not yet published unless
 * the batch publishes first, and the consumer then took low for a value
 * past head, that is corrupt (-EBADMSG). Exact accounting all along. */
static void test_batches_past_the_ring_while_read(void **state)
{
	const char *name = tu_name();
	struct shmx_chan_params p = { .capacity = 256,
				      .policy = SHMX_CHAN_POLICY_OVERWRITE };
	const unsigned rounds = 20000, per = 40;
	uint64_t got = 0, next = 0, v;
	struct shmx_chan *rx;
	ssize_t r;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create_params(name, &p, C, 0, &rx), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct iovec iov[40];
		uint64_t seq[40], n = 0;
		struct shmx_chan *tx;

		TU_CKEQ(shmx_chan_open(name, P, CHILD_MS, &tx), 0);
		for (unsigned k = 0; k < rounds; k++) {
			for (unsigned i = 0; i < per; i++) {
				seq[i] = n++;
				iov[i] = (struct iovec){ &seq[i], sizeof(seq[i]) };
			}
			TU_CKEQ(shmx_chan_send_batch(tx, iov, per, 0), (ssize_t)per);
		}
		shmx_chan_close(tx);
		_exit(0);
	}
	while ((r = shmx_chan_recv(rx, &v, sizeof(v), CHILD_MS)) != -EPIPE) {
		if (r == -ENOBUFS)
			continue;
		assert_int_equal(r, sizeof(v));
		assert_true(v >= next);
		next = v + 1;
		got++;
	}
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
	assert_int_equal(got + (uint64_t)shmx_chan_lost(rx), (uint64_t)rounds * per);
	shmx_chan_close(rx);
}

/* ---- every sequence of sizes, zero and padding look-alikes included ---- */

#define SMALL 256       /* a small ring: laps come often */

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t pick_len(uint64_t *s)
{
	static const size_t lens[] = { 0, 0, 0, 0, 1, 7, 8, 9, 16, 24, 56, 64, 112, 120 };

	if (next_rand(s) % 4 == 0)
		return next_rand(s) % (SMALL / 2 - 7);
	return lens[next_rand(s) % (sizeof(lens) / sizeof(lens[0]))];
}

/* Message seq of len bytes, to be stored at ring offset off: its number
 * in the first 8 bytes (when it has them), then words that each look like
 * the padding record a consumer would find at their place. */
static void hostile_fill(unsigned char *p, size_t len, uint64_t seq, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seq * 31 + i);
	if (len >= 8)
		memcpy(p, &seq, 8);
	for (size_t i = 8; i + 8 <= len; i += 8) {
		uint64_t at = (off + 8 + i) % SMALL,
			 w = (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (SMALL - at - 8);

		memcpy(p + i, &w, 8);
	}
}

struct lapped {
	struct shmx_chan *tx, *rx;
	uint64_t pos;           /* the producer's position, as it computes it */
	int64_t sent, received, nobufs;
	size_t lens[1 << 16];
};

static void lapped_send(struct lapped *l, uint64_t *s)
{
	unsigned char buf[SMALL];
	size_t len = pick_len(s);
	uint64_t need = 8 + ((len + 7) & ~7u);

	if (l->pos % SMALL + need > SMALL)
		l->pos += SMALL - l->pos % SMALL;
	hostile_fill(buf, len, (uint64_t)l->sent, l->pos % SMALL);
	l->pos += need;
	assert_int_equal(shmx_chan_send(l->tx, buf, len, 0), 0);
	l->lens[l->sent++] = len;
}

/* One call of the consumer: what it returns must be the next message
 * after everything received and lost, whole. */
static bool lapped_recv(struct lapped *l, uint64_t *s)
{
	unsigned char buf[SMALL], want[SMALL];
	const void *p;
	int64_t seq;
	ssize_t n;
	bool peek = next_rand(s) % 3 == 0;

	if (peek) {
		n = shmx_chan_peek(l->rx, &p, 0);
		if (n >= 0)
			memcpy(buf, p, (size_t)n);
	} else {
		n = shmx_chan_recv(l->rx, buf, sizeof(buf), 0);
	}
	if (n == -EAGAIN)
		return false;
	if (n == -ENOBUFS) {
		l->nobufs++;
		return true;
	}
	assert_true(n >= 0);
	if (peek) {
		int r = shmx_chan_release(l->rx);

		if (r == -ENOBUFS) {
			l->nobufs++;
			return true;
		}
		assert_int_equal(r, 0);
	}
	seq = l->received + shmx_chan_lost(l->rx);
	assert_true(seq < l->sent);
	assert_int_equal(n, l->lens[seq]);
	hostile_fill(want, (size_t)n, (uint64_t)seq, 0);
	assert_memory_equal(buf, want, n < 8 ? (size_t)n : 8);
	l->received++;
	return true;
}

/* A consumer lapped at any point, over any sizes (many empty ones, and
 * payloads that look like padding words): it never follows a padding
 * word, nor any word, of a later lap; received + lost = sent exactly. */
static void test_lapped_over_padding_every_size(void **state)
{
	static struct lapped l;

	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		const char *name = tu_name();
		uint64_t s = seed * 0x9e3779b97f4a7c15ull;

		memset(&l, 0, sizeof(l));
		l.tx = fan_create(name, SMALL, 1, 1, OVER, P);
		assert_int_equal(shmx_chan_open(name, C, 0, &l.rx), 0);
		while (l.sent < (int64_t)(sizeof(l.lens) / sizeof(l.lens[0])) - 64) {
			int burst = (int)(next_rand(&s) % 40);

			for (int i = 0; i < burst; i++)
				lapped_send(&l, &s);
			for (int i = (int)(next_rand(&s) % 4); i > 0; i--)
				lapped_recv(&l, &s);
		}
		while (lapped_recv(&l, &s))
			;
		if (l.received + shmx_chan_lost(l.rx) != l.sent)
			print_message("# seed %llu: sent %lld, received %lld, lost %lld\n",
				      (unsigned long long)seed, (long long)l.sent,
				      (long long)l.received, (long long)shmx_chan_lost(l.rx));
		assert_int_equal(l.received + shmx_chan_lost(l.rx), l.sent);
		assert_true(l.nobufs > 0);
		l.rx = shmx_chan_close(l.rx);
		l.tx = shmx_chan_close(l.tx);
	}
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_overtaken_consumer_step_by_step),
		T(test_torn_record_word_is_enobufs),
		T(test_lapped_over_padding_every_size),
		T(test_slow_consumer_recv),
		T(test_slow_consumer_peek_release),
		T(test_slow_consumer_recv_batch),
		T(test_broadcast_each_consumer_accounts),
		T(test_batches_past_the_ring_while_read),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
