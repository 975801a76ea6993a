/* SPDX-License-Identifier: MIT */
/* Crash at every stage: a child is kill -9'ed while it creates a region, a
 * pair or a channel (stopped precisely at a stage by wrapped calls), or in
 * steady state. Afterwards create and open give a clear error within their
 * deadline (never hang, never SIGBUS), `shmx gc` removes what is left, and
 * a fresh create succeeds. An attacher that closes, exits without closing
 * or is killed removes nothing (shmx(7), Nothing unlinks implicitly). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

/* ---- stopping a child at a stage ---- */

enum stage {
	NONE,           /* 0: no stop; the child posts ready itself */
	AT_RESERVE,     /* object built and sized, pages not yet reserved */
	AT_MAP,         /* reserved, being mapped, not yet published */
	AT_PUBLISH,     /* formatted object complete, not yet linked in */
	AT_SECOND_SEM,  /* pair: control object (building) and "may write" linked in */
	AT_FIRST_SEM,   /* pair: control object (building) linked in, no semaphore */
};

int __real_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len)
{
	tu_stall(AT_RESERVE);
	return __real_posix_fallocate64(fd, off, len);
}

void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	tu_stall(AT_MAP);
	return __real_mmap64(addr, len, prot, flags, fd, off);
}

int __real_shmx__publish(struct shmx_region *r, const char *canon);
int __wrap_shmx__publish(struct shmx_region *r, const char *canon);
int __wrap_shmx__publish(struct shmx_region *r, const char *canon)
{
	size_t n = strlen(canon);

	/* a pair publishes its control object (building), "may write", "may
	 * read": told apart by name, not by count (the region's own publish
	 * goes through here too) */
	if (n > 7 && !strcmp(canon + n - 7, ".shmx-r"))
		tu_stall(AT_SECOND_SEM);
	if (n > 7 && !strcmp(canon + n - 7, ".shmx-w"))
		tu_stall(AT_FIRST_SEM);
	tu_stall(AT_PUBLISH);
	return __real_shmx__publish(r, canon);
}

/* A child that runs fn(name) and stops at s (or, for NONE, once fn is
 * steady), killed there with SIGKILL and reaped. */
static void crash_child(enum stage s, void (*fn)(void *name, int ready_fd),
			const char *name)
{
	tu_kill9(tu_fork_stalled(s, fn, (void *)name, 20000), 10000);
}

/* `shmx gc` restricted to this name (other tests may have stale objects of
 * their own on purpose); returns its exit code, output in *out. */
static int run_gc(const char *name, char **out)
{
	char *argv[] = { (char *)tu_build_path("tools/shmx"), "gc", (char *)name, NULL };
	struct tu_result res;

	assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	*out = strdup(res.out);
	tu_result_free(&res);
	return res.exit_code;
}

/* ---- regions ---- */

static void make_region(void *arg, int ready_fd)
{
	const char *name = arg;
	struct shmx_region *r = NULL;

	TU_CKEQ(shmx_create(name, 1 << 20, SHMX_MAP, 0, &r), 0);
	memset(shmx_addr(r), 0x11, 1 << 20);
	tu_ready_forever(ready_fd);
}

static void check_region_gone_and_fresh(const char *name)
{
	struct shmx_region *r = NULL;

	assert_false(tu_exists(name));
	assert_int_equal(shmx_open(name, 0, &r), -ENOENT);
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
}

static void test_region_crash_before_reserve(void **state)
{
	const char *name = tu_name();

	(void)state;
	crash_child(AT_RESERVE, make_region, name);
	check_region_gone_and_fresh(name);
}

static void test_region_crash_after_reserve(void **state)
{
	const char *name = tu_name();

	(void)state;
	crash_child(AT_MAP, make_region, name);
	check_region_gone_and_fresh(name);
}

/* After creation a raw region is complete: it survives its creator (that is
 * the point of shared memory), opens, maps, holds the bytes. It carries no
 * libshmx marker, so gc leaves it alone, like any other program's object. */
static void test_region_crash_steady(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	char *out = NULL;

	(void)state;
	crash_child(NONE, make_region, name);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), -EEXIST);
	assert_int_equal(shmx_open(name, SHMX_RDONLY | SHMX_MAP, &r), 0);
	assert_int_equal(shmx_size(r), 1 << 20);
	assert_int_equal(((unsigned char *)shmx_addr(r))[(1 << 20) - 1], 0x11);
	shmx_close(r);
	assert_int_equal(run_gc(name, &out), 0);
	free(out);
	assert_true(tu_exists(name));
	assert_int_equal(shmx_unlink(name), 0);
	check_region_gone_and_fresh(name);
}

