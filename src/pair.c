/* SPDX-License-Identifier: MIT */
/* The semaphore pair: the classic two-semaphore handoff ("writer may write"
 * starts at 1, "reader may read" starts at 0), made safe. Every wait has a
 * deadline, and a waiter notices a dead peer through the liveness slots of
 * the region (OFD locks the kernel drops when a process dies). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Liveness is polled between slices of this length: a dead peer is noticed
 * within about this long, at a cost of one fcntl per slice. */
#define SLICE_MS 15
/* "/name" + ".shmx-w" + NUL */
#define SEM_BUF (SHMX__NAME_BUF + 8)

struct shmx_pair {
	sem_t *wait_sem;        /* the one we wait on: our turn */
	sem_t *post_sem;        /* the one we post: the peer's turn */
	int fd;                 /* own open file description: our slot locks */
	unsigned slot;          /* our role slot */
	unsigned peer_slot;
	off_t size;             /* object size at attach, to notice truncation */
	unsigned initial;       /* tokens we own at start (writer creator: 1) */
	bool owner;
	bool seen;              /* the peer has been seen alive */
	bool holding;           /* we have the turn */
	bool posted;            /* we have posted at least once */
};

static int sem_names(const char *region, char *w, char *r)
{
	char canon[SHMX__NAME_BUF];
	int err;

	err = shmx__name(region, SHMX_PAIR_NAME_MAX, canon);
	if (err)
		return err;
	snprintf(w, SEM_BUF, "%s.shmx-w", canon);
	snprintf(r, SEM_BUF, "%s.shmx-r", canon);
	return 0;
}

static bool bad_role(unsigned flags)
{
	return flags != SHMX_PAIR_WRITER && flags != SHMX_PAIR_READER;
}

/* sem_open's mode goes through the umask. glibc keeps "/x" as
 * /dev/shm/sem.x; open that without following links and fchmod it. */
static int fix_mode(const char *sem, mode_t mode)
{
	char path[SHMX__PATH_BUF];
	int fd, err;

	shmx__path(sem, true, path);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = shmx__neg(fchmod(fd, mode));
	close(fd);
	return err;
}

/* O_EXCL: glibc's open-existing path adopts any file at the name, so a
 * planted sem.NAME must fail the create, never be used. */
static int sem_make(const char *name, unsigned value, mode_t mode, sem_t **ret)
{
	sem_t *s;
	int err;

	s = sem_open(name, O_CREAT | O_EXCL, mode, value);
	if (s == SEM_FAILED)
		return -errno;
	err = fix_mode(name, mode);
	if (err) {
		sem_close(s);
		sem_unlink(name);
		return err;
	}
	*ret = s;
	return 0;
}

static int sem_get(const char *name, sem_t **ret)
{
	sem_t *s = sem_open(name, 0);

	if (s == SEM_FAILED)
		return -errno;
	*ret = s;
	return 0;
}

static struct shmx_pair *pair_free(struct shmx_pair *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->wait_sem)
		sem_close(p->wait_sem);
	if (p->post_sem)
		sem_close(p->post_sem);
	free(p);
	return NULL;
}

/* The handle, with an open file description of its own for the region's
 * object (its locks outlive a shmx_close of the region and do not mix with
 * another handle's on the same region) and the object's size. */
static int pair_new(struct shmx_region *r, unsigned flags, struct shmx_pair **ret)
{
	struct shmx_pair *p;
	struct stat st;

	if (r->flags & SHMX_RDONLY)
		return -EBADF;  /* OFD write locks need a writable fd */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = shmx__reopen(r);
	if (p->fd < 0 || fstat(p->fd, &st) < 0) {
		int err = p->fd < 0 ? p->fd : -errno;

		pair_free(p);
		return err;
	}
	p->size = st.st_size;
	p->slot = flags == SHMX_PAIR_WRITER ? SHMX_SLOT_WRITER : SHMX_SLOT_READER;
	p->peer_slot = flags == SHMX_PAIR_WRITER ? SHMX_SLOT_READER : SHMX_SLOT_WRITER;
	*ret = p;
	return 0;
}

