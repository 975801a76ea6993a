/* SPDX-License-Identifier: MIT */
/* shmx-bridge in JetStream mode through failures, on a three-node cluster
 * of real nats-server processes with a stream of three replicas: producer
 * -> channel A -> out (talks to node 1) -> stream -> in (node 2, durable
 * consumer) -> channel B -> a consumer that checks every message. Mid-
 * stream, node 1 is killed (-9) and restarted, then out, then in (twice): every
 * committed message must arrive exactly once and in order. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge-util.h"
#include "testutil.h"

#define MAX 2048

/* A child: n messages from name, each the next one, intact; then nothing
 * more for a while (a duplicate of the last would come then). */
static pid_t check_child(const char *name, uint64_t n)
{
	pid_t pid = tu_fork();
	struct shmx_chan *c;
	char buf[MAX + 1];
	ssize_t len;

	if (pid)
		return pid;
	TU_CKEQ(shmx_chan_open(name, SHMX_CHAN_CONSUMER, 30000, &c), 0);
	for (uint64_t i = 0; i < n; i++) {
		/* in killed: its slot is dead until the next in takes it */
		int64_t end = tu_now_ms() + 90000;

		do
			len = shmx_chan_recv(c, buf, sizeof(buf), 1000);
		while ((len == -EOWNERDEAD || len == -ETIMEDOUT) && tu_now_ms() < end &&
		       (len != -EOWNERDEAD || !usleep(10000)));
		if (len < 0 || !bt_msg_ok(i, buf, (size_t)len, MAX))
			fprintf(stderr, "# message %llu of %llu: %zd %s\n",
				(unsigned long long)i, (unsigned long long)n, len,
				len < 0 ? tu_errname(len) : "bytes, not the one expected");
		TU_CK(len >= 0 && bt_msg_ok(i, buf, (size_t)len, MAX));
	}
	len = shmx_chan_recv(c, buf, sizeof(buf), 3000);
	if (len >= 0)
		fprintf(stderr, "# one more message after the last: %zd bytes\n", len);
	TU_CK(len == -ETIMEDOUT || len == -EPIPE);
	shmx_chan_close(c);
	_exit(0);
}

/* A child that creates channel name and sends n messages into it; before
 * message gate[k] it waits for the parent's go (a failure is then injected
 * while out publishes what follows). */
static pid_t producer(const char *name, uint64_t n, int ready_fd, int go_fd,
		      const uint64_t gate[2])
{
	struct shmx_chan_params p = { .capacity = 16384 };
	pid_t pid = tu_fork();
	struct shmx_chan *c;
	char buf[MAX];

	if (pid)
		return pid;
	TU_CKEQ(shmx_chan_create_params(name, &p, SHMX_CHAN_PRODUCER, 0600, &c), 0);
	tu_ev_post(ready_fd);
	for (uint64_t i = 0; i < n; i++) {
		size_t len = bt_msg_len(i, MAX);

		int64_t end = tu_now_ms() + 120000;
		int err;

		if (i == gate[0] || i == gate[1])
			TU_CK(tu_ev_wait(go_fd, 120000));
		bt_msg_fill(i, buf, len);
		/* out killed: its slot is dead until the next out takes it */
		do
			err = shmx_chan_send(c, buf, len, 1000);
		while ((err == -EOWNERDEAD || err == -ETIMEDOUT) && tu_now_ms() < end &&
		       (err != -EOWNERDEAD || !usleep(10000)));
		TU_CKEQ(err, 0);
	}
	/* wait for out to take the last one before leaving */
	while (shmx_chan_pending(c) > 0)
		usleep(10000);
	shmx_chan_close(c);
	_exit(0);
}

/* Messages channel name has had committed (B: what in delivered) or
 * released (A: what out published). */
static uint64_t count(const char *name, bool released)
{
	struct shmx_chan_info info = { 0 };

	shmx_chan_stat(name, &info);
	return released ? info.received : info.sent;
}

static uint64_t delivered(const char *name)
{
	return count(name, false);
}

static void wait_count(const char *name, bool released, uint64_t want)
{
	int64_t end = tu_now_ms() + 120000;

	while (count(name, released) < want) {
		if (tu_now_ms() > end)
			fail_msg("%s: %llu, waited for %llu", name,
				 (unsigned long long)count(name, released),
				 (unsigned long long)want);
		sched_yield();
	}
}

/* in's state file, removed after the test whatever happened */
static char state_path[128];

static int teardown(void **state)
{
	if (*state_path)
		unlink(state_path);
	return bt_teardown(state);
}

struct run {
	struct bt_cluster c;
	const char *a, *b;
	char state[128];
	char out_urls[160], in_urls[160];
	uint64_t resent, dups_out, dups_in, restarts;
};

static void start_out(struct run *r, struct bt_bridge *out)
{
	bt_bridge_start(out, (const char *[]){ "out", "--server", r->out_urls, "--subject",
			"shmx.js", "--jetstream", "SHMXJS", "--replicas", "3", "--timeout",
			"30000", r->a, NULL }, 60000);
}