/* ---- pairs ---- */

static void make_pair(void *arg, int ready_fd)
{
	const char *name = arg;
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;

	TU_CKEQ(shmx_create(name, 4096, 0, 0, &r), 0);
	TU_CKEQ(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	tu_ready_forever(ready_fd);
}

static const char *ctl_name(const char *name)
{
	static char buf[300];

	snprintf(buf, sizeof(buf), "%s.shmx-p", name);
	return buf;
}

static void check_pair_fresh(const char *name)
{
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;

	assert_false(tu_exists(name));
	assert_false(tu_sem_exists(name, ".shmx-w"));
	assert_false(tu_sem_exists(name, ".shmx-r"));
	assert_false(tu_exists(ctl_name(name)));
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	assert_int_equal(shmx_pair_wait(p, 0), 0);
	shmx_pair_close(p);
	assert_int_equal(shmx_pair_unlink(name), 0);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
}

static void gc_removes(const char *name)
{
	char *out = NULL;

	assert_int_equal(run_gc(name, &out), 0);
	if (!strstr(out, "removed"))
		fail_msg("gc removed nothing: %s", out);
	free(out);
}

/* Killed while building the pair: a region and some of its objects. */
static void pair_crash_case(enum stage s)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL, *r2 = NULL;
	struct shmx_pair *p = NULL;
	int64_t t0;

	crash_child(s, make_pair, name);
	assert_true(tu_exists(name));
	assert_true(tu_exists(ctl_name(name)));
	assert_true(tu_sem_exists(name, ".shmx-w") == (s == AT_SECOND_SEM));
	assert_false(tu_sem_exists(name, ".shmx-r"));
	assert_int_equal(shmx_open(name, 0, &r), 0);
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_open(r, SHMX_PAIR_READER, &p), -ENOENT);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), -EEXIST);
	assert_true(tu_now_ms() - t0 < 2000);
	assert_null(p);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r2), -EEXIST);
	shmx_close(r);
	gc_removes(name);
	check_pair_fresh(name);
}

static void test_pair_crash_between_semaphores(void **state)
{
	(void)state;
	pair_crash_case(AT_SECOND_SEM);
}

static void test_pair_crash_before_first_semaphore(void **state)
{
	(void)state;
	pair_crash_case(AT_FIRST_SEM);
}

static void test_pair_crash_steady(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;

	(void)state;
	crash_child(NONE, make_pair, name);
	assert_int_equal(shmx_open(name, 0, &r), 0);
	assert_int_equal(shmx_pair_open(r, SHMX_PAIR_READER, &p), -EOWNERDEAD);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), -EEXIST);
	shmx_close(r);
	gc_removes(name);
	check_pair_fresh(name);
}

/* Only the control object is left (the region and semaphores were removed
 * by hand): gc still finds it as a part of a missing pair. */
static void test_pair_orphaned_control_object_collected(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;
	char path[300];

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
	snprintf(path, sizeof(path), "%s.shmx-w", name);
	assert_int_equal(tu_sem_unlink(path), 0);
	snprintf(path, sizeof(path), "%s.shmx-r", name);
	assert_int_equal(tu_sem_unlink(path), 0);
	assert_true(tu_exists(ctl_name(name)));
	gc_removes(name);
	assert_false(tu_exists(ctl_name(name)));
}

/* ---- channels ---- */

static void make_chan(void *arg, int ready_fd)
{
	const char *name = arg;
	struct shmx_chan *c = NULL;
	char msg[100];

	TU_CKEQ(shmx_chan_create(name, 1 << 16, SHMX_CHAN_PRODUCER, 0, &c), 0);
	for (int i = 0; i < 10; i++) {
		memset(msg, i, sizeof(msg));
		TU_CKEQ(shmx_chan_send(c, msg, sizeof(msg), 1000), 0);
	}
	tu_ready_forever(ready_fd);
}

