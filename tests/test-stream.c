/* SPDX-License-Identifier: MIT */
/* shmx send and shmx recv (shmx(1), STREAMS) carrying a stream to its end:
 * bytes identical, lines in order, the end marker, and the options. Each
 * runs as the two processes a user runs, twice: through a channel (the
 * default) and through a region and its semaphore pair (--pair). Sides that
 * die, stop or never come are test-stream-peers.c. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "stream-util.h"

#define BIG        (64u << 20)

/* ---- both sides to the end ---- */

struct run2 {
	struct tu_result s;     /* the sender */
	char *rout, *rerr;
	int rcode;
};

/* Receiver in the background, sender fed with in, both to the end. */
static void run_both(void **state, const char *name, const char *in, size_t len,
		     char *const extra[], struct run2 *res)
{
	char *sextra[12] = { "--timeout", TIMEOUT_S };
	struct args a;
	int rout, rerr, i = 2;
	pid_t r;

	while (extra && *extra)
		sextra[i++] = *extra++;
	sextra[i] = NULL;
	r = spawn_recv(state, name, &rout, &rerr);
	assert_int_equal(tu_run(args(&a, state, "send", name, sextra), in, len, 30000,
				&res->s), 0);
	res->rout = tu_slurp(rout, WAIT_MS);
	res->rerr = tu_slurp(rerr, WAIT_MS);
	tu_child_verdict(r, WAIT_MS, &res->rcode);
	if (res->s.exit_code || res->rcode)
		print_message("# send: %s# recv: %s", res->s.err, res->rerr);
}

static void run2_free(struct run2 *res)
{
	tu_result_free(&res->s);
	free(res->rout);
	free(res->rerr);
}

static void assert_clean_end(const char *name, struct run2 *res)
{
	assert_int_equal(res->s.exit_code, 0);
	assert_int_equal(res->rcode, 0);
	assert_string_equal(res->s.err, "");
	assert_string_equal(res->rerr, "");
	tu_assert_nothing_left(name);
}

/* A file of random bytes; its digest. */
static uint64_t make_random_file(const char *path)
{
	static char buf[1 << 20];
	uint64_t h = TU_FNV_INIT;
	size_t done;
	int fd;

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	for (done = 0; done < BIG; done += sizeof(buf)) {
		assert_int_equal(getrandom(buf, sizeof(buf), 0), sizeof(buf));
		h = tu_fnv1a(h, buf, sizeof(buf));
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	}
	close(fd);
	return h;
}

static void test_64mib_of_random_bytes_arrive_identical(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	uint64_t want, got = TU_FNV_INIT;
	char path[128], *rmsg, *smsg;
	int rout, rerr, serr, rcode, scode;
	size_t total = 0;
	struct args a;
	pid_t r, s;

	snprintf(path, sizeof(path), "/tmp%s-random.bin", name);
	want = make_random_file(path);
	r = spawn_recv(state, name, &rout, &rerr);
	s = tu_spawn_input(args(&a, state, "send", name, extra), path, &serr);
	assert_int_equal(tu_drain(rout, 120000, &got, &total), 0);
	rmsg = tu_slurp(rerr, WAIT_MS);
	smsg = tu_slurp(serr, WAIT_MS);
	unlink(path);
	close(rout);
	tu_child_verdict(s, WAIT_MS, &scode);
	tu_child_verdict(r, WAIT_MS, &rcode);
	if (scode || rcode)
		print_message("# send: %s# recv: %s", smsg, rmsg);
	free(rmsg);
	free(smsg);
	assert_int_equal(scode, 0);
	assert_int_equal(rcode, 0);
	assert_int_equal(total, BIG);
	assert_true(got == want);
	tu_assert_nothing_left(name);
}

static void test_lines_arrive_in_order(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--lines", NULL };
	char *in = malloc(200 * 32);
	struct run2 res;
	size_t len = 0;

	assert_non_null(in);
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(in + len, "line %d of 200\n", i);
	run_both(state, name, in, len, extra, &res);
	/* each line once, in order, nothing else */
	assert_string_equal(res.rout, in);
	assert_clean_end(name, &res);
	run2_free(&res);
	free(in);
}

/* 64 bytes: the smallest ring (messages of 24 bytes at most), a region of
 * 56 bytes of data. A 3000-byte line goes through in pieces, still whole. */
