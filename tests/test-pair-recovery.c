/* SPDX-License-Identifier: MIT */
/* The semaphore pair never loses its turn: a participant killed -9 or
 * closing at any point of a turn gives the turn back, the survivor is told
 * which (-EOWNERDEAD or -EPIPE), and a replacement carries on with every
 * message intact. Also: liveness whoever created the pair, and the
 * liveness locks on a description of their own without /proc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pair-util.h"

#define WAIT_MS  2000   /* any single turn; far above what one takes */
#define WARM     3      /* turns before the victim's event */
#define MORE     1000   /* turns a replacement must complete afterwards */
#define TARGET   (WARM + 2 + MORE)

/* ---- the data: the writer writes seq, the reader acknowledges it ---- */

struct box {
	volatile uint64_t seq;  /* last message written */
	volatile uint64_t ack;  /* last message read */
};

struct side {
	struct shmx_region *r;
	struct shmx_pair *p;
	bool writer;
	bool first;     /* a replacement's first turn may see a leftover */
};

static struct box *box_of(const struct side *s)
{
	return shmx_addr(s->r);
}

/* The data part of one turn (the caller holds it): 0, or -1 if a message
 * was lost or repeated. A replacement writer may find its predecessor's
 * half-done message (seq one ahead): it is rewritten. A replacement reader
 * may be offered again the message its predecessor died holding. */
static int use_turn(struct side *s)
{
	struct box *b = box_of(s);
	uint64_t seq = b->seq, ack = b->ack;
	bool first = s->first;

	s->first = false;
	if (s->writer) {
		if (seq != ack && !(first && seq == ack + 1))
			return -1;
		b->seq = ack + 1;
		return 0;
	}
	if (seq != ack + 1 && !(first && seq == ack))
		return -1;
	b->ack = seq;
	return 0;
}

/* One full turn: wait, data, post. */
static int turn(struct side *s)
{
	int err = shmx_pair_wait(s->p, WAIT_MS);

	if (err)
		return err;
	if (use_turn(s))
		return -EBADMSG;
	return shmx_pair_post(s->p);
}

/* Turns until the last message is through (the writer ends holding). */
static int run_to_end(struct side *s)
{
	for (;;) {
		int err = shmx_pair_wait(s->p, WAIT_MS);

		if (err)
			return err;
		if (s->writer && box_of(s)->ack >= TARGET)
			return 0;
		if (use_turn(s))
			return -EBADMSG;
		err = shmx_pair_post(s->p);
		if (err)
			return err;
		if (!s->writer && box_of(s)->ack >= TARGET)
			return 0;
	}
}

/* ---- the victim, a child process ---- */

enum point { WAITING, HOLDING, AFTER_WRITE, AFTER_POST };

struct scenario {
	bool victim_writer;
	enum point at;
	bool close;     /* shmx_pair_close() instead of kill -9 */
};

static void say(int fd, char c)
{
	(void)!write(fd, &c, 1);
}

static void expect(int fd, char want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c = 0;

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, want);
}

static struct side attach_child(const char *name, bool writer)
{
	struct side s = { .writer = writer, .first = true };
	unsigned role = writer ? SHMX_PAIR_WRITER : SHMX_PAIR_READER;

	TU_CKEQ(shmx_open(name, SHMX_MAP, &s.r), 0);
	TU_CKEQ(shmx_pair_open(s.r, role, &s.p), 0);
	return s;
}

/* WARM turns, then the event at sc->at: report 'S' there, then die by
 * SIGKILL (the parent sends it) or close and exit. */
static void victim(const char *name, const struct scenario *sc, int out)
{
	struct side s = attach_child(name, sc->victim_writer);

	s.first = false;
	for (int i = 0; i < WARM; i++)
		TU_CKEQ(turn(&s), 0);
	if (sc->at != WAITING)
		TU_CKEQ(shmx_pair_wait(s.p, WAIT_MS), 0);
	if (sc->at >= AFTER_WRITE)
		TU_CKEQ(use_turn(&s), 0);
	if (sc->at == AFTER_POST)
		TU_CKEQ(shmx_pair_post(s.p), 0);
	if (sc->close) {
		shmx_pair_close(s.p);
		say(out, 'S');
		_exit(0);
	}
	say(out, 'S');
	for (;;)
		pause();
}

static void replacement(const char *name, bool writer, int out)
{
	struct side s = attach_child(name, writer);

	say(out, 'A');
	TU_CKEQ(run_to_end(&s), 0);
	_exit(0);
}

/* The victim is gone for good (killed and reaped, or closed and exited). */
static void victim_ends(pid_t pid, const struct scenario *sc)
{
	if (sc->close)
		assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
	else
		tu_kill9(pid, 10000);
}

/* The survivor (this process) owns the pair, in the other role; it waits
 * until it holds the victim's last warm-up post. */
