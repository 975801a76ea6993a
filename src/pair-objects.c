/* SPDX-License-Identifier: MIT */
/* What a pair's turn lives in: a named pair's three files (two glibc
 * semaphore files and the control object, each built complete and
 * unnamed, then linked in, and checked before use when opened) or an
 * anonymous pair's one sealed memfd; creating, opening, attaching to and
 * removing them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pair.h"

int shmx__pair_names(const char *region, struct pair_names *n)
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

/* A fresh (zeroed) control block: the turn in "may write"; its magic
 * (CTL_BUILDING while a named pair is being built) stored last. */
static void init_ctl(struct ctl *c, uint64_t magic)
{
	c->abi = CTL_ABI;
	c->turn = IN_W;
	__atomic_store_n(&c->magic, magic, __ATOMIC_RELEASE);
}

/* A pair being built (or a control object not yet marked at all) is no
 * pair yet: -ENOENT, as for a missing one, which the caller may retry. */
static int check_ctl(const struct ctl *c)
{
	uint64_t m = __atomic_load_n(&c->magic, __ATOMIC_ACQUIRE);

	if (m == CTL_BUILDING || m == 0)
		return -ENOENT;
	if (m != CTL_MAGIC)
		return -EBADMSG;
	return c->abi != CTL_ABI ? -EPROTONOSUPPORT : 0;
}

int shmx__pair_id_of(int fd, struct ctl_id *id)
{
	struct stat s;

	if (fstat(fd, &s) < 0)
		return -errno;
	id->dev = (uint64_t)s.st_dev;
	id->ino = (uint64_t)s.st_ino;
	return 0;
}

/* Whether fd is the file id names. */
static int is_file(int fd, const struct ctl_id *id)
{
	struct ctl_id got = { 0, 0 };
	int err = shmx__pair_id_of(fd, &got);

	if (err)
		return err;
	return got.dev == id->dev && got.ino == id->ino ? 0 : -ESTALE;
}

/* Like glibc's and musl's sem_open: a complete sem_t in an unnamed file of
 * the exact mode, then linked in (-EEXIST if the name exists); its
 * identity goes into the control object (*id) before the link, so that no
 * semaphore file of ours is ever named that no control object records.
 * Its page is reserved first: on a full /dev/shm, -ENOSPC rather than a
 * SIGBUS in sem_init. */
static int make_sem(const char *canon, unsigned value, mode_t mode, struct ctl_id *id,
		    struct shmx_region **ret)
{
	struct shmx_region *o;
	int err;

	err = shmx__create(canon, sizeof(sem_t), SHMX_MAP, mode, &o);
	if (err)
		return err;
	err = sem_init(o->addr, 1, value) < 0 ? -errno : shmx__pair_id_of(o->fd, id);
	if (err) {
		shmx__discard(o);
		return err;
	}
	return publish(o, canon, ret);
}

/* fd (mapped at addr for len bytes; addr NULL: not mapped) is where our
 * slots go: p->lk. Watched from before the first lock, so that a child
 * forked from then on holds none of them (shmx(7), KINDS; fork.c). */
static int lock_home(struct shmx_pair *p, int fd, void *addr, size_t len)
{
	int err = shmx__fork_watch(&p->fk, fd, addr, len, &p->error);

	if (!err)
		p->lk = fd;
	return err;
}

/* Before lk is closed: its number may be reused by anything. */
static void leave_home(struct shmx_pair *p)
{
	shmx__fork_unwatch(&p->fk);
	p->lk = -1;
}

static int lock_owner(struct shmx_pair *p)
{
	int err = shmx__slot_lock(p->lk, SHMX_SLOT_OWNER);

	if (err)
		return err;
	err = shmx__slot_lock(p->lk, own_slot(p));
	if (err)
		shmx__slot_unlock(p->lk, SHMX_SLOT_OWNER);
	return err;
}

/* The control object, first and in its building state, with our owner
 * and role slots locked on our own description of it before it is linked
 * in: nobody ever finds it without a live owner. Its mode gives read
 * permission only with write permission (shmx__lock_mode()): a user who
 * cannot take part cannot read-lock a slot. */
