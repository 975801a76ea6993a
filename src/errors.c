/* SPDX-License-Identifier: MIT */
/* Error texts, libshmx's own meanings first; and the library's version. */
#define _GNU_SOURCE
#include <string.h>

#include "internal.h"

SHMX_EXPORT const char *shmx_version(void)
{
	return SHMX_VERSION_STRING;
}

SHMX_EXPORT const char *shmx_strerror(int err)
{
	switch (err) {
	case 0:
		return "Success";
	case -EOWNERDEAD:
		return "Peer process died";
	case -EPIPE:
		return "Peer closed the channel";
	case -EMEDIUMTYPE:
		return "Not a shared-memory object (not a regular file)";
	case -ENODATA:
		return "Shared-memory object is empty (size 0)";
	case -EBADMSG:
		return "Not a libshmx channel, or its header is corrupt";
	case -EPROTONOSUPPORT:
		return "Unsupported libshmx format version (made by another release)";
	case -EUSERS:
		return "Every slot of that role is taken";
	case -ENOBUFS:
		return "Messages lost: the producer wrote over them";
	case -ERANGE:
		return "Offset or length past the end of the object";
	case -EALREADY:
		return "Already in the requested state";
	case -EBUSY:
		return "Role already taken by another process";
	case -EFAULT:
		return "Shared object truncated by another process";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "Unknown error";
}
