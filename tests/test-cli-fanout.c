/* SPDX-License-Identifier: MIT */
/* shmx send and shmx recv on channels of several consumers and several
 * producers (shmx(1), STREAMS): each receiver gets the whole stream,
 * several senders feed one stream that ends with the last of them, the
 * overwrite policy reports what a slow receiver lost, and shmx stat shows
 * the slots. Each run exec's the tool as a user would; the one-to-one
 * stream is test-stream.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-util.h"

#define WAIT_MS    20000        /* deadline for a process to end */
#define TIMEOUT_S  "10000"      /* --timeout of both sides */
#define BIG        (4u << 20)   /* bytes through three receivers */

extern char **environ;

static char *tool(void)
{
	return (char *)tu_build_path("tools/shmx");
}

/* argv with stdin and stdout from and to files (NULL: /dev/null), stderr
 * to a pipe (*err). */
static pid_t spawn_files(char *const argv[], const char *in, const char *out, int *err)
{
	posix_spawn_file_actions_t fa;
	int pe[2];
	pid_t pid;

	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in ? in : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pe[1]);
	*err = pe[0];
	return pid;
}

/* The child's exit code, its stderr printed when it is not want. */
static int exit_of(pid_t pid, int err_fd, int want, const char *who)
{
	char *msg = tu_slurp(err_fd, WAIT_MS);
	int code;

	tu_child_verdict(pid, WAIT_MS, &code);
	if (code != want)
		print_message("# %s: exit %d, wanted %d: %s\n", who, code, want, msg);
	free(msg);
	return code;
}

static void expect_exit(pid_t pid, int err_fd, int want, const char *who)
{
	assert_int_equal(exit_of(pid, err_fd, want, who), want);
}

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = 0;
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Poll until the channel has want consumers attached (shmx_chan_peers). */
static void wait_consumers(const char *name, int want)
{
	struct shmx_chan_peer p[16];
	int64_t end = tu_now_ms() + WAIT_MS;
	int n, got = -1;

	while (got != want && tu_now_ms() < end) {
		n = shmx_chan_peers(name, p, 16);
		got = 0;
		for (int i = 0; i < n; i++)
			got += p[i].role == SHMX_CHAN_CONSUMER && p[i].state == SHMX_PEER_ATTACHED;
		if (got != want)
			usleep(1000);
	}
	assert_int_equal(got, want);
}

/* ---- several receivers ---- */

static void test_three_receivers_each_get_the_whole_input(void **state)
{
	const char *name = tu_name();
	char *rargv[] = { tool(), "recv", (char *)name, "--timeout", TIMEOUT_S, NULL };
	char *sargv[] = { tool(), "send", (char *)name, "--consumers", "3",
			  "--timeout", TIMEOUT_S, NULL };
	char in[128], out[3][128], *data, *got;
	int rerr[3], rcode[3], serr, fd, code;
	size_t len, got_len;
	pid_t r[3], s;

	(void)state;
	snprintf(in, sizeof(in), "/tmp%s-in", name);
	data = malloc(BIG);
	assert_non_null(data);
	assert_int_equal(getrandom(data, BIG, 0), BIG);
	fd = open(in, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, BIG), BIG);
	close(fd);
	for (int k = 0; k < 3; k++) {
		snprintf(out[k], sizeof(out[k]), "/tmp%s-out%d", name, k);
		r[k] = spawn_files(rargv, NULL, out[k], &rerr[k]);
	}
	s = spawn_files(sargv, in, NULL, &serr);
	/* every side's word before the first verdict */
	code = exit_of(s, serr, 0, "send");
	for (int k = 0; k < 3; k++)
		rcode[k] = exit_of(r[k], rerr[k], 0, "recv");
	assert_int_equal(code, 0);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(rcode[k], 0);
		got = read_file(out[k], &len);
		got_len = len;
		unlink(out[k]);
		assert_int_equal(got_len, BIG);
		assert_memory_equal(got, data, BIG);
		free(got);
	}
	unlink(in);
	free(data);
	tu_assert_nothing_left(name);
}

