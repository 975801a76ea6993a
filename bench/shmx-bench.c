/* SPDX-License-Identifier: MIT */
/*
 * shmx-bench: libshmx against the baselines it has to beat, measured side
 * by side in one run on one machine.
 *
 * Every item runs in several windows of a fixed iteration count (calibrated
 * once to a target window length). The items of one group are interleaved
 * window by window (ABC CBA ABC ...), so drift of the machine hits all of
 * them alike; the figures are medians over windows, and each ratio is the
 * median of the ratios of windows measured next to each other. Two-process
 * items fork a child per window, the two ends pinned to two different CPUs.
 * Round trips also time a subset of operations one by one for p50/p99/p99.9.
 * The one-way groups make a curve from 8 B to 4 MiB; peers a user might
 * pick instead (Boost.Interprocess, ZeroMQ) are in it when built.
 *
 * It never fails on a time: exit status 0 unless it could not run at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/futex.h>
#include <math.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"


#define NS_PER_S 1000000000.0
#define MAX_SAMPLES 2000        /* per-op samples per round-trip window */

/* Results of one item over all windows. */
struct res {
	const struct item *it;
	long iters;
	double *ns;             /* per window, ns per op; NAN when it failed */
	double *samp;           /* per-op round trips, pooled over windows */
	long nsamp;
	long subs, preempted;   /* sub-batches timed, and how many were left out */
	struct fan_use use;     /* K_FAN: what the workers spent, all windows */
	int err;
	bool ran;
};

/* Shared between the two processes of a window (anonymous MAP_SHARED). */
struct ctl {
	_Alignas(64) atomic_int ready;          /* 1 attached, 2 attach failed */
	_Alignas(64) atomic_long done;          /* consumer progress */
	uint64_t sum;                           /* consumer's checksum, before done */
};

struct opts opt = { .windows = 15, .window_ms = 80.0, .ring = MiB, .budget_s = 160 };
volatile sig_atomic_t g_abort;

static struct ctl *ctl;
static pid_t g_main_pid;
static volatile pid_t g_child;
static int g_devshm = -1;
static char g_tag[48];          /* "shmx-bench-<pid>-": every name we make */
static unsigned g_seq;
int g_cpu[2] = { -1, -1 };

/* ---- time, cleanup, signals ---- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Cost of one now_ns() pair, taken off each per-op sample. */
static double g_timer_ns;

static int cmp_double(const void *a, const void *b);

static void measure_timer(void)
{
	double v[1001];
	uint64_t t0, t1;

	for (int i = 0; i < 1001; i++) {
		t0 = now_ns();
		t1 = now_ns();
		v[i] = (double)(t1 - t0);
	}
	qsort(v, 1001, sizeof(v[0]), cmp_double);
	g_timer_ns = v[500];
}

