/* SPDX-License-Identifier: MIT */
/* Channels and pairs in anonymous memory: handed to an exec'd process over a
 * Unix socket or inherited by a forked child, they carry every message once
 * and in order; each participant locks on an open file description of its
 * own, so a child killed or closing is seen by its parent (-EOWNERDEAD,
 * -EPIPE); the fork + shared memory + two semaphores chat needs no name;
 * nobody can truncate the sealed objects; and attaching checks what it is
 * given. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "anon-ipc-msg.h"
#include "internal.h"
#include "testutil.h"

#define CAP        (64u << 10)
#define MILLION    1000000u
#define TURNS      1000
#define LINE_MAX_  64
#define WAIT_MS    20000
#define STREAM_MS  120000
#define ALL_SLOTS  ((1u << SHMX_SLOT_OWNER) | (1u << SHMX_SLOT_WRITER) | \
		    (1u << SHMX_SLOT_READER))

/* ---- helpers ---- */

static char sentinel;   /* an output a failed call must not overwrite */
#define SENT_CHAN ((struct shmx_chan *)(void *)&sentinel)
#define SENT_PAIR ((struct shmx_pair *)(void *)&sentinel)
static const unsigned char big[256];

/* One byte from fd, within WAIT_MS. */
static char wait_byte(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	return c;
}

static int truncate_refused(int fd)
{
	return ftruncate(fd, 0) < 0 && errno == EPERM && ftruncate(fd, 1 << 30) < 0 &&
	       errno == EPERM;
}

/* Messages 0..count-1 into c; their checksum. */
static uint64_t produce(struct shmx_chan *c, uint64_t count)
{
	unsigned char buf[MSG_MAX];
	uint64_t n, sum = FNV_BASIS;
	size_t len;
	int err;

	for (n = 0; n < count; n++) {
		len = msg_make(n, buf);
		err = shmx_chan_send(c, buf, len, WAIT_MS);
		if (err)
			fail_msg("send %" PRIu64 ": %s", n, shmx_strerror(err));
		sum = msg_sum(sum, buf, len);
	}
	return sum;
}

/* Fill the ring with BLOCK-byte messages until one finds no room (or a
 * gone peer); what that try returned. Another BLOCK bytes then never fit. */
#define BLOCK 256
static int fill(struct shmx_chan *c)
{
	static const unsigned char block[BLOCK];
	int err;

	while ((err = shmx_chan_send(c, block, BLOCK, 0)) == 0)
		;
	return err;
}

/* A child (tu_fork) that dies with us: a failed assertion here leaves no
 * process behind, waiting on a pipe we no longer serve. */
static pid_t fork_bound_child(void)
{
	pid_t parent = getpid(), pid = tu_fork();

	if (pid == 0) {
		TU_CKEQ(prctl(PR_SET_PDEATHSIG, SIGKILL), 0);
		TU_CKEQ(getppid(), parent);
	}
	return pid;
}

/* ---- a million messages, exactly once, in order ---- */

static void test_chan_sent_to_an_execd_process_carries_a_million_messages(void **state)
{
	char num[16], count[16], out[128] = "", want[64];
	char *argv[] = { getenv("SHMX_ANON_PEER_IPC"), num, count, NULL };
	struct shmx_chan *c = NULL;
	int sv[2], outfd;
	uint64_t sum;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_non_null(argv[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFD, FD_CLOEXEC), 0);
	snprintf(num, sizeof(num), "%d", sv[1]);
	snprintf(count, sizeof(count), "%u", MILLION);
	assert_int_equal(shmx_chan_create_anon(CAP, SHMX_CHAN_PRODUCER, &c), 0);
	pid = tu_spawn(argv, NULL, &outfd, NULL);
	assert_true(pid > 0);
	close(sv[1]);
	assert_int_equal(shmx_anon_send(shmx_chan_region(c), sv[0]), 0);
	assert_int_equal(wait_byte(sv[0]), 'a');
	/* ours is refused too, and nobody stops */
	assert_true(truncate_refused(shmx_fd(shmx_chan_region(c))));
	sum = produce(c, MILLION);
	assert_int_equal(tu_child_verdict(pid, STREAM_MS, NULL), 0);
	n = read(outfd, out, sizeof(out) - 1);
	assert_true(n > 0);
	snprintf(want, sizeof(want), "%u %016" PRIx64 "\n", MILLION, sum);
	assert_string_equal(out, want);
	/* the consumer closed: once the ring is full, the close shows */
	assert_int_equal(fill(c), -EPIPE);
	close(outfd);
	close(sv[0]);
	shmx_chan_close(c);
}

