/* SPDX-License-Identifier: MIT */
/* The messages of the anonymous-channel stream tests, shared by the test
 * and the exec'd consumer (anon-ipc-peer): message n carries n as a 64-bit
 * sequence number and 0..63 bytes derived from n, so a lost, repeated,
 * reordered or damaged message is seen, and both sides sum every byte
 * into one checksum (FNV-1a). */
#ifndef SHMX_ANON_IPC_MSG_H
#define SHMX_ANON_IPC_MSG_H

#include <stdint.h>
#include <string.h>

#define MSG_MAX   (8 + 63)
#define FNV_BASIS UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

/* Message n into buf; its length. */
static inline size_t msg_make(uint64_t n, unsigned char *buf)
{
	size_t len = 8 + (size_t)(n * 7 % 64);

	memcpy(buf, &n, 8);
	for (size_t i = 8; i < len; i++)
		buf[i] = (unsigned char)(n * 31 + i);
	return len;
}

static inline uint64_t msg_sum(uint64_t h, const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * FNV_PRIME;
	return h;
}

/* Whether buf (len bytes) is exactly message n. */
static inline int msg_is(uint64_t n, const unsigned char *buf, size_t len)
{
	unsigned char want[MSG_MAX];

	return len == msg_make(n, want) && memcmp(buf, want, len) == 0;
}

#endif
