/* SPDX-License-Identifier: MIT */
/* System V segments as regions: exclusive create with the exact mode, attach
 * by key or id (read-only too), no implicit removal, a removed segment that
 * lives until its last detach, IPC_STAT metadata, nothing left after a
 * failed create, what a kill -9 during create leaves (shmx_sysv_create(3)),
 * and data exchanged both ways with a tutorial-style program. The group
 * fails if the SysV table holds a segment afterwards that it did not hold
 * before. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define SZ       8192
#define MAX_SEGS 256
#define KEY_BASE 0x53000000     /* "S": test keys, 0x53PPPPNN */
#define NOBODY   65534

/* ---- segments the tests make, removed in teardown ---- */

static key_t keys[MAX_SEGS];
static int n_keys;
static int ids[MAX_SEGS];
static int n_ids;

/* A fresh key for this process, removed (if used) in teardown. */
static key_t tkey(void)
{
	static unsigned n;
	key_t k = (key_t)(KEY_BASE | ((getpid() & 0xffff) << 8) | (n++ & 0xff));

	assert_true(n_keys < MAX_SEGS);
	keys[n_keys++] = k;
	return k;
}

/* Files and directories a test makes under /tmp, removed in teardown. */
static char paths[8][64];
static int n_paths;

static const char *track_path(const char *path)
{
	assert_true(n_paths < 8);
	snprintf(paths[n_paths], sizeof(paths[0]), "%s", path);
	return paths[n_paths++];
}

static void track_id(int id)
{
	assert_true(n_ids < MAX_SEGS);
	ids[n_ids++] = id;
}

static int teardown(void **state)
{
	int id;

	while (n_keys > 0) {
		id = shmget(keys[--n_keys], 0, 0);
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
	while (n_ids > 0)
		shmctl(ids[--n_ids], IPC_RMID, NULL);
	while (n_paths > 0)   /* files before their directory */
		if (unlink(paths[--n_paths]) < 0)
			rmdir(paths[n_paths]);
	return tu_teardown(state);
}

/* The ids in the SysV table now, as /proc/sysvipc/shm (what ipcs reads). */
static int table_ids(int *out, int max)
{
	char line[512];
	int n = 0, key, id;
	FILE *f = fopen("/proc/sysvipc/shm", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %d", &key, &id) == 2 && n < max)
			out[n++] = id;
	fclose(f);
	return n;
}

static int before[4096], n_before;

static int group_setup(void **state)
{
	n_before = table_ids(before, 4096);
	return n_before < 0 ? -1 : tu_group_setup(state);
}

static bool was_there(int id)
{
	for (int i = 0; i < n_before; i++)
		if (before[i] == id)
			return true;
	return false;
}

static int group_teardown(void **state)
{
	int now[4096], n = table_ids(now, 4096), left = 0;

	for (int i = 0; i < n; i++) {
		if (!was_there(now[i])) {
			fprintf(stderr, "# SysV segment %d left behind\n", now[i]);
			left++;
		}
	}
	return tu_group_teardown(state) || left ? -1 : 0;
}

static char priv_dir[] = "/tmp/shmx-test-priv-XXXXXX";   /* mode 0700 */
static char priv_path[64];

static struct shmx_sysv_info sinfo(int id)
{
	struct shmx_sysv_info info;

	assert_int_equal(shmx_sysv_stat(id, &info), 0);
	return info;
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

/* Wrapped calls: stop a child at a stage, or fail shmat on demand. */
enum stage { NONE, AT_SHMGET, AT_SHMAT };
static enum stage stall_at;
static int stall_fd = -1;
static int fail_shmat;

static void stall(enum stage s)
{
	if (stall_at != s)
		return;
	(void)!write(stall_fd, "s", 1);
	for (;;)
		pause();
}

int __real_shmget(key_t key, size_t size, int flg);
int __wrap_shmget(key_t key, size_t size, int flg);
int __wrap_shmget(key_t key, size_t size, int flg)
{
	stall(AT_SHMGET);
	return __real_shmget(key, size, flg);
}

void *__real_shmat(int id, const void *addr, int flg);
void *__wrap_shmat(int id, const void *addr, int flg);
void *__wrap_shmat(int id, const void *addr, int flg)
{
	stall(AT_SHMAT);
	if (fail_shmat) {
		errno = fail_shmat;
		return (void *)-1;
	}
	return __real_shmat(id, addr, flg);
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
	int st;

	(void)state;
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0600, &w), 0);
	assert_int_equal(shmx_sysv_open(k, SHMX_RDONLY | SHMX_MAP, &r), 0);
	assert_int_equal(shmx_write(r, 0, "x", 1), -EBADF);
	assert_int_equal(shmx_resize(r, 2 * SZ), -EBADF);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		*(volatile char *)shmx_addr(r) = 1;
		_exit(0);
	}
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	shmx_close(r);
	shmx_close(w);
}

