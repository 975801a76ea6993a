/* SPDX-License-Identifier: MIT */
/* What the fan-out tests share (fanout-util.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fanout-util.h"

struct shmx_chan *fan_create(const char *name, size_t capacity, unsigned producers,
			     unsigned consumers, unsigned policy, unsigned flags)
{
	struct shmx_chan_params p = { .capacity = capacity, .producers = producers,
				      .consumers = consumers, .policy = policy };
	struct shmx_chan *c = NULL;

	assert_int_equal(shmx_chan_create_params(name, &p, flags, 0, &c), 0);
	return c;
}

struct shmx_chan *fan_open(const char *name, unsigned flags)
{
	struct shmx_chan *c = NULL;

	TU_CKEQ(shmx_chan_open(name, flags, LONG_MS, &c), 0);
	return c;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	return x ^ (x >> 33);
}

size_t fan_len(uint64_t seq, bool ided)
{
	if (!ided && seq % 50 == 7)
		return 1 + (size_t)(seq / 50 % 7);
	return FAN_ID + (size_t)(mix64(seq) % (FAN_MAX - FAN_ID + 1));
}

size_t fan_fill(unsigned char *p, uint64_t seq, bool ided)
{
	size_t len = fan_len(seq, ided);

	if (len < FAN_ID) {
		fill(p, len, seq);
		return len;
	}
	memcpy(p, &seq, FAN_ID);
	fill(p + FAN_ID, len - FAN_ID, seq);
	return len;
}

bool fan_intact(const unsigned char *p, size_t n, uint64_t seq, bool ided)
{
	if (n != fan_len(seq, ided))
		return false;
	if (n < FAN_ID)
		return intact(p, n, seq);
	return fan_id(p, n) == seq && intact(p + FAN_ID, n - FAN_ID, seq);
}

uint64_t fan_id(const unsigned char *p, size_t n)
{
	uint64_t id;

	if (n < FAN_ID)
		return ~(uint64_t)0;
	memcpy(&id, p, FAN_ID);
	return id;
}

/* Zero-copy: reserved with room to spare now and then, committed at the
 * message's length. */
static int produce_zero_copy(struct shmx_chan *tx, uint64_t seq, bool ided, int timeout_ms)
{
	size_t len = fan_len(seq, ided), resv = len, max = shmx_chan_max_msg(tx);
	void *p;
	int err;

	if (seq % 7 == 0)
		resv = len + 1 + (size_t)(seq % 40);
	if (resv > max)
		resv = max;
	err = shmx_chan_reserve(tx, resv, &p, timeout_ms);
	if (err)
		return err;
	fan_fill(p, seq, ided);
	return shmx_chan_commit(tx, len);
}

int fan_produce(struct shmx_chan *tx, uint64_t first, uint64_t end, bool ided,
		int timeout_ms)
{
	unsigned char buf[FAN_MAX];
	uint64_t seq;
	int err;

	for (seq = first; seq < end; seq++) {
		if (seq % 3 == 0)
			err = produce_zero_copy(tx, seq, ided, timeout_ms);
		else
			err = shmx_chan_send(tx, buf, fan_fill(buf, seq, ided), timeout_ms);
		if (err)
			return err;
	}
	return 0;
}

/* ---- the consumer's checks ---- */

struct fan_state {
	struct shmx_chan *rx;
	struct fan_report *r;
	const struct fan_opts *o;
	int64_t lost;           /* shmx_chan_lost() at the last message */
};

/* Message p (n bytes) just taken: it must be the one after the last,
 * skipping exactly what was lost meanwhile. false stops the consumer. */
/* Several producers: the next message of the producer it names. */
static bool check_multi(struct fan_state *s, const unsigned char *p, size_t n)
{
	struct fan_report *r = s->r;
	uint64_t id = fan_id(p, n), k = (id >> FAN_SEQ_BITS) - 1;

	if (k >= s->o->producers || k >= 4 ||
	    (int64_t)(id & ((UINT64_C(1) << FAN_SEQ_BITS) - 1)) != r->per[k] ||
	    !fan_intact(p, n, id, true)) {
		r->bad = (int64_t)id + 1;
		return false;
	}
	if (r->first < 0)
		r->first = (int64_t)id;
	r->per[k]++;
	r->hash = tu_fnv1a(r->hash, &id, sizeof(id));
	r->got++;
	return true;
}

static bool check(struct fan_state *s, const unsigned char *p, size_t n)
{
	struct fan_report *r = s->r;
	int64_t lost = shmx_chan_lost(s->rx);
	uint64_t want;

	if (s->o->producers > 1)
		return check_multi(s, p, n);

	if (r->first < 0) {
		want = fan_id(p, n);
		r->first = (int64_t)want;
		r->spare[0] = lost;     /* lost before the first */
	} else {
		want = (uint64_t)(r->next + (lost - s->lost));
	}
	s->lost = lost;
	if (want == ~(uint64_t)0 || !fan_intact(p, n, want, s->o->ided)) {
		r->bad = (int64_t)want + 1;
		return false;
	}
	r->hash = tu_fnv1a(r->hash, &want, sizeof(want));
	r->got++;
	r->next = (int64_t)want + 1;
	return true;
}

