/* SPDX-License-Identifier: MIT */
/* The SIGBUS guard's signal handling, shmx_guard_sigbus(3): a truncation
 * fault inside a guarded call becomes -EFAULT; a SIGBUS that was sent, or a
 * fault anywhere else, reaches the previous disposition with that
 * disposition's own flags, mask and arguments, exactly as without libshmx;
 * installation is safe from many threads at once; the handler needs no
 * dynamic TLS, so a dlopen'ed libshmx is guarded too.
 *
 * Every test runs in forked children (tu_fork: the fatal signals cmocka and
 * a sanitizer catch are reset) judged by their verdict (tu_child_verdict):
 * 0 passed, anything else failed (the line on stderr), or the signal they
 * died of. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define LONG_MS 20000           /* "forever" in a test: failing beats hanging */
#define LOOP_MS 5000            /* a handler that loops would be stuck by now */
#define MAP_LEN 8192
#define SENT 6                  /* SIGBUS sent during one blocking call */
#define BIG_READ ((size_t)8 << 20)
#define READ_SIGNALS 200
#define RACE_THREADS 4
#define RACE_TRIALS 40
#define INSTALL_DELAY_NS 20000000L /* widens the install window to 20 ms */
#define ALT_STACK ((size_t)1 << 20)
#define GOT_EFAULT 4            /* child exit code: the call returned -EFAULT */

/* ---- children ---- */

/* The child's verdict must be want (0: passed; 128 + SIGBUS: killed). */
static void expect_code(pid_t pid, int ms, int want, const char *what)
{
	int code;

	tu_child_verdict(pid, ms, &code);
	if (code == want)
		return;
	if (code == GOT_EFAULT)
		fail_msg("%s: the call returned -EFAULT (taken for a truncation)", what);
	fail_msg("%s: the child's verdict is %d (expected %s)", what, code,
		 want > 128 ? "death by SIGBUS" : "0");
}

#define expect_pass(pid, what) expect_code(pid, LONG_MS, 0, what)
#define expect_sigbus(pid, ms, what) expect_code(pid, ms, 128 + SIGBUS, what)

/* A store the compiler keeps in place (hits is read right after it). */
static void touch(char *p)
{
	*(volatile char *)p = 1;
}

/* Bytes waiting in a pipe, read without blocking. */
static int ev_count(int fd)
{
	char buf[256];
	ssize_t n;
	int total = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (int)n;
	return total;
}

/* ---- the previous disposition: a handler that records what it got ---- */

static volatile sig_atomic_t hits;
static volatile int last_sig, last_code, last_uc, mask_usr1, mask_bus, on_alt;
static void *volatile last_addr;
static int ack_fd = -1;         /* a byte per call, for the parent */
static int fix_fd = -1;         /* restore this object's size: the fault ends */
static struct shmx_region *nested_region; /* truncated: read it in the handler */
static volatile long nested_ret;

static void record(int sig)
{
	sigset_t now;
	stack_t ss;

	/* atomic: send_to_reader() polls it from another thread */
	__atomic_add_fetch(&hits, 1, __ATOMIC_RELEASE);
	last_sig = sig;
	on_alt = sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
	sigprocmask(SIG_BLOCK, NULL, &now);
	mask_usr1 = sigismember(&now, SIGUSR1);
	mask_bus = sigismember(&now, SIGBUS);
	if (fix_fd >= 0 && ftruncate(fix_fd, MAP_LEN) != 0)
		_exit(5);
	if (ack_fd >= 0)
		tu_ev_post(ack_fd);
}

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	char buf[16];

	last_code = si->si_code;
	last_addr = si->si_addr;
	last_uc = uc != NULL;
	/* A guarded call made while the guard's own call is interrupted. */
	if (nested_region && si->si_code <= 0)
		nested_ret = shmx_read(nested_region, 100, buf, sizeof(buf));
	record(sig);
}

static void plain_handler(int sig)
{
	record(sig);
}

/* Install info_handler (or plain_handler without SA_SIGINFO) with flags and
 * SIGUSR1 in its mask. */