static int make_ctl(const char *canon, mode_t mode, struct shmx_pair *p)
{
	struct shmx_region *o;
	int err;

	err = shmx__create(canon, sizeof(struct ctl), SHMX_MAP, shmx__lock_mode(mode), &o);
	if (err)
		return err;
	err = shmx__pair_id_of(p->fd, &((struct ctl *)o->addr)->id[ID_REGION]);
	if (!err) {
		init_ctl(o->addr, CTL_BUILDING);
		err = lock_home(p, o->fd, o->addr, o->size);
	}
	if (err)
		goto discard;
	err = lock_owner(p);
	if (err)
		goto unwatch;
	err = shmx__publish(o, canon);
	if (err)
		goto unlock;
	p->ctl = o;
	return 0;
unlock:
	shmx__slot_unlock(p->lk, own_slot(p));
	shmx__slot_unlock(p->lk, SHMX_SLOT_OWNER);
unwatch:
	leave_home(p);
discard:
	shmx__discard(o);
	return err;
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

struct shmx_pair *shmx__pair_free(struct shmx_pair *p)
{
	shmx__fork_unwatch(&p->fk);
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

		shmx__pair_free(p);
		return err;
	}
	p->size = s.st_size;
	p->lk = -1;
	p->spin_ns = SPIN_NS;
	p->role = flags == SHMX_PAIR_WRITER ? W : R;
	*ret = p;
	return 0;
}

/* What create and open share: the names and a fresh handle. */
static int pair_start(struct shmx_region *r, unsigned flags, struct pair_names *n,
		      struct shmx_pair **ret)
{
	int err = shmx__pair_names(r->name, n);

	return err ? err : pair_new(r, flags, ret);
}


/* The named pair's files, as the turn code sees them. */
static void bind_named(struct shmx_pair *p)
{
	const struct shmx_region *o[3] = { p->sem[W], p->sem[R], p->ctl };
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	p->may[W] = p->sem[W]->addr;
	p->may[R] = p->sem[R]->addr;
	p->control = p->ctl->addr;
	/* One guarded span over the three mappings: only the pair's code
	 * runs in it, and it touches nothing else there. */
	for (int i = 0; i < 3; i++) {
		uintptr_t a = (uintptr_t)o[i]->addr;

		lo = a < lo ? a : lo;
		hi = a + o[i]->size > hi ? a + o[i]->size : hi;
	}
	p->span = (const void *)lo;
	p->span_len = hi - lo;
}

/* After a failure: the semaphores first, the control object (and our
 * slots on it) last, as shmx_pair_unlink() does. */
static void discard_all(struct shmx_pair *p)
{
	shmx__discard(p->sem[R]);
	shmx__discard(p->sem[W]);
	if (p->ctl) {
		shmx__slot_unlock(p->lk, own_slot(p));
		shmx__slot_unlock(p->lk, SHMX_SLOT_OWNER);
	}
	leave_home(p);
	shmx__discard(p->ctl);
	p->ctl = p->sem[R] = p->sem[W] = NULL;
}

/* The control object first (building), then each semaphore file, its
 * identity recorded before it is named; the final magic once both are
 * there and we are attached. An opener gets -ENOENT (retry) until then. No
 * half pair is left after a failure (a creator killed midway leaves one
 * that shmx gc recognises by its control object). */
static int make_all(struct shmx_pair *p, mode_t mode, const struct pair_names *n)
{
	struct ctl *c;
	int err;

	err = make_ctl(n->ctl, mode, p);
	if (err)
		return err;
	c = p->ctl->addr;
	err = make_sem(n->sem[W], 1, mode, &c->id[ID_SEM_W], &p->sem[W]);
	if (!err)
		err = make_sem(n->sem[R], 0, mode, &c->id[ID_SEM_R], &p->sem[R]);
	if (!err) {
		bind_named(p);
		err = shmx__pair_attach(p);
	}
	if (err) {
		discard_all(p);
		return err;
	}
	__atomic_store_n(&c->magic, CTL_MAGIC, __ATOMIC_RELEASE);
	return 0;
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
	err = make_all(p, mode ? mode : 0600, &n);
	if (err) {
		shmx__pair_free(p);
		return err;
	}
	p->owner = true;
	*ret = p;
	return 0;
}

