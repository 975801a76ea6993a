/* SPDX-License-Identifier: MIT */
/* Hardening with real processes: running out of descriptors and address
 * space, 10,000 open/close cycles, attachers that exit or are killed, modes
 * under any umask, planted files and links, group-writable channels,
 * FD_CLOEXEC across exec, an unprivileged user, SIGALRM storms during waits
 * and long transfers, a peer truncating a mapped object, a full /dev/shm.
 *
 * Children report with their exit status: 0 passed, 77 skipped (with the
 * reason on stderr), anything else failed (the line on stderr). They never
 * return into cmocka, and reset the fatal signals cmocka catches. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define LONG_MS 20000           /* "forever" in a test: failing beats hanging */
#define CHILD_MS 120000
#define SKIP_CODE 77
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

/* ---- children ---- */

static const char *errname(long v)
{
	const char *s = v < 0 ? strerrorname_np((int)-v) : NULL;

	return s ? s : "";
}

static void child_fail(int line, const char *what, long got, long want, int eq)
{
	if (eq)
		fprintf(stderr, "# child %d, line %d: %s = %ld %s, expected %ld %s\n",
			(int)getpid(), line, what, got, errname(got), want, errname(want));
	else
		fprintf(stderr, "# child %d, line %d: %s (errno %s)\n", (int)getpid(), line,
			what, strerrorname_np(errno) ? strerrorname_np(errno) : "0");
	_exit(1);
}

#define CK(cond) do { if (!(cond)) child_fail(__LINE__, #cond, 0, 0, 0); } while (0)
#define CKEQ(a, b)                                                               \
	do {                                                                     \
		long a_ = (long)(a), b_ = (long)(b);                             \
		if (a_ != b_)                                                    \
			child_fail(__LINE__, #a, a_, b_, 1);                     \
	} while (0)

static void child_skip(const char *why)
{
	fprintf(stderr, "# SKIP: %s\n", why);
	_exit(SKIP_CODE);
}

static pid_t fork_child(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM };
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
	return pid;
}

/* Exit status of pid as a number: the code, 128 + signal, -1 on timeout. */
static int child_code(pid_t pid, int ms)
{
	int status;

	if (tu_waitpid(pid, ms, &status))
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void expect_code(int code, const char *what)
{
	if (code == -1)
		fail_msg("%s: the child did not finish in time", what);
	if (code > 128)
		fail_msg("%s: the child was killed by signal %d (%s)", what, code - 128,
			 strsignal(code - 128));
	if (code)
		fail_msg("%s: the child failed (exit %d; its message is above)", what, code);
}

static void expect_child(pid_t pid, int ms, const char *what)
{
	expect_code(child_code(pid, ms), what);
}

/* ---- events between processes: a byte through a pipe, with deadlines ---- */

static void ev_init(int ev[2])
{
	assert_int_equal(pipe2(ev, O_CLOEXEC), 0);
}

static void ev_signal(int fd)
{
	char c = 1;

	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static bool ev_wait(int fd, int ms)
{
	int64_t end = tu_now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	while (tu_now_ms() < end) {
		int n = poll(&p, 1, (int)(end - tu_now_ms()));

		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0)
			return read(fd, &c, 1) == 1;
	}
	return false;
}

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

static bool shm_exists(const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "/dev/shm/%s", name + 1);
	return access(path, F_OK) == 0;
}

