/* SPDX-License-Identifier: MIT */
/* Limits, with real processes: running out of descriptors (EMFILE) and of
 * address space (ENOMEM, under RLIMIT_AS), a full /dev/shm (ENOSPC, on a
 * private 1 MiB tmpfs; a create larger than it; a resize refused), and
 * 10,000 open/close and create/unlink cycles.
 * Every failure leaves the same descriptors, mappings and names as before;
 * nothing is leaked by a cycle. Children that change a limit report with
 * their exit status (tu_fork, tu_child_verdict). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "testutil.h"
#include "wrap-fallocate.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define CHILD_MS 120000
#define MIB ((size_t)1 << 20)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char prefix[64];         /* "shmx-test-<our pid>-" */

/* ---- what a process holds ---- */

static int count_shm_maps(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/dev/shm") != NULL;
	fclose(f);
	return n;
}

struct snap {
	int fds, maps, names;
};

static struct snap snapshot(void)
{
	struct snap s = { tu_count_fds(), count_shm_maps(), tu_devshm_count(prefix) };

	return s;
}

static bool snap_equal(struct snap a, struct snap b)
{
	if (a.fds == b.fds && a.maps == b.maps && a.names == b.names)
		return true;
	fprintf(stderr, "# before: %d fds, %d maps, %d names; after: %d, %d, %d\n", a.fds,
		a.maps, a.names, b.fds, b.maps, b.names);
	return false;
}
/* ---- resources: EMFILE ---- */

struct emf {
	const char *fresh, *fresh_chan, *chan, *pair_region;
	struct shmx_region *bare;       /* a region without a pair */
	struct shmx_region *second;     /* another handle on pair_region */
	struct rlimit saved;
};

static int highest_fd(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int max = -1, fd;

	TU_CK(d != NULL);
	while ((de = readdir(d))) {
		fd = atoi(de->d_name);
		if (de->d_name[0] != '.' && fd != dirfd(d) && fd > max)
			max = fd;
	}
	closedir(d);
	return max;
}

/* Fill the holes below the highest descriptor, so that a limit of
 * highest + 1 + extra leaves exactly extra descriptors free. */
static void fill_holes(void)
{
	int max = highest_fd(), fd;

	while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && fd < max)
		;
	if (fd > max)
		close(fd);
}