/* Without receivers: waiting for them ends with the timeout (exit 1), and
 * --no-wait sends at once into nowhere (exit 0). Nothing is left. */
static void test_no_wait_sends_without_the_receivers(void **state)
{
	const char *name = tu_name();
	int64_t t0;

	(void)state;
	assert_int_equal(shmx_stdin("data\n", 5, "send", name, "--consumers", "2",
				    "--timeout", "300"), 1);
	assert_err_has("no receiver within 300 ms");
	tu_assert_nothing_left(name);
	t0 = tu_now_ms();
	assert_int_equal(shmx_stdin("data\n", 5, "send", name, "--consumers", "2",
				    "--no-wait", "--timeout", TIMEOUT_S), 0);
	assert_string_equal(R.err, "");
	assert_true(tu_now_ms() - t0 < 5000);
	tu_assert_nothing_left(name);
}

/* --no-wait: the one receiver of two that is there gets the stream, and
 * one that comes once the stream flows still finds the channel (shmx(1):
 * it misses only the start). The first has taken two lines, so the sender
 * has sent and looked at the slots since: the names stay until every slot
 * was taken, not until that first look. */
static void test_no_wait_late_receiver_gets_the_rest(void **state)
{
	const char *name = tu_name();
	char *sargv[] = { tool(), "send", (char *)name, "--lines", "--consumers", "2",
			  "--no-wait", "--timeout", TIMEOUT_S, NULL };
	char *rargv[] = { tool(), "recv", (char *)name, "--timeout", TIMEOUT_S, NULL };
	struct shmx_chan_info ci;
	int64_t end = tu_now_ms() + WAIT_MS;
	int sin, serr, aout, aerr, bout, berr;
	char *a, *b;
	pid_t s, ra, rb;

	(void)state;
	s = tu_spawn(sargv, &sin, NULL, &serr);
	assert_true(s > 0);
	while (shmx_chan_stat(name, &ci) && tu_now_ms() < end)
		usleep(1000);
	ra = tu_spawn(rargv, NULL, &aout, &aerr);
	assert_true(ra > 0);
	wait_consumers(name, 1);
	assert_int_equal(write(sin, "first\n", 6), 6);
	tu_read_some(aout, 6, WAIT_MS);
	assert_int_equal(write(sin, "second\n", 7), 7);
	tu_read_some(aout, 7, WAIT_MS);
	rb = tu_spawn(rargv, NULL, &bout, &berr);
	assert_true(rb > 0);
	wait_consumers(name, 2);
	assert_int_equal(write(sin, "third\n", 6), 6);
	close(sin);
	a = tu_slurp(aout, WAIT_MS);
	b = tu_slurp(bout, WAIT_MS);
	expect_exit(s, serr, 0, "send");
	expect_exit(ra, aerr, 0, "first recv");
	expect_exit(rb, berr, 0, "late recv");
	assert_string_equal(a, "third\n");
	assert_string_equal(b, "third\n");
	free(a);
	free(b);
	tu_assert_nothing_left(name);
}

/* ---- several senders ---- */

static void put_lines(int fd, char tag, int from, int to)
{
	char line[32];
	int len;

	for (int i = from; i < to; i++) {
		len = snprintf(line, sizeof(line), "%c %d\n", tag, i);
		assert_int_equal(write(fd, line, (size_t)len), len);
	}
}

/* The lines of out that start with tag: exactly "tag 0" to "tag n-1", in
 * that order. */
static void assert_lines_of(const char *out, char tag, int n)
{
	int next = 0, v;

	for (const char *l = out; *l; l = strchr(l, '\n') + 1) {
		assert_non_null(strchr(l, '\n'));
		if (*l != tag)
			continue;
		assert_int_equal(sscanf(l + 1, " %d", &v), 1);
		if (v != next)
			print_message("# %c: line %d where %d was due\n", tag, v, next);
		assert_int_equal(v, next);
		next++;
	}
	assert_int_equal(next, n);
}

