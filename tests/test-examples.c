/* SPDX-License-Identifier: MIT */
/* The writer/reader examples, exec'd as the two processes a user runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define TIMEOUT_S "3000"        /* the examples' --timeout in these tests */
#define TIMEOUT_MS 3000

static const char *writer_path(void)
{
	return tu_build_path("examples/writer");
}

static const char *reader_path(void)
{
	return tu_build_path("examples/reader");
}

static void need_examples(void)
{
	if (access(writer_path(), X_OK) || access(reader_path(), X_OK))
		fail_msg("examples not built: %s", writer_path());
}

/* Nothing of name is left: region and both semaphores. */
static void assert_gone(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_not_equal(lstat(path, &st), 0);
	snprintf(path, sizeof(path), "/dev/shm/sem.%s.shmx-w", name + 1);
	assert_int_not_equal(lstat(path, &st), 0);
	snprintf(path, sizeof(path), "/dev/shm/sem.%s.shmx-r", name + 1);
	assert_int_not_equal(lstat(path, &st), 0);
}

static uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* Read everything from fd until EOF or the deadline; digest and count. */
static int drain(int fd, int64_t end, uint64_t *h, size_t *total)
{
	static char buf[1 << 16];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (tu_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			*h = fnv1a(*h, buf, (size_t)n);
			*total += (size_t)n;
		}
	}
	return -ETIMEDOUT;
}

/* Everything from fd until EOF, as a string. */
static char *slurp(int fd, int timeout_ms)
{
	int64_t end = tu_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);
	ssize_t n;

	assert_non_null(s);
	while (tu_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (len + 1024 > cap) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		n = read(fd, s + len, cap - len - 1);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n > 0)
			len += (size_t)n;
	}
	s[len] = 0;
	return s;
}

/* Read from fd until at least want bytes came (the stream is flowing). */
static void read_some(int fd, size_t want)
{
	int64_t end = tu_now_ms() + 10000;
	uint64_t h = FNV_INIT;
	size_t got = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	while (got < want && tu_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		assert_true(n > 0);
		h = fnv1a(h, buf, (size_t)n);
		got += (size_t)n;
	}
	assert_true(got >= want);
}