/* fmt with its one "%s" replaced by name without its slash. */
static void devshm_path(char *buf, size_t len, const char *fmt, const char *name)
{
	const char *hole = strstr(fmt, "%s");

	snprintf(buf, len, "%.*s%s%s", (int)(hole - fmt), fmt, name + 1, hole + 2);
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

	CK(d != NULL);
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
	CK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

static void restore_nofile(struct emf *e)
{
	CK(setrlimit(RLIMIT_NOFILE, &e->saved) == 0);
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
		CKEQ(shmx_unlink(e->fresh), 0);
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
		CKEQ(shmx_pair_unlink(shmx_name(e->bare)), 0);
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
		CKEQ(shmx_chan_unlink(e->fresh_chan), 0);
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

	CK(getrlimit(RLIMIT_NOFILE, &e->saved) == 0);
	CKEQ(shmx_create(e->pair_region, 4096, SHMX_MAP, 0, &pr), 0);
	CKEQ(shmx_pair_create(pr, W, 0, &owner), 0);
	CKEQ(shmx_open(e->pair_region, SHMX_MAP, &e->second), 0);
	CKEQ(shmx_create(e->fresh + 0, 4096, SHMX_MAP, 0, &e->bare), 0);
	CKEQ(shmx_unlink(e->fresh), 0);  /* the bare region needs no name */
	CKEQ(shmx_chan_create(e->chan, 4096, P, 0, &prod), 0);
	for (size_t i = 0; i < sizeof(emf_ops) / sizeof(emf_ops[0]); i++) {
		for (int extra = 0; extra <= 4; extra++) {
			fill_holes();
			before = snapshot();
			rc = emf_ops[i].op(e, extra);
			if (rc && rc != -EMFILE && rc != -ENFILE)
				fprintf(stderr, "# %s with %d free fds\n", emf_ops[i].what, extra);
			CK(rc == 0 || rc == -EMFILE || rc == -ENFILE);
			if (extra == 0 && rc == 0)
				fprintf(stderr, "# %s succeeded without a free fd\n", emf_ops[i].what);
			CK(extra > 0 || rc < 0);
			if (!snap_equal(before, snapshot()))
				fprintf(stderr, "# %s with %d free fds leaked\n", emf_ops[i].what,
					extra);
			CK(snap_equal(before, snapshot()));
		}
	}
	_exit(0);
}

static void test_emfile(void **state)
{
	struct emf e = { 0 };
	pid_t pid;

	(void)state;
	e.fresh = tu_name();
	e.fresh_chan = tu_name();
	e.chan = tu_name();
	e.pair_region = tu_name();
	pid = fork_child();
	if (pid == 0)
		emfile_child(&e);
	expect_child(pid, CHILD_MS, "EMFILE");
}

/* ---- resources: ENOMEM ---- */

static size_t vm_size(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	size_t kb = 0;

	CK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	CK(kb > 0);
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
	CKEQ(shmx_create(n[2], big, SHMX_LAZY, 0, &ex), 0);
	CKEQ(shmx_chan_create(n[3], big, P, 0, &prod), 0);
	rl.rlim_cur = rl.rlim_max = vm_size() + 32 * MIB;
	CK(setrlimit(RLIMIT_AS, &rl) == 0);
	before = snapshot();
	CKEQ(shmx_create(n[0], big, SHMX_MAP, 0, &r), -ENOMEM);
	CK(snap_equal(before, snapshot()));
	CKEQ(shmx_create(n[0], big, SHMX_POPULATE | SHMX_LAZY, 0, &r), -ENOMEM);
	CK(snap_equal(before, snapshot()));
	CKEQ(shmx_chan_create(n[1], big, P, 0, &c), -ENOMEM);
	CK(snap_equal(before, snapshot()));
	CKEQ(shmx_open(n[2], SHMX_MAP, &r), -ENOMEM);
	CK(snap_equal(before, snapshot()));
	CKEQ(shmx_map(ex), -ENOMEM);
	CK(shmx_addr(ex) == NULL);
	CK(snap_equal(before, snapshot()));
	CKEQ(shmx_chan_open(n[3], C, 0, &c), -ENOMEM);
	CK(snap_equal(before, snapshot()));
	CK(r == NULL);
	CK(!shm_exists(n[0]) && !shm_exists(n[1]));
	_exit(0);
}

static void test_enomem(void **state)
{
	const char *n[4];
	pid_t pid;

	(void)state;
	if (UNDER_ASAN)
		tu_skip("AddressSanitizer reserves terabytes of address space: no RLIMIT_AS");
	for (int i = 0; i < 4; i++)
		n[i] = tu_name();
	pid = fork_child();
	if (pid == 0)
		enomem_child(n);
	expect_child(pid, CHILD_MS, "ENOMEM");
}

/* ---- resources: 10,000 cycles ---- */

#define CYCLES 10000

static void expect_same(struct snap a, struct snap b, const char *what)
{
	if (!snap_equal(a, b))
		fail_msg("%s leaked", what);
}

static void test_cycles_pair(void **state)
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

static void test_cycles_chan(void **state)
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

/* ---- attachers never unlink ---- */

struct objs {
	const char *region, *chan;
	struct shmx_region *r;
	struct shmx_pair *w;
	struct shmx_chan *prod;
	bool holding;
	int round;
};

enum attacher { CLOSE_AND_EXIT, JUST_EXIT, KILLED, ROUND_TRIP };

static void attacher_child(struct objs *o, enum attacher how, int ready, int hold)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct shmx_chan *c;
	char buf[64], want[64];

	CKEQ(shmx_open(o->region, SHMX_MAP, &r), 0);
	CKEQ(shmx_pair_open(r, R, &p), 0);
	CKEQ(shmx_chan_open(o->chan, C, LONG_MS, &c), 0);
	ev_signal(ready);
	if (how == KILLED) {
		ev_wait(hold, LONG_MS);
		_exit(2);
	}
	if (how == ROUND_TRIP) {
		snprintf(want, sizeof(want), "ping %d", o->round);
		CKEQ(shmx_pair_wait(p, LONG_MS), 0);
		CKEQ(shmx_read(r, 0, buf, sizeof(buf)), sizeof(buf));
		CK(!strcmp(buf, want));
		snprintf(buf, sizeof(buf), "pong %d", o->round);
		CKEQ(shmx_write(r, 0, buf, sizeof(buf)), sizeof(buf));
		CKEQ(shmx_pair_post(p), 0);
		snprintf(want, sizeof(want), "message %d", o->round);
		CKEQ(shmx_chan_recv(c, buf, sizeof(buf), LONG_MS), strlen(want) + 1);
		CK(!strcmp(buf, want));
	}
	if (how != JUST_EXIT) {
		shmx_chan_close(c);
		shmx_pair_close(p);
		shmx_close(r);
	}
	_exit(0);
}

static void still_there(const struct objs *o)
{
	char buf[16];

	assert_true(shm_exists(o->region));
	assert_true(tu_sem_exists(o->region, ".shmx-w"));
	assert_true(tu_sem_exists(o->region, ".shmx-r"));
	assert_true(shm_exists(o->chan));
	assert_int_equal(shmx_read(o->r, 4000, buf, 6), 6);
	assert_memory_equal(buf, "intact", 6);
}

/* A new attacher in the same roles: a pair round trip and a message. */
static void round_trip(struct objs *o)
{
	char buf[64], want[64];
	int ev[2];
	pid_t pid;

	o->round++;
	ev_init(ev);
	pid = fork_child();
	if (pid == 0)
		attacher_child(o, ROUND_TRIP, ev[1], -1);
	assert_true(ev_wait(ev[0], LONG_MS));
	if (!o->holding)
		assert_int_equal(shmx_pair_wait(o->w, LONG_MS), 0);
	snprintf(buf, sizeof(buf), "ping %d", o->round);
	assert_int_equal(shmx_write(o->r, 0, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(shmx_pair_post(o->w), 0);
	snprintf(buf, sizeof(buf), "message %d", o->round);
	assert_int_equal(shmx_chan_send(o->prod, buf, strlen(buf) + 1, LONG_MS), 0);
	assert_int_equal(shmx_pair_wait(o->w, LONG_MS), 0);
	o->holding = true;
	snprintf(want, sizeof(want), "pong %d", o->round);
	assert_int_equal(shmx_read(o->r, 0, buf, sizeof(buf)), sizeof(buf));
	assert_string_equal(buf, want);
	expect_child(pid, LONG_MS, "round trip");
	close(ev[0]);
	close(ev[1]);
}

static void test_attachers_never_unlink(void **state)
{
	static const enum attacher hows[] = { CLOSE_AND_EXIT, JUST_EXIT, KILLED };
	struct objs o = { .region = tu_name(), .chan = tu_name() };
	int ev[2], hold[2];
	pid_t pid;

	(void)state;
	assert_int_equal(shmx_create(o.region, 4096, SHMX_MAP, 0, &o.r), 0);
	assert_int_equal(shmx_write(o.r, 4000, "intact", 6), 6);
	assert_int_equal(shmx_pair_create(o.r, W, 0, &o.w), 0);
	assert_int_equal(shmx_chan_create(o.chan, 4096, P, 0, &o.prod), 0);
	round_trip(&o);
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		ev_init(ev);
		ev_init(hold);
		pid = fork_child();
		if (pid == 0)
			attacher_child(&o, hows[i], ev[1], hold[0]);
		assert_true(ev_wait(ev[0], LONG_MS));
		if (hows[i] == KILLED) {
			assert_int_equal(kill(pid, SIGKILL), 0);
			assert_int_equal(child_code(pid, LONG_MS), 128 + SIGKILL);
		} else {
			expect_child(pid, LONG_MS, "attacher");
		}
		still_there(&o);
		round_trip(&o);
		still_there(&o);
		close(ev[0]);
		close(ev[1]);
		close(hold[0]);
		close(hold[1]);
	}
	shmx_chan_close(o.prod);
	shmx_pair_close(o.w);
	shmx_close(o.r);
}

/* ---- security: modes ---- */

static mode_t mode_of(const char *fmt, const char *name)
{
	char path[600];
	struct stat st;

	devshm_path(path, sizeof(path), fmt, name);
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void make_all(mode_t mode, mode_t want)
{
	const char *region = tu_name(), *chan = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	struct shmx_chan *c;

	assert_int_equal(shmx_create(region, 4096, SHMX_MAP, mode, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, mode, &p), 0);
	assert_int_equal(shmx_chan_create(chan, 4096, P, mode, &c), 0);
	assert_int_equal(mode_of("/dev/shm/%s", region), want);
	assert_int_equal(mode_of("/dev/shm/sem.%s.shmx-w", region), want);
	assert_int_equal(mode_of("/dev/shm/sem.%s.shmx-r", region), want);
	assert_int_equal(mode_of("/dev/shm/%s", chan), want);
	shmx_chan_close(c);
	shmx_pair_close(p);
	shmx_close(r);
}

static void test_mode_any_umask(void **state)
{
	static const mode_t masks[] = { 022, 077, 000, 0777 };
	mode_t old = umask(0);

	(void)state;
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		umask(masks[i]);
		make_all(0, 0600);
		make_all(0640, 0640);
		make_all(0604, 0604);
	}
	umask(old);
}

/* ---- security: planted files and links are never adopted ---- */

struct planted {
	char path[600];
	struct stat st;
	bool link;
};

static const char planted_data[] = "planted by someone else\n";

static void plant_file(struct planted *pl, const char *fmt, const char *name)
{
	int fd;

	devshm_path(pl->path, sizeof(pl->path), fmt, name);
	fd = open(pl->path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, planted_data, sizeof(planted_data)), sizeof(planted_data));
	close(fd);
	assert_int_equal(lstat(pl->path, &pl->st), 0);
	pl->link = false;
}

