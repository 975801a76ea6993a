/* SPDX-License-Identifier: MIT */
/* The semaphore pair: the classic two-semaphore handoff ("writer may write"
 * starts at 1, "reader may read" starts at 0), made safe. Every wait has a
 * deadline; a small control block records where the turn is and whether
 * each role is attached or closed, so a turn held by a process that dies or
 * closes comes back (shmx(7), "The turn"). A named pair keeps the
 * semaphores and the control block in three files ("<region>.shmx-w",
 * "-r", "-p"); an anonymous pair keeps all three in one sealed memfd. Only
 * where they live differs: the turn code is the same for both.
 * The turn protocol is model-checked in tests/spin/pair.pml. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static sem_t *own_sem(const struct shmx_pair *p)
{
	return p->may[p->role];
}

static sem_t *peer_sem(const struct shmx_pair *p)
{
	return p->may[!p->role];
}

static struct ctl *ctl_of(const struct shmx_pair *p)
{
	return p->control;
}

static int make_names(const char *region, struct pair_names *n)
{
	char canon[SHMX__NAME_BUF];
	int err;

	err = shmx__name(region, SHMX_PAIR_NAME_MAX, canon);
	if (err)
		return err;
	snprintf(n->sem[W], SEM_BUF, "/sem.%s.shmx-w", canon + 1);
	snprintf(n->sem[R], SEM_BUF, "/sem.%s.shmx-r", canon + 1);
	snprintf(n->ctl, SEM_BUF, "%s.shmx-p", canon);
	return 0;
}

static bool bad_role(unsigned flags)
{
	return flags != SHMX_PAIR_WRITER && flags != SHMX_PAIR_READER;
}

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
static int ctl_lock(const struct shmx_pair *p, const struct timespec *dl)
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

static void ctl_unlock(const struct shmx_pair *p)
{
	ctl_lk(p, F_UNLCK);
}

static uint32_t ld(const uint32_t *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static void st(uint32_t *w, uint32_t v)
{
	__atomic_store_n(w, v, __ATOMIC_RELEASE);
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

static int peer_slot(const struct shmx_pair *p)
{
	return p->role == W ? SHMX_SLOT_READER : SHMX_SLOT_WRITER;
}

static int own_slot(const struct shmx_pair *p)
{
	return p->role == W ? SHMX_SLOT_WRITER : SHMX_SLOT_READER;
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

/* ---- objects: built completely, then linked in; opened only after
 * checking that they are what we built ---- */

static int publish(struct shmx_region *o, const char *canon, struct shmx_region **ret)
{
	int err = shmx__publish(o, canon);

	if (err) {
		shmx__discard(o);
		return err;
	}
	*ret = o;
	return 0;
}

/* Like glibc's and musl's sem_open: a complete sem_t in an unnamed file of
 * the exact mode, then linked in (-EEXIST if the name exists). Its page is
 * reserved first: on a full /dev/shm, -ENOSPC rather than a SIGBUS in
 * sem_init. */
static int make_sem(const char *canon, unsigned value, mode_t mode,
		    struct shmx_region **ret)
{
	struct shmx_region *o;
	int err;

	err = shmx__create(canon, sizeof(sem_t), SHMX_MAP, mode, &o);
	if (err)
		return err;
	if (sem_init(o->addr, 1, value) < 0) {
		err = -errno;
		shmx__discard(o);
		return err;
	}
	return publish(o, canon, ret);
}

/* A fresh (zeroed) control block: the turn in "may write". */
static void init_ctl(struct ctl *c)
{
	c->abi = CTL_ABI;
	c->turn = IN_W;
	__atomic_store_n(&c->magic, CTL_MAGIC, __ATOMIC_RELEASE);
}

static int check_ctl(const struct ctl *c)
{
	if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != CTL_MAGIC)
		return -EBADMSG;
	return c->abi != CTL_ABI ? -EPROTONOSUPPORT : 0;
}

static int make_ctl(const char *canon, mode_t mode, struct shmx_region **ret)
{
	struct shmx_region *o;
	int err;

	err = shmx__create(canon, sizeof(struct ctl), SHMX_MAP, mode, &o);
	if (err)
		return err;
	init_ctl(o->addr);
	return publish(o, canon, ret);
}

/* Open a file of ours by path, never following a link nor blocking on a
 * FIFO, and check it before it is mapped: a file of another type or size
 * would fault (SIGBUS) or mean something else. */
