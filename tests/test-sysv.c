/* SPDX-License-Identifier: MIT */
/* System V segments as regions: exclusive create with the exact mode, attach
 * by key or id (read-only too), no implicit removal, a removed segment that
 * lives until its last detach, IPC_STAT metadata, the system's limits,
 * nothing left after a failed create (shmx_sysv_create(3)). Other processes
 * on a segment (a creator killed, a tutorial program, ipcs) are
 * test-sysv-peers.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysv-util.h"

static char priv_dir[] = "/tmp/shmx-test-priv-XXXXXX";   /* mode 0700 */
static char priv_path[64];

/* Wrapped: fail shmat on demand. */
static int fail_shmat;

void *__real_shmat(int id, const void *addr, int flg);
void *__wrap_shmat(int id, const void *addr, int flg);
void *__wrap_shmat(int id, const void *addr, int flg)
{
	if (fail_shmat) {
		errno = fail_shmat;
		return (void *)-1;
	}
	return __real_shmat(id, addr, flg);
}

/* ---- create ---- */

/* SysV applies the mode as given: no umask, whatever the caller's. */
static void test_create_has_exact_mode_zeroed_pages_and_metadata(void **state)
{
	struct shmx_region *r = NULL, *r2 = NULL;
	struct shmx_sysv_info info;
	key_t k = tkey();
	mode_t old = umask(077);
	int id;

	(void)state;
	assert_int_equal(shmx_sysv_create(k, SZ, SHMX_MAP, 0664, &r), 0);
	assert_int_equal(shmx_sysv_create(tkey(), SZ, 0, 0, &r2), 0);
	umask(old);
	id = shmx_sysv_id(r);
	assert_true(id >= 0);
	info = sinfo(id);
	assert_int_equal(info.key, k);
	assert_int_equal(info.id, id);
	assert_int_equal(info.size, SZ);
	assert_int_equal(info.mode, 0664);
	assert_int_equal(info.uid, geteuid());
	assert_int_equal(info.cuid, geteuid());
	assert_int_equal(info.gid, getegid());
	assert_int_equal(info.cpid, getpid());
	assert_int_equal(info.nattch, 1);
	assert_int_equal(info.removed, 0);
	assert_true(info.ctime > 0);
	assert_int_equal(sinfo(shmx_sysv_id(r2)).mode, 0600);
	assert_int_equal(shmx_size(r), SZ);
	for (size_t i = 0; i < SZ; i++)
		assert_int_equal(((unsigned char *)shmx_addr(r))[i], 0);
	shmx_close(r2);
	shmx_close(r);
}

static void test_create_never_adopts_an_existing_key(void **state)
{
	struct shmx_region *r = NULL, *out = (void *)&state;
	key_t k = tkey();

	(void)state;
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0, &r), 0);
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0, &out), -EEXIST);
	assert_ptr_equal(out, (void *)&state);
	shmx_close(r);
}

static void test_private_key_makes_a_new_segment_each_time(void **state)
{
	struct shmx_region *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(shmx_sysv_create(IPC_PRIVATE, SZ, 0, 0, &a), 0);
	track_id(shmx_sysv_id(a));
	assert_int_equal(shmx_sysv_create(IPC_PRIVATE, SZ, 0, 0, &b), 0);
	track_id(shmx_sysv_id(b));
	assert_int_not_equal(shmx_sysv_id(a), shmx_sysv_id(b));
	assert_int_equal(sinfo(shmx_sysv_id(a)).key, IPC_PRIVATE);
	assert_int_equal(shmx_sysv_open(IPC_PRIVATE, 0, &b), -EINVAL);
	shmx_close(a);
	shmx_close(b);
}

