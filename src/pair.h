/* SPDX-License-Identifier: MIT */
/* What the pair's two files share; not installed. pair.c moves the turn
 * (waits, posts, the control lock, recovery, attach and leave);
 * pair-objects.c makes, checks and finds what the turn lives in (three
 * files of a named pair, one sealed memfd of an anonymous one). */
#ifndef SHMX_PAIR_H
#define SHMX_PAIR_H

#include <semaphore.h>
#include <time.h>

#include "internal.h"

/* Liveness is polled between slices of this length: a dead peer is noticed
 * within about this long, at a cost of a few fcntl calls per slice. */
#define SLICE_MS 15
/* "/sem." + name + ".shmx-w" + NUL */
#define SEM_BUF (SHMX__NAME_BUF + 12)

/* ---- the control object, ABI 1 (native byte order, never leaves the
 * machine). Every field after the identity is read and written only under
 * the control lock: an OFD lock on byte CTL_LOCK of the object, which the
 * kernel frees when its holder dies. ---- */
#define CTL_MAGIC UINT64_C(0x52494150584d4853) /* "SHMXPAIR" */
#define CTL_ABI   1u
#define CTL_LOCK  0
#define CTL_SPINS 64            /* yields before the lock is polled by naps */
#define CTL_NAP_NS 100000L
#define CLOSE_MS  1000          /* close gives up marking itself after this */
/* turn: where the one turn of the pair is */
enum turn { IN_W = 1, IN_R = 2, W_HOLD = 3, R_HOLD = 4 };
/* state[role]: attach generation << GEN_SHIFT | ATTACHED or CLOSED */
#define ATTACHED  1u
#define CLOSED    2u
#define GEN_SHIFT 8

struct ctl {
	uint64_t magic;         /* 0: release-stored last */
	uint32_t abi;           /* 8 */
	uint32_t turn;          /* 12: enum turn */
	uint32_t state[2];      /* 16: writer, reader */
	int32_t pid[2];         /* 24: last attached (display only) */
	/* 32: a poller of that role is armed (shmx_pair_fd()); lock-free:
	 * set by the poller, taken (exchanged to 0) by the role that posts */
	uint32_t armed[2];
	uint8_t pad[64 - 40];
};
_Static_assert(sizeof(struct ctl) == 64, "control object size");
_Static_assert(offsetof(struct ctl, turn) == 12, "turn");
_Static_assert(offsetof(struct ctl, state) == 16, "state");
_Static_assert(offsetof(struct ctl, pid) == 24, "pid");
_Static_assert(offsetof(struct ctl, armed) == 32, "armed");

/* An anonymous pair's object: the control block, then the semaphores. */
struct anon_pair {
	struct ctl ctl;         /* 0 */
	sem_t sem[2];           /* 64: "may write", "may read" */
};
_Static_assert(offsetof(struct anon_pair, sem) == sizeof(struct ctl), "sem");

enum { W, R };                  /* roles, and indexes of sem[] */

struct pair_names {
	char sem[2][SEM_BUF];   /* "/sem.x.shmx-w", "/sem.x.shmx-r" */
	char ctl[SEM_BUF];      /* "/x.shmx-p" */
};

struct shmx_pair {
	/* where the turn lives: all the turn code uses */
	sem_t *may[2];          /* "may write", "may read" */
	struct ctl *control;
	int ctl_fd;             /* the control lock's open file description */
	/* named pair: the three files; anonymous: the one object */
	struct shmx_region *sem[2];     /* files of "may write", "may read" */
	struct shmx_region *ctl;        /* own open file description */
	struct shmx_region *mem;        /* anonymous: to hand out, no locks */
	int fd;                 /* the region, own open file description */
	int role;               /* W or R: we wait on sem[role] */
	off_t size;             /* region size at attach, to notice truncation */
	uint32_t gen;           /* our attach generation */
	bool owner;
	bool holding;           /* we have the turn */
	struct shmx__poll *poll;        /* shmx_pair_fd(): we poll */
	struct shmx__kick *kick;        /* the peer polls: how we wake it */
};


static inline sem_t *own_sem(const struct shmx_pair *p)
{
	return p->may[p->role];
}

static inline sem_t *peer_sem(const struct shmx_pair *p)
{
	return p->may[!p->role];
}

static inline struct ctl *ctl_of(const struct shmx_pair *p)
{
	return p->control;
}

static inline uint32_t ld(const uint32_t *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static inline void st(uint32_t *w, uint32_t v)
{
	__atomic_store_n(w, v, __ATOMIC_RELEASE);
}

static inline int peer_slot(const struct shmx_pair *p)
{
	return p->role == W ? SHMX_SLOT_READER : SHMX_SLOT_WRITER;
}

static inline int own_slot(const struct shmx_pair *p)
{
	return p->role == W ? SHMX_SLOT_WRITER : SHMX_SLOT_READER;
}

static inline bool bad_role(unsigned flags)
{
	return flags != SHMX_PAIR_WRITER && flags != SHMX_PAIR_READER;
}

/* pair.c */
/* Take our role in the control block (and a turn our role lost). */
int shmx__pair_attach(struct shmx_pair *p);
int shmx__pair_ctl_lock(const struct shmx_pair *p, const struct timespec *dl);
void shmx__pair_ctl_unlock(const struct shmx_pair *p);

/* pair-objects.c */
struct shmx_pair *shmx__pair_free(struct shmx_pair *p);

#endif