static void lower_nofile(struct emf *e, int extra)
{
	struct rlimit rl = e->saved;

	rl.rlim_cur = (rlim_t)(highest_fd() + 1 + extra);
	TU_CK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

static void restore_nofile(struct emf *e)
{
	TU_CK(setrlimit(RLIMIT_NOFILE, &e->saved) == 0);
}

static long emf_create(struct emf *e, int extra)
{
	struct shmx_region *r;
	long rc;

	lower_nofile(e, extra);
	rc = shmx_create(e->fresh, 4096, SHMX_MAP, 0, &r);
	restore_nofile(e);
	if (!rc) {
		shmx_close(r);
		TU_CKEQ(shmx_unlink(e->fresh), 0);
	}
	return rc;
}

static long emf_open(struct emf *e, int extra)
{
	struct shmx_region *r;
	long rc;

	lower_nofile(e, extra);
	rc = shmx_open(e->pair_region, SHMX_MAP, &r);
	restore_nofile(e);
	if (!rc)
		shmx_close(r);
	return rc;
}

static long emf_pair_create(struct emf *e, int extra)
{
	struct shmx_pair *p;
	long rc;

	lower_nofile(e, extra);
	rc = shmx_pair_create(e->bare, W, 0, &p);
	restore_nofile(e);
	if (!rc) {
		shmx_pair_close(p);
		TU_CKEQ(shmx_pair_unlink(shmx_name(e->bare)), 0);
	}
	return rc;
}

static long emf_pair_open(struct emf *e, int extra)
{
	struct shmx_pair *p;
	long rc;

	lower_nofile(e, extra);
	rc = shmx_pair_open(e->second, R, &p);
	restore_nofile(e);
	if (!rc)
		shmx_pair_close(p);
	return rc;
}

static long emf_chan_create(struct emf *e, int extra)
{
	struct shmx_chan *c;
	long rc;

	lower_nofile(e, extra);
	rc = shmx_chan_create(e->fresh_chan, 4096, P, 0, &c);
	restore_nofile(e);
	if (!rc) {
		shmx_chan_close(c);
		TU_CKEQ(shmx_chan_unlink(e->fresh_chan), 0);
	}
	return rc;
}

static long emf_chan_open(struct emf *e, int extra)
{
	struct shmx_chan *c;
	long rc;

	lower_nofile(e, extra);
	rc = shmx_chan_open(e->chan, C, 0, &c);
	restore_nofile(e);
	if (!rc)
		shmx_chan_close(c);
	return rc;
}

static const struct {
	const char *what;
	long (*op)(struct emf *e, int extra);
} emf_ops[] = {
	{ "shmx_create", emf_create },
	{ "shmx_open", emf_open },
	{ "shmx_pair_create", emf_pair_create },
	{ "shmx_pair_open", emf_pair_open },
	{ "shmx_chan_create", emf_chan_create },
	{ "shmx_chan_open", emf_chan_open },
};

/* For each function, limits of 0 to 4 free descriptors: at 0 a clean
 * -EMFILE, at every limit success or -EMFILE, and after a failure the
 * same descriptors, mappings and names as before. */
static void emfile_child(struct emf *e)
{
	struct shmx_region *pr;
	struct shmx_pair *owner;
	struct shmx_chan *prod;
	struct snap before;
	long rc;

	TU_CK(getrlimit(RLIMIT_NOFILE, &e->saved) == 0);
	TU_CKEQ(shmx_create(e->pair_region, 4096, SHMX_MAP, 0, &pr), 0);
	TU_CKEQ(shmx_pair_create(pr, W, 0, &owner), 0);
	TU_CKEQ(shmx_open(e->pair_region, SHMX_MAP, &e->second), 0);
	TU_CKEQ(shmx_create(e->fresh + 0, 4096, SHMX_MAP, 0, &e->bare), 0);
	TU_CKEQ(shmx_unlink(e->fresh), 0);  /* the bare region needs no name */
	TU_CKEQ(shmx_chan_create(e->chan, 4096, P, 0, &prod), 0);
	for (size_t i = 0; i < sizeof(emf_ops) / sizeof(emf_ops[0]); i++) {
		for (int extra = 0; extra <= 4; extra++) {
			fill_holes();
			before = snapshot();
			rc = emf_ops[i].op(e, extra);
			if (rc && rc != -EMFILE && rc != -ENFILE)
				fprintf(stderr, "# %s with %d free fds\n", emf_ops[i].what, extra);
			TU_CK(rc == 0 || rc == -EMFILE || rc == -ENFILE);
			if (extra == 0 && rc == 0)
				fprintf(stderr, "# %s succeeded without a free fd\n", emf_ops[i].what);
			TU_CK(extra > 0 || rc < 0);
			if (!snap_equal(before, snapshot()))
				fprintf(stderr, "# %s with %d free fds leaked\n", emf_ops[i].what,
					extra);
			TU_CK(snap_equal(before, snapshot()));
		}
	}
	_exit(0);
}

static void test_out_of_descriptors_is_emfile_and_leaks_nothing(void **state)
{
	struct emf e = { 0 };
	pid_t pid;

	(void)state;
	e.fresh = tu_name();
	e.fresh_chan = tu_name();
	e.chan = tu_name();
	e.pair_region = tu_name();
	pid = tu_fork();
	if (pid == 0)
		emfile_child(&e);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
}

/* ---- resources: ENOMEM ---- */

static size_t vm_size(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	size_t kb = 0;

	TU_CK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	TU_CK(kb > 0);
	return kb * 1024;
}

static void enomem_child(const char *n[4])
{
	const size_t big = 64 * MIB;
	struct shmx_region *ex, *r = NULL;
	struct shmx_chan *prod, *c;
	struct rlimit rl;
	struct snap before;

	/* Existing objects to open, made before the limit. */
	TU_CKEQ(shmx_create(n[2], big, SHMX_LAZY, 0, &ex), 0);
	TU_CKEQ(shmx_chan_create(n[3], big, P, 0, &prod), 0);
	rl.rlim_cur = rl.rlim_max = vm_size() + 32 * MIB;
	TU_CK(setrlimit(RLIMIT_AS, &rl) == 0);
	before = snapshot();
	TU_CKEQ(shmx_create(n[0], big, SHMX_MAP, 0, &r), -ENOMEM);
	TU_CK(snap_equal(before, snapshot()));
	TU_CKEQ(shmx_create(n[0], big, SHMX_POPULATE | SHMX_LAZY, 0, &r), -ENOMEM);
	TU_CK(snap_equal(before, snapshot()));
	TU_CKEQ(shmx_chan_create(n[1], big, P, 0, &c), -ENOMEM);
	TU_CK(snap_equal(before, snapshot()));
	TU_CKEQ(shmx_open(n[2], SHMX_MAP, &r), -ENOMEM);
	TU_CK(snap_equal(before, snapshot()));
	TU_CKEQ(shmx_map(ex), -ENOMEM);
	TU_CK(shmx_addr(ex) == NULL);
	TU_CK(snap_equal(before, snapshot()));
	TU_CKEQ(shmx_chan_open(n[3], C, 0, &c), -ENOMEM);
	TU_CK(snap_equal(before, snapshot()));
	TU_CK(r == NULL);
	TU_CK(!tu_exists(n[0]) && !tu_exists(n[1]));
	_exit(0);
}

static void test_out_of_address_space_is_enomem_and_leaks_nothing(void **state)
{
	const char *n[4];
	pid_t pid;

	(void)state;
	if (UNDER_ASAN)
		tu_skip("AddressSanitizer reserves terabytes of address space: no RLIMIT_AS");
	TU_SKIP_IF_EMULATED("qemu-user does not apply RLIMIT_AS to the program it runs");
	for (int i = 0; i < 4; i++)
		n[i] = tu_name();
	pid = tu_fork();
	if (pid == 0)
		enomem_child(n);
	assert_int_equal(tu_child_verdict(pid, CHILD_MS, NULL), 0);
}

/* ---- resources: 10,000 cycles ---- */

#define CYCLES 10000

static void expect_same(struct snap a, struct snap b, const char *what)
{
	if (!snap_equal(a, b))
		fail_msg("%s leaked", what);
}

static void test_10000_pair_cycles_leak_nothing(void **state)
{
	const char *name = tu_name(), *other = tu_name();
	struct shmx_region *r, *r2, *b;
	struct shmx_pair *owner, *p;
	struct snap before;
	int i, rc = 0;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, 0, &owner), 0);
	assert_int_equal(shmx_create(other, 4096, SHMX_MAP, 0, &b), 0);
	before = snapshot();
	for (i = 0; i < CYCLES && !rc; i++) {
		rc = shmx_open(name, SHMX_MAP, &r2);
		if (!rc && (rc = shmx_pair_open(r2, R, &p)) == 0)
			shmx_pair_close(p);
		if (!rc)
			shmx_close(r2);
	}
	assert_int_equal(rc, 0);
	expect_same(before, snapshot(), "10,000 region+pair open/close cycles");
	for (i = 0; i < CYCLES && !rc; i++) {
		rc = shmx_pair_create(b, W, 0, &p);
		if (!rc) {
			shmx_pair_close(p);
			rc = shmx_pair_unlink(other);
		}
	}
	assert_int_equal(rc, 0);
	expect_same(before, snapshot(), "10,000 pair create/close/unlink cycles");
	shmx_pair_close(owner);
	shmx_close(r);
	shmx_close(b);
}