/* A step after shmget fails: the segment it made is removed again. */
static void test_failed_create_removes_its_segment(void **state)
{
	struct shmx_region *r = NULL;
	key_t k = tkey();

	(void)state;
	fail_shmat = ENOMEM;
	assert_int_equal(shmx_sysv_create(k, SZ, SHMX_MAP, 0, &r), -ENOMEM);
	fail_shmat = 0;
	assert_null(r);
	assert_int_equal(shmget(k, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(shmx_sysv_create(k, SZ, SHMX_MAP, 0, &r), 0);
	shmx_close(r);
}

/* ---- attach ---- */

static void test_open_by_key_and_by_id_see_the_same_bytes(void **state)
{
	struct shmx_region *w = NULL, *a = NULL, *b = NULL;
	key_t k = tkey();
	char buf[6];

	(void)state;
	assert_int_equal(shmx_sysv_create(k, SZ, SHMX_MAP, 0, &w), 0);
	assert_int_equal(shmx_write(w, 100, "hello", 6), 6);
	assert_int_equal(shmx_sysv_open(k, SHMX_MAP, &a), 0);
	assert_int_equal(shmx_sysv_open_id(shmx_sysv_id(w), 0, &b), 0);
	assert_int_equal(shmx_sysv_id(a), shmx_sysv_id(w));
	assert_int_equal(shmx_size(a), SZ);
	assert_string_equal((char *)shmx_addr(a) + 100, "hello");
	assert_null(shmx_addr(b));
	assert_int_equal(shmx_read(b, 100, buf, 6), 6);
	assert_string_equal(buf, "hello");
	assert_int_equal(sinfo(shmx_sysv_id(w)).nattch, 2);
	shmx_close(a);
	shmx_close(b);
	shmx_close(w);
}

static void test_open_of_a_missing_segment_is_enoent(void **state)
{
	struct shmx_region *r = NULL;

	(void)state;
	assert_int_equal(shmx_sysv_open(tkey(), 0, &r), -ENOENT);
	assert_int_equal(shmx_sysv_open_id(INT32_MAX, 0, &r), -ENOENT);
	assert_null(r);
}

/* A read-only attach is SHM_RDONLY: a store through it faults. */
static void test_rdonly_attach_refuses_writes(void **state)
{
	struct shmx_region *w = NULL, *r = NULL;
	key_t k = tkey();
	pid_t pid;
	int code;

	(void)state;
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0600, &w), 0);
	assert_int_equal(shmx_sysv_open(k, SHMX_RDONLY | SHMX_MAP, &r), 0);
	assert_int_equal(shmx_write(r, 0, "x", 1), -EBADF);
	assert_int_equal(shmx_resize(r, 2 * SZ), -EBADF);
	pid = tu_fork();
	if (pid == 0) {
		*(volatile char *)shmx_addr(r) = 1;
		_exit(0);
	}
	tu_child_verdict(pid, 10000, &code);
	assert_int_equal(code, 128 + SIGSEGV);
	shmx_close(r);
	shmx_close(w);
}

/* What another user may not do with root's 0600 segment and key file. */
static void as_nobody(const struct shmx_region *w, key_t k)
{
	struct shmx_sysv_info info;
	struct shmx_region *r = NULL;
	key_t key;

	TU_CKEQ(setgroups(0, NULL), 0);
	TU_CKEQ(setresgid(NOBODY, NOBODY, NOBODY), 0);
	TU_CKEQ(setresuid(NOBODY, NOBODY, NOBODY), 0);
	TU_CKEQ(shmx_sysv_open(k, SHMX_RDONLY, &r), -EACCES);
	TU_CKEQ(shmx_sysv_open_id(shmx_sysv_id(w), 0, &r), -EACCES);
	TU_CKEQ(shmx_sysv_stat(shmx_sysv_id(w), &info), -EACCES);
	TU_CKEQ(shmx_sysv_remove(shmx_sysv_id(w)), -EPERM);
	TU_CKEQ(shmx_sysv_key(priv_path, 'A', &key), -EACCES);
	_exit(0);
}