struct dirent64_raw {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Remove every /dev/shm entry carrying our tag: regions, the library's
 * semaphores (sem.<name>...), whatever a window made. Only raw syscalls and
 * strstr, so the signal handler can call it too. */
static void sweep(void)
{
	char buf[4096];
	int removed;
	long n;

	if (g_devshm < 0)
		return;
	do {
		removed = 0;
		lseek(g_devshm, 0, SEEK_SET);
		while ((n = syscall(SYS_getdents64, g_devshm, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < n;) {
				struct dirent64_raw *d = (void *)(buf + off);

				if (strstr(d->name, g_tag) &&
				    unlinkat(g_devshm, d->name, 0) == 0)
					removed++;
				off += d->reclen;
			}
		}
	} while (removed);
}

static void on_signal(int sig)
{
	static const char msg[] = "shmx-bench: interrupted, cleaned up\n";

	if (getpid() != g_main_pid)
		_exit(128 + sig);
	if (sig == SIGALRM) {
		/* a window overran: stop its child, let the loops see g_abort */
		g_abort = 1;
		if (g_child > 0)
			kill(g_child, SIGKILL);
		return;
	}
	if (g_child > 0) {
		kill(g_child, SIGKILL);
		waitpid(g_child, NULL, 0);
	}
	sweep();
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(128 + sig);
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* no SA_RESTART: a blocked read or sem_wait must see the alarm */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Setup and teardown create and remove names: an interrupt there waits
 * until the name is complete (glibc sem_open goes through a temp file). */
static void block_signals(bool block, sigset_t *old)
{
	sigset_t set;

	if (!block) {
		sigprocmask(SIG_SETMASK, old, NULL);
		return;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
}

void new_name(char *out, size_t size, const char *suffix)
{
	snprintf(out, size, "/%s%u%s", g_tag, ++g_seq, suffix);
}

int pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* The first two CPUs we may run on: parent on one, child on the other. */
static void pick_cpus(void)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			g_cpu[n++] = c;
	if (n < 2)
		g_cpu[0] = g_cpu[1] = -1;
}

/* ---- helpers for fd-based items ---- */

int write_full(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR && !g_abort)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int read_full(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t k = read(fd, p, len);

		if (k < 0) {
			if (errno == EINTR && !g_abort)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EPIPE;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int alloc_bufs(struct win *w)
{
	size_t n = w->it->size ? w->it->size : 64;

	w->buf = aligned_alloc(64, (n + 63) & ~(size_t)63);
	w->src = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (!w->buf || !w->src)
		return -ENOMEM;
	memset(w->buf, 0, n);
	memset(w->src, 0x5a, n);
	return 0;
}

void free_bufs(struct win *w)
{
	free(w->buf);
	free(w->src);
}

/* ---- checksums: a zero-copy consumer reads every byte it is given ---- */

/* The sum of the message's 64-bit words (the tail zero-padded), in four
 * lanes so that the additions keep up with the loads. */
uint64_t sum_bytes(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t s[4] = { 0 }, x, tail = 0;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		for (int k = 0; k < 4; k++) {
			memcpy(&x, c + i + 8 * k, sizeof(x));
			s[k] += x;
		}
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&x, c + i, sizeof(x));
		s[0] += x;
	}
	memcpy(&tail, c + i, len - i);
	return s[0] + s[1] + s[2] + s[3] + tail;
}

/* What sum_bytes() gives over count messages of len bytes, message k
 * filled with the byte (first + k) & 0xff. */
uint64_t fill_sum(size_t len, unsigned long first, unsigned long count)
{
	unsigned char ones[8];
	uint64_t one, tail = 0, per, total = 0;

	/* a message of byte b sums to b times that of a message of ones */
	memset(ones, 1, sizeof(ones));
	memcpy(&one, ones, sizeof(one));
	memcpy(&tail, ones, len % 8);
	per = (uint64_t)(len / 8) * one + tail;
	for (unsigned long k = 0; k < count; k++)
		total += per * (unsigned char)(first + k);
	return total;
}

/* ---- the groups: what is measured next to what ---- */

#define MAX_GROUPS 24
#define MAX_ITEMS 16
#define SPARSE 40       /* percent of the windows (count, length) off the targets */

struct group {
	const char *title;
	struct item items[MAX_ITEMS];
	size_t n;
	int share;              /* percent of --windows and --window-ms it gets */
};

static struct group groups[MAX_GROUPS];
static size_t ngroups;

/* The one-way curve: each of these at every size. */
static const struct series {
	const char *key, *label;
	const struct item *tmpl;
} curve[] = {
	{ "socket", "Unix socket stream", &item_sock_stream },
	{ "pipe", "pipe stream", &item_pipe_stream },
	{ "chan-copy", "shmx channel send/recv", &item_chan_copy },
	{ "chan-zc", "shmx channel reserve/commit + peek/release", &item_chan_zc },
	{ "plain-ring", "plain spin ring + memcpy (reference)", &item_plain_ring },
	{ "memcpy", "memcpy in one process, same two buffers", &item_memcpy },
#ifdef SHMX_BENCH_BOOST
	{ "boost-mq", "Boost.Interprocess message_queue", &item_mq_stream },
#endif
#ifdef SHMX_BENCH_ZMQ
	{ "zmq-ipc", "ZeroMQ PAIR over ipc://", &item_zmq_stream },
#endif
};
#define NSERIES (sizeof(curve) / sizeof(curve[0]))

/* 8 B, then the powers of 4 from 16 B to 4 MiB; the ones the targets name
 * get full windows, the others SPARSE. */
static const size_t curve_sizes[] = {
	8, 16, 64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB,
};

static bool is_target_size(size_t size)
{
	return size == 64 || size == 4 * KiB || size == MiB;
}

/* Peers the build left out, and why, for the report. */
static const char *const peer_notes[] = {
#ifndef SHMX_BENCH_BOOST
	"Boost.Interprocess message_queue: not built (no libboost-dev when "
	"bench/ was configured)",
#endif
#ifndef SHMX_BENCH_ZMQ
	"ZeroMQ over ipc://: not built (no libzmq3-dev when bench/ was configured)",
#endif
	NULL,
};

/* "64B" for keys, "64 B" for titles. */
static void size_name(char *out, size_t len, size_t size, bool spaced)
{
	static const char *const unit[] = { "B", "KiB", "MiB" };
	int u = 0;

	while (size >= KiB && !(size % KiB) && u < 2) {
		size /= KiB;
		u++;
	}
	snprintf(out, len, "%zu%s%s", size, spaced ? " " : "", unit[u]);
}

static char *xstrdup(const char *str)
{
	char *p = strdup(str);

	if (!p) {
		perror("shmx-bench");
		exit(2);
	}
	return p;
}

static struct group *new_group(const char *title, int share)
{
	struct group *g = &groups[ngroups++];

	g->title = xstrdup(title);
	g->share = share;
	return g;
}

static struct item *add(struct group *g, const struct item *tmpl, const char *key,
			const char *label)
{
	struct item *it = &g->items[g->n++];

	*it = *tmpl;
	it->key = xstrdup(key);
	it->label = xstrdup(label);
	return it;
}

static void add_chan_rt(struct group *g, const char *key, const char *label,
			unsigned flags)
{
	add(g, &item_chan_rt, key, label)->flags = flags;
}

static void build_rt_groups(void)
{
	struct group *g = new_group("Round trip, busy-polling", 100);

	add(g, &item_spin, "spin", "busy-spin floor (shared cache line)");
	add_chan_rt(g, "chan-spin", "shmx channel 8 B, SHMX_CHAN_SPIN", SHMX_CHAN_SPIN);
	g = new_group("Round trip, blocking", 100);
	add(g, &item_futex, "futex", "raw futex ping-pong");
	add_chan_rt(g, "chan-block", "shmx channel 8 B, SHMX_CHAN_BLOCK", SHMX_CHAN_BLOCK);
	add_chan_rt(g, "chan-adaptive", "shmx channel 8 B, default (adaptive)", 0);
	add(g, &item_chan_poll_rt, "chan-poll", "shmx channel 8 B, poll(2) on shmx_chan_fd()")
		->flags = SHMX_CHAN_BLOCK;
	add(g, &item_pipe_rt, "pipe", "pipe ping-pong 8 B");
	add(g, &item_sock_rt, "socket", "Unix socket ping-pong 8 B");
	add(g, &item_efd_rt, "eventfd", "eventfd ping-pong");
	add(g, &item_sem, "sem", "raw sem_open pair");
	add(g, &item_pair, "pair", "shmx pair wait/post");
#ifdef SHMX_BENCH_BOOST
	add(g, &item_mq_rt, "boost-mq", "Boost.Interprocess message_queue 8 B");
#endif
#ifdef SHMX_BENCH_ZMQ
	add(g, &item_zmq_rt, "zmq-ipc", "ZeroMQ PAIR over ipc:// 8 B");
#endif
}

static void build_curve_group(size_t size)
{
	char title[64], sz[16], key[64], label[128];
	struct group *g;
	struct item *it;

	size_name(sz, sizeof(sz), size, true);
	snprintf(title, sizeof(title), "One-way throughput, %s", sz);
	g = new_group(title, is_target_size(size) ? 100 : SPARSE);
	size_name(sz, sizeof(sz), size, false);
	for (size_t i = 0; i < NSERIES; i++) {
		snprintf(key, sizeof(key), "%s-%s", curve[i].key, sz);
		snprintf(label, sizeof(label), "%s %s", curve[i].label, sz);
		it = add(g, curve[i].tmpl, key, label);
		it->size = size;
		it->series = curve[i].key;
	}
	if (size == 64) {
		it = add(g, &item_chan_batch, "chan-batch-64B",
			 "shmx channel send_batch/recv_batch 64B, 32 a call");
		it->size = size;
	}
	if (size == MiB)
		add(g, &item_memcpy_big, "memcpy-256MiB",
		    "memcpy 1 MiB blocks, 256 MiB working set");
}

/* How much the ring's size matters to a 4 KiB stream on this machine. */
static void add_ring(struct group *g, const struct item *tmpl, const char *what,
		     size_t cap)
{
	char sz[16], key[64], label[128];
	struct item *it;

	size_name(sz, sizeof(sz), cap, false);
	snprintf(key, sizeof(key), "ring-%s-%s", tmpl == &item_chan_zc ? "zc" : "copy",
		 sz);
	snprintf(label, sizeof(label), "4 KiB %s, %s ring", what, sz);
	it = add(g, tmpl, key, label);
	it->size = 4 * KiB;
	it->ring = cap;
}

static void build_ring_group(void)
{
	static const size_t caps[] = { 64 * KiB, 256 * KiB, 4 * MiB, 16 * MiB };
	struct group *g;

	g = new_group("Channel ring capacity, 4 KiB messages (default ring in the "
		      "4 KiB group)", 50);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		add_ring(g, &item_chan_copy, "send/recv", caps[i]);
		add_ring(g, &item_chan_zc, "zero-copy", caps[i]);
	}
}

/* One fan item: producers into consumers at size; slots as in struct
 * item (0: an SPSC channel a consumer). Keys: fan-<what>-<size>-<n>, n the
 * consumers, or the producers of a fan-in. */
static void add_fan(struct group *g, const char *what, size_t size, unsigned producers,
		    unsigned consumers, unsigned slots, unsigned flags, const char *label)
{
	char sz[16], key[64];
	struct item *it;

	size_name(sz, sizeof(sz), size, false);
	snprintf(key, sizeof(key), "fan-%s-%s-%u", what, sz,
		 producers > 1 ? producers : consumers);
	it = add(g, &item_fan, key, label);
	it->size = size;
	it->producers = producers;
	it->consumers = consumers;
	it->slots = slots;
	it->flags = flags;
}

/* Broadcast to 1, 2, 3 consumers against as many SPSC channels, the
 * producer sending each message to each. A broadcast channel has two
 * consumer slots at least: one slot would make it a queue. Every waiter
 * sleeps (SHMX_CHAN_BLOCK): with more processes than CPUs a spinning one
 * takes the CPU that the process it waits for needs. The default
 * (adaptive) mode at 2 consumers shows what spinning costs. */
static void build_fan_group(size_t size)
{
	char title[96], sz[16], label[128];
	struct group *g;

	size_name(sz, sizeof(sz), size, true);
	snprintf(title, sizeof(title), "Fan-out, %s: one broadcast channel against an SPSC "
		 "channel a consumer", sz);
	g = new_group(title, 100);
	for (unsigned n = 1; n <= 3; n++) {
		snprintf(label, sizeof(label), "broadcast %s to %u consumer%s (%u slots)", sz,
			 n, n > 1 ? "s" : "", n < 2 ? 2 : n);
		add_fan(g, "bcast", size, 1, n, n < 2 ? 2 : n, SHMX_CHAN_BLOCK, label);
		snprintf(label, sizeof(label), "%u SPSC channel%s, %s, each message to each", n,
			 n > 1 ? "s" : "", sz);
		add_fan(g, "spsc", size, 1, n, 0, SHMX_CHAN_BLOCK, label);
	}
	snprintf(label, sizeof(label), "broadcast %s to 2 consumers, default (adaptive)", sz);
	add_fan(g, "bcast-adaptive", size, 1, 2, 2, 0, label);
	snprintf(label, sizeof(label), "2 SPSC channels, %s, default (adaptive)", sz);
	add_fan(g, "spsc-adaptive", size, 1, 2, 0, 0, label);
}

static void build_fan_groups(void)
{
	struct group *g;

	build_fan_group(64);
	build_fan_group(4 * KiB);
	g = new_group("Fan-in, 64 B: two producers into one channel against one", 100);
	add_fan(g, "in", 64, 2, 1, 1, SHMX_CHAN_BLOCK,
		"2 producers, 1 consumer, 64 B (at the consumer)");
	add_fan(g, "in", 64, 1, 1, 1, SHMX_CHAN_BLOCK, "1 producer, 1 consumer (SPSC), 64 B");
}

static void build_groups(void)
{
	struct group *g;

	build_rt_groups();
	for (size_t i = 0; i < sizeof(curve_sizes) / sizeof(curve_sizes[0]); i++)
		build_curve_group(curve_sizes[i]);
	build_ring_group();
	build_fan_groups();
	g = new_group("Region create + destroy, 4 KiB", 100);
	add(g, &item_region_shmx, "region-shmx",
	    "shmx_create(4 KiB) + shmx_close + shmx_unlink");
	add(g, &item_region_raw, "region-raw",
	    "raw shm_open+fchmod+ftruncate+fallocate+close+unlink");
	add(g, &item_region_raw_map, "region-raw-mmap",
	    "raw sequence + mmap/munmap (reference)");
}

/* ---- running one window ---- */

static int wait_ready(void)
{
	int r;

	while (!(r = atomic_load_explicit(&ctl->ready, memory_order_acquire))) {
		if (g_abort)
			return -EINTR;
		cpu_relax();
	}
	return r == 1 ? 0 : -ENOTCONN;
}

static int wait_done(long want)
{
	while (atomic_load_explicit(&ctl->done, memory_order_acquire) < want) {
		if (g_abort)
			return -EINTR;
		cpu_relax();
	}
	return 0;
}

static void child_body(struct win *w)
{
	const struct item *it = w->it;
	long n = w->warm + w->iters + w->samples;
	int err = 0;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != g_main_pid)
		_exit(3);
	pin(g_cpu[1]);
	w->seq = 0;
	if (it->attach)
		err = it->attach(w);
	atomic_store_explicit(&ctl->ready, err ? 2 : 1, memory_order_release);
	if (err)
		_exit(2);
	if (it->kind == K_RT) {
		err = it->child(w, n);
	} else {
		err = it->child(w, w->warm);
		atomic_store_explicit(&ctl->done, w->warm, memory_order_release);
		if (!err)
			err = it->child(w, w->iters);
		ctl->sum = w->sum;
		atomic_store_explicit(&ctl->done, w->warm + w->iters,
				      memory_order_release);
	}
	if (it->detach)
		it->detach(w);
	_exit(err ? 1 : 0);
}

/* Time iters operations in up to SUB_MAX sub-batches of at least min
 * operations; the window's figure is the median of their means, so one
 * preemption spoils one sub-batch, not the window, while any cost that
 * recurs within a hundred operations is in every sub-batch. */
#define SUB_MAX 128
#define SUB_MIN 100

/* Involuntary context switches of this process and of the window's child:
 * when they move, a neighbour took one of our CPUs. */
static long preemptions(pid_t child)
{
	char path[64], buf[2048], *p;
	struct rusage ru;
	long n = 0;
	ssize_t k;
	int fd;

	if (!getrusage(RUSAGE_SELF, &ru))
		n = ru.ru_nivcsw;
	if (child <= 0)
		return n;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return n;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[k > 0 ? k : 0] = 0;
	p = strstr(buf, "nonvoluntary_ctxt_switches:");
	return p ? n + atol(p + sizeof("nonvoluntary_ctxt_switches:") - 1) : n;
}

static double median_of(double *v, long n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sub-batches during which either process was preempted are left out, as
 * long as 3 were not: they measure the neighbours, and they pull every
 * ratio towards 1. Voluntary sleeps (a blocking wait) are not preemptions
 * and stay in. */
static int timed_batches(struct win *w, long min, double *ns)
{
	long nsub = w->iters / min, per, done = 0, nclean = 0;
	double all[SUB_MAX], clean[SUB_MAX];
	uint64_t t0, t1;
	long c0, c1;
	int err;

	nsub = nsub < 1 ? 1 : nsub > SUB_MAX ? SUB_MAX : nsub;
	per = w->iters / nsub;
	for (long k = 0; k < nsub; k++) {
		long n = k == nsub - 1 ? w->iters - done : per;

		c0 = preemptions(w->child);
		t0 = now_ns();
		err = w->it->parent(w, n);
		t1 = now_ns();
		c1 = preemptions(w->child);
		if (err)
			return err;
		all[k] = (double)(t1 - t0) / (double)n;
		if (c1 == c0)
			clean[nclean++] = all[k];
		done += n;
	}
	w->subs += nsub;
	if (nclean >= 3) {
		w->preempted += nsub - nclean;
		*ns = median_of(clean, nclean);
	} else {
		*ns = median_of(all, nsub);
	}
	return 0;
}

/* The parent's side of a round-trip window: warm up, time iters round trips
 * in batches, then time samples round trips one by one. */
static int rt_window(struct win *w, double *ns, struct res *r)
{
	const struct item *it = w->it;
	uint64_t t0, t1;
	int err;

	err = it->parent(w, w->warm);
	if (!err)
		err = timed_batches(w, SUB_MIN, ns);
	if (err)
		return err;
	for (long i = 0; i < w->samples; i++) {
		t0 = now_ns();
		err = it->parent(w, 1);
		t1 = now_ns();
		if (err)
			return err;
		if (r && r->samp)
			r->samp[r->nsamp++] = (double)(t1 - t0) - g_timer_ns;
	}
	return 0;
}

/* Messages a stream can hold in flight: the ring (the kernel's socket and
 * pipe buffers are smaller than the default ring). */
static long in_flight(const struct item *it)
{
	return (long)(stream_ring_bytes(it) / it->size);
}

/* Producer in the parent, consumer in the child. Past the warm-up the
 * stream is in its steady state, where the producer can only go as fast
 * as the consumer takes: the producer times sub-batches of at least four
 * ring-fulls (so what the ring absorbs is within the noise), and the
 * window counts their median. A window too short for two sub-batches is
 * timed end to end instead: the clock stops when the consumer has taken
 * the last message (it acknowledges through the control block). */
static int tput_timed(struct win *w, double *ns)
{
	long min = 4 * in_flight(w->it);
	uint64_t t0, t1;
	int err;

	if (min < 64)
		min = 64;
	err = w->it->parent(w, w->warm);
	if (err)
		return err;
	if (w->iters >= 2 * min) {
		err = timed_batches(w, min, ns);
		return err ? err : wait_done(w->warm + w->iters);
	}
	err = wait_done(w->warm);
	if (err)
		return err;
	t0 = now_ns();
	err = w->it->parent(w, w->iters);
	if (!err)
		err = wait_done(w->warm + w->iters);
	t1 = now_ns();
	if (!err)
		*ns = (double)(t1 - t0) / (double)w->iters;
	return err;
}

/* The consumer publishes its checksum before its last acknowledgement. */
static int tput_window(struct win *w, double *ns)
{
	int err = tput_timed(w, ns);

	if (!err)
		err = wait_done(w->warm + w->iters);
	if (!err && w->it->verify)
		err = w->it->verify(w, ctl->sum);
	return err;
}

static int local_window(struct win *w, double *ns)
{
	int err = w->it->parent(w, w->warm);

	return err ? err : timed_batches(w, SUB_MIN, ns);
}

static int reap_child(pid_t pid, int err)
{
	int st;

	if (err)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return err ? err : -ECHILD;
	}
	g_child = 0;
	if (!err && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		err = -ECONNRESET;
	return err;
}

static int forked_window(struct win *w, double *ns, struct res *r)
{
	const struct item *it = w->it;
	pid_t pid;
	int err;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_body(w);
	g_child = pid;
	w->child = pid;
	alarm(WATCHDOG_S);
	err = wait_ready();
	if (!err && it->start)
		err = it->start(w);
	if (!err)
		err = it->kind == K_RT ? rt_window(w, ns, r) : tput_window(w, ns);
	alarm(0);
	return reap_child(pid, err);
}

static void reset_ctl(void)
{
	atomic_store(&ctl->ready, 0);
	atomic_store(&ctl->done, 0);
	ctl->sum = 0;
}

/* One window of item it with iters timed operations (a K_FAN item: of ms
 * milliseconds); ns gets ns per op. */
static int run_window(const struct item *it, long iters, double ms, double *ns,
		      struct res *r)
{
	struct win w = { .it = it, .iters = iters, .fd = { -1, -1, -1, -1 },
			 .use = r ? &r->use : NULL };
	sigset_t old;
	int err;

	w.warm = iters / 10 > 4 ? iters / 10 : 4;
	if (it->kind == K_RT && r)
		w.samples = iters / 4 < MAX_SAMPLES ? iters / 4 : MAX_SAMPLES;
	g_abort = 0;
	reset_ctl();
	block_signals(true, &old);
	err = it->setup ? it->setup(&w) : 0;
	block_signals(false, &old);
	if (err)
		goto out;
	if (it->kind == K_LOCAL)
		err = local_window(&w, ns);
	else if (it->kind == K_FAN)
		err = fan_window(&w, ms, ns);
	else
		err = forked_window(&w, ns, r);
	if (r) {
		r->subs += w.subs;
		r->preempted += w.preempted;
	}
out:
	block_signals(true, &old);
	if (it->teardown)
		it->teardown(&w);
	block_signals(false, &old);
	return err;
}

/* A group off the targets gets share percent of the windows, each share
 * percent as long: the curve between the targets costs little. */
static int group_windows(const struct group *g)
{
	int n = opt.windows * g->share / 100, least = opt.windows < 3 ? opt.windows : 3;

	return n < least ? least : n;
}

static double group_ms(const struct group *g)
{
	return opt.window_ms * g->share / 100;
}

/* What a group costs, in window-milliseconds: its share of the budget. */
static double group_weight(const struct group *g)
{
	return (double)g->n * group_windows(g) * group_ms(g);
}

/* Scale the iteration count so that one window lasts about ms. */
static int calibrate(struct res *r, double ms)
{
	const struct item *it = r->it;
	double ns = 0, target = ms * 1e6;
	long n = it->kind == K_LOCAL ? 64 : 16;
	int err;

	/* timed by the clock, not by a count: one try shows it runs (a
	 * window in which nothing arrived ran, it only stalled) */
	if (it->kind == K_FAN) {
		r->iters = 1;
		err = run_window(it, 1, ms / 4, &ns, NULL);
		return err == -ETIME ? 0 : err;
	}
	for (;;) {
		err = run_window(it, n, ms, &ns, NULL);
		if (err)
			return err;
		if (ns * (double)n > target / 8 || n >= (1L << 30))
			break;
		n *= 8;
	}
	n = (long)(target / (ns > 1 ? ns : 1));
	r->iters = n < 8 ? 8 : n;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* q-quantile of the finite values of v (sorted copy); NAN when none. */
static double quantile(const double *v, long n, double q)
{
	double *s = malloc(sizeof(*s) * (size_t)(n ? n : 1)), x;
	long k = 0;

	if (!s)
		return NAN;
	for (long i = 0; i < n; i++)
		if (isfinite(v[i]))
			s[k++] = v[i];
	if (!k) {
		free(s);
		return NAN;
	}
	qsort(s, (size_t)k, sizeof(*s), cmp_double);
	x = s[(long)(q * (double)(k - 1) + 0.5)];
	free(s);
	return x;
}

/* --filter TEXT[,TEXT...]: an item whose key contains one of them (so a
 * ratio's two items can run alone: -f pair,sem). */
static bool selected(const struct item *it)
{
	const char *f = opt.filter, *comma;
	char part[64];
	size_t n;

	if (!f)
		return true;
	for (;; f = comma + 1) {
		comma = strchr(f, ',');
		n = comma ? (size_t)(comma - f) : strlen(f);
		if (n < sizeof(part)) {
			memcpy(part, f, n);
			part[n] = 0;
			if (strstr(it->key, part))
				return true;
		}
		if (!comma)
			return false;
	}
}

static struct res *results;
static size_t nresults;

static struct res *find(const char *key)
{
	for (size_t i = 0; i < nresults; i++)
		if (!strcmp(results[i].it->key, key))
			return results[i].ran ? &results[i] : NULL;
	return NULL;
}

/* A loaded machine stretches fixed-count windows: past its share of the
 * time budget a group stops after the round it is in (3 rounds at least). */
static bool over_budget(uint64_t deadline, int rounds)
{
	return rounds >= 3 && opt.budget_s > 0 && now_ns() > deadline;
}

static void run_group(const struct group *g, struct res *rs, uint64_t deadline)
{
	for (size_t i = 0; i < g->n; i++) {
		rs[i].it = &g->items[i];
		if (!selected(rs[i].it))
			continue;
		rs[i].ns = malloc((size_t)opt.windows * sizeof(double));
		if (!rs[i].ns) {
			rs[i].err = -ENOMEM;
			continue;
		}
		for (int w = 0; w < opt.windows; w++)
			rs[i].ns[w] = NAN;
		if (rs[i].it->kind == K_RT)
			rs[i].samp = calloc((size_t)opt.windows * MAX_SAMPLES,
					    sizeof(double));
		rs[i].err = calibrate(&rs[i], group_ms(g));
		rs[i].ran = !rs[i].err;
		if (rs[i].err)
			fprintf(stderr, "shmx-bench: %s: %s\n", rs[i].it->key,
				shmx_strerror(rs[i].err));
	}
	/* ABC, CBA, ABC...: no item always runs right after the same one */
	for (int wi = 0; wi < group_windows(g) && !over_budget(deadline, wi); wi++) {
		for (size_t j = 0; j < g->n; j++) {
			size_t i = (wi & 1) ? g->n - 1 - j : j;
			struct res *r = &rs[i];
			int err;

			if (!r->ran)
				continue;
			r->ns[wi] = NAN;
			err = run_window(r->it, r->iters, group_ms(g), &r->ns[wi], r);
			if (err) {
				r->err = err;
				r->ns[wi] = NAN;
				fprintf(stderr, "shmx-bench: %s, window %d: %s\n", r->it->key,
					wi + 1, shmx_strerror(err));
			}
		}
	}
}

/* ---- reporting ---- */

static double gbps(const struct res *r, double ns)
{
	return (double)r->it->size / ns;
}

static void fmt_ns(char *out, size_t size, double ns)
{
	if (!isfinite(ns))
		snprintf(out, size, "-");
	else if (ns < 1e4)
		snprintf(out, size, "%.0f ns", ns);
	else if (ns < 1e7)
		snprintf(out, size, "%.1f us", ns / 1e3);
	else
		snprintf(out, size, "%.1f ms", ns / 1e6);
}

struct row {
	char median[32], p50[32], p99[32], p999[32], tput[32], rate[32], spread[32];
	char hit[16];
	int windows;
};

static void make_row(const struct res *r, struct row *o)
{
	double med = quantile(r->ns, opt.windows, 0.5);
	double lo = quantile(r->ns, opt.windows, 0.25);
	double hi = quantile(r->ns, opt.windows, 0.75);

	memset(o, 0, sizeof(*o));
	fmt_ns(o->median, sizeof(o->median), med);
	snprintf(o->p50, sizeof(o->p50), "-");
	snprintf(o->p99, sizeof(o->p99), "-");
	snprintf(o->p999, sizeof(o->p999), "-");
	snprintf(o->tput, sizeof(o->tput), "-");
	snprintf(o->spread, sizeof(o->spread), "±%.0f%%", 50 * (hi - lo) / med);
	snprintf(o->rate, sizeof(o->rate), "%.3g /s", NS_PER_S / med);
	for (int w = 0; w < opt.windows; w++)
		o->windows += isfinite(r->ns[w]);
	snprintf(o->hit, sizeof(o->hit), "-");
	if (r->subs)
		snprintf(o->hit, sizeof(o->hit), "%.0f%%",
			 100.0 * (double)r->preempted / (double)r->subs);
	if (r->it->kind == K_RT && r->nsamp) {
		fmt_ns(o->p50, sizeof(o->p50), quantile(r->samp, r->nsamp, 0.5));
		fmt_ns(o->p99, sizeof(o->p99), quantile(r->samp, r->nsamp, 0.99));
		fmt_ns(o->p999, sizeof(o->p999), quantile(r->samp, r->nsamp, 0.999));
	}
	if (r->it->size && r->it->kind != K_RT)
		snprintf(o->tput, sizeof(o->tput), "%.2f GB/s", gbps(r, med));
}

static void print_results(FILE *f, bool md)
{
	struct row o;

	for (size_t gi = 0, k = 0; gi < ngroups; k += groups[gi].n, gi++) {
		const struct group *g = &groups[gi];

		if (md)
			fprintf(f, "\n### %s\n\n| item | median per op | IQR | p50 | p99 "
				"| p99.9 | GB/s | ops/s | windows | left out |\n"
				"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", g->title);
		else
			fprintf(f, "\n%s\n%-52s %10s %6s %10s %10s %10s %11s %10s %3s %5s\n",
				g->title, "item", "median", "IQR", "p50", "p99", "p99.9",
				"GB/s", "ops/s", "n", "out");
		for (size_t i = 0; i < g->n; i++) {
			const struct res *r = &results[k + i];

			if (!r->ran) {
				if (selected(g->items + i))
					fprintf(f, md ? "| %s | failed: %s ||||||||\n"
						: "%-52s failed: %s\n", g->items[i].label,
						shmx_strerror(r->err));
				continue;
			}
			make_row(r, &o);
			fprintf(f, md ? "| %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n"
				: "%-52s %10s %6s %10s %10s %10s %11s %10s %3d %5s\n",
				r->it->label, o.median, o.spread, o.p50, o.p99, o.p999,
				o.tput, o.rate, o.windows, o.hit);
		}
	}
}

enum metric { M_TIME, M_P50, M_TPUT };

struct target {
	const char *what;
	const char *a, *a2;     /* libshmx item(s); with a2 the better counts */
	const char *b;          /* baseline */
	enum metric m;
	bool at_most;           /* goal is an upper bound on the ratio */
	double goal;
	bool show_b;            /* print b's own median next to the ratio */
};

static const struct target targets[] = {
	{ "channel round trip 8 B spin / busy-spin floor", "chan-spin", NULL, "spin",
	  M_TIME, true, 1.3, true },
	{ "channel round trip blocking / raw futex (p50)", "chan-block", NULL, "futex",
	  M_P50, true, 1.1, false },
	{ "channel round trip blocking / pipe (p50)", "chan-block", NULL, "pipe",
	  M_P50, true, 0.95, false },
	{ "channel round trip poll-fd / pipe (p50)", "chan-poll", NULL, "pipe",
	  M_P50, true, 1.2, false },
	{ "(ref) channel round trip poll-fd / blocking futex path (p50)", "chan-poll", NULL,
	  "chan-block", M_P50, true, 0, false },
	{ "channel 64 B send/recv / plain spin ring", "chan-copy-64B", NULL,
	  "plain-ring-64B", M_TPUT, false, 0.5, false },
	{ "channel 64 B batch / plain spin ring", "chan-batch-64B", NULL,
	  "plain-ring-64B", M_TPUT, false, 0.85, false },
	{ "channel 64 B throughput / Unix socket", "chan-copy-64B", "chan-zc-64B",
	  "socket-64B", M_TPUT, false, 10, false },
	{ "channel 64 B msgs/s / Boost message_queue", "chan-copy-64B", "chan-zc-64B",
	  "boost-mq-64B", M_TPUT, false, 10, false },
	{ "channel 64 B msgs/s / ZeroMQ ipc", "chan-copy-64B", "chan-zc-64B",
	  "zmq-ipc-64B", M_TPUT, false, 10, false },
	{ "channel round trip default / Boost message_queue", "chan-adaptive", NULL,
	  "boost-mq", M_TIME, true, 1, false },
	{ "channel round trip default / ZeroMQ ipc", "chan-adaptive", NULL, "zmq-ipc",
	  M_TIME, true, 1, false },
	{ "channel 4 KiB throughput / Unix socket", "chan-copy-4KiB", "chan-zc-4KiB",
	  "socket-4KiB", M_TPUT, false, 4, false },
	{ "channel 4 KiB throughput / memcpy 4 KiB in cache", "chan-copy-4KiB",
	  "chan-zc-4KiB", "memcpy-4KiB", M_TPUT, false, 0.25, false },
	{ "channel 1 MiB throughput / memcpy 1 MiB in cache", "chan-copy-1MiB",
	  "chan-zc-1MiB", "memcpy-1MiB", M_TPUT, false, 0.85, false },
	{ "region create+destroy 4 KiB / raw syscall sequence", "region-shmx", NULL,
	  "region-raw", M_TIME, true, 1.2, false },
	{ "pair round trip / raw sem_open pair", "pair", NULL, "sem", M_TIME, true, 1.05, false },
	{ "broadcast to 2 consumers / 2 SPSC channels, 64 B msgs/s each", "fan-bcast-64B-2",
	  NULL, "fan-spsc-64B-2", M_TPUT, false, 1.5, false },
	{ "broadcast to 2 consumers / 2 SPSC channels, 4 KiB msgs/s each",
	  "fan-bcast-4KiB-2", NULL, "fan-spsc-4KiB-2", M_TPUT, false, 1.5, false },
	{ "2 producers / 1 producer (SPSC), 64 B msgs/s at the consumer", "fan-in-64B-2",
	  NULL, "fan-in-64B-1", M_TPUT, false, 0.5, false },
	/* no target: how the channel stands at other sizes and modes */
	{ "(ref) channel 64 B zero-copy / plain spin ring", "chan-zc-64B", NULL,
	  "plain-ring-64B", M_TPUT, false, 0, false },
	{ "(ref) channel 4 KiB / plain spin ring", "chan-copy-4KiB", "chan-zc-4KiB",
	  "plain-ring-4KiB", M_TPUT, false, 0, false },
	{ "(ref) channel 1 MiB / plain spin ring", "chan-copy-1MiB", "chan-zc-1MiB",
	  "plain-ring-1MiB", M_TPUT, false, 0, false },
	{ "(ref) channel 4 KiB / Boost message_queue", "chan-copy-4KiB", "chan-zc-4KiB",
	  "boost-mq-4KiB", M_TPUT, false, 0, false },
	{ "(ref) channel 4 KiB / ZeroMQ ipc", "chan-copy-4KiB", "chan-zc-4KiB",
	  "zmq-ipc-4KiB", M_TPUT, false, 0, false },
	/* the default mode spins a while before it sleeps; the peers only sleep */
	{ "(ref) channel round trip blocking / Boost message_queue", "chan-block", NULL,
	  "boost-mq", M_TIME, true, 0, false },
	{ "(ref) channel round trip blocking / ZeroMQ ipc", "chan-block", NULL,
	  "zmq-ipc", M_TIME, true, 0, false },
	{ "(ref) channel round trip spin / Boost message_queue", "chan-spin", NULL,
	  "boost-mq", M_TIME, true, 0, false },
	{ "(ref) channel round trip spin / ZeroMQ ipc", "chan-spin", NULL, "zmq-ipc",
	  M_TIME, true, 0, false },
	{ "(ref) channel round trip spin / floor, p50 per op", "chan-spin", NULL, "spin",
	  M_P50, true, 0, true },
	{ "(ref) broadcast to 1 consumer / 1 SPSC channel, 64 B", "fan-bcast-64B-1", NULL,
	  "fan-spsc-64B-1", M_TPUT, false, 0, false },
	{ "(ref) broadcast to 3 consumers / 3 SPSC channels, 64 B", "fan-bcast-64B-3", NULL,
	  "fan-spsc-64B-3", M_TPUT, false, 0, false },
	{ "(ref) broadcast to 1 consumer / 1 SPSC channel, 4 KiB", "fan-bcast-4KiB-1", NULL,
	  "fan-spsc-4KiB-1", M_TPUT, false, 0, false },
	{ "(ref) broadcast to 3 consumers / 3 SPSC channels, 4 KiB", "fan-bcast-4KiB-3",
	  NULL, "fan-spsc-4KiB-3", M_TPUT, false, 0, false },
};

/* Why an item has no figure when its peer was not built. */
static const char *not_built(const char *key)
{
#ifndef SHMX_BENCH_BOOST
	if (!strncmp(key, "boost-", 6))
		return "skipped: no Boost";
#endif
#ifndef SHMX_BENCH_ZMQ
	if (!strncmp(key, "zmq-", 4))
		return "skipped: no ZeroMQ";
#endif
	(void)key;
	return NULL;
}

/* Median over windows of a's time relative to b's in the same round; for
 * throughput b/a (same message size), so bigger is better. */
static double ratio(const struct res *a, const struct res *b, enum metric m)
{
	double v[512];
	int n = 0;

	if (m == M_P50)
		return quantile(a->samp, a->nsamp, 0.5) / quantile(b->samp, b->nsamp, 0.5);
	for (int w = 0; w < opt.windows && w < 512; w++) {
		if (!isfinite(a->ns[w]) || !isfinite(b->ns[w]))
			continue;
		v[n++] = m == M_TPUT ? b->ns[w] / a->ns[w] : a->ns[w] / b->ns[w];
	}
	return quantile(v, n, 0.5);
}

static void print_ratios(FILE *f, bool md)
{
	if (md)
		fprintf(f, "\n| ratio | measured | target | result |\n|---|---:|---:|---|\n");
	else
		fprintf(f, "\n%-52s %9s %8s  %s\n", "ratio", "measured", "target", "result");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *t = &targets[i];
		const struct res *a = find(t->a), *a2 = t->a2 ? find(t->a2) : NULL;
		const struct res *b = find(t->b);
		double x = NAN, x2 = NAN;
		char goal[16], meas[48], how[48] = "";
		const char *verdict = "not measured";

		if (a && b)
			x = ratio(a, b, t->m);
		if (a2 && b)
			x2 = ratio(a2, b, t->m);
		if (isfinite(x2) && (!isfinite(x) || x2 > x)) {
			x = x2;
			snprintf(how, sizeof(how), " (zero-copy)");
		} else if (t->a2 && isfinite(x)) {
			snprintf(how, sizeof(how), " (copy)");
		}
		snprintf(goal, sizeof(goal), "%s %.2fx", t->at_most ? "<=" : ">=", t->goal);
		if (t->show_b && b && isfinite(x)) {
			char floor[32];

			fmt_ns(floor, sizeof(floor), t->m == M_P50 ?
			       quantile(b->samp, b->nsamp, 0.5) :
			       quantile(b->ns, opt.windows, 0.5));
			snprintf(how, sizeof(how), " (%s %s)", t->b, floor);
		}
		/* two decimals, or two significant digits below 0.1 */
		snprintf(meas, sizeof(meas), !isfinite(x) ? "-" : x < 0.1 ? "%.2gx%s"
			 : "%.2fx%s", x, how);
		if (isfinite(x))
			verdict = (t->at_most ? x <= t->goal : x >= t->goal) ? "met" : "NOT met";
		if (t->goal == 0) {
			snprintf(goal, sizeof(goal), "-");
			verdict = "reference";
		}
		if (!b && not_built(t->b))
			verdict = not_built(t->b);
		fprintf(f, md ? "| %s | %s | %s | %s |\n" : "%-52s %9s %8s  %s\n", t->what,
			meas, goal, verdict);
	}
}

static void write_csv(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "shmx-bench: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "key,series,kind,size,median_ns,p50_ns,p99_ns,p999_ns,gbps,"
		"msgs_per_s\n");
	for (size_t i = 0; i < nresults; i++) {
		const struct res *r = &results[i];
		double med;

		if (!r->ran)
			continue;
		med = quantile(r->ns, opt.windows, 0.5);
		fprintf(f, "%s,%s,%s,%zu,%.1f,%.1f,%.1f,%.1f,%.4f,%.4g\n", r->it->key,
			r->it->series ? r->it->series : "",
			r->it->kind == K_RT ? "rt" : r->it->kind == K_TPUT ? "tput" :
			r->it->kind == K_FAN ? "fan" : "local",
			r->it->size, med,
			r->nsamp ? quantile(r->samp, r->nsamp, 0.5) : NAN,
			r->nsamp ? quantile(r->samp, r->nsamp, 0.99) : NAN,
			r->nsamp ? quantile(r->samp, r->nsamp, 0.999) : NAN,
			r->it->size ? gbps(r, med) : NAN, NS_PER_S / med);
	}
	fclose(f);
}

/* The one-way curve at a glance: a row a size, a column a series; GB/s,
 * or millions of messages per second. */
static void print_curve(FILE *f, bool rate)
{
	char sz[16], key[64];

	fprintf(f, "\n| %s |", rate ? "M msgs/s" : "GB/s");
	for (size_t i = 0; i < NSERIES; i++)
		fprintf(f, " %s |", curve[i].key);
	fprintf(f, "\n|---|");
	for (size_t i = 0; i < NSERIES; i++)
		fprintf(f, "---:|");
	for (size_t k = 0; k < sizeof(curve_sizes) / sizeof(curve_sizes[0]); k++) {
		size_name(sz, sizeof(sz), curve_sizes[k], true);
		fprintf(f, "\n| %s |", sz);
		for (size_t i = 0; i < NSERIES; i++) {
			const struct res *r;
			double med;

			size_name(sz, sizeof(sz), curve_sizes[k], false);
			snprintf(key, sizeof(key), "%s-%s", curve[i].key, sz);
			r = find(key);
			med = r ? quantile(r->ns, opt.windows, 0.5) : NAN;
			if (!isfinite(med))
				fprintf(f, " - |");
			else
				fprintf(f, " %.3g |", rate ? 1e3 / med : gbps(r, med));
		}
	}
	fprintf(f, "\n");
}

/* Median messages per second (per consumer for a fan item), as "2.91 M". */
static void fmt_rate(char *out, size_t size, const struct res *r)
{
	double med = r ? quantile(r->ns, opt.windows, 0.5) : NAN;

	if (!isfinite(med))
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%.3g M", 1e3 / med);
}

static void fmt_spread(char *out, size_t size, const struct res *r)
{
	double med = r ? quantile(r->ns, opt.windows, 0.5) : NAN;

	if (!isfinite(med))
		snprintf(out, size, "-");
	else
		snprintf(out, size, "±%.0f%%", 50 * (quantile(r->ns, opt.windows, 0.75) -
					   quantile(r->ns, opt.windows, 0.25)) / med);
}

static void fmt_ratio(char *out, size_t size, const struct res *a, const struct res *b,
		      enum metric m)
{
	double x = a && b ? ratio(a, b, m) : NAN;

