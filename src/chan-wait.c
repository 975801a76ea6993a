/* SPDX-License-Identifier: MIT */
/* Waiting in a channel: spin, then sleep on a futex in slices; every wait
 * has a deadline and watches the peer's liveness slot and the object's
 * size. Or, for a caller that polls (shmx_chan_fd()), arm a descriptor
 * when a try finds nothing. The sleep/wake and arm/wake pairings are
 * checked in tests/spin/chan.pml (one waiter of each kind) and
 * chan2-wake.pml (several on one word). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"

/* ---- waking and sleeping ---- */

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int futex_wait(uint32_t *word, uint32_t val, const struct timespec *abs)
{
	/* BITSET takes an absolute CLOCK_MONOTONIC time; not PRIVATE: the
	 * word is in a mapping shared with another process. */
	long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, abs, NULL,
			 FUTEX_BITSET_MATCH_ANY);

	return r < 0 ? -errno : 0;
}

/* ---- the sleeper's barrier (kick() in chan.h) ---- */

int shmx__chan_no_membarrier;

static long membarrier(int cmd)
{
	long r = syscall(SYS_membarrier, cmd, 0);

	return r < 0 ? -errno : r;
}

/* Registered, or fencing: at every attach (two system calls), and in the
 * child of a fork, whose registration the kernel does not keep (a handle
 * may be used across fork). */
static void register_process(void)
{
	long q = membarrier(MEMBARRIER_CMD_QUERY);

	__atomic_store_n(&shmx__chan_no_membarrier,
			 q < 0 || !(q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
			 membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) < 0,
			 __ATOMIC_RELAXED);
}

static void at_fork(void)
{
	pthread_atfork(NULL, NULL, register_process);
}

/* A party that cannot use membarrier sleeps with a full fence only: every
 * running side must fence from now on. A running side that read the bit
 * just before it was set skips one fence, and a sleeper it should have
 * woken waits at most its slice (sleepers look again every SLICE_MS): the
 * bit is set at attach, before this party ever sleeps. */
static void set_fences(struct shmx_chan *c)
{
	__atomic_fetch_or(&c->hdr->flags, SHMX__CHAN_FLAG_FENCES, __ATOMIC_SEQ_CST);
}

void shmx__chan_barrier_setup(struct shmx_chan *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, at_fork);
	register_process();
	/* Relaxed: our own process's answer, and a bit that is only ever
	 * set (with seq_cst): read stale, we set it once more. */
	if (__atomic_load_n(&shmx__chan_no_membarrier, __ATOMIC_RELAXED) &&
	    !(__atomic_load_n(&c->hdr->flags, __ATOMIC_RELAXED) & SHMX__CHAN_FLAG_FENCES))
		set_fences(c);
}

/* The sleeper's side of kick(): after it stored its flag and before it
 * looks again. */
