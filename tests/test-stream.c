/* SPDX-License-Identifier: MIT */
/* shmx send and shmx recv (shmx(1), STREAMS), exec'd as the two processes
 * a user runs. Every test runs twice: through a channel (the default) and
 * through a region and its semaphore pair (--pair). */
#define _GNU_SOURCE
#include <dirent.h>
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

#define TIMEOUT_S  "3000"       /* --timeout of both sides in these tests */
#define TIMEOUT_MS 3000
#define WAIT_MS    10000        /* deadline for a process to end */
#define FNV_INIT   0xcbf29ce484222325ULL
#define BIG        (64u << 20)
#define FLOWING    (256u << 10) /* bytes out of the receiver: both attached */

struct mode {
	const char *opt;        /* NULL (channel) or "--pair" */
};

static struct mode chan_mode = { NULL };
static struct mode pair_mode = { "--pair" };

/* The pair mode's frame, as shmx(1) documents it. */
struct frame {
	uint32_t len;
	uint32_t flags;
	unsigned char data[];
};
#define FRAME_END 1u

static bool is_pair(void **state)
{
	return ((const struct mode *)*state)->opt != NULL;
}

/* ---- running the tool ---- */

struct args {
	char *v[16];
};

/* shmx SUB NAME [--pair] [extra...] */
static char **args(struct args *a, void **state, const char *sub, const char *name,
		   char *const extra[])
{
	const struct mode *m = *state;
	int i = 0;

	a->v[i++] = (char *)tu_build_path("tools/shmx");
	a->v[i++] = (char *)sub;
	a->v[i++] = (char *)name;
	if (m->opt)
		a->v[i++] = (char *)m->opt;
	while (extra && *extra && i < 15)
		a->v[i++] = *extra++;
	a->v[i] = NULL;
	return a->v;
}

static pid_t spawn_recv(void **state, const char *name, int *out, int *err)
{
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	struct args a;
	pid_t pid = tu_spawn(args(&a, state, "recv", name, extra), NULL, out, err);

	assert_true(pid > 0);
	return pid;
}

