/* SPDX-License-Identifier: MIT */
/*
 * Fan-out and fan-in: one producer to several consumers, through one
 * broadcast channel or through one SPSC channel a consumer, and several
 * producers into one channel. These take more processes than the two of
 * the other items, so a window runs them all itself: the parent starts the
 * workers, times a stretch of their steady state by the consumers'
 * counters, stops them and reaps them. Every message carries its producer
 * and its sequence number, and every consumer checks that it got all of
 * them, in order: a lost or repeated message fails the window.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define FAN_WORKERS 4           /* producers + consumers of one window */
#define FAN_CHECK 64            /* messages between looks at the stop word */
#define FAN_SEQ_BITS 56         /* a message's first word: producer << 56 | seq */

enum { GO_WAIT, GO_RUN, GO_STOP };

/* Shared by the parent and the workers (anonymous, made before the fork).
 * Each consumer's counter has its own cache line: the parent reads it
 * twice a window, the consumer stores it every message. */
struct fan_ctl {
	_Alignas(64) atomic_int ready;          /* workers attached */
	atomic_int failed;                      /* a worker could not attach */
	_Alignas(64) atomic_uint go;            /* GO_*, a futex word */
	struct {
		_Alignas(64) atomic_ulong got;
	} cons[FAN_WORKERS];
	char name[FAN_WORKERS][96];             /* the channels, for teardown */
	struct fan_use use[FAN_WORKERS];        /* each worker's, at its exit */
};

/* One worker's view: its role, index and channels. */
struct fan_worker {
	struct fan_ctl *ctl;
	const struct item *it;
	int idx;                        /* 0..producers-1, then the consumers */
	struct shmx_chan *ch[FAN_WORKERS];
	int nch;
	unsigned char *msg;
};

static unsigned fan_producers(const struct item *it)
{
	return it->producers ? it->producers : 1;
}

static unsigned fan_workers(const struct item *it)
{
	return fan_producers(it) + it->consumers;
}

/* Channels of the window: one, or one a consumer. */
static unsigned fan_channels(const struct item *it)
{
	return it->slots ? 1 : it->consumers;
}

/* ---- the parent's side of setup and teardown ---- */

static int fan_setup(struct win *w)
{
	struct fan_ctl *ctl;

	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (ctl == MAP_FAILED)
		return -errno;
	memset(ctl, 0, sizeof(*ctl));
	for (unsigned k = 0; k < fan_channels(w->it); k++)
		new_name(ctl->name[k], sizeof(ctl->name[k]), "");
	w->peer = ctl;
	return 0;
}

/* The first producer creates the channels: unlink them here, whether or
 * not it got that far (-ENOENT then). */
static void fan_teardown(struct win *w)
{
	struct fan_ctl *ctl = w->peer;

	if (!ctl)
		return;
	for (unsigned k = 0; k < fan_channels(w->it); k++)
		shmx_chan_unlink(ctl->name[k]);
	munmap(ctl, sizeof(*ctl));
	w->peer = NULL;
}

/* ---- the workers ---- */

static int fan_create(struct fan_worker *fw)
{
	const struct item *it = fw->it;
	struct shmx_chan_params p = {
		.capacity = stream_ring_bytes(it),
		.producers = fan_producers(it),
		.consumers = it->slots ? it->slots : 1,
	};
	unsigned flags = it->flags | SHMX_CHAN_PRODUCER;
	int err;

	for (unsigned k = 0; k < fan_channels(it); k++) {
		err = shmx_chan_create_params(fw->ctl->name[k], &p, flags, 0, &fw->ch[k]);
		if (err)
			return err;
		fw->nch++;
	}
	return 0;
}

static int fan_attach(struct fan_worker *fw)
{
	const struct item *it = fw->it;
	unsigned np = fan_producers(it), flags = it->flags;
	const char *name;

	if (fw->idx == 0)
		return fan_create(fw);
	if ((unsigned)fw->idx < np) {
		name = fw->ctl->name[0];
		flags |= SHMX_CHAN_PRODUCER;
	} else {
		name = fw->ctl->name[it->slots ? 0 : fw->idx - np];
		flags |= SHMX_CHAN_CONSUMER;
	}
	fw->nch = 1;
	return shmx_chan_open(name, flags, IO_TIMEOUT_MS, &fw->ch[0]);
}

static unsigned fan_go(struct fan_ctl *ctl)
{
	return atomic_load_explicit(&ctl->go, memory_order_acquire);
}

/* Sleep, not spin, until the parent says go: on two CPUs a spinning
 * worker would slow down the others still attaching. */
