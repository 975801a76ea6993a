/* SPDX-License-Identifier: MIT */
/* Channel: a ring of variable-length messages in a formatted region
 * (header layout in internal.h, described in docs/channel-format.md). This
 * file makes, opens and closes one; chan-attach.c takes a slot in it and
 * the calls of its shape; the ring itself is chan-ring.h, chan-walk.h and one file a
 * shape (chan.h lists them). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"

int shmx__chan_on_ring(struct shmx_chan *c, int (*fn)(struct shmx_chan *c))
{
	int err;

	ON_RING(err, c, fn(c));
	return err;
}


/* ---- attach, create, open, close ---- */

static bool bad_flags(unsigned flags, unsigned allowed)
{
	unsigned role = flags & ROLES;

	return (flags & ~allowed) ||
	       (role != SHMX_CHAN_PRODUCER && role != SHMX_CHAN_CONSUMER) ||
	       (flags & WAITS) == WAITS;
}

/* A new handle on r. Its descriptor holds our liveness locks from the
 * first one we take: a child forked from here on gets another in its
 * place, and the handle answers SHMX__FORKED there (fork.c). */
static struct shmx_chan *chan_new(struct shmx_region *r, unsigned flags)
{
	struct shmx_chan *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (shmx__fork_watch(&c->fk, shmx_fd(r), shmx_addr(r), shmx_size(r), &c->error)) {
		free(c);
		return NULL;
	}
	c->region = r;
	c->flags = flags;
	c->hdr = shmx_addr(r);
	c->map_size = shmx_size(r);
	return c;
}

static void chan_free(struct shmx_chan *c)
{
	if (!c)
		return;
	shmx__fork_unwatch(&c->fk);
	free(c);
}

static int write_header(struct shmx_chan *c)
{
	shmx__chan_write_header(c->hdr, &c->g);
	return 0;
}

/* The shape asked for, checked: 0 and *g, or -EINVAL. */
static int params_geometry(const struct shmx_chan_params *p, struct shmx__chan_geom *g)
{
	unsigned i;

	if (!p || (uint64_t)p->capacity > SHMX__CHAN_MAX_CAP)
		return -EINVAL;
	for (i = 0; i < sizeof(p->reserved) / sizeof(p->reserved[0]); i++)
		if (p->reserved[i])
			return -EINVAL;
	return shmx__chan_geometry(p->capacity, p->producers ? p->producers : 1,
				   p->consumers ? p->consumers : 1, p->policy, g);
}

/* The creator's part: the owner's slot and its role. The object is fresh
 * and nobody else holds it yet: no slot is taken. */
static int take_owner(struct shmx_chan *c)
{
	int err;

	err = shmx__slot_lock(shmx_fd(c->region), SHMX_SLOT_OWNER);
	if (!err)
		err = shmx__chan_attach(c);
	if (!err)
		c->owner = true;
	return err;
}

SHMX_EXPORT int shmx_chan_create_params(const char *name, const struct shmx_chan_params *p,
					unsigned flags, mode_t mode, struct shmx_chan **ret)
{
	char canon[SHMX__NAME_BUF];
	struct shmx__chan_geom g;
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL;
	int err;

	if (!ret || bad_flags(flags, CREATE_FLAGS) || (mode & ~(mode_t)0777))
		return -EINVAL;
	err = params_geometry(p, &g);
	if (err)
		return err;
	err = shmx__name(name, SHMX_NAME_MAX, canon);
	if (err)
		return err;
	/* Built unnamed and linked in only once the header is complete: an
	 * opener never sees a half-made channel, and a creator killed at any
	 * point before that leaves nothing behind. Where the object has to be
	 * built under its name (no O_TMPFILE), it keeps mode 0 until then:
	 * that is how an opener tells it from a finished object that is not a
	 * channel (unpublished()). */
	err = shmx__create(canon, g.header_size + g.capacity,
			   SHMX_POPULATE | (flags & SHMX_UNLINK_ON_CLOSE), 0, &r);
	if (err)
		return err;
	c = chan_new(r, flags & ~SHMX_UNLINK_ON_CLOSE);
	if (!c) {
		err = -ENOMEM;
		goto fail;
	}
	c->g = g;
	err = take_owner(c);
	if (err)
		goto fail;
	/* Named (the fallback), the object is visible: the guard covers us. */
	err = shmx__chan_on_ring(c, write_header);
	/* Read permission only with write: a reader could hold a liveness
	 * slot with a read lock (shmx__lock_mode()). */
	if (!err)
		err = shmx__neg(fchmod(shmx_fd(r), shmx__lock_mode(mode ? mode : 0600)));
	if (!err)
		err = shmx__publish(r, canon);
	if (err)
		goto fail;
	*ret = c;
	return 0;
fail:
	chan_free(c);
	shmx__discard(r);
	return err;
}