static void check_chan_fresh(const char *name)
{
	struct shmx_chan *c = NULL, *d = NULL;
	char buf[8];

	assert_false(tu_exists(name));
	assert_int_equal(shmx_chan_create(name, 1 << 16, SHMX_CHAN_PRODUCER, 0, &c), 0);
	assert_int_equal(shmx_chan_open(name, SHMX_CHAN_CONSUMER, 1000, &d), 0);
	assert_int_equal(shmx_chan_send(c, "fresh", 5, 1000), 0);
	assert_int_equal(shmx_chan_recv(d, buf, sizeof(buf), 1000), 5);
	assert_memory_equal(buf, "fresh", 5);
	shmx_chan_close(d);
	shmx_chan_close(c);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

static void test_chan_crash_before_reserve(void **state)
{
	const char *name = tu_name();

	(void)state;
	crash_child(AT_RESERVE, make_chan, name);
	assert_false(tu_exists(name));
	check_chan_fresh(name);
}

static void test_chan_crash_before_publish(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c = NULL;
	int64_t t0;

	(void)state;
	crash_child(AT_PUBLISH, make_chan, name);
	/* the header was complete but never linked in: nothing to see */
	assert_false(tu_exists(name));
	t0 = tu_now_ms();
	/* an opener waits for the name until its deadline, then says so */
	assert_int_equal(shmx_chan_open(name, SHMX_CHAN_CONSUMER, 300, &c), -ENOENT);
	assert_true(tu_now_ms() - t0 >= 300);
	assert_true(tu_now_ms() - t0 < 3000);
	check_chan_fresh(name);
}

/* The producer (and owner) died after sending 10 messages: a consumer
 * still gets every committed message, then -EOWNERDEAD. */
static void test_chan_crash_steady(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c = NULL;
	unsigned char buf[200];
	int err, got = 0;

	(void)state;
	crash_child(NONE, make_chan, name);
	err = shmx_chan_open(name, SHMX_CHAN_CONSUMER, 1000, &c);
	if (err == 0) {
		ssize_t n;

		while ((n = shmx_chan_recv(c, buf, sizeof(buf), 1000)) >= 0) {
			assert_int_equal(n, 100);
			assert_int_equal(buf[99], got);
			got++;
		}
		assert_int_equal(n, -EOWNERDEAD);
		assert_int_equal(got, 10);
		shmx_chan_close(c);
	} else {
		assert_int_equal(err, -EOWNERDEAD);
	}
	assert_int_equal(shmx_chan_create(name, 1 << 16, SHMX_CHAN_PRODUCER, 0, &c), -EEXIST);
	gc_removes(name);
	check_chan_fresh(name);
}

/* ---- attachers that exit or die never unlink ---- */

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000           /* "forever" in a test: failing beats hanging */

struct objs {
	const char *region, *chan;
	struct shmx_region *r;
	struct shmx_pair *w;
	struct shmx_chan *prod;
	bool holding;
	int round;
};

enum attacher { CLOSE_AND_EXIT, JUST_EXIT, KILLED, ROUND_TRIP };

static void attacher_child(struct objs *o, enum attacher how, int ready, int hold)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct shmx_chan *c;
	char buf[64], want[64];

	TU_CKEQ(shmx_open(o->region, SHMX_MAP, &r), 0);
	TU_CKEQ(shmx_pair_open(r, R, &p), 0);
	TU_CKEQ(shmx_chan_open(o->chan, C, LONG_MS, &c), 0);
	tu_ev_post(ready);
	if (how == KILLED) {
		tu_ev_wait(hold, LONG_MS);
		_exit(2);
	}
	if (how == ROUND_TRIP) {
		snprintf(want, sizeof(want), "ping %d", o->round);
		TU_CKEQ(shmx_pair_wait(p, LONG_MS), 0);
		TU_CKEQ(shmx_read(r, 0, buf, sizeof(buf)), sizeof(buf));
		TU_CK(!strcmp(buf, want));
		snprintf(buf, sizeof(buf), "pong %d", o->round);
		TU_CKEQ(shmx_write(r, 0, buf, sizeof(buf)), sizeof(buf));
		TU_CKEQ(shmx_pair_post(p), 0);
		snprintf(want, sizeof(want), "message %d", o->round);
		TU_CKEQ(shmx_chan_recv(c, buf, sizeof(buf), LONG_MS), strlen(want) + 1);
		TU_CK(!strcmp(buf, want));
	}
	if (how != JUST_EXIT) {
		shmx_chan_close(c);
		shmx_pair_close(p);
		shmx_close(r);
	}
	_exit(0);
}