	if (isfinite(x))
		snprintf(out, size, "%.2fx", x);
	else
		snprintf(out, size, "-");
}

/* One row: broadcast and SPSC channels side by side, and their ratio. */
static void print_fan_row(FILE *f, const char *sz, unsigned n, const char *mode)
{
	char a[64], b[64], ra[32], rb[32], sa[32], sb[32], x[32];
	const struct res *bc, *sp;

	snprintf(a, sizeof(a), "fan-bcast%s-%s-%u", mode, sz, n);
	snprintf(b, sizeof(b), "fan-spsc%s-%s-%u", mode, sz, n);
	bc = find(a);
	sp = find(b);
	fmt_rate(ra, sizeof(ra), bc);
	fmt_rate(rb, sizeof(rb), sp);
	fmt_spread(sa, sizeof(sa), bc);
	fmt_spread(sb, sizeof(sb), sp);
	fmt_ratio(x, sizeof(x), bc, sp, M_TPUT);
	fprintf(f, "| %s | %u | %s | %s | %s | %s | %s | %s |\n", sz, n,
		*mode ? "default (adaptive)" : "SHMX_CHAN_BLOCK", ra, sa, rb, sb, x);
}

static void print_fan_rt(FILE *f, const char *key, const char *what)
{
	const struct res *r = find(key), *pipe = find("pipe"), *blk = find("chan-block");
	char med[32] = "-", p50[32] = "-", p99[32] = "-", x[32], y[32];

	if (r) {
		fmt_ns(med, sizeof(med), quantile(r->ns, opt.windows, 0.5));
		fmt_ns(p50, sizeof(p50), quantile(r->samp, r->nsamp, 0.5));
		fmt_ns(p99, sizeof(p99), quantile(r->samp, r->nsamp, 0.99));
	}
	fmt_ratio(x, sizeof(x), r, pipe, M_P50);
	fmt_ratio(y, sizeof(y), r, blk, M_P50);
	fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", what, med, p50, p99, x, y);
}

/* Where a fan item's time went, per message each consumer got: the CPU
 * time of all its processes, and their context switches. */
static void print_fan_use(FILE *f)
{
	fprintf(f, "\nWhere the time goes, from attach to exit of every process of every "
		"window, per message each consumer got: CPU time of the producer (both, "
		"for two), of each consumer, and of all the item's processes; and their "
		"voluntary (a sleep) and involuntary (preempted) context switches per "
		"1000 messages.\n\n| item | producer CPU | each consumer's CPU | all CPU | "
		"sleeps / 1000 | preempted / 1000 |\n|---|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < nresults; i++) {
		const struct res *r = &results[i];
		const struct fan_use *u = &r->use;
		char prod[32], cons[32], all[32];

		if (!r->ran || r->it->kind != K_FAN || !(u->msgs > 0))
			continue;
		fmt_ns(prod, sizeof(prod), u->prod_ns / u->msgs);
		fmt_ns(cons, sizeof(cons), u->cons_ns / r->it->consumers / u->msgs);
		fmt_ns(all, sizeof(all), (u->prod_ns + u->cons_ns) / u->msgs);
		fprintf(f, "| %s | %s | %s | %s | %.1f | %.1f |\n", r->it->label, prod, cons,
			all, 1e3 * u->vcsw / u->msgs, 1e3 * u->ivcsw / u->msgs);
	}
}

/* The fan-out figures side by side: what each consumer gets from one
 * broadcast channel and from its own SPSC channel, two producers against
 * one, and the round trip through the pollable descriptor. */
static void print_fanout(FILE *f)
{
	static const char *const sizes[] = { "64B", "4KiB" };
	const struct res *two = find("fan-in-64B-2"), *one = find("fan-in-64B-1");
	char r2[32], r1[32], s2[32], s1[32], x[32], per[32] = "-";

	fprintf(f, "\n## Fan-out\n\nMedians over windows of the messages each consumer "
		"received per second (millions), and the median of the ratios of windows "
		"run next to each other.\n\n| size | consumers | wait | broadcast | IQR | "
		"SPSC channels | IQR | broadcast / SPSC |\n"
		"|---|---:|---|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < 2; i++) {
		for (unsigned n = 1; n <= 3; n++)
			print_fan_row(f, sizes[i], n, "");
		print_fan_row(f, sizes[i], 2, "-adaptive");
	}
	fmt_rate(r2, sizeof(r2), two);
	fmt_rate(r1, sizeof(r1), one);
	fmt_spread(s2, sizeof(s2), two);
	fmt_spread(s1, sizeof(s1), one);
	fmt_ratio(x, sizeof(x), two, one, M_TPUT);
	if (two)
		snprintf(per, sizeof(per), "%.3g M", 1e3 / quantile(two->ns, opt.windows, 0.5) / 2);
	fprintf(f, "\n| 64 B, SHMX_CHAN_BLOCK | received, msgs/s | IQR | per producer | "
		"/ 1 producer |\n|---|---:|---:|---:|---:|\n"
		"| 2 producers, 1 consumer | %s | %s | %s | %s |\n"
		"| 1 producer, 1 consumer (SPSC) | %s | %s | %s | 1.00x |\n",
		r2, s2, per, x, r1, s1, r1);
	fprintf(f, "\n| round trip, 8 B | median | p50 | p99 | / pipe (p50) "
		"| / futex path (p50) |\n|---|---:|---:|---:|---:|---:|\n");
	print_fan_rt(f, "chan-poll", "channel, poll(2) on shmx_chan_fd(), recv with timeout 0");
	print_fan_rt(f, "chan-block", "channel, blocking recv, SHMX_CHAN_BLOCK (futex path)");
	print_fan_rt(f, "pipe", "pipe");
	print_fan_use(f);
}

static void write_md(const char *path, double secs)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "shmx-bench: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "## Targets\n");
	print_ratios(f, true);
	for (const char *const *note = peer_notes; *note; note++)
		fprintf(f, "\nNote: %s.\n", *note);
	print_fanout(f);
	fprintf(f, "\n## One-way throughput by message size\n\nMedians over "
		"windows; the tables per size below give the spread.\n");
	print_curve(f, false);
	print_curve(f, true);
	fprintf(f, "\n## Results\n\nUp to %d windows of about %.0f ms per item, %s; "
		"run took %.0f s.\n", opt.windows, opt.window_ms,
		g_cpu[0] >= 0 ? "the two processes pinned to two CPUs (fan-out items: "
				"theirs round robin)" : "unpinned (fewer than 2 CPUs)", secs);
	print_results(f, true);
	fclose(f);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: shmx-bench [options]\n"
		"Measure libshmx against its baselines (busy-spin, futex, sem_open,\n"
		"pipe, Unix socket, eventfd, memcpy) and peers (Boost message_queue,\n"
		"ZeroMQ, when built), interleaved, and print medians and the target\n"
		"ratios. Exit status 0 unless it could not run.\n\n"
		"  -q, --quick          a few seconds: 3 short windows per item\n"
		"  -w, --windows N      windows per item (default %d)\n"
		"  -t, --window-ms MS   target length of one window (default %.0f)\n"
		"  -f, --filter TEXT    only items whose key contains TEXT (or one of\n"
		"                       TEXT,TEXT...)\n"
		"  -m, --markdown FILE  also write the tables as markdown\n"
		"  -c, --csv FILE       also write one CSV line per item\n"
		"  -r, --ring BYTES     channel capacity for the streams (default 1 MiB,\n"
		"                       raised to 4 messages; a power of two)\n"
		"  -b, --budget S       stop adding windows (3 at least) once a group\n"
		"                       has used its share of S seconds (default 160,\n"
		"                       0: no limit)\n"
		"  -l, --list           list the item keys and exit\n"
		"  -h, --help           this text\n",
		15, 80.0);
}