static void plant_link(struct planted *pl, const char *fmt, const char *name,
		       const char *target)
{
	devshm_path(pl->path, sizeof(pl->path), fmt, name);
	assert_int_equal(symlink(target, pl->path), 0);
	assert_int_equal(lstat(pl->path, &pl->st), 0);
	pl->link = true;
}

static void same_file(const char *path, const struct stat *was)
{
	struct stat st;
	char buf[256];
	ssize_t n;
	int fd;

	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_ino, was->st_ino);
	assert_int_equal(st.st_mode, was->st_mode);
	assert_int_equal(st.st_size, was->st_size);
	assert_int_equal(st.st_uid, was->st_uid);
	assert_true(st.st_mtim.tv_sec == was->st_mtim.tv_sec &&
		    st.st_mtim.tv_nsec == was->st_mtim.tv_nsec);
	if (S_ISLNK(st.st_mode))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, sizeof(planted_data));
	assert_memory_equal(buf, planted_data, sizeof(planted_data));
}

static void target_file(char *path, size_t len, struct stat *st)
{
	int fd;

	snprintf(path, len, "/tmp/shmx-test-target-%d", (int)getpid());
	unlink(path);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, planted_data, sizeof(planted_data)), sizeof(planted_data));
	close(fd);
	assert_int_equal(stat(path, st), 0);
}

static void test_planted_region_chan(void **state)
{
	char target[128];
	struct stat tst;
	struct planted pl;
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL;
	const char *name;

	(void)state;
	target_file(target, sizeof(target), &tst);
	for (int kind = 0; kind < 2; kind++) {
		name = tu_name();
		if (kind)
			plant_link(&pl, "/dev/shm/%s", name, target);
		else
			plant_file(&pl, "/dev/shm/%s", name);
		assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), -EEXIST);
		assert_int_equal(shmx_create(name, 4096, SHMX_LAZY, 0, &r), -EEXIST);
		assert_int_equal(shmx_chan_create(name, 4096, P, 0, &c), -EEXIST);
		assert_null(r);
		assert_null(c);
		same_file(pl.path, &pl.st);
		same_file(target, &tst);
		/* and opening does not follow the link either */
		if (kind)
			assert_int_equal(shmx_open(name, 0, &r), -ELOOP);
	}
	unlink(target);
}

static void test_planted_semaphores(void **state)
{
	static const char *const which[] = { "/dev/shm/sem.%s.shmx-w", "/dev/shm/sem.%s.shmx-r" };
	char target[128];
	struct stat tst;
	struct planted pl;
	struct shmx_region *r;
	struct shmx_pair *p = NULL;
	const char *name;

	(void)state;
	target_file(target, sizeof(target), &tst);
	for (int w = 0; w < 2; w++) {
		for (int kind = 0; kind < 2; kind++) {
			name = tu_name();
			assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
			if (kind)
				plant_link(&pl, which[w], name, target);
			else
				plant_file(&pl, which[w], name);
			assert_int_equal(shmx_pair_create(r, W, 0, &p), -EEXIST);
			assert_null(p);
			same_file(pl.path, &pl.st);
			same_file(target, &tst);
			/* no half pair: the other semaphore is not left behind */
			assert_false(tu_sem_exists(name, w ? ".shmx-w" : ".shmx-r"));
			shmx_close(r);
		}
	}
	/* A planted sem.NAME (glibc's file for a semaphore "/NAME") is not
	 * the pair's: it is neither used nor touched. */
	name = tu_name();
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	plant_file(&pl, "/dev/shm/sem.%s", name);
	assert_int_equal(shmx_pair_create(r, W, 0, &p), 0);
	same_file(pl.path, &pl.st);
	assert_int_equal(mode_of("/dev/shm/sem.%s.shmx-w", name), 0600);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(unlink(pl.path), 0);
	unlink(target);
}

/* ---- security: what an attacher refuses ---- */

