/* SPDX-License-Identifier: MIT */
/* shmx-bridge with one real nats-server on a free loopback port: core NATS
 * end to end (channel -> out -> NATS -> in -> channel), a broadcast on both
 * sides, and bad input. The failover of JetStream mode is
 * test-bridge-cluster.c. Skips when nats-server or the bridge is absent. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge-util.h"
#include "testutil.h"

#define MAX_PAYLOAD (1 << 20) /* the server's default */

#define SKIP_IF_MISSING()                                                       \
	do {                                                                     \
		const char *why_ = bt_missing();                                  \
		if (why_) {                                                      \
			tu_skip("%s", why_);                                     \
			return;                                                  \
		}                                                                \
	} while (0)

static struct shmx_chan *make_chan(const char *name, size_t cap, uint32_t consumers)
{
	struct shmx_chan_params p = { .capacity = cap, .consumers = consumers };
	struct shmx_chan *c = NULL;

	assert_int_equal(shmx_chan_create_params(name, &p, SHMX_CHAN_PRODUCER, 0600, &c), 0);
	return c;
}

static void send_all(struct shmx_chan *c, uint64_t from, uint64_t n, size_t max)
{
	char *buf = malloc(max + 1);

	assert_non_null(buf);
	for (uint64_t i = from; i < from + n; i++) {
		size_t len = bt_msg_len(i, max);

		bt_msg_fill(i, buf, len);
		assert_int_equal(shmx_chan_send(c, buf, len, 30000), 0);
	}
	free(buf);
}

/* A child that reads n messages from name and checks each, in order. */
static pid_t check_child(const char *name, uint64_t n, size_t max, int ready_fd)
{
	pid_t pid = tu_fork();
	struct shmx_chan *c;
	char *buf;
	ssize_t len;

	if (pid)
		return pid;
	buf = malloc(max + 1);
	TU_CKEQ(shmx_chan_open(name, SHMX_CHAN_CONSUMER, 10000, &c), 0);
	if (ready_fd >= 0)
		tu_ev_post(ready_fd);
	for (uint64_t i = 0; i < n; i++) {
		len = shmx_chan_recv(c, buf, max + 1, 60000);
		if (len < 0)
			fprintf(stderr, "# message %llu of %llu: %s\n", (unsigned long long)i,
				(unsigned long long)n, tu_errname(len));
		TU_CK(len >= 0);
		if (!bt_msg_ok(i, buf, (size_t)len, max))
			fprintf(stderr, "# message %llu: %zd bytes, not as sent\n",
				(unsigned long long)i, len);
		TU_CK(bt_msg_ok(i, buf, (size_t)len, max));
	}
	shmx_chan_close(c);
	_exit(0);
}

static void test_core_mixed_sizes_arrive_intact_in_order(void **state)
{
	const char *a = tu_name(), *b = tu_name();
	uint64_t n = bt_scaled(100000, 3000);
	struct bt_bridge out, in;
	struct bt_cluster srv;
	struct shmx_chan *ca;
	char count[32];
	pid_t consumer;

	(void)state;
	SKIP_IF_MISSING();
	bt_cluster_start(&srv, 1, false, NULL);
	snprintf(count, sizeof(count), "%llu", (unsigned long long)n);
	bt_bridge_start(&in, (const char *[]){ "in", "--server", srv.urls, "--subject",
			"shmx.core", "--create", "--capacity", "4194304", "--count", count,
			b, NULL }, 10000);
	consumer = check_child(b, n, MAX_PAYLOAD, -1);
	ca = make_chan(a, 4 << 20, 1);
	bt_bridge_start(&out, (const char *[]){ "out", "--server", srv.urls, "--subject",
			"shmx.core", a, NULL }, 10000);
	send_all(ca, 0, n, MAX_PAYLOAD);
	shmx_chan_close(ca);
	/* out ends when the producer left and it read everything */
	assert_int_equal(bt_bridge_wait(&out, 120000), 0);
	assert_int_equal(bt_bridge_wait(&in, 60000), 0);
	assert_int_equal(tu_child_verdict(consumer, 60000, NULL), 0);
	print_message("# core: %llu sent, out %llu, in %llu, drops %llu\n",
		      (unsigned long long)n, (unsigned long long)bt_summary(&out, "messages"),
		      (unsigned long long)bt_summary(&in, "messages"),
		      (unsigned long long)bt_summary(&in, "drops"));
	assert_int_equal(bt_summary(&out, "messages"), n);
	assert_int_equal(bt_summary(&in, "messages"), n);
	assert_int_equal(bt_summary(&in, "drops"), 0);
	bt_cluster_stop(&srv);
}