static void survivor_warm(struct side *s)
{
	for (;;) {
		struct box *b;

		assert_int_equal(shmx_pair_wait(s->p, WAIT_MS), 0);
		b = box_of(s);
		if ((s->writer ? b->ack : b->seq) == WARM)
			return;
		assert_int_equal(use_turn(s), 0);
		assert_int_equal(shmx_pair_post(s->p), 0);
	}
}

static void survivor_turn(struct side *s)
{
	assert_int_equal(use_turn(s), 0);
	assert_int_equal(shmx_pair_post(s->p), 0);
}

static void scenario_run(const struct scenario *sc)
{
	const char *name = tu_name();
	struct side s = { .writer = !sc->victim_writer };
	int fds[2], want = sc->close ? -EPIPE : -EOWNERDEAD;
	pid_t v, a;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &s.r), 0);
	assert_int_equal(shmx_pair_create(s.r, s.writer ? SHMX_PAIR_WRITER : SHMX_PAIR_READER,
					  0, &s.p), 0);
	v = tu_fork();
	if (v == 0)
		victim(name, sc, fds[1]);
	survivor_warm(&s);
	if (sc->at != WAITING)
		survivor_turn(&s);
	expect(fds[0], 'S');
	victim_ends(v, sc);
	if (sc->at == WAITING)
		survivor_turn(&s);
	if (sc->at == AFTER_POST) {
		/* what the victim posted before it went is delivered first */
		assert_int_equal(shmx_pair_wait(s.p, WAIT_MS), 0);
		survivor_turn(&s);
	}
	assert_int_equal(shmx_pair_wait(s.p, WAIT_MS), want);
	assert_int_equal(shmx_pair_wait(s.p, 0), want);
	a = tu_fork();
	if (a == 0)
		replacement(name, sc->victim_writer, fds[1]);
	expect(fds[0], 'A');
	assert_int_equal(run_to_end(&s), 0);
	assert_int_equal(tu_child_verdict(a, 20000, NULL), 0);
	assert_true(box_of(&s)->seq == TARGET && box_of(&s)->ack == TARGET);
	close(fds[0]);
	close(fds[1]);
	shmx_pair_close(s.p);
	shmx_close(s.r);
}

#define SCENARIO(fn, w, pt, cl)                                                  \
	static void fn(void **state)                                             \
	{                                                                        \
		const struct scenario sc = { w, pt, cl };                        \
		(void)state;                                                     \
		scenario_run(&sc);                                               \
	}

SCENARIO(test_killed_writer_waiting_turn_comes_back, true, WAITING, false)
SCENARIO(test_killed_writer_holding_turn_comes_back, true, HOLDING, false)
SCENARIO(test_killed_writer_after_write_turn_comes_back, true, AFTER_WRITE, false)
SCENARIO(test_killed_writer_after_post_turn_delivered, true, AFTER_POST, false)
SCENARIO(test_killed_reader_waiting_turn_comes_back, false, WAITING, false)
SCENARIO(test_killed_reader_holding_turn_comes_back, false, HOLDING, false)
SCENARIO(test_killed_reader_after_write_turn_comes_back, false, AFTER_WRITE, false)
SCENARIO(test_killed_reader_after_post_turn_delivered, false, AFTER_POST, false)
SCENARIO(test_closed_writer_waiting_peer_gets_epipe, true, WAITING, true)
SCENARIO(test_closed_writer_holding_turn_comes_back, true, HOLDING, true)
SCENARIO(test_closed_writer_after_write_turn_comes_back, true, AFTER_WRITE, true)
SCENARIO(test_closed_writer_after_post_turn_delivered, true, AFTER_POST, true)
SCENARIO(test_closed_reader_waiting_peer_gets_epipe, false, WAITING, true)
SCENARIO(test_closed_reader_holding_turn_comes_back, false, HOLDING, true)
SCENARIO(test_closed_reader_after_write_turn_comes_back, false, AFTER_WRITE, true)
SCENARIO(test_closed_reader_after_post_turn_delivered, false, AFTER_POST, true)

/* ---- liveness does not depend on who created the pair ---- */

/* The reader creates; a writer opens and is killed before it ever posts.
 * The reader's wait(-1) must end (in a thread, so a hang has a deadline). */
static void test_reader_creator_sees_writer_die_before_posting(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;
	int fds[2];
	pid_t w;

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_READER, 0, &p), 0);
	w = tu_fork();
	if (w == 0) {
		attach_child(name, true);
		say(fds[1], 'O');
		for (;;)
			pause();
	}
	expect(fds[0], 'O');
	tu_kill9(w, 10000);
	assert_int_equal(wait_within(p, -1, 5000), -EOWNERDEAD);
	close(fds[0]);
	close(fds[1]);
	shmx_pair_close(p);
	shmx_close(r);
}