SHMX_EXPORT int shmx_chan_create(const char *name, size_t capacity, unsigned flags,
				 mode_t mode, struct shmx_chan **ret)
{
	struct shmx_chan_params p = { .capacity = capacity };

	return shmx_chan_create_params(name, &p, flags, mode, ret);
}

/* Mode 0 is "not published yet": a channel's creator keeps its object at
 * mode 0 until the header is complete (shmx_chan_create()), and a
 * published channel never has mode 0 (0 means 0600 to create). Anything
 * else whose header is not a channel's is not one: -EBADMSG at once, so
 * open and stat agree, and an open with no timeout does not wait for a
 * header that nobody will write (unpublished() in chan.h). This: err from
 * opening name, where shm_open() refused (EACCES) or the object was empty
 * (ENODATA), as -ENODATA for a channel being created, -EBADMSG for an
 * empty object that is not one. */
int shmx__chan_classify(const char *name, int err)
{
	char canon[SHMX__NAME_BUF], path[SHMX__PATH_BUF];
	struct stat st;

	if ((err != -EACCES && err != -ENODATA) || shmx__name(name, SHMX_NAME_MAX, canon))
		return err;
	shmx__path(canon, false, path);
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unpublished(st.st_mode))
		return -ENODATA;
	return err == -ENODATA ? -EBADMSG : err;
}

/* A formatted object that anyone but us can write is under someone else's
 * control: not trusted unless the caller says so. */
static int check_object(struct shmx_region *r, unsigned flags)
{
	struct stat st;

	if (fstat(shmx_fd(r), &st) < 0)
		return -errno;
	if (unpublished(st.st_mode))
		return -ENODATA;
	if (!(flags & SHMX_ALLOW_SHARED) &&
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_uid != geteuid()))
		return -EACCES;
	/* The exact size is checked against the header (read_header()). */
	if ((uint64_t)st.st_size < SHMX__CHAN_HDR_MIN + SHMX__CHAN_MIN_CAP)
		return -EBADMSG;
	return 0;
}

/* shmx_open() and the checks that need no mapping. The mapping is lazy:
 * nothing is allocated before the header is known to be a channel's. */
static int open_region(const char *name, unsigned flags, struct shmx_region **r)
{
	int err = shmx__chan_classify(name, shmx_open(name, 0, r));

	if (err)
		return err;
	err = check_object(*r, flags);
	/* Truncated to nothing since: no channel (any more). */
	if (!err && (err = shmx_map(*r)) == -ENODATA)
		err = -EBADMSG;
	if (err)
		*r = shmx_close(*r);
	return err;
}

/* The header, copied once with pread(): a read(2) of a truncated object is
 * short, never a SIGBUS. Validated against the size we mapped. */
static int read_header(struct shmx_chan *c)
{
	struct shmx__chan_hdr copy;
	ssize_t n = pread(shmx_fd(c->region), &copy, sizeof(copy), 0);

	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(copy))
		return -EBADMSG;
	return shmx__chan_validate(&copy, c->map_size, &c->g);
}

/* Fault the ring in now rather than on the first lap; best effort. A
 * truncated range fails with EFAULT here, never a SIGBUS. */
static void populate(struct shmx_chan *c)
{
#ifdef MADV_POPULATE_WRITE
	(void)madvise(c->hdr, c->map_size, MADV_POPULATE_WRITE);
#else
	(void)c;
#endif
}