static int open_file(const char *canon, off_t size, uid_t uid, struct shmx_region **ret)
{
	char path[SHMX__PATH_BUF];
	struct stat s;
	int fd, err;

	shmx__path(canon, false, path);
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return (errno == ELOOP || errno == ENXIO || errno == EISDIR) ? -EBADMSG
									       : -errno;
	err = shmx__neg(fstat(fd, &s));
	if (!err && (!S_ISREG(s.st_mode) || s.st_size != size))
		err = -EBADMSG;
	if (!err && s.st_uid != uid && s.st_uid != geteuid())
		err = -EPERM;
	if (!err)
		err = shmx__region_from_fd(fd, canon, SHMX_MAP, ret);
	if (err)
		close(fd);
	return err;
}

static int open_ctl(const char *canon, uid_t uid, struct shmx_region **ret)
{
	struct shmx_region *o;
	struct ctl *c;
	int err;

	err = open_file(canon, sizeof(*c), uid, &o);
	if (err)
		return err;
	c = o->addr;
	err = check_ctl(c);
	if (err) {
		shmx_close(o);
		return err;
	}
	*ret = o;
	return 0;
}

static struct shmx_pair *pair_free(struct shmx_pair *p)
{
	if (p->fd >= 0)
		close(p->fd);
	shmx_close(p->sem[W]);
	shmx_close(p->sem[R]);
	shmx_close(p->ctl);
	shmx_close(p->mem);
	shmx__poll_free(p->poll);
	shmx__kick_free(p->kick);
	free(p);
	return NULL;
}

/* The handle, with an open file description of its own for the region's
 * object (its locks outlive a shmx_close of the region and do not mix with
 * another handle's on the same region) and the object's size. */
static int pair_new(struct shmx_region *r, unsigned flags, struct shmx_pair **ret)
{
	struct shmx_pair *p;
	struct stat s;

	if (r->flags & SHMX_RDONLY)
		return -EBADF;  /* OFD write locks need a writable fd */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = shmx__reopen(r);
	if (p->fd < 0 || fstat(p->fd, &s) < 0) {
		int err = p->fd < 0 ? p->fd : -errno;

		pair_free(p);
		return err;
	}
	p->size = s.st_size;
	p->role = flags == SHMX_PAIR_WRITER ? W : R;
	*ret = p;
	return 0;
}

/* What create and open share: the names and a fresh handle. */
static int pair_start(struct shmx_region *r, unsigned flags, struct pair_names *n,
		      struct shmx_pair **ret)
{
	int err = make_names(r->name, n);

	return err ? err : pair_new(r, flags, ret);
}

/* Take our role in the control object, and any turn a predecessor in our
 * role lost. Our slot is held already. */
static int attach(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	int err = ctl_lock(p, NULL);

	if (err)
		return err;
	p->gen = (ld(&c->state[p->role]) >> GEN_SHIFT) + 1;
	/* The pid first: a poller reads the state word, then the pid. */
	__atomic_store_n(&c->pid[p->role], (int32_t)getpid(), __ATOMIC_RELAXED);
	st(&c->state[p->role], p->gen << GEN_SHIFT | ATTACHED);
	recover(p);
	ctl_unlock(p);
	wake_poller(p);
	return 0;
}

/* The named pair's files, as the turn code sees them. */
static void bind_named(struct shmx_pair *p)
{
	p->may[W] = p->sem[W]->addr;
	p->may[R] = p->sem[R]->addr;
	p->control = p->ctl->addr;
	p->ctl_fd = p->ctl->fd;
}

static int lock_owner(struct shmx_pair *p)
{
	int err = shmx__slot_lock(p->fd, SHMX_SLOT_OWNER);

	if (err)
		return err;
	err = shmx__slot_lock(p->fd, own_slot(p));
	if (err)
		shmx__slot_unlock(p->fd, SHMX_SLOT_OWNER);
	return err;
}

static void discard_all(struct shmx_pair *p)
{
	shmx__discard(p->ctl);
	shmx__discard(p->sem[R]);
	shmx__discard(p->sem[W]);
	p->ctl = p->sem[R] = p->sem[W] = NULL;
}

/* The control object goes last: an opener that finds it finds a whole
 * pair, and until then gets -ENOENT (retry). No half pair is left after a
 * failure. */
