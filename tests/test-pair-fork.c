/* SPDX-License-Identifier: MIT */
/* A pair handle after fork(2) (shmx(7), KINDS): a child forked from a
 * participant holds none of its liveness slots, so a participant that dies
 * is seen dead (-EOWNERDEAD) by its peer although its child lives on; the
 * handle the child inherited is the parent's, answers -EBADFD there, and
 * its close in the child leaves the parent's role as it was; the child
 * takes a role of its own. Named and anonymous pairs alike. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fork.h"
#include "pair-util.h"

#define LONG_MS 10000
/* Long enough that a wait ending at its deadline is told apart from one
 * that saw the death (15 ms slices), short enough for a failing run. */
#define DEATH_WAIT_MS 5000

enum kind { NAMED, ANON };

/* The writer: a named pair on name's region, or an anonymous one. */
static struct shmx_pair *make_writer(enum kind k, const char *name, struct shmx_region **r)
{
	struct shmx_pair *w = NULL;

	*r = NULL;
	if (k == NAMED) {
		*r = region(name, true);
		assert_int_equal(shmx_pair_create(*r, SHMX_PAIR_WRITER, 0, &w), 0);
	} else {
		assert_int_equal(shmx_pair_create_anon(SHMX_PAIR_WRITER, &w), 0);
	}
	return w;
}

/* In a child: a handle of our own in role, on the writer's pair. */
static struct shmx_pair *join_own(enum kind k, const char *name, struct shmx_pair *w,
				  unsigned role)
{
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;

	if (k == NAMED) {
		TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
		TU_CKEQ(shmx_pair_open(r, role, &p), 0);
		shmx_close(r);  /* the pair keeps a description of its own */
	} else {
		TU_CKEQ(shmx_pair_attach(shmx_pair_region(w), role, &p), 0);
	}
	return p;
}

/* ---- a participant's child does not keep it alive ---- */

/* The reader (X, our child) forks Y, which only waits for the end of
 * "hold" (its write end is ours alone); we kill X. Y shares every
 * description X inherited or opened before the fork: the writer must still
 * see X die, not wait out its deadline because Y keeps X's slot held. */
static void reader_forks_then_dies(enum kind k)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *w = make_writer(k, name, &r);
	int ready[2], hold[2];
	int64_t t0;
	pid_t x;
	char c;

	tu_ev_init(ready);
	tu_ev_init(hold);
	x = tu_fork();
	if (x == 0) {
		struct shmx_pair *rd;

		close(hold[1]);
		rd = join_own(k, name, w, SHMX_PAIR_READER);
		if (fork() == 0) {
			while (read(hold[0], &c, 1) > 0)
				;
			_exit(0);
		}
		(void)rd;
		tu_ready_forever(ready[1]);
	}
	close(hold[0]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	/* The writer's turn, handed to the reader: the writer now waits. */
	assert_int_equal(shmx_pair_wait(w, LONG_MS), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	tu_kill9(x, LONG_MS);
	t0 = tu_now_ms();
	assert_int_equal(shmx_pair_wait(w, DEATH_WAIT_MS), -EOWNERDEAD);
	print_message("# the reader's death seen after %lld ms (its child alive)\n",
		      (long long)(tu_now_ms() - t0));
	close(hold[1]);         /* Y ends */
	close(ready[0]);
	close(ready[1]);
	shmx_pair_close(w);
	shmx_close(r);
}

static void test_named_reader_child_does_not_hide_its_death(void **state)
{
	(void)state;
	reader_forks_then_dies(NAMED);
}

static void test_anon_reader_child_does_not_hide_its_death(void **state)
{
	(void)state;
	reader_forks_then_dies(ANON);
}

/* The classic chat the other way round: the creator (X) forks the reader
 * (Z), which inherits the creator's handle and keeps it open; we kill X.
 * Z must see its parent die. Z reports through "res", whose write end only
 * X and Z hold. */
static void test_anon_child_sees_its_parent_die(void **state)
{
	int ready[2], res[2];
	int got = 0;
	pid_t x;

	(void)state;
	tu_ev_init(ready);
	tu_ev_init(res);
	x = tu_fork();
	if (x == 0) {
		struct shmx_region *none;
		struct shmx_pair *w = make_writer(ANON, NULL, &none);

		if (tu_fork() == 0) {
			struct shmx_pair *rd = join_own(ANON, NULL, w, SHMX_PAIR_READER);
			int err;

			tu_ev_post(ready[1]);
			err = shmx_pair_wait(rd, DEATH_WAIT_MS);
			TU_CK(write(res[1], &err, sizeof(err)) == sizeof(err));
			_exit(0);
		}
		for (;;)
			pause();
	}
	close(res[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	tu_kill9(x, LONG_MS);
	assert_int_equal(read(res[0], &got, sizeof(got)), (ssize_t)sizeof(got));
	assert_int_equal(got, -EOWNERDEAD);
	close(ready[0]);
	close(ready[1]);
	close(res[0]);
}

/* ---- the inherited handle is the parent's ---- */

/* In the child every call on the inherited writer answers SHMX__FORKED
 * (also with the turn in hand), and its close leaves the parent's role;
 * the child opens a reader of its own and takes a turn round with the
 * parent, whose handle goes on as before. */
static void inherited_handle(enum kind k)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *w = make_writer(k, name, &r);
	uint32_t before = k == NAMED ? holders(name) : 0;
	pid_t pid;

	assert_int_equal(shmx_pair_wait(w, 0), 0);      /* we hold the turn */
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_pair *rd;

		TU_CKEQ(shmx_pair_post(w), SHMX__FORKED);
		TU_CKEQ(shmx_pair_wait(w, 0), SHMX__FORKED);
		TU_CKEQ(shmx_pair_wait(w, 100), SHMX__FORKED);
		TU_CKEQ(shmx_pair_fd(w), SHMX__FORKED);
		TU_CKEQ(shmx_pair_region(w) != NULL, k == ANON);
		rd = join_own(k, name, w, SHMX_PAIR_READER);
		shmx_pair_close(w);
		TU_CKEQ(shmx_pair_wait(rd, LONG_MS), 0);
		TU_CKEQ(shmx_pair_post(rd), 0);
		shmx_pair_close(rd);
		_exit(0);
	}
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(w, LONG_MS), 0);
	assert_int_equal(tu_child_verdict(pid, LONG_MS, NULL), 0);
	/* The child's close left our role attached: still ours. */
	if (k == NAMED)
		assert_int_equal(holders(name), before);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(w, 0), -EPIPE);
	shmx_pair_close(w);
	shmx_close(r);
}

static void test_named_inherited_handle_is_the_parents(void **state)
{
	(void)state;
	inherited_handle(NAMED);
}

static void test_anon_inherited_handle_is_the_parents(void **state)
{
	(void)state;
	inherited_handle(ANON);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_named_reader_child_does_not_hide_its_death),
		T(test_anon_reader_child_does_not_hide_its_death),
		T(test_anon_child_sees_its_parent_die),
		T(test_named_inherited_handle_is_the_parents),
		T(test_anon_inherited_handle_is_the_parents),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
