/* SPDX-License-Identifier: MIT */
/* System V segments as regions: shmget/shmat/shmctl behind the region
 * handle, for programs that share memory this way. A segment has no file
 * descriptor, so it has no liveness slots, and its size is fixed. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "internal.h"

#define CREATE_FLAGS SHMX_MAP
#define OPEN_FLAGS   (SHMX_RDONLY | SHMX_MAP)
#define PROJ_MAX     255        /* ftok uses the low 8 bits of proj */

/* A removed or never-made id: shmctl says EINVAL (EIDRM in a race), which
 * our callers would read as a bad argument. */
static int stat_errno(int e)
{
	return (e == EINVAL || e == EIDRM) ? -ENOENT : -e;
}

static int ipc_stat(int id, struct shmid_ds *ds)
{
	return shmctl(id, IPC_STAT, ds) < 0 ? stat_errno(errno) : 0;
}

int shmx__sysv_attach(struct shmx_region *r)
{
	int shmflg = (r->flags & SHMX_RDONLY) ? SHM_RDONLY : 0;
	void *addr = shmat(r->shmid, NULL, shmflg);

	if (addr == (void *)-1)
		return stat_errno(errno);
	r->addr = addr;
	return 0;
}

int shmx__sysv_detach(struct shmx_region *r)
{
	if (shmdt(r->addr) < 0)
		return -errno;
	r->addr = NULL;
	return 0;
}

ssize_t shmx__sysv_io(const struct shmx_region *r, size_t off, void *buf, size_t len,
		      bool write)
{
	struct shmx_region tmp = *r;
	int err = shmx__sysv_attach(&tmp);

	if (err)
		return err;
	if (write)
		memcpy((char *)tmp.addr + off, buf, len);
	else
		memcpy(buf, (const char *)tmp.addr + off, len);
	shmx__sysv_detach(&tmp);
	return (ssize_t)len;
}

int shmx__sysv_info(const struct shmx_region *r, struct shmx_info *info)
{
	struct shmid_ds ds;
	int err = ipc_stat(r->shmid, &ds);

	if (err)
		return err;
	memset(info, 0, sizeof(*info));
	info->size = ds.shm_segsz;
	info->mode = ds.shm_perm.mode & 0777;
	info->uid = ds.shm_perm.uid;
	info->gid = ds.shm_perm.gid;
	info->atime.tv_sec = ds.shm_atime;
	info->mtime.tv_sec = ds.shm_dtime;
	info->ctime.tv_sec = ds.shm_ctime;
	info->holders = SHMX_HOLDERS_UNKNOWN;
	return 0;
}

SHMX_EXPORT int shmx_sysv_key(const char *path, int proj, key_t *ret)
{
	struct stat st;

	if (!path || !ret || proj < 1 || proj > PROJ_MAX)
		return -EINVAL;
	/* ftok(3)'s formula on our own stat: its -1 is also a valid key, so
	 * a failure could not be told apart from a result. */
	if (stat(path, &st) < 0)
		return -errno;
	*ret = (key_t)((st.st_ino & 0xffff) | ((st.st_dev & 0xff) << 16) |
		       ((uint32_t)proj << 24));
	return 0;
}

/* A handle on segment id, attached when flags ask; -EIDRM for a segment
 * marked for removal (Linux would still attach it, but nobody else can). */
static int sysv_handle(int id, unsigned flags, struct shmx_region **ret)
{
	struct shmid_ds ds;
	int err = ipc_stat(id, &ds);

	if (err)
		return err;
	if (ds.shm_perm.mode & SHM_DEST)
		return -EIDRM;
	if ((uint64_t)ds.shm_segsz > SIZE_MAX)
		return -EFBIG;
	return shmx__region_new(SHMX__SYSV, id, "", flags, ds.shm_segsz, ret);
}

SHMX_EXPORT int shmx_sysv_create(key_t key, size_t size, unsigned flags, mode_t mode,
				 struct shmx_region **ret)
{
	int id, err;

	if (!ret || (flags & ~CREATE_FLAGS) || (mode & ~(mode_t)0777))
		return -EINVAL;
	err = shmx__check_size(size);
	if (err)
		return err;
	/* The kernel applies the mode bits as given: no umask for SysV. */
	id = shmget(key, size, IPC_CREAT | IPC_EXCL | (int)(mode ? mode : 0600));
	if (id < 0)
		return -errno;
	err = sysv_handle(id, flags, ret);
	/* Nothing half-made: the segment we just made goes again. */
	if (err)
		shmctl(id, IPC_RMID, NULL);
	return err;
}

SHMX_EXPORT int shmx_sysv_open(key_t key, unsigned flags, struct shmx_region **ret)
{
	int id;

	if (!ret || (flags & ~OPEN_FLAGS) || key == IPC_PRIVATE)
		return -EINVAL;
	/* Asking for the access we will use gives EACCES here, not at shmat. */
	id = shmget(key, 0, (flags & SHMX_RDONLY) ? SHM_R : SHM_R | SHM_W);
	if (id < 0)
		return -errno;
	return sysv_handle(id, flags, ret);
}

SHMX_EXPORT int shmx_sysv_open_id(int id, unsigned flags, struct shmx_region **ret)
{
	if (!ret || (flags & ~OPEN_FLAGS) || id < 0)
		return -EINVAL;
	return sysv_handle(id, flags, ret);
}

SHMX_EXPORT int shmx_sysv_id(const struct shmx_region *r)
{
	if (!r)
		return -EINVAL;
	return r->kind == SHMX__SYSV ? r->shmid : -EOPNOTSUPP;
}

SHMX_EXPORT int shmx_sysv_remove(int id)
{
	if (id < 0)
		return -EINVAL;
	return shmctl(id, IPC_RMID, NULL) < 0 ? stat_errno(errno) : 0;
}

SHMX_EXPORT int shmx_sysv_stat(int id, struct shmx_sysv_info *info)
{
	struct shmid_ds ds;
	int err;

	if (id < 0 || !info)
		return -EINVAL;
	err = ipc_stat(id, &ds);
	if (err)
		return err;
	memset(info, 0, sizeof(*info));
	info->key = ds.shm_perm.__key;
	info->id = id;
	info->size = ds.shm_segsz;
	info->mode = ds.shm_perm.mode & 0777;
	info->uid = ds.shm_perm.uid;
	info->gid = ds.shm_perm.gid;
	info->cuid = ds.shm_perm.cuid;
	info->cgid = ds.shm_perm.cgid;
	info->cpid = ds.shm_cpid;
	info->lpid = ds.shm_lpid;
	info->nattch = ds.shm_nattch;
	info->removed = !!(ds.shm_perm.mode & SHM_DEST);
	info->atime = ds.shm_atime;
	info->dtime = ds.shm_dtime;
	info->ctime = ds.shm_ctime;
	return 0;
}