static void fan_wait_go(struct fan_ctl *ctl)
{
	while (fan_go(ctl) == GO_WAIT)
		syscall(SYS_futex, &ctl->go, FUTEX_WAIT, GO_WAIT, NULL, NULL, 0);
}

/* Send until told to stop, every message to every channel. An error once
 * the parent said stop is the consumers leaving (-EPIPE), not a failure. */
static int fan_produce(struct fan_worker *fw)
{
	uint64_t stamp = (uint64_t)fw->idx << FAN_SEQ_BITS;
	size_t size = fw->it->size;
	int err;

	for (;;) {
		for (int i = 0; i < FAN_CHECK; i++, stamp++) {
			memcpy(fw->msg, &stamp, sizeof(stamp));
			for (int k = 0; k < fw->nch; k++) {
				err = shmx_chan_send(fw->ch[k], fw->msg, size, IO_TIMEOUT_MS);
				if (err)
					return fan_go(fw->ctl) == GO_STOP ? 0 : err;
			}
		}
		if (fan_go(fw->ctl) == GO_STOP)
			return 0;
	}
}

/* Receive until told to stop, checking each producer's sequence. */
static int fan_consume(struct fan_worker *fw)
{
	atomic_ulong *got = &fw->ctl->cons[fw->idx - fan_producers(fw->it)].got;
	uint64_t next[FAN_WORKERS] = { 0 }, stamp, n = 0;
	size_t size = fw->it->size;
	unsigned p;
	ssize_t k;

	for (;;) {
		k = shmx_chan_recv(fw->ch[0], fw->msg, size, IO_TIMEOUT_MS);
		if (k < 0)
			return fan_go(fw->ctl) == GO_STOP ? 0 : (int)k;
		memcpy(&stamp, fw->msg, sizeof(stamp));
		p = (unsigned)(stamp >> FAN_SEQ_BITS);
		if ((size_t)k != size || p >= fan_producers(fw->it) ||
		    (stamp & ((1ull << FAN_SEQ_BITS) - 1)) != next[p]++) {
			fprintf(stderr, "shmx-bench: %s: consumer %d got %zd bytes, stamp "
				"%#llx after %llu messages\n", fw->it->key, fw->idx, k,
				(unsigned long long)stamp, (unsigned long long)n);
			return -EBADMSG;
		}
		atomic_store_explicit(got, ++n, memory_order_relaxed);
		if (!(n % FAN_CHECK) && fan_go(fw->ctl) == GO_STOP)
			return 0;
	}
}

/* Producers first, then consumers, each on the next CPU in turn (the
 * parent, which only sleeps, shares the first). */
static void fan_pin(int idx)
{
	if (g_cpu[0] >= 0)
		pin(g_cpu[idx % 2]);
}

/* For the report: what explains a rate on a CPU that processes share. */
static void fan_account(struct fan_use *u, bool producer)
{
	struct rusage ru;
	double ns;

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	ns = 1e9 * (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	     1e3 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	*(producer ? &u->prod_ns : &u->cons_ns) = ns;
	u->vcsw = (double)ru.ru_nvcsw;
	u->ivcsw = (double)ru.ru_nivcsw;
}

static void fan_worker_main(struct fan_ctl *ctl, const struct item *it, int idx,
			    pid_t parent)
{
	struct fan_worker fw = { .ctl = ctl, .it = it, .idx = idx };
	int err;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	fan_pin(idx);
	fw.msg = aligned_alloc(64, (it->size + 63) & ~(size_t)63);
	err = fw.msg ? fan_attach(&fw) : -ENOMEM;
	if (err) {
		fprintf(stderr, "shmx-bench: %s, worker %d: %s\n", it->key, idx,
			shmx_strerror(err));
		atomic_store(&ctl->failed, 1);
		_exit(2);
	}
	memset(fw.msg, 0x5a, it->size);
	atomic_fetch_add(&ctl->ready, 1);
	fan_wait_go(ctl);
	err = (unsigned)idx < fan_producers(it) ? fan_produce(&fw) : fan_consume(&fw);
	if (err)
		fprintf(stderr, "shmx-bench: %s, worker %d: %s\n", it->key, idx,
			shmx_strerror(err));
	for (int k = 0; k < fw.nch; k++)
		shmx_chan_close(fw.ch[k]);
	fan_account(&ctl->use[idx], (unsigned)idx < fan_producers(it));
	_exit(err ? 1 : 0);
}

/* ---- the parent: start, time, stop ---- */

static uint64_t fan_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fan_sleep(double ms)
{
	long long ns = (long long)(ms * 1e6);
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000), .tv_nsec = ns % 1000000000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts)) {
		if (g_abort)
			return -EINTR;
	}
	return 0;
}