static void install_prev(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (flags & SA_SIGINFO)
		sa.sa_sigaction = info_handler;
	else
		sa.sa_handler = plain_handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	TU_CKEQ(sigaction(SIGBUS, &sa, NULL), 0);
}

/* A mapping of a new object that a "peer" truncated to nothing: touching it
 * faults (BUS_ADRERR). fix_fd lets a handler give the pages back. */
static char *truncated_map(const char *name, struct shmx_region **ret)
{
	struct shmx_region *r;

	TU_CKEQ(shmx_create(name, MAP_LEN, SHMX_MAP, 0, &r), 0);
	TU_CKEQ(ftruncate(shmx_fd(r), 0), 0);
	fix_fd = shmx_fd(r);
	if (ret)
		*ret = r;
	return shmx_addr(r);
}

static bool in_map(const void *p, const char *map)
{
	return (const char *)p >= map && (const char *)p < map + MAP_LEN;
}

/* ---- --wrap=sigaction: widen the window in which the guard installs ---- */

int __real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int __wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
static bool install_delay;
static int bus_installs;        /* SIGBUS dispositions set through the wrap */

int __wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct timespec ts = { 0, INSTALL_DELAY_NS };

	if (act && sig == SIGBUS) {
		__atomic_add_fetch(&bus_installs, 1, __ATOMIC_RELAXED);
		if (install_delay)
			nanosleep(&ts, NULL);
	}
	return __real_sigaction(sig, act, old);
}

/* ---- truncation faults inside guarded calls ---- */

static void test_guard_sigbus(void **state)
{
	const char *name = tu_name();
	int past[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(past), 0);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r = NULL;
		char buf[64];

		close(past[0]);
		TU_CKEQ(shmx_create(name, MAP_LEN, SHMX_MAP, 0, &r), 0);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		/* a peer truncates the object under our mapping */
		TU_CKEQ(ftruncate(shmx_fd(r), 0), 0);
		TU_CKEQ(shmx_read(r, 5000, buf, sizeof(buf)), -EFAULT);
		TU_CKEQ(shmx_write(r, 0, buf, sizeof(buf)), -EFAULT);
		/* the guard is reusable after a fault */
		TU_CKEQ(shmx_read(r, 100, buf, sizeof(buf)), -EFAULT);
		/* the death below is the last fault's, not an earlier one's */
		tu_ev_post(past[1]);
		/* a fault outside libshmx's copies still kills, as SIGBUS */
		buf[0] = *(volatile char *)shmx_addr(r);
		_exit(16);
	}
	close(past[1]);
	expect_sigbus(pid, LONG_MS, "guarded copies, then a fault of our own");
	if (ev_count(past[0]) != 1)
		fail_msg("the child died of SIGBUS before its own fault, in a guarded copy");
	close(past[0]);
}

/* A fault taken by the guard leaves the caller's signal mask as it was,
 * whatever mask the handler ran with (a sanitizer's sigaction wrapper
 * blocks every signal, shmx_guard_sigbus(3)): SIGBUS stays deliverable,
 * so the next fault is -EFAULT again, not death. */
static void test_fault_leaves_the_callers_mask(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r = NULL;
		sigset_t usr1, now;
		char buf[64];

		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		TU_CKEQ(sigprocmask(SIG_BLOCK, &usr1, NULL), 0);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		truncated_map(name, &r);
		fix_fd = -1;
		for (int i = 0; i < 3; i++) {
			TU_CKEQ(shmx_read(r, 100, buf, sizeof(buf)), -EFAULT);
			TU_CKEQ(sigprocmask(SIG_BLOCK, NULL, &now), 0);
			TU_CKEQ(sigismember(&now, SIGUSR1), 1);
			TU_CKEQ(sigismember(&now, SIGBUS), 0);
			TU_CKEQ(sigismember(&now, SIGUSR2), 0);
			TU_CKEQ(sigismember(&now, SIGTERM), 0);
		}
		_exit(0);
	}
	expect_pass(pid, "the mask after guarded faults");
}

