/* SPDX-License-Identifier: MIT */
/* Signals that interrupt libshmx (shmx(7), Deadlines): under a 1 ms
 * SIGALRM storm, with and without SA_RESTART, every timed wait returns at
 * its deadline (not before, not much after), 200,000 channel messages and
 * 20,000 pair turns arrive intact and in order, and a 256 MiB create whose
 * posix_fallocate is interrupted retries until every page is reserved.
 * Each storm runs in its own child (tu_fork, tu_child_verdict). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"
#include "wrap-fallocate.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000           /* "forever" in a test: failing beats hanging */
#define CHILD_MS 120000
#define MIB ((size_t)1 << 20)

/* ---- signals: a 1 ms SIGALRM storm ---- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void storm_start(bool restart)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	TU_CK(sigaction(SIGALRM, &sa, NULL) == 0);
	TU_CK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

#define DEADLINE_MS 300
#define SLACK_MS 3000   /* generous: two noisy vCPUs shared with others */

/* rc must be want, returned no earlier than the deadline, not much after. */
#define CK_DEADLINE(call, want)                                                  \
	do {                                                                     \
		int64_t t0_ = tu_now_ms();                                       \
		long rc_ = (long)(call);                                         \
		int64_t el_ = tu_now_ms() - t0_;                                 \
		TU_CKEQ(rc_, want);                                                 \
		if (el_ < DEADLINE_MS || el_ > DEADLINE_MS + SLACK_MS)           \
			fprintf(stderr, "# %s took %lld ms\n", #call, (long long)el_); \
		TU_CK(el_ >= DEADLINE_MS && el_ <= DEADLINE_MS + SLACK_MS);         \
	} while (0)

static void fill_ring(struct shmx_chan *c)
{
	static char msg[512];
	int rc, n = 0;

	while ((rc = shmx_chan_send(c, msg, sizeof(msg), 0)) == 0)
		n++;
	TU_CKEQ(rc, -EAGAIN);
	TU_CK(n > 0);
}

static void storm_deadlines_child(const char *n[4], bool restart)
{
	static const unsigned modes[] = { 0, SHMX_CHAN_BLOCK, SHMX_CHAN_SPIN };
	struct shmx_region *r, *r2;
	struct shmx_pair *w, *rd;
	struct shmx_chan *prod, *cons, *c;
	const void *cp;
	void *vp;
	char buf[64];

	storm_start(restart);
	TU_CKEQ(shmx_create(n[0], 4096, SHMX_MAP, 0, &r), 0);
	TU_CKEQ(shmx_pair_create(r, W, 0, &w), 0);
	TU_CKEQ(shmx_open(n[0], SHMX_MAP, &r2), 0);
	TU_CKEQ(shmx_pair_open(r2, R, &rd), 0);
	CK_DEADLINE(shmx_pair_wait(rd, DEADLINE_MS), -ETIMEDOUT);
	TU_CKEQ(shmx_pair_wait(w, 0), 0);
	TU_CKEQ(shmx_pair_post(w), 0);
	CK_DEADLINE(shmx_pair_wait(w, DEADLINE_MS), -ETIMEDOUT);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		TU_CKEQ(shmx_chan_create(n[1], 4096, P | modes[i], 0, &prod), 0);
		TU_CKEQ(shmx_chan_open(n[1], C | modes[i], 0, &cons), 0);
		CK_DEADLINE(shmx_chan_recv(cons, buf, sizeof(buf), DEADLINE_MS), -ETIMEDOUT);
		CK_DEADLINE(shmx_chan_peek(cons, &cp, DEADLINE_MS), -ETIMEDOUT);
		fill_ring(prod);
		CK_DEADLINE(shmx_chan_send(prod, buf, 512, DEADLINE_MS), -ETIMEDOUT);
		CK_DEADLINE(shmx_chan_reserve(prod, 512, &vp, DEADLINE_MS), -ETIMEDOUT);
		shmx_chan_close(cons);
		shmx_chan_close(prod);
		TU_CKEQ(shmx_chan_unlink(n[1]), 0);
	}
	/* present, never published (a creator's mode 0, shmx_chan_open(3)): the
	 * opener waits out its deadline */
	int fd = shm_open(n[2], O_CREAT | O_EXCL | O_RDWR, 0);
	TU_CK(fd >= 0);
	TU_CKEQ(ftruncate(fd, 4096 + 4096), 0);
	CK_DEADLINE(shmx_chan_open(n[2], C, DEADLINE_MS, &c), -ETIMEDOUT);
	fprintf(stderr, "# %d SIGALRMs (%s SA_RESTART) during the waits\n", (int)alarms,
		restart ? "with" : "without");
	TU_CK(alarms >= 100);
	_exit(0);
}