/* What another user may not do with root's 0600 segment and key file. */
static int as_nobody(const struct shmx_region *w, key_t k)
{
	struct shmx_sysv_info info;
	struct shmx_region *r = NULL;
	key_t key;

	if (shmx_sysv_open(k, SHMX_RDONLY, &r) != -EACCES)
		return 1;
	if (shmx_sysv_open_id(shmx_sysv_id(w), 0, &r) != -EACCES)
		return 2;
	if (shmx_sysv_stat(shmx_sysv_id(w), &info) != -EACCES)
		return 3;
	if (shmx_sysv_remove(shmx_sysv_id(w)) != -EPERM)
		return 4;
	if (shmx_sysv_key(priv_path, 'A', &key) != -EACCES)
		return 5;
	return 0;
}

/* Root bypasses the mode; an unprivileged user does not. */
static void test_open_without_permission_is_eacces(void **state)
{
	struct shmx_region *w = NULL;
	key_t k = tkey();
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to switch to uid %d", NOBODY);
	assert_non_null(mkdtemp(priv_dir));
	track_path(priv_dir);
	snprintf(priv_path, sizeof(priv_path), "%s/key", priv_dir);
	assert_int_equal(close(open(priv_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	track_path(priv_path);
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0600, &w), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(9);
		_exit(as_nobody(w, k));
	}
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
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
static int in_small_namespace(void)
{
	struct shmx_region *r = NULL;
	FILE *f;

	if (unshare(CLONE_NEWIPC) < 0)
		return 10;
	f = fopen("/proc/sys/kernel/shmmax", "we");
	if (!f || fprintf(f, "%d\n", SZ) < 0 || fclose(f))
		return 11;
	if (shmx_sysv_create(IPC_PRIVATE, 2 * SZ, 0, 0, &r) != -EINVAL)
		return 1;
	f = fopen("/proc/sys/kernel/shmall", "we");
	if (!f || fprintf(f, "0\n") < 0 || fclose(f))
		return 12;
	if (shmx_sysv_create(IPC_PRIVATE, SZ, 0, 0, &r) != -ENOSPC)
		return 2;
	return 0;
}

static void test_system_limits_are_einval_and_enospc(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root for an IPC namespace");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(in_small_namespace());
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) >= 10)
		tu_skip("cannot make an IPC namespace here (step %d)", WEXITSTATUS(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* An attach that does not fit in the address space is -ENOMEM. */
static void test_attach_beyond_the_address_space_is_enomem(void **state)
{
	struct shmx_region *w = NULL, *r = NULL;
	struct rlimit rl;
	key_t k = tkey();
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(shmx_sysv_create(k, 256u << 20, 0, 0, &w), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rl.rlim_cur = rl.rlim_max = 0;  /* nothing new may be mapped */
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(9);
		_exit(shmx_sysv_open(k, SHMX_MAP, &r) == -ENOMEM &&
		      shmx_map(w) == -ENOMEM ? 0 : 1);
	}
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	shmx_close(w);
}

/* ---- removal ---- */

/* Closing, detaching, even the creator's exit remove nothing. */
static void test_close_and_exit_never_remove(void **state)
{
	struct shmx_region *r = NULL;
	key_t k = tkey();
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(shmx_sysv_create(k, SZ, SHMX_MAP, 0, &r) ? 1 : 0);
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
	assert_int_equal(WEXITSTATUS(st), 0);
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

/* ---- kill -9 during create ---- */

typedef void (*child_fn)(key_t key, int ready_fd);

static pid_t crash_child(enum stage s, child_fn fn, key_t key)
{
	struct pollfd pfd;
	int p[2], st;
	pid_t pid;
	char c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		stall_at = s;
		stall_fd = p[1];
		fn(key, p[1]);
		_exit(3);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 20000), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, 10000, &st), 0);
	assert_true(WIFSIGNALED(st));
	return pid;
}

static void make_segment(key_t key, int ready_fd)
{
	struct shmx_region *r = NULL;

	(void)ready_fd;
	if (shmx_sysv_create(key, SZ, SHMX_MAP, 0640, &r))
		_exit(1);
	_exit(2);
}

static void fresh_create(key_t key)
{
	struct shmx_region *r = NULL;

	assert_int_equal(shmx_sysv_create(key, SZ, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(r)), 0);
	shmx_close(r);
}

static void test_crash_before_shmget_leaves_nothing(void **state)
{
	key_t k = tkey();

	(void)state;
	crash_child(AT_SHMGET, make_segment, k);
	assert_int_equal(shmget(k, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	fresh_create(k);
}

/* SysV has no unnamed build step: shmget makes the whole segment, sized,
 * zeroed, with its mode, under its key. A creator killed after it leaves
 * that complete segment, unattached, until someone removes it. */
static void test_crash_after_shmget_leaves_a_complete_segment(void **state)
{
	struct shmx_region *r = NULL;
	struct shmx_sysv_info info;
	key_t k = tkey();
	pid_t pid;

	(void)state;
	pid = crash_child(AT_SHMAT, make_segment, k);
	assert_int_equal(shmx_sysv_create(k, SZ, 0, 0, &r), -EEXIST);
	assert_int_equal(shmx_sysv_open(k, SHMX_MAP, &r), 0);
	info = sinfo(shmx_sysv_id(r));
	assert_int_equal(info.cpid, pid);
	assert_int_equal(info.size, SZ);
	assert_int_equal(info.mode, 0640);
	assert_int_equal(info.nattch, 1);       /* ours only */
	assert_int_equal(((unsigned char *)shmx_addr(r))[SZ - 1], 0);
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(r)), 0);
	shmx_close(r);
	fresh_create(k);
}

/* ---- a tutorial-style program ---- */

static int run_tutorial(char **argv, char **out)
{
	struct tu_result res;
	int rc;

	assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	if (res.exit_code)
		tu_print_lines("sysv-tutorial stderr", res.err);
	rc = res.exit_code;
	if (out)
		*out = strdup(res.out);
	tu_result_free(&res);
	return rc;
}

struct tut {
	char path[64];
	char sem1[128], sem2[128];
	key_t key;
};

/* A key file and two semaphore names the teardown sweeps. */
static void tut_setup(struct tut *t)
{
	const char *base = tu_name();
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/shmx-test-tut-XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	close(fd);
	track_path(t->path);
	snprintf(t->sem1, sizeof(t->sem1), "%s.shmx-w", base);
	snprintf(t->sem2, sizeof(t->sem2), "%s.shmx-r", base);
	assert_int_equal(shmx_sysv_key(t->path, 'R', &t->key), 0);
	assert_true(n_keys < MAX_SEGS);
	keys[n_keys++] = t->key;
}

static void test_libshmx_reads_what_a_tutorial_writer_wrote(void **state)
{
	struct tut t;
	struct shmx_region *r = NULL;
	char buf[64] = "";
	char *argv[] = { getenv("SHMX_SYSV_TUTORIAL"), "write", t.path, "82",
			 t.sem1, t.sem2, "written by the tutorial", NULL };

	(void)state;
	tut_setup(&t);
	assert_int_equal(run_tutorial(argv, NULL), 0);
	assert_int_equal(shmx_sysv_open(t.key, SHMX_RDONLY, &r), 0);
	assert_int_equal(shmx_read(r, 0, buf, sizeof(buf)), sizeof(buf));
	assert_string_equal(buf, "written by the tutorial");
	assert_int_equal(shmx_sysv_remove(shmx_sysv_id(r)), 0);
	shmx_close(r);
}

static void test_a_tutorial_reader_reads_what_libshmx_wrote(void **state)
{
	struct tut t;
	struct shmx_region *r = NULL;
	char *out = NULL;
	char *argv[] = { getenv("SHMX_SYSV_TUTORIAL"), "read", t.path, "82",
			 t.sem1, t.sem2, NULL };
	int id;

	(void)state;
	tut_setup(&t);
	assert_int_equal(shmx_sysv_create(t.key, 4096, 0, 0644, &r), 0);
	id = shmx_sysv_id(r);
	assert_int_equal(shmx_write(r, 0, "written by libshmx", 19), 19);
	r = shmx_close(r);
	assert_int_equal(run_tutorial(argv, &out), 0);
	assert_string_equal(out, "written by libshmx");
	free(out);
	/* the tutorial reader destroys the segment when done */
	assert_int_equal(shmx_sysv_open_id(id, 0, &r), -ENOENT);
}

/* ipcs(1) of util-linux lists the segment: key, id, perms, bytes, nattch. */
static void test_ipcs_shows_the_segment(void **state)
{
	char *argv[] = { "/usr/bin/ipcs", "-m", NULL };
	struct shmx_region *r = NULL;
	unsigned long long bytes = 0, nattch = 0;
	struct tu_result res;
	char want[32], owner[64];
	const char *line;
	int id = -1;
	unsigned perms = 0;
	key_t k = tkey();

	(void)state;
	if (access(argv[0], X_OK))
		tu_skip("no %s", argv[0]);
	assert_int_equal(shmx_sysv_create(k, 12288, SHMX_MAP, 0640, &r), 0);
	snprintf(want, sizeof(want), "0x%08x ", (unsigned)k);
	assert_int_equal(tu_run(argv, NULL, 0, 20000, &res), 0);
	assert_int_equal(res.exit_code, 0);
	line = strstr(res.out, want);
	if (!line) {
		tu_print_lines("ipcs -m", res.out);
		fail_msg("ipcs -m does not list key %s", want);
	}
	assert_int_equal(sscanf(line + strlen(want), "%d %63s %o %llu %llu", &id, owner,
				&perms, &bytes, &nattch), 5);
	assert_int_equal(id, shmx_sysv_id(r));
	assert_int_equal(perms, 0640);
	assert_int_equal(bytes, 12288);
	assert_int_equal(nattch, 1);
	tu_result_free(&res);
	shmx_close(r);
}

/* Every test removes what it made, whatever happened. */
#define T(fn) cmocka_unit_test_teardown(fn, teardown)

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
		T(test_crash_before_shmget_leaves_nothing),
		T(test_crash_after_shmget_leaves_a_complete_segment),
		T(test_libshmx_reads_what_a_tutorial_writer_wrote),
		T(test_a_tutorial_reader_reads_what_libshmx_wrote),
		T(test_ipcs_shows_the_segment),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
