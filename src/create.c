/* SPDX-License-Identifier: MIT */
/* The two-step create behind every create of a named object (a region, a
 * channel, a pair's files, a file region): the object is built complete
 * and unnamed (O_TMPFILE in its directory: sized, mode exact, pages
 * reserved, a header written by the caller), then linked in under its name
 * last, -EEXIST if the name exists by then. A creator killed at any point
 * before that leaves nothing behind. Where the unnamed object could not be
 * named afterwards, it is built under its name with O_EXCL and removed
 * again after a failure. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SHM_DIR "/dev/shm"

/* How link_hidden() names an unnamed file: linkat(AT_EMPTY_PATH), or
 * through /proc/self/fd; ROUTE_UNKNOWN until a probe or a link tells. */
enum { ROUTE_UNKNOWN, ROUTE_EMPTY_PATH, ROUTE_PROC };

/* What the probe learned for /dev/shm, for this process: every region,
 * channel and pair object is made there, and the probe was one syscall of
 * eight per create. A link that finds no route any more (a capability
 * dropped, /proc unmounted) forgets it, and the next create probes again. */
static int shm_route;

void shmx__unlink_if_same(const char *path, int fd)
{
	struct stat a, b;

	/* Someone may have replaced our half-made object by now: only remove
	 * the name if it still leads to the inode we created. */
	if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		unlink(path);
}

/* Size and reserve a fresh object. It was created with mode 0 and is
 * fchmod'ed here: nobody but us (and root) could open it in between, and the
 * umask has no say. Reserving the pages of an empty file sizes it too
 * (posix_fallocate extends it): ftruncate only for a lazy one. */
static int init_fd(int fd, size_t size, unsigned flags, mode_t mode)
{
	int err = shmx__neg(fchmod(fd, mode));

	if (!err && (flags & SHMX_LAZY))
		err = shmx__neg(ftruncate(fd, (off_t)size));
	else if (!err)
		err = shmx__reserve(fd, 0, (off_t)size);
	return err;
}

static bool link_refused(int err)
{
	return err == ENOENT || err == EPERM;
}

/* Give the unnamed object behind fd the name path. linkat fails with
 * EEXIST if the name exists: O_EXCL semantics. AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH before Linux 6.10 (ENOENT without it); the
 * /proc/self/fd route works wherever /proc is mounted. *route says which
 * to take first, and learns which took fd (even to fail with EEXIST). */
static int link_hidden(int fd, const char *path, int *route)
{
	char self[64];
	int r = __atomic_load_n(route, __ATOMIC_RELAXED), e;

	if (r != ROUTE_PROC) {
		e = linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) ? errno : 0;
		if (!link_refused(e)) {
			__atomic_store_n(route, ROUTE_EMPTY_PATH, __ATOMIC_RELAXED);
			return -e;
		}
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	e = linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) ? errno : 0;
	/* Neither route (or none any more): forget what was learned. */
	__atomic_store_n(route, link_refused(e) ? ROUTE_UNKNOWN : ROUTE_PROC,
			 __ATOMIC_RELAXED);
	return -e;
}

/* Whether link_hidden() can name fd at all. Aimed at dir itself, which
 * exists, it fails with EEXIST once a route accepted fd, and with ENOENT
 * when none does (an older kernel without the capability, and no /proc:
 * a container, a chroot). Nothing is created either way. */
static bool can_publish(int fd, const char *dir, int *route)
{
	return link_hidden(fd, dir, route) == -EEXIST;
}

static int *route_of(const char *dir, int *local)
{
	*local = ROUTE_UNKNOWN;
	return strcmp(dir, SHM_DIR) ? local : &shm_route;
}

/* An unnamed file in dir (O_TMPFILE): whatever happens before
 * shmx__publish_at() links it in, even kill -9, leaves nothing behind. -1
 * when the kernel or file system cannot make one, or this process could
 * not name it afterwards; the caller then builds under the name. Probed
 * unless this process knows a route for /dev/shm already (shm_route). */
static int open_hidden(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0), local;
	int *route = route_of(dir, &local);

	if (fd >= 0 && __atomic_load_n(route, __ATOMIC_RELAXED) == ROUTE_UNKNOWN &&
	    !can_publish(fd, dir, route)) {
		close(fd);
		return -1;
	}
	return fd;
}