static int fan_wait_ready(struct fan_ctl *ctl, int want)
{
	while (atomic_load(&ctl->ready) < want) {
		if (atomic_load(&ctl->failed))
			return -ENOTCONN;
		if (g_abort)
			return -EINTR;
		usleep(200);
	}
	return 0;
}

static void fan_set_go(struct fan_ctl *ctl, unsigned go)
{
	atomic_store_explicit(&ctl->go, go, memory_order_release);
	syscall(SYS_futex, &ctl->go, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static uint64_t fan_delivered(const struct fan_ctl *ctl, unsigned consumers)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < consumers; k++)
		n += atomic_load_explicit(&ctl->cons[k].got, memory_order_relaxed);
	return n;
}

/* Stop the workers (killed when err says the window failed) and collect
 * them; a worker that failed fails the window. */
static int fan_reap(struct fan_ctl *ctl, const pid_t *pid, int n, int err)
{
	int st;

	fan_set_go(ctl, GO_STOP);
	for (int i = 0; i < n; i++)
		if (err)
			kill(pid[i], SIGKILL);
	for (int i = 0; i < n; i++) {
		while (waitpid(pid[i], &st, 0) < 0) {
			if (errno != EINTR) {
				err = err ? err : -ECHILD;
				break;
			}
			/* the watchdog: a worker that does not stop is killed */
			if (g_abort) {
				for (int j = i; j < n; j++)
					kill(pid[j], SIGKILL);
				err = err ? err : -ETIMEDOUT;
			}
		}
		if (!err && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			err = -ECONNRESET;
	}
	return err;
}

/* Fork the workers; how many were started in *started. */
static int fan_start(struct fan_ctl *ctl, const struct item *it, pid_t *pid, int *started)
{
	pid_t self = getpid();
	int n = (int)fan_workers(it);

	for (*started = 0; *started < n; (*started)++) {
		pid[*started] = fork();
		if (pid[*started] < 0)
			return -errno;
		if (pid[*started] == 0)
			fan_worker_main(ctl, it, *started, self);
	}
	return fan_wait_ready(ctl, n);
}

/* Let them go, warm up a tenth of ms, then count what the consumers get
 * in ms: ns is the time per message delivered to each consumer. */
static int fan_time(struct fan_ctl *ctl, const struct item *it, double ms, double *ns)
{
	uint64_t t0, t1, c0, c1;
	int err;

	fan_set_go(ctl, GO_RUN);
	err = fan_sleep(ms / 10);
	if (err)
		return err;
	t0 = fan_now();
	c0 = fan_delivered(ctl, it->consumers);
	err = fan_sleep(ms);
	c1 = fan_delivered(ctl, it->consumers);
	t1 = fan_now();
	if (err)
		return err;
	/* a stall longer than the window (the machine's other work) */
	if (c1 == c0) {
		fprintf(stderr, "shmx-bench: %s: no message arrived in %.0f ms\n", it->key, ms);
		return -ETIME;
	}
	*ns = (double)(t1 - t0) * it->consumers / (double)(c1 - c0);
	return 0;
}

static void fan_add_use(struct fan_use *u, const struct fan_ctl *ctl, const struct item *it)
{
	for (unsigned i = 0; i < fan_workers(it); i++) {
		u->prod_ns += ctl->use[i].prod_ns;
		u->cons_ns += ctl->use[i].cons_ns;
		u->vcsw += ctl->use[i].vcsw;
		u->ivcsw += ctl->use[i].ivcsw;
	}
	for (unsigned k = 0; k < it->consumers; k++)
		u->msgs += (double)atomic_load(&ctl->cons[k].got) / it->consumers;
}

/* A window of about ms, with its own processes. */
int fan_window(struct win *w, double ms, double *ns)
{
	const struct item *it = w->it;
	struct fan_ctl *ctl = w->peer;
	pid_t pid[FAN_WORKERS];
	int started = 0, err;

	if (fan_workers(it) > FAN_WORKERS || fan_channels(it) > FAN_WORKERS)
		return -EINVAL;
	alarm(WATCHDOG_S);
	err = fan_start(ctl, it, pid, &started);
	if (!err)
		err = fan_time(ctl, it, ms, ns);
	err = fan_reap(ctl, pid, started, err);
	alarm(0);
	if (!err && w->use)
		fan_add_use(w->use, ctl, it);
	return err;
}


/* ---- the items ---- */

const struct item item_fan = { .kind = K_FAN, .setup = fan_setup,
	.teardown = fan_teardown };
