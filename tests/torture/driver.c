/* SPDX-License-Identifier: MIT */
/* The driver's side of every episode: its processes (reaped, watched for
 * hangs, stopped and killed on schedule) and the faults that act on files
 * (truncation, scribbles, a read lock of another uid). */
#include "torture.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void tt_ep_reset(void)
{
	atomic_store(&tt->stop, 0);
	atomic_store(&tt->quiesce, 0);
	atomic_store(&tt->hostile, 0);
	for (int i = 0; i < 4; i++)
		atomic_store(&tt->spawn_req[i], 0);
	memset(tt->proc, 0, sizeof(tt->proc));
	memset(&tt->ep, 0, sizeof(tt->ep));
	for (int i = 0; i < TT_NAMES; i++) {
		atomic_store(&tt->names[i].live, 0);
		tt->names[i].name[0] = 0;
		tt->names[i].pair = false;
	}
}

void tt_name_set(int i, const char *fmt, unsigned n)
{
	char tail[32];

	snprintf(tail, sizeof(tail), fmt, n);
	snprintf(tt->names[i].name, sizeof(tt->names[i].name), "/%s%s", tt->prefix, tail);
}

void tt_fault_step(const char *what)
{
	uint64_t s = atomic_fetch_add(&tt->step, 1) + 1;

	if (tt->verbose)
		fprintf(stderr, "torture: step %llu: %s\n", (unsigned long long)s, what);

}

/* An episode starts: failures name it. */
void tt_episode(const char *what)
{
	tt_fault_step(what);
	snprintf(tt->desc, sizeof(tt->desc), "%s, from step %llu", what,
		 (unsigned long long)atomic_load(&tt->step));
}

/* Whoever reaps a worker (the driver, or an anonymous object's creator)
 * records how it ended; a death the harness did not cause is a failure. */
void tt_reap_one(pid_t pid, int status)
{
	for (int i = 0; i < TT_PROCS; i++) {
		struct tt_proc *p = &tt->proc[i];

		if (atomic_load(&p->pid) != pid || atomic_load(&p->state) == TT_P_FREE)
			continue;
		atomic_store(&p->state, TT_P_EXITED);
		if (atomic_load(&p->killing)) {
			if (p->role == TT_PRODUCER)
				atomic_store(&tt->ep.chan.dead[p->ident], 1 + p->inflight);
			if (p->role == TT_CONSUMER && p->inflight) {
				atomic_fetch_add(&tt->ep.chan.takeover, p->inflight);
				atomic_fetch_add(&tt->cons_killed_in_call, 1);
			}
			return;
		}
		if (WIFSIGNALED(status))
			tt_fail("worker.signal", "role %d died of signal %d in %s",
				p->role, WTERMSIG(status),
				p->call_t0 ? p->call_what : "(no call)");
		else if (WEXITSTATUS(status) == 99)
			tt_fail("worker.sigbus", "role %d: SIGBUS outside a guarded section in %s",
				p->role, p->call_t0 ? p->call_what : "(no call)");
		else if (WEXITSTATUS(status))
			tt_fail("worker.exit", "role %d exited %d", p->role, WEXITSTATUS(status));
		return;
	}
}

void tt_ep_reap(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		tt_reap_one(pid, st);
}

/* How long worker p's current call, started at t0, has waited for a CPU
 * (ms; 0 if the kernel does not say): not the library's time. */
static int64_t call_run_delay_ms(struct tt_proc *p)
{
	int64_t rd0 = atomic_load(&p->call_rd0), rd = tt_run_delay_of(p->pid);

	return rd0 >= 0 && rd >= rd0 ? (rd - rd0) / 1000000 : 0;
}

/* A worker that hangs, already reported, is killed: it may own a name
 * (a channel's creator), which gc may then rightly remove, so the
 * episode's names leave gc's live set and its objects count as hostile
 * (a false gc.removed-live followed a call.hang of a creator before). */
static void hung_kill(int idx)
{
	tt_hostile();
	tt_kill_now(idx);
}

/* A call still running long past its deadline hangs (call.hang). */
void tt_ep_watch(void)
{
	int64_t now = tt_now_ns();

	tt_ep_reap();
	for (int i = 0; i < TT_PROCS; i++) {
		struct tt_proc *p = &tt->proc[i];
		int64_t t0 = atomic_load(&p->call_t0), ms = (now - t0) / 1000000;
		int tmo = atomic_load(&p->call_tmo);
		int64_t bound = (tmo >= 0 ? tmo : TT_PROMPT_MS) + TT_HANG_MS;

		if (atomic_load(&p->state) != TT_P_RUN || !t0 || tmo == -1 ||
		    atomic_load(&p->killing) || ms < bound ||
		    ms - call_run_delay_ms(p) < bound)
			continue;
		tt_fail("call.hang", "%s (timeout %d ms) has not returned after %lld ms, "
			"%lld ms of them waiting for a CPU (the clock process woke %u us "
			"late meanwhile: a machine that stalls everyone shows here)",
			p->call_what, tmo, (long long)ms, (long long)call_run_delay_ms(p),
			tt_clock_late_us(t0, now));
		hung_kill(i);
	}
}

/* From now on the objects hold hostile values: only the safety invariants
 * hold (documented errors, deadlines, no crash), and gc may judge them. */
void tt_hostile(void)
{
	for (int i = 0; i < TT_NAMES; i++)
		atomic_store(&tt->names[i].live, 0);
	atomic_store(&tt->hostile, 1);
}

void tt_cont_all(void)
{
	for (int i = 0; i < TT_PROCS; i++)
		if (atomic_load(&tt->proc[i].state) == TT_P_RUN && tt->proc[i].pid > 0)
			kill(tt->proc[i].pid, SIGCONT);
}

