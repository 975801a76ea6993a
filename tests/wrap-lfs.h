/* SPDX-License-Identifier: MIT */
/* The names the tests' wrappers (-Wl,--wrap=) take. glibc's headers turn
 * posix_fallocate(), mmap(), open(), fcntl() and fstat() into calls of
 * posix_fallocate64(), mmap64(), ... when off_t is 64 bits (_FILE_OFFSET_BITS=64,
 * meson's default), and tests/meson.build wraps those; musl has one name
 * for each, which tests/meson.build wraps instead. The wrappers keep the
 * glibc spelling; here it becomes musl's. Include after a libc header. */
#ifndef SHMX_WRAP_LFS_H
#define SHMX_WRAP_LFS_H

#ifndef __GLIBC__
#define __wrap_posix_fallocate64 __wrap_posix_fallocate
#define __real_posix_fallocate64 __real_posix_fallocate
#define __wrap_mmap64 __wrap_mmap
#define __real_mmap64 __real_mmap
#define __wrap_open64 __wrap_open
#define __real_open64 __real_open
#define __wrap_fcntl64 __wrap_fcntl
#define __real_fcntl64 __real_fcntl
#define __wrap_fstat64 __wrap_fstat
#define __real_fstat64 __real_fstat
#endif

#endif