static void sleeper_barrier(struct shmx_chan *c)
{
	if (!full_fences(c)) {
		if (!membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED))
			return;
		set_fences(c);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void shmx__chan_bump(uint32_t *seq)
{
	__atomic_fetch_add(seq, 1, __ATOMIC_RELEASE);
	futex_wake(seq);
}

/* Whatever else the word holds (an older release's sleeper stores 1, a
 * hostile peer anything) is taken for a sleeper: a spare wake-up at worst. */
__attribute__((noinline)) void shmx__chan_kick_slow(struct shmx_chan *c, uint32_t *waiting,
						    uint32_t *seq)
{
	/* Acquire: pairs with a poller's release OR of its bit (arm()), so
	 * the "armed" it stored before is seen by shmx__chan_poll_kick(). */
	uint32_t w = __atomic_exchange_n(waiting, 0, __ATOMIC_ACQUIRE);

	if (w & WAIT_POLL)
		shmx__chan_poll_kick(c);
	if (w & ~WAIT_POLL)
		shmx__chan_bump(seq);
}

/* The pollers among our peers armed their slots: wake each, by its role,
 * slot and attach generation (the name it listens on). */
void shmx__chan_poll_kick(struct shmx_chan *c)
{
	struct shmx__chan_slot *peers = peer_slots(c);
	unsigned n = peer_count(c), k;
	uint32_t state;

	/* Relaxed, the look and the exchange: "armed" carries nothing but
	 * itself (it is seen here through the waiting word's acquire, in
	 * shmx__chan_kick_slow() and wake_peer()), and the exchange only
	 * makes one of us write the poller's eventfd. What its name needs,
	 * generation and pid, is read from the state word with acquire, which
	 * pairs with the release store of "attached" that followed the pid. */
	for (k = 0; k < n; k++) {
		if (!__atomic_load_n(&peers[k].armed, __ATOMIC_RELAXED) ||
		    !__atomic_exchange_n(&peers[k].armed, 0, __ATOMIC_RELAXED))
			continue;
		if (!c->kicks && !(c->kicks = calloc(n, sizeof(*c->kicks))))
			return;
		state = __atomic_load_n(&peers[k].state, __ATOMIC_ACQUIRE);
		/* The slot's pid: a poller of another user is trusted
		 * (shmx(7), "Polling"). */
		shmx__kick_poller_at(&c->kicks[k], shmx_fd(c->region), is_producer(c) ? 'c' : 'p',
				     shmx__chan_poll_gen(k, state >> 8), 0,
				     __atomic_load_n(&peers[k].pid, __ATOMIC_RELAXED));
	}
}


int shmx__chan_truncated(struct shmx_chan *c)
{
	return shmx__truncated(shmx_fd(c->region), c->map_size);
}

/* A fresh look at the peer: 1 ready, 0 keep waiting, or an error. Ready
 * wins over a dead or closed peer, and is tested after the liveness check:
 * everything committed before the peer died is still delivered. */
static int settle(struct shmx_chan *c, ready_fn ready, uint64_t need)
{
	int err = shmx__chan_truncated(c), r;

	if (err)
		return fail(c, err);
	err = c->look->gone(c);
	r = ready(c, need);
	if (!r)
		r = c->look->stuck(c);
	return r ? r : err;
}

int shmx__chan_deadline(struct deadline *d)
{
	if (!d->set) {
		d->set = true;
		return shmx__deadline(d->timeout, &d->ts);
	}
	return 0;
}

static int spin(struct shmx_chan *c, ready_fn ready, uint64_t need, struct deadline *d)
{
	bool pure = c->flags & SHMX_CHAN_SPIN;
	unsigned i, clocks = 0;
	int r;

	for (i = 1;; i++) {
		cpu_relax();
		r = ready(c, need);
		if (r)
			return r;
		if (!pure && i >= SPIN_POLLS)
			return 0;
		if (i % SPIN_CLOCK)
			continue;
		/* The adaptive spin too: a short deadline ends within it. */
		if (shmx__expired(&d->ts)) {
			r = settle(c, ready, need);
			return r ? r : -ETIMEDOUT;
		}
		if (pure && ++clocks % SPIN_LIVE == 0 && (r = settle(c, ready, need)))
			return r;
	}
}

static int sleep_loop(struct shmx_chan *c, ready_fn ready, uint64_t need,
		      struct deadline *d)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *seq = is_producer(c) ? &h->space_seq : &h->data_seq;
	uint32_t *waiting = is_producer(c) ? &h->space_waiting : &h->data_waiting;
	struct timespec slice;
	uint32_t s;
	int r;

	for (;;) {
		r = settle(c, ready, need);
		if (r)
			break;
		if (shmx__expired(&d->ts)) {
			r = -ETIMEDOUT;
			break;
		}
		s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		__atomic_fetch_or(waiting, WAIT_SLEEP, __ATOMIC_RELAXED);
		sleeper_barrier(c);
		r = ready(c, need);
		if (r)
			break;
		shmx__slice(&d->ts, SLICE_MS, &slice);
		r = futex_wait(seq, s, &slice);
		if (r == -EFAULT) {     /* the word's page was truncated away */
			r = fail(c, r);
			break;
		}
		if (r && r != -ETIMEDOUT && r != -EAGAIN && r != -EINTR)
			break;
		/* Woken: the index moved. Timed out: look at the peer (and
		 * the object's size) before touching the ring again. */
		if (r != -ETIMEDOUT && (r = ready(c, need)))
			break;
	}
	/* Alone on our side, we clear our flag (saves the peer a wake-up
	 * call); among several, the bits of others may be in it too. */
	/* Relaxed: alone on our side the word holds only our bit; a peer's
	 * clearing of it races with ours harmlessly (both store 0). */
	if (c->alone && __atomic_load_n(waiting, __ATOMIC_RELAXED))
		__atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
	return r;
}