/* The child takes the consumer's role from the region it inherited, and
 * tries a truncation halfway; its checksum comes back over a pipe. */
static void inherited_consumer(struct shmx_chan *parent, int res)
{
	unsigned char buf[MSG_MAX];
	struct shmx_chan *c;
	uint64_t n, sum = FNV_BASIS;
	ssize_t len;

	TU_CKEQ(shmx_chan_attach(shmx_chan_region(parent), SHMX_CHAN_CONSUMER, &c), 0);
	for (n = 0; n < MILLION; n++) {
		len = shmx_chan_recv(c, buf, sizeof(buf), WAIT_MS);
		TU_CK(len >= 0 && msg_is(n, buf, (size_t)len));
		sum = msg_sum(sum, buf, (size_t)len);
		if (n == MILLION / 2)
			TU_CK(truncate_refused(shmx_fd(shmx_chan_region(parent))));
	}
	shmx_chan_close(c);
	TU_CKEQ(write(res, &sum, sizeof(sum)), sizeof(sum));
	_exit(0);
}

static void test_chan_inherited_by_a_forked_child_carries_a_million_messages(void **state)
{
	struct shmx_chan *c = NULL;
	uint64_t sum, got = 0;
	int res[2];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create_anon(CAP, SHMX_CHAN_PRODUCER, &c), 0);
	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	pid = fork_bound_child();
	if (pid == 0)
		inherited_consumer(c, res[1]);
	close(res[1]);
	sum = produce(c, MILLION);
	assert_int_equal(tu_child_verdict(pid, STREAM_MS, NULL), 0);
	assert_int_equal(read(res[0], &got, sizeof(got)), sizeof(got));
	assert_int_equal(got, sum);
	/* the consumer closed: once the ring is full, the close shows */
	assert_int_equal(fill(c), -EPIPE);
	close(res[0]);
	shmx_chan_close(c);
}

/* ---- a child's death and close, seen by its parent ---- */

/* A forked consumer: attach, say so, then close when told ('c') or wait to
 * be killed. */
static void chan_child(struct shmx_chan *parent, int ready, int cmd)
{
	struct shmx_chan *c;

	TU_CKEQ(shmx_chan_attach(shmx_chan_region(parent), SHMX_CHAN_CONSUMER, &c), 0);
	tu_ev_post(ready);
	TU_CK(tu_ev_wait(cmd, STREAM_MS));
	shmx_chan_close(c);
	_exit(0);
}

/* The child's lock is its own: while it lives, the parent waiting for room
 * times out; a child on the parent's open file description would look
 * dead at once (the parent cannot see a lock of its own description). */
static pid_t start_chan_child(struct shmx_chan *c, int *cmd)
{
	int ready[2], go[2];
	pid_t pid;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = fork_bound_child();
	if (pid == 0)
		chan_child(c, ready[1], go[0]);
	close(ready[1]);
	close(go[0]);
	assert_true(tu_ev_wait(ready[0], WAIT_MS));
	close(ready[0]);
	assert_int_equal(fill(c), -EAGAIN);
	assert_int_equal(shmx_chan_send(c, big, BLOCK, 200), -ETIMEDOUT);
	*cmd = go[1];
	return pid;
}

static void test_chan_child_killed_is_eownerdead_to_its_parent(void **state)
{
	struct shmx_chan *c = NULL;
	struct shmx_info info;
	int cmd;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create_anon(CAP, SHMX_CHAN_PRODUCER, &c), 0);
	pid = start_chan_child(c, &cmd);
	assert_int_equal(shmx_fstat(shmx_chan_region(c), &info), 0);
	assert_int_equal(info.holders, ALL_SLOTS);
	tu_kill9(pid, WAIT_MS);
	assert_int_equal(shmx_chan_send(c, big, BLOCK, WAIT_MS), -EOWNERDEAD);
	close(cmd);
	shmx_chan_close(c);
}

static void test_chan_child_closing_is_epipe_to_its_parent(void **state)
{
	struct shmx_chan *c = NULL;
	int cmd;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create_anon(CAP, SHMX_CHAN_PRODUCER, &c), 0);
	pid = start_chan_child(c, &cmd);
	tu_ev_post(cmd);
	assert_int_equal(tu_child_verdict(pid, WAIT_MS, NULL), 0);
	assert_int_equal(shmx_chan_send(c, big, BLOCK, WAIT_MS), -EPIPE);
	close(cmd);
	shmx_chan_close(c);
}