static int make_all(struct shmx_pair *p, mode_t mode, const struct pair_names *n)
{
	int err;

	err = make_sem(n->sem[W], 1, mode, &p->sem[W]);
	if (!err)
		err = make_sem(n->sem[R], 0, mode, &p->sem[R]);
	if (!err)
		err = make_ctl(n->ctl, mode, &p->ctl);
	if (!err) {
		bind_named(p);
		err = attach(p);
	}
	if (err)
		discard_all(p);
	return err;
}

SHMX_EXPORT int shmx_pair_create(struct shmx_region *r, unsigned flags, mode_t mode,
				 struct shmx_pair **ret)
{
	struct pair_names n;
	struct shmx_pair *p;
	int err;

	if (!r || !ret || bad_role(flags) || (mode & ~(mode_t)0777))
		return -EINVAL;
	err = pair_start(r, flags, &n, &p);
	if (err)
		return err;
	err = lock_owner(p);
	if (err)
		goto fail;
	err = make_all(p, mode ? mode : 0600, &n);
	if (err)
		goto unlock;
	p->owner = true;
	*ret = p;
	return 0;
unlock:
	shmx__slot_unlock(p->fd, own_slot(p));
	shmx__slot_unlock(p->fd, SHMX_SLOT_OWNER);
fail:
	pair_free(p);
	return err;
}

/* Files of the region's owner, or of the caller (who may have made them
 * for a region created by someone else). */
static int open_all(struct shmx_pair *p, const struct pair_names *n)
{
	struct stat s;
	int err;

	if (fstat(p->fd, &s) < 0)
		return -errno;
	err = open_ctl(n->ctl, s.st_uid, &p->ctl);
	if (!err)
		err = open_file(n->sem[W], sizeof(sem_t), s.st_uid, &p->sem[W]);
	if (!err)
		err = open_file(n->sem[R], sizeof(sem_t), s.st_uid, &p->sem[R]);
	return err;
}

/* Take our role in an existing pair: our slot, then the owner must be
 * alive. */
static int join(struct shmx_pair *p)
{
	int err, held;

	err = shmx__slot_lock(p->fd, own_slot(p));
	if (err)
		return err;     /* our slot is not ours: never unlock it */
	held = shmx__slot_held(p->fd, SHMX_SLOT_OWNER);
	err = held < 0 ? held : held == 0 ? -EOWNERDEAD : attach(p);
	if (err)
		shmx__slot_unlock(p->fd, own_slot(p));
	return err;
}

/* The control object first: while the creator is still building the pair
 * an opener gets -ENOENT (retry), not a misleading dead owner. */
SHMX_EXPORT int shmx_pair_open(struct shmx_region *r, unsigned flags,
			       struct shmx_pair **ret)
{
	struct pair_names n;
	struct shmx_pair *p;
	int err;

	if (!r || !ret || bad_role(flags))
		return -EINVAL;
	err = pair_start(r, flags, &n, &p);
	if (err)
		return err;
	err = open_all(p, &n);
	if (!err) {
		bind_named(p);
		err = join(p);
	}
	if (err) {
		pair_free(p);
		return err;
	}
	*ret = p;
	return 0;
}

/* ---- anonymous pairs: one sealed memfd, no name ---- */

/* The anonymous pair's object, as the turn code sees it. The control lock
 * is on our own description of it, as our slots are (other bytes). */
static void bind_anon(struct shmx_pair *p, struct shmx_region *m)
{
	struct anon_pair *a = m->addr;

	p->mem = m;
	p->may[W] = &a->sem[W];
	p->may[R] = &a->sem[R];
	p->control = &a->ctl;
	p->ctl_fd = p->fd;
}

/* Semaphores complete before the magic that vouches for them. */
static int anon_init(struct anon_pair *a)
{
	if (sem_init(&a->sem[W], 1, 1) < 0 || sem_init(&a->sem[R], 1, 0) < 0)
		return -errno;
	init_ctl(&a->ctl);
	return 0;
}

/* The creator's handle: the object is fresh and nobody else holds it, so
 * its slots and role are free. On failure m is still the caller's. */
static int anon_own(struct shmx_region *m, unsigned flags, struct shmx_pair **ret)
{
	struct shmx_pair *p;
	int err = anon_init(m->addr);

	if (!err)
		err = pair_new(m, flags, &p);
	if (err)
		return err;
	bind_anon(p, m);
	err = lock_owner(p);
	if (!err)
		err = attach(p);
	if (err) {
		p->mem = NULL;  /* pair_free closes p->fd: the locks go with it */
		pair_free(p);
		return err;
	}
	p->owner = true;
	*ret = p;
	return 0;
}

