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
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SHM_DIR "/dev/shm"

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
 * umask has no say. */
static int init_fd(int fd, size_t size, unsigned flags, mode_t mode)
{
	int err = shmx__neg(fchmod(fd, mode));

	if (!err)
		err = shmx__neg(ftruncate(fd, (off_t)size));
	if (!err && !(flags & SHMX_LAZY))
		err = shmx__reserve(fd, 0, (off_t)size);
	return err;
}

/* Give the unnamed object behind fd the name path. linkat fails with
 * EEXIST if the name exists: O_EXCL semantics. AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH before Linux 6.10 (ENOENT without it); the
 * /proc/self/fd route works wherever /proc is mounted. */
static int link_hidden(int fd, const char *path)
{
	char self[64];

	if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	return shmx__neg(linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW));
}

/* Whether link_hidden() can name fd at all. Aimed at dir itself, which
 * exists, it fails with EEXIST once a route accepted fd, and with ENOENT
 * when none does (an older kernel without the capability, and no /proc:
 * a container, a chroot). Nothing is created either way. */
static bool can_publish(int fd, const char *dir)
{
	return link_hidden(fd, dir) == -EEXIST;
}

/* An unnamed file in dir (O_TMPFILE): whatever happens before
 * shmx__publish_at() links it in, even kill -9, leaves nothing behind. -1
 * when the kernel or file system cannot make one, or this process could
 * not name it afterwards; the caller then builds under the name. Asked on
 * every create, not cached: capabilities and mounts change, and one
 * failing syscall is little next to a create. */
static int open_hidden(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0);

	if (fd >= 0 && !can_publish(fd, dir)) {
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
	*ret = r;
	return 0;
}

int shmx__publish_at(struct shmx_region *r, const char *path)
{
	int err;

	if (r->path[0])         /* created named: nothing to do */
		return 0;
	err = link_hidden(r->fd, path);
	if (err)
		return err;
	strcpy(r->path, path);
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

