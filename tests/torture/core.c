/* SPDX-License-Identifier: MIT */
/* The harness's kit: the random numbers a seed replays, failures, timed
 * calls (the deadline invariant) and worker processes. */
#include "torture.h"

#include <dirent.h>
#include <execinfo.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct tt_shared *tt;
struct tt_proc *tt_me;

const char *const tt_fault_name[F_NKINDS] = {
	"kill9", "sigstop", "signal", "sigbus", "truncate", "scribble",
	"sem_post", "replace", "gc", "rdlock", "full_devshm", "hostile_args",
};

uint64_t tt_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t tt_next(struct tt_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return tt_mix(r->s);
}

uint64_t tt_below(struct tt_rng *r, uint64_t n)
{
	return n ? tt_next(r) % n : 0;
}

bool tt_chance(struct tt_rng *r, unsigned percent)
{
	return tt_below(r, 100) < percent;
}

int64_t tt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps through signals: the workers get many. */
void tt_sleep_ms(double ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_nsec = (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6),
	};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* How often inv broke so far, this one included: an invariant that breaks
 * at every turn prints its first few, and counts the rest. */
static uint64_t count_inv(const char *inv)
{
	for (int i = 0; i < TT_INVS; i++) {
		const char *n = NULL;

		if (atomic_compare_exchange_strong(&tt->byinv[i].name, &n, inv) ||
		    n == inv || !strcmp(n, inv))
			return atomic_fetch_add(&tt->byinv[i].n, 1) + 1;
	}
	return 1;
}

static void vfail(const char *inv, const char *fmt, va_list ap)
{
	char msg[256];
	uint32_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	atomic_fetch_add(&tt->failures, 1);
	if (count_inv(inv) > 3)
		return;
	n = atomic_fetch_add(&tt->nfail, 1);
	if (n < TT_FAILS)
		snprintf(tt->fail[n], sizeof(tt->fail[n]),
			 "seed=%llu step=%llu invariant=%s: %s [%s]",
			 (unsigned long long)tt->seed,
			 (unsigned long long)atomic_load(&tt->step), inv, msg, tt->desc);
	fprintf(stderr, "torture: FAIL seed=%llu step=%llu invariant=%s: %s [%s]\n",
		(unsigned long long)tt->seed,
		(unsigned long long)atomic_load(&tt->step), inv, msg, tt->desc);
}

void tt_fail(const char *inv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(inv, fmt, ap);
	va_end(ap);
}

void tt_check(bool ok, const char *inv, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&tt->checks, 1);
	if (ok)
		return;
	va_start(ap, fmt);
	vfail(inv, fmt, ap);
	va_end(ap);
}

/* The clock process sleeps 1 ms at a time and notes how late it woke:
 * a wake-up that late for it says the machine, not the library, made a
 * call late (two CPUs shared with other work). */
void tt_clock(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		int64_t t = tt_now_ns(), late;
		uint64_t b;

		tt_sleep_ms(1);
		late = (tt_now_ns() - t - 1000000) / 1000;
		b = (uint64_t)t / 10000000;
		if (atomic_load(&tt->hb_tag[b % TT_HB]) != b) {
			atomic_store(&tt->hb_late_us[b % TT_HB], 0);
			atomic_store(&tt->hb_tag[b % TT_HB], b);
		}
		if (late > atomic_load(&tt->hb_late_us[b % TT_HB]))
			atomic_store(&tt->hb_late_us[b % TT_HB], (uint32_t)late);
	}
}

uint32_t tt_clock_late_us(int64_t t0, int64_t t1)
{
	uint32_t m = 0;

	for (uint64_t b = (uint64_t)t0 / 10000000; b <= (uint64_t)t1 / 10000000; b++)
		if (atomic_load(&tt->hb_tag[b % TT_HB]) == b &&
		    atomic_load(&tt->hb_late_us[b % TT_HB]) > m)
			m = atomic_load(&tt->hb_late_us[b % TT_HB]);
	return m;
}

static bool loaded(int64_t t0, int64_t t1)
{
	return tt_clock_late_us(t0, t1) >= 2000;
}

static long ivcsw(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nivcsw;
}

/* The worker's own /proc/thread-self/schedstat, opened once per process
 * (tt_worker_setup()); tt_close_inherited() leaves it open. */
