/* SPDX-License-Identifier: MIT */
/* The sleep of a wait on our semaphore, made here rather than by the C
 * library's sem_timedwait: a peer may truncate a semaphore file while we
 * sleep on it (shmx(7), "The turn"). Inside glibc's sem_timedwait that
 * is fatal either way: a SIGBUS there is turned by the guard into a
 * siglongjmp, and unwinding through sem_timedwait runs its cancellation
 * cleanup, which touches the truncated semaphore again (SIGBUS, jump,
 * cleanup, ... until the stack overflows); and a truncation between its
 * load of the count and its futex call makes the kernel answer EFAULT,
 * on which glibc aborts the process. Here a fault is a plain jump out of
 * code with no cleanup (guard.c), and a futex EFAULT is -EFAULT.
 *
 * The sleep keeps glibc's own protocol for a process-shared semaphore, so
 * any sem_post (ours, or a plain sem_open program's) wakes it: a 64-bit
 * word, the count in its low half (the futex word) and the number of
 * sleepers in its high half; a poster adds one to the count and, if the
 * high half is not 0, wakes the futex word. A sleeper counts itself in,
 * takes a token with one compare-and-swap (count - 1, sleepers - 1), or
 * sleeps while the count is 0, and counts itself out when it gives up.
 * That layout is checked once at run time (layout_ok()); where it does not
 * hold (another C library, a 32-bit one) the sleep is sem_timedwait, and
 * a truncation racing it is not survived (shmx_pair_wait(3), BUGS). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pair.h"

#if defined(__GLIBC__) && ULONG_MAX > 0xffffffffUL
#define OWN_SLEEP 1
#define SLEEPER (UINT64_C(1) << 32)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define COUNT_HALF 0
#else
#define COUNT_HALF 1
#endif
#else
#define OWN_SLEEP 0
#endif

#if OWN_SLEEP
/* 1 the layout above holds, -1 it does not, 0 not looked at yet. A
 * semaphore of our own, made and posted by the C library, must show its
 * count in the low half and no sleeper. */
static int layout_ok(void)
{
	static int ok;          /* this process's; computed alike by any thread */
	int v = __atomic_load_n(&ok, __ATOMIC_RELAXED);
	uint64_t d;
	sem_t s;

	if (v)
		return v > 0;
	v = -1;
	if (sem_init(&s, 1, 3) == 0 && sem_post(&s) == 0) {
		memcpy(&d, &s, sizeof(d));
		if (d == 4 && ((uint32_t *)(void *)&s)[COUNT_HALF] == 4)
			v = 1;
		sem_destroy(&s);
	}
	__atomic_store_n(&ok, v, __ATOMIC_RELAXED);
	return v > 0;
}

static int own_sleep(sem_t *s, const struct timespec *until)
{
	uint64_t *data = (uint64_t *)(void *)s;
	uint32_t *count = (uint32_t *)(void *)s + COUNT_HALF;
	/* Relaxed: count and sleepers share this one word, so its order
	 * alone decides between us and a poster's add (it sees a sleeper
	 * and wakes, or we see its token); the token's data comes with the
	 * acquire below. */
	uint64_t d = __atomic_add_fetch(data, SLEEPER, __ATOMIC_RELAXED);

	for (;;) {
		if ((uint32_t)d) {
			/* Acquire: what the poster wrote before its post. */
			if (__atomic_compare_exchange_n(data, &d, d - 1 - SLEEPER, true,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return 0;
			continue;
		}
		/* CLOCK_MONOTONIC, absolute; shared (the semaphore is). */
		if (syscall(SYS_futex, count, FUTEX_WAIT_BITSET, 0, until, NULL,
			    FUTEX_BITSET_MATCH_ANY) < 0 && errno != EAGAIN) {
			int err = -errno;

			/* EFAULT: the page is gone with the file's size;
			 * there is no count left to leave. Relaxed: a
			 * sleeper counted a moment too long costs a poster
			 * one spare futex wake, nothing else. */
			if (err != -EFAULT)
				__atomic_fetch_sub(data, SLEEPER, __ATOMIC_RELAXED);
			return err;
		}
		/* relaxed: only the CAS's guess; the CAS acquires */
		d = __atomic_load_n(data, __ATOMIC_RELAXED);
	}
}
#endif

/* sem_timedwait takes a wall-clock time: now + what is left until the
 * monotonic until, so a change of the wall clock stretches one slice at
 * most. */
static int libc_sleep(sem_t *s, const struct timespec *until)
{
	struct timespec now, rt;
	long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (until->tv_sec - now.tv_sec) * 1000000000L + (until->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return -ETIMEDOUT;
	clock_gettime(CLOCK_REALTIME, &rt);
	rt.tv_sec += ns / 1000000000L;
	rt.tv_nsec += ns % 1000000000L;
	if (rt.tv_nsec >= 1000000000L) {
		rt.tv_sec++;
		rt.tv_nsec -= 1000000000L;
	}
	return sem_timedwait(s, &rt) ? -errno : 0;
}

int shmx__sem_sleep(sem_t *s, const struct timespec *until)
{
#if OWN_SLEEP
	if (layout_ok())
		return own_sleep(s, until);
#endif
	return libc_sleep(s, until);
}