/* argv with stdin from a file, stdout to /dev/null, stderr to a pipe. */
static pid_t spawn_from_file(char *const argv[], const char *path, int *err)
{
	int pe[2];
	pid_t pid;

	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	fflush(NULL);
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

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- reading what comes out ---- */

static uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Everything from fd until EOF or the deadline: digest and count. */
static int drain(int fd, int timeout_ms, uint64_t *h, size_t *total)
{
	static char buf[1 << 16];
	int64_t end = tu_now_ms() + timeout_ms;
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

/* Everything from fd until EOF, as a string; closes fd. */
static char *slurp(int fd)
{
	int64_t end = tu_now_ms() + WAIT_MS;
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
	close(fd);
	return s;
}

/* Read from fd until at least want bytes came: the stream is flowing. */
static void read_some(int fd, size_t want)
{
	int64_t end = tu_now_ms() + WAIT_MS;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	while (got < want && tu_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_true(got >= want);
}

/* ---- what is left ---- */

/* No entry of /dev/shm is name or name + ".suffix": not the region or
 * channel, not "sem.NAME.shmx-w/-r", not a pair's control object. */
static void assert_nothing_left(const char *name)
{
	size_t len = strlen(name + 1);
	struct dirent *d;
	const char *p;
	DIR *dir = opendir("/dev/shm");

	assert_non_null(dir);
	while ((d = readdir(dir))) {
		p = strstr(d->d_name, name + 1);
		if (p && (p[len] == 0 || p[len] == '.')) {
			closedir(dir);
			fail_msg("left in /dev/shm: %s", d->d_name);
		}
	}
	closedir(dir);
}

/* The signal handler of pid is installed (it has started waiting). */
static void wait_handler(pid_t pid, int sig)
{
	int64_t end = tu_now_ms() + WAIT_MS;
	unsigned long long caught = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	while (!(caught & (1ULL << (sig - 1))) && tu_now_ms() < end) {
		f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			sscanf(line, "SigCgt: %llx", &caught);
		fclose(f);
		if (!(caught & (1ULL << (sig - 1))))
			usleep(1000);
	}
	assert_true(caught & (1ULL << (sig - 1)));
}

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
	int rout, rerr, st, i = 2;
	pid_t r;

	while (extra && *extra)
		sextra[i++] = *extra++;
	sextra[i] = NULL;
	r = spawn_recv(state, name, &rout, &rerr);
	assert_int_equal(tu_run(args(&a, state, "send", name, sextra), in, len, 30000,
				&res->s), 0);
	res->rout = slurp(rout);
	res->rerr = slurp(rerr);
	assert_int_equal(tu_waitpid(r, WAIT_MS, &st), 0);
	res->rcode = exit_code(st);
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
	assert_nothing_left(name);
}

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

static void test_64mib_of_random_bytes_arrive_identical(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	uint64_t want, got = FNV_INIT;
	char path[128], *rmsg, *smsg;
	int rout, rerr, serr, sr, ss;
	size_t total = 0;
	struct args a;
	pid_t r, s;

	snprintf(path, sizeof(path), "/tmp%s-random.bin", name);
	want = make_random_file(path);
	r = spawn_recv(state, name, &rout, &rerr);
	s = spawn_from_file(args(&a, state, "send", name, extra), path, &serr);
	assert_int_equal(drain(rout, 120000, &got, &total), 0);
	rmsg = slurp(rerr);
	smsg = slurp(serr);
	unlink(path);
	close(rout);
	assert_int_equal(tu_waitpid(s, WAIT_MS, &ss), 0);
	assert_int_equal(tu_waitpid(r, WAIT_MS, &sr), 0);
	if (exit_code(ss) || exit_code(sr))
		print_message("# send: %s# recv: %s", smsg, rmsg);
	free(rmsg);
	free(smsg);
	assert_int_equal(exit_code(ss), 0);
	assert_int_equal(exit_code(sr), 0);
	assert_int_equal(total, BIG);
	assert_true(got == want);
	assert_nothing_left(name);
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
	assert_nothing_left(name);
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
	assert_nothing_left(name);
}

/* Waiting for a sender forever still ends on SIGTERM. */
static void test_receiver_waiting_forever_stops_on_sigterm(void **state)
{
	const char *name = tu_name();
	char *extra[] = { "--timeout", "-1", NULL };
	struct args a;
	int err, st;
	pid_t r = tu_spawn(args(&a, state, "recv", name, extra), NULL, NULL, &err);

	assert_true(r > 0);
	wait_handler(r, SIGTERM);
	kill(r, SIGTERM);
	assert_int_equal(tu_waitpid(r, 2000, &st), 0);
	assert_int_equal(exit_code(st), 128 + SIGTERM);
	free(slurp(err));
	assert_nothing_left(name);
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
	read_some(l->rout, sizeof(chunk));
}

/* Sender reading /dev/zero as fast as it can, receiver attached. */
static void start_flood(void **state, const char *name, struct live *l)
{
	char *extra[] = { "--timeout", TIMEOUT_S, NULL };
	struct args a;

	l->sin = -1;
	l->s = spawn_from_file(args(&a, state, "send", name, extra), "/dev/zero", &l->serr);
	l->r = spawn_recv(state, name, &l->rout, &l->rerr);
	read_some(l->rout, FLOWING);
}

/* Wait for pid while reading out (a pipe it may be blocked on). */
static int wait_draining(pid_t pid, int out)
{
	uint64_t h = FNV_INIT;
	size_t total = 0;
	int st;

	drain(out, WAIT_MS, &h, &total);
	assert_int_equal(tu_waitpid(pid, WAIT_MS, &st), 0);
	return exit_code(st);
}

static void test_kill9_sender_reported_by_receiver(void **state)
{
	const char *name = tu_name();
	struct live l;
	char *msg;
	int st;

	start_flood(state, name, &l);
	kill(l.s, SIGKILL);
	assert_int_equal(tu_waitpid(l.s, WAIT_MS, &st), 0);
	assert_int_equal(wait_draining(l.r, l.rout), 1);
	msg = slurp(l.rerr);
	assert_non_null(strstr(msg, "sender died (Peer process died)"));
	free(msg);
	free(slurp(l.serr));
	close(l.rout);
	/* The sender removed the names once the receiver was attached. */
	assert_nothing_left(name);
}

static void test_kill9_receiver_reported_by_sender(void **state)
{
	const char *name = tu_name();
	struct live l;
	char *msg;
	int st;

	start_flood(state, name, &l);
	kill(l.r, SIGKILL);
	assert_int_equal(tu_waitpid(l.r, WAIT_MS, &st), 0);
	assert_int_equal(tu_waitpid(l.s, TIMEOUT_MS + 1000, &st), 0);
	assert_int_equal(exit_code(st), 1);
	msg = slurp(l.serr);
	assert_non_null(strstr(msg, "receiver died (Peer process died)"));
	free(msg);
	free(slurp(l.rerr));
	close(l.rout);
	assert_nothing_left(name);
}

/* Ctrl-C and SIGTERM: the sender exits 128+sig; the receiver is told the
 * stream was cut short. */
static void stop_sender(void **state, int sig)
{
	const char *name = tu_name();
	char *smsg, *rmsg;
	struct live l;
	int ss;

	start_live(state, name, &l);
	kill(l.s, sig);
	assert_int_equal(tu_waitpid(l.s, WAIT_MS, &ss), 0);
	assert_int_equal(wait_draining(l.r, l.rout), 1);
	smsg = slurp(l.serr);
	rmsg = slurp(l.rerr);
	assert_int_equal(exit_code(ss), 128 + sig);
	assert_non_null(strstr(smsg, "interrupted"));
	assert_non_null(strstr(rmsg, "sender was interrupted before the end"));
	free(smsg);
	free(rmsg);
	close(l.sin);
	close(l.rout);
	assert_nothing_left(name);
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
	int st;

	start_flood(state, name, &l);
	kill(l.r, SIGTERM);
	assert_int_equal(wait_draining(l.r, l.rout), 128 + SIGTERM);
	assert_int_equal(tu_waitpid(l.s, TIMEOUT_MS + 1000, &st), 0);
	assert_int_equal(exit_code(st), 1);
	msg = slurp(l.serr);
	assert_non_null(strstr(msg, "receiver"));
	free(msg);
	free(slurp(l.rerr));
	close(l.rout);
	assert_nothing_left(name);
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
	int rout, rerr, st;
	pid_t r;

	fake_sender(state, name, &f);
	r = spawn_recv(state, name, &rout, &rerr);
	fake_send(state, &f, "hello\n");
	assert_int_equal(read(rout, buf, 6), 6);
	assert_string_equal(buf, "hello\n");
	wait_handler(r, SIGTERM);
	kill(r, SIGTERM);
	assert_int_equal(tu_waitpid(r, WAIT_MS, &st), 0);
	assert_int_equal(exit_code(st), 128 + SIGTERM);
	assert_true(tu_exists(name));
	if (is_pair(state)) {
		assert_true(tu_sem_exists(name, ".shmx-w"));
		assert_true(tu_sem_exists(name, ".shmx-r"));
	}
	shmx_chan_close(f.c);
	shmx_pair_close(f.p);
	shmx_close(f.r);
	close(rout);
	free(slurp(rerr));
}

/* A receiver that creates the object itself, as another program would;
 * writes what it received to fd; 0 on a complete stream. */
static int chan_creator(const char *name, int ready, int fd)
{
	struct shmx_chan *c;
	char buf[65536];
	ssize_t n;

	if (shmx_chan_create(name, 65536, SHMX_CHAN_CONSUMER, 0600, &c))
		return 3;
	if (write(ready, "r", 1) != 1)
		return 4;
	while ((n = shmx_chan_recv(c, buf, sizeof(buf), WAIT_MS)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return 5;
	shmx_chan_close(c);
	shmx_chan_unlink(name);
	return n == 0 ? 0 : 6;
}

static int pair_creator(const char *name, int ready, int fd)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	const struct frame *f;
	int err = 0, end = 0;

	if (shmx_create(name, 4096, SHMX_MAP, 0600, &r))
		return 3;
	if (shmx_pair_create(r, SHMX_PAIR_READER, 0600, &p))
		return 3;
	if (write(ready, "r", 1) != 1)
		return 4;
	f = shmx_addr(r);
	while (!end && !(err = shmx_pair_wait(p, WAIT_MS))) {
		if (f->len > 4096 - sizeof(*f) ||
		    write(fd, f->data, f->len) != (ssize_t)f->len)
			return 5;
		end = f->flags & FRAME_END;
		err = shmx_pair_post(p);
	}
	shmx_pair_close(p);
	shmx_pair_unlink(name);
	shmx_close(r);
	shmx_unlink(name);
	return err ? 6 : 0;
}

/* --open: the object was made by another process, which removes it. */
static void test_send_open_uses_an_object_made_elsewhere(void **state)
{
	const char *name = tu_name();
	const char *in = "made\nby\nsomeone else\n";
	char *extra[] = { "--open", "--timeout", TIMEOUT_S, NULL };
	struct tu_result res;
	struct args a;
	int ready[2], data[2], st;
	char c, *got;
	pid_t child;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(data, O_CLOEXEC), 0);
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(ready[0]);
		close(data[0]);
		_exit(is_pair(state) ? pair_creator(name, ready[1], data[1]) :
				       chan_creator(name, ready[1], data[1]));
	}
	close(ready[1]);
	close(data[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(tu_run(args(&a, state, "send", name, extra), in, strlen(in), 30000,
				&res), 0);
	got = slurp(data[0]);
	assert_int_equal(tu_waitpid(child, WAIT_MS, &st), 0);
	if (res.exit_code)
		print_message("# send: %s", res.err);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(exit_code(st), 0);
	assert_string_equal(got, in);
	free(got);
	tu_result_free(&res);
	assert_nothing_left(name);
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
		assert_nothing_left(name);
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

/* Each test twice, named after its mode. */
#define T(f) \
	{ #f " (channel)", f, NULL, tu_teardown, &chan_mode }, \
	{ #f " (--pair)", f, NULL, tu_teardown, &pair_mode }

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_and_bad_options),
		T(test_lines_arrive_in_order),
		T(test_line_longer_than_the_ring_arrives_whole),
		T(test_quit_line_ends_both),
		T(test_quit_inside_a_long_line_is_data),
		T(test_empty_input_ends_both),
		T(test_no_receiver_sender_exits_1),
		T(test_no_sender_receiver_exits_1),
		T(test_receiver_waiting_forever_stops_on_sigterm),
		T(test_kill9_sender_reported_by_receiver),
		T(test_kill9_receiver_reported_by_sender),
		T(test_sigint_sender_exits_130_receiver_told),
		T(test_sigterm_sender_exits_143_receiver_told),
		T(test_sigterm_receiver_mid_stream_exits_143),
		T(test_sigterm_receiver_removes_nothing),
		T(test_send_open_uses_an_object_made_elsewhere),
		T(test_64mib_of_random_bytes_arrive_identical),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