/* The poller's side of kick(): a try never waits (shmx(7)), and an
 * expedited membarrier waits for every other CPU and, in the kernel, for
 * everyone else's (tens of ms on a loaded machine). A poller fences as a
 * party without membarrier does: the header's fences bit was set when
 * its descriptor was made (fd_start()), so every running side fences. */
static void poller_barrier(struct shmx_chan *c)
{
	(void)c;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* A peer that stored "closed" frees its slot next, then wakes us; but a
 * look that found its slot still held took it for alive, and its wake-up
 * may come before we arm (it then finds no poller to wake): such a peer
 * is looked at again a slice later (the slot is long free by then). */
static bool closing(uint32_t state)
{
	return state & SHMX__CHAN_CLOSED;
}

/* Before arming: the peers' state words as of now (states[], for the
 * second look), and what makes the descriptor readable when one of them
 * goes; false when a peer alive could not be watched (the caller ticks
 * instead). Closes and attaches kick us themselves. The pids are relaxed:
 * stored before the release store of "attached" that the state's acquire
 * load pairs with (a wrong one costs a wake-up, or a look every slice).
 * One peer: its process and its connection. */
bool shmx__chan_watch_one(struct shmx_chan *c, uint32_t *states)
{
	struct shmx__chan_slot *peer = peer_slots(c);

	states[0] = __atomic_load_n(&peer[0].state, __ATOMIC_ACQUIRE);
	if (states[0] & SHMX__CHAN_ATTACHED)
		shmx__poll_watch(c->poll, __atomic_load_n(&peer[0].pid, __ATOMIC_RELAXED),
				 states[0] >> 8);
	return !closing(states[0]);
}

/* Several peers: the process of each one alive (a pidfd each), so an idle
 * channel wakes nobody. */
bool shmx__chan_watch_each(struct shmx_chan *c, uint32_t *states)
{
	struct shmx__chan_slot *peer = peer_slots(c);
	unsigned n = peer_count(c), k;
	bool seen = true;
	uint32_t st;

	for (k = 0; k < n; k++)
		states[k] = __atomic_load_n(&peer[k].state, __ATOMIC_ACQUIRE);
	for (k = 0; k < n; k++) {
		pid_t pid = __atomic_load_n(&peer[k].pid, __ATOMIC_RELAXED);
		int fate = shmx__chan_slot_fate(c, !is_producer(c), k, &st);

		/* One that died since the caller's look: its process is
		 * still exiting (its locks go before its pidfd fires), so
		 * watch it as if alive (a pidfd that fires, or one wake-up
		 * when it is gone already), once per attach; the try it
		 * wakes sees the death. */
		if (fate == 1 && closing(states[k]))
			seen = false;
		if (fate == 1 || (fate == -EOWNERDEAD &&
				  !shmx__poll_watching(c->poll, k, pid, states[k] >> 8)))
			seen &= shmx__poll_watch_at(c->poll, k, pid, states[k] >> 8);
		else if (fate != -EOWNERDEAD)
			shmx__poll_watch_at(c->poll, k, 0, 0);
	}
	return seen;
}

/* A try found nothing and we have a descriptor: arm it, as sleep_loop()
 * arms the futex. Connections and the peers' deaths are looked after
 * first; then "armed", our bit in the waiting word (release: whoever
 * takes the bit with acquire sees "armed"), the fence, and a second look
 * at the ring and at the peers' state words (relaxed: after the full
 * fence, each sees a state stored before the peer's own fence). A peer
 * that closes, or attaches, after our first look stores its state word,
 * fences and looks at our bit (wake_peer() in channel.c, attach_shared()
 * in chan-attach.c): one of us sees the other. A slice timer only where
 * a peer cannot be watched, or while another producer's reservation is in
 * flight. */
static int arm(struct shmx_chan *c, ready_fn ready, uint64_t need, const uint32_t *pre)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *waiting = is_producer(c) ? &h->space_waiting : &h->data_waiting;
	struct shmx__chan_slot *peer = peer_slots(c);
	uint32_t states[SHMX__CHAN_MAX_PEERS];
	bool seen;
	unsigned k;
	int r;

	shmx__poll_service(c->poll);
	seen = c->look->watch(c, states);
	__atomic_store_n(&c->me->armed, 1, __ATOMIC_RELAXED);
	__atomic_fetch_or(waiting, WAIT_POLL, __ATOMIC_RELEASE);
	poller_barrier(c);
	r = ready(c, need);
	/* A peer "closed" already before the try's look (pre[k]) may have
	 * had its slot held then (taken for alive), and freed it and woken
	 * nobody since, before our bit: look again as for a change
	 * (tests/spin/chan2-close.pml). */
	for (k = 0; !r && k < peer_count(c); k++)
		if (closing(pre[k]) ||
		    __atomic_load_n(&peer[k].state, __ATOMIC_RELAXED) != pre[k]) {
			r = settle(c, ready, need);
			break;
		}
	if (!r && (!seen || c->look->in_flight(c)))
		shmx__poll_tick(c->poll, SLICE_MS);
	return r;
}

