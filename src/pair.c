/* SPDX-License-Identifier: MIT */
/* The semaphore pair: the classic two-semaphore handoff ("writer may write"
 * starts at 1, "reader may read" starts at 0), made safe. Every wait has a
 * deadline; a small control block records where the turn is and whether
 * each role is attached or closed, so a turn held by a process that dies or
 * closes comes back (shmx(7), "The turn"). This file moves the turn; where
 * it lives (three files of a named pair, one sealed memfd of an anonymous
 * one) is pair-objects.c: the turn code is the same for both.
 * The turn protocol is model-checked in tests/spin/pair.pml. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"

/* ---- the control lock ---- */

static int ctl_lk(const struct shmx_pair *p, short type)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = CTL_LOCK, .l_len = 1,
	};

	return shmx__neg(fcntl(p->ctl_fd, F_OFD_SETLK, &fl));
}

/* The lock is held for a few instructions by a live process, and freed by
 * the kernel when its holder dies, so it is polled rather than waited for
 * with F_OFD_SETLKW: a holder that is stopped (SIGSTOP, a debugger) must
 * not keep a caller past its deadline (dl NULL: no deadline). */
int shmx__pair_ctl_lock(const struct shmx_pair *p, const struct timespec *dl)
{
	const struct timespec nap = { 0, CTL_NAP_NS };
	unsigned tries;
	int err;

	for (tries = 0;; tries++) {
		err = ctl_lk(p, F_WRLCK);
		if (err != -EAGAIN && err != -EACCES && err != -EINTR)
			return err;
		if (dl && shmx__expired(dl))
			return -ETIMEDOUT;
		if (tries < CTL_SPINS)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

void shmx__pair_ctl_unlock(const struct shmx_pair *p)
{
	ctl_lk(p, F_UNLCK);
}


/* Under the control lock: give our role back a turn lost in its hands.
 * Only role X takes from semaphore X, and we are role X and not inside a
 * take: so "X holds it" while we do not hold it means a predecessor died
 * holding it, and "it is in X" with X at 0 means a predecessor died
 * between its sem_wait and marking the hold, or the peer died between
 * marking the post and its sem_post. Either way it goes to X again. */
static void recover(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	uint32_t in = p->role == W ? IN_W : IN_R;
	uint32_t hold = p->role == W ? W_HOLD : R_HOLD;
	uint32_t t = ld(&c->turn);
	int v;

	if (p->holding)
		return;
	if (t == hold)
		st(&c->turn, in);
	else if (t != in || sem_getvalue(own_sem(p), &v) || v != 0)
		return;
	sem_post(own_sem(p));
}

/* Under the control lock: 0 if the peer is alive or has never come,
 * -EPIPE if it closed, -EOWNERDEAD if it died. Attach sets ATTACHED after
 * taking the slot and close sets CLOSED before freeing it, so a free slot
 * with ATTACHED can only be a death. */
static int peer_gone(const struct shmx_pair *p)
{
	uint32_t s = ld(&ctl_of(p)->state[!p->role]);
	int held = shmx__slot_held(p->fd, peer_slot(p));

	if (held)
		return held < 0 ? held : 0;
	if (s & CLOSED)
		return -EPIPE;
	return (s & ATTACHED) ? -EOWNERDEAD : 0;
}

/* ---- polling (shmx_pair_fd()): the same pairing as the channel's ---- */

static char poll_role(int role)
{
	return role == W ? 'W' : 'R';
}

/* After a store the polling peer must see (a post, our attach or close):
 * fence, then look at its flag; it stores the flag, fences, and looks at
 * the semaphore and our state (pair_arm()). One of us sees the other. */
static void wake_poller(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	uint32_t *armed = &c->armed[!p->role];

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(armed, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(armed, 0, __ATOMIC_RELAXED))
		return;
	shmx__kick_poller(&p->kick, p->fd, poll_role(!p->role),
			  ld(&c->state[!p->role]) >> GEN_SHIFT);
}


/* Take our role in the control object, and any turn a predecessor in our
 * role lost. Our slot is held already. */
int shmx__pair_attach(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	int err = shmx__pair_ctl_lock(p, NULL);

	if (err)
		return err;
	p->gen = (ld(&c->state[p->role]) >> GEN_SHIFT) + 1;
	/* The pid first: a poller reads the state word, then the pid. */
	__atomic_store_n(&c->pid[p->role], (int32_t)getpid(), __ATOMIC_RELAXED);
	st(&c->state[p->role], p->gen << GEN_SHIFT | ATTACHED);
	recover(p);
	shmx__pair_ctl_unlock(p);
	wake_poller(p);
	return 0;
}


/* A turn we hold goes back to our role's semaphore, where a successor in
 * our role finds it; then the peer is told we closed (-EPIPE, not
 * -EOWNERDEAD). */
static void leave(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	struct timespec dl;

	shmx__deadline(CLOSE_MS, &dl);
	if (shmx__pair_ctl_lock(p, &dl))
		return; /* the peer will see a death: the best we can do */
	if (p->holding) {
		st(&c->turn, p->role == W ? IN_W : IN_R);
		sem_post(own_sem(p));
		p->holding = false;
	}
	st(&c->state[p->role], p->gen << GEN_SHIFT | CLOSED);
	shmx__pair_ctl_unlock(p);
	wake_poller(p);
}

SHMX_EXPORT struct shmx_pair *shmx_pair_close(struct shmx_pair *p)
{
	if (!p)
		return NULL;
	leave(p);
	/* Unlock explicitly: a child forked meanwhile shares this open file
	 * description, and closing our descriptor alone would leave the
	 * locks to it. */
	shmx__slot_unlock(p->fd, own_slot(p));
	if (p->owner)
		shmx__slot_unlock(p->fd, SHMX_SLOT_OWNER);
	return shmx__pair_free(p);
}


static int check_size(const struct shmx_pair *p)
{
	return shmx__truncated(p->fd, (uint64_t)p->size);
}

/* Our sem_wait succeeded: mark the hold. Until then a death leaves "in
 * our semaphore, which is 0": recover() gives it back. */
static int took(struct shmx_pair *p, const struct timespec *dl)
{
	int err = check_size(p);

	if (!err)
		err = shmx__pair_ctl_lock(p, dl);
	if (err) {
		/* Give the turn back: the caller must not touch the region. */
		sem_post(own_sem(p));
		return err;
	}
	st(&ctl_of(p)->turn, p->role == W ? W_HOLD : R_HOLD);
	shmx__pair_ctl_unlock(p);
	p->holding = true;
	return 0;
}

/* A try (timeout 0) that found the control lock busy says -EAGAIN, not
 * -ETIMEDOUT; the turn may be ours all the same, so a descriptor is made
 * readable for another look. */
static int tried(struct shmx_pair *p, int err, int timeout_ms)
{
	if (err != -ETIMEDOUT || timeout_ms)
		return err;
	if (p->poll)
		shmx__poll_signal(p->poll);
	return -EAGAIN;
}

static int took_now(struct shmx_pair *p, int timeout_ms)
{
	struct timespec dl;

	if (timeout_ms < 0)
		return took(p, NULL);
	shmx__deadline(timeout_ms, &dl);
	return tried(p, took(p, &dl), timeout_ms);
}

/* Lost turns of our role come back; then how the peer is. */
static int check(struct shmx_pair *p, const struct timespec *dl)
{
	int err = shmx__pair_ctl_lock(p, dl);

	if (err)
		return err;
	recover(p);
	err = peer_gone(p);
	shmx__pair_ctl_unlock(p);
	return err;
}

/* A try found no turn and we have a descriptor: watch the peer, arm, and
 * look again. The turn found now is taken; a peer that attached or closed
 * meanwhile makes the descriptor readable for a fresh look. */
static int pair_arm(struct shmx_pair *p, const struct timespec *dl)
{
	struct ctl *c = ctl_of(p);
	uint32_t state = ld(&c->state[!p->role]);

	shmx__poll_service(p->poll);
	if (state & ATTACHED)
		shmx__poll_watch(p->poll, __atomic_load_n(&c->pid[!p->role], __ATOMIC_RELAXED),
				 state >> GEN_SHIFT);
	__atomic_store_n(&c->armed[p->role], 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (sem_trywait(own_sem(p)) == 0)
		return tried(p, took(p, dl), 0);
	if (ld(&c->state[!p->role]) != state)
		shmx__poll_signal(p->poll);
	return -EAGAIN;
}

static int wait_slow(struct shmx_pair *p, int timeout_ms)
{
	struct timespec dl, until;
	bool forever = timeout_ms < 0;
	int err;

	shmx__deadline(timeout_ms, &dl);
	for (;;) {
		err = check(p, forever ? NULL : &dl);
		if (!err)
			err = check_size(p);
		/* A turn posted (or recovered) before the peer left is
		 * still handed out first. */
		if (err != -EFAULT && sem_trywait(own_sem(p)) == 0)
			return tried(p, took(p, forever ? NULL : &dl), timeout_ms);
		if (err)
			return tried(p, err, timeout_ms);
		if (!timeout_ms && p->poll)
			return pair_arm(p, &dl);
		if (shmx__expired(&dl))
			return timeout_ms ? -ETIMEDOUT : -EAGAIN;
		shmx__slice(&dl, SLICE_MS, &until);
		if (sem_clockwait(own_sem(p), CLOCK_MONOTONIC, &until) == 0)
			return took(p, forever ? NULL : &dl);
		if (errno != ETIMEDOUT && errno != EINTR)
			return -errno;
	}
}

SHMX_EXPORT int shmx_pair_wait(struct shmx_pair *p, int timeout_ms)
{
	if (!p || timeout_ms < -1)
		return -EINVAL;
	if (p->holding)
		return -EDEADLK;  /* the peer waits for the turn we hold */
	/* Fast path: a token is there, no liveness check; a clock only in
	 * case the control lock is busy. */
	if (sem_trywait(own_sem(p)) == 0)
		return took_now(p, timeout_ms);
	if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return wait_slow(p, timeout_ms);
}

/* Marking the post and the sem_post are one step under the control lock;
 * a death between them leaves "in the peer's semaphore, which is 0", and
 * the peer's recover() delivers it. */
SHMX_EXPORT int shmx_pair_post(struct shmx_pair *p)
{
	int err;

	if (!p)
		return -EINVAL;
	if (!p->holding)
		return -EPERM;  /* posting a turn we do not have breaks the count */
	err = check_size(p);
	if (!err)
		err = shmx__pair_ctl_lock(p, NULL);
	if (err)
		return err;
	st(&ctl_of(p)->turn, p->role == W ? IN_R : IN_W);
	err = shmx__neg(sem_post(peer_sem(p)));
	if (err)
		st(&ctl_of(p)->turn, p->role == W ? W_HOLD : R_HOLD);
	else
		p->holding = false;
	shmx__pair_ctl_unlock(p);
	if (!err)
		wake_poller(p);
	return err;
}


SHMX_EXPORT int shmx_pair_fd(struct shmx_pair *p)
{
	int err;

	if (!p)
		return -EINVAL;
	if (!p->poll) {
		err = shmx__poll_new(p->fd, poll_role(p->role), p->gen, &p->poll);
		if (err)
			return err;
		/* Readable at first: the caller's first try arms it. */
		shmx__poll_signal(p->poll);
	}
	return shmx__poll_fd(p->poll);
}