/* Without the guard, the copy faults: it is opt-in, never silent. */
static void test_no_guard_sigbus_kills(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r = NULL;
		char buf[64];

		TU_CKEQ(shmx_create(name, MAP_LEN, SHMX_MAP, 0, &r), 0);
		TU_CKEQ(ftruncate(shmx_fd(r), 0), 0);
		shmx_read(r, 5000, buf, sizeof(buf));
		_exit(13);
	}
	expect_sigbus(pid, LONG_MS, "shmx_read of a truncated mapping, no guard");
}

/* SIGBUS sent with kill() is not a fault: with SIGBUS ignored before the
 * guard, the process lives on and the guard still works. */
static void test_guard_sent_sigbus(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r = NULL;
		char buf[16];

		signal(SIGBUS, SIG_IGN);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		kill(getpid(), SIGBUS);
		TU_CKEQ(shmx_create(name, MAP_LEN, SHMX_MAP, 0, &r), 0);
		TU_CKEQ(ftruncate(shmx_fd(r), 0), 0);
		TU_CKEQ(shmx_read(r, 100, buf, sizeof(buf)), -EFAULT);
		_exit(0);
	}
	expect_pass(pid, "SIGBUS sent while ignored");
}

/* The guard takes the fault of its own call: the handler installed before
 * it never sees it. */
static void test_truncation_fault_is_not_passed_on(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *r;
		char buf[64];

		install_prev(SA_SIGINFO);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		truncated_map(name, &r);
		fix_fd = -1;
		TU_CKEQ(shmx_read(r, 100, buf, sizeof(buf)), -EFAULT);
		TU_CKEQ(hits, 0);
		_exit(0);
	}
	expect_pass(pid, "truncation inside shmx_read");
}

/* ---- a SIGBUS sent during a blocking shmx_chan_recv ---- */

enum prev { PREV_HANDLER, PREV_IGNORED, PREV_DEFAULT, PREV_NESTED };

/* The consumer: the previous disposition, the guard, then a blocking recv
 * that must return the producer's messages, signals or not. */