/* What every way into an existing channel shares once its object is open
 * and mapped: the header copied once and validated, our role taken, and
 * only then the ring faulted in. On failure the caller still owns r. */
static int attach_region(struct shmx_region *r, unsigned flags, struct shmx_chan **ret)
{
	struct shmx_chan *c = chan_new(r, flags & ~SHMX_ALLOW_SHARED);
	int err;

	if (!c)
		return -ENOMEM;
	err = read_header(c);
	if (!err)
		err = shmx__chan_attach(c);
	if (err) {
		chan_free(c);
		return err;
	}
	populate(c);
	*ret = c;
	return 0;
}

static int try_open(const char *name, unsigned flags, struct shmx_chan **ret)
{
	struct shmx_region *r;
	int err = open_region(name, flags, &r);

	if (err)
		return err;
	err = attach_region(r, flags, ret);
	if (err)
		shmx_close(r);
	return err;
}

static bool retryable(int err)
{
	return err == -ENOENT || err == -ENODATA;
}

SHMX_EXPORT int shmx_chan_open(const char *name, unsigned flags, int timeout_ms,
			       struct shmx_chan **ret)
{
	const struct timespec pause = { 0, OPEN_POLL_NS };
	struct timespec dl;
	int err;

	if (!ret || bad_flags(flags, OPEN_FLAGS))
		return -EINVAL;
	err = shmx__deadline(timeout_ms, &dl);
	if (err)
		return err;
	for (;;) {
		err = try_open(name, flags, ret);
		if (!retryable(err) || shmx__expired(&dl))
			break;
		nanosleep(&pause, NULL);
	}
	/* Present but never published within the timeout. */
	if (err == -ENODATA)
		err = timeout_ms ? -ETIMEDOUT : -EAGAIN;
	return err;
}

/* ---- channels in anonymous memory, or on any region handle ---- */

/* A handle of our own on r's object, checked as an opened object is before
 * it is mapped. Its open file description is ours alone: OFD locks belong
 * to the description, and r's may be shared with a process it was sent to
 * or a child that inherited it, which would then hold our slots after our
 * death, or take its own role on our description (then neither side could
 * see the other's lock). Never a dup(), for the same reason. */
static int own_region(const struct shmx_region *r, unsigned flags,
		      struct shmx_region **ret)
{
	struct shmx_region *o;
	int fd, err;

	if (r->kind == SHMX__SYSV)
		return -EOPNOTSUPP;     /* no descriptor to lock */
	if (r->flags & SHMX_RDONLY)
		return -EBADF;          /* OFD write locks need a writable fd */
	fd = shmx__reopen(r);
	if (fd < 0)
		return fd;
	err = shmx__region_new(r->kind, fd, r->name, 0, 0, &o);
	if (err) {
		close(fd);
		return err;
	}
	err = check_object(o, flags);
	if (err == -ENODATA)
		err = -EAGAIN;  /* a named channel not yet published */
	else if (!err && (err = shmx_map(o)) == -ENODATA)
		err = -EBADMSG;
	if (err) {
		shmx_close(o);
		return err;
	}
	*ret = o;
	return 0;
}

SHMX_EXPORT int shmx_chan_attach(const struct shmx_region *r, unsigned flags,
				 struct shmx_chan **ret)
{
	struct shmx_region *o;
	int err;

	if (!r || !ret || bad_flags(flags, OPEN_FLAGS))
		return -EINVAL;
	err = own_region(r, flags, &o);
	if (err)
		return err;
	err = attach_region(o, flags, ret);
	if (err)
		shmx_close(o);
	return err;
}

/* The memfd is only handed out (shmx_chan_region()); we work on a handle
 * of our own, so a process it is sent to or a child that inherits it holds
 * none of our locks. Nobody else can see the object before we return: the
 * header needs no publication step. */
