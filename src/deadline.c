/* SPDX-License-Identifier: MIT */
/* Deadlines on CLOCK_MONOTONIC: every wait in libshmx has one. */
#define _GNU_SOURCE
#include <time.h>

#include "internal.h"

static void ts_add_ms(struct timespec *ts, long ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int shmx__deadline(int timeout_ms, struct timespec *dl)
{
	if (timeout_ms < -1)
		return -EINVAL;
	if (timeout_ms == -1) {
		dl->tv_sec = -1;
		dl->tv_nsec = 0;
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, dl);
	ts_add_ms(dl, timeout_ms);
	return 0;
}

bool shmx__forever(const struct timespec *dl)
{
	return dl->tv_sec == -1;
}

bool shmx__expired(const struct timespec *dl)
{
	struct timespec now;

	if (shmx__forever(dl))
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return !ts_before(&now, dl);
}

void shmx__slice(const struct timespec *dl, int slice_ms, struct timespec *out)
{
	clock_gettime(CLOCK_MONOTONIC, out);
	ts_add_ms(out, slice_ms);
	if (!shmx__forever(dl) && ts_before(dl, out))
		*out = *dl;
}