static void recv_child(const char *name, const char *other, enum prev how, int ready,
		       int ack)
{
	struct shmx_chan *c;
	char buf[64];
	ssize_t n;

	if (how == PREV_IGNORED)
		signal(SIGBUS, SIG_IGN);
	if (how == PREV_HANDLER || how == PREV_NESTED) {
		install_prev(SA_SIGINFO | (how == PREV_NESTED ? SA_NODEFER : 0));
		ack_fd = ack;
	}
	if (how == PREV_NESTED) {
		truncated_map(other, &nested_region);
		fix_fd = -1;
	}
	TU_CKEQ(shmx_guard_sigbus(), 0);
	TU_CKEQ(shmx_chan_open(name, SHMX_CHAN_CONSUMER | SHMX_CHAN_BLOCK, LONG_MS, &c), 0);
	tu_ev_post(ready);
	n = shmx_chan_recv(c, buf, sizeof(buf), LONG_MS);
	if (n == -EFAULT)
		_exit(GOT_EFAULT);
	TU_CKEQ(n, 6);
	TU_CK(!memcmp(buf, "first", 6));
	/* the handle was not poisoned */
	TU_CKEQ(shmx_chan_recv(c, buf, sizeof(buf), LONG_MS), 7);
	TU_CK(!memcmp(buf, "second", 7));
	TU_CKEQ(shmx_chan_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	if (how != PREV_IGNORED)
		TU_CKEQ(hits, SENT);
	if (how == PREV_HANDLER)
		TU_CKEQ(last_code, SI_QUEUE);      /* the last one was queued */
	if (how == PREV_NESTED)
		TU_CKEQ(nested_ret, -EFAULT);
	shmx_chan_close(c);
	_exit(0);
}

/* Wait until the consumer sleeps inside shmx_chan_recv(). */
static void wait_asleep(const char *name)
{
	struct shmx_region *r;
	struct shmx__chan_hdr *h;
	struct timespec ms = { 0, 1000000 };
	int64_t end = tu_now_ms() + LONG_MS;

	assert_int_equal(shmx_open(name, SHMX_MAP | SHMX_RDONLY, &r), 0);
	h = shmx_addr(r);
	while (!__atomic_load_n(&h->data_waiting, __ATOMIC_ACQUIRE) && tu_now_ms() < end)
		nanosleep(&ms, NULL);
	assert_int_equal(h->data_waiting, 1);
	shmx_close(r);
}

/* Wait until pid has taken every SIGBUS sent to it (none pending). */
static void wait_taken(pid_t pid)
{
	char path[64], line[256];
	unsigned long long bit = 1ull << (SIGBUS - 1), pend;
	int64_t end = tu_now_ms() + LONG_MS;
	bool pending = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	while (pending && tu_now_ms() < end) {
		f = fopen(path, "re");
		if (!f)
			return;         /* gone: it took it */
		pending = false;
		while (fgets(line, sizeof(line), f))
			if ((sscanf(line, "SigPnd: %llx", &pend) == 1 ||
			     sscanf(line, "ShdPnd: %llx", &pend) == 1) && (pend & bit))
				pending = true;
		fclose(f);
		sched_yield();
	}
	assert_false(pending);
}

static void send_sigbus(pid_t pid, int i)
{
	union sigval v = { .sival_int = i };

	/* both kinds of sent signal: kill() (SI_USER) and sigqueue() */
	if (i % 2)
		assert_int_equal(sigqueue(pid, SIGBUS, v), 0);
	else
		assert_int_equal(kill(pid, SIGBUS), 0);
}

static void sent_during_recv(enum prev how, const char *what)
{
	const char *name = tu_name(), *other = tu_name();
	struct shmx_chan *prod;
	int ready[2], ack[2];
	bool ok = true;
	pid_t pid;

	tu_ev_init(ready);
	tu_ev_init(ack);
	assert_int_equal(shmx_chan_create(name, 1 << 16, SHMX_CHAN_PRODUCER, 0, &prod), 0);
	pid = tu_fork();
	if (pid == 0)
		recv_child(name, other, how, ready[1], ack[1]);
	/* our copies closed: a child that is gone ends the waits at once */
	close(ready[1]);
	close(ack[1]);
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	wait_asleep(name);
	for (int i = 0; ok && i < (how == PREV_DEFAULT ? 1 : SENT); i++) {
		send_sigbus(pid, i);
		if (how == PREV_HANDLER || how == PREV_NESTED)
			ok = tu_ev_wait(ack[0], LONG_MS);
		else
			wait_taken(pid);
	}
	if (ok && how != PREV_DEFAULT) {
		assert_int_equal(shmx_chan_send(prod, "first", 6, LONG_MS), 0);
		assert_int_equal(shmx_chan_send(prod, "second", 7, LONG_MS), 0);
	}
	close(ready[0]);
	close(ack[0]);
	expect_code(pid, LONG_MS, how == PREV_DEFAULT ? 128 + SIGBUS : 0, what);
	shmx_chan_close(prod);
}

/* kill() and sigqueue() during a blocking recv reach the application's
 * handler, every one; the recv still returns the message. */
static void test_sent_sigbus_during_recv_reaches_previous_handler(void **state)
{
	(void)state;
	sent_during_recv(PREV_HANDLER, "SIGBUS sent during recv, handler installed");
}

static void test_sent_sigbus_during_recv_stays_ignored(void **state)
{
	(void)state;
	sent_during_recv(PREV_IGNORED, "SIGBUS sent during recv, ignored");
}

/* As without libshmx: the default action of a sent SIGBUS kills. */
static void test_sent_sigbus_during_recv_kills_by_default(void **state)
{
	(void)state;
	sent_during_recv(PREV_DEFAULT, "SIGBUS sent during recv, default");
}

/* The application's handler, run for a sent SIGBUS in the middle of a
 * guarded call, makes a guarded call of its own that faults: the inner
 * call gets -EFAULT, the outer one carries on. */
static void test_guarded_call_nests_in_handler(void **state)
{
	(void)state;
	sent_during_recv(PREV_NESTED, "guarded call in a handler during recv");
}

/* ---- a SIGBUS sent by another thread (tgkill) in the middle of a copy ---- */

struct sender {
	pthread_t target;
	bool done;              /* atomic: the reader polls it */
};

static void *send_to_reader(void *arg)
{
	struct sender *s = arg;
	int64_t end;

	for (int i = 0; i < READ_SIGNALS; i++) {
		pthread_kill(s->target, SIGBUS);
		end = tu_now_ms() + LONG_MS;
		while (__atomic_load_n(&hits, __ATOMIC_ACQUIRE) <= i && tu_now_ms() < end)
			sched_yield();
	}
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void test_sent_sigbus_during_read_is_not_a_fault(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct sender s = { .target = pthread_self() };
		struct shmx_region *r;
		char *buf = malloc(BIG_READ);
		pthread_t t;
		int reads = 0;

		TU_CK(buf);
		install_prev(SA_SIGINFO);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_create(name, BIG_READ, SHMX_MAP, 0, &r), 0);
		TU_CKEQ(pthread_create(&t, NULL, send_to_reader, &s), 0);
		for (; !__atomic_load_n(&s.done, __ATOMIC_ACQUIRE); reads++) {
			ssize_t n = shmx_read(r, 0, buf, BIG_READ);

			/* -EFAULT here: a sent signal taken for a fault */
			TU_CKEQ(n, BIG_READ);
		}
		TU_CKEQ(pthread_join(t, NULL), 0);
		TU_CKEQ(hits, READ_SIGNALS);
		TU_CKEQ(last_code, SI_TKILL);
		fprintf(stderr, "# %d reads of 8 MiB under %d signals\n", reads, hits);
		_exit(0);
	}
	expect_pass(pid, "SIGBUS from a thread during shmx_read");
}