/* The creator's locks are not on the descriptor it hands out: a receiver
 * that keeps the region open still sees the creator die. */
static void test_chan_creator_killed_is_eownerdead_to_a_receiver(void **state)
{
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL, *mine = NULL;
	char buf[8];
	int sv[2];
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork_bound_child();
	if (pid == 0) {
		TU_CKEQ(shmx_chan_create_anon(CAP, SHMX_CHAN_PRODUCER, &mine), 0);
		TU_CKEQ(shmx_chan_send(mine, "hi", 2, 0), 0);
		TU_CKEQ(shmx_anon_send(shmx_chan_region(mine), sv[1]), 0);
		for (;;)
			pause();
	}
	close(sv[1]);
	assert_int_equal(shmx_anon_recv(sv[0], 0, WAIT_MS, &r), 0);
	assert_int_equal(shmx_chan_attach(r, SHMX_CHAN_CONSUMER, &c), 0);
	assert_int_equal(shmx_chan_recv(c, buf, sizeof(buf), WAIT_MS), 2);
	assert_int_equal(shmx_chan_recv(c, buf, sizeof(buf), 100), -ETIMEDOUT);
	tu_kill9(pid, WAIT_MS);
	assert_int_equal(shmx_chan_recv(c, buf, sizeof(buf), WAIT_MS), -EOWNERDEAD);
	shmx_chan_close(c);
	shmx_close(r);
	close(sv[0]);
}

/* ---- the anonymous pair ---- */

static void pair_child(struct shmx_pair *parent, int ready, int cmd)
{
	struct shmx_pair *p;

	TU_CKEQ(shmx_pair_attach(shmx_pair_region(parent), SHMX_PAIR_READER, &p), 0);
	tu_ev_post(ready);
	TU_CK(tu_ev_wait(cmd, STREAM_MS));
	shmx_pair_close(p);
	_exit(0);
}

/* A reader that attached and never takes its turn: the writer, waiting,
 * times out while the reader lives (its lock is its own). */
static pid_t start_pair_child(struct shmx_pair *w, int *cmd)
{
	int ready[2], go[2];
	pid_t pid;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = fork_bound_child();
	if (pid == 0)
		pair_child(w, ready[1], go[0]);
	close(ready[1]);
	close(go[0]);
	assert_true(tu_ev_wait(ready[0], WAIT_MS));
	close(ready[0]);
	assert_int_equal(shmx_pair_wait(w, 0), 0);
	assert_int_equal(shmx_pair_post(w), 0);
	assert_int_equal(shmx_pair_wait(w, 200), -ETIMEDOUT);
	*cmd = go[1];
	return pid;
}

static void test_pair_child_killed_is_eownerdead_to_its_parent(void **state)
{
	struct shmx_pair *w = NULL;
	struct shmx_info info;
	int cmd;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_pair_create_anon(SHMX_PAIR_WRITER, &w), 0);
	pid = start_pair_child(w, &cmd);
	assert_int_equal(shmx_fstat(shmx_pair_region(w), &info), 0);
	assert_int_equal(info.holders, ALL_SLOTS);
	tu_kill9(pid, WAIT_MS);
	assert_int_equal(shmx_pair_wait(w, WAIT_MS), -EOWNERDEAD);
	close(cmd);
	shmx_pair_close(w);
}

static void test_pair_child_closing_is_epipe_to_its_parent(void **state)
{
	struct shmx_pair *w = NULL;
	int cmd;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_pair_create_anon(SHMX_PAIR_WRITER, &w), 0);
	pid = start_pair_child(w, &cmd);
	tu_ev_post(cmd);
	assert_int_equal(tu_child_verdict(pid, WAIT_MS, NULL), 0);
	assert_int_equal(shmx_pair_wait(w, WAIT_MS), -EPIPE);
	close(cmd);
	shmx_pair_close(w);
}

/* ---- the chat: fork, shared memory, two semaphores, no name ---- */

/* The reader: each turn, the parent's line, answered in place. Both
 * objects refuse a truncation, and the chat goes on. */
