/* SPDX-License-Identifier: MIT */
/* Hostile arguments: what the man pages say each bad value gives, and for
 * random ones, a documented error or success, never a crash (the run under
 * ASan/UBSan also catches an access outside a mapping). */
#include "torture.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WANT(call, err)                                                        \
	do {                                                                   \
		long r_ = (long)(call);                                        \
		atomic_fetch_add(&tt->ops, 1);                                 \
		tt_check(r_ == (err), "hostile.errors", "%s: %ld, want %d",    \
			 #call, r_, (err));                                     \
	} while (0)

#define DOC(call)                                                              \
	do {                                                                   \
		long r_ = (long)(call);                                        \
		atomic_fetch_add(&tt->ops, 1);                                 \
		tt_check(tt_documented(#call, r_), "hostile.errors", "%s: %ld",\
			 #call, r_);                                            \
	} while (0)

static void fixed_cases(struct shmx_chan *c, struct shmx_chan *rx, struct shmx_pair *p,
			struct shmx_region *r)
{
	struct shmx_chan_params prm = { .capacity = 4096, .producers = 65 };
	struct shmx_region *o = NULL;
	struct shmx_chan *oc = NULL;
	char buf[256];
	size_t lens[4];
	const void *q;
	void *w;

	WANT(shmx_create(NULL, 4096, 0, 0, &o), -EINVAL);
	WANT(shmx_create("/tt-never", 0, 0, 0, &o), -EINVAL);
	WANT(shmx_create("/tt-never", 4096, 0x40000000u, 0, &o), -EINVAL);
	WANT(shmx_open("sem.x", 0, &o), -EINVAL);
	WANT(shmx_open("/a/b", 0, &o), -EINVAL);
	WANT(shmx_name_canon("..", buf, sizeof(buf)), -EINVAL);
	WANT(shmx_chan_create("/tt-never", 100, SHMX_CHAN_PRODUCER, 0, &oc), -EINVAL);
	WANT(shmx_chan_create_params("/tt-never", &prm, SHMX_CHAN_PRODUCER, 0, &oc), -EINVAL);
	prm.producers = 2;
	prm.policy = SHMX_CHAN_POLICY_OVERWRITE;
	WANT(shmx_chan_create_params("/tt-never", &prm, SHMX_CHAN_PRODUCER, 0, &oc), -EINVAL);
	WANT(shmx_chan_send(NULL, buf, 1, 0), -EINVAL);
	WANT(shmx_chan_send(c, NULL, 10, 0), -EINVAL);
	WANT(shmx_chan_send(c, buf, 1, -2), -EINVAL);
	WANT(shmx_chan_send(c, buf, shmx_chan_max_msg(c) + 1, 0), -EMSGSIZE);
	WANT(shmx_chan_commit(c, 5), -EINVAL);
	WANT(shmx_chan_reserve(c, 8, NULL, 0), -EINVAL);
	WANT(shmx_chan_release(rx), -EINVAL);
	WANT(shmx_chan_recv(rx, buf, sizeof(buf), -7), -EINVAL);
	WANT(shmx_chan_peek(rx, NULL, 0), -EINVAL);
	WANT(shmx_chan_peek(rx, &q, -3), -EINVAL);
	WANT(shmx_chan_recv_batch(rx, buf, sizeof(buf), NULL, 4, 0), -EINVAL);
	WANT(shmx_chan_send_batch(c, NULL, 3, 0), -EINVAL);
	WANT(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	WANT(shmx_pair_wait(NULL, 0), -EINVAL);
	WANT(shmx_pair_wait(p, -5), -EINVAL);
	WANT(shmx_pair_post(NULL), -EINVAL);
	WANT(shmx_read(NULL, 0, buf, 1), -EINVAL);
	WANT(shmx_read(r, SIZE_MAX - 3, buf, 10), -ERANGE);
	WANT(shmx_write(r, SIZE_MAX - 3, buf, 10), -ERANGE);
	WANT(shmx_write(r, 1, NULL, 10), -EINVAL);
	WANT(shmx_sysv_key("/", 0, &(key_t){ 0 }), -EINVAL);
	(void)lens;
	(void)w;
}

/* Random values: sizes, offsets, flags and timeouts from edges and noise. */
static void random_cases(struct tt_rng *rng, struct shmx_chan *c, struct shmx_chan *rx,
			 struct shmx_region *r)
{
	static const uint64_t edge[] = { 0, 1, 7, 8, 4095, 4096, 65536, SIZE_MAX,
					 SIZE_MAX - 7, (uint64_t)1 << 62, 0x7fffffff };
	char buf[512];
	size_t lens[8];

	for (int i = 0; i < 200; i++) {
		uint64_t a = tt_chance(rng, 50) ? edge[tt_below(rng, 11)] : tt_next(rng);
		uint64_t b = tt_chance(rng, 50) ? edge[tt_below(rng, 11)] : tt_below(rng, 600);
		int tmo = (int)tt_below(rng, 3) - 2;

		tmo = tmo == -1 ? -3 : tmo;   /* never wait for ever */
		struct shmx_region *o = NULL;

		switch (tt_below(rng, 7)) {
		case 0: DOC(shmx_read(r, (size_t)a, buf, (size_t)(b % sizeof(buf)))); break;
		case 1: DOC(shmx_write(r, (size_t)a, buf, (size_t)(b % sizeof(buf)))); break;
		case 2: DOC(shmx_chan_send(c, buf, (size_t)(b % sizeof(buf)), tmo)); break;
		case 3: DOC(shmx_chan_recv(rx, buf, (size_t)(b % sizeof(buf)), tmo)); break;
		case 4: DOC(shmx_chan_recv_batch(rx, buf, (size_t)(b % sizeof(buf)), lens,
						 (size_t)(a % 9), 0)); break;
		case 5: DOC(shmx_sync_range(r, (size_t)a, (size_t)b, (unsigned)tt_next(rng)));
			break;
		case 6:
			DOC(shmx_anon_create((size_t)(a & 0xfffff), (unsigned)tt_next(rng) &
					     (tt_chance(rng, 50) ? 0x7f : ~0u), &o));
			shmx_close(o);
			break;
		}
	}
}

static void hostile_child(int idx, uint64_t seed)
{
	struct tt_rng rng = { seed };
	struct shmx_chan *tx = NULL, *rx = NULL;
	struct shmx_pair *p = NULL;
	struct shmx_region *r = NULL;
	int err;

	(void)idx;
	err = shmx_chan_create_anon(4096, SHMX_CHAN_PRODUCER, &tx);
	if (!err)
		err = shmx_chan_attach(shmx_chan_region(tx), SHMX_CHAN_CONSUMER, &rx);
	if (!err)
		err = shmx_pair_create_anon(SHMX_PAIR_READER, &p);
	if (!err)
		err = shmx_anon_create(8192, SHMX_MAP, &r);
	tt_check(!err, "hostile.setup", "objects for the hostile calls: %d", err);
	if (!err) {
		fixed_cases(tx, rx, p, r);
		random_cases(&rng, tx, rx, r);
	}
	shmx_chan_close(rx);
	shmx_chan_close(tx);
	shmx_pair_close(p);
	shmx_close(r);
}

void tt_hostile_args(struct tt_rng *r)
{
	int i;

	tt_ep_reset();
	tt_episode("hostile arguments");
	atomic_fetch_add(&tt->faults[F_HOSTILE], 1);
	i = tt_free_proc();
	tt_spawn(i, hostile_child, tt_next(r));
	tt_ep_wait_all(10000000000LL);
}
