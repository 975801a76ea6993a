/* SPDX-License-Identifier: MIT */
/* Waiting in a channel: spin, then sleep on a futex in slices; every wait
 * has a deadline and watches the peer's liveness slot and the object's
 * size. Or, for a caller that polls (shmx_chan_fd()), arm a descriptor
 * when a try finds nothing. The sleep/wake and arm/wake pairings are
 * proved in tests/spin/chan.pml. */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
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
	uint32_t w = __atomic_exchange_n(waiting, 0, __ATOMIC_RELAXED);

	if (w & WAIT_POLL)
		shmx__chan_poll_kick(c);
	if (w & ~WAIT_POLL)
		shmx__chan_bump(seq);
}

static uint32_t *peer_state(struct shmx_chan *c)
{
	return is_producer(c) ? &c->hdr->cons_state : &c->hdr->prod_state;
}

/* The poller is our peer: its role and the generation its name carries. */
void shmx__chan_poll_kick(struct shmx_chan *c)
{
	uint32_t state = __atomic_load_n(peer_state(c), __ATOMIC_ACQUIRE);

	shmx__kick_poller(&c->kick, shmx_fd(c->region), is_producer(c) ? 'c' : 'p',
			  state >> 8);
}


/* ---- liveness ---- */

/* A peer we never saw attach may still come: only a peer whose state word
 * says it attached, and whose slot is free, is gone. The word is read
 * around the lock test so a new peer attaching meanwhile is not taken for
 * the old one's corpse. */
static int peer_gone(struct shmx_chan *c)
{
	unsigned slot = is_producer(c) ? SHMX_SLOT_READER : SHMX_SLOT_WRITER;
	uint32_t *word = is_producer(c) ? &c->hdr->cons_state : &c->hdr->prod_state;
	uint32_t w1, w2;
	int tries, held;

	for (tries = 0; tries < 4; tries++) {
		w1 = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		held = shmx__slot_held(shmx_fd(c->region), slot);
		if (held)
			return held < 0 ? held : 0;
		w2 = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		if (w1 != w2)
			continue;
		if (w1 & SHMX__CHAN_CLOSED)
			return -EPIPE;
		return (w1 & SHMX__CHAN_ATTACHED) ? -EOWNERDEAD : 0;
	}
	return 0;
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
	err = peer_gone(c);
	r = ready(c, need);
	return r ? r : err;
}

static int deadline_get(struct deadline *d)
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
		if (!pure) {
			if (i >= SPIN_POLLS)
				return 0;
			continue;
		}
		if (i % SPIN_CLOCK)
			continue;
		if (shmx__expired(&d->ts)) {
			r = settle(c, ready, need);
			return r ? r : -ETIMEDOUT;
		}
		if (++clocks % SPIN_LIVE == 0 && (r = settle(c, ready, need)))
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
		__atomic_store_n(waiting, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
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
	if (__atomic_load_n(waiting, __ATOMIC_RELAXED))
		__atomic_store_n(waiting, 0, __ATOMIC_RELAXED);
	return r;
}

/* A try found nothing and we have a descriptor: arm it, as sleep_loop()
 * arms the futex. Connections and the peer's death are looked after
 * first; then "armed", the fence, and a second look at the ring and at the
 * peer's state word. A peer that closes, or attaches, after our first look
 * stores its state word, fences and looks at our flag (shmx_chan_close(),
 * attach()): one of us sees the other. */
static int arm(struct shmx_chan *c, ready_fn ready, uint64_t need)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *waiting = is_producer(c) ? &h->space_waiting : &h->data_waiting;
	int32_t *pid = is_producer(c) ? &h->consumer_pid : &h->producer_pid;
	uint32_t state = __atomic_load_n(peer_state(c), __ATOMIC_ACQUIRE);
	int r;

	shmx__poll_service(c->poll);
	if (state & SHMX__CHAN_ATTACHED)
		shmx__poll_watch(c->poll, __atomic_load_n(pid, __ATOMIC_RELAXED),
				 state >> 8);
	__atomic_store_n(waiting, WAIT_POLL, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r = ready(c, need);
	if (!r && __atomic_load_n(peer_state(c), __ATOMIC_RELAXED) != state)
		r = settle(c, ready, need);
	return r;
}

/* Wait until ready(c, need); 0 or -errno (-EAGAIN for a try). */
int shmx__chan_wait(struct shmx_chan *c, ready_fn ready, uint64_t need,
		    struct deadline *d)
{
	int r;

	if (d->timeout == 0) {
		r = settle(c, ready, need);
		if (!r && c->poll)
			r = arm(c, ready, need);
		return r > 0 ? 0 : r < 0 ? r : -EAGAIN;
	}
	r = deadline_get(d);
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
	err = shmx__poll_new(shmx_fd(c->region), is_producer(c) ? 'p' : 'c', c->gen,
			     &c->poll);
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