/* Wait until channel name has want consumers attached. */
static void wait_consumers(const char *name, int want)
{
	struct shmx_chan_peer p[8];
	int64_t end = tu_now_ms() + 20000;
	int n, have;

	do {
		n = shmx_chan_peers(name, p, 8);
		have = 0;
		for (int i = 0; i < n && i < 8; i++)
			have += p[i].role == SHMX_CHAN_CONSUMER && p[i].state == SHMX_PEER_ATTACHED;
		if (have >= want)
			return;
		usleep(10000);
	} while (tu_now_ms() < end);
	fail_msg("%s: %d consumers attached, not %d", name, have, want);
}

static void test_broadcast_four_consumers_see_one_sequence(void **state)
{
	const char *a = tu_name(), *b = tu_name();
	uint64_t n = bt_scaled(20000, 2000);
	size_t max = 4096;
	struct bt_bridge out, in;
	struct bt_cluster srv;
	struct shmx_chan *ca;
	pid_t kids[4];
	char count[32];

	(void)state;
	SKIP_IF_MISSING();
	bt_cluster_start(&srv, 1, false, NULL);
	snprintf(count, sizeof(count), "%llu", (unsigned long long)n);
	bt_bridge_start(&in, (const char *[]){ "in", "--server", srv.urls, "--subject",
			"shmx.bcast", "--create", "--capacity", "65536", "--consumers", "2",
			"--count", count, b, NULL }, 10000);
	kids[0] = check_child(b, n, max, -1);
	kids[1] = check_child(b, n, max, -1);
	wait_consumers(b, 2);
	ca = make_chan(a, 65536, 3);
	kids[2] = check_child(a, n, max, -1);
	kids[3] = check_child(a, n, max, -1);
	bt_bridge_start(&out, (const char *[]){ "out", "--server", srv.urls, "--subject",
			"shmx.bcast", a, NULL }, 10000);
	/* a broadcast consumer receives what is sent after it attached */
	wait_consumers(a, 3);
	send_all(ca, 0, n, max);
	shmx_chan_close(ca);
	assert_int_equal(bt_bridge_wait(&out, 60000), 0);
	assert_int_equal(bt_bridge_wait(&in, 60000), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tu_child_verdict(kids[i], 60000, NULL), 0);
	bt_cluster_stop(&srv);
}

/* NATS slower than the producer (JetStream publishes wait for their ack)
 * on an overwrite channel: the producer never waits, out reports what it
 * lost, and what it published plus what it lost is what was sent. */
static void test_overwrite_channel_out_reports_its_losses(void **state)
{
	const char *a = tu_name();
	uint64_t n = bt_scaled(20000, 5000);
	struct shmx_chan_params p = { .capacity = 4096,
				      .policy = SHMX_CHAN_POLICY_OVERWRITE };
	struct bt_cluster srv;
	struct bt_bridge out;
	struct shmx_chan *ca;
	uint64_t sent, lost;

	(void)state;
	SKIP_IF_MISSING();
	bt_cluster_start(&srv, 1, true, NULL);
	assert_int_equal(shmx_chan_create_params(a, &p, SHMX_CHAN_PRODUCER, 0600, &ca), 0);
	bt_bridge_start(&out, (const char *[]){ "out", "--server", srv.urls, "--subject",
			"shmx.ow", "--jetstream", "OW", a, NULL }, 10000);
	send_all(ca, 0, n, 64);
	shmx_chan_close(ca);
	/* 3: ended, but messages were lost on the way (as shmx recv) */
	assert_int_equal(bt_bridge_wait(&out, 60000), 3);
	sent = bt_summary(&out, "messages");
	lost = bt_summary(&out, "drops");
	print_message("# overwrite: %llu sent, %llu published, %llu lost\n",
		      (unsigned long long)n, (unsigned long long)sent,
		      (unsigned long long)lost);
	assert_true(lost > 0);
	assert_int_equal(sent + lost, n);
	bt_cluster_stop(&srv);
}

