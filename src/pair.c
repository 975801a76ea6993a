/* SPDX-License-Identifier: MIT */
/* The semaphore pair: the classic two-semaphore handoff ("writer may write"
 * starts at 1, "reader may read" starts at 0), made safe. Every wait has a
 * deadline; the turn word in a small control block (pair-turn.c) decides
 * which token is a turn, and records whether each role is attached or
 * closed, so a turn held by a process that dies or closes comes back
 * (shmx(7), "The turn"). This file is the public calls and the waiting;
 * where the turn lives (three files of a named pair, one sealed memfd of an
 * anonymous one) is pair-objects.c: the turn code is the same for both.
 * The fast path (a token is there) is a sem_trywait and a CAS, a post a
 * CAS and a sem_post: no system call but the semaphore's own futex. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"

/* res = expr inside one guarded section over the pair's mappings:
 * -EFAULT instead of a SIGBUS when one of its files was truncated and
 * shmx_guard_sigbus() is on. */
#define PAIR_GUARDED(res, p, expr) SHMX__GUARDED(res, (p)->span, (p)->span_len, expr, -EFAULT)

SHMX_EXPORT struct shmx_pair *shmx_pair_close(struct shmx_pair *p)
{
	int err;

	if (!p)
		return NULL;
	/* A child's inherited copy: the role and the turn are the parent's,
	 * left as they are; only the child's copies go (fork.c). */
	if (p->error == SHMX__FORKED)
		return shmx__pair_free(p);
	PAIR_GUARDED(err, p, (shmx__pair_leave(p), 0));
	(void)err;  /* a truncated control object: the peer sees a death */
	/* Unlock explicitly: a child made without the fork handlers (a bare
	 * clone()) shares this open file description, and closing our
	 * descriptor alone would leave the locks to it. */
	shmx__slot_unlock(p->lk, own_slot(p));
	if (p->owner)
		shmx__slot_unlock(p->lk, SHMX_SLOT_OWNER);
	/* The peer's poller is woken only now, our slot free: one whose look
	 * found it held looks at it again after arming (pair_arm()), and the
	 * kernel orders that look and our unlock, so one of us sees the
	 * other. */
	PAIR_GUARDED(err, p, (shmx__pair_wake(p), 0));
	return shmx__pair_free(p);
}

/* Take what our semaphore holds: 0 with the turn, -EAGAIN when it holds
 * nothing that is a turn (foreign tokens are dropped on the way),
 * -EBADMSG for a turn word the protocol never makes. */
static int drain(struct shmx_pair *p)
{
	int err;

	while (shmx__sem_try(own_sem(p)) == 0) {
		err = shmx__pair_take(p, true);
		if (err != -EAGAIN)
			return err;
	}
	return shmx__pair_take(p, false);
}

/* Whether the peer, its state word pre when our try first looked at it,
 * may have attached, closed or died since without a wake-up reaching us:
 * its word changed, or it says closed and the slot is free. A peer that
 * closes stores CLOSED, frees its slot, then wakes us (shmx_pair_close());
 * our look found the slot held, so its wake-up may have come before we
 * armed. Called after the arming's fence: a slot still held now is freed
 * after this lock test, which the kernel orders before the closer's own
 * fence and look at our flag. An attach or a close stored after our fence
 * sees the flag (shmx__pair_wake()). */
static bool moved(struct shmx_pair *p, uint32_t pre)
{
	uint32_t now = ld(&ctl_of(p)->state[!p->role]);

	return now != pre || ((now & CLOSED) && shmx__slot_held(p->lk, peer_slot(p)) != 1);
}

/* A try that finds nothing to take, with a descriptor: watch the peer,
 * arm, and look again. The turn found now is taken; a peer that attached
 * or closed since the try's first look (pre, its state word then) makes
 * the descriptor readable for a fresh look. */
