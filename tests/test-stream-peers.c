/* SPDX-License-Identifier: MIT */
/* shmx send and shmx recv (shmx(1), STREAMS) when the other side never
 * comes, is killed, is stopped by a signal, or is another program: what
 * each side reports, its exit code, and what is left in /dev/shm. Each test
 * runs twice: through a channel and through a region and its pair (--pair).
 * The stream itself is test-stream.c. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream-util.h"

#define FLOWING    (256u << 10) /* bytes out of the receiver: both attached */

/* ---- a side that never comes ---- */

static void test_no_receiver_sender_exits_1(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--timeout", "200", NULL };
	struct tu_result res;
	struct args a;

	assert_int_equal(tu_run(args(&a, state, "send", name, extra), "data\n", 5, WAIT_MS,
				&res), 0);
	assert_int_equal(res.exit_code, 1);
	assert_non_null(strstr(res.err, "no receiver within 200 ms"));
	tu_result_free(&res);
	tu_assert_nothing_left(name);
}

static void test_no_sender_receiver_exits_1(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--timeout", "200", NULL };
	struct tu_result res;
	struct args a;

	assert_int_equal(tu_run(args(&a, state, "recv", name, extra), NULL, 0, WAIT_MS,
				&res), 0);
	assert_int_equal(res.exit_code, 1);
	assert_non_null(strstr(res.err, "no sender within 200 ms"));
	tu_result_free(&res);
	tu_assert_nothing_left(name);
}

/* Waiting for a sender forever still ends on SIGTERM. */
static void test_receiver_waiting_forever_stops_on_sigterm(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--timeout", "-1", NULL };
	struct args a;
	int err, code;
	pid_t r = tu_spawn(args(&a, state, "recv", name, extra), NULL, NULL, &err);

	assert_true(r > 0);
	wait_handler(r, SIGTERM);
	kill(r, SIGTERM);
	tu_child_verdict(r, 2000, &code);
	assert_int_equal(code, 128 + SIGTERM);
	free(tu_slurp(err, WAIT_MS));
	tu_assert_nothing_left(name);
}

/* ---- sides that die or are stopped ---- */

struct live {
	pid_t s, r;
	int sin, serr, rout, rerr;
};

/* Sender fed by a pipe we hold, receiver attached, data flowing. */
static void start_live(void **state, const char *name, struct live *l)
{
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	char chunk[8192];
	struct args a;

	signal(SIGPIPE, SIG_IGN);
	l->s = tu_spawn(args(&a, state, "send", name, extra), &l->sin, NULL, &l->serr);
	assert_true(l->s > 0);
	l->r = spawn_recv(state, name, &l->rout, &l->rerr);
	memset(chunk, 'a', sizeof(chunk));
	assert_int_equal(write(l->sin, chunk, sizeof(chunk)), sizeof(chunk));
	tu_read_some(l->rout, sizeof(chunk), WAIT_MS);
}

/* Sender reading /dev/zero as fast as it can, receiver attached. */
static void start_flood(void **state, const char *name, struct live *l)
{
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	struct args a;

	l->sin = -1;
	l->s = tu_spawn_input(args(&a, state, "send", name, extra), "/dev/zero", &l->serr);
	l->r = spawn_recv(state, name, &l->rout, &l->rerr);
	tu_read_some(l->rout, FLOWING, WAIT_MS);
}

/* Wait for pid while reading out (a pipe it may be blocked on). */
static int wait_draining(pid_t pid, int out)
{
	uint64_t h = TU_FNV_INIT;
	size_t total = 0;
	int code;

	tu_drain(out, WAIT_MS, &h, &total);
	tu_child_verdict(pid, WAIT_MS, &code);
	return code;
}

static void test_kill9_sender_reported_by_receiver(void **state)
{
	const char *name = tu_name();
	struct live l;
	char *msg;

	start_flood(state, name, &l);
	tu_kill9(l.s, WAIT_MS);
	assert_int_equal(wait_draining(l.r, l.rout), 1);
	msg = tu_slurp(l.rerr, WAIT_MS);
	assert_non_null(strstr(msg, "sender died (Peer process died)"));
	free(msg);
	free(tu_slurp(l.serr, WAIT_MS));
	close(l.rout);
	/* The sender removed the names once the receiver was attached. */
	tu_assert_nothing_left(name);
}