static void test_10000_channel_cycles_leak_nothing(void **state)
{
	const char *name = tu_name(), *other = tu_name();
	struct shmx_chan *prod, *c;
	struct snap before;
	int i, rc = 0;
	char buf[8];

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &prod), 0);
	before = snapshot();
	for (i = 0; i < CYCLES && !rc; i++) {
		rc = shmx_chan_open(name, C, 0, &c);
		if (!rc) {
			/* every consumer gets the message sent for it */
			rc = shmx_chan_send(prod, &i, sizeof(i), 0);
			if (!rc && shmx_chan_recv(c, buf, sizeof(buf), 0) != sizeof(i))
				rc = -EIO;
			shmx_chan_close(c);
		}
	}
	assert_int_equal(rc, 0);
	expect_same(before, snapshot(), "10,000 channel open/close cycles");
	for (i = 0; i < CYCLES && !rc; i++) {
		rc = shmx_chan_create(other, 4096, P, 0, &c);
		if (!rc) {
			shmx_chan_close(c);
			rc = shmx_chan_unlink(other);
		}
	}
	assert_int_equal(rc, 0);
	expect_same(before, snapshot(), "10,000 channel create/close/unlink cycles");
	shmx_chan_close(prod);
}

/* ---- a full /dev/shm ---- */