SHMX_EXPORT int shmx_chan_create_anon_params(const struct shmx_chan_params *p,
					     unsigned flags, struct shmx_chan **ret)
{
	struct shmx_region *shared, *r;
	struct shmx__chan_geom g;
	struct shmx_chan *c;
	int err;

	if (!ret || bad_flags(flags, ANON_FLAGS))
		return -EINVAL;
	err = params_geometry(p, &g);
	if (err)
		return err;
	err = shmx_anon_create(g.header_size + g.capacity, 0, &shared);
	if (err)
		return err;
	err = own_region(shared, 0, &r);
	if (err)
		goto fail_shared;
	c = chan_new(r, flags);
	if (!c) {
		err = -ENOMEM;
		goto fail_region;
	}
	c->g = g;
	err = take_owner(c);
	if (!err)
		err = shmx__chan_on_ring(c, write_header);
	if (err)
		goto fail_chan;
	populate(c);
	c->shared = shared;
	*ret = c;
	return 0;
fail_chan:
	chan_free(c);
fail_region:
	shmx_close(r);
fail_shared:
	shmx_close(shared);
	return err;
}

SHMX_EXPORT int shmx_chan_create_anon(size_t capacity, unsigned flags,
				      struct shmx_chan **ret)
{
	struct shmx_chan_params p = { .capacity = capacity };

	return shmx_chan_create_anon_params(&p, flags, ret);
}

SHMX_EXPORT struct shmx_region *shmx_chan_region(const struct shmx_chan *c)
{
	if (!c)
		return NULL;
	return c->shared ? c->shared : c->region;
}

static int mark_closed(struct shmx_chan *c)
{
	/* A reservation never committed is no longer in flight: the room
	 * may pass it (consumers skip it once we are gone). One producer
	 * never sets it: storing its 0 again costs less than asking. */
	if (is_producer(c))
		__atomic_store_n(&c->me->resv, 0, __ATOMIC_RELAXED);
	__atomic_fetch_or(&c->me->state, SHMX__CHAN_CLOSED, __ATOMIC_RELEASE);
	return 0;
}

/* After "closed": a sleeping peer may sleep up to a slice before it looks
 * at our slot, a polling one would never look; the fence pairs with the
 * one in arm() (chan-wait.c). */
static int wake_peer(struct shmx_chan *c)
{
	struct shmx__chan_hdr *h = c->hdr;
	uint32_t *waiting = is_producer(c) ? &h->data_waiting : &h->space_waiting;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Acquire: a poller's "armed" is seen (shmx__chan_kick_slow()). */
	if (__atomic_exchange_n(waiting, 0, __ATOMIC_ACQUIRE) & WAIT_POLL)
		shmx__chan_poll_kick(c);
	shmx__chan_bump(is_producer(c) ? &h->data_seq : &h->space_seq);
	return 0;
}

/* "Closed" before the slot goes, so the peer reads a close, not a death;
 * the slots go whatever happens to the mapping. The header is written only
 * in guarded sections (a truncation between any check and the write would
 * SIGBUS), and not at all once the handle has seen a fault; without the
 * guard, a size check is the best we can do. */
static void leave(struct shmx_chan *c)
{
	int fd = shmx_fd(c->region), err = 0;

	if (c->error == -EFAULT || (!shmx__guard_on() && shmx__chan_truncated(c)))
		err = -EFAULT;
	if (!err)
		err = shmx__chan_on_ring(c, mark_closed);
	shmx__slot_unlock(fd, lock_byte(is_producer(c), c->slot));
	if (c->owner)
		shmx__slot_unlock(fd, SHMX_SLOT_OWNER);
	if (!err)
		shmx__chan_on_ring(c, wake_peer);
}

/* A handle inherited by a forked child is the parent's slot: its close
 * there only frees the child's copies (fork.c). */
SHMX_EXPORT struct shmx_chan *shmx_chan_close(struct shmx_chan *c)
{
	if (!c)
		return NULL;
	if (c->error != SHMX__FORKED)
		leave(c);
	shmx__fork_unwatch(&c->fk);
	shmx__poll_free(c->poll);
	for (unsigned k = 0; c->kicks && k < peer_count(c); k++)
		shmx__kick_free(c->kicks[k]);
	free(c->kicks);
	shmx_close(c->region);
	shmx_close(c->shared);
	free(c);
	return NULL;
}

SHMX_EXPORT int shmx_chan_unlink(const char *name)
{
	return shmx_unlink(name);
}