static void list_items(void)
{
	for (size_t gi = 0; gi < ngroups; gi++)
		for (size_t i = 0; i < groups[gi].n; i++)
			printf("%-20s %s\n", groups[gi].items[i].key,
			       groups[gi].items[i].label);
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "windows", required_argument, NULL, 'w' },
		{ "window-ms", required_argument, NULL, 't' },
		{ "filter", required_argument, NULL, 'f' },
		{ "markdown", required_argument, NULL, 'm' },
		{ "csv", required_argument, NULL, 'c' },
		{ "ring", required_argument, NULL, 'r' },
		{ "budget", required_argument, NULL, 'b' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "qw:t:f:m:c:r:b:lh", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			opt.quick = true;
			opt.windows = 3;
			opt.window_ms = 8;
			break;
		case 'w':
			opt.windows = atoi(optarg);
			break;
		case 't':
			opt.window_ms = atof(optarg);
			break;
		case 'f':
			opt.filter = optarg;
			break;
		case 'm':
			opt.md = optarg;
			break;
		case 'c':
			opt.csv = optarg;
			break;
		case 'r':
			opt.ring = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			opt.budget_s = atof(optarg);
			break;
		case 'l':
			list_items();
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || opt.windows < 1 || opt.windows > 512 || opt.ring < 64 ||
	    (opt.ring & (opt.ring - 1)) ||
	    !(opt.window_ms > 0) || !(opt.budget_s >= 0)) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int init(void)
{
	g_main_pid = getpid();
	snprintf(g_tag, sizeof(g_tag), "shmx-bench-%d-", (int)g_main_pid);
	g_devshm = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g_devshm < 0) {
		fprintf(stderr, "shmx-bench: /dev/shm: %s\n", strerror(errno));
		return -1;
	}
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) {
		perror("shmx-bench: mmap");
		return -1;
	}
	install_signals();
	pick_cpus();
	pin(g_cpu[0]);
	measure_timer();
	return 0;
}

