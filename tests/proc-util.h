/* SPDX-License-Identifier: MIT */
/* What /proc tells a test about another process, and catching one where
 * it sleeps. */
#ifndef SHMX_PROC_UTIL_H
#define SHMX_PROC_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* pid's state letter (/proc/PID/stat: 'R', 'S', 'T'...), '?' when it
 * cannot be read. */
char tu_proc_state(pid_t pid);
/* Stop pid (SIGSTOP) inside a FUTEX_WAIT_BITSET wait on all bits (a
 * channel's sleep), once *flag is non-zero: true with pid stopped there
 * (SIGCONT it), false after timeout_ms. */
bool tu_stop_in_futex_wait(pid_t pid, const uint32_t *flag, int timeout_ms);

#endif
