/* SPDX-License-Identifier: MIT */
/* Object names: one check that every layer shares, and the canonical form. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* glibc keeps semaphore "/x" as the file /dev/shm/sem.x: an object named
 * "sem.x" would be that semaphore's file (a pair's, even), so the prefix is
 * not ours to take. */
#define SEM_FILE_PREFIX "sem."

/* Accepts "foo" and "/foo" (glibc and Python both do), returns "/foo".
 * Rejected: empty, "/", "." and ".." (they would name /dev/shm itself or its
 * parent), any further '/', control bytes, glibc's semaphore files. Length
 * is checked after the leading '/', against max (NAME_MAX for shm, less for
 * derived names). */
int shmx__name(const char *name, size_t max, char *out)
{
	const char *p;
	size_t len;

	if (!name || !out)
		return -EINVAL;
	if (name[0] == '/')
		name++;
	len = strlen(name);
	if (len == 0 || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (!strncmp(name, SEM_FILE_PREFIX, strlen(SEM_FILE_PREFIX)))
		return -EINVAL;
	for (p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	if (len > max || len > SHMX_NAME_MAX)
		return -ENAMETOOLONG;
	out[0] = '/';
	memcpy(out + 1, name, len + 1);
	return 0;
}

/* The one place that spells the /dev/shm layout (glibc's and musl's). */
void shmx__path(const char *canon, bool sem, char *out)
{
	snprintf(out, SHMX__PATH_BUF, "/dev/shm/%s%s", sem ? "sem." : "", canon + 1);
}

/* The error POSIX gives, and glibc's shm_unlink() makes of the kernel's
 * EPERM, for another user's object in the sticky /dev/shm is EACCES, as
 * shmx_unlink(3) says; musl's shm_unlink() passes EPERM on. */
int shmx__shm_unlink(const char *canon)
{
	int err = shmx__neg(shm_unlink(canon));

	return err == -EPERM ? -EACCES : err;
}

SHMX_EXPORT int shmx_name_canon(const char *name, char *buf, size_t size)
{
	char canon[SHMX__NAME_BUF];
	size_t len;
	int err;

	if (!buf)
		return -EINVAL;
	err = shmx__name(name, SHMX_NAME_MAX, canon);
	if (err)
		return err;
	len = strlen(canon);
	if (len >= size)
		return -ERANGE;
	memcpy(buf, canon, len + 1);
	return (int)len;
}
