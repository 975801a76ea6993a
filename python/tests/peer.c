/* SPDX-License-Identifier: MIT */
/* The C side of the Python binding's tests (python/tests/test_shmx.py):
 *   peer produce NAME N     open channel NAME as producer, send N messages
 *   peer consume NAME N     open channel NAME as consumer, check N messages
 *   peer region NAME        print the text at the start of region NAME
 *   peer pair NAME          reader of region NAME's pair: wait, print, post
 *   peer hang NAME          producer that sends "ready" and waits to be killed
 *   peer anon-produce FD N  receive a channel's region on socket FD, attach
 *                           as its producer, send N messages
 *   peer anon-pair FD       receive a pair's region on socket FD, attach as
 *                           its reader: wait, print the first region's text
 *                           (received next), post
 *   peer sizes              sizes of the structs the binding mirrors
 *   peer offsets            offsets of the fields the binding added last
 * Message i is 4 bytes of i (little endian), then (i % 251) bytes, byte j
 * being (i + j) & 0xff: a lost, repeated, reordered or torn message shows. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmx.h>

/* Every wait is bounded: a test that goes wrong fails, it does not hang. */
#define PEER_TIMEOUT_MS 20000
#define PAYLOAD_MOD 251
#define MSG_MAX (4 + PAYLOAD_MOD)

static int fail(const char *what, int err)
{
	fprintf(stderr, "peer: %s: %s\n", what, shmx_strerror(err));
	return 1;
}

static size_t make_msg(uint32_t i, unsigned char *buf)
{
	size_t len = i % PAYLOAD_MOD;

	for (int b = 0; b < 4; b++)
		buf[b] = (unsigned char)(i >> (8 * b));
	for (size_t j = 0; j < len; j++)
		buf[4 + j] = (unsigned char)((i + j) & 0xff);
	return 4 + len;
}

static int produce(const char *name, uint32_t n)
{
	unsigned char buf[MSG_MAX];
	struct shmx_chan *c;
	int err;

	err = shmx_chan_open(name, SHMX_CHAN_PRODUCER, PEER_TIMEOUT_MS, &c);
	if (err < 0)
		return fail("open", err);
	for (uint32_t i = 0; i < n; i++) {
		err = shmx_chan_send(c, buf, make_msg(i, buf), PEER_TIMEOUT_MS);
		if (err < 0)
			return fail("send", err);
	}
	shmx_chan_close(c);
	return 0;
}

static int consume(const char *name, uint32_t n)
{
	unsigned char want[MSG_MAX], got[MSG_MAX];
	struct shmx_chan *c;
	ssize_t len;
	int err;

	err = shmx_chan_open(name, SHMX_CHAN_CONSUMER, PEER_TIMEOUT_MS, &c);
	if (err < 0)
		return fail("open", err);
	for (uint32_t i = 0; i < n; i++) {
		size_t wlen = make_msg(i, want);

		len = shmx_chan_recv(c, got, sizeof(got), PEER_TIMEOUT_MS);
		if (len < 0)
			return fail("recv", (int)len);
		if ((size_t)len != wlen || memcmp(got, want, wlen)) {
			fprintf(stderr, "peer: message %u differs\n", (unsigned)i);
			return 1;
		}
	}
	len = shmx_chan_recv(c, got, sizeof(got), PEER_TIMEOUT_MS);
	if (len != -EPIPE)
		return fail("end of stream", len < 0 ? (int)len : -EBADMSG);
	shmx_chan_close(c);
	printf("OK %u\n", (unsigned)n);
	return 0;
}

static int region(const char *name)
{
	struct shmx_region *r;
	int err;

	err = shmx_open(name, SHMX_RDONLY | SHMX_MAP, &r);
	if (err < 0)
		return fail("open", err);
	printf("%.*s\n", (int)strnlen(shmx_addr(r), shmx_size(r)),
	       (const char *)shmx_addr(r));
	shmx_close(r);
	return 0;
}

static int pair(const char *name)
{
	struct shmx_region *r;
	struct shmx_pair *p;
	int err;

	err = shmx_open(name, SHMX_MAP, &r);
	if (err < 0)
		return fail("open", err);
	err = shmx_pair_open(r, SHMX_PAIR_READER, &p);
	if (err < 0)
		return fail("pair open", err);
	err = shmx_pair_wait(p, PEER_TIMEOUT_MS);
	if (err < 0)
		return fail("pair wait", err);
	printf("%.*s\n", (int)strnlen(shmx_addr(r), shmx_size(r)),
	       (const char *)shmx_addr(r));
	strcpy(shmx_addr(r), "from C");
	err = shmx_pair_post(p);
	if (err < 0)
		return fail("pair post", err);
	shmx_pair_close(p);
	shmx_close(r);
	return 0;
}

