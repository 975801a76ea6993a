/* SPDX-License-Identifier: MIT */
/* The short examples, exec'd as the processes a user runs: writer and
 * reader (a line a turn through a region and its semaphore pair),
 * chan-producer and chan-consumer (lines through a channel; several
 * consumers, several producers, the overwrite policy). The complete
 * streaming programs are shmx send / shmx recv, tested in test-stream.c
 * and test-cli-fanout.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define WAIT_MS  10000          /* deadline for a process to end */
#define EX_WAIT_MS 10000        /* the examples' own wait (WAIT_MS there) */
#define N_LINES  100

static char *ex(const char *prog)
{
	static char paths[4][512];
	static int next;
	char rel[64];

	snprintf(rel, sizeof(rel), "examples/%s", prog);
	next = (next + 1) % 4;
	snprintf(paths[next], sizeof(paths[next]), "%s", tu_build_path(rel));
	return paths[next];
}

/* Poll until cond(name) holds, with a deadline. */
static void wait_until(bool (*cond)(const char *), const char *name)
{
	int64_t end = tu_now_ms() + WAIT_MS;

	while (!cond(name) && tu_now_ms() < end)
		usleep(1000);
	assert_true(cond(name));
}

static bool reader_attached(const char *name)
{
	struct shmx_info info;
	char ctl[300];

	/* a pair's slots are on its control object (shmx(7), "The turn") */
	snprintf(ctl, sizeof(ctl), "%s.shmx-p", name);
	return shmx_stat(ctl, &info) == 0 && (info.holders & (1u << SHMX_SLOT_READER));
}

static bool pair_made(const char *name)
{
	return tu_sem_exists(name, ".shmx-w") && tu_sem_exists(name, ".shmx-r");
}

static char *some_lines(int n, size_t *len)
{
	char *s = malloc((size_t)n * 100 + 1);

	assert_non_null(s);
	*len = 0;
	for (int i = 0; i < n; i++)
		*len += (size_t)sprintf(s + *len, "line %d of %d: the quick brown fox jumps over "
					"the lazy dog, and again, and again\n", i, n);
	return s;
}

/* ---- writer and reader ---- */

static void test_reader_first_prints_the_lines_in_order(void **state)
{
	const char *name = tu_name();
	char *rargv[] = { ex("reader"), (char *)name, NULL };
	char *wargv[] = { ex("writer"), (char *)name, NULL };
	struct tu_result w;
	size_t len;
	char *in = some_lines(N_LINES, &len), *out, *err;
	int rout, rerr, code;
	pid_t r;

	(void)state;
	r = tu_spawn(rargv, NULL, &rout, &rerr);
	assert_true(r > 0);
	assert_int_equal(tu_run(wargv, in, len, WAIT_MS, &w), 0);
	out = tu_slurp(rout, WAIT_MS);
	err = tu_slurp(rerr, WAIT_MS);
	tu_child_verdict(r, WAIT_MS, &code);
	assert_int_equal(w.exit_code, 0);
	assert_int_equal(code, 0);
	assert_string_equal(err, "");
	assert_string_equal(out, in);
	tu_result_free(&w);
	free(out);
	free(err);
	free(in);
	tu_assert_nothing_left(name);
}

static void test_writer_first_then_reader_gets_every_line(void **state)
{
	const char *name = tu_name();
	char *rargv[] = { ex("reader"), (char *)name, NULL };
	char *wargv[] = { ex("writer"), (char *)name, NULL };
	struct tu_result r;
	size_t len;
	char *in = some_lines(N_LINES, &len), *err;
	int win, werr, code;
	pid_t w;

	(void)state;
	w = tu_spawn(wargv, &win, NULL, &werr);
	assert_true(w > 0);
	assert_int_equal(write(win, in, len), (ssize_t)len);
	close(win);
	wait_until(pair_made, name);
	assert_int_equal(tu_run(rargv, NULL, 0, WAIT_MS, &r), 0);
	err = tu_slurp(werr, WAIT_MS);
	tu_child_verdict(w, WAIT_MS, &code);
	assert_int_equal(code, 0);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(err, "");
	assert_string_equal(r.out, in);
	tu_result_free(&r);
	free(err);
	free(in);
	tu_assert_nothing_left(name);
}

