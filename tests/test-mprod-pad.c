/* SPDX-License-Identifier: MIT */
/* Several producers (shmx(7), "Several producers"): a consumer may pass
 * the padding word a reservation stores before head moves past it, and
 * wait at that reservation's record on the next lap: its cursor is then
 * ahead of head, legitimately, for as long as the reserving producer is
 * between its padding word and its head (mark_run() in chan-multi.c).
 * Another producer waiting for room meanwhile must go on waiting, not
 * take the cursor for a corrupt one (-EBADMSG "from an honest channel":
 * the torture harness, 3:1 ring 256, about once a minute with no fault).
 * The reserving producer's half-done reservation is written here as
 * mark_run() leaves it, by a live process's slot, so that it stays. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "channel-util.h"
#include "fanout-util.h"

#define CAP     256u    /* three 64-byte records and the zero word fill it */
#define LEN     56u     /* a 64-byte record */
#define WAIT_MS 2000    /* the waiting producer's deadline */

static pid_t kids[2];   /* the lock holder and the waiting producer */

/* A producer that fills the ring with three records, then waits for room
 * for a fourth: its send's result is its exit code (-errno). */
static pid_t waiting_producer(const char *name)
{
	unsigned char buf[LEN];
	struct shmx_chan *tx;
	pid_t pid = tu_fork();
	int r;

	if (pid)
		return pid;
	memset(buf, 5, sizeof(buf));
	tx = fan_open(name, P | SHMX_CHAN_BLOCK);
	for (int i = 0; i < 3; i++)
		TU_CKEQ(shmx_chan_send(tx, buf, LEN, 0), 0);
	r = shmx_chan_send(tx, buf, LEN, WAIT_MS);
	_exit(-r);
}

static void until_waiting(struct shmx__chan_hdr *h)
{
	for (int i = 0; i < LONG_MS && !__atomic_load_n(&h->space_waiting, __ATOMIC_ACQUIRE);
	     i++)
		usleep(1000);
	assert_true(h->space_waiting);
}

/* The slot of the producer pid, and its attach generation. */
static unsigned slot_of(struct shmx__chan_hdr *h, pid_t pid, uint32_t *gen)
{
	struct shmx__chan_slot *s = shmx__chan_slots(h);

	*gen = 0;
	for (unsigned i = 0; i < h->producers; i++)
		if (s[i].pid == pid) {
			*gen = s[i].state >> 8;
			return i;
		}
	fail_msg("no producer slot of pid %d", (int)pid);
	return 0;
}

/* What the lock holder in slot sb has stored of a reservation of the
 * largest message at head 192 (64 bytes to the ring's end, too few): the
 * zero word after its record at the next lap's offset 128, its reserved
 * record at offset 0, the padding word at 192; its in-flight mark; and not
 * yet head. */
static void half_reserved(struct shmx__chan_hdr *h, unsigned sb, uint32_t gb)
{
	unsigned char *ring = (unsigned char *)h + h->header_size;
	uint64_t len = h->max_msg, word;

	assert_int_equal(h->head, 192);
	h->lock = (sb + 1) | gb << 8;
	shmx__chan_slots(h)[sb].resv = 192 + 64 + 1;
	memset(ring + 128, 0, 8);
	word = (uint64_t)(SHMX__CHAN_TAG_BUSY | sb << 24 | gb) << 32 | len;
	memcpy(ring, &word, 8);
	word = (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (64 - SHMX__CHAN_REC);
	memcpy(ring + 192, &word, 8);
}

static void test_room_while_a_consumer_waits_past_padding(void **state)
{
	const char *name = tu_name();
	struct shmx__chan_hdr *h;
	struct shmx_chan *rx;
	struct shmx_region *r;
	unsigned char buf[CAP];
	int ready[2], code = 0, st;
	uint32_t gb;
	unsigned sb;
	pid_t b, q;

	(void)state;
	tu_ev_init(ready);
	rx = fan_create(name, CAP, 2, 1, SHMX_CHAN_POLICY_BLOCK, C);
	b = kids[0] = tu_fork();
	if (b == 0) {
		fan_open(name, P);
		tu_ready_forever(ready[1]);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	h = shmx_addr(r);
	q = kids[1] = waiting_producer(name);
	until_waiting(h);
	/* stopped in its wait for room, past the lock */
	assert_int_equal(kill(q, SIGSTOP), 0);
	assert_int_equal(waitpid(q, &st, WUNTRACED), q);
	assert_true(WIFSTOPPED(st));
	for (int i = 0; i < 3; i++)
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), LEN);
	sb = slot_of(h, b, &gb);
	half_reserved(h, sb, gb);
	/* past the padding, asleep at the record its live producer reserved */
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 100), -ETIMEDOUT);
	assert_int_equal(shmx__chan_slots(h)[h->producers].pos, 256);
	assert_int_equal(h->head, 192);
	/* the waiting producer looks at the room again: the lock holder lives,
	 * so it waits until its deadline */
	assert_int_equal(kill(q, SIGCONT), 0);
	tu_child_verdict(q, LONG_MS, &code);
	kids[1] = 0;
	if (code == EBADMSG)
		print_message("# the waiting producer got -EBADMSG: a cursor ahead of head "
			      "taken for a corrupt one\n");
	assert_int_equal(code, ETIMEDOUT);
	tu_kill9(b, LONG_MS);
	kids[0] = 0;
	r = shmx_close(r);
	rx = shmx_chan_close(rx);
	close(ready[0]);
	close(ready[1]);
}

/* A failed assertion leaves the children: kill them (SIGKILL ends a
 * stopped one too), then the names. */
static int teardown(void **state)
{
	for (int i = 0; i < 2; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
	return tu_teardown(state);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_room_while_a_consumer_waits_past_padding),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
