/* SPDX-License-Identifier: MIT */
/*
 * The other end of an anonymous region passed over a Unix socket, as an
 * unrelated program would be: it knows only the socket's descriptor number.
 *
 *   anon-peer SOCKFD   receive a region, check it starts with "ping",
 *                      try to truncate it (must fail with EPERM), write
 *                      "pong" at offset 64, then answer one byte on SOCKFD
 *
 * Exit 0 on success; otherwise the step that failed is on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmx.h"

#define PONG_OFF 64

static int fail(const char *what, int err)
{
	fprintf(stderr, "anon-peer: %s: %s\n", what, shmx_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	struct shmx_region *r;
	char buf[4];
	int sock, err;

	if (argc != 2)
		return 2;
	sock = atoi(argv[1]);
	err = shmx_anon_recv(sock, SHMX_MAP, 10000, &r);
	if (err)
		return fail("shmx_anon_recv", err);
	if (shmx_read(r, 0, buf, 4) != 4 || memcmp(buf, "ping", 4))
		return fail("read ping", -EBADMSG);
	if (ftruncate(shmx_fd(r), 0) == 0 || errno != EPERM)
		return fail("ftruncate to 0 was not refused with EPERM", -errno);
	if (ftruncate(shmx_fd(r), 1 << 20) == 0 || errno != EPERM)
		return fail("ftruncate up was not refused with EPERM", -errno);
	if (shmx_write(r, PONG_OFF, "pong", 4) != 4)
		return fail("write pong", -EIO);
	r = shmx_close(r);
	return write(sock, "k", 1) == 1 ? 0 : fail("answer", -errno);
}
