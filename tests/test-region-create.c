/* SPDX-License-Identifier: MIT */
/* How a region is created (shmx(7), Creation): built unnamed, published
 * last, so a failure at any step, or a creator killed before it publishes,
 * leaves no name; a name taken meanwhile is left alone; and where an
 * unnamed object cannot be given a name (a kernel before 6.10 without
 * /proc), creates still work, with their exact mode. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"
#include "wrap-fallocate.h"

/* --wrap=linkat: as on a kernel before 6.10 (AT_EMPTY_PATH refused with
 * ENOENT without CAP_DAC_READ_SEARCH) with no /proc mounted. */
int __real_linkat(int olddir, const char *old, int newdir, const char *new, int flags);
int __wrap_linkat(int olddir, const char *old, int newdir, const char *new, int flags);
static bool linkat_old_kernel_no_proc;

int __wrap_linkat(int olddir, const char *old, int newdir, const char *new, int flags)
{
	if (linkat_old_kernel_no_proc &&
	    ((flags & AT_EMPTY_PATH) || !strncmp(old, "/proc/", strlen("/proc/")))) {
		errno = ENOENT;
		return -1;
	}
	return __real_linkat(olddir, old, newdir, new, flags);
}

/* Any failure after the name exists removes the name again. */
static void test_create_failure_leaves_nothing(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;

	(void)state;
	fallocate_error = ENOSPC;
	assert_int_equal(shmx_create(name, 65536, 0, 0, &r), -ENOSPC);
	assert_false(tu_exists(name));
	fallocate_error = EIO;
	assert_int_equal(shmx_create(name, 65536, SHMX_MAP, 0, &r), -EIO);
	assert_false(tu_exists(name));
	assert_null(r);
	fallocate_error = 0;
}

/* The two-step create behind every create: invisible until published,
 * nothing left if the creator dies first, -EEXIST at publish. */
static void test_hidden_create(void **state)
{
	const char *name = tu_name(), *taken = tu_name();
	struct shmx_region *r = NULL, *t = NULL;
	char child_name[64] = "";
	int p[2];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx__create(name, 4096, SHMX_MAP, 0640, &r), 0);
	assert_false(tu_exists(name));
	memset(shmx_addr(r), 7, 4096);
	assert_int_equal(shmx__publish(r, name), 0);
	assert_string_equal(shmx_name(r), name);
	assert_true(tu_exists(name));
	assert_int_equal(lstat(tu_shm_path(name), &(struct stat){ 0 }), 0);
	shmx_close(r);
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	assert_int_equal(((char *)shmx_addr(r))[4095], 7);
	shmx_close(r);
	/* the name was taken meanwhile: publish fails, discard leaves the
	 * other object alone */
	assert_int_equal(shmx__create(taken, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_create(taken, 100, 0, 0, &t), 0);
	assert_int_equal(shmx__publish(r, taken), -EEXIST);
	shmx__discard(r);
	assert_true(tu_exists(taken));
	assert_int_equal(shmx_size(t), 100);
	shmx_close(t);
	/* large sizes fail fast, before reserving anything */
	assert_int_equal(shmx__create(taken, 2 << 20, 0, 0, &r), -EEXIST);
	/* a creator killed before publishing leaves nothing at all */
	snprintf(child_name, sizeof(child_name), "%s", tu_name());
	tu_ev_init(p);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *h = NULL;

		TU_CKEQ(shmx__create(child_name, 1 << 20, 0, 0, &h), 0);
		tu_ready_forever(p[1]);
	}
	close(p[1]);
	assert_true(tu_ev_wait(p[0], 10000));
	tu_kill9(pid, 10000);
	assert_false(tu_exists(child_name));
	close(p[0]);
}

/* Where an unnamed object cannot be given a name, creates still work:
 * a region and a channel with their exact mode whatever the umask, a
 * failed create leaves no name, a taken name stays untouched. Returns 0,
 * or the number of the step that failed (it runs in children too). */