static int pair_arm(struct shmx_pair *p, uint32_t pre)
{
	struct ctl *c = ctl_of(p);
	uint32_t state = ld(&c->state[!p->role]);
	int err;

	/* The peer's pid first: a connection from it is trusted whatever
	 * its user (a participant may be another user). Relaxed: the
	 * acquire load of its state word above orders it after the peer's
	 * pid store (shmx__pair_attach()). */
	if (state & ATTACHED)
		shmx__poll_watch(p->poll, __atomic_load_n(&c->pid[!p->role], __ATOMIC_RELAXED),
				 state >> GEN_SHIFT);
	shmx__poll_service(p->poll);
	/* Release: the peer that takes the flag (shmx__pair_wake(), an
	 * acquire exchange) then reads our nonce, pid and state as we
	 * stored them. The fence is the Dekker half: after it we look at
	 * the turn, and a peer that posted before it sees the flag. */
	__atomic_store_n(&c->armed[p->role], 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	err = drain(p);
	if (err != -EAGAIN)
		return err;
	if (moved(p, pre))
		shmx__poll_signal(p->poll);
	return -EAGAIN;
}

/* One slice of sleep on our semaphore until look_at (the next look at the
 * peer, at most SLICE_MS away) or dl, whichever comes first, on
 * CLOCK_MONOTONIC. The sleep is
 * pair-sleep.c's, not sem_timedwait: a truncated semaphore file must be
 * -EFAULT, never a jump through the C library nor its abort. */
static int sleep_slice(struct shmx_pair *p, const struct timespec *dl,
		       const struct timespec *look_at)
{
	struct timespec until = *look_at;

	if (!shmx__forever(dl)) {
		if (shmx__expired(dl))
			return -ETIMEDOUT;
		if (until.tv_sec > dl->tv_sec ||
		    (until.tv_sec == dl->tv_sec && until.tv_nsec > dl->tv_nsec))
			until = *dl;
	}
	return shmx__sem_sleep(own_sem(p), &until);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static long ns_since(const struct timespec *t0, const struct timespec *t1)
{
	return (t1->tv_sec - t0->tv_sec) * 1000000000L + (t1->tv_nsec - t0->tv_nsec);
}

/* A turn about to come: in a handoff the peer, on another CPU, posts
 * within microseconds of our wait. Looking for its token a little while
 * before sleeping in the kernel saves the timed futex wait that a sleep
 * costs us (and the futex wake the peer's sem_post would then make).
 * Bounded by the deadline and by p->spin_ns: the full length again after
 * a spin that caught a turn, halved (down to SPIN_MIN_NS) after one that
 * did not, so a peer that is slow to post costs little; none on one CPU.
 * Reads the semaphore, and takes it only when it holds a token. */
static int spin_turn(struct shmx_pair *p, const struct timespec *dl)
{
	static int cpus;        /* this process's: any value read is a count */
	int n = __atomic_load_n(&cpus, __ATOMIC_RELAXED), v, err;
	struct timespec t0, now;

	if (!n) {
		n = get_nprocs();
		__atomic_store_n(&cpus, n, __ATOMIC_RELAXED);
	}
	if (n < 2)
		return -EAGAIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 1;; i++) {
		if (sem_getvalue(own_sem(p), &v) == 0 && v > 0 &&
		    shmx__sem_try(own_sem(p)) == 0) {
			err = shmx__pair_take(p, true);
			if (err != -EAGAIN) {
				p->spin_ns = SPIN_NS;
				return err;
			}
		}
		cpu_relax();
		if (i % 16)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ns_since(&t0, &now) >= p->spin_ns ||
		    (!shmx__forever(dl) && ns_since(dl, &now) >= 0))
			break;
	}
	p->spin_ns = p->spin_ns / 2 > SPIN_MIN_NS ? p->spin_ns / 2 : SPIN_MIN_NS;
	return -EAGAIN;
}

/* No turn at hand. Sleep first (a post wakes us as it wakes a raw
 * sem_wait); the liveness and the sizes are looked at when a slice ends
 * empty, or at once for a try. */