SHMX_EXPORT int shmx_pair_create_anon(unsigned flags, struct shmx_pair **ret)
{
	struct shmx_region *m;
	int err;

	if (!ret || bad_role(flags))
		return -EINVAL;
	err = shmx_anon_create(sizeof(struct anon_pair), SHMX_MAP, &m);
	if (err)
		return err;
	err = anon_own(m, flags, ret);
	if (err)
		shmx_close(m);
	return err;
}

/* A mapping of our own of r's object (never through r: see pair_new()),
 * checked before it is mapped: a pair's exact size, then its identity. */
static int anon_map(const struct shmx_region *r, struct shmx_region **ret)
{
	struct shmx_region *m;
	struct stat s;
	int fd, err;

	fd = shmx__reopen(r);
	if (fd < 0)
		return fd;
	err = shmx__neg(fstat(fd, &s));
	if (!err && (!S_ISREG(s.st_mode) || s.st_size != sizeof(struct anon_pair)))
		err = -EBADMSG;
	if (!err)
		err = shmx__region_new(r->kind, fd, r->name, SHMX_MAP,
				       (size_t)s.st_size, &m);
	if (err) {
		close(fd);
		return err;
	}
	err = check_ctl(m->addr);
	if (err) {
		shmx_close(m);
		return err;
	}
	*ret = m;
	return 0;
}

SHMX_EXPORT int shmx_pair_attach(const struct shmx_region *r, unsigned flags,
				 struct shmx_pair **ret)
{
	struct shmx_region *m;
	struct shmx_pair *p;
	int err;

	if (!r || !ret || bad_role(flags))
		return -EINVAL;
	if (r->kind == SHMX__SYSV)
		return -EOPNOTSUPP;     /* no descriptor to lock */
	if (r->flags & SHMX_RDONLY)
		return -EBADF;
	err = anon_map(r, &m);
	if (err)
		return err;
	err = pair_new(m, flags, &p);
	if (err) {
		shmx_close(m);
		return err;
	}
	bind_anon(p, m);
	err = join(p);
	if (err) {
		pair_free(p);
		return err;
	}
	*ret = p;
	return 0;
}

SHMX_EXPORT struct shmx_region *shmx_pair_region(const struct shmx_pair *p)
{
	return p ? p->mem : NULL;
}

/* A turn we hold goes back to our role's semaphore, where a successor in
 * our role finds it; then the peer is told we closed (-EPIPE, not
 * -EOWNERDEAD). */
static void leave(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	struct timespec dl;

	shmx__deadline(CLOSE_MS, &dl);
	if (ctl_lock(p, &dl))
		return; /* the peer will see a death: the best we can do */
	if (p->holding) {
		st(&c->turn, p->role == W ? IN_W : IN_R);
		sem_post(own_sem(p));
		p->holding = false;
	}
	st(&c->state[p->role], p->gen << GEN_SHIFT | CLOSED);
	ctl_unlock(p);
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
	return pair_free(p);
}

SHMX_EXPORT int shmx_pair_unlink(const char *name)
{
	struct pair_names n;
	int err, res = -ENOENT;
	const char *all[3];

	err = make_names(name, &n);
	if (err)
		return err;
	all[0] = n.sem[W];
	all[1] = n.sem[R];
	all[2] = n.ctl;
	for (int i = 0; i < 3; i++) {
		err = shmx__neg(shm_unlink(all[i]));
		if (err == -ENOENT)
			continue;
		if (res == -ENOENT || (res == 0 && err))
			res = err;
	}
	return res;
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
		err = ctl_lock(p, dl);
	if (err) {
		/* Give the turn back: the caller must not touch the region. */
		sem_post(own_sem(p));
		return err;
	}
	st(&ctl_of(p)->turn, p->role == W ? W_HOLD : R_HOLD);
	ctl_unlock(p);
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
	int err = ctl_lock(p, dl);

	if (err)
		return err;
	recover(p);
	err = peer_gone(p);
	ctl_unlock(p);
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
		err = ctl_lock(p, NULL);
	if (err)
		return err;
	st(&ctl_of(p)->turn, p->role == W ? IN_R : IN_W);
	err = shmx__neg(sem_post(peer_sem(p)));
	if (err)
		st(&ctl_of(p)->turn, p->role == W ? W_HOLD : R_HOLD);
	else
		p->holding = false;
	ctl_unlock(p);
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