static int sched_fd = -1;

static int64_t read_run_delay(int fd)
{
	unsigned long long on_cpu, waited;
	char buf[96];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return sscanf(buf, "%llu %llu", &on_cpu, &waited) == 2 ? (int64_t)waited : -1;
}

/* How long this process has been runnable but not running, in ns (the
 * second field of schedstat: the run-queue delay), or -1 if the kernel
 * does not say. Lateness up to this much is the machine's, not the
 * library's: a call that slept past its deadline, or spun past it on the
 * CPU, did not spend that time on a run queue. */
int64_t tt_run_delay_ns(void)
{
	return sched_fd < 0 ? -1 : read_run_delay(sched_fd);
}

/* Another process's (the driver watching a worker): its main thread. */
int64_t tt_run_delay_of(pid_t pid)
{
	char path[48];
	int64_t v;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	v = read_run_delay(fd);
	close(fd);
	return v;
}

static void open_schedstat(void)
{
	if (sched_fd >= 0)
		close(sched_fd);
	sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
}

static volatile sig_atomic_t nsig;

void tt_call_begin(struct tt_call *c, const char *what, int tmo)
{
	c->sigs = nsig;
	c->what = what;
	c->tmo = tmo;
	c->stops = tt_me ? atomic_load(&tt_me->stops) : 0;
	c->ivcsw = ivcsw();
	c->rd0 = tt_run_delay_ns();
	c->t0 = tt_now_ns();
	if (tt_me) {
		atomic_store(&tt_me->call_what, what);
		atomic_store(&tt_me->call_tmo, tmo);
		atomic_store(&tt_me->call_rd0, c->rd0);
		atomic_store(&tt_me->call_t0, c->t0);
	}
}

/* Is a call that took ms against bound excused by the machine? With the
 * run-queue delay known: when the call would have been in time without
 * it (the delay may have come before the deadline, where it costs
 * nothing, so this errs towards excusing, never towards failing a call
 * the scheduler made late). Without it (no schedstat): the old rule, a
 * preemption or a loaded machine excuses up to TT_LATE_MS. */
static bool excused(const struct tt_call *c, int64_t ms, int64_t bound, int64_t rd)
{
	if (rd >= 0 && c->rd0 >= 0)
		return ms - (rd - c->rd0) / 1000000 <= bound;
	return c->tmo >= 0 && ms <= c->tmo + TT_LATE_MS &&
	       (ivcsw() != c->ivcsw || loaded(c->t0, tt_now_ns()));
}

/* Every call the harness times: an error its man page lists (errors.c);
 * a return by its deadline plus TT_SLACK_MS, or within TT_PROMPT_MS
 * without one. Lateness the caller spent waiting for a CPU is excused
 * (two shared CPUs); a caller stopped by the harness is not timed. */
long tt_call_end(struct tt_call *c, long ret)
{
	int64_t ms = (tt_now_ns() - c->t0) / 1000000, rd;
	int64_t bound = c->tmo >= 0 ? c->tmo + TT_SLACK_MS : TT_PROMPT_MS;

	if (tt_me) {
		atomic_store(&tt_me->call_t0, 0);
		atomic_store(&tt_me->last_ret, (int32_t)ret);
	}
	atomic_fetch_add(&tt->ops, 1);
	tt_check(tt_documented(c->what, ret), tt_errors_inv(c->what),
		 "%s returned %ld, an error its man page does not list", c->what, ret);
	if (c->tmo == -1)
		bound = INT64_MAX;      /* waits as long as the peer lives */
	if (tt_me && (atomic_load(&tt_me->stops) != c->stops || (c->stops & 1)))
		return ret;     /* stopped by the harness meanwhile */
	atomic_fetch_add(&tt->checks, 1);
	if (ms <= bound)
		return ret;
	rd = tt_run_delay_ns();
	if (excused(c, ms, bound, rd)) {
		atomic_fetch_add(&tt->excused, 1);
		return ret;
	}
	tt_fail("call.deadline", "%s (timeout %d ms) returned %ld after %lld ms, "
		"%lld ms of them waiting for a CPU (clock late by %u us, %ld preemptions, "
		"%d signals)", c->what, c->tmo, ret, (long long)ms,
		rd >= 0 && c->rd0 >= 0 ? (long long)((rd - c->rd0) / 1000000) : -1LL,
		tt_clock_late_us(c->t0, tt_now_ns()), ivcsw() - c->ivcsw,
		(int)(nsig - c->sigs));
	return ret;
}

