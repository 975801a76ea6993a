/* SPDX-License-Identifier: MIT */
/* A producer's death is remembered (shmx(7), "A participant that dies"):
 * once no producer is left, consumers get -EOWNERDEAD if one of them
 * died, also after another producer took the dead one's slot and closed
 * cleanly: the slot's state word then says "closed", so the death lives
 * on in the header's "a producer died" bit (docs/channel-format.md).
 * Every shape of one or several producers and consumers; real processes,
 * a real SIGKILL. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "channel-util.h"

struct shape {
	unsigned producers, consumers;
};

/* A producer child: send tag, post ready, wait to be killed. */
static pid_t doomed_producer(const char *name, char tag, int ready)
{
	struct shmx_chan *tx;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &tx), 0);
	TU_CKEQ(shmx_chan_slot(tx), 0);
	TU_CKEQ(shmx_chan_send(tx, &tag, 1, LONG_MS), 0);
	tu_ready_forever(ready);
}

/* A producer child that takes the slot the dead one left (slot 0), sends
 * tag and closes. */
static void clean_producer(const char *name, char tag)
{
	struct shmx_chan *tx;
	pid_t pid = tu_fork();

	if (pid == 0) {
		TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &tx), 0);
		TU_CKEQ(shmx_chan_slot(tx), 0);
		TU_CKEQ(shmx_chan_send(tx, &tag, 1, LONG_MS), 0);
		shmx_chan_close(tx);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, LONG_MS, NULL), 0);
}

static void expect_byte(struct shmx_chan *rx, char want)
{
	char b[8];

	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), LONG_MS), 1);
	assert_int_equal(b[0], want);
}

/* Producer A dies attached; B takes A's slot, sends, closes. The consumer
 * (attached all along) reads both messages, then learns of A's death. */
static void death_outlives_slot(const struct shape *s)
{
	struct shmx_chan_params p = { .capacity = 4096, .producers = s->producers,
				      .consumers = s->consumers };
	const char *name = tu_name();
	struct shmx_chan *rx;
	int ready[2];
	char b[8];
	pid_t a;

	tu_ev_init(ready);
	assert_int_equal(shmx_chan_create_params(name, &p, C, 0600, &rx), 0);
	a = doomed_producer(name, 'A', ready[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	expect_byte(rx, 'A');
	tu_kill9(a, LONG_MS);
	clean_producer(name, 'B');
	expect_byte(rx, 'B');
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), LONG_MS), -EOWNERDEAD);
	/* And again: the end stays the end. */
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 0), -EOWNERDEAD);
	/* A consumer that attaches only now learns it too. */
	if (s->consumers > 1) {
		struct shmx_chan *late;

		assert_int_equal(shmx_chan_open(name, C, 0, &late), 0);
		assert_int_equal(shmx_chan_recv(late, b, sizeof(b), LONG_MS), -EOWNERDEAD);
		shmx_chan_close(late);
	}
	rx = shmx_chan_close(rx);
	close(ready[0]);
	close(ready[1]);
}

static void test_death_outlives_slot_one_producer(void **state)
{
	(void)state;
	death_outlives_slot(&(struct shape){ 1, 1 });
}

static void test_death_outlives_slot_several_producers(void **state)
{
	(void)state;
	death_outlives_slot(&(struct shape){ 2, 1 });
}

static void test_death_outlives_slot_broadcast(void **state)
{
	(void)state;
	death_outlives_slot(&(struct shape){ 1, 2 });
}

static void test_death_outlives_slot_several_to_several(void **state)
{
	(void)state;
	death_outlives_slot(&(struct shape){ 3, 2 });
}

/* Only deaths count: producers that all closed end with -EPIPE, also
 * after one replaced another. */
static void test_clean_closes_end_with_epipe(void **state)
{
	struct shmx_chan_params p = { .capacity = 4096, .producers = 2 };
	const char *name = tu_name();
	struct shmx_chan *rx;
	char b[8];

	(void)state;
	assert_int_equal(shmx_chan_create_params(name, &p, C, 0600, &rx), 0);
	clean_producer(name, 'A');
	clean_producer(name, 'B');
	expect_byte(rx, 'A');
	expect_byte(rx, 'B');
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), LONG_MS), -EPIPE);
	rx = shmx_chan_close(rx);
}

/* The bit is a format addition: this library accepts it (and still
 * refuses any other unknown bit); a library older than the bit refuses a
 * channel that has it with -EBADMSG, as it refuses the fences bit
 * (docs/channel-format.md, "Header"). */
static void test_died_bit_is_known(void **state)
{
	struct shmx__chan_geom g;
	struct shmx__chan_hdr *h = calloc(1, SHMX__CHAN_HDR_SIZE);

	(void)state;
	assert_non_null(h);
	assert_int_equal(shmx__chan_geometry(4096, 2, 1, 0, &g), 0);
	shmx__chan_write_header(h, &g);
	h->flags = SHMX__CHAN_FLAG_DIED;
	assert_int_equal(shmx__chan_validate(h, g.header_size + g.capacity, &g), 0);
	h->flags = SHMX__CHAN_FLAG_DIED | SHMX__CHAN_FLAG_FENCES;
	assert_int_equal(shmx__chan_validate(h, g.header_size + g.capacity, &g), 0);
	h->flags = 4;
	assert_int_equal(shmx__chan_validate(h, g.header_size + g.capacity, &g), -EBADMSG);
	free(h);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_death_outlives_slot_one_producer),
		T(test_death_outlives_slot_several_producers),
		T(test_death_outlives_slot_broadcast),
		T(test_death_outlives_slot_several_to_several),
		T(test_clean_closes_end_with_epipe),
		T(test_died_bit_is_known),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
