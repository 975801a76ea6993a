/* SPDX-License-Identifier: MIT */
/* A consumer of one producer that has caught up polls head before the
 * record word (head_past() in chan-walk.h); head is a hint, the word
 * decides (docs/channel-format.md, "One producer"). What the hint must
 * never change, for a queue and a broadcast, in every wait mode:
 * - a message whose word the producer stored before it died, and not
 *   head, is still delivered, and then the death is reported;
 * - a head that runs ahead of the words (corrupt, or hostile) makes no
 *   message out of nothing and no wait that outlasts its deadline;
 * - and it checks something the word alone cannot: a record that runs
 *   past the head published after it is corrupt.
 * Real processes, a real SIGKILL. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "channel-util.h"

static const unsigned modes[] = { 0, SHMX_CHAN_SPIN, SHMX_CHAN_BLOCK };

/* A producer child: sends "a" and "b", then puts head and sent back to
 * where they were after "a", as a producer killed between its word and
 * its head leaves them, and dies. */
static pid_t dying_between_word_and_head(const char *name)
{
	struct shmx_chan *tx;
	uint64_t head, sent;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &tx), 0);
	TU_CKEQ(shmx_chan_send(tx, "a", 1, LONG_MS), 0);
	head = __atomic_load_n(&tx->hdr->head, __ATOMIC_RELAXED);
	sent = __atomic_load_n(&tx->hdr->sent, __ATOMIC_RELAXED);
	TU_CKEQ(shmx_chan_send(tx, "b", 1, LONG_MS), 0);
	__atomic_store_n(&tx->hdr->sent, sent, __ATOMIC_RELAXED);
	__atomic_store_n(&tx->hdr->head, head, __ATOMIC_RELEASE);
	raise(SIGKILL);
	_exit(1);
}

static void expect(struct shmx_chan *rx, char want)
{
	char b[8];

	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), LONG_MS), 1);
	assert_int_equal(b[0], want);
}

static void unpublished_is_delivered(uint32_t consumers, unsigned mode)
{
	struct shmx_chan_params p = { .capacity = 4096, .consumers = consumers };
	const char *name = tu_name();
	struct shmx_chan *rx;
	char b[8];
	pid_t pid;
	int code;

	assert_int_equal(shmx_chan_create_params(name, &p, C | mode, 0600, &rx), 0);
	pid = dying_between_word_and_head(name);
	tu_child_verdict(pid, LONG_MS, &code);
	assert_int_equal(code, 128 + SIGKILL);
	expect(rx, 'a');
	expect(rx, 'b');
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), LONG_MS), -EOWNERDEAD);
	rx = shmx_chan_close(rx);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

static void test_unpublished_message_of_a_dead_producer_is_delivered(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		unpublished_is_delivered(1, modes[i]);
		unpublished_is_delivered(2, modes[i]);
	}
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* head a ring ahead of the words, the producer alive: no message, a
 * timeout when the deadline comes (not before, not long after), and the
 * next real message is still taken. */
static void head_ahead(uint32_t consumers, unsigned mode)
{
	struct shmx_chan_params p = { .capacity = 4096, .consumers = consumers };
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	struct timespec t0;
	uint64_t head;
	long ms;
	char b[8];

	assert_int_equal(shmx_chan_create_params(name, &p, P, 0600, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C | mode, LONG_MS, &rx), 0);
	assert_int_equal(shmx_chan_send(tx, "a", 1, LONG_MS), 0);
	expect(rx, 'a');
	head = __atomic_load_n(&tx->hdr->head, __ATOMIC_RELAXED);
	__atomic_store_n(&tx->hdr->head, head + 4096, __ATOMIC_RELEASE);
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 0), -EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 200), -ETIMEDOUT);
	ms = ms_since(&t0);
	assert_true(ms >= 190);
	assert_true(ms < 5000);
	/* The producer's next message goes where its own position says. */
	assert_int_equal(shmx_chan_send(tx, "b", 1, LONG_MS), 0);
	expect(rx, 'b');
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

static void test_head_ahead_of_the_words_makes_nothing(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		head_ahead(1, modes[i]);
		head_ahead(2, modes[i]);
	}
}

/* A committed record's length raised by a third party, the record still
 * inside the ring and max_msg: a consumer that saw head past the record
 * (the default mode and SHMX_CHAN_BLOCK look at head) finds it runs past
 * head and fails -EBADMSG for good, instead of handing out bytes never
 * sent and losing the messages after them. The hostile reviewer's case:
 * 8 bytes sent, the length made 84. */
static void longer_than_published(uint32_t consumers, unsigned mode)
{
	struct shmx_chan_params p = { .capacity = 4096, .consumers = consumers };
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	char b[256];
	uint64_t *word;

	assert_int_equal(shmx_chan_create_params(name, &p, P, 0600, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C | mode, LONG_MS, &rx), 0);
	assert_int_equal(shmx_chan_send(tx, "AAAAAAAA", 8, LONG_MS), 0);
	word = (uint64_t *)(void *)tx->ring;
	assert_int_equal(*word & 0xffffffffu, 8);
	*word = (*word & ~(uint64_t)0xffffffffu) | 84;
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), LONG_MS), -EBADMSG);
	assert_int_equal(shmx_chan_send(tx, "B", 1, LONG_MS), 0);
	assert_int_equal(shmx_chan_recv(rx, b, sizeof(b), 0), -EBADMSG);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

static void test_record_longer_than_published_is_corrupt(void **state)
{
	(void)state;
	longer_than_published(1, 0);
	longer_than_published(1, SHMX_CHAN_BLOCK);
	longer_than_published(2, 0);
	longer_than_published(2, SHMX_CHAN_BLOCK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_unpublished_message_of_a_dead_producer_is_delivered,
					  tu_teardown),
		cmocka_unit_test_teardown(test_head_ahead_of_the_words_makes_nothing, tu_teardown),
		cmocka_unit_test_teardown(test_record_longer_than_published_is_corrupt, tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