static void on_usr1(int sig)
{
	(void)sig;
	nsig++;
}

/* Installed before shmx_guard_sigbus(), so the guard chains a sent SIGBUS
 * here; a real fault outside libshmx's sections is a harness bug. */
static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_code <= 0) {
		nsig++;
		return;
	}
	_exit(99);
}

/* A worker that crashes says where, for whoever must fix it: the frames
 * name libshmx's hidden functions by offset (addr2line -e libshmx.so).
 * Then it dies of the same signal, for worker.signal to report. */
static void on_crash(int sig)
{
	static const char head[] = "torture: a worker crashed; backtrace:\n";
	void *frames[32];
	int n = backtrace(frames, 32);

	if (write(2, head, sizeof(head) - 1) > 0)
		backtrace_symbols_fd(frames, n, 2);
	raise(sig);     /* SA_RESETHAND: the default action now */
}

static void crash_reports(void)
{
	struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND };
	static const int sigs[] = { SIGSEGV, SIGABRT, SIGILL, SIGFPE };
	void *warm[1];

	backtrace(warm, 1);     /* loads libgcc now, not in the handler */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* A worker's own child (an anonymous object's) inherits the guard,
 * chained to on_bus, and libshmx's note that it is installed: replacing
 * the handler there would leave the child unguarded for good. */
static void guard(void)
{
	struct sigaction sa = { .sa_sigaction = on_bus, .sa_flags = SA_SIGINFO }, cur;

	sigaction(SIGBUS, NULL, &cur);
	if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL)
		sigaction(SIGBUS, &sa, NULL);
	shmx_guard_sigbus();
}

void tt_worker_setup(int idx)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	tt_me = &tt->proc[idx];
	if (getppid() == tt->driver)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigaction(SIGUSR1, &sa, NULL);  /* no SA_RESTART: waits see EINTR */
	guard();
	open_schedstat();
	crash_reports();
}

/* A forked worker shares every open file description of its parent, the
 * liveness locks included (shmx(7), KINDS): drop them all but keep. */
void tt_close_inherited(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fd, self;

	if (!d)
		return;
	self = dirfd(d);
	while ((e = readdir(d))) {
		fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd <= 2 || fd == keep || fd == self ||
		    fd == sched_fd)
			continue;
		close(fd);
	}
	closedir(d);
}

int tt_free_proc(void)
{
	for (int i = 0; i < TT_PROCS; i++) {
		uint32_t v = TT_P_FREE;

		if (atomic_compare_exchange_strong(&tt->proc[i].state, &v, TT_P_RUN))
			return i;
	}
	return -1;
}

bool tt_stopping(void)
{
	return atomic_load(&tt->stop) != 0;
}

/* Fork a worker into entry idx (taken with tt_free_proc()); the child runs
 * fn and exits 0. Its pid is stored before either side goes on. The
 * signals the driver sends stay blocked until the child's handlers are
 * in: a SIGUSR1 burst right after the fork killed it (worker.signal,
 * "died of signal 10 in (no call)"). */
int tt_spawn(int idx, tt_worker_fn fn, uint64_t seed)
{
	struct tt_proc *p = &tt->proc[idx];
	pid_t pid, parent = getpid();
	sigset_t sent, old;

	sigemptyset(&sent);
	sigaddset(&sent, SIGUSR1);
	sigaddset(&sent, SIGBUS);
	atomic_store(&p->state, TT_P_RUN);
	fflush(NULL);
	sigprocmask(SIG_BLOCK, &sent, &old);
	pid = fork();
	if (pid == 0) {
		/* dies with whoever forked it (the driver, or an anonymous
		 * object's creator): a run that is killed leaves no worker
		 * looping on an object nobody stops */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		atomic_store(&p->pid, getpid());
		tt_worker_setup(idx);
		sigprocmask(SIG_SETMASK, &old, NULL);
		fn(idx, seed);
		atomic_store(&p->state, TT_P_EXITED);
		_exit(0);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		atomic_store(&p->state, TT_P_FREE);
		return -errno;
	}
	atomic_store(&p->pid, pid);
	return 0;
}