static void test_kill9_receiver_reported_by_sender(void **state)
{
	const char *name = tu_name();
	struct live l;
	char *msg;
	int code;

	start_flood(state, name, &l);
	tu_kill9(l.r, WAIT_MS);
	tu_child_verdict(l.s, TIMEOUT_MS + 1000, &code);
	assert_int_equal(code, 1);
	msg = tu_slurp(l.serr, WAIT_MS);
	assert_non_null(strstr(msg, "receiver died (Peer process died)"));
	free(msg);
	free(tu_slurp(l.rerr, WAIT_MS));
	close(l.rout);
	tu_assert_nothing_left(name);
}

/* The receiver dies while the sender waits for input with room in the
 * ring: the sender learns it on its own, without more input, and says so. */
static void test_kill9_receiver_sender_idle_exits_1(void **state)
{
	const char *name = tu_name();
	struct live l;
	char *msg;
	int code;

	start_live(state, name, &l);
	tu_kill9(l.r, WAIT_MS);
	tu_child_verdict(l.s, WAIT_MS, &code);
	assert_int_equal(code, 1);
	msg = tu_slurp(l.serr, WAIT_MS);
	assert_non_null(strstr(msg, "receiver died"));
	free(msg);
	free(tu_slurp(l.rerr, WAIT_MS));
	close(l.rout);
	close(l.sin);
	tu_assert_nothing_left(name);
}

/* The receiver dies, then the input ends (a few bytes fit in the ring):
 * what was sent reached nobody, so the sender must not exit 0. The sender
 * is stopped meanwhile: idle, it would notice the death within a slice and
 * exit before the input ends (test_kill9_receiver_sender_idle_exits_1). */
static void test_kill9_receiver_then_end_of_input_exits_1(void **state)
{
	const char *name = tu_name();
	struct live l;
	char *msg;
	int code;

	start_live(state, name, &l);
	assert_int_equal(kill(l.s, SIGSTOP), 0);
	tu_kill9(l.r, WAIT_MS);
	assert_int_equal(write(l.sin, "tail\n", 5), 5);
	close(l.sin);
	assert_int_equal(kill(l.s, SIGCONT), 0);
	tu_child_verdict(l.s, WAIT_MS, &code);
	assert_int_equal(code, 1);
	msg = tu_slurp(l.serr, WAIT_MS);
	assert_non_null(strstr(msg, "receiver died"));
	free(msg);
	free(tu_slurp(l.rerr, WAIT_MS));
	close(l.rout);
	tu_assert_nothing_left(name);
}

/* A sender killed before every slot was taken leaves its objects, stale
 * (shmx(1) says so): a receiver that comes says the sender died, and gc
 * removes them. */
static void test_kill9_sender_before_receiver_leaves_it_for_gc(void **state)
{
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	const char *name = tu_name();
	int sin, serr, rout, rerr, code;
	int64_t end = tu_now_ms() + WAIT_MS;
	struct tu_result res = { 0 };
	struct args a;
	char *msg;
	pid_t s, r;

	s = tu_spawn(args(&a, state, "send", name, extra), &sin, NULL, &serr);
	assert_true(s > 0);
	while (!tu_exists(name) && tu_now_ms() < end)
		usleep(1000);
	assert_true(tu_exists(name));
	usleep(100 * 1000);     /* a pair: its semaphores come after the region */
	tu_kill9(s, WAIT_MS);
	close(sin);
	free(tu_slurp(serr, WAIT_MS));
	r = spawn_recv(state, name, &rout, &rerr);
	tu_child_verdict(r, WAIT_MS, &code);
	msg = tu_slurp(rerr, WAIT_MS);
	if (code != 1 || !strstr(msg, "sender died"))
		tu_print_lines("recv", msg);
	assert_int_equal(code, 1);
	assert_non_null(strstr(msg, "sender died"));
	free(msg);
	free(tu_slurp(rout, WAIT_MS));
	assert_true(tu_exists(name));
	a.v[0] = (char *)tu_build_path("tools/shmx");
	a.v[1] = "gc";
	a.v[2] = (char *)name;
	a.v[3] = NULL;
	assert_int_equal(tu_run(a.v, NULL, 0, WAIT_MS, &res), 0);
	assert_int_equal(res.exit_code, 0);
	tu_result_free(&res);
	tu_assert_nothing_left(name);
}