/* The creating sender and two that join feed one receiver. The creator
 * ends first (its end marker is in the stream, and it exits): the
 * receiver goes on until the other two have ended theirs. */
static void test_three_senders_feed_one_receiver(void **state)
{
	const char *name = tu_name();
	char *cargv[] = { tool(), "send", (char *)name, "--lines", "--producers", "3",
			  "--timeout", TIMEOUT_S, NULL };
	char *jargv[] = { tool(), "send", (char *)name, "--lines", "--producer",
			  "--timeout", TIMEOUT_S, NULL };
	char *rargv[] = { tool(), "recv", (char *)name, "--timeout", TIMEOUT_S, NULL };
	int cin, cerr, jin[2], jerr[2], rout, rerr, n = 1500;
	pid_t c, j[2], r;
	char *out;

	(void)state;
	r = tu_spawn(rargv, NULL, &rout, &rerr);
	c = tu_spawn(cargv, &cin, NULL, &cerr);
	assert_true(r > 0 && c > 0);
	put_lines(cin, 'c', 0, 10);
	close(cin);
	for (int k = 0; k < 2; k++) {
		j[k] = tu_spawn(jargv, &jin[k], NULL, &jerr[k]);
		assert_true(j[k] > 0);
		put_lines(jin[k], k ? 'b' : 'a', 0, n / 2);
	}
	/* the creator is done once every slot was taken: the others go on */
	expect_exit(c, cerr, 0, "creating send");
	for (int k = 0; k < 2; k++) {
		put_lines(jin[k], k ? 'b' : 'a', n / 2, n);
		close(jin[k]);
	}
	out = tu_slurp(rout, WAIT_MS);
	for (int k = 0; k < 2; k++)
		expect_exit(j[k], jerr[k], 0, "joining send");
	expect_exit(r, rerr, 0, "recv");
	assert_lines_of(out, 'c', 10);
	assert_lines_of(out, 'a', n);
	assert_lines_of(out, 'b', n);
	assert_int_equal(strlen(out), 10 * 4 + 2 * (10 * 4 + 90 * 5 + 900 * 6 + 500 * 7));
	free(out);
	tu_assert_nothing_left(name);
}

/* A second sender that never comes: the creator says so, the receiver
 * says the stream is incomplete; both exit 1, nothing is left. */
static void test_sender_that_never_joins_is_reported_by_both(void **state)
{
	const char *name = tu_name();
	char *sargv[] = { tool(), "send", (char *)name, "--producers", "2",
			  "--timeout", "500", NULL };
	char *rargv[] = { tool(), "recv", (char *)name, "--timeout", TIMEOUT_S, NULL };
	int serr, rout, rerr, sin, scode, rcode;
	char *smsg, *rmsg, *out;
	pid_t s, r;

	(void)state;
	r = tu_spawn(rargv, NULL, &rout, &rerr);
	s = tu_spawn(sargv, &sin, NULL, &serr);
	assert_true(r > 0 && s > 0);
	assert_int_equal(write(sin, "alone\n", 6), 6);
	close(sin);
	out = tu_slurp(rout, WAIT_MS);
	smsg = tu_slurp(serr, WAIT_MS);
	rmsg = tu_slurp(rerr, WAIT_MS);
	tu_child_verdict(s, WAIT_MS, &scode);
	tu_child_verdict(r, WAIT_MS, &rcode);
	assert_int_equal(scode, 1);
	assert_int_equal(rcode, 1);
	assert_string_equal(out, "alone\n");
	assert_non_null(strstr(smsg, "no producer within 500 ms"));
	assert_non_null(strstr(rmsg, "1 of 2 senders ended their stream"));
	free(out);
	free(smsg);
	free(rmsg);
	tu_assert_nothing_left(name);
}

/* A sender killed mid-stream: the other ends its stream, and the receiver
 * reports the stream incomplete (a producer died: EOWNERDEAD once none is
 * left) instead of taking the end marker it got for the end. */