/* ---- faults that are not the guarded call's: the previous disposition ---- */

/* During a guarded call, but in another mapping (the destination): the
 * application's handler gets it, repairs it, and the copy completes. */
static void test_fault_outside_guarded_mapping_is_passed_on(void **state)
{
	const char *name = tu_name(), *other = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_region *src;
		char *dst;

		install_prev(SA_SIGINFO);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		TU_CKEQ(shmx_create(name, MAP_LEN, SHMX_MAP, 0, &src), 0);
		dst = truncated_map(other, NULL);
		TU_CKEQ(shmx_read(src, 0, dst, 64), 64);
		TU_CKEQ(hits, 1);
		TU_CKEQ(last_code, BUS_ADRERR);
		TU_CK(in_map(last_addr, dst));
		_exit(0);
	}
	expect_pass(pid, "fault on the destination of shmx_read");
}

/* Outside any libshmx call, with each kind of handler: called once, with
 * the arguments its flags ask for. */
static void fault_reaches_handler(int flags, const char *what)
{
	const char *name = tu_name();
	pid_t pid;

	pid = tu_fork();
	if (pid == 0) {
		char *map;

		install_prev(flags);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		map = truncated_map(name, NULL);
		touch(&map[100]);
		TU_CKEQ(hits, 1);
		TU_CKEQ(last_sig, SIGBUS);
		if (flags & SA_SIGINFO) {
			TU_CKEQ(last_code, BUS_ADRERR);
			TU_CK(last_addr == map + 100);
			TU_CK(last_uc);
		}
		_exit(0);
	}
	expect_pass(pid, what);
}

static void test_fault_outside_libshmx_reaches_siginfo_handler(void **state)
{
	(void)state;
	fault_reaches_handler(SA_SIGINFO, "SA_SIGINFO handler, fault outside libshmx");
}

static void test_fault_outside_libshmx_reaches_plain_handler(void **state)
{
	(void)state;
	fault_reaches_handler(0, "plain handler, fault outside libshmx");
}

/* The handler runs with its sa_mask blocked, and SIGBUS too unless it asked
 * for SA_NODEFER; the mask is back afterwards. */
static void mask_in_handler(int flags, const char *what)
{
	const char *name = tu_name();
	pid_t pid;

	pid = tu_fork();
	if (pid == 0) {
		sigset_t now;
		char *map;

		install_prev(SA_SIGINFO | flags);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		map = truncated_map(name, NULL);
		touch(&map[0]);
		TU_CKEQ(hits, 1);
		TU_CKEQ(mask_usr1, 1);
		TU_CKEQ(mask_bus, flags & SA_NODEFER ? 0 : 1);
		TU_CKEQ(sigprocmask(SIG_BLOCK, NULL, &now), 0);
		TU_CKEQ(sigismember(&now, SIGUSR1), 0);
		TU_CKEQ(sigismember(&now, SIGBUS), 0);
		_exit(0);
	}
	expect_pass(pid, what);
}