/* One message or batch: 1 go on, 0 stop (r->err or r->bad says why). */
static int take_recv(struct fan_state *s)
{
	unsigned char buf[FAN_MAX];
	ssize_t n = shmx_chan_recv(s->rx, buf, sizeof(buf), s->o->timeout_ms);

	if (n < 0)
		return (int)n;
	return check(s, buf, (size_t)n) ? 1 : 0;
}

/* The peeked bytes may be written over until the release says they were
 * not (overwrite): they are checked only after it. */
static int take_peek(struct fan_state *s)
{
	unsigned char buf[FAN_MAX];
	const void *p;
	ssize_t n = shmx_chan_peek(s->rx, &p, s->o->timeout_ms);
	int err;

	if (n < 0)
		return (int)n;
	if ((size_t)n <= sizeof(buf))
		memcpy(buf, p, (size_t)n);
	err = shmx_chan_release(s->rx);
	if (err)
		return err;
	if ((size_t)n > sizeof(buf)) {
		s->r->bad = s->r->next + 1;
		return 0;
	}
	return check(s, buf, (size_t)n) ? 1 : 0;
}

static int take_batch(struct fan_state *s)
{
	static unsigned char buf[64 * FAN_MAX];
	size_t lens[64], off = 0;
	ssize_t k = shmx_chan_recv_batch(s->rx, buf, sizeof(buf), lens, 64,
					 s->o->timeout_ms);

	if (k < 0)
		return (int)k;
	for (ssize_t i = 0; i < k; i++) {
		if (!check(s, buf + off, lens[i]))
			return 0;
		off += lens[i];
	}
	return 1;
}

void fan_consume(struct shmx_chan *rx, const struct fan_opts *o, struct fan_report *r)
{
	const struct timespec ms = { 0, 1000000 };
	struct fan_state s = { .rx = rx, .r = r, .o = o };
	int64_t pause = o->slow;
	unsigned i;
	int rc;

	memset(r, 0, sizeof(*r));
	r->first = -1;
	r->hash = TU_FNV_INIT;
	r->spare[2] = shmx_chan_slot(rx);
	for (i = 0;; i++) {
		enum fan_mode m = o->mode == FAN_MIXED ? (enum fan_mode)(i % 3) : o->mode;

		rc = m == FAN_RECV ? take_recv(&s) : m == FAN_PEEK ? take_peek(&s)
								  : take_batch(&s);
		if (rc == -ENOBUFS) {
			r->nobufs++;
			continue;
		}
		if (rc <= 0) {
			r->err = rc;
			break;
		}
		if (o->slow && r->got >= pause) {
			nanosleep(&ms, NULL);
			pause = r->got + o->slow;
		}
	}
	r->lost = shmx_chan_lost(rx);
}

pid_t fan_consumer(const char *name, const struct fan_opts *o, int rep)
{
	struct fan_report r;
	struct shmx_chan *rx;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	rx = fan_open(name, C);
	fan_consume(rx, o, &r);
	shmx_chan_close(rx);
	fan_report_send(rep, &r);
	_exit(0);
}

void fan_report_send(int fd, const struct fan_report *r)
{
	TU_CKEQ(write(fd, r, sizeof(*r)), sizeof(*r));
}

void fan_report_recv(int fd, struct fan_report *r)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, CHILD_MS), 1);
	assert_int_equal(read(fd, r, sizeof(*r)), sizeof(*r));
}

/* ---- slots, from outside ---- */

int fan_peers(const char *name, struct shmx_chan_peer *peers, size_t n)
{
	int k = shmx_chan_peers(name, peers, n);

	assert_true(k > 0 && (size_t)k <= n);
	return k;
}

int fan_count(const char *name, unsigned role, unsigned state)
{
	struct shmx_chan_peer peers[2 * SHMX_CHAN_MAX_PEERS];
	int k = fan_peers(name, peers, 2 * SHMX_CHAN_MAX_PEERS), n = 0;

	for (int i = 0; i < k; i++)
		n += peers[i].role == role && peers[i].state == state;
	return n;
}

bool fan_wait_count(const char *name, unsigned role, unsigned state, int n, int timeout_ms)
{
	const struct timespec ms = { 0, 1000000 };
	int64_t end = tu_now_ms() + timeout_ms;

	struct shmx_chan_peer peers[2 * SHMX_CHAN_MAX_PEERS];
	int k;

	while (fan_count(name, role, state) != n) {
		if (tu_now_ms() > end)
			goto timeout;
		nanosleep(&ms, NULL);
	}
	return true;
timeout:
	k = fan_peers(name, peers, 2 * SHMX_CHAN_MAX_PEERS);
	for (int i = 0; i < k; i++)
		print_message("# %s slot %u: state %u, pid %d, count %llu\n",
			      peers[i].role == P ? "producer" : "consumer", peers[i].slot,
			      peers[i].state, (int)peers[i].pid,
			      (unsigned long long)peers[i].count);
	return false;
}
