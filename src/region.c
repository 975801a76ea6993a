/* SPDX-License-Identifier: MIT */
/* Regions of every kind and their mappings (how each kind is created: create.c,
 * anon.c, sysv.c, file.c). Raw bytes, no header,
 * so any program that opens the same name sees exactly what we wrote. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CREATE_FLAGS (SHMX_MAP | SHMX_POPULATE | SHMX_LAZY | SHMX_UNLINK_ON_CLOSE)
#define OPEN_FLAGS   (SHMX_RDONLY | SHMX_MAP | SHMX_POPULATE)
#define SYNC_FLAGS   SHMX_ASYNC
#define OFF_MAX      ((uint64_t)INT64_MAX)

/* posix_fallocate returns the error instead of setting errno, and tmpfs may
 * be interrupted by a signal while it allocates a large range. */
int shmx__reserve(int fd, off_t off, off_t len)
{
	int e;

	do
		e = posix_fallocate(fd, off, len);
	while (e == EINTR);
	return -e;
}

int shmx__check_size(size_t size)
{
	if (size == 0)
		return -EINVAL;
	if ((uint64_t)size > OFF_MAX)
		return -EFBIG;
	return 0;
}

int shmx__region_new(enum shmx__kind kind, int fd, const char *canon, unsigned flags,
		     size_t size, struct shmx_region **ret)
{
	struct shmx_region *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kind = kind;
	r->fd = kind == SHMX__SYSV ? -1 : fd;
	r->shmid = kind == SHMX__SYSV ? fd : -1;
	r->flags = flags;
	r->size = size;
	if (kind == SHMX__FILE) {
		strcpy(r->path, canon);
	} else {
		strcpy(r->name, canon);
		if (kind == SHMX__POSIX && canon[0])
			shmx__path(canon, false, r->path);
	}
	if (flags & (SHMX_MAP | SHMX_POPULATE)) {
		err = shmx_map(r);
		if (err < 0) {
			free(r);
			return err;
		}
	}
	*ret = r;
	return 0;
}

int shmx__region_from_fd(int fd, const char *canon, unsigned flags,
			 struct shmx_region **ret)
{
	return shmx__region_of_fd(SHMX__POSIX, fd, canon, flags, ret);
}

int shmx__region_of_fd(enum shmx__kind kind, int fd, const char *name, unsigned flags,
		       struct shmx_region **ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EMEDIUMTYPE;
	if (st.st_size <= 0)
		return -ENODATA;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	return shmx__region_new(kind, fd, name, flags, (size_t)st.st_size, ret);
}

/* glibc turns the kernel's EISDIR into EINVAL (the name was valid, we
 * checked it), and a socket planted in /dev/shm fails with ENXIO: both are
 * "not a shared-memory object" to our callers. */
static int open_errno(int e)
{
	if (e == EINVAL)
		return -EISDIR;
	if (e == ENXIO)
		return -EMEDIUMTYPE;
	return -e;
}

SHMX_EXPORT int shmx_create(const char *name, size_t size, unsigned flags, mode_t mode,
			    struct shmx_region **ret)
{
	char canon[SHMX__NAME_BUF];
	struct shmx_region *r;
	int err;

	if (!ret || (flags & ~CREATE_FLAGS) || (mode & ~(mode_t)0777))
		return -EINVAL;
	err = shmx__name(name, SHMX_NAME_MAX, canon);
	if (!err)
		err = shmx__check_size(size);
	for (int tries = 0; !err && tries < 2; tries++) {
		err = shmx__create(canon, size, flags, mode ? mode : 0600, &r);
		if (err)
			return err;
		err = shmx__publish(r, canon);
		if (!err) {
			*ret = r;
			return 0;
		}
		shmx__discard(r);
		/* What this process knew of /dev/shm went stale: once more,
		 * probing (create.c). */
		err = err == -ESTALE ? 0 : err;
	}
	return err ? err : -ESTALE;
}