static void test_previous_handler_runs_with_its_mask(void **state)
{
	(void)state;
	mask_in_handler(0, "mask in the handler");
	mask_in_handler(SA_NODEFER, "mask in an SA_NODEFER handler");
}

/* A crash reporter with SA_RESETHAND returns and expects the repeated fault
 * to kill: it runs once, then the default action applies. */
static void test_previous_resethand_runs_once_then_kills(void **state)
{
	const char *name = tu_name();
	int ack[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ack);
	pid = tu_fork();
	if (pid == 0) {
		char *map;

		close(ack[0]);
		fcntl(ack[1], F_SETFL, O_NONBLOCK);
		install_prev(SA_SIGINFO | SA_RESETHAND);
		ack_fd = ack[1];
		TU_CKEQ(shmx_guard_sigbus(), 0);
		map = truncated_map(name, NULL);
		fix_fd = -1;
		touch(&map[0]);
		_exit(0);
	}
	close(ack[1]);
	expect_sigbus(pid, LOOP_MS, "SA_RESETHAND handler that returns");
	assert_int_equal(ev_count(ack[0]), 1);
	close(ack[0]);
}

/* SA_ONSTACK: the handler runs on the thread's alternate stack. */
static void test_previous_handler_runs_on_its_stack(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		stack_t ss = { .ss_sp = malloc(ALT_STACK), .ss_size = ALT_STACK };
		char *map;

		TU_CK(ss.ss_sp);
		TU_CKEQ(sigaltstack(&ss, NULL), 0);
		install_prev(SA_SIGINFO | SA_ONSTACK);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		map = truncated_map(name, NULL);
		touch(&map[0]);
		TU_CKEQ(hits, 1);
		TU_CKEQ(on_alt, 1);
		_exit(0);
	}
	expect_pass(pid, "SA_ONSTACK handler");
}

/* Wait until pid sleeps (in the one blocking call it makes). */
static void wait_sleeping(pid_t pid)
{
	char path[64], stat[512], *p;
	int64_t end = tu_now_ms() + LONG_MS;
	bool asleep = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (!asleep && tu_now_ms() < end) {
		f = fopen(path, "re");
		assert_non_null(f);
		p = fgets(stat, sizeof(stat), f) ? strrchr(stat, ')') : NULL;
		asleep = p && p[1] == ' ' && p[2] == 'S';
		fclose(f);
		sched_yield();
	}
	assert_true(asleep);
}

/* A SIGBUS sent while the application sleeps in read(): the read restarts
 * or fails with EINTR as the previous disposition decides (SA_RESTART; an
 * ignored signal interrupts nothing). */
static void sent_during_read(int flags, bool restarts, const char *what)
{
	int ready[2], data[2];
	pid_t pid;

	tu_ev_init(ready);
	tu_ev_init(data);
	pid = tu_fork();
	if (pid == 0) {
		char c;
		ssize_t n;

		if (flags < 0)
			signal(SIGBUS, SIG_IGN);
		else
			install_prev(SA_SIGINFO | flags);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		tu_ev_post(ready[1]);
		n = read(data[0], &c, 1);
		if (restarts)
			TU_CKEQ(n, 1);
		else
			TU_CK(n < 0 && errno == EINTR);
		TU_CKEQ(hits, flags < 0 ? 0 : 1);
		_exit(0);
	}
	assert_true(tu_ev_wait(ready[0], LONG_MS));
	wait_sleeping(pid);
	assert_int_equal(kill(pid, SIGBUS), 0);
	wait_taken(pid);
	tu_ev_post(data[1]);
	expect_pass(pid, what);
	close(ready[0]);
	close(ready[1]);
	close(data[0]);
	close(data[1]);
}

static void test_sent_sigbus_restarts_as_previous_handler_asked(void **state)
{
	(void)state;
	TU_SKIP_IF_EMULATED("qemu-user takes a sent SIGBUS as its own: the interrupted read() fails with EPERM instead of restarting");
	sent_during_read(SA_RESTART, true, "SA_RESTART handler, read restarts");
	sent_during_read(0, false, "handler without SA_RESTART, read fails with EINTR");
}

