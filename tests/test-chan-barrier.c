/* SPDX-License-Identifier: MIT */
/* The sleeper's barrier (shmx(7); docs/channel-format.md, "Liveness and
 * waiting"): every party registers for membarrier(2) when it attaches; one
 * that cannot (here: a seccomp filter makes the call fail, as a container
 * may) sets the header's fences bit, and every party goes back to full
 * fences. Either way every message arrives, with both sides sleeping for
 * each other all the time (a ring of two messages, SHMX_CHAN_BLOCK). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define CAP 64          /* the smallest ring: two 16-byte messages */
#define N 2000
#define FENCES 1u      /* the header's flags, bit 0 (docs/channel-format.md) */
#define CHILD_MS 60000

/* membarrier(2) fails with ENOSYS in this process from now on. */
static void forbid_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	TU_CKEQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	TU_CKEQ(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	TU_CKEQ(syscall(__NR_membarrier, 0, 0), -1);
}

/* A producer child: N messages of 16 bytes, each its number. */
static pid_t producer(const char *name, bool forbid, int ready)
{
	struct shmx_chan *tx;
	pid_t pid = tu_fork();

	if (pid)
		return pid;
	if (forbid)
		forbid_membarrier();
	TU_CKEQ(shmx_chan_open(name, P | SHMX_CHAN_BLOCK, 5000, &tx), 0);
	tu_ev_post(ready);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t msg[2] = { i, ~i };

		TU_CKEQ(shmx_chan_send(tx, msg, sizeof(msg), CHILD_MS), 0);
	}
	shmx_chan_close(tx);
	_exit(0);
}

static uint32_t header_flags(const char *name)
{
	struct shmx_region *r;
	uint32_t flags;

	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	flags = __atomic_load_n(&((struct shmx__chan_hdr *)shmx_addr(r))->flags,
				__ATOMIC_RELAXED);
	r = shmx_close(r);
	return flags;
}

static void stream(bool forbid)
{
	const char *name = tu_name();
	struct shmx_chan *rx;
	uint64_t msg[2];
	int ready[2];
	pid_t pid;

	tu_ev_init(ready);
	assert_int_equal(shmx_chan_create(name, CAP, C | SHMX_CHAN_BLOCK, 0, &rx), 0);
	assert_int_equal(header_flags(name), 0);
	pid = producer(name, forbid, ready[1]);
	assert_true(tu_ev_wait(ready[0], CHILD_MS));
	assert_int_equal(header_flags(name), forbid ? FENCES : 0);
	for (uint64_t i = 0; i < N; i++) {
		assert_int_equal(shmx_chan_recv(rx, msg, sizeof(msg), CHILD_MS), sizeof(msg));
		assert_int_equal(msg[0], i);
		assert_int_equal(msg[1], ~i);
	}
	assert_int_equal(shmx_chan_recv(rx, msg, sizeof(msg), CHILD_MS), -EPIPE);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
	/* the bit stays: whoever comes later fences too */
	assert_int_equal(header_flags(name), forbid ? FENCES : 0);
	rx = shmx_chan_close(rx);
	close(ready[0]);
	close(ready[1]);
}

/* Both parties can use membarrier: the bit stays clear. */
static void test_membarrier_for_all(void **state)
{
	(void)state;
	stream(false);
}

/* The producer cannot: it sets the bit when it attaches. */
static void test_one_party_without_membarrier(void **state)
{
	(void)state;
	TU_SKIP_IF_EMULATED("qemu-user installs no seccomp filter (prctl(PR_SET_SECCOMP) fails with EPERM), so membarrier cannot be made to fail");
	stream(true);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_membarrier_for_all),
		T(test_one_party_without_membarrier),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
