/* SPDX-License-Identifier: MIT */
/* File regions: a region on a file system path, for data that must outlive
 * the machine's uptime (shmx(7), KINDS). Built like every named object:
 * unnamed in the target directory, linked in last; with SHMX_DURABLE the new
 * name is made to survive a crash (fsync of the file, then of its
 * directory). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CREATE_FLAGS (SHMX_MAP | SHMX_POPULATE | SHMX_LAZY | SHMX_UNLINK_ON_CLOSE | \
		      SHMX_DURABLE)
#define OPEN_FLAGS   (SHMX_RDONLY | SHMX_MAP | SHMX_POPULATE)

/* 0, -EINVAL for NULL or "", -ENAMETOOLONG past PATH_MAX. */
static int check_path(const char *path)
{
	if (!path || !path[0])
		return -EINVAL;
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The directory part of path into dir (PATH_MAX bytes): "." for a bare
 * name, "/" for a file at the root. -EISDIR for a path ending in '/': it
 * names a directory, as open(2) says for O_CREAT. */
static int dir_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash && !slash[1])
		return -EISDIR;
	if (!slash) {
		strcpy(dir, ".");
		return 0;
	}
	len = slash == path ? 1 : (size_t)(slash - path);
	memcpy(dir, path, len);
	dir[len] = 0;
	return 0;
}

/* fsync of the directory makes the new entry itself durable: fsync of the
 * file alone does not cover its name (fsync(2), NOTES). */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = shmx__neg(fsync(fd));
	close(fd);
	return err;
}

/* Link the built file in; with SHMX_DURABLE its data and size reach the
 * disk before the name does, so a crash never leaves a named file of
 * zeroes where the caller was told it had one. */
static int publish(struct shmx_region *r, const char *dir, const char *path,
		   unsigned flags)
{
	int err = 0;

	if (flags & SHMX_DURABLE)
		err = shmx__neg(fsync(r->fd));
	if (!err)
		err = shmx__publish_at(r, path);
	if (!err && (flags & SHMX_DURABLE))
		err = sync_dir(dir);
	return err;
}

SHMX_EXPORT int shmx_file_create(const char *path, size_t size, unsigned flags,
				 mode_t mode, struct shmx_region **ret)
{
	char dir[PATH_MAX];
	struct shmx_region *r;
	int err;

	if (!ret || (flags & ~CREATE_FLAGS) || (mode & ~(mode_t)0777))
		return -EINVAL;
	err = check_path(path);
	if (!err)
		err = shmx__check_size(size);
	if (!err)
		err = dir_of(path, dir);
	if (!err)
		err = shmx__create_at(dir, path, size, flags & ~SHMX_DURABLE,
				      mode ? mode : 0600, &r);
	if (err)
		return err;
	r->kind = SHMX__FILE;
	err = publish(r, dir, path, flags);
	if (err) {
		shmx__discard(r);
		return err;
	}
	*ret = r;
	return 0;
}

SHMX_EXPORT int shmx_file_open(const char *path, unsigned flags, struct shmx_region **ret)
{
	int fd, err, oflag;

	if (!ret || (flags & ~OPEN_FLAGS))
		return -EINVAL;
	err = check_path(path);
	if (err)
		return err;
	/* O_NONBLOCK: a FIFO at path must not hang the open. */
	oflag = (flags & SHMX_RDONLY) ? O_RDONLY : O_RDWR;
	fd = open(path, oflag | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENXIO ? -EMEDIUMTYPE : -errno;
	err = shmx__region_of_fd(SHMX__FILE, fd, path, flags, ret);
	if (err)
		close(fd);
	return err;
}

SHMX_EXPORT int shmx_file_unlink(const char *path)
{
	int err = check_path(path);

	if (err)
		return err;
	return shmx__neg(unlink(path));
}