static void test_ignored_sent_sigbus_interrupts_nothing(void **state)
{
	(void)state;
	TU_SKIP_IF_EMULATED("qemu-user takes a sent SIGBUS as its own: the interrupted read() fails with EPERM instead of restarting");
	sent_during_read(-1, true, "SIGBUS ignored, read restarts");
}

/* A fault cannot be ignored: the kernel kills, and so must the guard. */
static void fault_kills(sighandler_t disp, const char *what)
{
	const char *name = tu_name();
	pid_t pid;

	pid = tu_fork();
	if (pid == 0) {
		char *map;

		signal(SIGBUS, disp);
		TU_CKEQ(shmx_guard_sigbus(), 0);
		map = truncated_map(name, NULL);
		touch(&map[0]);
		_exit(0);
	}
	expect_sigbus(pid, LOOP_MS, what);
}

static void test_ignored_fault_kills(void **state)
{
	(void)state;
	fault_kills(SIG_IGN, "fault outside libshmx, SIGBUS ignored");
}

static void test_default_fault_kills(void **state)
{
	(void)state;
	fault_kills(SIG_DFL, "fault outside libshmx, SIGBUS default");
}

/* ---- installation from many threads at once ---- */

static pthread_barrier_t race_start;
static int race_bad;

/* The handler must exist when shmx_guard_sigbus() returns 0, whichever
 * thread installed it. */
