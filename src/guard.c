/* SPDX-License-Identifier: MIT */
/* The SIGBUS guard: once the caller opts in with shmx_guard_sigbus(), a
 * fault from a peer's truncation inside a guarded section (a libshmx call
 * touching a shared mapping) becomes -EFAULT instead of killing the
 * process. Every other SIGBUS goes to the previous disposition, with that
 * disposition's own flags and mask, exactly as if libshmx were absent
 * (shmx_guard_sigbus(3)). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <ucontext.h>

#include "internal.h"

/* The handler reads this. With glibc, initial-exec: a dlopen'ed libshmx
 * with the default (global-dynamic) model could call __tls_get_addr there,
 * which may allocate; glibc keeps static TLS room for a pointer of a
 * dlopen'ed library. musl refuses to dlopen a library whose own TLS is
 * initial-exec, and needs it not: its dlopen sets up the library's TLS for
 * every thread at once, so its __tls_get_addr never allocates. */
#ifdef __GLIBC__
#define GUARD_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define GUARD_TLS_MODEL
#endif
static __thread struct shmx__guard *guard_top GUARD_TLS_MODEL;
static struct sigaction guard_prev;

/* 0 not installed, 1 being installed, 2 installed. */
int shmx__guard_state;

/* The kernel's codes for a failed access; kill()/sigqueue()/tgkill() give
 * si_code <= 0 and are never a truncation. */
static bool is_fault(const siginfo_t *si)
{
	return si->si_code == BUS_ADRERR || si->si_code == BUS_OBJERR;
}

static bool in_section(const struct shmx__guard *g, const void *addr)
{
	const char *a = addr;

	return a >= g->lo && (size_t)(a - g->lo) < g->len;
}

/* The mask of the code the signal interrupted, which the kernel saved in
 * the ucontext. It, not the mask the handler runs with, is what the kernel
 * would build a handler's mask from and what a jump out of the handler must
 * leave: a runtime that interposes sigaction(2) may deliver the signal to
 * its own wrapper with every signal blocked (ThreadSanitizer does, see
 * scripts/test.sh), whatever our sa_mask and SA_NODEFER asked. */
static const sigset_t *interrupted_mask(const void *uc)
{
	return uc ? &((const ucontext_t *)uc)->uc_sigmask : NULL;
}

/* Run the previous disposition as the kernel would have. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction prev = guard_prev;
	const sigset_t *was = interrupted_mask(uc);
	sigset_t mask, old;

	if (prev.sa_handler == SIG_DFL || prev.sa_handler == SIG_IGN) {
		/* A fault cannot be ignored (the kernel kills a process that
		 * ignores or blocks it): restore the default, and returning
		 * re-executes the access, which then kills us with SIGBUS, core
		 * dump included. A sent SIGBUS is ignored or, by default, kills. */
		if (prev.sa_handler == SIG_IGN && si->si_code <= 0)
			return;
		signal(sig, SIG_DFL);
		if (si->si_code <= 0)
			raise(sig);
		return;
	}
	/* One-shot handler: from now on the default applies, as it would
	 * after the kernel delivered it once. We stay installed for libshmx's
	 * own sections. */
	if (prev.sa_flags & SA_RESETHAND) {
		guard_prev.sa_handler = SIG_DFL;
		guard_prev.sa_flags = 0;
		sigemptyset(&guard_prev.sa_mask);
	}
	/* The kernel's mask for the handler: the interrupted code's, its
	 * sa_mask, and the signal itself unless SA_NODEFER. Set, not added to
	 * the one we run with, which may block more (interrupted_mask()). */
	mask = prev.sa_mask;
	if (!(prev.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	if (was) {
		sigorset(&mask, &mask, was);
		pthread_sigmask(SIG_SETMASK, &mask, &old);
	} else {
		pthread_sigmask(SIG_BLOCK, &mask, &old);
	}
	if (prev.sa_flags & SA_SIGINFO)
		prev.sa_sigaction(sig, si, uc);
	else
		prev.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Abandon section g's call. Its sigsetjmp saved no mask (that would be a
 * system call per section): the jump leaves the interrupted code's, as
 * returning from the handler would have. */
static _Noreturn void take(struct shmx__guard *g, const void *uc)
{
	const sigset_t *was = interrupted_mask(uc);

	if (was)
		pthread_sigmask(SIG_SETMASK, was, NULL);
	siglongjmp(g->jb, 1);
}

static void guard_handler(int sig, siginfo_t *si, void *uc)
{
	struct shmx__guard *g;

	/* The innermost section whose mapping holds the address takes the
	 * fault; its sigsetjmp restores the sections around it. */
	if (is_fault(si))
		for (g = guard_top; g; g = g->prev)
			if (in_section(g, si->si_addr))
				take(g, uc);
	chain(sig, si, uc);
}

/* The kernel applies two flags before any handler runs, so chain() cannot:
 * on which stack the handler runs (SA_ONSTACK), and whether the system
 * call a sent SIGBUS interrupted restarts (SA_RESTART). The guard takes
 * the previous handler's. An ignored signal never interrupted anything:
 * restart. */
static int carried_flags(const struct sigaction *prev)
{
	if (prev->sa_handler == SIG_IGN)
		return SA_RESTART;
	if (prev->sa_handler == SIG_DFL)
		return 0;
	return prev->sa_flags & (SA_ONSTACK | SA_RESTART);
}

static int install(void)
{
	struct sigaction sa, prev;
	int err = shmx__neg(sigaction(SIGBUS, NULL, &prev));

	if (err)
		return err;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	/* NODEFER, empty sa_mask: the handler runs with the interrupted
	 * code's mask, which chain() and the jump out then set again (a no-op
	 * unless a runtime between us and the kernel changed it). */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | carried_flags(&prev);
	sigemptyset(&sa.sa_mask);
	return shmx__neg(sigaction(SIGBUS, &sa, &guard_prev));
}

/* Once per process. A caller that finds another thread installing waits
 * until the handler really is in place: returning 0 earlier would let it
 * touch a mapping unprotected. */
SHMX_EXPORT int shmx_guard_sigbus(void)
{
	int expect = 0, err;

	if (__atomic_compare_exchange_n(&shmx__guard_state, &expect, 1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		err = install();
		__atomic_store_n(&shmx__guard_state, err ? 0 : 2, __ATOMIC_RELEASE);
		return err;
	}
	while ((expect = __atomic_load_n(&shmx__guard_state, __ATOMIC_ACQUIRE)) == 1)
		sched_yield();
	return expect == 2 ? 0 : shmx_guard_sigbus();
}

void shmx__guard_enter(struct shmx__guard *g, const void *lo, size_t len)
{
	g->lo = lo;
	g->len = len;
	g->prev = guard_top;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	guard_top = g;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void shmx__guard_leave(struct shmx__guard *g)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	guard_top = g->prev;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

int shmx__copy(void *dst, const void *src, size_t len, const void *shared)
{
	int err = 0;

	SHMX__GUARDED(err, shared, len, (memcpy(dst, src, len), 0), -EFAULT);
	return err;
}

/* The one "was the object truncated under us" check: -EFAULT when the
 * object behind fd is now smaller than size (what we mapped), so the
 * caller stops before touching a page that would fault. */
int shmx__truncated(int fd, uint64_t size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return (uint64_t)st.st_size < size ? -EFAULT : 0;
}