static pid_t spawn_reader(const char *name, int *out, int *err)
{
	char *argv[] = { (char *)reader_path(), "--name", (char *)name, "--timeout",
			 TIMEOUT_S, NULL };
	pid_t pid = tu_spawn(argv, NULL, out, err);

	assert_true(pid > 0);
	return pid;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* ---- the 64 MiB stream ---- */

#define BIG (64u << 20)

/* A file of random bytes; its digest. */
static uint64_t make_random_file(const char *path)
{
	static char buf[1 << 20];
	uint64_t h = FNV_INIT;
	size_t done;
	int fd;

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	for (done = 0; done < BIG; done += sizeof(buf)) {
		assert_int_equal(getrandom(buf, sizeof(buf), 0), sizeof(buf));
		h = fnv1a(h, buf, sizeof(buf));
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	}
	close(fd);
	return h;
}

/* argv with stdin from a file, stderr to a pipe. */
static pid_t spawn_from_file(char *const argv[], const char *path, int *err)
{
	int pe[2];
	pid_t pid;

	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDONLY);
		int null = open("/dev/null", O_WRONLY);

		if (fd < 0 || null < 0 || dup2(fd, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(pe[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pe[1]);
	*err = pe[0];
	return pid;
}

static void test_stream_64mib(void **state)
{
	const char *name = tu_name();
	char *wargv[] = { (char *)writer_path(), "--name", (char *)name, "--size", "64K",
			  "--timeout", TIMEOUT_S, NULL };
	char path[128];
	uint64_t want, got = FNV_INIT;
	size_t total = 0;
	int rout, rerr, werr, sr, sw;
	char *rmsg, *wmsg;
	pid_t r, w;

	(void)state;
	need_examples();
	snprintf(path, sizeof(path), "/tmp%s-random.bin", name);
	want = make_random_file(path);
	r = spawn_reader(name, &rout, &rerr);
	w = spawn_from_file(wargv, path, &werr);
	assert_int_equal(drain(rout, tu_now_ms() + 120000, &got, &total), 0);
	rmsg = slurp(rerr, 10000);
	wmsg = slurp(werr, 10000);
	assert_int_equal(tu_waitpid(w, 10000, &sw), 0);
	assert_int_equal(tu_waitpid(r, 10000, &sr), 0);
	unlink(path);
	close(rout);
	close(rerr);
	close(werr);
	if (exit_code(sw) || exit_code(sr))
		print_message("# writer: %s# reader: %s", wmsg, rmsg);
	free(rmsg);
	free(wmsg);
	assert_int_equal(exit_code(sw), 0);
	assert_int_equal(exit_code(sr), 0);
	assert_int_equal(total, BIG);
	assert_true(got == want);
	assert_gone(name);
}

/* ---- --lines ---- */

struct run2 {
	struct tu_result w;
	char *rout, *rerr;
	int rstatus;
};

/* Reader in the background, writer fed with input, both to the end. */
static void run_pair(const char *name, const char *in, char **wextra, struct run2 *res)
{
	char *wargv[16] = { (char *)writer_path(), "--name", (char *)name, "--timeout",
			    TIMEOUT_S };
	int rout, rerr, i = 5;
	pid_t r;

	while (*wextra)
		wargv[i++] = *wextra++;
	wargv[i] = NULL;
	r = spawn_reader(name, &rout, &rerr);
	assert_int_equal(tu_run(wargv, in, strlen(in), 30000, &res->w), 0);
	res->rout = slurp(rout, 10000);
	res->rerr = slurp(rerr, 10000);
	assert_int_equal(tu_waitpid(r, 10000, &res->rstatus), 0);
	close(rout);
	close(rerr);
}

static void run2_free(struct run2 *res)
{
	tu_result_free(&res->w);
	free(res->rout);
	free(res->rerr);
}

static void test_lines_in_order(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--lines", NULL };
	char *in = malloc(200 * 32);
	struct run2 res;
	size_t len = 0;
	int i;

	(void)state;
	need_examples();
	assert_non_null(in);
	for (i = 0; i < 200; i++)
		len += (size_t)sprintf(in + len, "line %d of 200\n", i);
	run_pair(name, in, extra, &res);
	assert_int_equal(res.w.exit_code, 0);
	assert_int_equal(exit_code(res.rstatus), 0);
	/* each line once, in order, nothing else */
	assert_string_equal(res.rout, in);
	run2_free(&res);
	free(in);
	assert_gone(name);
}

/* A line longer than the region goes through in pieces, still whole. */
static void test_lines_longer_than_region(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--lines", "--size", "64", NULL };
	char in[3000];
	struct run2 res;

	(void)state;
	need_examples();
	memset(in, 'x', sizeof(in) - 2);
	in[sizeof(in) - 2] = '\n';
	in[sizeof(in) - 1] = 0;
	run_pair(name, in, extra, &res);
	assert_int_equal(res.w.exit_code, 0);
	assert_int_equal(exit_code(res.rstatus), 0);
	assert_string_equal(res.rout, in);
	run2_free(&res);
	assert_gone(name);
}

static void test_quit_ends_both(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--lines", NULL };
	struct run2 res;

	(void)state;
	need_examples();
	run_pair(name, "one\ntwo\nquit\nthree\n", extra, &res);
	assert_int_equal(res.w.exit_code, 0);
	assert_int_equal(exit_code(res.rstatus), 0);
	assert_string_equal(res.rout, "one\ntwo\n");
	run2_free(&res);
	assert_gone(name);
}

/* Empty input: just the end marker. */
static void test_empty_input(void **state)
{
	const char *name = tu_name();
	char *extra[] = { NULL };
	struct run2 res;

	(void)state;
	need_examples();
	run_pair(name, "", extra, &res);
	assert_int_equal(res.w.exit_code, 0);
	assert_int_equal(exit_code(res.rstatus), 0);
	assert_string_equal(res.rout, "");
	run2_free(&res);
	assert_gone(name);
}

/* ---- peers that die or are stopped ---- */

struct live {
	pid_t w, r;
	int win, werr, rout, rerr;
};

/* Writer fed by a pipe we hold, reader attached, data flowing. */
static void start_live(const char *name, struct live *l)
{
	char *wargv[] = { (char *)writer_path(), "--name", (char *)name, "--timeout",
			  TIMEOUT_S, NULL };
	char chunk[8192];

	signal(SIGPIPE, SIG_IGN);
	l->w = tu_spawn(wargv, &l->win, NULL, &l->werr);
	assert_true(l->w > 0);
	l->r = spawn_reader(name, &l->rout, &l->rerr);
	memset(chunk, 'a', sizeof(chunk));
	assert_int_equal(write(l->win, chunk, sizeof(chunk)), sizeof(chunk));
	read_some(l->rout, sizeof(chunk));
}

static void close_live(struct live *l)
{
	close(l->win);
	close(l->werr);
	close(l->rout);
	close(l->rerr);
}

static void test_kill_writer(void **state)
{
	const char *name = tu_name();
	struct live l;
	int64_t t0;
	char *msg;
	int st;

	(void)state;
	need_examples();
	start_live(name, &l);
	kill(l.w, SIGKILL);
	t0 = tu_now_ms();
	assert_int_equal(tu_waitpid(l.r, TIMEOUT_MS + 1000, &st), 0);
	assert_true(tu_now_ms() - t0 < TIMEOUT_MS + 1000);
	msg = slurp(l.rerr, 5000);
	assert_int_not_equal(exit_code(st), 0);
	assert_non_null(strstr(msg, "reader: writer died (Peer process died)"));
	free(msg);
	assert_int_equal(tu_waitpid(l.w, 5000, &st), 0);
	close_live(&l);
}

static void test_kill_reader(void **state)
{
	const char *name = tu_name();
	char chunk[4096];
	struct live l;
	bool gone;
	int64_t end;
	char *msg;
	int st;

	(void)state;
	need_examples();
	start_live(name, &l);
	kill(l.r, SIGKILL);
	assert_int_equal(tu_waitpid(l.r, 5000, &st), 0);
	/* the writer notices when it next needs the reader: keep feeding */
	memset(chunk, 'b', sizeof(chunk));
	fcntl(l.win, F_SETFL, O_NONBLOCK);
	end = tu_now_ms() + TIMEOUT_MS + 1000;
	while (!(gone = waitpid(l.w, &st, WNOHANG) == l.w) && tu_now_ms() < end)
		if (write(l.win, chunk, sizeof(chunk)) < 0)
			usleep(1000);  /* pipe full: the writer is waiting */
	if (!gone)
		assert_int_equal(tu_waitpid(l.w, 1000, &st), 0);
	msg = slurp(l.werr, 5000);
	assert_int_equal(exit_code(st), 1);
	assert_non_null(strstr(msg, "writer: reader died (Peer process died)"));
	free(msg);
	close_live(&l);
	assert_gone(name);  /* the creator cleaned up */
}

/* Ctrl-C and SIGTERM: the writer unlinks and exits non-zero; the reader is
 * told the stream was cut short. */
static void stop_writer(int sig)
{
	const char *name = tu_name();
	struct live l;
	char *wmsg, *rmsg;
	int sw, sr;

	need_examples();
	start_live(name, &l);
	kill(l.w, sig);
	assert_int_equal(tu_waitpid(l.w, 5000, &sw), 0);
	assert_int_equal(tu_waitpid(l.r, 5000, &sr), 0);
	wmsg = slurp(l.werr, 5000);
	rmsg = slurp(l.rerr, 5000);
	assert_int_equal(exit_code(sw), 128 + sig);
	assert_non_null(strstr(wmsg, "writer: interrupted"));
	assert_int_not_equal(exit_code(sr), 0);
	assert_non_null(strstr(rmsg, "reader: writer was interrupted"));
	free(wmsg);
	free(rmsg);
	close_live(&l);
	assert_gone(name);
}

static void test_sigint_writer(void **state)
{
	(void)state;
	stop_writer(SIGINT);
}

static void test_sigterm_writer(void **state)
{
	(void)state;
	stop_writer(SIGTERM);
}

/* The reader stopped by a signal exits non-zero and removes nothing. */
static void test_sigterm_reader(void **state)
{
	const char *name = tu_name();
	char path[512];
	struct live l;
	struct stat st;
	int sr, sw;

	(void)state;
	need_examples();
	start_live(name, &l);
	kill(l.r, SIGTERM);
	assert_int_equal(tu_waitpid(l.r, 5000, &sr), 0);
	assert_int_equal(exit_code(sr), 128 + SIGTERM);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_equal(lstat(path, &st), 0);
	snprintf(path, sizeof(path), "/dev/shm/sem.%s.shmx-w", name + 1);
	assert_int_equal(lstat(path, &st), 0);
	kill(l.w, SIGTERM);
	assert_int_equal(tu_waitpid(l.w, 5000, &sw), 0);
	assert_int_equal(exit_code(sw), 128 + SIGTERM);
	close_live(&l);
	assert_gone(name);
}

static void test_no_reader(void **state)
{
	const char *name = tu_name();
	char *argv[] = { (char *)writer_path(), "--name", (char *)name, "--timeout", "200",
			 NULL };
	struct tu_result res;

	(void)state;
	need_examples();
	assert_int_equal(tu_run(argv, "data\n", 5, 10000, &res), 0);
	assert_int_equal(res.exit_code, 1);
	assert_non_null(strstr(res.err, "writer: no reader showed up within 200 ms"));
	tu_result_free(&res);
	assert_gone(name);
}

static void test_no_writer(void **state)
{
	const char *name = tu_name();
	char *argv[] = { (char *)reader_path(), "--name", (char *)name, "--timeout", "200",
			 NULL };
	struct tu_result res;

	(void)state;
	need_examples();
	assert_int_equal(tu_run(argv, NULL, 0, 10000, &res), 0);
	assert_int_equal(res.exit_code, 1);
	assert_non_null(strstr(res.err, "reader: no writer at"));
	tu_result_free(&res);
	assert_gone(name);
}

/* ---- options ---- */

static void check_help(const char *path)
{
	char *argv[] = { (char *)path, "--help", NULL };
	struct tu_result res;

	assert_int_equal(tu_run(argv, NULL, 0, 10000, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(res.out, "Usage:"));
	assert_non_null(strstr(res.out, "--name"));
	assert_non_null(strstr(res.out, "--timeout"));
	tu_result_free(&res);
}

static void check_bad(const char *path, const char *opt, const char *val)
{
	char *argv[] = { (char *)path, (char *)opt, (char *)val, NULL };
	struct tu_result res;

	assert_int_equal(tu_run(argv, NULL, 0, 10000, &res), 0);
	assert_int_equal(res.exit_code, 2);
	assert_true(res.err_len > 0);
	tu_result_free(&res);
}

static void test_help_and_bad_options(void **state)
{
	(void)state;
	need_examples();
	check_help(writer_path());
	check_help(reader_path());
	check_bad(writer_path(), "--bogus", NULL);
	check_bad(reader_path(), "--bogus", NULL);
	check_bad(writer_path(), "--size", "12Q");
	check_bad(writer_path(), "--size", "4");
	check_bad(writer_path(), "--timeout", "-5");
	check_bad(reader_path(), "--timeout", "soon");
	check_bad(writer_path(), "extra", NULL);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_and_bad_options),
		T(test_lines_in_order),
		T(test_lines_longer_than_region),
		T(test_quit_ends_both),
		T(test_empty_input),
		T(test_no_reader),
		T(test_no_writer),
		T(test_kill_writer),
		T(test_kill_reader),
		T(test_sigint_writer),
		T(test_sigterm_writer),
		T(test_sigterm_reader),
		T(test_stream_64mib),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