static void chat_reader(struct shmx_region *data, struct shmx_pair *parent)
{
	char want[LINE_MAX_], *line = shmx_addr(data);
	struct shmx_pair *p;

	TU_CKEQ(shmx_pair_attach(shmx_pair_region(parent), SHMX_PAIR_READER, &p), 0);
	TU_CK(truncate_refused(shmx_fd(data)));
	TU_CK(truncate_refused(shmx_fd(shmx_pair_region(parent))));
	for (int i = 0; i < TURNS; i++) {
		TU_CKEQ(shmx_pair_wait(p, WAIT_MS), 0);
		snprintf(want, sizeof(want), "line %d", i);
		TU_CK(!strcmp(line, want));
		snprintf(line, LINE_MAX_, "ack %d", i);
		TU_CKEQ(shmx_pair_post(p), 0);
	}
	shmx_pair_close(p);
	_exit(0);
}

static void chat_writer(struct shmx_region *data, struct shmx_pair *w)
{
	char want[LINE_MAX_], *line = shmx_addr(data);

	for (int i = 0; i < TURNS; i++) {
		TU_CKEQ(shmx_pair_wait(w, WAIT_MS), 0);
		snprintf(want, sizeof(want), "ack %d", i - 1);
		TU_CK(i == 0 || !strcmp(line, want));   /* the reader took its turn */
		snprintf(line, LINE_MAX_, "line %d", i);
		TU_CKEQ(shmx_pair_post(w), 0);
	}
	/* the last answer, then the reader's close */
	snprintf(want, sizeof(want), "ack %d", TURNS - 1);
	TU_CKEQ(shmx_pair_wait(w, WAIT_MS), 0);
	TU_CK(!strcmp(line, want));
	TU_CKEQ(shmx_pair_post(w), 0);
	TU_CKEQ(shmx_pair_wait(w, WAIT_MS), -EPIPE);
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* In a mount namespace of its own, over an empty read-only /dev/shm: a
 * name anywhere would fail, or show. */
static void chat(void)
{
	struct shmx_region *data;
	struct shmx_pair *w;
	pid_t pid;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", "/dev/shm", "tmpfs", MS_RDONLY, "size=4k"))
		tu_child_skip("cannot mount a private /dev/shm (needs root)");
	TU_CKEQ(shmx_anon_create(4096, SHMX_MAP, &data), 0);
	TU_CKEQ(shmx_pair_create_anon(SHMX_PAIR_WRITER, &w), 0);
	pid = fork_bound_child();
	if (pid == 0)
		chat_reader(data, w);
	chat_writer(data, w);
	TU_CKEQ(tu_child_verdict(pid, STREAM_MS, NULL), 0);
	shmx_pair_close(w);
	shmx_close(data);
	TU_CKEQ(entries("/dev/shm"), 0);
	_exit(0);
}

static void test_pair_fork_chat_takes_turns_with_no_name(void **state)
{
	int code;
	pid_t pid;

	(void)state;
	pid = fork_bound_child();
	if (pid == 0)
		chat();
	tu_child_verdict(pid, STREAM_MS, &code);
	if (code == TU_SKIP_CODE)
		tu_skip("cannot mount a private /dev/shm (needs root)");
	assert_int_equal(code, 0);
}

/* ---- what attach accepts ---- */

static void test_chan_attach_checks_the_region(void **state)
{
	struct shmx_region *plain = NULL, *seg = NULL, *ro = NULL;
	struct shmx_chan *c = SENT_CHAN, *p = NULL;
	int sv[2];

	(void)state;
	assert_int_equal(shmx_anon_create(4096 + CAP, SHMX_MAP, &plain), 0);
	assert_int_equal(shmx_chan_attach(plain, SHMX_CHAN_CONSUMER, &c), -EBADMSG);
	assert_int_equal(shmx_sysv_create(IPC_PRIVATE, 4096 + CAP, 0, 0, &seg), 0);
	assert_int_equal(shmx_chan_attach(seg, SHMX_CHAN_CONSUMER, &c), -EOPNOTSUPP);
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(seg)), 0);
	assert_int_equal(shmx_chan_create_anon(CAP, SHMX_CHAN_PRODUCER, &p), 0);
	assert_int_equal(shmx_chan_attach(shmx_chan_region(p), SHMX_CHAN_PRODUCER, &c),
			 -EBUSY);
	/* a read-only descriptor cannot carry a role's lock */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(shmx_anon_send(shmx_chan_region(p), sv[0]), 0);
	assert_int_equal(shmx_anon_recv(sv[1], SHMX_RDONLY, WAIT_MS, &ro), 0);
	assert_int_equal(shmx_chan_attach(ro, SHMX_CHAN_CONSUMER, &c), -EBADF);
	assert_ptr_equal(c, SENT_CHAN);
	/* the caller's handles are as they were */
	assert_null(shmx_addr(shmx_chan_region(p)));
	assert_non_null(shmx_addr(plain));
	shmx_close(ro);
	shmx_close(seg);
	shmx_close(plain);
	close(sv[0]);
	close(sv[1]);
	shmx_chan_close(p);
}

