/* SPDX-License-Identifier: MIT */
/* Who can keep a channel's liveness slots held (shmx(7), "Liveness"): a
 * user who may only read the object must not be able to hold a slot with
 * a read lock (the object is created read-only where it is not writable,
 * shmx__lock_mode()), and a child forked from a participant must not keep
 * its parent's slot after the parent died. Real objects, real processes,
 * uid 65534 in a forked child that drops its privileges. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fork.h"
#include "internal.h"
#include "channel-util.h"

/* ---- a read lock by another user ---- */

/* As uid 65534 (exec'd by setpriv): open path read-only, take F_RDLCK on
 * liveness byte, say what came of it ("locked" or the errno's name) and
 * hold it until stdin closes. */
static int child_rdlock(const char *path, const char *byte)
{
	struct flock fl = {
		.l_type = F_RDLCK, .l_whence = SEEK_SET,
		.l_start = SHMX__SLOT_BASE + atol(byte), .l_len = 1,
	};
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char c;

	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		printf("%s\n", tu_errname(-errno));
		fflush(stdout);
		return 0;
	}
	printf("locked\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

static char self_copy[4096];

/* The outcome of uid 65534's attempt on name's liveness byte, in out
 * (NUL-terminated); the child, still holding its lock, in *pid, its stdin
 * in *in. */
static void rdlock_as_nobody(const char *name, unsigned byte, char *out, size_t size,
			     pid_t *pid, int *in)
{
	char path[256], b[16];
	int o[2], i[2];
	ssize_t n;

	snprintf(path, sizeof(path), "/dev/shm/%s", name + 1);
	snprintf(b, sizeof(b), "%u", byte);
	assert_int_equal(pipe2(o, O_CLOEXEC), 0);
	assert_int_equal(pipe2(i, O_CLOEXEC), 0);
	/* A forked child that drops to uid 65534 itself: nothing to exec,
	 * so no library path that uid 65534 may not read (a musl build's
	 * cmocka lives in the checkout). */
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		if (dup2(o[1], 1) < 0 || dup2(i[0], 0) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		_exit(child_rdlock(path, b));
	}
	close(o[1]);
	close(i[0]);
	*in = i[1];
	n = read(o[0], out, size - 1);
	close(o[0]);
	out[n > 0 ? n : 0] = 0;
	out[strcspn(out, "\n")] = 0;
}

static void end_locker(pid_t pid, int in)
{
	int status;

	close(in);
	assert_int_equal(tu_waitpid(pid, 20000, &status), 0);
}

static mode_t mode_of(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm/%s", name + 1);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Created 0644, a channel is 0600: uid 65534 cannot open it to hold a
 * consumer's slot with a read lock, and the consumer attaches. */
static void test_reader_cannot_hold_a_slot(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx = NULL;
	char out[64];
	pid_t pid;
	int in;

	(void)state;
	if (geteuid() != 0) {
		tu_skip("not root: cannot become uid 65534");
		return;
	}
	assert_int_equal(shmx_chan_create(name, 4096, P, 0644, &tx), 0);
	assert_int_equal(mode_of(name), 0600);
	rdlock_as_nobody(name, SHMX__CHAN_LOCK_CONS(0), out, sizeof(out), &pid, &in);
	print_message("# uid 65534 on the consumer's slot: %s\n", out);
	assert_string_equal(out, "EACCES");
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	end_locker(pid, in);
	shmx_chan_close(rx);
	shmx_chan_close(tx);
}

/* Write permission keeps read permission: 0664 is 0660, 0666 stays, and
 * whoever may write may take part anyway. */
static void test_modes_keep_write(void **state)
{
	static const mode_t in[] = { 0600, 0640, 0644, 0660, 0664, 0666, 0620, 0200 };
	static const mode_t want[] = { 0600, 0600, 0600, 0660, 0660, 0666, 0660, 0600 };
	struct shmx_chan *tx;

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		const char *name = tu_name();

		assert_int_equal(shmx_chan_create(name, 4096, P, in[i], &tx), 0);
		assert_int_equal(mode_of(name), want[i]);
		shmx_chan_close(tx);
	}
}

/* ---- a child forked from a participant ---- */

/* The consumer (X, a child of ours) forks Y; Y opens the producer, fills
 * the ring and waits for the go; we kill X. Y's inherited copy of X's
 * handle must not keep X's slot held: Y's send, waiting for room, sees X's
 * death (-EOWNERDEAD), not its own deadline; and the inherited handle
 * answers SHMX__FORKED. Y becomes our child when X dies (we are its
 * subreaper) and reports through its exit code. */
static void forked_child(const char *name, int pidw, int ready, int go)
{
	struct shmx_chan *rx, *tx;
	char buf[64] = { 0 };
	pid_t y;

	TU_CKEQ(shmx_chan_open(name, C, LONG_MS, &rx), 0);
	y = fork();
	TU_CK(y >= 0);
	if (y) {
		/* Its own pipe: Y's event on ready may come first. */
		TU_CK(write(pidw, &y, sizeof(y)) == sizeof(y));
		for (;;)
			pause();
	}
	TU_CKEQ(shmx_chan_open(name, P, LONG_MS, &tx), 0);
	while (shmx_chan_send(tx, buf, 56, 0) == 0)
		;
	TU_CKEQ(shmx_chan_recv(rx, buf, sizeof(buf), 0), SHMX__FORKED);
	TU_CKEQ(shmx_chan_fd(rx), SHMX__FORKED);
	tu_ev_post(ready);
	TU_CK(tu_ev_wait(go, LONG_MS));
	TU_CKEQ(shmx_chan_send(tx, buf, 56, 5000), -EOWNERDEAD);
	shmx_chan_close(rx);
	shmx_chan_close(tx);
	_exit(0);
}

static void test_forked_child_sees_parent_die(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c;
	int pidp[2], ready[2], go[2], code = -1;
	pid_t x, y = 0;

	(void)state;
	TU_SKIP_IF_EMULATED("qemu-user refuses prctl(PR_SET_CHILD_SUBREAPER), which reaps the orphaned child");
	assert_int_equal(pipe(pidp), 0);
	tu_ev_init(ready);
	tu_ev_init(go);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	/* The name stays; the producer's slot is free for Y. */
	assert_int_equal(shmx_chan_create(name, 128, P, 0, &c), 0);
	c = shmx_chan_close(c);
	x = tu_fork();
	if (x == 0)
		forked_child(name, pidp[1], ready[1], go[0]);
	assert_int_equal(read(pidp[0], &y, sizeof(y)), (ssize_t)sizeof(y));
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	tu_kill9(x, LONG_MS);
	tu_ev_post(go[1]);
	assert_int_equal(tu_child_verdict(y, 20000, &code), 0);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	close(pidp[0]);
	close(pidp[1]);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* A handle a child inherited is the parent's: in the child every call
 * answers SHMX__FORKED and its close leaves the parent's slot as it was;
 * the parent goes on with it. */
static void test_inherited_handle_is_the_parents(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *tx, *rx;
	struct shmx_chan_peer peers[2];
	char buf[64];
	void *p;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_chan_create(name, 256, P, 0, &tx), 0);
	assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
	pid = tu_fork();
	if (pid == 0) {
		TU_CKEQ(shmx_chan_send(tx, "x", 1, 0), SHMX__FORKED);
		TU_CKEQ(shmx_chan_reserve(tx, 1, &p, 0), SHMX__FORKED);
		TU_CKEQ(shmx_chan_recv(rx, buf, sizeof(buf), 0), SHMX__FORKED);
		TU_CKEQ(shmx_chan_peek(rx, (const void **)&p, 0), SHMX__FORKED);
		TU_CKEQ(shmx_chan_used(rx), SHMX__FORKED);
		/* a call of the other role too: the handle, not the role */
		TU_CKEQ(shmx_chan_recv(tx, buf, sizeof(buf), 0), SHMX__FORKED);
		TU_CKEQ(shmx_chan_send(rx, "x", 1, 0), SHMX__FORKED);
		TU_CKEQ(shmx_chan_commit(tx, 0), SHMX__FORKED);
		shmx_chan_close(rx);
		shmx_chan_close(tx);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, 20000, NULL), 0);
	assert_int_equal(shmx_chan_peers(name, peers, 2), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(peers[i].state, SHMX_PEER_ATTACHED);
	assert_int_equal(shmx_chan_send(tx, "hello", 5, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 5);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_reader_cannot_hold_a_slot),
		T(test_modes_keep_write),
		T(test_forked_child_sees_parent_die),
		T(test_inherited_handle_is_the_parents),
	};
	const char *copy;

	if (argc == 4 && !strcmp(argv[1], "--rdlock"))
		return child_rdlock(argv[2], argv[3]);
	signal(SIGPIPE, SIG_IGN);
	copy = geteuid() == 0 ? tu_copy_for_others("tests/test-channel-live") : NULL;
	if (copy)
		snprintf(self_copy, sizeof(self_copy), "%s", copy);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