/* Files of the region's owner, or of the caller (who may have made them
 * for a region created by someone else), and the files the control
 * object names: this region and these semaphores, or -ESTALE. */
static int open_all(struct shmx_pair *p, const struct pair_names *n)
{
	struct stat s;
	struct ctl *c;
	int err;

	if (fstat(p->fd, &s) < 0)
		return -errno;
	err = open_ctl(n->ctl, s.st_uid, &p->ctl);
	if (err)
		return err;
	c = p->ctl->addr;
	err = is_file(p->fd, &c->id[ID_REGION]);
	if (!err)
		err = open_file(n->sem[W], sizeof(sem_t), s.st_uid, &p->sem[W]);
	if (!err)
		err = is_file(p->sem[W]->fd, &c->id[ID_SEM_W]);
	if (!err)
		err = open_file(n->sem[R], sizeof(sem_t), s.st_uid, &p->sem[R]);
	if (!err)
		err = is_file(p->sem[R]->fd, &c->id[ID_SEM_R]);
	return err;
}

static void close_all(struct shmx_pair *p)
{
	leave_home(p);
	p->ctl = shmx_close(p->ctl);
	p->sem[W] = shmx_close(p->sem[W]);
	p->sem[R] = shmx_close(p->sem[R]);
}

/* Files of two pairs (one being removed and made again while we open):
 * look again, a while; a mix that stays (a handle of an earlier region,
 * files someone put together) is -ESTALE. A pair being made or removed
 * has no control object yet or any more: -ENOENT. */
static int open_pair(struct shmx_pair *p, const struct pair_names *n)
{
	const struct timespec nap = { 0, OPEN_NAP_NS };
	int err;

	for (int i = 0;; i++) {
		err = open_all(p, n);
		if (err != -ESTALE || i + 1 >= OPEN_TRIES)
			return err;
		close_all(p);
		nanosleep(&nap, NULL);
	}
}

/* Take our role in an existing pair: our slot, then the owner must be
 * alive. */
static int join(struct shmx_pair *p)
{
	int err, held;

	err = shmx__slot_lock(p->lk, own_slot(p));
	if (err)
		return err;     /* our slot is not ours: never unlock it */
	held = shmx__slot_held(p->lk, SHMX_SLOT_OWNER);
	err = held < 0 ? held : held == 0 ? -EOWNERDEAD : shmx__pair_attach(p);
	if (err)
		shmx__slot_unlock(p->lk, own_slot(p));
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
	err = open_pair(p, &n);
	if (!err) {
		bind_named(p);
		err = lock_home(p, p->ctl->fd, p->ctl->addr, p->ctl->size);
	}
	if (!err)
		err = join(p);
	if (err) {
		shmx__pair_free(p);
		return err;
	}
	*ret = p;
	return 0;
}

/* ---- anonymous pairs: one sealed memfd, no name ---- */

/* The anonymous pair's object, as the turn code sees it. Our slots are
 * on our own description of it (p->fd, not mapped: m maps another). */
static int bind_anon(struct shmx_pair *p, struct shmx_region *m)
{
	struct anon_pair *a = m->addr;

	p->mem = m;
	p->may[W] = &a->sem[W];
	p->may[R] = &a->sem[R];
	p->control = &a->ctl;
	p->span = m->addr;
	p->span_len = m->size;
	return lock_home(p, p->fd, NULL, 0);
}

/* Semaphores complete before the magic that vouches for them. */
static int anon_init(struct anon_pair *a)
{
	if (sem_init(&a->sem[W], 1, 1) < 0 || sem_init(&a->sem[R], 1, 0) < 0)
		return -errno;
	init_ctl(&a->ctl, CTL_MAGIC);
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
	err = bind_anon(p, m);
	if (!err)
		err = lock_owner(p);
	if (!err)
		err = shmx__pair_attach(p);
	if (err) {
		p->mem = NULL;  /* pair_free closes p->fd: the locks go with it */
		shmx__pair_free(p);
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
	err = bind_anon(p, m);
	if (!err)
		err = join(p);
	if (err) {
		shmx__pair_free(p);
		return err;
	}
	*ret = p;
	return 0;
}

SHMX_EXPORT struct shmx_region *shmx_pair_region(const struct shmx_pair *p)
{
	return p ? p->mem : NULL;
}