/* Ctrl-C and SIGTERM: the sender exits 128+sig; the receiver is told the
 * stream was cut short. */
static void stop_sender(void **state, int sig)
{
	const char *name = tu_name();
	char *smsg, *rmsg;
	struct live l;
	int scode;

	start_live(state, name, &l);
	kill(l.s, sig);
	tu_child_verdict(l.s, WAIT_MS, &scode);
	assert_int_equal(wait_draining(l.r, l.rout), 1);
	smsg = tu_slurp(l.serr, WAIT_MS);
	rmsg = tu_slurp(l.rerr, WAIT_MS);
	assert_int_equal(scode, 128 + sig);
	assert_non_null(strstr(smsg, "interrupted"));
	assert_non_null(strstr(rmsg, "sender was interrupted before the end"));
	free(smsg);
	free(rmsg);
	close(l.sin);
	close(l.rout);
	tu_assert_nothing_left(name);
}

static void test_sigint_sender_exits_130_receiver_told(void **state)
{
	stop_sender(state, SIGINT);
}

static void test_sigterm_sender_exits_143_receiver_told(void **state)
{
	stop_sender(state, SIGTERM);
}

/* In the middle of a stream that never pauses, SIGTERM still ends the
 * receiver (128+sig), and the sender reports that it went away. */
static void test_sigterm_receiver_mid_stream_exits_143(void **state)
{
	const char *name = tu_name();
	struct live l;
	char *msg;
	int code;

	start_flood(state, name, &l);
	kill(l.r, SIGTERM);
	assert_int_equal(wait_draining(l.r, l.rout), 128 + SIGTERM);
	tu_child_verdict(l.s, TIMEOUT_MS + 1000, &code);
	assert_int_equal(code, 1);
	msg = tu_slurp(l.serr, WAIT_MS);
	assert_non_null(strstr(msg, "receiver"));
	free(msg);
	free(tu_slurp(l.rerr, WAIT_MS));
	close(l.rout);
	tu_assert_nothing_left(name);
}

/* ---- another program on the other side ---- */

/* This process as the sender, in the format of shmx(1); one message. */
struct fake {
	struct shmx_chan *c;
	struct shmx_region *r;
	struct shmx_pair *p;
};

static void fake_sender(void **state, const char *name, struct fake *f)
{
	memset(f, 0, sizeof(*f));
	if (!is_pair(state)) {
		assert_int_equal(shmx_chan_create(name, 4096, SHMX_CHAN_PRODUCER, 0600, &f->c), 0);
		return;
	}
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0600, &f->r), 0);
	assert_int_equal(shmx_pair_create(f->r, SHMX_PAIR_WRITER, 0600, &f->p), 0);
}

static void fake_send(void **state, struct fake *f, const char *msg)
{
	struct frame *fr;

	if (!is_pair(state)) {
		assert_int_equal(shmx_chan_send(f->c, msg, strlen(msg), WAIT_MS), 0);
		return;
	}
	assert_int_equal(shmx_pair_wait(f->p, WAIT_MS), 0);
	fr = shmx_addr(f->r);
	fr->len = (uint32_t)strlen(msg);
	fr->flags = 0;
	memcpy(fr->data, msg, fr->len);
	assert_int_equal(shmx_pair_post(f->p), 0);
}

/* The receiver stopped by a signal exits 128+sig and removes nothing: the
 * names belong to the sender. */
static void test_sigterm_receiver_removes_nothing(void **state)
{
	const char *name = tu_name();
	char buf[16] = "";
	struct fake f;
	int rout, rerr, code;
	pid_t r;

	fake_sender(state, name, &f);
	r = spawn_recv(state, name, &rout, &rerr);
	fake_send(state, &f, "hello\n");
	assert_int_equal(read(rout, buf, 6), 6);
	assert_string_equal(buf, "hello\n");
	wait_handler(r, SIGTERM);
	kill(r, SIGTERM);
	tu_child_verdict(r, WAIT_MS, &code);
	assert_int_equal(code, 128 + SIGTERM);
	assert_true(tu_exists(name));
	if (is_pair(state)) {
		assert_true(tu_sem_exists(name, ".shmx-w"));
		assert_true(tu_sem_exists(name, ".shmx-r"));
	}
	shmx_chan_close(f.c);
	shmx_pair_close(f.p);
	shmx_close(f.r);
	close(rout);
	free(tu_slurp(rerr, WAIT_MS));
}