static void test_killed_sender_leaves_the_stream_incomplete(void **state)
{
	const char *name = tu_name();
	char *cargv[] = { tool(), "send", (char *)name, "--lines", "--producers", "2",
			  "--timeout", TIMEOUT_S, NULL };
	char *jargv[] = { tool(), "send", (char *)name, "--lines", "--producer",
			  "--timeout", TIMEOUT_S, NULL };
	char *rargv[] = { tool(), "recv", (char *)name, "--timeout", TIMEOUT_S, NULL };
	int cin, cerr, jin, rout, rerr, code;
	char *msg, *out;
	pid_t c, j, r;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	r = tu_spawn(rargv, NULL, &rout, &rerr);
	c = tu_spawn(cargv, &cin, NULL, &cerr);
	j = tu_spawn(jargv, &jin, NULL, NULL);
	assert_true(r > 0 && c > 0 && j > 0);
	put_lines(jin, 'j', 0, 1);
	tu_read_some(rout, 4, WAIT_MS);         /* "j 0\n": the joiner is in */
	tu_kill9(j, WAIT_MS);
	close(jin);
	put_lines(cin, 'c', 0, 100);
	close(cin);
	expect_exit(c, cerr, 0, "creating send");
	out = tu_slurp(rout, WAIT_MS);
	msg = tu_slurp(rerr, WAIT_MS);
	tu_child_verdict(r, WAIT_MS, &code);
	if (code != 1)
		tu_print_lines("recv", msg);
	assert_int_equal(code, 1);
	assert_non_null(strstr(msg, "1 of 2 senders ended their stream; a sender died"));
	assert_lines_of(out, 'c', 100);
	free(out);
	free(msg);
	tu_assert_nothing_left(name);
}

/* ---- the overwrite policy ---- */

/* The sender, its input a file, has read all of it (its end marker follows
 * at once): its stdin's offset is the file's size; or it has ended (its
 * descriptors are gone): a receiver lapped until the last ring of the
 * stream, as under load, may take the end marker at once. */
static void wait_input_read(pid_t pid, size_t len)
{
	int64_t end = tu_now_ms() + WAIT_MS;
	unsigned long long pos = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/0", (int)pid);
	while (pos < len && tu_now_ms() < end) {
		f = fopen(path, "r");
		if (!f && errno == ENOENT)
			return;
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			sscanf(line, "pos: %llu", &pos);
		fclose(f);
		if (pos < len)
			usleep(1000);
	}
	assert_int_equal(pos, len);
}

/* The receiver's stdout is a pipe nobody reads until the sender has sent
 * everything: it falls behind, says what it lost as it goes and in all at
 * the end, prints whole lines in order, and exits 3. Received + lost =
 * sent. The sender waits for it to take the end marker, then exits 0. */
static void test_overwrite_slow_receiver_reports_what_it_lost(void **state)
{
	const char *name = tu_name();
	char *rargv[] = { tool(), "recv", (char *)name, "--timeout", TIMEOUT_S, NULL };
	char *sargv[] = { tool(), "send", (char *)name, "--lines", "--size", "4K", "--policy",
			  "overwrite", "--timeout", TIMEOUT_S, NULL };
	int rout, rerr, serr, code, n = 100000, lines = 0, prev = -1, v, fd;
	unsigned long long lost = 0;
	char *in = malloc((size_t)n * 16), *out, *msg, *all;
	char file[64];
	size_t len = 0;
	pid_t r, s;

	(void)state;
	assert_non_null(in);
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(in + len, "line %d\n", i);
	snprintf(file, sizeof(file), "/tmp/shmx-test-%d-input", (int)getpid());
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, in, len), (ssize_t)len);
	close(fd);
	r = tu_spawn(rargv, NULL, &rout, &rerr);
	assert_true(r > 0);
	s = tu_spawn_input(sargv, file, &serr);
	wait_input_read(s, len);
	unlink(file);
	out = tu_slurp(rout, WAIT_MS);
	msg = tu_slurp(rerr, WAIT_MS);
	expect_exit(s, serr, 0, "send");
	tu_child_verdict(r, WAIT_MS, &code);
	if (code != 3)
		tu_print_lines("recv", msg);
	assert_int_equal(code, 3);
	assert_non_null(strstr(msg, ": lost "));
	all = strstr(msg, "messages lost in all");
	assert_non_null(all);
	while (all > msg && all[-1] != ' ')
		all--;
	while (all > msg && all[-1] == ' ')
		all--;
	while (all > msg && all[-1] != ' ')
		all--;
	assert_int_equal(sscanf(all, "%llu messages lost in all", &lost), 1);
	for (const char *l = out; *l; l = strchr(l, '\n') + 1, lines++) {
		assert_int_equal(sscanf(l, "line %d\n", &v), 1);
		assert_true(v > prev);
		prev = v;
	}
	assert_true(lost > 0);
	assert_int_equal(lines + lost, (unsigned long long)n);
	free(in);
	free(out);
	free(msg);
	tu_assert_nothing_left(name);
}

