/* SPDX-License-Identifier: MIT */
/* Forced into every file of the musl build (cross/musl.ini) while files
 * that this port does not own still need it to build and behave with musl.
 *
 * src/pair.c calls sem_clockwait(), which glibc has (2.30) and musl
 * does not. The stand-in waits the way shmx(7) asks of every wait: against
 * a CLOCK_MONOTONIC deadline, in sem_timedwait() slices of at most 10 ms so
 * a step of the wall clock can stretch no slice by more than that. A macro
 * and no includes: it expands where pair.c calls it, after pair.c's own
 * <semaphore.h>, <time.h> and <errno.h>, and no file that does not call it
 * sees anything. Remove it with the last call of sem_clockwait(). */
#ifndef SHMX_MUSL_COMPAT_H
#define SHMX_MUSL_COMPAT_H

#define sem_clockwait(sem, clk, abs) __extension__({                          \
	sem_t *sc_sem_ = (sem);                                               \
	const struct timespec *sc_abs_ = (abs);                               \
	int sc_rc_;                                                           \
	for (;;) {                                                            \
		struct timespec sc_now_, sc_rt_;                              \
		long long sc_left_;                                           \
		sc_rc_ = sem_trywait(sc_sem_);                                \
		if (sc_rc_ == 0 || errno != EAGAIN)                           \
			break;                                                \
		clock_gettime((clk), &sc_now_);                               \
		sc_left_ = (long long)(sc_abs_->tv_sec - sc_now_.tv_sec) *    \
			1000000000LL + (sc_abs_->tv_nsec - sc_now_.tv_nsec);  \
		if (sc_left_ <= 0) {                                          \
			errno = ETIMEDOUT;                                    \
			sc_rc_ = -1;                                          \
			break;                                                \
		}                                                             \
		if (sc_left_ > 10000000LL)                                    \
			sc_left_ = 10000000LL;                                \
		clock_gettime(CLOCK_REALTIME, &sc_rt_);                       \
		sc_rt_.tv_nsec += sc_left_;                                   \
		if (sc_rt_.tv_nsec >= 1000000000L) {                          \
			sc_rt_.tv_sec++;                                      \
			sc_rt_.tv_nsec -= 1000000000L;                        \
		}                                                             \
		sc_rc_ = sem_timedwait(sc_sem_, &sc_rt_);                     \
		if (sc_rc_ == 0 || errno != ETIMEDOUT)                        \
			break;                                                \
	}                                                                     \
	sc_rc_;                                                               \
})

/* shmx_unlink(3) and shmx_pair_unlink(3) report another user's object in
 * the sticky /dev/shm as EACCES, which is what glibc's shm_unlink() makes
 * of the kernel's EPERM (POSIX's error for it); musl's passes EPERM on.
 * Every call is renamed to a stand-in that translates, declared before any
 * header (so <sys/mman.h>'s prototype declares the stand-in, with the
 * internal linkage of this definition), calling musl's by its symbol.
 * Remove with the same translation in src/region.c and src/pair-objects.c. */
#define shm_unlink shmx_compat_shm_unlink
extern int shmx_compat_musl_shm_unlink(const char *name) __asm__("shm_unlink");
extern int *__errno_location(void);
static inline int shmx_compat_shm_unlink(const char *name)
{
	int rc = shmx_compat_musl_shm_unlink(name);

	if (rc < 0 && *__errno_location() == 1)         /* EPERM */
		*__errno_location() = 13;               /* EACCES */
	return rc;
}

#endif