static int hang(const char *name)
{
	struct shmx_chan *c;
	char byte;
	int err;

	err = shmx_chan_open(name, SHMX_CHAN_PRODUCER, PEER_TIMEOUT_MS, &c);
	if (err < 0)
		return fail("open", err);
	err = shmx_chan_send(c, "ready", 5, PEER_TIMEOUT_MS);
	if (err < 0)
		return fail("send", err);
	/* Until the test kills us, or closes our stdin if it fails first. */
	while (read(STDIN_FILENO, &byte, 1) > 0)
		;
	return 1;
}

static int anon_produce(int sock, uint32_t n)
{
	unsigned char buf[MSG_MAX];
	struct shmx_region *r;
	struct shmx_chan *c;
	int err;

	err = shmx_anon_recv(sock, 0, PEER_TIMEOUT_MS, &r);
	if (err < 0)
		return fail("anon recv", err);
	err = shmx_chan_attach(r, SHMX_CHAN_PRODUCER, &c);
	shmx_close(r);          /* the channel has a mapping of its own */
	if (err < 0)
		return fail("attach", err);
	for (uint32_t i = 0; i < n; i++) {
		err = shmx_chan_send(c, buf, make_msg(i, buf), PEER_TIMEOUT_MS);
		if (err < 0)
			return fail("send", err);
	}
	shmx_chan_close(c);
	return 0;
}

static int anon_pair(int sock)
{
	struct shmx_region *pr, *data;
	struct shmx_pair *p;
	int err;

	err = shmx_anon_recv(sock, 0, PEER_TIMEOUT_MS, &pr);
	if (err < 0)
		return fail("anon recv", err);
	err = shmx_anon_recv(sock, SHMX_MAP, PEER_TIMEOUT_MS, &data);
	if (err < 0)
		return fail("anon recv data", err);
	err = shmx_pair_attach(pr, SHMX_PAIR_READER, &p);
	shmx_close(pr);
	if (err < 0)
		return fail("pair attach", err);
	err = shmx_pair_wait(p, PEER_TIMEOUT_MS);
	if (err < 0)
		return fail("pair wait", err);
	printf("%.*s\n", (int)strnlen(shmx_addr(data), shmx_size(data)),
	       (const char *)shmx_addr(data));
	strcpy(shmx_addr(data), "from C");
	err = shmx_pair_post(p);
	if (err < 0)
		return fail("pair post", err);
	shmx_pair_close(p);
	shmx_close(data);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "sizes")) {
		printf("%zu %zu %zu %zu %zu\n", sizeof(struct shmx_info),
		       sizeof(struct shmx_chan_info), sizeof(struct shmx_sysv_info),
		       sizeof(struct shmx_chan_params), sizeof(struct shmx_chan_peer));
		return 0;
	}
	if (!strcmp(cmd, "offsets")) {
		printf("%zu %zu %zu %zu %zu %zu %zu %zu\n",
		       offsetof(struct shmx_chan_info, policy),
		       offsetof(struct shmx_chan_info, producers),
		       offsetof(struct shmx_chan_info, consumers),
		       offsetof(struct shmx_chan_info, lost),
		       offsetof(struct shmx_chan_params, policy),
		       offsetof(struct shmx_chan_peer, generation),
		       offsetof(struct shmx_chan_peer, count),
		       offsetof(struct shmx_chan_peer, lost));
		return 0;
	}
	if (argc == 4 && !strcmp(cmd, "produce"))
		return produce(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(cmd, "consume"))
		return consume(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(cmd, "region"))
		return region(argv[2]);
	if (argc == 3 && !strcmp(cmd, "pair"))
		return pair(argv[2]);
	if (argc == 3 && !strcmp(cmd, "hang"))
		return hang(argv[2]);
	if (argc == 4 && !strcmp(cmd, "anon-produce"))
		return anon_produce(atoi(argv[2]), (uint32_t)strtoul(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(cmd, "anon-pair"))
		return anon_pair(atoi(argv[2]));
	fprintf(stderr, "usage: peer produce|consume NAME N | region|pair|hang NAME | sizes |"
		" offsets | anon-produce FD N | anon-pair FD\n");
	return 2;
}