static void test_storm_deadlines(void **state)
{
	bool restart = *(int *)*state;
	const char *n[4] = { tu_name(), tu_name(), tu_name(), tu_name() };
	pid_t pid = tu_fork();

	if (pid == 0)
		storm_deadlines_child(n, restart);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
}

/* Messages: sequence number, payload derived from it, checksum. */
#define TRANSFER 200000
#define PAIR_TURNS 20000

struct msg {
	uint64_t seq;
	uint64_t sum;
	unsigned char data[240];
};

static size_t msg_fill(struct msg *m, uint64_t seq)
{
	size_t len = (seq * 7919) % sizeof(m->data);

	m->seq = seq;
	m->sum = seq * UINT64_C(0x9e3779b97f4a7c15);
	for (size_t i = 0; i < len; i++) {
		m->data[i] = (unsigned char)(seq + i * 31);
		m->sum = (m->sum ^ m->data[i]) * UINT64_C(0x100000001b3);
	}
	return offsetof(struct msg, data) + len;
}

static void msg_check(const struct msg *m, size_t len, uint64_t seq)
{
	struct msg want;
	size_t wlen = msg_fill(&want, seq);

	if (m->seq != seq)
		fprintf(stderr, "# expected message %llu, got %llu\n", (unsigned long long)seq,
			(unsigned long long)m->seq);
	TU_CKEQ(m->seq, seq);
	TU_CKEQ(len, wlen);
	TU_CK(memcmp(m, &want, wlen) == 0);
}

static void producer_child(const char *name, bool restart, int ready)
{
	struct shmx_chan *c;
	struct msg m;

	storm_start(restart);
	TU_CK(tu_ev_wait(ready, LONG_MS));
	TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &c), 0);
	for (uint64_t seq = 0; seq < TRANSFER; seq++)
		TU_CKEQ(shmx_chan_send(c, &m, msg_fill(&m, seq), LONG_MS), 0);
	shmx_chan_close(c);
	_exit(0);
}

static void consumer_child(const char *name, bool restart, int ready)
{
	struct shmx_chan *c;
	struct msg m;
	ssize_t n;

	storm_start(restart);
	TU_CKEQ(shmx_chan_create(name, 4096, C, 0, &c), 0);
	tu_ev_post(ready);
	for (uint64_t seq = 0; seq < TRANSFER; seq++) {
		n = shmx_chan_recv(c, &m, sizeof(m), LONG_MS);
		TU_CK(n > 0);
		msg_check(&m, (size_t)n, seq);
	}
	/* nothing more, nothing twice: the producer closed after the last */
	TU_CKEQ(shmx_chan_recv(c, &m, sizeof(m), LONG_MS), -EPIPE);
	fprintf(stderr, "# consumer: %d SIGALRMs during %d messages\n", (int)alarms, TRANSFER);
	TU_CK(alarms >= 10);
	shmx_chan_close(c);
	_exit(0);
}

static void pair_writer_child(const char *name, bool restart, int ready)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct msg m;

	storm_start(restart);
	TU_CKEQ(shmx_create(name, sizeof(m) + 8, SHMX_MAP, 0, &r), 0);
	TU_CKEQ(shmx_pair_create(r, W, 0, &p), 0);
	tu_ev_post(ready);
	for (uint64_t seq = 0; seq < PAIR_TURNS; seq++) {
		size_t len = msg_fill(&m, seq);

		TU_CKEQ(shmx_pair_wait(p, LONG_MS), 0);
		TU_CKEQ(shmx_write(r, 0, &len, 8), 8);
		TU_CKEQ(shmx_write(r, 8, &m, len), len);
		TU_CKEQ(shmx_pair_post(p), 0);
	}
	/* the reader's last post: it has seen everything */
	TU_CKEQ(shmx_pair_wait(p, LONG_MS), 0);
	shmx_pair_close(p);
	shmx_close(r);
	_exit(0);
}

static void pair_reader_child(const char *name, bool restart, int ready)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct msg m;
	size_t len;

	storm_start(restart);
	TU_CK(tu_ev_wait(ready, LONG_MS));
	TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
	TU_CKEQ(shmx_pair_open(r, R, &p), 0);
	for (uint64_t seq = 0; seq < PAIR_TURNS; seq++) {
		TU_CKEQ(shmx_pair_wait(p, LONG_MS), 0);
		TU_CKEQ(shmx_read(r, 0, &len, 8), 8);
		TU_CK(len <= sizeof(m));
		TU_CKEQ(shmx_read(r, 8, &m, len), len);
		msg_check(&m, len, seq);
		TU_CKEQ(shmx_pair_post(p), 0);
	}
	/* no extra turn: the writer posts no more (and may be gone by now:
	 * it takes its last turn from the turn word, and may have closed) */
	len = (size_t)-shmx_pair_wait(p, 0);
	TU_CK(len == EAGAIN || len == EOWNERDEAD || len == EPIPE);
	shmx_pair_close(p);
	shmx_close(r);
	_exit(0);
}