/* Any kind with a descriptor: a named channel, through a region handle. */
static void test_chan_attach_works_on_a_named_channel(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *p = NULL, *c = NULL;
	struct shmx_region *r = NULL;
	char buf[8];

	(void)state;
	assert_int_equal(shmx_chan_create(name, CAP, SHMX_CHAN_PRODUCER, 0, &p), 0);
	assert_int_equal(shmx_open(name, 0, &r), 0);
	assert_int_equal(shmx_chan_attach(r, SHMX_CHAN_CONSUMER, &c), 0);
	shmx_close(r);          /* the channel has its own */
	assert_int_equal(shmx_chan_send(p, "named", 5, 0), 0);
	assert_int_equal(shmx_chan_recv(c, buf, sizeof(buf), WAIT_MS), 5);
	assert_memory_equal(buf, "named", 5);
	assert_string_equal(shmx_name(shmx_chan_region(p)),
			    shmx_name(shmx_chan_region(c)));
	shmx_chan_close(c);
	shmx_chan_close(p);
	assert_int_equal(shmx_chan_unlink(name), 0);
}

static void test_pair_attach_checks_the_region(void **state)
{
	struct shmx_region *plain = NULL, *seg = NULL, *named = NULL;
	struct shmx_pair *w = NULL, *x = SENT_PAIR, *np = NULL;

	(void)state;
	assert_int_equal(shmx_anon_create(4096, SHMX_MAP, &plain), 0);
	assert_int_equal(shmx_pair_attach(plain, SHMX_PAIR_READER, &x), -EBADMSG);
	assert_int_equal(shmx_sysv_create(IPC_PRIVATE, 4096, 0, 0, &seg), 0);
	assert_int_equal(shmx_pair_attach(seg, SHMX_PAIR_READER, &x), -EOPNOTSUPP);
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(seg)), 0);
	assert_int_equal(shmx_pair_create_anon(SHMX_PAIR_WRITER, &w), 0);
	assert_int_equal(shmx_pair_attach(shmx_pair_region(w), SHMX_PAIR_WRITER, &x),
			 -EBUSY);
	assert_ptr_equal(x, SENT_PAIR);
	/* its region is anonymous and sealed, and a named pair has none */
	assert_string_equal(shmx_name(shmx_pair_region(w)), "");
	assert_true(truncate_refused(shmx_fd(shmx_pair_region(w))));
	assert_int_equal(shmx_create(tu_name(), 4096, SHMX_MAP, 0, &named), 0);
	assert_int_equal(shmx_pair_create(named, SHMX_PAIR_WRITER, 0, &np), 0);
	assert_null(shmx_pair_region(np));
	shmx_pair_close(np);
	shmx_close(named);
	shmx_close(seg);
	shmx_close(plain);
	shmx_pair_close(w);
}

/* The owner gone, the pair is not joined: -EOWNERDEAD, as for a named one. */
static void test_pair_attach_after_the_owner_left_is_eownerdead(void **state)
{
	struct shmx_pair *w = NULL, *x = SENT_PAIR;
	struct shmx_region *keep = NULL;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(shmx_pair_create_anon(SHMX_PAIR_WRITER, &w), 0);
	assert_int_equal(shmx_anon_send(shmx_pair_region(w), sv[0]), 0);
	assert_int_equal(shmx_anon_recv(sv[1], 0, WAIT_MS, &keep), 0);
	shmx_pair_close(w);
	assert_int_equal(shmx_pair_attach(keep, SHMX_PAIR_READER, &x), -EOWNERDEAD);
	assert_ptr_equal(x, SENT_PAIR);
	shmx_close(keep);
	close(sv[0]);
	close(sv[1]);
}

/* Another format version is refused by value, for both kinds of object:
 * a channel header and a pair's control block that say ABI 2. */
