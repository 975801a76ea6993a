/* SPDX-License-Identifier: MIT */
/* The semaphore pair between processes: an owner killed -9 is found stale,
 * a peer killed inside the other's wait ends it at once (-EOWNERDEAD), even
 * one that died before it was seen; a clean close is -EPIPE; 20,000 turns
 * go round between two processes, none lost or repeated. Every child runs
 * under tu_fork and is judged by tu_child_verdict. The pair in one process
 * is test-pair.c; turns lost and recovered, test-pair-recovery.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pair-util.h"

static void read_byte(int fd, char want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c = 0;

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, want);
}

/* ---- an owner that died ---- */

/* The owner was killed -9 holding the pair: an opener finds it stale. */
static void test_stale_killed_owner(void **state)
{
	const char *name = tu_name();
	struct shmx_region *b;
	struct shmx_pair *p = SENTINEL;
	int ev[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ev);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r = NULL;
		struct shmx_pair *w;

		TU_CKEQ(shmx_create(name, 4096, 0, 0, &r), 0);
		TU_CKEQ(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &w), 0);
		tu_ready_forever(ev[1]);
	}
	close(ev[1]);
	assert_true(tu_ev_wait(ev[0], 10000));
	b = region(name, false);
	assert_int_equal(holders(name), (1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER));
	tu_kill9(pid, 10000);
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_READER, &p), -EOWNERDEAD);
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_WRITER, &p), -EOWNERDEAD);
	assert_ptr_equal(p, SENTINEL);
	close(ev[0]);
	shmx_close(b);
}

/* ---- peers that die ---- */

struct peer_case {
	unsigned waiter_role;
	bool waiter_creates;
	int timeout;
};

struct pipes {
	int a2b[2], b2a[2], go[2], res[2];
};

static void close_pipes(struct pipes *pp)
{
	int *f = &pp->a2b[0];

	for (int i = 0; i < 8; i++)
		if (f[i] >= 0)
			close(f[i]);
}

static int child_read(int fd, char want)
{
	char c = 0;

	return read(fd, &c, 1) == 1 && c == want ? 0 : -1;
}

/* One side of the pair, in its own process with its own region handle.
 * The waiter reports its result; the other side dies by SIGKILL once the
 * parent closes "go", while the waiter is inside its wait. */
static void child(const char *name, unsigned role, bool creates, bool waiter,
		  int in, int out, const struct pipes *pp, int timeout)
{
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;
	int64_t t0;
	int res[2];
	char c;

	/* only the parent may hold "go" open, or the EOF never comes */
	close(pp->go[1]);
	if (creates) {
		TU_CKEQ(shmx_create(name, 4096, 0, 0, &r), 0);
		TU_CKEQ(shmx_pair_create(r, role, 0, &p), 0);
		(void)!write(out, "C", 1);
		TU_CKEQ(child_read(in, 'O'), 0);
	} else {
		TU_CKEQ(child_read(in, 'C'), 0);
		TU_CKEQ(shmx_open(name, 0, &r), 0);
		TU_CKEQ(shmx_pair_open(r, role, &p), 0);
		(void)!write(out, "O", 1);
	}
	if (!waiter) {
		while (read(pp->go[0], &c, 1) > 0)
			;
		/* Die well inside the waiter's wait, not before it starts. */
		usleep(100 * 1000);
		kill(getpid(), SIGKILL);
	}
	/* A writer first uses its initial turn, so that its wait blocks. */
	if (role == SHMX_PAIR_WRITER) {
		TU_CKEQ(shmx_pair_wait(p, 0), 0);
		TU_CKEQ(shmx_pair_post(p), 0);
	}
	t0 = tu_now_ms();
	(void)!write(pp->res[1], "W", 1);
	res[0] = shmx_pair_wait(p, timeout);
	res[1] = (int)(tu_now_ms() - t0);
	(void)!write(pp->res[1], res, sizeof(res));
	_exit(0);
}