#define TRANSFER_MS 240000

/* a and b in two children, one waiting for the other's "ready". */
static void run_two(void (*a)(const char *, bool, int), void (*b)(const char *, bool, int),
		    bool restart)
{
	const char *name = tu_name();
	pid_t pa, pb;
	int ev[2];

	tu_ev_init(ev);
	pa = tu_fork();
	if (pa == 0)
		a(name, restart, ev[1]);
	pb = tu_fork();
	if (pb == 0)
		b(name, restart, ev[0]);
	close(ev[0]);
	close(ev[1]);
	assert_int_equal(tu_child_verdict(pa, TRANSFER_MS, NULL), 0);
	assert_int_equal(tu_child_verdict(pb, TRANSFER_MS, NULL), 0);
}

static void test_storm_transfer(void **state)
{
	bool restart = *(int *)*state;

	run_two(consumer_child, producer_child, restart);  /* 200,000 messages */
	run_two(pair_writer_child, pair_reader_child, restart);  /* 20,000 turns */
}

/* posix_fallocate of 256 MiB is interrupted by the storm; create retries. */
static void test_storm_create(void **state)
{
	bool restart = *(int *)*state;
	const char *name = tu_name();
	pid_t pid = tu_fork();

	if (pid == 0) {
		struct shmx_region *r;
		struct stat st;

		storm_start(restart);
		TU_CKEQ(shmx_create(name, 256 * MIB, SHMX_MAP, 0, &r), 0);
		TU_CK(fstat(shmx_fd(r), &st) == 0);
		TU_CKEQ(st.st_size, 256 * MIB);
		TU_CK(st.st_blocks * 512 >= (off_t)(256 * MIB)); /* all reserved */
		TU_CKEQ(shmx_resize(r, 512 * MIB), 0);
		TU_CK(fstat(shmx_fd(r), &st) == 0);
		TU_CK(st.st_blocks * 512 >= (off_t)(512 * MIB));
		fprintf(stderr, "# %d SIGALRMs during the create and resize\n", (int)alarms);
		TU_CK(alarms >= 1);
		TU_CKEQ(shmx_unlink(name), 0);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
}

/* ---- a pair's deadline under the storm ---- */

/* A writer with nobody to take the turn: -ETIMEDOUT after 200 ms, however
 * many SIGALRMs hit the wait. */
static void pair_timeout_child(const char *name, bool restart)
{
	struct shmx_region *rw;
	struct shmx_pair *w;
	int64_t t0, dt;

	TU_CKEQ(shmx_create(name, 8192, SHMX_MAP, 0, &rw), 0);
	TU_CKEQ(shmx_pair_create(rw, W, 0, &w), 0);
	TU_CKEQ(shmx_pair_wait(w, 0), 0);
	TU_CKEQ(shmx_pair_post(w), 0);
	storm_start(restart);
	t0 = tu_now_ms();
	TU_CKEQ(shmx_pair_wait(w, 200), -ETIMEDOUT);
	dt = tu_now_ms() - t0;
	TU_CK(dt >= 200 && dt < 2000);
	TU_CK(alarms >= 20);    /* the storm did hit the wait */
	_exit(0);
}

static void timeout_storm(bool restart)
{
	const char *name = tu_name();
	pid_t pid = tu_fork();

	if (pid == 0)
		pair_timeout_child(name, restart);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
}

static void test_timeout_storm_restart(void **state)
{
	(void)state;
	timeout_storm(true);
}

static void test_timeout_storm_norestart(void **state)
{
	(void)state;
	timeout_storm(false);
}

/* ---- EINTR from posix_fallocate, on demand ---- */

static void test_create_fallocate_eintr_retried(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	fallocate_calls = 0;
	fallocate_eintr = 3;
	assert_int_equal(shmx_create(name, 65536, 0, 0, &r), 0);
	assert_int_equal(fallocate_calls, 4);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 >= 65536);
	shmx_close(r);
}

/* ---- group ---- */

static int with_restart = 1, without_restart = 0;

#define TS(f, s) cmocka_unit_test_prestate_setup_teardown(f, NULL, tu_teardown, s)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TS(test_storm_deadlines, &with_restart),
		TS(test_storm_deadlines, &without_restart),
		TS(test_storm_transfer, &with_restart),
		TS(test_storm_transfer, &without_restart),
		TS(test_storm_create, &with_restart),
		TS(test_storm_create, &without_restart),
		cmocka_unit_test_teardown(test_create_fallocate_eintr_retried, tu_teardown),
		cmocka_unit_test_teardown(test_timeout_storm_restart, tu_teardown),
		cmocka_unit_test_teardown(test_timeout_storm_norestart, tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