/* Wait until ready(c, need); 0 or -errno (-EAGAIN for a try). */
int shmx__chan_wait(struct shmx_chan *c, ready_fn ready, uint64_t need,
		    struct deadline *d)
{
	int r;

	if (d->timeout == 0) {
		uint32_t pre[SHMX__CHAN_MAX_PEERS];

		/* The peers' state words before the look that settle() takes:
		 * a close or attach after it (whose kick the arming may
		 * swallow, or that found no poller armed yet) shows as a
		 * change after the arming's fence. */
		for (unsigned k = 0; c->poll && k < peer_count(c); k++)
			pre[k] = __atomic_load_n(&peer_slots(c)[k].state, __ATOMIC_ACQUIRE);
		r = settle(c, ready, need);
		if (!r && c->poll)
			r = arm(c, ready, need, pre);
		/* The peer gone, whatever told us (a slot freed by a process
		 * that lives on has no pidfd to fire): readable from now on,
		 * as a socket at end of file (shmx_chan_fd(3)). */
		if ((r == -EOWNERDEAD || r == -EPIPE) && c->poll)
			shmx__poll_signal(c->poll);
		return r > 0 ? 0 : r < 0 ? r : -EAGAIN;
	}
	r = shmx__chan_deadline(d);
	if (r)
		return r;
	if (!(c->flags & SHMX_CHAN_BLOCK)) {
		r = spin(c, ready, need, d);
		if (r)
			return r > 0 ? 0 : r;
	}
	r = sleep_loop(c, ready, need, d);
	return r > 0 ? 0 : r;
}


/* ---- the pollable descriptor ---- */

static int fd_start(struct shmx_chan *c)
{
	int err;

	if (c->poll)
		return 0;
	/* From now on we arm with a fence only (poller_barrier()): every
	 * running side must fence. One that read the bit as clear just
	 * before we set it is made to drain by the membarrier that follows
	 * (not a try: it may wait), and by the system calls before our first
	 * arm. */
	if (!full_fences(c)) {
		set_fences(c);
		sleeper_barrier(c);
	}
	err = shmx__poll_new(shmx_fd(c->region), is_producer(c) ? 'p' : 'c',
			     shmx__chan_poll_gen(c->slot, c->gen), &c->poll);
	/* Readable at first: the caller's first try arms it. */
	if (!err)
		shmx__poll_signal(c->poll);
	return err;
}

SHMX_EXPORT int shmx_chan_fd(struct shmx_chan *c)
{
	int err;

	if (!c)
		return -EINVAL;
	if (c->error)
		return c->error;
	err = fd_start(c);
	return err ? err : shmx__poll_fd(c->poll);
}