static pid_t start(const char *name, const struct peer_case *pc, bool a, struct pipes *pp)
{
	unsigned other = pc->waiter_role == SHMX_PAIR_WRITER ? SHMX_PAIR_READER
							      : SHMX_PAIR_WRITER;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	/* a is the waiter, b the one that dies */
	if (a)
		child(name, pc->waiter_role, pc->waiter_creates, true, pp->b2a[0],
		      pp->a2b[1], pp, pc->timeout);
	child(name, other, !pc->waiter_creates, false, pp->a2b[0], pp->b2a[1], pp, -1);
	_exit(99);
}

static void peer_dies(const struct peer_case *pc)
{
	const char *name = tu_name();
	struct pipes pp;
	int res[2], code;
	pid_t a, b;

	assert_int_equal(pipe2(pp.a2b, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pp.b2a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pp.go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pp.res, O_CLOEXEC), 0);
	a = start(name, pc, true, &pp);
	b = start(name, pc, false, &pp);
	close(pp.go[0]);
	close(pp.res[1]);
	pp.go[0] = pp.res[1] = -1;
	read_byte(pp.res[0], 'W');
	close(pp.go[1]);  /* b dies now */
	pp.go[1] = -1;
	{
		struct pollfd pfd = { .fd = pp.res[0], .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 10000), 1);
	}
	assert_int_equal(read(pp.res[0], res, sizeof(res)), sizeof(res));
	assert_int_equal(tu_child_verdict(a, 10000, NULL), 0);
	tu_child_verdict(b, 10000, &code);
	close_pipes(&pp);
	assert_int_equal(code, 128 + SIGKILL);
	assert_int_equal(res[0], -EOWNERDEAD);
	/* promptly: the peer died about 100 ms into the wait */
	assert_true(res[1] < 2000);
	if (pc->timeout > 0)
		assert_true(res[1] < pc->timeout);
}

static void test_dead_writer_forever(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_READER, true, -1 };

	(void)state;
	peer_dies(&pc);
}

static void test_dead_writer_timed(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_READER, false, 10000 };

	(void)state;
	peer_dies(&pc);
}

static void test_dead_reader_forever(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_WRITER, true, -1 };

	(void)state;
	peer_dies(&pc);
}

/* The waiter's peer is the owner itself. */
static void test_dead_owner_forever(void **state)
{
	const struct peer_case pc = { SHMX_PAIR_WRITER, false, -1 };

	(void)state;
	peer_dies(&pc);
}

/* The reader attaches, takes the one turn it was given and is killed
 * before the creator ever looked at its slot: the emptied semaphore still
 * proves it was there, so the creator does not wait for a ghost. */
static void test_dead_before_seen(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *w = NULL;
	int64_t t0;
	int code;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *rr = NULL;
		struct shmx_pair *r = NULL;

		TU_CKEQ(shmx_open(name, 0, &rr), 0);
		TU_CKEQ(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
		TU_CKEQ(shmx_pair_wait(r, 5000), 0);
		kill(getpid(), SIGKILL);
	}
	tu_child_verdict(pid, 10000, &code);
	assert_int_equal(code, 128 + SIGKILL);
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_wait(w, 5000), -EOWNERDEAD);
	assert_true(tu_now_ms() - t0 < 2000);
	shmx_pair_close(w);
	shmx_close(rw);
}

/* A clean close is told apart from a death: -EPIPE. Turns posted before
 * it are still delivered first. */
static void test_peer_closed(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true), *rr = region(name, false);
	struct shmx_pair *w = NULL, *r = NULL;
	int64_t t0;

	(void)state;
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	assert_int_equal(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	w = shmx_pair_close(w);
	assert_int_equal(shmx_pair_wait(r, 5000), 0);
	assert_int_equal(shmx_pair_post(r), 0);
	/* (-1 is covered by the forked cases, where a hang has a deadline) */
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_wait(r, 5000), -EPIPE);
	assert_int_equal(shmx_pair_wait(r, 0), -EPIPE);
	assert_true(tu_now_ms() - t0 < 2000);
	shmx_pair_close(r);
	shmx_close(rw);
	shmx_close(rr);
}

