/* SPDX-License-Identifier: MIT */
/* Removing a named pair's files: only those its control object records
 * (another program's semaphore of the same name stays), the semaphores
 * first and the control object last, so a removal cut short leaves a pair
 * that its control object still vouches for and shmx gc can finish
 * (shmx(7), "The turn"; shmx_pair_unlink(3)). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pair.h"

/* The identities a control object records, any state (built, being
 * built, or its creator killed while building). A control object of ABI 1
 * recorded none: ids zero, and its semaphores go by name. A file that is
 * not a pair's control object: -EBADMSG. */
static int ctl_ids(const char *canon, struct ctl_id ids[NIDS])
{
	char path[SHMX__PATH_BUF];
	struct ctl c;
	struct stat s;
	ssize_t n = -1;
	int fd;

	shmx__path(canon, false, path);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return (errno == ELOOP || errno == ENXIO) ? -EBADMSG : -errno;
	memset(&c, 0, sizeof(c));
	if (!fstat(fd, &s) && S_ISREG(s.st_mode) && (s.st_size == 64 || s.st_size == sizeof(c)))
		n = pread(fd, &c, (size_t)s.st_size, 0);
	close(fd);
	if (n != s.st_size)
		return -EBADMSG;
	if (n == 64 && c.magic == CTL_MAGIC && c.abi == 1) {
		memset(ids, 0, NIDS * sizeof(*ids));
		return 0;
	}
	if (c.abi != CTL_ABI || (c.magic != CTL_MAGIC && c.magic != CTL_BUILDING))
		return -EBADMSG;
	memcpy(ids, c.id, NIDS * sizeof(*ids));
	return 0;
}

/* The semaphore file canon, if it is the file id records (any, for a
 * control object of ABI 1). */
static int unlink_sem(const char *canon, const struct ctl_id *id)
{
	char path[SHMX__PATH_BUF];
	struct ctl_id got;
	int fd, err;

	if (!id->dev && !id->ino)
		return shmx__shm_unlink(canon);
	shmx__path(canon, false, path);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : 0;
	err = shmx__pair_id_of(fd, &got);
	if (!err && got.dev == id->dev && got.ino == id->ino)
		shmx__unlink_if_same(path, fd);
	close(fd);
	return err;
}

SHMX_EXPORT int shmx_pair_unlink(const char *name)
{
	struct ctl_id ids[NIDS];
	struct pair_names n;
	int err;

	err = shmx__pair_names(name, &n);
	if (!err)
		err = ctl_ids(n.ctl, ids);
	if (err)
		return err;
	unlink_sem(n.sem[W], &ids[ID_SEM_W]);
	unlink_sem(n.sem[R], &ids[ID_SEM_R]);
	return shmx__shm_unlink(n.ctl);
}
