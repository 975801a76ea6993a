/* SPDX-License-Identifier: MIT */
/* Anonymous regions: a sealed memfd that no peer can truncate (EPERM, and
 * everyone goes on), inherited over fork, passed over a Unix socket to an
 * exec'd program, refused by a receiver when it is not sealed; liveness
 * slots on its descriptor; and a creator killed at any stage leaves
 * nothing. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define SZ       8192
#define BIG      (64u << 20)
#define PONG_OFF 64

static int seals_of(const struct shmx_region *r)
{
	return fcntl(shmx_fd(r), F_GET_SEALS);
}

/* ---- create ---- */

static void test_create_is_sized_zeroed_private_and_sealed(void **state)
{
	struct shmx_region *r = NULL;
	struct shmx_info info;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_anon_create(SZ, SHMX_MAP, &r), 0);
	assert_int_equal(shmx_size(r), SZ);
	assert_string_equal(shmx_name(r), "");
	assert_int_equal(seals_of(r) & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(st.st_blocks * 512 >= SZ);         /* pages reserved */
	assert_true(fcntl(shmx_fd(r), F_GETFD) & FD_CLOEXEC);
	for (size_t i = 0; i < SZ; i++)
		assert_int_equal(((unsigned char *)shmx_addr(r))[i], 0);
	assert_int_equal(shmx_fstat(r, &info), 0);
	assert_int_equal(info.size, SZ);
	assert_int_equal(info.mode, 0600);
	assert_int_equal(info.holders, 0);
	shmx_close(r);
}

static void test_lazy_create_reserves_nothing(void **state)
{
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_anon_create(BIG, SHMX_LAZY, &r), 0);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_size, BIG);
	assert_true(st.st_blocks * 512 < BIG);
	shmx_close(r);
}

/* Out of descriptors: -EMFILE from create and from fstat's new open file
 * description; out of address space: -ENOMEM, and nothing is left open. */
static void limited_child(void)
{
	struct shmx_region *r = NULL, *big = NULL;
	struct rlimit rl;
	int fds, fill[64], n = 0;

	TU_CKEQ(shmx_anon_create(SZ, 0, &r), 0);
	fds = tu_count_fds();
	rl.rlim_cur = rl.rlim_max = (rlim_t)fds + 8;
	TU_CKEQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	/* every number below the limit taken, holes included */
	while (n < 64 && (fill[n] = dup(0)) >= 0)
		n++;
	TU_CKEQ(shmx_anon_create(SZ, 0, &big), -EMFILE);
	TU_CKEQ(shmx_fstat(r, &(struct shmx_info){ 0 }), -EMFILE);
	while (n > 0)
		close(fill[--n]);
	if (tu_emulated())
		_exit(0);       /* no RLIMIT_AS: see the parent */
	rl.rlim_cur = rl.rlim_max = 0;  /* nothing new may be mapped */
	TU_CKEQ(setrlimit(RLIMIT_AS, &rl), 0);
	TU_CKEQ(shmx_anon_create(BIG, SHMX_MAP | SHMX_LAZY, &big), -ENOMEM);
	TU_CKEQ(tu_count_fds(), fds);
	_exit(0);
}

static void test_create_reports_emfile_and_enomem(void **state)
{
	pid_t pid;

	(void)state;
	if (tu_emulated())
		print_message("# under emulation (%s): -EMFILE checked, -ENOMEM not: "
			      "qemu-user does not apply RLIMIT_AS to the program it runs\n",
			      tu_emulated());
	pid = tu_fork();
	if (pid == 0)
		limited_child();
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
}

/* ---- no truncation ---- */

/* A peer holding the descriptor cannot shrink or grow it: EPERM, and
 * both go on using the whole mapping. */
