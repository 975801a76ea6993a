/* SPDX-License-Identifier: MIT */
/* What the pair's files share; not installed. pair-turn.c moves the turn
 * word (take, give, attach and leave, recovery, the peer's liveness);
 * pair.c is the public calls and the waiting; pair-objects.c makes, checks
 * and finds what the turn lives in (three files of a named pair, one
 * sealed memfd of an anonymous one). */
#ifndef SHMX_PAIR_H
#define SHMX_PAIR_H

#include <semaphore.h>
#include <time.h>

#include "fork.h"
#include "internal.h"

/* Liveness is looked at between slices of this length of a wait that
 * sleeps: a dead peer is noticed within about this long. */
#define SLICE_MS 15
/* A wait that finds no turn spins at most this long for one about to
 * come before it sleeps (pair.c, spin_turn()). */
#define SPIN_NS 20000L
#define SPIN_MIN_NS 1000L
/* "/sem." + name + ".shmx-w" + NUL */
#define SEM_BUF (SHMX__NAME_BUF + 12)
/* An open that finds files of two pairs (a replacement under way) tries
 * again this many times, OPEN_NAP_NS apart, then says -ESTALE. */
#define OPEN_TRIES 50
#define OPEN_NAP_NS 2000000L

/* ---- the control object, ABI 2 (native byte order, never leaves the
 * machine; shmx(7), "The turn"). No lock: the turn is one word changed by
 * compare-and-swap, each state word has one writer (the holder of that
 * role's liveness slot), the identity is written before the release store
 * of magic that publishes it and never after. ---- */
#define CTL_MAGIC UINT64_C(0x52494150584d4853) /* "SHMXPAIR" */
/* The magic while the creator builds the pair: the control object is
 * linked in first, in this state, and each semaphore file's identity is
 * written into it before that file is linked in; CTL_MAGIC once both are.
 * An opener treats it as no pair yet (-ENOENT); shmx gc removes only what
 * a control object whose owner slot is free records. */
#define CTL_BUILDING UINT64_C(0x444c495550584d53) /* "SMXPUILD" */
#define CTL_ABI   2u
/* turn: where the one turn of the pair is (low byte), and for a held turn
 * the holder's attach generation (bits 8-31) */
enum turn { IN_W = 1, IN_R = 2, W_HOLD = 3, R_HOLD = 4 };
#define TURN_WHERE(t) ((t) & 0xffu)
#define TURN_GEN(t)   ((t) >> 8)
/* state[role]: attach generation << GEN_SHIFT | ATTACHED or CLOSED; the
 * generation has 24 bits, wraps, and is never 0 */
#define ATTACHED  1u
#define CLOSED    2u
#define GEN_SHIFT 8
#define GEN_MASK  0xffffffu

/* (device, inode) of a file of the pair */
struct ctl_id {
	uint64_t dev, ino;
};

enum { ID_REGION, ID_SEM_W, ID_SEM_R, NIDS };

struct ctl {
	uint64_t magic;         /* 0: release-stored last */
	uint32_t abi;           /* 8 */
	uint32_t turn;          /* 12: enum turn | holder's generation << 8 */
	uint32_t state[2];      /* 16: writer, reader */
	int32_t pid[2];         /* 24: last attached (display, the poller) */
	/* 32: a poller of that role is armed (shmx_pair_fd()); lock-free:
	 * set by the poller (release), taken (acquire exchange to 0) by the
	 * role that posts */
	uint32_t armed[2];
	/* 40: the region and the two semaphore files (named pair; zero in
	 * an anonymous one) */
	struct ctl_id id[NIDS];
	/* 88: the nonce in the name of that role's poller (pollfd.c), stored
	 * (release) once it is bound, before the poller first arms */
	uint64_t nonce[2];
	uint8_t pad[128 - 104];
};
_Static_assert(sizeof(struct ctl) == 128, "control object size");
_Static_assert(offsetof(struct ctl, turn) == 12, "turn");
_Static_assert(offsetof(struct ctl, state) == 16, "state");
_Static_assert(offsetof(struct ctl, pid) == 24, "pid");
_Static_assert(offsetof(struct ctl, armed) == 32, "armed");
_Static_assert(offsetof(struct ctl, id) == 40, "id");
_Static_assert(offsetof(struct ctl, nonce) == 88, "nonce");