static int create_where_unnamed_cannot_be_linked(const char *region, const char *chan)
{
	struct shmx_chan *c = NULL, *cc = NULL;
	struct shmx_region *r = NULL;
	mode_t old = umask(077);
	char msg[8] = "";
	struct stat st;
	int step = 0;

	if (++step && shmx_create(region, 8192, SHMX_MAP, 0644, &r))
		goto out;
	if (++step && (fstat(shmx_fd(r), &st) || (st.st_mode & 07777) != 0644 ||
		       st.st_size != 8192 || lstat(tu_shm_path(region), &st)))
		goto out;
	if (++step && shmx_create(region, 4096, 0, 0, &(struct shmx_region *){ 0 }) != -EEXIST)
		goto out;
	if (++step && (lstat(tu_shm_path(region), &st) || st.st_size != 8192))
		goto out;
	if (++step && shmx_chan_create(chan, 4096, SHMX_CHAN_PRODUCER, 0640, &c))
		goto out;
	/* read permission only with write: 0640 is 0600 (shmx__lock_mode()) */
	if (++step && (lstat(tu_shm_path(chan), &st) || (st.st_mode & 07777) != 0600))
		goto out;
	if (++step && (shmx_chan_open(chan, SHMX_CHAN_CONSUMER, 1000, &cc) ||
		       shmx_chan_send(c, "hi", 3, 1000) || shmx_chan_recv(cc, msg, 8, 1000) != 3 ||
		       strcmp(msg, "hi")))
		goto out;
	step = 0;
out:
	shmx_chan_close(cc);
	shmx_chan_close(c);
	shmx_close(r);
	umask(old);
	return step;
}

static void test_create_where_unnamed_cannot_be_linked(void **state)
{
	const char *region = tu_name(), *chan = tu_name(), *failed = tu_name();
	struct shmx_region *r = NULL;
	int step;

	(void)state;
	linkat_old_kernel_no_proc = true;
	step = create_where_unnamed_cannot_be_linked(region, chan);
	/* a create that fails part-way takes its name away again */
	fallocate_error = ENOSPC;
	assert_int_equal(shmx_create(failed, 65536, 0, 0, &r), -ENOSPC);
	fallocate_error = 0;
	linkat_old_kernel_no_proc = false;
	if (step)
		fail_msg("step %d failed", step);
	assert_false(tu_exists(failed));
	assert_null(r);
}

/* seccomp: linkat with AT_EMPTY_PATH fails with ENOENT, as before Linux
 * 6.10 for a process without CAP_DAC_READ_SEARCH. */
static int refuse_empty_path_links(void)
{
#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef TEST_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_linkat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* flags, the low word of the fifth argument (little-endian) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOENT),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	return -1;
#endif
}

/* Both routes really closed: AT_EMPTY_PATH refused, no /proc/self/fd. */
static bool unnamed_cannot_be_linked(void)
{
	int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0);
	bool closed;

	closed = fd >= 0 && linkat(fd, "", AT_FDCWD, "/dev/shm", AT_EMPTY_PATH) < 0 &&
		 errno == ENOENT && access("/proc/self/fd", F_OK) < 0;
	if (fd >= 0)
		close(fd);
	return closed;
}

/* The same for real, as in a container or chroot without /proc on a
 * kernel before 6.10: a child in its own mount namespace unmounts /proc
 * and has linkat(AT_EMPTY_PATH) refused by the kernel (seccomp). */
static void test_create_without_proc_on_old_kernel(void **state)
{
	const char *region = tu_name(), *chan = tu_name();
	pid_t pid;
	int code;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    umount2("/proc", MNT_DETACH) || refuse_empty_path_links())
			tu_child_skip("cannot unmount /proc in a mount namespace or "
				      "install seccomp here");
		/* could the child still link an unnamed file? */
		TU_CK(unnamed_cannot_be_linked());
		/* the step that failed, if one did */
		TU_CKEQ(create_where_unnamed_cannot_be_linked(region, chan), 0);
		_exit(0);
	}
	tu_child_verdict(pid, 30000, &code);
	if (code == TU_SKIP_CODE) {
		tu_skip("cannot unmount /proc in a mount namespace or install seccomp here");
		return;
	}
	assert_int_equal(code, 0);
	assert_true(tu_exists(region));
	assert_true(tu_exists(chan));
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_failure_leaves_nothing),
		T(test_hidden_create),
		T(test_create_where_unnamed_cannot_be_linked),
		T(test_create_without_proc_on_old_kernel),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