/* Which semaphore is ours: the writer waits on "may write" (w). */
static void assign(struct shmx_pair *p, unsigned flags, sem_t *w, sem_t *r)
{
	p->wait_sem = flags == SHMX_PAIR_WRITER ? w : r;
	p->post_sem = flags == SHMX_PAIR_WRITER ? r : w;
}

static int lock_owner(struct shmx_pair *p)
{
	int err = shmx__slot_lock(p->fd, SHMX_SLOT_OWNER);

	if (err)
		return err;
	err = shmx__slot_lock(p->fd, p->slot);
	if (err)
		shmx__slot_unlock(p->fd, SHMX_SLOT_OWNER);
	return err;
}

static int make_both(struct shmx_pair *p, unsigned flags, mode_t mode,
		     const char *wname, const char *rname)
{
	sem_t *w = NULL, *r = NULL;
	int err;

	err = sem_make(wname, 1, mode, &w);
	if (err)
		return err;
	err = sem_make(rname, 0, mode, &r);
	if (err) {
		/* No half pair: the first one goes too. */
		sem_close(w);
		sem_unlink(wname);
		return err;
	}
	assign(p, flags, w, r);
	return 0;
}

/* What create and open share: the semaphore names and a fresh handle. */
static int pair_start(struct shmx_region *r, unsigned flags, char *wname, char *rname,
		      struct shmx_pair **ret)
{
	int err = sem_names(r->name, wname, rname);

	return err ? err : pair_new(r, flags, ret);
}

SHMX_EXPORT int shmx_pair_create(struct shmx_region *r, unsigned flags, mode_t mode,
				 struct shmx_pair **ret)
{
	char wname[SEM_BUF], rname[SEM_BUF];
	struct shmx_pair *p;
	int err;

	if (!r || !ret || bad_role(flags) || (mode & ~(mode_t)0777))
		return -EINVAL;
	err = pair_start(r, flags, wname, rname, &p);
	if (err)
		return err;
	err = lock_owner(p);
	if (err)
		goto fail;
	err = make_both(p, flags, mode ? mode : 0600, wname, rname);
	if (err)
		goto unlock;
	p->owner = true;
	p->initial = flags == SHMX_PAIR_WRITER;
	*ret = p;
	return 0;
unlock:
	shmx__slot_unlock(p->fd, p->slot);
	shmx__slot_unlock(p->fd, SHMX_SLOT_OWNER);
fail:
	pair_free(p);
	return err;
}

static int open_both(struct shmx_pair *p, unsigned flags, const char *wname,
		     const char *rname)
{
	sem_t *w = NULL, *r = NULL;
	int err;

	err = sem_get(wname, &w);
	if (err)
		return err;
	err = sem_get(rname, &r);
	if (err) {
		sem_close(w);
		return err;
	}
	assign(p, flags, w, r);
	return 0;
}

/* The semaphores first: while the creator is still building the pair an
 * opener gets -ENOENT (retry), not a misleading dead owner. */
SHMX_EXPORT int shmx_pair_open(struct shmx_region *r, unsigned flags,
			       struct shmx_pair **ret)
{
	char wname[SEM_BUF], rname[SEM_BUF];
	struct shmx_pair *p;
	int err, held;

	if (!r || !ret || bad_role(flags))
		return -EINVAL;
	err = pair_start(r, flags, wname, rname, &p);
	if (err)
		return err;
	err = open_both(p, flags, wname, rname);
	if (!err)
		err = shmx__slot_lock(p->fd, p->slot);
	if (err)
		goto fail;
	held = shmx__slot_held(p->fd, SHMX_SLOT_OWNER);
	if (held <= 0) {
		err = held < 0 ? held : -EOWNERDEAD;
		goto unlock;
	}
	p->seen = true;  /* our peer is the owner, alive right now */
	*ret = p;
	return 0;
unlock:
	shmx__slot_unlock(p->fd, p->slot);
fail:
	pair_free(p);
	return err;
}

