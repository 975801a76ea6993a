/* SPDX-License-Identifier: MIT */
/* What the semaphore pair tests share (pair-util.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pair-util.h"

struct shmx_region *region(const char *name, bool create)
{
	struct shmx_region *r = NULL;

	if (create)
		assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0, &r), 0);
	else
		assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	return r;
}

uint32_t holders(const char *name)
{
	char ctl[300];
	struct shmx_info info;
	int err;

	/* The region itself carries no slot of its pair (shmx(7), "The
	 * turn"): a pair made again on it must not see the old one's. */
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, 0);
	snprintf(ctl, sizeof(ctl), "%s.shmx-p", name);
	err = shmx_stat(ctl, &info);
	if (err == -ENOENT)
		return 0;
	assert_int_equal(err, 0);
	return info.holders;
}

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct shmx_pair *p;
	int timeout_ms, result;
	bool finished, abandoned;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	int res = shmx_pair_wait(w->p, w->timeout_ms);
	bool abandoned;

	pthread_mutex_lock(&w->lock);
	w->result = res;
	w->finished = true;
	abandoned = w->abandoned;
	pthread_cond_signal(&w->done);
	pthread_mutex_unlock(&w->lock);
	if (abandoned)
		free(w);
	return NULL;
}

int wait_within(struct shmx_pair *p, int timeout_ms, int limit_ms)
{
	struct waiter *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	struct timespec until;
	pthread_t t;
	int res;

	assert_non_null(w);
	w->p = p;
	w->timeout_ms = timeout_ms;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->done, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += limit_ms / 1000;
	until.tv_nsec += (limit_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	assert_int_equal(pthread_create(&t, NULL, wait_thread, w), 0);
	pthread_mutex_lock(&w->lock);
	while (!w->finished && pthread_cond_timedwait(&w->done, &w->lock, &until) == 0)
		;
	res = w->finished ? w->result : TU_TIMED_OUT;
	w->abandoned = !w->finished;
	pthread_mutex_unlock(&w->lock);
	if (res == TU_TIMED_OUT) {
		pthread_detach(t);
		return res;     /* the thread frees w if its wait ever ends */
	}
	pthread_join(t, NULL);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return res;
}