/* ---- stat ---- */

/* The pid of the receiver in consumer slot slot, or -1. */
static int consumer_slot_of(const char *name, pid_t pid)
{
	struct shmx_chan_peer p[8];
	int n = shmx_chan_peers(name, p, 8);

	for (int i = 0; i < n; i++)
		if (p[i].role == SHMX_CHAN_CONSUMER && p[i].pid == pid)
			return (int)p[i].slot;
	return -1;
}

/* The text line of stat's slot table for (role, slot). */
static const char *slot_line(const char *role, int slot)
{
	static char line[256];
	char key[64];
	const char *p, *end;

	snprintf(key, sizeof(key), " %-8s %4d ", role, slot);
	p = strstr(R.out, key);
	if (!p)
		return "";
	end = strchr(p, '\n');
	snprintf(line, sizeof(line), "%.*s", (int)(end - p - 1), p + 1);
	return line;
}

/* Two shmx recv on a channel of two consumer slots made here: stat shows
 * the shape and the slots, and a receiver killed with SIGKILL as dead. */
static void test_stat_shows_the_slots_and_a_dead_receiver(void **state)
{
	const char *name = tu_name(), *region = tu_name();
	struct shmx_chan_params prm = { .capacity = 4096, .consumers = 2 };
	char *rargv[] = { tool(), "recv", (char *)name, "--timeout", TIMEOUT_S, NULL };
	char want[256], dead[256];
	struct shmx_chan *c;
	int rout[2], slot;
	pid_t r[2];
	char *out;

	(void)state;
	assert_int_equal(shmx_chan_create_params(name, &prm, SHMX_CHAN_PRODUCER, 0600, &c), 0);
	for (int k = 0; k < 2; k++) {
		r[k] = tu_spawn(rargv, NULL, &rout[k], NULL);
		assert_true(r[k] > 0);
	}
	wait_consumers(name, 2);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("            1 producer, 2 consumers (broadcast), policy block\n");
	assert_out_has("Slots:      ROLE     SLOT      PID STATE    GENERATION");
	snprintf(want, sizeof(want), "producer    0 %8d attached          1            0"
		 "            -            -", (int)getpid());
	assert_string_equal(slot_line("producer", 0), want);
	for (int k = 0; k < 2; k++) {
		slot = consumer_slot_of(name, r[k]);
		assert_true(slot >= 0);
		snprintf(want, sizeof(want), "consumer %4d %8d attached          1            0"
			 "            0            0", slot, (int)r[k]);
		assert_string_equal(slot_line("consumer", slot), want);
	}

	slot = consumer_slot_of(name, r[1]);
	tu_kill9(r[1], WAIT_MS);
	close(rout[1]);
	assert_int_equal(shmx("stat", name), 0);
	snprintf(want, sizeof(want), "consumer %4d %8d dead              1            0"
		 "            0            0", slot, (int)r[1]);
	assert_string_equal(slot_line("consumer", slot), want);
	make_region(region, 4096, NULL, 0);
	assert_int_equal(shmx("stat", "--json", name, region), 0);
	assert_out_has("\"producers\":1,\"consumers\":2,\"policy\":\"block\"}");
	snprintf(want, sizeof(want), "{\"role\":\"producer\",\"slot\":0,\"pid\":%d,\"state\":"
		 "\"attached\",\"generation\":1,\"count\":0,\"lag\":null,\"lost\":null}",
		 (int)getpid());
	assert_out_has(want);
	snprintf(dead, sizeof(dead), "{\"role\":\"consumer\",\"slot\":%d,\"pid\":%d,\"state\":"
		 "\"dead\",\"generation\":1,\"count\":0,\"lag\":0,\"lost\":0}", slot, (int)r[1]);
	assert_out_has(dead);
	assert_out_has("\"channel\":null,\"mapped_by\":[],\"slots\":null}");

	/* the receiver left goes on to the end */
	assert_int_equal(shmx_chan_send(c, "bye\n", 4, WAIT_MS), 0);
	assert_int_equal(shmx_chan_send(c, "", 0, WAIT_MS), 0);
	out = tu_slurp(rout[0], WAIT_MS);
	assert_int_equal(tu_child_verdict(r[0], WAIT_MS, NULL), 0);
	assert_string_equal(out, "bye\n");
	free(out);
	shmx_chan_close(c);
}

