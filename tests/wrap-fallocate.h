/* SPDX-License-Identifier: MIT */
/* Failures of posix_fallocate the kernel will not give on demand: a test
 * linked with wrap-fallocate.c and -Wl,--wrap=posix_fallocate64 (what the
 * 64-bit-off_t build calls) sets these; calls from the library see them. */
#ifndef SHMX_WRAP_FALLOCATE_H
#define SHMX_WRAP_FALLOCATE_H

#include "wrap-lfs.h"

extern int fallocate_eintr;     /* fail with EINTR this many times */
extern int fallocate_error;     /* then fail once with this error */
extern int fallocate_calls;     /* calls so far */

#endif