struct live {
	pid_t w, r;
	int win, werr, rout, rerr;
};

/* Both running, the reader attached, the writer waiting for input. */
static void start_live(const char *name, struct live *l)
{
	char *wargv[] = { ex("writer"), (char *)name, NULL };
	char *rargv[] = { ex("reader"), (char *)name, NULL };

	signal(SIGPIPE, SIG_IGN);
	l->w = tu_spawn(wargv, &l->win, NULL, &l->werr);
	assert_true(l->w > 0);
	l->r = tu_spawn(rargv, NULL, &l->rout, &l->rerr);
	assert_true(l->r > 0);
	wait_until(reader_attached, name);
}

static void test_kill9_writer_reader_exits_1_peer_died(void **state)
{
	const char *name = tu_name();
	struct live l;
	int64_t t0;
	char *msg;
	int code;

	(void)state;
	start_live(name, &l);
	kill(l.w, SIGKILL);
	t0 = tu_now_ms();
	tu_child_verdict(l.r, EX_WAIT_MS + 2000, &code);
	/* noticed at once, not at the end of the reader's wait */
	assert_true(tu_now_ms() - t0 < EX_WAIT_MS / 2);
	assert_int_equal(code, 1);
	msg = tu_slurp(l.rerr, WAIT_MS);
	assert_non_null(strstr(msg, "Peer process died"));
	free(msg);
	tu_child_verdict(l.w, WAIT_MS, &code);
	assert_int_equal(code, 128 + SIGKILL);
	close(l.win);
	close(l.rout);
	free(tu_slurp(l.werr, WAIT_MS));
}

static void test_kill9_reader_writer_exits_1_peer_died(void **state)
{
	const char *name = tu_name();
	size_t len;
	char *in = some_lines(N_LINES, &len), *msg;
	struct live l;
	int code;

	(void)state;
	start_live(name, &l);
	assert_int_equal(write(l.win, in, len), (ssize_t)len);
	/* The reader's stdout is a pipe, so fully buffered: a first buffer
	 * out means it has taken lines, and the writer has seen it. */
	tu_read_some(l.rout, 1, WAIT_MS);
	tu_kill9(l.r, WAIT_MS);
	/* one more line, in case the writer had taken all and waits on stdin */
	(void)!write(l.win, "more\n", 5);
	tu_child_verdict(l.w, EX_WAIT_MS / 2, &code);
	assert_int_equal(code, 1);
	msg = tu_slurp(l.werr, WAIT_MS);
	assert_non_null(strstr(msg, "Peer process died"));
	free(msg);
	free(in);
	close(l.win);
	close(l.rout);
	free(tu_slurp(l.rerr, WAIT_MS));
	/* the writer, the creator, removed what it made */
	tu_assert_nothing_left(name);
}

static void check_help(const char *prog, const char *opt)
{
	char *argv[] = { ex(prog), (char *)opt, NULL };
	struct tu_result res;
	char want[64];

	assert_int_equal(tu_run(argv, NULL, 0, WAIT_MS, &res), 0);
	assert_int_equal(res.exit_code, 0);
	snprintf(want, sizeof(want), "usage: %s", prog);
	assert_non_null(strstr(res.out, want));
	if (!strcmp(prog, "chan-producer")) {
		assert_non_null(strstr(res.out, "--consumers N"));
		assert_non_null(strstr(res.out, "--producers M"));
		assert_non_null(strstr(res.out, "--policy block|overwrite"));
	}
	tu_result_free(&res);
}

static void test_help_prints_usage_and_exits_0(void **state)
{
	(void)state;
	check_help("writer", "--help");
	check_help("writer", "-h");
	check_help("reader", "--help");
	check_help("reader", "-h");
	check_help("chan-producer", "--help");
	check_help("chan-producer", "-h");
	check_help("chan-consumer", "--help");
	check_help("chan-consumer", "-h");
}