/* A receiver that creates the object itself, as another program would;
 * writes what it received to fd, to the end of the stream. */
static void chan_creator(const char *name, int ready, int fd)
{
	struct shmx_chan *c;
	char buf[65536];
	ssize_t n;

	TU_CKEQ(shmx_chan_create(name, 65536, SHMX_CHAN_CONSUMER, 0600, &c), 0);
	tu_ev_post(ready);
	while ((n = shmx_chan_recv(c, buf, sizeof(buf), WAIT_MS)) > 0)
		TU_CKEQ(write(fd, buf, (size_t)n), n);
	shmx_chan_close(c);
	shmx_chan_unlink(name);
	TU_CKEQ(n, 0);
}

static void pair_creator(const char *name, int ready, int fd)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	const struct frame *f;
	int err = 0, end = 0;

	TU_CKEQ(shmx_create(name, 4096, SHMX_MAP, 0600, &r), 0);
	TU_CKEQ(shmx_pair_create(r, SHMX_PAIR_READER, 0600, &p), 0);
	tu_ev_post(ready);
	f = shmx_addr(r);
	while (!end && !(err = shmx_pair_wait(p, WAIT_MS))) {
		TU_CK(f->len <= 4096 - sizeof(*f));
		TU_CKEQ(write(fd, f->data, f->len), f->len);
		end = f->flags & FRAME_END;
		err = shmx_pair_post(p);
	}
	shmx_pair_close(p);
	shmx_pair_unlink(name);
	shmx_close(r);
	shmx_unlink(name);
	TU_CKEQ(err, 0);
}

/* --open: the object was made by another process, which removes it. */
static void test_send_open_uses_an_object_made_elsewhere(void **state)
{
	const char *name = tu_name();
	const char *in = "made\nby\nsomeone else\n";
	char *extra[] = { "--open", "--timeout", TIMEOUT_S, NULL };
	struct tu_result res;
	struct args a;
	int ready[2], data[2];
	pid_t child;
	char *got;

	tu_ev_init(ready);
	assert_int_equal(pipe2(data, O_CLOEXEC), 0);
	child = tu_fork();
	if (child == 0) {
		close(ready[0]);
		close(data[0]);
		if (is_pair(state))
			pair_creator(name, ready[1], data[1]);
		else
			chan_creator(name, ready[1], data[1]);
		_exit(0);
	}
	close(ready[1]);
	close(data[1]);
	assert_true(tu_ev_wait(ready[0], WAIT_MS));
	close(ready[0]);
	assert_int_equal(tu_run(args(&a, state, "send", name, extra), in, strlen(in), 30000,
				&res), 0);
	got = tu_slurp(data[0], WAIT_MS);
	if (res.exit_code)
		print_message("# send: %s", res.err);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(tu_child_verdict(child, WAIT_MS, NULL), 0);
	assert_string_equal(got, in);
	free(got);
	tu_result_free(&res);
	tu_assert_nothing_left(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_no_receiver_sender_exits_1),
		T(test_no_sender_receiver_exits_1),
		T(test_receiver_waiting_forever_stops_on_sigterm),
		T(test_kill9_sender_reported_by_receiver),
		T(test_kill9_receiver_reported_by_sender),
		T(test_kill9_receiver_sender_idle_exits_1),
		T(test_kill9_receiver_then_end_of_input_exits_1),
		T(test_kill9_sender_before_receiver_leaves_it_for_gc),
		T(test_sigint_sender_exits_130_receiver_told),
		T(test_sigterm_sender_exits_143_receiver_told),
		T(test_sigterm_receiver_mid_stream_exits_143),
		T(test_sigterm_receiver_removes_nothing),
		T(test_send_open_uses_an_object_made_elsewhere),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