/* ---- liveness locks on a description of their own, without /proc ---- */

static void hide_proc(void)
{
	TU_CKEQ(unshare(CLONE_NEWNS), 0);
	TU_CKEQ(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	TU_CKEQ(umount2("/proc", MNT_DETACH), 0);
	TU_CK(access("/proc/self/fd", F_OK) < 0);
}

/* The slots of name's pair: on its control object (shmx(7), "The turn"). */
static uint32_t ctl_holders(const char *name)
{
	struct shmx_info info;
	char ctl[300];

	snprintf(ctl, sizeof(ctl), "%s.shmx-p", name);
	return shmx_stat(ctl, &info) ? 0 : info.holders;
}

#define ALL_SLOTS ((1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER) | \
		   (1u << SHMX_SLOT_READER))

static void noproc_child(const char *name)
{
	struct shmx_region *r = NULL;
	struct shmx_pair *w = NULL, *rd = NULL, *x = NULL;

	hide_proc();
	TU_CKEQ(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	TU_CKEQ(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &w), 0);
	/* both roles on one region handle: independent locks */
	TU_CKEQ(shmx_pair_open(r, SHMX_PAIR_READER, &rd), 0);
	/* a failed open takes nothing from the live writer */
	TU_CKEQ(shmx_pair_open(r, SHMX_PAIR_WRITER, &x), -EBUSY);
	TU_CKEQ(ctl_holders(name), ALL_SLOTS);
	TU_CKEQ(shmx_pair_wait(w, 0), 0);
	TU_CKEQ(shmx_pair_post(w), 0);
	TU_CKEQ(shmx_pair_wait(rd, 0), 0);
	TU_CKEQ(shmx_pair_post(rd), 0);
	TU_CKEQ(shmx_pair_wait(w, 0), 0);
	/* the name gone: no way back to the object, a clear error */
	TU_CKEQ(shmx_pair_close(rd), 0);
	TU_CKEQ(shmx_unlink(name), 0);
	TU_CKEQ(shmx_pair_open(r, SHMX_PAIR_READER, &x), -ESTALE);
	_exit(0);
}

static void test_own_locks_without_proc(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to unmount /proc in a mount namespace");
	pid = tu_fork();
	if (pid == 0)
		noproc_child(name);
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
}

/* ---- a lock on the control object (there is no control lock) ---- */

/* Hold a write lock on the control object's byte 0 (the control lock of
 * the earlier versions) until killed. */
static pid_t hold_ctl_lock(const char *name)
{
	char path[512];
	int ev[2];
	pid_t pid;

	snprintf(path, sizeof(path), "/dev/shm%s.shmx-p", name);
	tu_ev_init(ev);
	pid = tu_fork();
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
		int fd = open(path, O_RDWR | O_CLOEXEC);

		TU_CK(fd >= 0);
		TU_CKEQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
		tu_ready_forever(ev[1]);
	}
	close(ev[1]);
	assert_true(tu_ev_wait(ev[0], 10000));
	close(ev[0]);
	return pid;
}

static void test_a_lock_on_the_control_object_holds_no_wait(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	pid_t holder;
	int err;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	holder = hold_ctl_lock(name);
	/* The turn takes no lock (a compare-and-swap of the turn word): the
	 * turn that is there (the writer creator's) is taken before the
	 * wait's deadline, which a wait for the lock (held until the holder
	 * is killed, below) would pass. In a thread, so that a wait that
	 * never returns is a failure, not a hung suite. */
	err = wait_within(p, 200, 5000);
	tu_kill9(holder, 5000);
	assert_int_equal(err, 0);
	assert_int_equal(shmx_pair_post(p), 0);
	shmx_pair_close(p);
	shmx_close(r);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_killed_writer_waiting_turn_comes_back),
		T(test_killed_writer_holding_turn_comes_back),
		T(test_killed_writer_after_write_turn_comes_back),
		T(test_killed_writer_after_post_turn_delivered),
		T(test_killed_reader_waiting_turn_comes_back),
		T(test_killed_reader_holding_turn_comes_back),
		T(test_killed_reader_after_write_turn_comes_back),
		T(test_killed_reader_after_post_turn_delivered),
		T(test_closed_writer_waiting_peer_gets_epipe),
		T(test_closed_writer_holding_turn_comes_back),
		T(test_closed_writer_after_write_turn_comes_back),
		T(test_closed_writer_after_post_turn_delivered),
		T(test_closed_reader_waiting_peer_gets_epipe),
		T(test_closed_reader_holding_turn_comes_back),
		T(test_closed_reader_after_write_turn_comes_back),
		T(test_closed_reader_after_post_turn_delivered),
		T(test_reader_creator_sees_writer_die_before_posting),
		T(test_own_locks_without_proc),
		T(test_a_lock_on_the_control_object_holds_no_wait),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