/* Run the bridge to its end; its exit code, stderr in res. */
static int run_bridge(const char *const *args, struct tu_result *res)
{
	const char *argv[32] = { bt_bridge_path() };
	int n = 1;

	while (args[n - 1] && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	assert_int_equal(tu_run((char *const *)argv, NULL, 0, 30000, res), 0);
	return res->exit_code;
}

static void assert_pending(const char *name, uint64_t sent, uint64_t received)
{
	struct shmx_chan_info info;

	assert_int_equal(shmx_chan_stat(name, &info), 0);
	assert_int_equal(info.sent, sent);
	assert_int_equal(info.received, received);
}

static void test_unreachable_server_keeps_local_messages(void **state)
{
	const char *a = tu_name();
	struct shmx_chan *ca;
	struct tu_result res;
	char url[64];

	(void)state;
	SKIP_IF_MISSING();
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", bt_free_port());
	ca = make_chan(a, 65536, 1);
	send_all(ca, 0, 10, 1000);
	assert_int_equal(run_bridge((const char *[]){ "out", "--server", url, "--subject",
			 "shmx.x", "--timeout", "1000", a, NULL }, &res), 1);
	tu_print_lines("shmx-bridge stderr", res.err);
	assert_non_null(strstr(res.err, "cannot reach any of"));
	assert_non_null(strstr(res.err, url));
	tu_result_free(&res);
	assert_pending(a, 10, 0);
	shmx_chan_close(ca);
}

static void test_invalid_subject_is_a_usage_error(void **state)
{
	const char *bad[] = { "a..b", "a b", ".a", "a.", "", "a.*", "a.>", NULL };
	const char *a = tu_name();
	struct shmx_chan *ca;
	struct tu_result res;

	(void)state;
	SKIP_IF_MISSING();
	ca = make_chan(a, 65536, 1);
	send_all(ca, 0, 3, 100);
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(run_bridge((const char *[]){ "out", "--server",
				 "nats://127.0.0.1:1", "--subject", bad[i], a, NULL }, &res), 2);
		assert_non_null(strstr(res.err, "invalid subject"));
		tu_result_free(&res);
	}
	/* a subscriber may use wildcards, whole tokens only */
	assert_int_equal(run_bridge((const char *[]){ "in", "--server", "nats://127.0.0.1:1",
			 "--subject", "a.b*", a, NULL }, &res), 2);
	assert_non_null(strstr(res.err, "invalid subject"));
	tu_result_free(&res);
	assert_pending(a, 3, 0);
	shmx_chan_close(ca);
}

static void test_help_and_usage_errors(void **state)
{
	struct tu_result res;

	(void)state;
	SKIP_IF_MISSING();
	assert_int_equal(run_bridge((const char *[]){ "--help", NULL }, &res), 0);
	assert_non_null(strstr(res.out, "usage: shmx-bridge out"));
	tu_result_free(&res);
	assert_int_equal(run_bridge((const char *[]){ "in", "--help", NULL }, &res), 0);
	tu_result_free(&res);
	assert_int_equal(run_bridge((const char *[]){ NULL }, &res), 2);
	tu_result_free(&res);
	assert_int_equal(run_bridge((const char *[]){ "sideways", NULL }, &res), 2);
	tu_result_free(&res);
	/* JetStream in needs a durable; a channel name is required */
	assert_int_equal(run_bridge((const char *[]){ "in", "-s", "nats://127.0.0.1:1", "-S",
			 "a", "--jetstream", "S", "/x", NULL }, &res), 2);
	assert_non_null(strstr(res.err, "--durable"));
	tu_result_free(&res);
	assert_int_equal(run_bridge((const char *[]){ "out", "-s", "nats://127.0.0.1:1", "-S",
			 "a", NULL }, &res), 2);
	tu_result_free(&res);
	assert_int_equal(run_bridge((const char *[]){ "in", "-s", "nats://127.0.0.1:1", "-S",
			 "a", "--policy", "sometimes", "/x", NULL }, &res), 2);
	tu_result_free(&res);
}