/* ---- what is refused ---- */

static void check_usage(const char *msg, ...)
{
	char *argv[16] = { tool(), "send" };
	const char *name = tu_name();
	va_list ap;
	int n = 2;

	argv[n++] = (char *)name;
	va_start(ap, msg);
	while ((argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	tu_result_free(&R);
	assert_int_equal(tu_run(argv, "x\n", 2, WAIT_MS, &R), 0);
	if (R.exit_code != 2 || !strstr(R.err, msg) || !strstr(R.err, "Usage: shmx send"))
		dump_result();
	assert_int_equal(R.exit_code, 2);
	assert_err_has(msg);
	assert_err_has("Usage: shmx send");
	assert_string_equal(R.out, "");
	tu_assert_nothing_left(name);
}

static void test_bad_shapes_are_usage_errors(void **state)
{
	(void)state;
	check_usage("invalid number of consumers '0' (1 to 64)", "--consumers", "0", NULL);
	check_usage("invalid number of consumers '65' (1 to 64)", "--consumers", "65", NULL);
	check_usage("invalid number of consumers 'two'", "--consumers", "two", NULL);
	check_usage("invalid number of consumers '-3'", "--consumers=-3", NULL);
	check_usage("invalid number of producers '0'", "--producers", "0", NULL);
	check_usage("invalid number of producers '3x'", "-P", "3x", NULL);
	check_usage("invalid policy 'sideways' (block or overwrite)", "--policy", "sideways",
		    NULL);
	check_usage("--policy overwrite takes one producer", "--policy", "overwrite",
		    "--producers", "2", NULL);
	check_usage("not --pair", "--pair", "--consumers", "2", NULL);
	check_usage("not --pair", "--pair", "--no-wait", NULL);
	check_usage("not one it opens", "--producer", "--consumers", "2", NULL);
	check_usage("not one it opens", "--open", "--policy", "block", NULL);
	check_usage("option '--consumers' needs a value", "--consumers", NULL);
}

/* A channel of one producer slot, taken: one more sender is refused. */
static void test_producer_without_a_free_slot_exits_1(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, SHMX_CHAN_PRODUCER, 0600, &c), 0);
	assert_int_equal(shmx_stdin("x\n", 2, "send", name, "--producer", "--timeout", "500"),
			 1);
	assert_err_has("no room for another sender");
	shmx_chan_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_three_receivers_each_get_the_whole_input),
		T(test_no_wait_sends_without_the_receivers),
		T(test_no_wait_late_receiver_gets_the_rest),
		T(test_three_senders_feed_one_receiver),
		T(test_sender_that_never_joins_is_reported_by_both),
		T(test_killed_sender_leaves_the_stream_incomplete),
		T(test_overwrite_slow_receiver_reports_what_it_lost),
		T(test_stat_shows_the_slots_and_a_dead_receiver),
		T(test_bad_shapes_are_usage_errors),
		T(test_producer_without_a_free_slot_exits_1),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