int main(int argc, char **argv)
{
	double secs, total = 0, before = 0;
	uint64_t t0;

	build_groups();
	if (parse(argc, argv) || init())
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("shmx-bench: %d windows x ~%.0f ms per item, CPUs %d and %d, "
	       "timer %.0f ns, stream ring %zu KiB, sizes off the targets %d%%\n",
	       opt.windows, opt.window_ms, g_cpu[0], g_cpu[1], g_timer_ns,
	       opt.ring / KiB, SPARSE);
	for (size_t gi = 0; gi < ngroups; gi++) {
		nresults += groups[gi].n;
		total += group_weight(&groups[gi]);
	}
	for (const char *const *note = peer_notes; *note; note++)
		printf("note: %s\n", *note);
	results = calloc(nresults, sizeof(*results));
	if (!results)
		return 2;
	t0 = now_ns();
	for (size_t gi = 0, k = 0; gi < ngroups; k += groups[gi].n, gi++) {
		/* this group's share of the budget, by its window-milliseconds */
		uint64_t end, g0 = now_ns();

		before += group_weight(&groups[gi]);
		end = t0 + (uint64_t)(opt.budget_s * NS_PER_S * before / total);
		fprintf(stderr, "  %s...", groups[gi].title);
		run_group(&groups[gi], results + k, end);
		fprintf(stderr, " %.1f s\n", (double)(now_ns() - g0) / NS_PER_S);
	}
	secs = (double)(now_ns() - t0) / NS_PER_S;
	sweep();
	print_results(stdout, false);
	print_ratios(stdout, false);
	printf("\n(%.1f s)\n", secs);
	if (opt.md)
		write_md(opt.md, secs);
	if (opt.csv)
		write_csv(opt.csv);
	return 0;
}

