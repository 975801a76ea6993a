/* SPDX-License-Identifier: MIT */
/* shmx gc never removes what is in use: a channel whose creator left while
 * a producer in another process still holds its slot, a pair whose owner
 * died while another process maps its region, and anything younger than
 * --min-age. Holders are tu_fork children; each run execs the tool. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS 30000

/* A child that runs fn(name), posts ready, and holds on until the parent
 * closes its end of ctl (or kills it). */
struct holder {
	pid_t pid;
	int ctl;
};

static struct holder hold(const char *name, void (*fn)(const char *name))
{
	int ready[2], ctl[2];
	struct holder h;

	tu_ev_init(ready);
	tu_ev_init(ctl);
	h.pid = tu_fork();
	if (h.pid == 0) {
		close(ready[0]);
		close(ctl[1]);
		fn(name);
		tu_ev_post(ready[1]);
		tu_ev_wait(ctl[0], RUN_MS);
		_exit(0);
	}
	close(ready[1]);
	close(ctl[0]);
	if (!tu_ev_wait(ready[0], RUN_MS)) {
		tu_child_verdict(h.pid, RUN_MS, NULL);
		fail_msg("the holder of %s did not start", name);
	}
	close(ready[0]);
	h.ctl = ctl[1];
	return h;
}

/* A byte, not the end of the pipe: a later child holds a copy of it. */
static void release(struct holder *h)
{
	tu_ev_post(h->ctl);
	close(h->ctl);
	assert_int_equal(tu_child_verdict(h->pid, 10000, NULL), 0);
}

/* The creator, a consumer, leaves as a restarting service does. */
static void create_and_leave(const char *name)
{
	struct shmx_chan *c;

	TU_CKEQ(shmx_chan_create(name, 4096, SHMX_CHAN_CONSUMER, 0600, &c), 0);
	shmx_chan_close(c);
}

static void produce(const char *name)
{
	struct shmx_chan *c;

	TU_CKEQ(shmx_chan_open(name, SHMX_CHAN_PRODUCER, 1000, &c), 0);
	TU_CKEQ(shmx_chan_send(c, "x", 1, 0), 0);
	/* held open until the parent lets us go */
}

static void create_pair(const char *name)
{
	struct shmx_region *r;
	struct shmx_pair *p;

	TU_CKEQ(shmx_create(name, 4096, 0, 0600, &r), 0);
	TU_CKEQ(shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p), 0);
}

static void map_region(const char *name)
{
	struct shmx_region *r;

	TU_CKEQ(shmx_open(name, SHMX_RDONLY | SHMX_MAP, &r), 0);
	TU_CK(shmx_addr(r) != NULL);
	/* the descriptor goes, the mapping stays */
	TU_CKEQ(close(shmx_fd(r)), 0);
}

static const char *pattern_of(char buf[64])
{
	snprintf(buf, 64, "/" TU_PREFIX "%d-*", (int)getpid());
	return buf;
}

static void test_gc_keeps_a_channel_a_producer_holds(void **state)
{
	const char *name = tu_name();
	struct holder creator, producer;
	struct shmx_chan *c;
	char pat[64], want[300];

	(void)state;
	creator = hold(name, create_and_leave);
	producer = hold(name, produce);
	release(&creator);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_lacks("stale");
	assert_out_has("State:      in use (");
	assert_int_equal(shmx("ls"), 0);
	assert_ls(name, "channel", "in-use", NULL, "0600");
	assert_int_equal(shmx("gc", pattern_of(pat)), 0);
	assert_out_lacks("removed stale");
	assert_out_has("gc: removed 0 stale objects, kept 1 live");
	assert_true(tu_exists(name));
	/* the restarted consumer finds it, with what the producer sent */
	assert_int_equal(shmx_chan_open(name, SHMX_CHAN_CONSUMER, 1000, &c), 0);
	assert_int_equal(shmx_chan_recv(c, want, sizeof(want), 1000), 1);
	shmx_chan_close(c);
	/* once the producer is gone too, it is stale */
	release(&producer);
	assert_int_equal(shmx("gc", pat), 0);
	snprintf(want, sizeof(want), "removed stale channel %s\n", name);
	assert_out_has(want);
	assert_false(tu_exists(name));
}

static void test_gc_keeps_a_pair_someone_maps(void **state)
{
	const char *name = tu_name();
	struct holder owner, mapper;
	char pat[64], want[300];

	(void)state;
	owner = hold(name, create_pair);
	mapper = hold(name, map_region);
	tu_kill9(owner.pid, 10000);
	close(owner.ctl);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("State:      in use (");
	snprintf(want, sizeof(want), "Mapped by:  %d (", (int)mapper.pid);
	assert_out_has(want);
	assert_int_equal(shmx("gc", pattern_of(pat)), 0);
	assert_out_has("gc: removed 0 stale objects, kept 1 live");
	assert_true(tu_exists(name));
	release(&mapper);
	assert_int_equal(shmx("gc", pat), 0);
	snprintf(want, sizeof(want), "removed stale pair %s\n", name);
	assert_out_has(want);
	assert_false(tu_exists(name));
	tu_assert_nothing_left(name);
}

static void test_gc_min_age(void **state)
{
	const char *name = tu_name();
	struct holder owner;
	char pat[64], want[300];

	(void)state;
	owner = hold(name, create_pair);
	tu_kill9(owner.pid, 10000);
	close(owner.ctl);
	assert_int_equal(shmx("gc", "--min-age", "3600", pattern_of(pat)), 0);
	assert_out_has("gc: removed 0 stale objects, kept 1 live");
	assert_true(tu_exists(name));
	assert_int_equal(shmx("gc", "--json", "--min-age=1h", pat), 0);
	assert_out_has("\"action\":\"kept\",\"reason\":\"younger than --min-age\"");
	assert_true(tu_exists(name));
	assert_int_equal(shmx("gc", "--min-age", "0", pat), 0);
	snprintf(want, sizeof(want), "removed stale pair %s\n", name);
	assert_out_has(want);
	assert_false(tu_exists(name));
}

static void test_gc_min_age_usage(void **state)
{
	(void)state;
	assert_int_equal(shmx("gc", "--min-age", "soon"), 2);
	assert_err_has("shmx: gc: invalid --min-age 'soon'");
	assert_int_equal(shmx("gc", "--min-age"), 2);
	assert_string_equal(R.out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_gc_keeps_a_channel_a_producer_holds),
		T(test_gc_keeps_a_pair_someone_maps),
		T(test_gc_min_age),
		T(test_gc_min_age_usage),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