static void *race_install(void *arg)
{
	struct sigaction sa;

	(void)arg;
	pthread_barrier_wait(&race_start);
	if (shmx_guard_sigbus() != 0 || sigaction(SIGBUS, NULL, &sa) != 0 ||
	    sa.sa_handler == SIG_DFL)
		__atomic_add_fetch(&race_bad, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void race_child(void)
{
	pthread_t t[RACE_THREADS];

	install_delay = true;
	TU_CKEQ(pthread_barrier_init(&race_start, NULL, RACE_THREADS), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		TU_CKEQ(pthread_create(&t[i], NULL, race_install, NULL), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		TU_CKEQ(pthread_join(t[i], NULL), 0);
	TU_CKEQ(bus_installs, 1);  /* the wrap saw it: the window was there */
	_exit(race_bad ? 100 + race_bad : 0);
}

static void test_concurrent_install_returns_after_handler(void **state)
{
	int failed = 0, code;
	pid_t pid;

	(void)state;
	for (int trial = 0; trial < RACE_TRIALS; trial++) {
		pid = tu_fork();
		if (pid == 0)
			race_child();
		tu_child_verdict(pid, LONG_MS, &code);
		if (code > 100 && code <= 100 + RACE_THREADS)
			failed++;
		else if (code)
			fail_msg("trial %d: the child ended with %d", trial, code);
	}
	if (failed)
		fail_msg("%d of %d trials: shmx_guard_sigbus() returned 0 before the "
			 "handler was installed", failed, RACE_TRIALS);
}

/* ---- the handler needs no dynamic TLS ---- */

/* Whether the dynamic symbol table of the ELF file at path names sym. */
static bool dynsym_has(const char *path, const char *sym)
{
	const ElfW(Ehdr) *eh;
	const ElfW(Shdr) *sh;
	const char *base;
	struct stat st;
	bool found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(base != MAP_FAILED);
	eh = (const void *)base;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	sh = (const void *)(base + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum && !found; i++) {
		const ElfW(Sym) *s = (const void *)(base + sh[i].sh_offset);
		const char *names = base + sh[sh[i].sh_link].sh_offset;
		size_t n = sh[i].sh_size / sizeof(*s);

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		for (size_t j = 0; j < n && !found; j++)
			found = !strcmp(names + s[j].st_name, sym);
	}
	munmap((void *)base, (size_t)st.st_size);
	return found;
}

/* initial-exec TLS: a dlopen'ed libshmx never calls glibc's
 * __tls_get_addr, which may allocate, from its signal handler. */
static void test_library_uses_no_dynamic_tls(void **state)
{
	const char *lib = tu_build_path("src/libshmx.so");

	(void)state;
#ifndef __GLIBC__
	tu_skip("musl's __tls_get_addr never allocates, and musl cannot dlopen "
		"a library with initial-exec TLS (src/guard.c)");
	return;
#endif
	assert_true(dynsym_has(lib, "shmx_guard_sigbus")); /* the right table */
	if (dynsym_has(lib, "__tls_get_addr"))
		fail_msg("%s imports __tls_get_addr: its TLS is not initial-exec", lib);
}

/* The guard of a dlopen'ed libshmx (a plugin) turns the fault into -EFAULT. */
static void test_dlopened_library_guards(void **state)
{
	const char *name = tu_name();
	pid_t pid;

	(void)state;
	pid = tu_fork();
	if (pid == 0) {
		void *lib = dlopen(tu_build_path("src/libshmx.so"), RTLD_NOW | RTLD_LOCAL);
		__typeof__(&shmx_guard_sigbus) guard;
		__typeof__(&shmx_create) create;
		__typeof__(&shmx_read) rd;
		__typeof__(&shmx_fd) fd;
		struct shmx_region *r;
		char buf[16];

		TU_CK(lib);
		*(void **)&guard = dlsym(lib, "shmx_guard_sigbus");
		*(void **)&create = dlsym(lib, "shmx_create");
		*(void **)&rd = dlsym(lib, "shmx_read");
		*(void **)&fd = dlsym(lib, "shmx_fd");
		TU_CK(guard && create && rd && fd);
		TU_CKEQ(guard(), 0);
		TU_CKEQ(create(name, MAP_LEN, SHMX_MAP, 0, &r), 0);
		TU_CKEQ(ftruncate(fd(r), 0), 0);
		TU_CKEQ(rd(r, 100, buf, sizeof(buf)), -EFAULT);
		_exit(0);
	}
	expect_pass(pid, "dlopen'ed libshmx");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_guard_sigbus, tu_teardown),
		cmocka_unit_test_teardown(test_fault_leaves_the_callers_mask, tu_teardown),
		cmocka_unit_test_teardown(test_no_guard_sigbus_kills, tu_teardown),
		cmocka_unit_test_teardown(test_guard_sent_sigbus, tu_teardown),
		cmocka_unit_test_teardown(test_truncation_fault_is_not_passed_on, tu_teardown),
		cmocka_unit_test_teardown(test_sent_sigbus_during_recv_reaches_previous_handler,
					  tu_teardown),
		cmocka_unit_test_teardown(test_sent_sigbus_during_recv_stays_ignored, tu_teardown),
		cmocka_unit_test_teardown(test_sent_sigbus_during_recv_kills_by_default,
					  tu_teardown),
		cmocka_unit_test_teardown(test_guarded_call_nests_in_handler, tu_teardown),
		cmocka_unit_test_teardown(test_sent_sigbus_during_read_is_not_a_fault,
					  tu_teardown),
		cmocka_unit_test_teardown(test_fault_outside_guarded_mapping_is_passed_on,
					  tu_teardown),
		cmocka_unit_test_teardown(test_fault_outside_libshmx_reaches_siginfo_handler,
					  tu_teardown),
		cmocka_unit_test_teardown(test_fault_outside_libshmx_reaches_plain_handler,
					  tu_teardown),
		cmocka_unit_test_teardown(test_previous_handler_runs_with_its_mask, tu_teardown),
		cmocka_unit_test_teardown(test_previous_resethand_runs_once_then_kills,
					  tu_teardown),
		cmocka_unit_test_teardown(test_previous_handler_runs_on_its_stack, tu_teardown),
		cmocka_unit_test(test_sent_sigbus_restarts_as_previous_handler_asked),
		cmocka_unit_test(test_ignored_sent_sigbus_interrupts_nothing),
		cmocka_unit_test_teardown(test_ignored_fault_kills, tu_teardown),
		cmocka_unit_test_teardown(test_default_fault_kills, tu_teardown),
		cmocka_unit_test(test_concurrent_install_returns_after_handler),
		cmocka_unit_test(test_library_uses_no_dynamic_tls),
		cmocka_unit_test_teardown(test_dlopened_library_guards, tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