#define PAIR_MAGIC UINT64_C(0x52494150584d4853) /* "SHMXPAIR", at offset 0 */
#define PAIR_SIZE  (128 + 2 * sizeof(sem_t))    /* control block (ABI 2), semaphores */

static void test_attach_refuses_another_format_version(void **state)
{
	struct shmx_region *r = NULL, *q = NULL;
	struct shmx_chan *c = SENT_CHAN;
	struct shmx_pair *p = SENT_PAIR;
	uint64_t magic = PAIR_MAGIC;
	uint32_t abi = 3, chan_abi = 1;

	(void)state;
	assert_int_equal(shmx_anon_create(SHMX__CHAN_HDR_SIZE + CAP, SHMX_MAP, &r), 0);
	{
		struct shmx__chan_geom g;

		shmx__chan_geometry(CAP, 1, 1, 0, &g);
		shmx__chan_write_header(shmx_addr(r), &g);
	}
	assert_int_equal(shmx_write(r, offsetof(struct shmx__chan_hdr, abi), &chan_abi, 4), 4);
	assert_int_equal(shmx_chan_attach(r, SHMX_CHAN_CONSUMER, &c), -EPROTONOSUPPORT);
	assert_ptr_equal(c, SENT_CHAN);
	assert_int_equal(shmx_anon_create(PAIR_SIZE, SHMX_MAP, &q), 0);
	assert_int_equal(shmx_write(q, 8, &abi, 4), 4);
	assert_int_equal(shmx_write(q, 0, &magic, 8), 8);
	assert_int_equal(shmx_pair_attach(q, SHMX_PAIR_READER, &p), -EPROTONOSUPPORT);
	abi = 2;
	assert_int_equal(shmx_write(q, 8, &abi, 4), 4);
	/* the right version, but no owner ever held it */
	assert_int_equal(shmx_pair_attach(q, SHMX_PAIR_READER, &p), -EOWNERDEAD);
	assert_ptr_equal(p, SENT_PAIR);
	shmx_close(q);
	shmx_close(r);
}

/* ---- without /proc: a memfd cannot be reopened ---- */

static void noproc_child(struct shmx_region *anon)
{
	struct shmx_chan *c = NULL;
	struct shmx_pair *p = NULL;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    umount2("/proc", MNT_DETACH) || access("/proc/self/fd", F_OK) == 0)
		tu_child_skip("cannot hide /proc (needs root)");
	TU_CKEQ(shmx_chan_create_anon(CAP, SHMX_CHAN_PRODUCER, &c), -ESTALE);
	TU_CK(!c);
	TU_CKEQ(shmx_pair_create_anon(SHMX_PAIR_WRITER, &p), -ESTALE);
	TU_CK(!p);
	TU_CKEQ(shmx_chan_attach(anon, SHMX_CHAN_CONSUMER, &c), -ESTALE);
	TU_CKEQ(shmx_pair_attach(anon, SHMX_PAIR_READER, &p), -ESTALE);
	_exit(0);
}

static void test_without_proc_anonymous_ipc_is_estale(void **state)
{
	struct shmx_region *anon = NULL;
	int code;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_anon_create(4096 + CAP, 0, &anon), 0);
	pid = fork_bound_child();
	if (pid == 0)
		noproc_child(anon);
	tu_child_verdict(pid, WAIT_MS, &code);
	shmx_close(anon);
	if (code == TU_SKIP_CODE)
		tu_skip("cannot hide /proc (needs root)");
	assert_int_equal(code, 0);
}

#define T(fn) cmocka_unit_test_teardown(fn, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_chan_sent_to_an_execd_process_carries_a_million_messages),
		T(test_chan_inherited_by_a_forked_child_carries_a_million_messages),
		T(test_chan_child_killed_is_eownerdead_to_its_parent),
		T(test_chan_child_closing_is_epipe_to_its_parent),
		T(test_chan_creator_killed_is_eownerdead_to_a_receiver),
		T(test_pair_child_killed_is_eownerdead_to_its_parent),
		T(test_pair_child_closing_is_epipe_to_its_parent),
		T(test_pair_fork_chat_takes_turns_with_no_name),
		T(test_chan_attach_checks_the_region),
		T(test_chan_attach_works_on_a_named_channel),
		T(test_pair_attach_checks_the_region),
		T(test_pair_attach_after_the_owner_left_is_eownerdead),
		T(test_attach_refuses_another_format_version),
		T(test_without_proc_anonymous_ipc_is_estale),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