/* Root bypasses the mode; an unprivileged user does not. */
static void test_open_without_permission_is_eacces(void **state)
{
	struct shmx_region *w = NULL;
	key_t k = tkey();
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to switch to uid %d", NOBODY);
	assert_non_null(mkdtemp(priv_dir));
	track_path(priv_dir);
	snprintf(priv_path, sizeof(priv_path), "%s/key", priv_dir);
	assert_int_equal(close(open(priv_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	track_path(priv_path);
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0600, &w), 0);
	pid = tu_fork();
	if (pid == 0)
		as_nobody(w, k);
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
	shmx_close(w);
}

/* shmx_map/shmx_unmap are shmat/shmdt: the attach count says so. */
static void test_map_and_unmap_attach_and_detach(void **state)
{
	struct shmx_region *r = NULL;
	int id;

	(void)state;
	assert_int_equal(shmx_sysv_create(tkey(), SZ, 0, 0, &r), 0);
	id = shmx_sysv_id(r);
	assert_int_equal(sinfo(id).nattch, 0);
	assert_int_equal(shmx_map(r), 0);
	assert_int_equal(shmx_map(r), -EALREADY);
	assert_int_equal(sinfo(id).nattch, 1);
	assert_int_equal(sinfo(id).lpid, getpid());
	assert_int_equal(shmx_sync(r), 0);
	assert_int_equal(shmx_unmap(r), 0);
	assert_int_equal(shmx_unmap(r), -EALREADY);
	assert_int_equal(sinfo(id).nattch, 0);
	/* unmapped copies attach for the copy only */
	assert_int_equal(shmx_write(r, SZ - 2, "z", 2), 2);
	assert_int_equal(shmx_write(r, SZ - 1, "zz", 2), -ERANGE);
	assert_int_equal(sinfo(id).nattch, 0);
	assert_int_equal(shmx_map(r), 0);
	assert_string_equal((char *)shmx_addr(r) + SZ - 2, "z");
	shmx_close(r);
	assert_int_equal(sinfo(id).nattch, 0);
}

static void test_fixed_size_and_no_descriptor_are_eopnotsupp(void **state)
{
	struct shmx_region *r = NULL, *p = NULL;
	struct shmx_info info;

	(void)state;
	assert_int_equal(shmx_sysv_create(tkey(), SZ, SHMX_MAP, 0640, &r), 0);
	assert_int_equal(shmx_resize(r, 2 * SZ), -EOPNOTSUPP);
	assert_int_equal(shmx_size(r), SZ);
	assert_int_equal(shmx_fd(r), -EOPNOTSUPP);
	assert_string_equal(shmx_name(r), "");
	assert_int_equal(shmx_fstat(r, &info), 0);
	assert_int_equal(info.size, SZ);
	assert_int_equal(info.mode, 0640);
	assert_int_equal(info.holders, SHMX_HOLDERS_UNKNOWN);
	assert_int_equal(shmx_create(tu_name(), SZ, 0, 0, &p), 0);
	assert_int_equal(shmx_sysv_id(p), -EOPNOTSUPP);
	shmx_close(p);
	shmx_close(r);
}

/* In an IPC namespace of its own (its limits and segments are its own), a
 * child meets the system's limits: a size above shmmax, no shmall left. */
static void set_limit(const char *path, int value)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%d\n", value) < 0 || fclose(f))
		tu_child_skip("cannot set the IPC namespace's limits here");
}

static void in_small_namespace(void)
{
	struct shmx_region *r = NULL;

	if (unshare(CLONE_NEWIPC) < 0)
		tu_child_skip("cannot make an IPC namespace here");
	set_limit("/proc/sys/kernel/shmmax", SZ);
	TU_CKEQ(shmx_sysv_create(IPC_PRIVATE, 2 * SZ, 0, 0, &r), -EINVAL);
	set_limit("/proc/sys/kernel/shmall", 0);
	TU_CKEQ(shmx_sysv_create(IPC_PRIVATE, SZ, 0, 0, &r), -ENOSPC);
	_exit(0);
}

static void test_system_limits_are_einval_and_enospc(void **state)
{
	pid_t pid;
	int code;

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root for an IPC namespace");
	pid = tu_fork();
	if (pid == 0)
		in_small_namespace();
	tu_child_verdict(pid, 10000, &code);
	if (code == TU_SKIP_CODE)
		tu_skip("no IPC namespace of its own here");
	assert_int_equal(code, 0);
}

