/* SPDX-License-Identifier: MIT */
/* posix_fallocate failing on demand (wrap-fallocate.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/types.h>

#include "wrap-fallocate.h"

int fallocate_eintr;
int fallocate_error;
int fallocate_calls;

int __real_posix_fallocate64(int fd, off_t off, off_t len);
int __wrap_posix_fallocate64(int fd, off_t off, off_t len);

int __wrap_posix_fallocate64(int fd, off_t off, off_t len)
{
	fallocate_calls++;
	if (fallocate_eintr > 0) {
		fallocate_eintr--;
		return EINTR;
	}
	if (fallocate_error) {
		int e = fallocate_error;

		fallocate_error = 0;
		return e;
	}
	return __real_posix_fallocate64(fd, off, len);
}
