/* SPDX-License-Identifier: MIT */
/*
 * The consumer end of an anonymous channel passed over a Unix socket, as an
 * unrelated program would be: it knows only the socket's descriptor number.
 *
 *   anon-ipc-peer SOCKFD COUNT   receive a region, attach to its channel as
 *                                the consumer, close the region (the channel
 *                                has its own), try to truncate it (must
 *                                fail with EPERM), answer 'a' on SOCKFD,
 *                                then take COUNT messages, each checked to
 *                                be the next one; print the checksum and
 *                                close the channel
 *
 * Exit 0 on success; otherwise the step that failed is on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "anon-ipc-msg.h"
#include "shmx.h"

#define TIMEOUT_MS 20000

static int fail(const char *what, long err)
{
	fprintf(stderr, "anon-ipc-peer: %s: %s\n", what, shmx_strerror((int)err));
	return 1;
}

static int truncate_refused(int fd)
{
	return ftruncate(fd, 0) < 0 && errno == EPERM && ftruncate(fd, 1 << 30) < 0 &&
	       errno == EPERM;
}

int main(int argc, char **argv)
{
	unsigned char buf[MSG_MAX];
	struct shmx_region *r;
	struct shmx_chan *c;
	uint64_t n, count, sum = FNV_BASIS;
	ssize_t len;
	int sock, err;

	if (argc != 3)
		return 2;
	sock = atoi(argv[1]);
	count = strtoull(argv[2], NULL, 10);
	err = shmx_anon_recv(sock, 0, TIMEOUT_MS, &r);
	if (err)
		return fail("shmx_anon_recv", err);
	err = shmx_chan_attach(r, SHMX_CHAN_CONSUMER, &c);
	if (err)
		return fail("shmx_chan_attach", err);
	if (!truncate_refused(shmx_fd(r)))
		return fail("a truncation was not refused with EPERM", -errno);
	r = shmx_close(r);
	if (write(sock, "a", 1) != 1)
		return fail("answer", -errno);
	for (n = 0; n < count; n++) {
		len = shmx_chan_recv(c, buf, sizeof(buf), TIMEOUT_MS);
		if (len < 0)
			return fail("shmx_chan_recv", len);
		if (!msg_is(n, buf, (size_t)len)) {
			fprintf(stderr, "anon-ipc-peer: message %" PRIu64
				" is not the next\n", n);
			return 1;
		}
		sum = msg_sum(sum, buf, (size_t)len);
	}
	printf("%" PRIu64 " %016" PRIx64 "\n", n, sum);
	shmx_chan_close(c);
	return 0;
}