/* An anonymous pair's object: the control block, then the semaphores. */
struct anon_pair {
	struct ctl ctl;         /* 0 */
	sem_t sem[2];           /* 128: "may write", "may read" */
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
	/* one span over the mappings of the three: a SIGBUS in it is a
	 * truncated file of the pair (shmx_guard_sigbus()) */
	const void *span;
	size_t span_len;
	/* named pair: the three files; anonymous: the one object */
	struct shmx_region *sem[2];     /* files of "may write", "may read" */
	struct shmx_region *ctl;        /* own open file description */
	struct shmx_region *mem;        /* anonymous: to hand out, no locks */
	int fd;                 /* the region, own open file description */
	/* Our own open file description of the pair's object where our
	 * liveness slots are (shmx(7), "The turn"): a named pair's control
	 * object (never the region: a pair made again on the same region
	 * must not inherit the old one's slots), an anonymous pair's memfd
	 * (p->fd). Not closed apart from what it belongs to. */
	int lk;
	int role;               /* W or R: we wait on sem[role] */
	off_t size;             /* region size at attach, to notice truncation */
	uint32_t gen;           /* our attach generation (24 bits, not 0) */
	long spin_ns;           /* how long the next wait spins (adaptive) */
	bool owner;
	bool holding;           /* we have the turn */
	struct shmx__poll *poll;        /* shmx_pair_fd(): we poll */
	struct shmx__kick *kick;        /* the peer polls: how we wake it */
	/* lk and its mapping, replaced in a forked child (fork.c) */
	struct shmx__forkable fk;
	int error;              /* SHMX__FORKED: a child's inherited copy */
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

/* Acquire: what the storer wrote before its release store (a turn's
 * region data, the pid before the state word) is visible after. */
static inline uint32_t ld(const uint32_t *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static inline void st(uint32_t *w, uint32_t v)
{
	__atomic_store_n(w, v, __ATOMIC_RELEASE);
}

/* The turn moves only by this: acquire on success (the region as the last
 * holder left it), release (the region as we leave it). */
static inline bool cas(uint32_t *w, uint32_t old, uint32_t new)
{
	return __atomic_compare_exchange_n(w, &old, new, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static inline uint32_t in_of(int role)
{
	return role == W ? IN_W : IN_R;
}

static inline uint32_t hold_of(int role, uint32_t gen)
{
	return (role == W ? W_HOLD : R_HOLD) | gen << 8;
}

static inline uint32_t next_gen(uint32_t state)
{
	uint32_t g = ((state >> GEN_SHIFT) + 1) & GEN_MASK;

	return g ? g : 1;
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

/* pair-turn.c: the turn word */
/* Take our role in the control block, and a turn a predecessor in our
 * role died holding (one CAS). Our slot is held already. */
int shmx__pair_attach(struct shmx_pair *p);
/* A turn we hold goes back to our role; then we are marked closed. The
 * caller frees our slot, then wakes the peer (shmx__pair_wake()). */
void shmx__pair_leave(struct shmx_pair *p);
/* Our semaphore gave a token (token) or we look at the word alone: 0 and
 * the turn is ours, or -EAGAIN (a token the word does not account for is
 * dropped), or -EBADMSG (a word the protocol never makes). */
int shmx__pair_take(struct shmx_pair *p, bool token);
/* Hand the turn we hold to the peer: the word, then its semaphore. */
int shmx__pair_give(struct shmx_pair *p);
/* 0 if the peer is alive or has never come, -EPIPE if it closed,
 * -EOWNERDEAD if it died; -EFAULT if a file of the pair or the region
 * shrank. The slow path only: fcntl and fstat. */
int shmx__pair_check(struct shmx_pair *p);
/* -EFAULT if a file of the pair or the region shrank (fstat only). */
int shmx__pair_truncated(const struct shmx_pair *p);
/* After a store the polling peer must see: wake it if it is armed. */
void shmx__pair_wake(struct shmx_pair *p);
char shmx__pair_poll_role(int role);
/* sem_trywait, sem_post and sem_getvalue as 0 or -errno */
int shmx__sem_try(sem_t *s);
/* pair-sleep.c: sleep on s until a token is there (taken: 0) or until
 * (CLOCK_MONOTONIC, absolute): -ETIMEDOUT, -EINTR, or -EFAULT for a
 * truncated semaphore file (never the C library's abort). */
int shmx__sem_sleep(sem_t *s, const struct timespec *until);

/* pair-objects.c */
struct shmx_pair *shmx__pair_free(struct shmx_pair *p);
/* (device, inode) of fd's file */
int shmx__pair_id_of(int fd, struct ctl_id *id);
/* The names of region's pair: its semaphores' and its control object's. */
int shmx__pair_names(const char *region, struct pair_names *n);

#endif