/* ---- chan-producer and chan-consumer ---- */

static void test_chan_lines_through_consumer_exits_0_on_close(void **state)
{
	const char *name = tu_name();
	char *cargv[] = { ex("chan-consumer"), (char *)name, NULL };
	char *pargv[] = { ex("chan-producer"), (char *)name, NULL };
	struct tu_result p;
	size_t len;
	char *in = some_lines(N_LINES * 10, &len), *out, *err;
	int cout, cerr, code;
	pid_t c;

	(void)state;
	c = tu_spawn(cargv, NULL, &cout, &cerr);
	assert_true(c > 0);
	assert_int_equal(tu_run(pargv, in, len, WAIT_MS, &p), 0);
	out = tu_slurp(cout, WAIT_MS);
	err = tu_slurp(cerr, WAIT_MS);
	tu_child_verdict(c, WAIT_MS, &code);
	assert_int_equal(p.exit_code, 0);
	assert_int_equal(code, 0);
	assert_string_equal(err, "");
	assert_string_equal(out, in);
	tu_result_free(&p);
	free(out);
	free(err);
	free(in);
	tu_assert_nothing_left(name);
}

static void test_chan_producer_count_sends_n_messages(void **state)
{
	const char *name = tu_name();
	char *cargv[] = { ex("chan-consumer"), (char *)name, NULL };
	char *pargv[] = { ex("chan-producer"), "--count", "3", (char *)name, NULL };
	struct tu_result p;
	int cout, code;
	char *out;
	pid_t c;

	(void)state;
	c = tu_spawn(cargv, NULL, &cout, NULL);
	assert_true(c > 0);
	assert_int_equal(tu_run(pargv, NULL, 0, WAIT_MS, &p), 0);
	out = tu_slurp(cout, WAIT_MS);
	tu_child_verdict(c, WAIT_MS, &code);
	assert_int_equal(p.exit_code, 0);
	assert_int_equal(code, 0);
	assert_string_equal(out, "message 0\nmessage 1\nmessage 2\n");
	tu_result_free(&p);
	free(out);
	tu_assert_nothing_left(name);
}

/* Lines of one producer, in its order, out of what a consumer printed. */
static char *lines_of(const char *out, char tag)
{
	char *s = malloc(strlen(out) + 1), *w = s;
	const char *nl;

	assert_non_null(s);
	for (; *out; out = nl + 1) {
		nl = strchr(out, '\n');
		assert_non_null(nl);
		if (*out == tag) {
			memcpy(w, out, (size_t)(nl - out) + 1);
			w += nl - out + 1;
		}
	}
	*w = 0;
	return s;
}

static char *tagged_lines(char tag, int n)
{
	char *s = malloc((size_t)n * 32 + 1);
	size_t len = 0;

	assert_non_null(s);
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "%c line %d\n", tag, i);
	return s;
}

static void test_chan_three_consumers_each_print_every_line(void **state)
{
	const char *name = tu_name();
	char *cargv[] = { ex("chan-consumer"), (char *)name, NULL };
	char *pargv[] = { ex("chan-producer"), "--consumers", "3", (char *)name, NULL };
	struct tu_result p;
	size_t len;
	char *in = some_lines(N_LINES, &len), *out, *err;
	int cout[3], cerr[3], code;
	pid_t c[3];

	(void)state;
	for (int k = 0; k < 3; k++) {
		c[k] = tu_spawn(cargv, NULL, &cout[k], &cerr[k]);
		assert_true(c[k] > 0);
	}
	assert_int_equal(tu_run(pargv, in, len, WAIT_MS, &p), 0);
	assert_int_equal(p.exit_code, 0);
	for (int k = 0; k < 3; k++) {
		out = tu_slurp(cout[k], WAIT_MS);
		err = tu_slurp(cerr[k], WAIT_MS);
		tu_child_verdict(c[k], WAIT_MS, &code);
		assert_int_equal(code, 0);
		assert_string_equal(err, "");
		assert_string_equal(out, in);
		free(out);
		free(err);
	}
	tu_result_free(&p);
	free(in);
	tu_assert_nothing_left(name);
}