SHMX_EXPORT struct shmx_pair *shmx_pair_close(struct shmx_pair *p)
{
	if (!p)
		return NULL;
	/* Unlock explicitly: a child forked meanwhile shares this open file
	 * description, and closing our descriptor alone would leave the
	 * locks to it. */
	shmx__slot_unlock(p->fd, p->slot);
	if (p->owner)
		shmx__slot_unlock(p->fd, SHMX_SLOT_OWNER);
	return pair_free(p);
}

SHMX_EXPORT int shmx_pair_unlink(const char *name)
{
	char wname[SEM_BUF], rname[SEM_BUF];
	int err, ew, er;

	err = sem_names(name, wname, rname);
	if (err)
		return err;
	ew = shmx__neg(sem_unlink(wname));
	er = shmx__neg(sem_unlink(rname));
	if (ew == -ENOENT && er == -ENOENT)
		return -ENOENT;
	if (ew && ew != -ENOENT)
		return ew;
	if (er && er != -ENOENT)
		return er;
	return 0;
}

static int check_size(const struct shmx_pair *p)
{
	struct stat st;

	if (fstat(p->fd, &st) < 0)
		return -errno;
	return st.st_size < p->size ? -EFAULT : 0;
}

/* We hold a token now. A token the peer posted proves it was there; only
 * the writer-creator starts with one of its own. */
static int took(struct shmx_pair *p)
{
	int err = check_size(p);

	if (err) {
		/* Give the turn back: the caller must not touch the region. */
		sem_post(p->wait_sem);
		return err;
	}
	if (p->initial)
		p->initial--;
	else
		p->seen = true;
	p->holding = true;
	return 0;
}

/* A peer may attach, take our turn and die between two of our looks at
 * its slot. Only the peer waits on the semaphore we post, so if it is
 * back at 0 after our post, the peer was there. */
static bool taken(struct shmx_pair *p)
{
	int v;

	return p->posted && sem_getvalue(p->post_sem, &v) == 0 && v == 0;
}

/* 0 if the peer is alive or not yet seen, -EOWNERDEAD if seen and gone. */
static int peer_check(struct shmx_pair *p)
{
	int held = shmx__slot_held(p->fd, p->peer_slot);

	if (held < 0)
		return held;
	if (held) {
		p->seen = true;
		return 0;
	}
	if (!p->seen && !taken(p))
		return 0;
	/* What it posted before dying is still ours to take. */
	return sem_trywait(p->wait_sem) == 0 ? 1 : -EOWNERDEAD;
}

static int wait_slow(struct shmx_pair *p, int timeout_ms)
{
	struct timespec dl, until;
	int err;

	shmx__deadline(timeout_ms, &dl);
	for (;;) {
		err = peer_check(p);
		if (!err)
			err = check_size(p);
		if (err)
			return err > 0 ? took(p) : err;
		if (shmx__expired(&dl))
			return timeout_ms ? -ETIMEDOUT : -EAGAIN;
		shmx__slice(&dl, SLICE_MS, &until);
		if (sem_clockwait(p->wait_sem, CLOCK_MONOTONIC, &until) == 0)
			return took(p);
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
	/* Fast path: a token is there, no clock, no liveness check. */
	if (sem_trywait(p->wait_sem) == 0)
		return took(p);
	if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return wait_slow(p, timeout_ms);
}

SHMX_EXPORT int shmx_pair_post(struct shmx_pair *p)
{
	int err;

	if (!p)
		return -EINVAL;
	if (!p->holding)
		return -EPERM;  /* posting a turn we do not have breaks the count */
	err = check_size(p);
	if (err)
		return err;
	err = shmx__neg(sem_post(p->post_sem));
	if (!err) {
		p->holding = false;
		p->posted = true;
	}
	return err;
}