int shmx__create_at(const char *dir, const char *path, size_t size, unsigned flags,
		    mode_t mode, struct shmx_region **ret)
{
	struct shmx_region *r;
	struct stat st;
	bool hidden;
	int fd, err;

	/* Fail fast: the link decides in the end, but an existing name should
	 * not cost a large reservation first (small ones are cheaper than the
	 * extra lookup). */
	if (size >= (1u << 20) && lstat(path, &st) == 0)
		return -EEXIST;
	fd = open_hidden(dir);
	hidden = fd >= 0;
	if (!hidden)
		fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return -errno;
	err = init_fd(fd, size, flags, mode);
	if (!err)
		err = shmx__region_new(SHMX__POSIX, fd, "", flags, size, &r);
	if (err) {
		if (!hidden)
			shmx__unlink_if_same(path, fd);
		close(fd);
		return err;
	}
	if (!hidden)
		strcpy(r->path, path);
	r->built_unnamed = hidden;
	*ret = r;
	return 0;
}

/* The directory part of path, into dir (of PATH_MAX bytes). */
static void dir_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

	memcpy(dir, slash ? path : ".", slash ? n : 1);
	dir[slash ? n : 1] = 0;
}

/* A descriptor of r's object opened by its name, or -1: the name may have
 * gone or lead elsewhere by now, or not let us open it (its mode). Only
 * the same inode will do. */
int shmx__named_fd(const struct shmx_region *r)
{
	int fd, flags = (r->flags & SHMX_RDONLY) ? O_RDONLY : O_RDWR;
	struct stat a, b;

	if (!r->built_unnamed || !r->path[0])
		return -1;
	fd = open(r->path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &a) == 0 && fstat(r->fd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return fd;
	close(fd);
	return -1;
}

/* A mapping made through the unnamed file's descriptor shows in
 * /proc/PID/maps as "/dev/shm/#INODE (deleted)" for its whole life: lsof
 * says DEL, restart checkers flag the process, stat cannot match it by
 * name. Once the object has its name, map it again through a descriptor
 * opened by that name, moved onto the same address (pointers into it stay
 * valid; mremap replaces the old mapping in one step, and leaves it as it
 * was on failure). r->fd stays: the liveness locks belong to it. */
static void map_by_name(struct shmx_region *r)
{
	int prot = (r->flags & SHMX_RDONLY) ? PROT_READ : PROT_READ | PROT_WRITE;
	int mflags = MAP_SHARED | ((r->flags & SHMX_POPULATE) ? MAP_POPULATE : 0);
	int fd = shmx__named_fd(r);
	void *p;

	if (fd < 0)
		return;
	p = mmap(NULL, r->size, prot, mflags, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return;
	if (mremap(p, r->size, r->size, MREMAP_MAYMOVE | MREMAP_FIXED, r->addr) == MAP_FAILED)
		munmap(p, r->size);
}

int shmx__publish_at(struct shmx_region *r, const char *path)
{
	char dir[PATH_MAX];
	int err, local, *route;
	bool known;

	if (r->path[0])         /* created named: nothing to do */
		return 0;
	dir_of(path, dir);
	route = route_of(dir, &local);
	known = __atomic_load_n(route, __ATOMIC_RELAXED) != ROUTE_UNKNOWN;
	err = link_hidden(r->fd, path, route);
	/* The route this process knew is gone (its probe was skipped): the
	 * caller may build the object again, which probes. */
	if (err && known && link_refused(-err))
		return -ESTALE;
	if (err)
		return err;
	strcpy(r->path, path);
	if (r->addr && r->kind != SHMX__SYSV)
		map_by_name(r);
	return 0;
}

int shmx__create(const char *canon, size_t size, unsigned flags, mode_t mode,
		 struct shmx_region **ret)
{
	char path[SHMX__PATH_BUF];
	struct shmx_region *r;
	int err;

	shmx__path(canon, false, path);
	err = shmx__create_at(SHM_DIR, path, size, flags, mode, &r);
	if (err)
		return err;
	if (r->path[0])
		strcpy(r->name, canon);
	*ret = r;
	return 0;
}

int shmx__publish(struct shmx_region *r, const char *canon)
{
	char path[SHMX__PATH_BUF];
	int err;

	shmx__path(canon, false, path);
	err = shmx__publish_at(r, path);
	if (!err)
		strcpy(r->name, canon);
	return err;
}

/* Undo shmx__create() after a failure (published or not). */
void shmx__discard(struct shmx_region *r)
{
	if (!r)
		return;
	if (r->path[0])
		shmx__unlink_if_same(r->path, r->fd);
	r->flags &= ~SHMX_UNLINK_ON_CLOSE;
	shmx_close(r);
}