static bool any_running(void)
{
	for (int i = 0; i < TT_PROCS; i++)
		if (atomic_load(&tt->proc[i].state) == TT_P_RUN)
			return true;
	return false;
}

/* End of an episode: everyone leaves within limit_ns, or hangs. */
int tt_ep_wait_all(int64_t limit_ns)
{
	int64_t end = tt_now_ns() + limit_ns;
	int hung = 0;

	tt_cont_all();
	tt_ep_reap();
	atomic_store(&tt->stop, 1);
	while (any_running() && tt_now_ns() < end) {
		tt_ep_watch();
		tt_cont_all();
		tt_sleep_ms(5);
	}
	for (int i = 0; i < TT_PROCS; i++) {
		struct tt_proc *p = &tt->proc[i];

		if (atomic_load(&p->state) != TT_P_RUN)
			continue;
		hung++;
		if (atomic_load(&p->killing)) {
			/* killed, but whoever forked it has not reaped it: that
			 * one is the worker that hangs, and is reported itself */
			tt_kill_now(i);
			continue;
		}
		tt_fail("worker.hang", "role %d did not leave in %lld ms, in %s (timeout %d)",
			p->role, (long long)(limit_ns / 1000000),
			p->call_t0 ? p->call_what : "(no call)", p->call_tmo);
		hung_kill(i);
	}
	while (any_running()) {
		tt_ep_reap();
		tt_sleep_ms(2);
	}
	return hung;
}

bool tt_on(enum tt_fault f)
{
	return !(tt->without & 1u << f);
}

void tt_kill_now(int idx)
{
	struct tt_proc *p = &tt->proc[idx];

	atomic_store(&p->killing, 1);
	if (p->pid > 0)
		kill(p->pid, SIGKILL);
}

/* Until whoever reaps it has recorded how idx ended (at most 1 s). */
void tt_wait_gone(int idx)
{
	int64_t end = tt_now_ns() + 1000000000LL;

	while (atomic_load(&tt->proc[idx].state) == TT_P_RUN && tt_now_ns() < end) {
		tt_ep_reap();
		tt_sleep_ms(1);
	}
}

bool tt_kill(int idx)
{
	if (!tt_on(F_KILL))
		return false;
	tt_fault_step("kill -9");
	atomic_fetch_add(&tt->faults[F_KILL], 1);
	tt_kill_now(idx);
	return true;
}

void tt_stop_cont(int idx, struct tt_rng *r)
{
	struct tt_proc *p = &tt->proc[idx];

	if (!tt_on(F_STOP))
		return;
	tt_fault_step("SIGSTOP, SIGCONT");
	atomic_fetch_add(&p->stops, 1);
	atomic_fetch_add(&tt->faults[F_STOP], 1);
	kill(p->pid, SIGSTOP);
	tt_sleep_ms(5 + (double)tt_below(r, 400));
	kill(p->pid, SIGCONT);
	atomic_fetch_add(&p->stops, 1);
}

/* A burst of signals during waits: handlers that return (SIGUSR1) and a
 * sent SIGBUS, which the guard must pass on as sent (shmx_guard_sigbus(3)). */
void tt_signal(int idx, bool bus)
{
	struct tt_proc *p = &tt->proc[idx];

	if (!tt_on(bus ? F_SIGBUS : F_SIGNAL))
		return;
	tt_fault_step(bus ? "sent SIGBUS" : "SIGUSR1 burst");
	atomic_fetch_add(&tt->faults[bus ? F_SIGBUS : F_SIGNAL], 1);
	for (int i = 0; i < (bus ? 1 : 20); i++) {
		kill(p->pid, bus ? SIGBUS : SIGUSR1);
		if (!bus)
			tt_sleep_ms(0.5);
	}
}

/* Another user (65534) who may read the file takes a read lock on all of
 * it but the liveness slots (bytes from 2^62) and holds it: nobody's call
 * may wait for it past its deadline. Not waited for here. */
int tt_rdlock_other_uid(const char *path, int hold_ms)
{
	pid_t pid;

	if (!tt_on(F_RDLOCK))
		return 0;
	tt_fault_step("read lock by uid 65534");
	atomic_fetch_add(&tt->faults[F_RDLOCK], 1);
	pid = fork();
	if (pid)
		return pid < 0 ? -errno : 0;
	{
		struct flock fl = {
			.l_type = F_RDLCK, .l_whence = SEEK_SET,
			.l_start = 0, .l_len = (off_t)1 << 62,
		};
		int fd;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(0);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0)
			tt_sleep_ms(hold_ms);
		_exit(0);
	}
}

int tt_truncate_path(const char *path, off_t size)
{
	int fd, err = 0;

	if (!tt_on(F_TRUNCATE))
		return -EPERM;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	tt_fault_step("truncate");
	atomic_fetch_add(&tt->faults[F_TRUNCATE], 1);
	if (ftruncate(fd, size))
		err = -errno;
	close(fd);
	return err;
}

/* One 8-byte word in [lo, hi) of the file: one of vals, or random. */
void tt_scribble(const char *path, off_t lo, off_t hi, struct tt_rng *r,
		 const uint64_t *vals, int nvals)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	uint64_t v = nvals ? vals[tt_below(r, (uint64_t)nvals)] : tt_next(r);
	off_t off = (lo + (off_t)tt_below(r, (uint64_t)(hi - lo))) & ~(off_t)7;

	if (fd < 0)
		return;
	if (nvals != 1) {
		tt_fault_step("scribble");
		atomic_fetch_add(&tt->faults[F_SCRIBBLE], 1);
	} else {
		off = lo;
	}
	if (pwrite(fd, &v, sizeof(v), off) < 0)
		v = 0;
	close(fd);
}