static void test_line_longer_than_the_ring_arrives_whole(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--lines", "--size", "64", NULL };
	char in[3000];
	struct run2 res;

	memset(in, 'x', sizeof(in) - 2);
	in[sizeof(in) - 2] = '\n';
	in[sizeof(in) - 1] = 0;
	run_both(state, name, in, strlen(in), extra, &res);
	assert_string_equal(res.rout, in);
	assert_clean_end(name, &res);
	run2_free(&res);
}

static void test_quit_line_ends_both(void **state)
{
	const char *name = tu_name();
	const char *in = "one\ntwo\nquit\nthree\n";
	char *extra[] = { "--lines", NULL };
	struct run2 res;

	run_both(state, name, in, strlen(in), extra, &res);
	assert_string_equal(res.rout, "one\ntwo\n");
	assert_clean_end(name, &res);
	run2_free(&res);
}

/* "quit" is a line of its own, not the last piece of a longer line that
 * was cut to fit the ring. */
static void test_quit_inside_a_long_line_is_data(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--lines", "--size", "64", NULL };
	char in[256];
	struct run2 res;
	size_t piece = is_pair(state) ? 56 : 24;

	/* a line whose last piece is exactly "quit\n", then one more line */
	memset(in, 'y', 2 * piece);
	strcpy(in + 2 * piece, "quit\nafter\n");
	run_both(state, name, in, strlen(in), extra, &res);
	assert_string_equal(res.rout, in);
	assert_clean_end(name, &res);
	run2_free(&res);
}

static void test_empty_input_ends_both(void **state)
{
	const char *name = tu_name();
	struct run2 res;

	run_both(state, name, "", 0, NULL, &res);
	assert_string_equal(res.rout, "");
	assert_clean_end(name, &res);
	run2_free(&res);
}

/* ---- options ---- */

static void check_help(const char *sub, const char *opt)
{
	char *argv[] = { (char *)tu_build_path("tools/shmx"), (char *)sub, (char *)opt, NULL };
	char usage[32];
	struct tu_result res;

	assert_int_equal(tu_run(argv, NULL, 0, WAIT_MS, &res), 0);
	assert_int_equal(res.exit_code, 0);
	snprintf(usage, sizeof(usage), "Usage: shmx %s NAME", sub);
	assert_non_null(strstr(res.out, usage));
	assert_non_null(strstr(res.out, "--pair"));
	assert_non_null(strstr(res.out, "--timeout"));
	tu_result_free(&res);
}

static void check_bad(void **state, const char *sub, const char *name, char *const extra[])
{
	struct tu_result res;
	struct args a;

	assert_int_equal(tu_run(args(&a, state, sub, name, extra), "x\n", 2, WAIT_MS, &res),
			 0);
	if (res.exit_code != 2)
		print_message("# shmx %s %s: exit %d: %s", sub, name, res.exit_code, res.err);
	assert_int_equal(res.exit_code, 2);
	assert_non_null(strstr(res.err, "Usage: shmx"));
	tu_result_free(&res);
	if (strlen(name) > 1)
		tu_assert_nothing_left(name);
}

static void test_help_and_bad_options(void **state)
{
	const char *name = tu_name();
	char *bogus[] = { "--bogus", NULL }, *extra_arg[] = { "extra", NULL };
	char *size_q[] = { "--size", "12Q", NULL }, *size_0[] = { "--size", "0", NULL };
	char *t_neg[] = { "--timeout", "-5", NULL }, *t_word[] = { "--timeout", "soon", NULL };
	/* a ring must be a power of two; a region must hold more than a frame */
	char *size_bad[] = { "--size", is_pair(state) ? "8" : "100", NULL };

	check_help("send", "--help");
	check_help("send", "-h");
	check_help("recv", "--help");
	check_help("recv", "-h");
	check_bad(state, "send", name, bogus);
	check_bad(state, "recv", name, bogus);
	check_bad(state, "send", name, size_q);
	check_bad(state, "send", name, size_0);
	check_bad(state, "send", name, size_bad);
	check_bad(state, "send", name, t_neg);
	check_bad(state, "recv", name, t_word);
	check_bad(state, "send", name, extra_arg);
	check_bad(state, "recv", name, extra_arg);
	check_bad(state, "send", "/a/b", NULL);
	check_bad(state, "recv", "", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_and_bad_options),
		T(test_lines_arrive_in_order),
		T(test_line_longer_than_the_ring_arrives_whole),
		T(test_quit_line_ends_both),
		T(test_quit_inside_a_long_line_is_data),
		T(test_empty_input_ends_both),
		T(test_64mib_of_random_bytes_arrive_identical),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