static void still_there(const struct objs *o)
{
	char buf[16];

	assert_true(tu_exists(o->region));
	assert_true(tu_sem_exists(o->region, ".shmx-w"));
	assert_true(tu_sem_exists(o->region, ".shmx-r"));
	assert_true(tu_exists(o->chan));
	assert_int_equal(shmx_read(o->r, 4000, buf, 6), 6);
	assert_memory_equal(buf, "intact", 6);
}

/* A new attacher in the same roles: a pair round trip and a message. */
static void round_trip(struct objs *o)
{
	char buf[64], want[64];
	int ev[2];
	pid_t pid;

	o->round++;
	tu_ev_init(ev);
	pid = tu_fork();
	if (pid == 0)
		attacher_child(o, ROUND_TRIP, ev[1], -1);
	assert_true(tu_ev_wait(ev[0], LONG_MS));
	if (!o->holding)
		assert_int_equal(shmx_pair_wait(o->w, LONG_MS), 0);
	snprintf(buf, sizeof(buf), "ping %d", o->round);
	assert_int_equal(shmx_write(o->r, 0, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(shmx_pair_post(o->w), 0);
	snprintf(buf, sizeof(buf), "message %d", o->round);
	assert_int_equal(shmx_chan_send(o->prod, buf, strlen(buf) + 1, LONG_MS), 0);
	assert_int_equal(shmx_pair_wait(o->w, LONG_MS), 0);
	o->holding = true;
	snprintf(want, sizeof(want), "pong %d", o->round);
	assert_int_equal(shmx_read(o->r, 0, buf, sizeof(buf)), sizeof(buf));
	assert_string_equal(buf, want);
	assert_int_equal(tu_child_verdict(pid, LONG_MS, NULL), 0);
	close(ev[0]);
	close(ev[1]);
}

static void test_attachers_never_unlink(void **state)
{
	static const enum attacher hows[] = { CLOSE_AND_EXIT, JUST_EXIT, KILLED };
	struct objs o = { .region = tu_name(), .chan = tu_name() };
	int ev[2], hold[2], code;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_create(o.region, 4096, SHMX_MAP, 0, &o.r), 0);
	assert_int_equal(shmx_write(o.r, 4000, "intact", 6), 6);
	assert_int_equal(shmx_pair_create(o.r, W, 0, &o.w), 0);
	assert_int_equal(shmx_chan_create(o.chan, 4096, P, 0, &o.prod), 0);
	round_trip(&o);
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		tu_ev_init(ev);
		tu_ev_init(hold);
		pid = tu_fork();
		if (pid == 0)
			attacher_child(&o, hows[i], ev[1], hold[0]);
		assert_true(tu_ev_wait(ev[0], LONG_MS));
		if (hows[i] == KILLED) {
			assert_int_equal(kill(pid, SIGKILL), 0);
			tu_child_verdict(pid, LONG_MS, &code);
			assert_int_equal(code, 128 + SIGKILL);
		} else {
			assert_int_equal(tu_child_verdict(pid, LONG_MS, NULL), 0);
		}
		still_there(&o);
		round_trip(&o);
		still_there(&o);
		close(ev[0]);
		close(ev[1]);
		close(hold[0]);
		close(hold[1]);
	}
	shmx_chan_close(o.prod);
	shmx_pair_close(o.w);
	shmx_close(o.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_region_crash_before_reserve, tu_teardown),
		cmocka_unit_test_teardown(test_region_crash_after_reserve, tu_teardown),
		cmocka_unit_test_teardown(test_region_crash_steady, tu_teardown),
		cmocka_unit_test_teardown(test_pair_crash_between_semaphores, tu_teardown),
		cmocka_unit_test_teardown(test_pair_crash_before_first_semaphore, tu_teardown),
		cmocka_unit_test_teardown(test_pair_crash_steady, tu_teardown),
		cmocka_unit_test_teardown(test_pair_orphaned_control_object_collected,
					  tu_teardown),
		cmocka_unit_test_teardown(test_chan_crash_before_reserve, tu_teardown),
		cmocka_unit_test_teardown(test_chan_crash_before_publish, tu_teardown),
		cmocka_unit_test_teardown(test_chan_crash_steady, tu_teardown),
		cmocka_unit_test_teardown(test_attachers_never_unlink, tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