/* Two chan-producer --producers 2: the first creates, the second joins;
 * the consumer prints every line of each, in each one's order. */
static void test_chan_two_producers_feed_one_consumer(void **state)
{
	const char *name = tu_name();
	char *cargv[] = { ex("chan-consumer"), (char *)name, NULL };
	char *pargv[] = { ex("chan-producer"), "--producers", "2", (char *)name, NULL };
	char *a = tagged_lines('a', N_LINES), *b = tagged_lines('b', N_LINES), *out, *got;
	struct tu_result pb;
	int ain, cout, code;
	pid_t c, pa;

	(void)state;
	c = tu_spawn(cargv, NULL, &cout, NULL);
	assert_true(c > 0);
	pa = tu_spawn(pargv, &ain, NULL, NULL);
	assert_true(pa > 0);
	assert_int_equal(write(ain, a, strlen(a)), (ssize_t)strlen(a));
	close(ain);
	assert_int_equal(tu_run(pargv, b, strlen(b), WAIT_MS, &pb), 0);
	assert_int_equal(pb.exit_code, 0);
	tu_child_verdict(pa, WAIT_MS, &code);
	assert_int_equal(code, 0);
	out = tu_slurp(cout, WAIT_MS);
	tu_child_verdict(c, WAIT_MS, &code);
	assert_int_equal(code, 0);
	assert_int_equal(strlen(out), strlen(a) + strlen(b));
	got = lines_of(out, 'a');
	assert_string_equal(got, a);
	free(got);
	got = lines_of(out, 'b');
	assert_string_equal(got, b);
	free(got);
	tu_result_free(&pb);
	free(out);
	free(a);
	free(b);
	tu_assert_nothing_left(name);
}

/* --policy overwrite never waits: 5000 messages (120 KiB of records) into
 * a ring of 64 KiB with no consumer yet. The consumer that comes later
 * counts what was overwritten, then prints the rest, in order. */
static void test_chan_overwrite_late_consumer_counts_what_it_lost(void **state)
{
	const char *name = tu_name();
	char *cargv[] = { ex("chan-consumer"), (char *)name, NULL };
	char *pargv[] = { ex("chan-producer"), "--policy", "overwrite", "--count", "5000",
			  (char *)name, NULL };
	struct tu_result p, c;
	char want[64];
	int lost = -1, first = -1, n = 0;

	(void)state;
	assert_int_equal(tu_run(pargv, NULL, 0, WAIT_MS, &p), 0);
	assert_int_equal(p.exit_code, 0);
	assert_int_equal(tu_run(cargv, NULL, 0, WAIT_MS, &c), 0);
	assert_int_equal(c.exit_code, 0);
	assert_int_equal(sscanf(c.err, "chan-consumer: lost %d messages", &lost), 1);
	assert_true(lost > 0 && lost < 5000);
	assert_int_equal(sscanf(c.out, "message %d", &first), 1);
	assert_int_equal(first, lost);
	for (const char *l = c.out; *l; l = strchr(l, '\n') + 1, n++) {
		snprintf(want, sizeof(want), "message %d\n", lost + n);
		assert_memory_equal(l, want, strlen(want));
	}
	assert_int_equal(lost + n, 5000);
	tu_result_free(&p);
	tu_result_free(&c);
	tu_assert_nothing_left(name);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_prints_usage_and_exits_0),
		T(test_reader_first_prints_the_lines_in_order),
		T(test_writer_first_then_reader_gets_every_line),
		T(test_kill9_writer_reader_exits_1_peer_died),
		T(test_kill9_reader_writer_exits_1_peer_died),
		T(test_chan_lines_through_consumer_exits_0_on_close),
		T(test_chan_producer_count_sends_n_messages),
		T(test_chan_three_consumers_each_print_every_line),
		T(test_chan_two_producers_feed_one_consumer),
		T(test_chan_overwrite_late_consumer_counts_what_it_lost),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