/* A writer that holds the turn (waiting for its own input, say) learns of
 * its reader's death or close from a try: that is said before the
 * misuse (-EDEADLK), which is what a live peer gets, and the turn stays
 * where it was. shmx send --pair asked this way and, told nothing, took a
 * live receiver for a dead one by another route. */
static void holder_learns(bool kill_reader)
{
	const char *name = tu_name();
	struct shmx_region *rw = region(name, true);
	struct shmx_pair *w = NULL;
	int ev[2], code;
	pid_t pid;

	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	tu_ev_init(ev);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *rr = NULL;
		struct shmx_pair *r = NULL;

		close(ev[0]);
		TU_CKEQ(shmx_open(name, 0, &rr), 0);
		TU_CKEQ(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
		if (!kill_reader) {
			shmx_pair_close(r);
			_exit(0);
		}
		tu_ready_forever(ev[1]);
	}
	close(ev[1]);
	assert_int_equal(shmx_pair_wait(w, 0), 0);     /* held from now on */
	if (kill_reader) {
		assert_true(tu_ev_wait(ev[0], 10000));
		assert_int_equal(shmx_pair_wait(w, 0), -EDEADLK);
		tu_kill9(pid, 10000);
	} else {
		assert_int_equal(tu_child_verdict(pid, 10000, &code), 0);
	}
	assert_int_equal(shmx_pair_wait(w, 0), kill_reader ? -EOWNERDEAD : -EPIPE);
	assert_int_equal(shmx_pair_wait(w, -1), kill_reader ? -EOWNERDEAD : -EPIPE);
	/* still ours: a post hands it on (to the next reader) */
	assert_int_equal(shmx_pair_post(w), 0);
	close(ev[0]);
	shmx_pair_close(w);
	shmx_close(rw);
}

static void test_holder_learns_of_a_death(void **state)
{
	(void)state;
	holder_learns(true);
}

static void test_holder_learns_of_a_close(void **state)
{
	(void)state;
	holder_learns(false);
}

/* ---- many rounds between two processes ---- */

#define ROUNDS 20000

static void test_ping_pong(void **state)
{
	const char *name = tu_name();
	struct shmx_region *rw;
	struct shmx_pair *w = NULL;
	int fds[2];
	uint64_t *box;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *rr = NULL;
		struct shmx_pair *r = NULL;
		uint64_t i, *b;

		close(fds[1]);
		TU_CKEQ(child_read(fds[0], 'C'), 0);
		TU_CKEQ(shmx_open(name, SHMX_MAP, &rr), 0);
		TU_CKEQ(shmx_pair_open(rr, SHMX_PAIR_READER, &r), 0);
		b = shmx_addr(rr);
		for (i = 0; i < ROUNDS; i++) {
			TU_CKEQ(shmx_pair_wait(r, 5000), 0);
			TU_CK(b[0] == i);       /* lost or repeated */
			b[1] = i * 3;
			TU_CKEQ(shmx_pair_post(r), 0);
		}
		_exit(0);
	}
	close(fds[0]);
	rw = region(name, true);
	assert_int_equal(shmx_pair_create(rw, SHMX_PAIR_WRITER, 0, &w), 0);
	box = shmx_addr(rw);
	box[1] = UINT64_MAX;
	assert_int_equal(write(fds[1], "C", 1), 1);
	for (uint64_t i = 0; i < ROUNDS; i++) {
		assert_int_equal(shmx_pair_wait(w, 5000), 0);
		if (i > 0)
			assert_true(box[1] == (i - 1) * 3);
		box[0] = i;
		assert_int_equal(shmx_pair_post(w), 0);
	}
	assert_int_equal(shmx_pair_wait(w, 5000), 0);
	assert_true(box[1] == (uint64_t)(ROUNDS - 1) * 3);
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
	close(fds[1]);
	shmx_pair_close(w);
	shmx_close(rw);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stale_killed_owner),
		T(test_dead_writer_forever),
		T(test_dead_writer_timed),
		T(test_dead_reader_forever),
		T(test_dead_owner_forever),
		T(test_dead_before_seen),
		T(test_peer_closed),
		T(test_holder_learns_of_a_death),
		T(test_holder_learns_of_a_close),
		T(test_ping_pong),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