static int wait_slow(struct shmx_pair *p, int timeout_ms)
{
	struct timespec dl, look_at;
	bool look = timeout_ms == 0;
	int err;

	shmx__deadline(timeout_ms, &dl);
	shmx__deadline(SLICE_MS, &look_at);
	if (!look) {
		err = spin_turn(p, &dl);
		if (err != -EAGAIN)
			return err;
	}
	for (;;) {
		if (look) {
			/* Before the check's look: what pair_arm() compares */
			uint32_t pre = ld(&ctl_of(p)->state[!p->role]);

			err = shmx__pair_check(p);
			/* A turn posted (or recovered) before the peer left
			 * is still handed out first. */
			if (err != -EFAULT) {
				int got = drain(p);

				if (got != -EAGAIN)
					return got;
			}
			if (err)
				return err;
			if (!timeout_ms)
				return p->poll ? pair_arm(p, pre) : -EAGAIN;
			if (shmx__expired(&dl))
				return -ETIMEDOUT;
			shmx__deadline(SLICE_MS, &look_at);
		} else if ((err = shmx__pair_take(p, false)) != -EAGAIN) {
			return err;
		}
		err = sleep_slice(p, &dl, &look_at);
		if (err == 0) {
			int got = shmx__pair_take(p, true);

			if (got != -EAGAIN)
				return got;
		}
		if (err && err != -ETIMEDOUT && err != -EINTR)
			return err;
		/* A signal ends a sleep early: the look is still due a
		 * slice after the last one, however many signals came. */
		look = err == -ETIMEDOUT || shmx__expired(&look_at);
	}
}

static int wait_turn(struct shmx_pair *p, int timeout_ms)
{
	/* Fast path: a token, and the word says it is a turn. */
	if (shmx__sem_try(own_sem(p)) == 0) {
		int err = shmx__pair_take(p, true);

		if (err != -EAGAIN)
			return err;
	}
	return wait_slow(p, timeout_ms);
}

/* The peer gone, whatever told us (a slot freed by a process that lives
 * on has no pidfd to fire): the descriptor readable from now on, as a
 * socket at end of file (shmx_pair_fd(3)). */
static int gone(const struct shmx_pair *p, int err)
{
	if (p->poll && (err == -EPIPE || err == -EOWNERDEAD))
		shmx__poll_signal(p->poll);
	return err;
}

SHMX_EXPORT int shmx_pair_wait(struct shmx_pair *p, int timeout_ms)
{
	int err;

	if (!p || timeout_ms < -1)
		return -EINVAL;
	if (p->error)
		return p->error;
	/* The peer waits for the turn we hold: a deadlock, unless it has
	 * gone (said first, so a holder waiting for its own input can ask
	 * with a try), or a file of the pair was truncated (a post that
	 * failed on it left us holding). The turn stays ours. */
	if (p->holding) {
		PAIR_GUARDED(err, p, shmx__pair_check(p));
		return err ? gone(p, err) : -EDEADLK;
	}
	PAIR_GUARDED(err, p, wait_turn(p, timeout_ms));
	return gone(p, err);
}

SHMX_EXPORT int shmx_pair_post(struct shmx_pair *p)
{
	int err;

	if (!p)
		return -EINVAL;
	if (p->error)
		return p->error;
	/* Posting a turn we do not have breaks the count; but a file of the
	 * pair truncated says so first, as every call does (shmx(7)). */
	if (!p->holding) {
		err = shmx__pair_truncated(p);
		return err ? err : -EPERM;
	}
	PAIR_GUARDED(err, p, shmx__pair_give(p));
	return err;
}

SHMX_EXPORT int shmx_pair_fd(struct shmx_pair *p)
{
	int err;

	if (!p)
		return -EINVAL;
	if (p->error)
		return p->error;
	if (!p->poll) {
		uint64_t nonce;

		err = shmx__poll_new_nonce(p->fd, shmx__pair_poll_role(p->role), p->gen, &nonce,
					   &p->poll);
		if (err)
			return err;
		PAIR_GUARDED(err, p, (__atomic_store_n(&ctl_of(p)->nonce[p->role], nonce,
							__ATOMIC_RELEASE), 0));
		if (err) {
			p->poll = shmx__poll_free(p->poll);
			return err;
		}
		/* Readable at first: the caller's first try arms it. */
		shmx__poll_signal(p->poll);
	}
	return shmx__poll_fd(p->poll);
}