static void test_chan_open_shared(void **state)
{
	static const struct {
		mode_t mode;
		int expect;
	} modes[] = {
		{ 0660, -EACCES }, { 0620, -EACCES }, { 0602, -EACCES }, { 0666, -EACCES },
		{ 0640, 0 },       { 0644, 0 },       { 0600, 0 },
	};
	struct shmx_chan *prod, *c;
	const char *name;

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		name = tu_name();
		assert_int_equal(shmx_chan_create(name, 4096, P, modes[i].mode, &prod), 0);
		assert_int_equal(shmx_chan_open(name, C, 0, &c), modes[i].expect);
		if (!modes[i].expect)
			shmx_chan_close(c);
		assert_int_equal(shmx_chan_open(name, C | SHMX_ALLOW_SHARED, 0, &c), 0);
		shmx_chan_close(c);
		shmx_chan_close(prod);
	}
	/* made private, then opened up by a "peer" */
	name = tu_name();
	assert_int_equal(shmx_chan_create(name, 4096, P, 0, &prod), 0);
	{
		char path[600];

		devshm_path(path, sizeof(path), "/dev/shm/%s", name);
		assert_int_equal(chmod(path, 0666), 0);
		assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
		/* owned by someone else, however private */
		assert_int_equal(chmod(path, 0600), 0);
		if (geteuid() == 0) {
			assert_int_equal(chown(path, 65534, 65534), 0);
			assert_int_equal(shmx_chan_open(name, C, 0, &c), -EACCES);
			assert_int_equal(shmx_chan_open(name, C | SHMX_ALLOW_SHARED, 0, &c), 0);
			shmx_chan_close(c);
		}
	}
	shmx_chan_close(prod);
}