static void test_truncation_by_a_peer_fails_with_eperm(void **state)
{
	struct shmx_region *r = NULL;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_anon_create(SZ, SHMX_MAP, &r), 0);
	pid = tu_fork();
	if (pid == 0) {
		TU_CK(ftruncate(shmx_fd(r), 0) < 0 && errno == EPERM);
		TU_CK(ftruncate(shmx_fd(r), SZ / 2) < 0 && errno == EPERM);
		TU_CK(ftruncate(shmx_fd(r), 2 * SZ) < 0 && errno == EPERM);
		TU_CK(fcntl(shmx_fd(r), F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM);
		((char *)shmx_addr(r))[SZ - 1] = 'c';
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
	assert_int_equal(((char *)shmx_addr(r))[SZ - 1], 'c');
	assert_int_equal(shmx_write(r, SZ - 2, "p", 1), 1);
	shmx_close(r);
}

/* shmx_resize obeys the seals and, when refused, changes nothing (the
 * mapping is not shrunk before the truncation is refused). */
static void test_resize_is_eperm_where_sealed(void **state)
{
	struct shmx_region *r = NULL;
	void *addr;

	(void)state;
	assert_int_equal(shmx_anon_create(SZ, SHMX_MAP, &r), 0);
	addr = shmx_addr(r);
	assert_int_equal(shmx_resize(r, SZ / 2), -EPERM);
	assert_int_equal(shmx_resize(r, 2 * SZ), -EPERM);
	assert_int_equal(shmx_size(r), SZ);
	assert_ptr_equal(shmx_addr(r), addr);
	((char *)addr)[SZ - 1] = 1;     /* still mapped in full */
	assert_int_equal(shmx_resize(r, SZ), 0);
	shmx_close(r);
}

static void test_growable_grows_but_never_shrinks(void **state)
{
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_anon_create(SZ, SHMX_MAP | SHMX_GROWABLE, &r), 0);
	assert_int_equal(seals_of(r) & F_SEAL_GROW, 0);
	assert_true(seals_of(r) & F_SEAL_SEAL);
	assert_int_equal(shmx_resize(r, 4 * SZ), 0);
	assert_int_equal(shmx_size(r), 4 * SZ);
	((char *)shmx_addr(r))[4 * SZ - 1] = 1;
	assert_int_equal(shmx_resize(r, SZ), -EPERM);
	assert_int_equal(shmx_size(r), 4 * SZ);
	shmx_close(r);
}

/* ---- fork ---- */

static void test_a_forked_child_shares_the_region(void **state)
{
	struct shmx_region *r = NULL;
	int go[2], done[2];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_anon_create(SZ, SHMX_MAP, &r), 0);
	tu_ev_init(go);
	tu_ev_init(done);
	pid = tu_fork();
	if (pid == 0) {
		char buf[8] = "";

		TU_CK(tu_ev_wait(go[0], 10000));
		TU_CKEQ(shmx_read(r, 0, buf, 7), 7);
		TU_CK(!strcmp(buf, "parent"));
		TU_CKEQ(shmx_write(r, 100, "child", 6), 6);
		tu_ev_post(done[1]);
		_exit(0);
	}
	assert_int_equal(shmx_write(r, 0, "parent", 7), 7);
	tu_ev_post(go[1]);
	assert_true(tu_ev_wait(done[0], 10000));
	assert_string_equal((char *)shmx_addr(r) + 100, "child");
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);
	shmx_close(r);
}

/* ---- over a Unix socket ---- */

/* The exec'd peer knows only its socket: it reads our "ping", is refused a
 * truncation, writes "pong"; we see it, and go on using the region. */
static void test_an_execd_process_receives_reads_and_writes_it(void **state)
{
	struct shmx_region *r = NULL;
	char num[16], *argv[] = { getenv("SHMX_ANON_PEER"), num, NULL };
	struct tu_result res;
	int sv[2];
	char c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	snprintf(num, sizeof(num), "%d", sv[1]);
	assert_int_equal(shmx_anon_create(SZ, SHMX_MAP, &r), 0);
	assert_int_equal(shmx_write(r, 0, "ping", 4), 4);
	assert_int_equal(shmx_anon_send(r, sv[0]), 0);
	assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	close(sv[1]);
	if (res.exit_code)
		tu_print_lines("anon-peer stderr", res.err);
	assert_int_equal(res.exit_code, 0);
	tu_result_free(&res);
	assert_int_equal(read(sv[0], &c, 1), 1);
	assert_memory_equal((char *)shmx_addr(r) + PONG_OFF, "pong", 4);
	assert_int_equal(shmx_write(r, SZ - 4, "more", 4), 4);
	close(sv[0]);
	shmx_close(r);
}