static int devshm_entries(char *list, size_t len)
{
	struct dirent *de;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	TU_CK(d != NULL);
	list[0] = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		n++;
		snprintf(list + strlen(list), len - strlen(list), " %s", de->d_name);
	}
	closedir(d);
	return n;
}

static void full_devshm_child(const char *n[4])
{
	struct shmx_region *r, *fill, *x = NULL;
	struct shmx_chan *c = NULL;
	struct shmx_pair *p = NULL;
	struct statvfs vfs;
	char list[4096];
	size_t free_bytes;
	long rc;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("shmx-test", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777"))
		tu_child_skip("cannot mount a private tmpfs on /dev/shm (no CAP_SYS_ADMIN?)");
	/* bigger than the whole tmpfs */
	TU_CKEQ(shmx_chan_create(n[0], 2 * MIB, P, 0, &c), -ENOSPC);
	TU_CKEQ(devshm_entries(list, sizeof(list)), 0);
	TU_CKEQ(shmx_create(n[0], 2 * MIB, SHMX_MAP, 0, &x), -ENOSPC);
	TU_CKEQ(devshm_entries(list, sizeof(list)), 0);
	/* a region for the pair, then fill every remaining page */
	TU_CKEQ(shmx_create(n[1], 4096, SHMX_MAP, 0, &r), 0);
	TU_CK(statvfs("/dev/shm", &vfs) == 0);
	free_bytes = (size_t)vfs.f_bavail * vfs.f_bsize;
	TU_CK(free_bytes > 0);
	TU_CKEQ(shmx_create(n[2], free_bytes, SHMX_MAP, 0, &fill), 0);
	/* reserved: every page of it can be written, no SIGBUS */
	memset(shmx_addr(fill), 0x5a, free_bytes);
	TU_CK(statvfs("/dev/shm", &vfs) == 0);
	TU_CKEQ(vfs.f_bavail, 0);
	rc = shmx_pair_create(r, W, 0, &p);
	fprintf(stderr, "# shmx_pair_create on a full tmpfs: %ld %s\n", rc, tu_errname(rc));
	TU_CKEQ(rc, -ENOSPC);
	TU_CK(p == NULL);
	TU_CKEQ(shmx_chan_create(n[3], 64, P, 0, &c), -ENOSPC);
	TU_CKEQ(shmx_create(n[3], 4096, 0, 0, &x), -ENOSPC);
	TU_CK(c == NULL && x == NULL);
	/* nothing but the region and the filler: no sem.*, no half object */
	if (devshm_entries(list, sizeof(list)) != 2)
		fprintf(stderr, "# left in the tmpfs:%s\n", list);
	TU_CKEQ(devshm_entries(list, sizeof(list)), 2);
	/* room again: the pair can be made */
	shmx_close(fill);
	TU_CKEQ(shmx_unlink(n[2]), 0);
	TU_CKEQ(shmx_pair_create(r, W, 0, &p), 0);
	_exit(0);
}

static void test_full_devshm_is_enospc_and_leaves_no_half_object(void **state)
{
	const char *n[4] = { tu_name(), tu_name(), tu_name(), tu_name() };
	pid_t pid;
	int code;

	(void)state;
	pid = tu_fork();
	if (pid == 0)
		full_devshm_child(n);
	if (tu_child_verdict(pid, CHILD_MS, &code) && code == TU_SKIP_CODE)
		tu_skip("cannot mount a private tmpfs on /dev/shm");
	assert_int_equal(code, 0);
}

/* ---- a create larger than /dev/shm, a full /dev/shm ---- */

static void test_create_enospc_larger_than_devshm(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = (struct shmx_region *)0x1;
	struct statvfs vfs;
	uint64_t total;

	(void)state;
	assert_int_equal(statvfs("/dev/shm", &vfs), 0);
	total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	assert_int_equal(shmx_create(name, total + (1 << 20), 0, 0, &r), -ENOSPC);
	assert_ptr_equal(r, (struct shmx_region *)0x1);
	assert_false(tu_exists(name));
}

/* A tmpfs of 1 MiB mounted over /dev/shm in a private mount namespace: a
 * full /dev/shm gives -ENOSPC at create time and leaves no name. */
static void test_create_enospc_small_tmpfs(void **state)
{
	pid_t pid;
	int code;

	(void)state;
	if (geteuid() != 0) {
		tu_skip("needs root to mount a small tmpfs");
		return;
	}
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *a = NULL, *b = NULL;

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("shmx-test", "/dev/shm", "tmpfs", 0, "size=1m") < 0)
			tu_child_skip("cannot mount tmpfs in a new mount namespace here");
		TU_CKEQ(shmx_create("/shmx-test-full-a", 768 << 10, 0, 0, &a), 0);
		TU_CKEQ(shmx_create("/shmx-test-full-b", 512 << 10, 0, 0, &b), -ENOSPC);
		TU_CK(!tu_exists("/shmx-test-full-b"));
		/* the reservation stays: the first object is fully writable */
		TU_CKEQ(shmx_map(a), 0);
		memset(shmx_addr(a), 1, 768 << 10);
		_exit(0);
	}
	tu_child_verdict(pid, 20000, &code);
	if (code == TU_SKIP_CODE) {
		tu_skip("cannot mount tmpfs in a new mount namespace here");
		return;
	}
	assert_int_equal(code, 0);
}

static void test_resize_failure_changes_nothing(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	fallocate_error = ENOSPC;
	assert_int_equal(shmx_resize(r, 1 << 20), -ENOSPC);
	assert_int_equal(shmx_size(r), 4096);
	assert_int_equal(fstat(shmx_fd(r), &st), 0);
	assert_int_equal(st.st_size, 4096);
	memset(shmx_addr(r), 1, 4096);
	shmx_close(r);
}

/* ---- group ---- */

static int group_setup(void **state)
{
	snprintf(prefix, sizeof(prefix), TU_PREFIX "%d-", (int)getpid());
	return tu_group_setup(state);
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_out_of_descriptors_is_emfile_and_leaks_nothing),
		T(test_out_of_address_space_is_enomem_and_leaks_nothing),
		T(test_10000_pair_cycles_leak_nothing),
		T(test_10000_channel_cycles_leak_nothing),
		T(test_full_devshm_is_enospc_and_leaves_no_half_object),
		T(test_create_enospc_larger_than_devshm),
		T(test_create_enospc_small_tmpfs),
		T(test_resize_failure_changes_nothing),
	};

	return cmocka_run_group_tests(tests, group_setup, tu_group_teardown);
}