SHMX_EXPORT int shmx_open(const char *name, unsigned flags, struct shmx_region **ret)
{
	char canon[SHMX__NAME_BUF];
	int fd, err, oflag;

	if (!ret || (flags & ~OPEN_FLAGS))
		return -EINVAL;
	err = shmx__name(name, SHMX_NAME_MAX, canon);
	if (err)
		return err;
	/* O_NONBLOCK: a FIFO planted in /dev/shm must not hang the open. */
	oflag = (flags & SHMX_RDONLY) ? O_RDONLY : O_RDWR;
	fd = shm_open(canon, oflag | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		return open_errno(errno);
	err = shmx__region_from_fd(fd, canon, flags, ret);
	if (err)
		close(fd);
	return err;
}

SHMX_EXPORT int shmx_map(struct shmx_region *r)
{
	int prot, mflags = MAP_SHARED, fd, e;
	struct stat st;
	void *addr;

	if (!r)
		return -EINVAL;
	if (r->addr)
		return -EALREADY;
	if (r->kind == SHMX__SYSV)
		return shmx__sysv_attach(r);
	/* Map what the object is now: a peer may have resized it. */
	if (fstat(r->fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0)
		return -ENODATA;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	prot = (r->flags & SHMX_RDONLY) ? PROT_READ : PROT_READ | PROT_WRITE;
	if (r->flags & SHMX_POPULATE)
		mflags |= MAP_POPULATE;
	/* Built unnamed and named since: map through the name (create.c). */
	fd = shmx__named_fd(r);
	addr = mmap(NULL, (size_t)st.st_size, prot, mflags, fd >= 0 ? fd : r->fd, 0);
	e = errno;
	if (fd >= 0)
		close(fd);
	if (addr == MAP_FAILED)
		return -e;
	r->addr = addr;
	r->size = (size_t)st.st_size;
	return 0;
}

SHMX_EXPORT int shmx_unmap(struct shmx_region *r)
{
	if (!r)
		return -EINVAL;
	if (!r->addr)
		return -EALREADY;
	if (r->kind == SHMX__SYSV)
		return shmx__sysv_detach(r);
	if (munmap(r->addr, r->size) < 0)
		return -errno;
	r->addr = NULL;
	return 0;
}

SHMX_EXPORT struct shmx_region *shmx_close(struct shmx_region *r)
{
	if (!r)
		return NULL;
	if (r->addr)
		shmx_unmap(r);
	if ((r->flags & SHMX_UNLINK_ON_CLOSE) && r->path[0])
		shmx__unlink_if_same(r->path, r->fd);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return NULL;
}

SHMX_EXPORT int shmx_unlink(const char *name)
{
	char canon[SHMX__NAME_BUF];
	int err;

	err = shmx__name(name, SHMX_NAME_MAX, canon);
	if (err)
		return err;
	return shmx__shm_unlink(canon);
}

static int remap(struct shmx_region *r, size_t size)
{
	void *addr;

	addr = mremap(r->addr, r->size, size, MREMAP_MAYMOVE);
	if (addr == MAP_FAILED)
		return -errno;
	r->addr = addr;
	return 0;
}

SHMX_EXPORT int shmx_resize(struct shmx_region *r, size_t size)
{
	struct stat st;
	uint64_t old;
	int err;

	if (!r)
		return -EINVAL;
	err = shmx__check_size(size);
	if (err)
		return err;
	if (r->flags & SHMX_RDONLY)
		return -EBADF;
	/* A segment's size is fixed when shmget() makes it. */
	if (r->kind == SHMX__SYSV)
		return -EOPNOTSUPP;
	/* The object's real size, not the one we remember: a peer may have
	 * resized it, and a grow must reserve everything past the real end. */
	if (fstat(r->fd, &st) < 0)
		return -errno;
	old = (uint64_t)st.st_size;
	/* Before anything changes: a shrink must not cut the mapping of an
	 * object whose seals then refuse the truncation. */
	if (r->kind == SHMX__ANON && (err = shmx__anon_may_resize(r, old, size)) < 0)
		return err;
	if (size < old) {
		/* Shrink the mapping first: no access can land past the end.
		 * r->size is the mapping's length from here on. */
		if (r->addr && (err = remap(r, size)) < 0)
			return err;
		r->size = size;
		return shmx__neg(ftruncate(r->fd, (off_t)size));
	}
	err = shmx__neg(ftruncate(r->fd, (off_t)size));
	if (!err && size > old && !(r->flags & SHMX_LAZY))
		err = shmx__reserve(r->fd, (off_t)old, (off_t)(size - old));
	if (!err && r->addr)
		err = remap(r, size);
	if (err) {
		/* Back to the old size, so a failed grow changes nothing. */
		(void)!ftruncate(r->fd, (off_t)old);
		return err;
	}
	r->size = size;
	return 0;
}

SHMX_EXPORT int shmx_sync_range(struct shmx_region *r, size_t off, size_t len,
				unsigned flags)
{
	uintptr_t page, lo, hi;

	if (!r || !r->addr || (flags & ~SYNC_FLAGS))
		return -EINVAL;
	if (off > r->size || len > r->size - off)
		return -ERANGE;
	if (len == 0)
		return 0;
	/* msync wants a page-aligned start; the mapping itself is one. */
	page = (uintptr_t)sysconf(_SC_PAGESIZE);
	lo = ((uintptr_t)r->addr + off) & ~(page - 1);
	hi = (uintptr_t)r->addr + off + len;
	return shmx__neg(msync((void *)lo, hi - lo,
			       (flags & SHMX_ASYNC) ? MS_ASYNC : MS_SYNC));
}

SHMX_EXPORT int shmx_sync(struct shmx_region *r)
{
	if (!r || !r->addr)
		return -EINVAL;
	return shmx_sync_range(r, 0, r->size, 0);
}

SHMX_EXPORT void *shmx_addr(const struct shmx_region *r)
{
	return r ? r->addr : NULL;
}

SHMX_EXPORT size_t shmx_size(const struct shmx_region *r)
{
	return r ? r->size : 0;
}

SHMX_EXPORT const char *shmx_name(const struct shmx_region *r)
{
	if (!r)
		return NULL;
	return r->kind == SHMX__FILE ? r->path : r->name;
}

SHMX_EXPORT int shmx_fd(const struct shmx_region *r)
{
	if (!r)
		return -EBADF;
	return r->kind == SHMX__SYSV ? -EOPNOTSUPP : r->fd;
}

static int current_size(const struct shmx_region *r, size_t *size)
{
	struct stat st;

	if (r->addr || r->kind == SHMX__SYSV) {
		*size = r->size;
		return 0;
	}
	if (fstat(r->fd, &st) < 0)
		return -errno;
	*size = (size_t)st.st_size;
	return 0;
}

SHMX_EXPORT ssize_t shmx_read(const struct shmx_region *r, size_t off, void *buf,
			      size_t len)
{
	size_t size;
	ssize_t n;
	int err;

	if (!r || (!buf && len))
		return -EINVAL;
	err = current_size(r, &size);
	if (err)
		return err;
	if (off > size)
		return -ERANGE;
	if (len > size - off)
		len = size - off;
	if (len == 0)
		return 0;
	if (!r->addr && r->kind == SHMX__SYSV)
		return shmx__sysv_io(r, off, buf, len, false);
	if (!r->addr) {
		n = pread(r->fd, buf, len, (off_t)off);
		return n < 0 ? -errno : n;
	}
	err = shmx__copy(buf, (const char *)r->addr + off, len, (const char *)r->addr + off);
	return err ? err : (ssize_t)len;
}

SHMX_EXPORT ssize_t shmx_write(struct shmx_region *r, size_t off, const void *buf,
			       size_t len)
{
	size_t size;
	ssize_t n;
	int err;

	if (!r || (!buf && len))
		return -EINVAL;
	if (r->flags & SHMX_RDONLY)
		return -EBADF;
	err = current_size(r, &size);
	if (err)
		return err;
	/* All or nothing: a write that does not fit is refused whole. */
	if (off > size || len > size - off)
		return -ERANGE;
	if (len == 0)
		return 0;
	if (!r->addr && r->kind == SHMX__SYSV)
		return shmx__sysv_io(r, off, (void *)buf, len, true);
	if (!r->addr) {
		n = pwrite(r->fd, buf, len, (off_t)off);
		return n < 0 ? -errno : n;
	}
	err = shmx__copy((char *)r->addr + off, buf, len, (char *)r->addr + off);
	return err ? err : (ssize_t)len;
}

/* ---- stat ---- */

static void fill_info(const struct stat *st, struct shmx_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = (uint64_t)st->st_size;
	info->mode = st->st_mode & 07777;
	info->uid = st->st_uid;
	info->gid = st->st_gid;
	info->atime = st->st_atim;
	info->mtime = st->st_mtim;
	info->ctime = st->st_ctim;
}

static int stat_unreadable(const char *canon, struct shmx_info *info)
{
	char path[SHMX__PATH_BUF];
	struct stat st;

	shmx__path(canon, false, path);
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EMEDIUMTYPE;
	fill_info(&st, info);
	info->holders = SHMX_HOLDERS_UNKNOWN;
	return 0;
}

/* Metadata and liveness slots of the object behind fd. */
static int fd_info(int fd, struct shmx_info *info)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EMEDIUMTYPE;
	fill_info(&st, info);
	return shmx__holders(fd, &info->holders);
}

SHMX_EXPORT int shmx_stat(const char *name, struct shmx_info *info)
{
	char canon[SHMX__NAME_BUF];
	struct shmx_info tmp;
	int fd, err;

	if (!info)
		return -EINVAL;
	err = shmx__name(name, SHMX_NAME_MAX, canon);
	if (err)
		return err;
	fd = shm_open(canon, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		return errno == EACCES ? stat_unreadable(canon, info) : open_errno(errno);
	err = fd_info(fd, &tmp);
	close(fd);
	if (!err)
		*info = tmp;
	return err;
}

SHMX_EXPORT int shmx_fstat(const struct shmx_region *r, struct shmx_info *info)
{
	struct shmx_info tmp;
	int fd, err;

	if (!r || !info)
		return -EINVAL;
	if (r->kind == SHMX__SYSV)
		return shmx__sysv_info(r, info);
	/* Our own description's locks are invisible to F_OFD_GETLK on it. */
	fd = shmx__reopen(r);
	if (fd < 0)
		return fd;
	err = fd_info(fd, &tmp);
	close(fd);
	if (!err)
		*info = tmp;
	return err;
}