/* Send a raw descriptor (or none) the way a foreign sender might. */
static void send_fds(int sock, const int *fds, int n)
{
	char byte = 'x', buf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	memset(buf, 0, sizeof(buf));
	if (n) {
		msg.msg_control = buf;
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &msg, 0), 1);
}

static int recv_one(const int *fds, int n, unsigned flags)
{
	struct shmx_region *r = (void *)&flags, *orig = r;
	int sv[2], err, before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	send_fds(sv[0], fds, n);
	before = tu_count_fds();
	err = shmx_anon_recv(sv[1], flags, 1000, &r);
	if (err) {
		assert_ptr_equal(r, orig);
		assert_int_equal(tu_count_fds(), before);     /* nothing leaked */
	} else {
		shmx_close(r);
	}
	close(sv[0]);
	close(sv[1]);
	return err;
}

static int plain_memfd(size_t size)
{
	int fd = memfd_create("plain", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void test_receiver_refuses_an_unsealed_object(void **state)
{
	struct shmx_region *p = NULL;
	int fd = plain_memfd(SZ), sealed;

	(void)state;
	assert_int_equal(recv_one(&fd, 1, 0), -EPERM);
	assert_int_equal(recv_one(&fd, 1, SHMX_ALLOW_UNSEALED | SHMX_MAP), 0);
	/* a named object cannot carry seals at all */
	assert_int_equal(shmx_create(tu_name(), SZ, 0, 0, &p), 0);
	sealed = shmx_fd(p);
	assert_int_equal(recv_one(&sealed, 1, 0), -EPERM);
	assert_int_equal(recv_one(&sealed, 1, SHMX_ALLOW_UNSEALED), 0);
	shmx_close(p);
	/* sealed against shrinking only is enough */
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(recv_one(&fd, 1, SHMX_MAP), 0);
	close(fd);
}

static void test_receiver_validates_what_arrives(void **state)
{
	int empty = plain_memfd(0), pipefd[2], two[2];

	(void)state;
	assert_int_equal(fcntl(empty, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(recv_one(&empty, 1, 0), -ENODATA);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(recv_one(pipefd, 1, SHMX_ALLOW_UNSEALED), -EMEDIUMTYPE);
	assert_int_equal(recv_one(NULL, 0, 0), -EBADMSG);
	two[0] = pipefd[0];
	two[1] = pipefd[1];
	assert_int_equal(recv_one(two, 2, SHMX_ALLOW_UNSEALED), -EBADMSG);
	close(pipefd[0]);
	close(pipefd[1]);
	close(empty);
}

static void test_receive_waits_until_its_deadline(void **state)
{
	struct shmx_region *r = NULL;
	int sv[2];
	int64_t t0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(shmx_anon_recv(sv[1], 0, 0, &r), -EAGAIN);
	t0 = tu_now_ms();
	assert_int_equal(shmx_anon_recv(sv[1], 0, 200, &r), -ETIMEDOUT);
	assert_true(tu_now_ms() - t0 >= 200);
	assert_true(tu_now_ms() - t0 < 5000);
	close(sv[0]);
	assert_int_equal(shmx_anon_recv(sv[1], 0, 1000, &r), -EPIPE);
	assert_null(r);
	close(sv[1]);
}

static void test_send_refuses_other_kinds(void **state)
{
	struct shmx_region *p = NULL;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(shmx_create(tu_name(), SZ, 0, 0, &p), 0);
	assert_int_equal(shmx_anon_send(p, sv[0]), -EOPNOTSUPP);
	shmx_close(p);
	close(sv[1]);
	assert_int_equal(shmx_anon_create(SZ, 0, &p), 0);
	assert_int_equal(shmx_anon_send(p, sv[0]), -EPIPE);    /* peer gone */
	close(sv[0]);
	assert_int_equal(shmx_anon_send(p, sv[0]), -EBADF);
	shmx_close(p);
}

/* ---- liveness ---- */

/* A child takes a slot on its own description of the memfd; we see it
 * held, and free the moment the child is killed. */
static void test_a_dead_peer_frees_its_slot(void **state)
{
	struct shmx_region *r = NULL;
	struct shmx_info info;
	int ready[2], mine;
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_anon_create(SZ, 0, &r), 0);
	tu_ev_init(ready);
	pid = tu_fork();
	if (pid == 0) {
		int fd = shmx__reopen(r);

		TU_CK(fd >= 0);
		TU_CKEQ(shmx__slot_lock(fd, SHMX_SLOT_WRITER), 0);
		tu_ready_forever(ready[1]);
	}
	close(ready[1]);
	assert_true(tu_ev_wait(ready[0], 10000));
	assert_int_equal(shmx_fstat(r, &info), 0);
	assert_int_equal(info.holders, 1u << SHMX_SLOT_WRITER);
	mine = shmx__reopen(r);
	assert_int_equal(shmx__slot_lock(mine, SHMX_SLOT_WRITER), -EBUSY);
	close(mine);
	tu_kill9(pid, 10000);
	assert_int_equal(shmx_fstat(r, &info), 0);
	assert_int_equal(info.holders, 0);
	close(ready[0]);
	shmx_close(r);
}

/* ---- kill -9 during create ---- */

enum stage { NONE, AT_RESERVE, AT_MAP };

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

/* Shmem in /proc/meminfo, in kB: where a memfd's pages are counted. */
static long shmem_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Shmem: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Killed while building: there is no name to leave, and the pages it had
 * reserved go back with its descriptor. */
static void create_big(void *arg, int ready_fd)
{
	struct shmx_region *r = NULL;

	(void)arg;
	(void)ready_fd;
	shmx_anon_create(BIG, SHMX_MAP, &r);
}

static void crash_at(enum stage s)
{
	struct shmx_region *r = NULL;
	long held;
	pid_t pid;

	pid = tu_fork_stalled(s, create_big, NULL, 20000);
	held = shmem_kb();
	tu_kill9(pid, 10000);
	if (s == AT_MAP)
		assert_true(held - shmem_kb() >= (long)(BIG / 2048));
	assert_int_equal(shmx_anon_create(SZ, SHMX_MAP, &r), 0);
	shmx_close(r);
}

static void test_crash_before_reserve_leaves_nothing(void **state)
{
	(void)state;
	crash_at(AT_RESERVE);
}

static void test_crash_after_reserve_gives_the_pages_back(void **state)
{
	(void)state;
	crash_at(AT_MAP);
}

/* Every test removes what it made, whatever happened. */
#define T(fn) cmocka_unit_test_teardown(fn, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_is_sized_zeroed_private_and_sealed),
		T(test_lazy_create_reserves_nothing),
		T(test_create_reports_emfile_and_enomem),
		T(test_truncation_by_a_peer_fails_with_eperm),
		T(test_resize_is_eperm_where_sealed),
		T(test_growable_grows_but_never_shrinks),
		T(test_a_forked_child_shares_the_region),
		T(test_an_execd_process_receives_reads_and_writes_it),
		T(test_receiver_refuses_an_unsealed_object),
		T(test_receiver_validates_what_arrives),
		T(test_receive_waits_until_its_deadline),
		T(test_send_refuses_other_kinds),
		T(test_a_dead_peer_frees_its_slot),
		T(test_crash_before_reserve_leaves_nothing),
		T(test_crash_after_reserve_gives_the_pages_back),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