/* An attach that does not fit in the address space is -ENOMEM. */
static void test_attach_beyond_the_address_space_is_enomem(void **state)
{
	struct shmx_region *w = NULL, *r = NULL;
	struct rlimit rl;
	key_t k = tkey();
	pid_t pid;

	(void)state;
	TU_SKIP_IF_EMULATED("qemu-user does not apply RLIMIT_AS to the program it runs");
	assert_int_equal(shmx_sysv_create(k, 256u << 20, 0, 0, &w), 0);
	pid = tu_fork();
	if (pid == 0) {
		rl.rlim_cur = rl.rlim_max = 0;  /* nothing new may be mapped */
		TU_CKEQ(setrlimit(RLIMIT_AS, &rl), 0);
		TU_CKEQ(shmx_sysv_open(k, SHMX_MAP, &r), -ENOMEM);
		TU_CKEQ(shmx_map(w), -ENOMEM);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
	shmx_close(w);
}

/* ---- removal ---- */

/* Closing, detaching, even the creator's exit remove nothing. */
static void test_close_and_exit_never_remove(void **state)
{
	struct shmx_region *r = NULL;
	key_t k = tkey();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		TU_CKEQ(shmx_sysv_create(k, SZ, SHMX_MAP, 0, &r), 0);
		_exit(0);
	}
	assert_int_equal(tu_child_verdict(pid, 10000, NULL), 0);
	assert_int_equal(shmx_sysv_open(k, SHMX_MAP, &r), 0);
	assert_int_equal(sinfo(shmx_sysv_id(r)).cpid, pid);
	r = shmx_close(r);
	assert_int_equal(shmx_sysv_open(k, 0, &r), 0);
	shmx_close(r);
}

/* IPC_RMID marks the segment; it lives on for those attached. */
static void test_removed_segment_lives_until_last_detach(void **state)
{
	struct shmx_region *r = NULL, *r2 = NULL;
	struct shmx_sysv_info info;
	key_t k = tkey();
	int id;

	(void)state;
	assert_int_equal(shmx_sysv_create(k, SZ, SHMX_MAP, 0, &r), 0);
	id = shmx_sysv_id(r);
	assert_int_equal(shmx_write(r, 0, "still", 6), 6);
	assert_int_equal(shmx_sysv_remove(id), 0);
	info = sinfo(id);
	assert_int_equal(info.removed, 1);
	assert_int_equal(info.key, IPC_PRIVATE);
	assert_int_equal(info.nattch, 1);
	assert_string_equal((char *)shmx_addr(r), "still");
	assert_int_equal(shmx_sysv_open(k, 0, &r2), -ENOENT);
	assert_int_equal(shmx_sysv_open_id(id, 0, &r2), -EIDRM);
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0, &r2), 0);   /* key is free */
	shmx_close(r2);
	assert_int_equal(shmx_sysv_open_id(id, 0, &r2), -EIDRM);
	assert_int_equal(shmx_unmap(r), 0);     /* the last detach */
	assert_int_equal(shmx_sysv_stat(id, &info), -ENOENT);
	assert_int_equal(shmx_map(r), -ENOENT);
	assert_int_equal(shmx_fstat(r, &(struct shmx_info){ 0 }), -ENOENT);
	shmx_close(r);
	assert_int_equal(shmx_sysv_remove(id), -ENOENT);
}

static void test_key_is_ftok_of_path_and_proj(void **state)
{
	char path[] = "/tmp/shmx-test-key-XXXXXX";
	key_t k = 0;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	track_path(path);
	assert_int_equal(shmx_sysv_key(path, 'A', &k), 0);
	assert_int_equal(k, ftok(path, 'A'));
	assert_int_equal(shmx_sysv_key(path, 255, &k), 0);
	assert_int_equal(k, ftok(path, 255));
	unlink(path);
	k = 7;
	assert_int_equal(shmx_sysv_key(path, 'A', &k), -ENOENT);
	assert_int_equal(k, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_has_exact_mode_zeroed_pages_and_metadata),
		T(test_create_never_adopts_an_existing_key),
		T(test_private_key_makes_a_new_segment_each_time),
		T(test_failed_create_removes_its_segment),
		T(test_open_by_key_and_by_id_see_the_same_bytes),
		T(test_open_of_a_missing_segment_is_enoent),
		T(test_rdonly_attach_refuses_writes),
		T(test_open_without_permission_is_eacces),
		T(test_map_and_unmap_attach_and_detach),
		T(test_fixed_size_and_no_descriptor_are_eopnotsupp),
		T(test_system_limits_are_einval_and_enospc),
		T(test_attach_beyond_the_address_space_is_enomem),
		T(test_close_and_exit_never_remove),
		T(test_removed_segment_lives_until_last_detach),
		T(test_key_is_ftok_of_path_and_proj),
	};

	return cmocka_run_group_tests(tests, sysv_group_setup, sysv_group_teardown);
}