static void test_refuses_non_regular(void **state)
{
	const char *fifo = tu_name(), *dir = tu_name(), *link = tu_name(), *real = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL, *c2 = NULL;
	char path[600], target[600];
	int64_t t0;

	(void)state;
	devshm_path(path, sizeof(path), "/dev/shm/%s", fifo);
	assert_int_equal(mkfifo(path, 0600), 0);
	t0 = tu_now_ms();
	assert_int_equal(shmx_open(fifo, 0, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_open(fifo, SHMX_RDONLY, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_chan_open(fifo, C, 0, &c), -EMEDIUMTYPE);
	assert_true(tu_now_ms() - t0 < 5000); /* a FIFO never hangs the open */
	devshm_path(path, sizeof(path), "/dev/shm/%s", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(shmx_open(dir, 0, &r), -EISDIR);
	assert_int_equal(shmx_chan_open(dir, C, 0, &c), -EISDIR);
	assert_int_equal(rmdir(path), 0);
	/* a link to a real channel: refused, not followed */
	assert_int_equal(shmx_chan_create(real, 4096, P, 0, &c), 0);
	devshm_path(path, sizeof(path), "/dev/shm/%s", link);
	devshm_path(target, sizeof(target), "/dev/shm/%s", real);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(shmx_open(link, 0, &r), -ELOOP);
	assert_int_equal(shmx_chan_open(link, C, 0, &c2), -ELOOP);
	assert_null(r);
	assert_null(c2);
	shmx_chan_close(c);
}

/* ---- security: FD_CLOEXEC ---- */

/* Our descriptors that lead into /dev/shm; each must be close-on-exec. */
static int shm_fds(void)
{
	char path[64], target[600];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0, fd;
	ssize_t len;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		if (strncmp(target, "/dev/shm/", 9))
			continue;
		n++;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			fail_msg("fd %d (%s) is not close-on-exec", fd, target);
	}
	closedir(d);
	return n;
}

static void test_cloexec(void **state)
{
	const char *region = tu_name(), *chan = tu_name();
	char *argv[] = { "/bin/sh", "-c", "ls -l /proc/$$/fd", NULL };
	struct shmx_region *r, *r2;
	struct shmx_pair *w, *rd;
	struct shmx_chan *prod, *cons;
	struct tu_result res;

	(void)state;
	assert_int_equal(shmx_create(region, 4096, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	assert_int_equal(shmx_open(region, SHMX_MAP, &r2), 0);
	assert_int_equal(shmx_pair_open(r2, R, &rd), 0);
	assert_int_equal(shmx_chan_create(chan, 4096, P, 0, &prod), 0);
	assert_int_equal(shmx_chan_open(chan, C, 0, &cons), 0);
	/* region, its pair's dup, the second handle, its dup, two channels */
	assert_true(shm_fds() >= 6);
	assert_int_equal(tu_run(argv, NULL, 0, LONG_MS, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(res.out, "pipe:"));  /* the listing worked */
	if (strstr(res.out, "/dev/shm"))
		fail_msg("the exec'd child holds a /dev/shm descriptor:\n%s", res.out);
	tu_result_free(&res);
	shmx_chan_close(cons);
	shmx_chan_close(prod);
	shmx_pair_close(rd);
	shmx_pair_close(w);
	shmx_close(r2);
	shmx_close(r);
}

/* ---- security: an unprivileged user ---- */

static void drop_privileges(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		child_skip("cannot drop to uid/gid 65534 (not root?)");
}

static void unprivileged_child(const char *priv, const char *open_region, const char *chan)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct shmx_chan *c;
	struct shmx_info info;
	struct shmx_chan_info ci;

	drop_privileges();
	CKEQ(shmx_open(priv, 0, &r), -EACCES);
	CKEQ(shmx_open(priv, SHMX_RDONLY, &r), -EACCES);
	CKEQ(shmx_open(open_region, SHMX_MAP, &r), 0);  /* 0666 region, 0600 pair */
	CKEQ(shmx_pair_open(r, R, &p), -EACCES);
	CKEQ(shmx_pair_open(r, W, &p), -EACCES);
	CKEQ(shmx_chan_open(chan, C, 0, &c), -EACCES);
	CKEQ(shmx_chan_open(chan, P | SHMX_ALLOW_SHARED, 0, &c), -EACCES);
	CKEQ(shmx_chan_stat(chan, &ci), -EACCES);
	/* metadata stays visible, liveness unknown */
	CKEQ(shmx_stat(priv, &info), 0);
	CK(info.holders == SHMX_HOLDERS_UNKNOWN && info.mode == 0600 && info.uid == 0);
	/* and nothing can be removed: /dev/shm is sticky */
	CKEQ(shmx_unlink(priv), -EACCES);
	CKEQ(shmx_unlink(open_region), -EACCES);
	CKEQ(shmx_pair_unlink(open_region), -EACCES);
	CKEQ(shmx_chan_unlink(chan), -EACCES);
	_exit(0);
}

static void test_unprivileged(void **state)
{
	const char *priv = tu_name(), *open_region = tu_name(), *chan = tu_name();
	struct shmx_region *r1, *r2;
	struct shmx_pair *p;
	struct shmx_chan *c;
	struct stat st;
	pid_t pid;
	int code;

	(void)state;
	if (geteuid() != 0)
		tu_skip("needs root to drop to an unprivileged user");
	assert_int_equal(stat("/dev/shm", &st), 0);
	if (!(st.st_mode & S_ISVTX))
		tu_skip("/dev/shm is not sticky here");
	assert_int_equal(shmx_create(priv, 4096, SHMX_MAP, 0, &r1), 0);
	assert_int_equal(shmx_create(open_region, 4096, SHMX_MAP, 0666, &r2), 0);
	assert_int_equal(shmx_pair_create(r2, W, 0, &p), 0);
	assert_int_equal(shmx_chan_create(chan, 4096, P, 0, &c), 0);
	pid = fork_child();
	if (pid == 0)
		unprivileged_child(priv, open_region, chan);
	code = child_code(pid, CHILD_MS);
	if (code == SKIP_CODE)
		tu_skip("cannot drop to uid/gid 65534");
	expect_code(code, "unprivileged");
	assert_true(shm_exists(priv) && shm_exists(open_region) && shm_exists(chan));
	assert_true(tu_sem_exists(open_region, ".shmx-w") && tu_sem_exists(open_region, ".shmx-r"));
	shmx_chan_close(c);
	shmx_pair_close(p);
	shmx_close(r2);
	shmx_close(r1);
}

/* ---- signals: a 1 ms SIGALRM storm ---- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void storm_start(bool restart)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	CK(sigaction(SIGALRM, &sa, NULL) == 0);
	CK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

#define DEADLINE_MS 300
#define SLACK_MS 3000   /* generous: two noisy vCPUs shared with others */

/* rc must be want, returned no earlier than the deadline, not much after. */
#define CK_DEADLINE(call, want)                                                  \
	do {                                                                     \
		int64_t t0_ = tu_now_ms();                                       \
		long rc_ = (long)(call);                                         \
		int64_t el_ = tu_now_ms() - t0_;                                 \
		CKEQ(rc_, want);                                                 \
		if (el_ < DEADLINE_MS || el_ > DEADLINE_MS + SLACK_MS)           \
			fprintf(stderr, "# %s took %lld ms\n", #call, (long long)el_); \
		CK(el_ >= DEADLINE_MS && el_ <= DEADLINE_MS + SLACK_MS);         \
	} while (0)

static void fill_ring(struct shmx_chan *c)
{
	static char msg[512];
	int rc, n = 0;

	while ((rc = shmx_chan_send(c, msg, sizeof(msg), 0)) == 0)
		n++;
	CKEQ(rc, -EAGAIN);
	CK(n > 0);
}

static void storm_deadlines_child(const char *n[4], bool restart)
{
	static const unsigned modes[] = { 0, SHMX_CHAN_BLOCK, SHMX_CHAN_SPIN };
	struct shmx_region *r, *r2;
	struct shmx_pair *w, *rd;
	struct shmx_chan *prod, *cons, *c;
	const void *cp;
	void *vp;
	char buf[64];

	storm_start(restart);
	CKEQ(shmx_create(n[0], 4096, SHMX_MAP, 0, &r), 0);
	CKEQ(shmx_pair_create(r, W, 0, &w), 0);
	CKEQ(shmx_open(n[0], SHMX_MAP, &r2), 0);
	CKEQ(shmx_pair_open(r2, R, &rd), 0);
	CK_DEADLINE(shmx_pair_wait(rd, DEADLINE_MS), -ETIMEDOUT);
	CKEQ(shmx_pair_wait(w, 0), 0);
	CKEQ(shmx_pair_post(w), 0);
	CK_DEADLINE(shmx_pair_wait(w, DEADLINE_MS), -ETIMEDOUT);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CKEQ(shmx_chan_create(n[1], 4096, P | modes[i], 0, &prod), 0);
		CKEQ(shmx_chan_open(n[1], C | modes[i], 0, &cons), 0);
		CK_DEADLINE(shmx_chan_recv(cons, buf, sizeof(buf), DEADLINE_MS), -ETIMEDOUT);
		CK_DEADLINE(shmx_chan_peek(cons, &cp, DEADLINE_MS), -ETIMEDOUT);
		fill_ring(prod);
		CK_DEADLINE(shmx_chan_send(prod, buf, 512, DEADLINE_MS), -ETIMEDOUT);
		CK_DEADLINE(shmx_chan_reserve(prod, 512, &vp, DEADLINE_MS), -ETIMEDOUT);
		shmx_chan_close(cons);
		shmx_chan_close(prod);
		CKEQ(shmx_chan_unlink(n[1]), 0);
	}
	/* present, never published (a creator's mode 0, shmx_chan_open(3)): the
	 * opener waits out its deadline */
	int fd = shm_open(n[2], O_CREAT | O_EXCL | O_RDWR, 0);
	CK(fd >= 0);
	CKEQ(ftruncate(fd, 4096 + 4096), 0);
	CK_DEADLINE(shmx_chan_open(n[2], C, DEADLINE_MS, &c), -ETIMEDOUT);
	fprintf(stderr, "# %d SIGALRMs (%s SA_RESTART) during the waits\n", (int)alarms,
		restart ? "with" : "without");
	CK(alarms >= 100);
	_exit(0);
}

static void test_storm_deadlines(void **state)
{
	bool restart = *(int *)*state;
	const char *n[4] = { tu_name(), tu_name(), tu_name(), tu_name() };
	pid_t pid = fork_child();

	if (pid == 0)
		storm_deadlines_child(n, restart);
	expect_child(pid, CHILD_MS, "deadlines under a SIGALRM storm");
}

/* Messages: sequence number, payload derived from it, checksum. */
#define TRANSFER 200000
#define PAIR_TURNS 20000

struct msg {
	uint64_t seq;
	uint64_t sum;
	unsigned char data[240];
};

static size_t msg_fill(struct msg *m, uint64_t seq)
{
	size_t len = (seq * 7919) % sizeof(m->data);

	m->seq = seq;
	m->sum = seq * UINT64_C(0x9e3779b97f4a7c15);
	for (size_t i = 0; i < len; i++) {
		m->data[i] = (unsigned char)(seq + i * 31);
		m->sum = (m->sum ^ m->data[i]) * UINT64_C(0x100000001b3);
	}
	return offsetof(struct msg, data) + len;
}

static void msg_check(const struct msg *m, size_t len, uint64_t seq)
{
	struct msg want;
	size_t wlen = msg_fill(&want, seq);

	if (m->seq != seq)
		fprintf(stderr, "# expected message %llu, got %llu\n", (unsigned long long)seq,
			(unsigned long long)m->seq);
	CKEQ(m->seq, seq);
	CKEQ(len, wlen);
	CK(memcmp(m, &want, wlen) == 0);
}

static void producer_child(const char *name, bool restart, int ready)
{
	struct shmx_chan *c;
	struct msg m;

	storm_start(restart);
	CK(ev_wait(ready, LONG_MS));
	CKEQ(shmx_chan_open(name, P, LONG_MS, &c), 0);
	for (uint64_t seq = 0; seq < TRANSFER; seq++)
		CKEQ(shmx_chan_send(c, &m, msg_fill(&m, seq), LONG_MS), 0);
	shmx_chan_close(c);
	_exit(0);
}

static void consumer_child(const char *name, bool restart, int ready)
{
	struct shmx_chan *c;
	struct msg m;
	ssize_t n;

	storm_start(restart);
	CKEQ(shmx_chan_create(name, 4096, C, 0, &c), 0);
	ev_signal(ready);
	for (uint64_t seq = 0; seq < TRANSFER; seq++) {
		n = shmx_chan_recv(c, &m, sizeof(m), LONG_MS);
		CK(n > 0);
		msg_check(&m, (size_t)n, seq);
	}
	/* nothing more, nothing twice: the producer closed after the last */
	CKEQ(shmx_chan_recv(c, &m, sizeof(m), LONG_MS), -EPIPE);
	fprintf(stderr, "# consumer: %d SIGALRMs during %d messages\n", (int)alarms, TRANSFER);
	CK(alarms >= 10);
	shmx_chan_close(c);
	_exit(0);
}

static void pair_writer_child(const char *name, bool restart, int ready)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct msg m;

	storm_start(restart);
	CKEQ(shmx_create(name, sizeof(m) + 8, SHMX_MAP, 0, &r), 0);
	CKEQ(shmx_pair_create(r, W, 0, &p), 0);
	ev_signal(ready);
	for (uint64_t seq = 0; seq < PAIR_TURNS; seq++) {
		size_t len = msg_fill(&m, seq);

		CKEQ(shmx_pair_wait(p, LONG_MS), 0);
		CKEQ(shmx_write(r, 0, &len, 8), 8);
		CKEQ(shmx_write(r, 8, &m, len), len);
		CKEQ(shmx_pair_post(p), 0);
	}
	/* the reader's last post: it has seen everything */
	CKEQ(shmx_pair_wait(p, LONG_MS), 0);
	shmx_pair_close(p);
	shmx_close(r);
	_exit(0);
}

static void pair_reader_child(const char *name, bool restart, int ready)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	struct msg m;
	size_t len;

	storm_start(restart);
	CK(ev_wait(ready, LONG_MS));
	CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
	CKEQ(shmx_pair_open(r, R, &p), 0);
	for (uint64_t seq = 0; seq < PAIR_TURNS; seq++) {
		CKEQ(shmx_pair_wait(p, LONG_MS), 0);
		CKEQ(shmx_read(r, 0, &len, 8), 8);
		CK(len <= sizeof(m));
		CKEQ(shmx_read(r, 8, &m, len), len);
		msg_check(&m, len, seq);
		CKEQ(shmx_pair_post(p), 0);
	}
	/* no extra turn: the writer posts no more (and may be gone by now) */
	len = (size_t)-shmx_pair_wait(p, 0);
	CK(len == EAGAIN || len == EOWNERDEAD);
	shmx_pair_close(p);
	shmx_close(r);
	_exit(0);
}

static void run_two(void (*a)(const char *, bool, int), void (*b)(const char *, bool, int),
		    bool restart, const char *what)
{
	const char *name = tu_name();
	pid_t pa, pb;
	int ev[2];

	ev_init(ev);
	pa = fork_child();
	if (pa == 0)
		a(name, restart, ev[1]);
	pb = fork_child();
	if (pb == 0)
		b(name, restart, ev[0]);
	close(ev[0]);
	close(ev[1]);
	expect_child(pa, 240000, what);
	expect_child(pb, 240000, what);
}

static void test_storm_transfer(void **state)
{
	bool restart = *(int *)*state;

	run_two(consumer_child, producer_child, restart, "200,000 messages under a storm");
	run_two(pair_writer_child, pair_reader_child, restart, "20,000 pair turns under a storm");
}

/* posix_fallocate of 256 MiB is interrupted by the storm; create retries. */
static void test_storm_create(void **state)
{
	bool restart = *(int *)*state;
	const char *name = tu_name();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct shmx_region *r;
		struct stat st;

		storm_start(restart);
		CKEQ(shmx_create(name, 256 * MIB, SHMX_MAP, 0, &r), 0);
		CK(fstat(shmx_fd(r), &st) == 0);
		CKEQ(st.st_size, 256 * MIB);
		CK(st.st_blocks * 512 >= (off_t)(256 * MIB)); /* all reserved */
		CKEQ(shmx_resize(r, 512 * MIB), 0);
		CK(fstat(shmx_fd(r), &st) == 0);
		CK(st.st_blocks * 512 >= (off_t)(512 * MIB));
		fprintf(stderr, "# %d SIGALRMs during the create and resize\n", (int)alarms);
		CK(alarms >= 1);
		CKEQ(shmx_unlink(name), 0);
		_exit(0);
	}
	expect_child(pid, CHILD_MS, "256 MiB create under a storm");
}

/* ---- peer truncation ---- */

/* Raw region: the reader's copies return -EFAULT once the writer process
 * has truncated the object under its mapping (with the guard). */
static void test_trunc_region(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	int ready[2], done[2];
	pid_t pid;

	(void)state;
	ev_init(ready);
	ev_init(done);
	assert_int_equal(shmx_create(name, 64 * 1024, SHMX_MAP, 0, &r), 0);
	pid = fork_child();
	if (pid == 0) {
		struct shmx_region *mine;
		char buf[100] = "x";

		CKEQ(shmx_guard_sigbus(), 0);
		CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		CKEQ(shmx_read(mine, 8192, buf, sizeof(buf)), sizeof(buf));
		ev_signal(ready[1]);
		CK(ev_wait(done[0], LONG_MS));
		CKEQ(shmx_read(mine, 8192, buf, sizeof(buf)), -EFAULT);
		CKEQ(shmx_write(mine, 60000, buf, sizeof(buf)), -EFAULT);
		CKEQ(shmx_read(mine, 0, buf, sizeof(buf)), sizeof(buf)); /* page 0 stays */
		shmx_close(mine);
		_exit(0);
	}
	assert_true(ev_wait(ready[0], LONG_MS));
	assert_int_equal(ftruncate(shmx_fd(r), 4096), 0);
	ev_signal(done[1]);
	expect_child(pid, LONG_MS, "region truncated by a peer");
	shmx_close(r);
}

/* Pair: a reader blocked "forever" returns -EFAULT when another process
 * truncates the region below its size at attach; so does the writer. */
static void test_trunc_pair(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *w;
	int ready[2];
	pid_t pid;

	(void)state;
	ev_init(ready);
	assert_int_equal(shmx_create(name, 64 * 1024, SHMX_MAP, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, W, 0, &w), 0);
	pid = fork_child();
	if (pid == 0) {
		struct shmx_region *mine;
		struct shmx_pair *p;

		CKEQ(shmx_open(name, SHMX_MAP, &mine), 0);
		CKEQ(shmx_pair_open(mine, R, &p), 0);
		ev_signal(ready[1]);
		CKEQ(shmx_pair_wait(p, -1), -EFAULT);
		CKEQ(shmx_pair_wait(p, 0), -EFAULT);
		CKEQ(shmx_pair_post(p), -EPERM);
		shmx_pair_close(p);
		shmx_close(mine);
		_exit(0);
	}
	assert_true(ev_wait(ready[0], LONG_MS));
	assert_int_equal(ftruncate(shmx_fd(r), 4096), 0);
	expect_child(pid, LONG_MS, "pair reader, region truncated by a peer");
	assert_int_equal(shmx_pair_wait(w, 0), -EFAULT);
	assert_int_equal(shmx_pair_post(w), -EPERM);
	shmx_pair_close(w);
	shmx_close(r);
}

/* Channel, a consumer waiting for data when the producer's process
 * truncates the object: -EFAULT, and it stays so. */
static void trunc_waiting_consumer(unsigned mode)
{
	const char *name = tu_name();
	struct shmx__chan_hdr *hdr;
	struct shmx_chan *prod;
	struct shmx_region *r;
	int ready[2];
	int64_t end;
	pid_t pid;

	ev_init(ready);
	assert_int_equal(shmx_chan_create(name, 1 << 16, P, 0, &prod), 0);
	pid = fork_child();
	if (pid == 0) {
		struct shmx_chan *c;
		char buf[64];

		CKEQ(shmx_guard_sigbus(), 0);
		CKEQ(shmx_chan_open(name, C | mode, LONG_MS, &c), 0);
		ev_signal(ready[1]);
		CKEQ(shmx_chan_recv(c, buf, sizeof(buf), LONG_MS), -EFAULT);
		CKEQ(shmx_chan_recv(c, buf, sizeof(buf), 0), -EFAULT);
		shmx_chan_close(c);
		_exit(0);
	}
	assert_true(ev_wait(ready[0], LONG_MS));
	/* Truncate while it sleeps: its "asleep" flag in the header is up. */
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	hdr = shmx_addr(r);
	end = tu_now_ms() + LONG_MS;
	while (!__atomic_load_n(&hdr->data_waiting, __ATOMIC_ACQUIRE) && tu_now_ms() < end)
		usleep(1000);
	assert_int_equal(hdr->data_waiting, 1);
	assert_int_equal(ftruncate(shmx_fd(r), SHMX__CHAN_HDR_SIZE), 0);
	shmx_close(r);
	expect_child(pid, LONG_MS, mode ? "blocking consumer, truncated" :
			 "adaptive consumer, truncated");
	shmx_chan_close(prod);
}

/* shmx_chan_send(3): "a consumer that must survive a hostile truncation
 * should use SHMX_CHAN_BLOCK" (an adaptive one polls the ring unguarded). */
static void test_trunc_chan_waiting(void **state)
{
	(void)state;
	trunc_waiting_consumer(SHMX_CHAN_BLOCK);
}

/* Every channel call after a peer truncated the object, with the guard
 * installed and a SHMX_CHAN_BLOCK consumer: an error (-EFAULT), never
 * SIGBUS. One child per call. shmx_chan_send(3) promises it for the copies
 * and for a blocking consumer; issue 6 asks it of every call ("channel and
 * pair calls detect it and return an error"), which the failure message
 * tells apart. */
enum trunc_op { T_SEND, T_SEND0, T_RESERVE, T_RECV, T_RECV_WAIT, T_PEEK, T_USED,
		T_PENDING, T_CLOSE, T_OPS };

/* What shmx_chan_send(3) promises (guarded copies, a blocking consumer). */
static const bool trunc_documented[T_OPS] = {
	[T_SEND] = true, [T_RECV] = true, [T_RECV_WAIT] = true, [T_PEEK] = true,
	[T_CLOSE] = true,
};

static const char *const trunc_names[T_OPS] = {
	"shmx_chan_send(100 bytes)", "shmx_chan_send(0 bytes)",
	"shmx_chan_reserve + shmx_chan_commit(0 bytes)",
	"shmx_chan_recv(pending message, timeout 0)",
	"shmx_chan_recv(pending message, timeout 1000)",
	"shmx_chan_peek(pending message)", "shmx_chan_used", "shmx_chan_pending",
	"shmx_chan_close",
};

static long trunc_call(enum trunc_op op, struct shmx_chan *prod, struct shmx_chan *cons)
{
	char buf[128] = "x";
	const void *cp;
	long rc;
	void *p;

	switch (op) {
	case T_SEND:
		return shmx_chan_send(prod, buf, 100, 0);
	case T_SEND0:
		return shmx_chan_send(prod, buf, 0, 0);
	case T_RESERVE:
		/* reserving needs no access, and may succeed; the commit must not
		 * (the caller wrote no payload: nothing outside libshmx faulted) */
		rc = shmx_chan_reserve(prod, 100, &p, 0);
		return rc ? rc : shmx_chan_commit(prod, 0);
	case T_RECV:
		return shmx_chan_recv(cons, buf, sizeof(buf), 0);
	case T_RECV_WAIT:
		return shmx_chan_recv(cons, buf, sizeof(buf), 1000);
	case T_PEEK:
		return shmx_chan_peek(cons, &cp, 0);
	case T_USED:
		return shmx_chan_used(cons);
	case T_PENDING:
		return shmx_chan_pending(prod);
	default:
		shmx_chan_close(prod);
		shmx_chan_close(cons);
		return 0;
	}
}

/* The queries only read the header: a count is fine while it is there. */
static bool trunc_ok(enum trunc_op op, long rc)
{
	if (op == T_CLOSE)
		return rc == 0;
	if (op == T_USED || op == T_PENDING)
		return rc >= 0 || rc == -EFAULT;
	return rc == -EFAULT;
}

static void trunc_call_child(const char *name, enum trunc_op op, off_t size, int ready,
			     int done)
{
	struct shmx_chan *prod, *cons;
	long rc;

	CKEQ(shmx_guard_sigbus(), 0);
	CKEQ(shmx_chan_create(name, 1 << 16, P | SHMX_CHAN_BLOCK, 0, &prod), 0);
	CKEQ(shmx_chan_open(name, C | SHMX_CHAN_BLOCK, 0, &cons), 0);
	CKEQ(shmx_chan_send(prod, "pending", 8, 0), 0);
	ev_signal(ready);
	CK(ev_wait(done, LONG_MS));
	(void)size;
	rc = trunc_call(op, prod, cons);
	if (!trunc_ok(op, rc))
		fprintf(stderr, "# %s: %ld %s\n", trunc_names[op], rc, errname(rc));
	CK(trunc_ok(op, rc));
	/* sticky: the next call says the same */
	if (op != T_CLOSE)
		CK(trunc_ok(op, trunc_call(op, prod, cons)));
	_exit(0);
}

static void test_trunc_chan_every_call(void **state)
{
	static const off_t sizes[] = { SHMX__CHAN_HDR_SIZE, 0 };
	struct shmx_region *r;
	int ready[2], done[2], code, nfailed = 0;
	pid_t pid;

	(void)state;
	for (size_t s = 0; s < 2; s++) {
		for (int op = 0; op < T_OPS; op++) {
			const char *name = tu_name();

			ev_init(ready);
			ev_init(done);
			pid = fork_child();
			if (pid == 0)
				trunc_call_child(name, op, sizes[s], ready[1], done[0]);
			assert_true(ev_wait(ready[0], LONG_MS));
			assert_int_equal(shmx_open(name, 0, &r), 0);
			assert_int_equal(ftruncate(shmx_fd(r), sizes[s]), 0);
			shmx_close(r);
			ev_signal(done[1]);
			code = child_code(pid, LONG_MS);
			if (code) {
				nfailed++;
				print_message("# %s after truncation to %lld: %s (%s)\n",
					 trunc_names[op], (long long)sizes[s],
					 code > 128 ? strsignal(code - 128) : "wrong result",
					 trunc_documented[op] ? "the man page promises -EFAULT" :
					 "issue 6 asks for an error; the man page leaves it out");
			}
			close(ready[0]);
			close(ready[1]);
			close(done[0]);
			close(done[1]);
		}
	}
	if (nfailed)
		fail_msg("%d channel calls after a truncation did not return -EFAULT "
			 "(listed above)", nfailed);
}

/* ---- a full /dev/shm ---- */

static int devshm_entries(char *list, size_t len)
{
	struct dirent *de;
	DIR *d = opendir("/dev/shm");
	int n = 0;

	CK(d != NULL);
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
		child_skip("cannot mount a private tmpfs on /dev/shm (no CAP_SYS_ADMIN?)");
	/* bigger than the whole tmpfs */
	CKEQ(shmx_chan_create(n[0], 2 * MIB, P, 0, &c), -ENOSPC);
	CKEQ(devshm_entries(list, sizeof(list)), 0);
	CKEQ(shmx_create(n[0], 2 * MIB, SHMX_MAP, 0, &x), -ENOSPC);
	CKEQ(devshm_entries(list, sizeof(list)), 0);
	/* a region for the pair, then fill every remaining page */
	CKEQ(shmx_create(n[1], 4096, SHMX_MAP, 0, &r), 0);
	CK(statvfs("/dev/shm", &vfs) == 0);
	free_bytes = (size_t)vfs.f_bavail * vfs.f_bsize;
	CK(free_bytes > 0);
	CKEQ(shmx_create(n[2], free_bytes, SHMX_MAP, 0, &fill), 0);
	/* reserved: every page of it can be written, no SIGBUS */
	memset(shmx_addr(fill), 0x5a, free_bytes);
	CK(statvfs("/dev/shm", &vfs) == 0);
	CKEQ(vfs.f_bavail, 0);
	rc = shmx_pair_create(r, W, 0, &p);
	fprintf(stderr, "# shmx_pair_create on a full tmpfs: %ld %s\n", rc, errname(rc));
	CKEQ(rc, -ENOSPC);
	CK(p == NULL);
	CKEQ(shmx_chan_create(n[3], 64, P, 0, &c), -ENOSPC);
	CKEQ(shmx_create(n[3], 4096, 0, 0, &x), -ENOSPC);
	CK(c == NULL && x == NULL);
	/* nothing but the region and the filler: no sem.*, no half object */
	if (devshm_entries(list, sizeof(list)) != 2)
		fprintf(stderr, "# left in the tmpfs:%s\n", list);
	CKEQ(devshm_entries(list, sizeof(list)), 2);
	/* room again: the pair can be made */
	shmx_close(fill);
	CKEQ(shmx_unlink(n[2]), 0);
	CKEQ(shmx_pair_create(r, W, 0, &p), 0);
	_exit(0);
}

static void test_full_devshm(void **state)
{
	const char *n[4] = { tu_name(), tu_name(), tu_name(), tu_name() };
	pid_t pid;
	int code;

	(void)state;
	pid = fork_child();
	if (pid == 0)
		full_devshm_child(n);
	code = child_code(pid, CHILD_MS);
	if (code == SKIP_CODE)
		tu_skip("cannot mount a private tmpfs on /dev/shm");
	expect_code(code, "full /dev/shm");
}

/* ---- group ---- */

static int group_setup(void **state)
{
	snprintf(prefix, sizeof(prefix), TU_PREFIX "%d-", (int)getpid());
	return tu_group_setup(state);
}

static int with_restart = 1, without_restart = 0;

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)
#define TS(f, s) cmocka_unit_test_prestate_setup_teardown(f, NULL, tu_teardown, s)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_emfile),
		T(test_enomem),
		T(test_cycles_pair),
		T(test_cycles_chan),
		T(test_attachers_never_unlink),
		T(test_mode_any_umask),
		T(test_planted_region_chan),
		T(test_planted_semaphores),
		T(test_chan_open_shared),
		T(test_refuses_non_regular),
		T(test_cloexec),
		T(test_unprivileged),
		TS(test_storm_deadlines, &with_restart),
		TS(test_storm_deadlines, &without_restart),
		TS(test_storm_transfer, &with_restart),
		TS(test_storm_transfer, &without_restart),
		TS(test_storm_create, &with_restart),
		TS(test_storm_create, &without_restart),
		T(test_trunc_region),
		T(test_trunc_pair),
		T(test_trunc_chan_waiting),
		T(test_trunc_chan_every_call),
		T(test_full_devshm),
	};

	return cmocka_run_group_tests(tests, group_setup, tu_group_teardown);
}