static void test_message_above_max_payload_names_both_sizes(void **state)
{
	const char *a = tu_name();
	struct bt_cluster srv;
	struct shmx_chan *ca;
	struct tu_result res;
	char big[5000] = { 0 };

	(void)state;
	SKIP_IF_MISSING();
	bt_cluster_start(&srv, 1, false, "max_payload: 4096");
	ca = make_chan(a, 65536, 1);
	assert_int_equal(shmx_chan_send(ca, "small", 5, 1000), 0);
	assert_int_equal(shmx_chan_send(ca, big, sizeof(big), 1000), 0);
	assert_int_equal(shmx_chan_send(ca, "after", 5, 1000), 0);
	assert_int_equal(run_bridge((const char *[]){ "out", "--server", srv.urls,
			 "--subject", "shmx.big", a, NULL }, &res), 1);
	tu_print_lines("shmx-bridge stderr", res.err);
	assert_non_null(strstr(res.err, "5000 bytes"));
	assert_non_null(strstr(res.err, "4096 bytes"));
	tu_result_free(&res);
	/* the first went out; the big one is still there, then the next */
	assert_pending(a, 3, 1);
	shmx_chan_close(ca);
	bt_cluster_stop(&srv);
}

static void test_stream_with_another_subject_is_refused(void **state)
{
	const char *a = tu_name(), *other = tu_name();
	struct bt_cluster srv;
	struct shmx_chan *ca, *co;
	struct tu_result res;

	(void)state;
	SKIP_IF_MISSING();
	bt_cluster_start(&srv, 1, true, NULL);
	/* a bridge on another subject makes the stream first */
	co = make_chan(other, 65536, 1);
	assert_int_equal(shmx_chan_send(co, "x", 1, 1000), 0);
	shmx_chan_close(co);
	assert_int_equal(run_bridge((const char *[]){ "out", "--server", srv.urls,
			 "--subject", "shmx.theirs", "--jetstream", "S1", other, NULL },
			 &res), 0);
	tu_result_free(&res);
	ca = make_chan(a, 65536, 1);
	send_all(ca, 0, 3, 100);
	assert_int_equal(run_bridge((const char *[]){ "out", "--server", srv.urls,
			 "--subject", "shmx.mine", "--jetstream", "S1", a, NULL }, &res), 1);
	tu_print_lines("shmx-bridge stderr", res.err);
	assert_non_null(strstr(res.err, "stream S1 exists with subject shmx.theirs, "
				     "not shmx.mine"));
	tu_result_free(&res);
	assert_pending(a, 3, 0);
	shmx_chan_close(ca);
	bt_cluster_stop(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_core_mixed_sizes_arrive_intact_in_order,
					  bt_teardown),
		cmocka_unit_test_teardown(test_broadcast_four_consumers_see_one_sequence,
					  bt_teardown),
		cmocka_unit_test_teardown(test_overwrite_channel_out_reports_its_losses,
					  bt_teardown),
		cmocka_unit_test_teardown(test_unreachable_server_keeps_local_messages,
					  bt_teardown),
		cmocka_unit_test_teardown(test_invalid_subject_is_a_usage_error, bt_teardown),
		cmocka_unit_test_teardown(test_help_and_usage_errors, bt_teardown),
		cmocka_unit_test_teardown(test_message_above_max_payload_names_both_sizes,
					  bt_teardown),
		cmocka_unit_test_teardown(test_stream_with_another_subject_is_refused,
					  bt_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