static void start_in(struct run *r, struct bt_bridge *in)
{
	bt_bridge_start(in, (const char *[]){ "in", "--server", r->in_urls, "--subject",
			"shmx.js", "--jetstream", "SHMXJS", "--replicas", "3", "--durable",
			"D1", "--ack-wait", "2", "--state", r->state, "--create",
			"--capacity", "16384", "--timeout", "30000", r->b, NULL }, 60000);
}

/* What a bridge's last summary or progress line said (SIGUSR1 just before
 * a kill -9: what it did after that line is not counted), added up over its
 * runs. */
static void tally(struct run *r, struct bt_bridge *br, bool out)
{
	uint64_t d = bt_summary(br, "duplicates"), s = bt_summary(br, "re-sent");

	assert_true(d != UINT64_MAX);
	if (out) {
		r->dups_out += d;
		r->resent += s;
	} else {
		r->dups_in += d;
	}
}

/* The bridge's exit code is want, or its stderr is shown. */
static void expect_exit(struct bt_bridge *br, int code, int want)
{
	if (code != want) {
		print_message("# the bridge exited %d, not %d\n", code, want);
		tu_print_lines("its stderr", br->log);
	}
	assert_int_equal(code, want);
}

static void test_jetstream_exactly_once_through_kills(void **state)
{
	uint64_t n = bt_scaled(3000, 600);
	struct bt_bridge out, in;
	struct run r = { 0 };
	uint64_t gate[2] = { n / 5, 2 * n / 5 };
	pid_t prod, cons;
	int ev[2], go[2];

	(void)state;
	if (bt_missing()) {
		tu_skip("%s", bt_missing());
		return;
	}
	r.a = tu_name();
	r.b = tu_name();
	snprintf(r.state, sizeof(r.state), "/tmp/shmx-bridge-test.%d.state", (int)getpid());
	snprintf(state_path, sizeof(state_path), "%s", r.state);
	unlink(r.state);
	bt_cluster_start(&r.c, 3, true, NULL);
	bt_urls_from(&r.c, 0, r.out_urls, sizeof(r.out_urls));
	bt_urls_from(&r.c, 1, r.in_urls, sizeof(r.in_urls));
	tu_ev_init(ev);
	tu_ev_init(go);
	prod = producer(r.a, n, ev[1], go[0], gate);
	assert_true(tu_ev_wait(ev[0], 10000));
	start_out(&r, &out);
	start_in(&r, &in);
	cons = check_child(r.b, n);

	/* out publishes the second fifth while its server dies */
	wait_count(r.a, true, gate[0]);
	tu_ev_post(go[1]);
	wait_count(r.a, true, gate[0] + 10);
	print_message("# out published %llu: kill -9 node 1 (out's server)\n",
		      (unsigned long long)count(r.a, true));
	bt_node_kill9(&r.c, 0);
	wait_count(r.a, true, gate[0] + n / 10);
	bt_node_restart(&r.c, 0);

	/* out itself, killed while it publishes the third fifth */
	wait_count(r.a, true, gate[1]);
	tu_ev_post(go[1]);
	wait_count(r.a, true, gate[1] + 10);
	bt_bridge_progress(&out, 5000);
	tally(&r, &out, true);
	print_message("# out published %llu: kill -9 out\n", (unsigned long long)count(r.a, true));
	expect_exit(&out, bt_bridge_stop(&out, SIGKILL, 10000), 128 + SIGKILL);
	start_out(&r, &out);

	/* in, killed while it delivers, twice */
	for (int k = 3; k <= 4; k++) {
		wait_count(r.b, false, (uint64_t)k * n / 5);
		bt_bridge_progress(&in, 5000);
		tally(&r, &in, false);
		/* right after a send into B: most likely before in's ack
		 * reached the server, so the message comes again */
		wait_count(r.b, false, delivered(r.b) + 1);
		kill(in.pid, SIGKILL);
		print_message("# in delivered %llu: kill -9 in\n",
			      (unsigned long long)delivered(r.b));
		expect_exit(&in, bt_bridge_stop(&in, SIGKILL, 10000), 128 + SIGKILL);
		start_in(&r, &in);
	}

	assert_int_equal(tu_child_verdict(prod, 180000, NULL), 0);
	/* the producer left after out took its last message: out ends */
	expect_exit(&out, bt_bridge_wait(&out, 60000), 0);
	tally(&r, &out, true);
	assert_int_equal(tu_child_verdict(cons, 180000, NULL), 0);
	assert_int_equal(delivered(r.b), n);
	bt_bridge_stop(&in, SIGTERM, 10000);
	tally(&r, &in, false);
	print_message("# jetstream: %llu sent, %llu delivered once each in order; "
		      "out: re-sent %llu, found already stored %llu; in: redeliveries "
		      "dropped %llu\n",
		      (unsigned long long)n, (unsigned long long)delivered(r.b),
		      (unsigned long long)r.resent, (unsigned long long)r.dups_out,
		      (unsigned long long)r.dups_in);
	bt_cluster_stop(&r.c);
	unlink(r.state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_jetstream_exactly_once_through_kills,
					  teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
