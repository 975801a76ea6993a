/* SPDX-License-Identifier: MIT */
/* Writes the seed corpus of the channel fuzz targets from real channels:
 *   build/tests/fuzz/make-corpus tests/fuzz/corpus
 * Each seed is a channel of some shape in some state, made with the
 * library, as the target reads its input (see fuzz-chan-header.c and
 * fuzz-chan-consumer.c). Run it again when the format changes. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define CAP 4096u
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER

static const char *dir;
static char name[64];

static void die(const char *what, int err)
{
	fprintf(stderr, "make-corpus: %s: %s\n", what, shmx_strerror(err));
	exit(1);
}

static void put(const char *target, const char *seed, const void *a, size_t na,
		const void *b, size_t nb, const void *c, size_t nc)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, seed);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, na, f) != na || fwrite(b, 1, nb, f) != nb ||
	    fwrite(c, 1, nc, f) != nc || fclose(f))
		die(path, -5);
}

static struct shmx_chan *shaped(unsigned producers, unsigned consumers, unsigned policy,
				unsigned role)
{
	struct shmx_chan_params p = { .capacity = CAP, .producers = producers,
				      .consumers = consumers, .policy = policy };
	struct shmx_chan *c;
	int err;

	snprintf(name, sizeof(name), "/shmx-make-corpus-%d", (int)getpid());
	err = shmx_chan_create_params(name, &p, role, 0, &c);
	if (err)
		die("create", err);
	return c;
}

/* Seeds of both targets from the object now: the consumer target's
 * (control byte, fixed header, ring, slot blocks) and the header
 * target's (header, object size, each record word with its position). */
static void snapshot(const char *seed, unsigned ctl)
{
	unsigned char obj[SHMX__CHAN_HDR_SIZE + CAP], c = (unsigned char)ctl;
	struct shmx_region *r;
	uint64_t words[2 * 64], size = sizeof(obj), pos, w;
	size_t n = 0;
	int err = shmx_open(name, SHMX_RDONLY, &r);

	if (!err && shmx_read(r, 0, obj, sizeof(obj)) != (ssize_t)sizeof(obj))
		err = -EIO;
	if (err)
		die("snapshot", err);
	shmx_close(r);
	put("chan-consumer", seed, &c, 1, obj, sizeof(struct shmx__chan_hdr),
	    obj + SHMX__CHAN_HDR_SIZE, CAP);
	{
		char path[512];
		FILE *f;

		/* the slot blocks after the ring */
		snprintf(path, sizeof(path), "%s/chan-consumer/%s", dir, seed);
		f = fopen(path, "ab");
		if (!f || fwrite(obj + sizeof(struct shmx__chan_hdr), 1,
				 SHMX__CHAN_HDR_SIZE - sizeof(struct shmx__chan_hdr), f) !=
				 SHMX__CHAN_HDR_SIZE - sizeof(struct shmx__chan_hdr) || fclose(f))
			die(path, -5);
	}
	for (pos = 0; pos < CAP && n < 2 * 64; pos += 8) {
		memcpy(&w, obj + SHMX__CHAN_HDR_SIZE + pos, 8);
		if (w >> 32 == SHMX__CHAN_TAG_MSG || w >> 32 == SHMX__CHAN_TAG_PAD ||
		    w >> 32 == SHMX__CHAN_TAG_SKIP || w >> 63) {
			words[n++] = pos;
			words[n++] = w;
		}
	}
	put("chan-header", seed, obj, sizeof(struct shmx__chan_hdr), &size, 8, words, n * 8);
}

/* A header seed of the object as it is, in an object 8 bytes too small. */
static void short_object(const char *seed)
{
	struct shmx__chan_hdr h;
	struct shmx_region *r;
	uint64_t size = SHMX__CHAN_HDR_SIZE + CAP - 8;
	int err = shmx_open(name, SHMX_RDONLY, &r);

	if (!err && shmx_read(r, 0, &h, sizeof(h)) != (ssize_t)sizeof(h))
		err = -EIO;
	if (err)
		die("short_object", err);
	shmx_close(r);
	put("chan-header", seed, &h, sizeof(h), &size, 8, "", 0);
}

static void send_n(struct shmx_chan *tx, int n, size_t len)
{
	unsigned char buf[CAP] = { 0 };
	int err;

	for (int i = 0; i < n; i++) {
		memset(buf, 'a' + i % 26, len);
		err = shmx_chan_send(tx, buf, len, 0);
		if (err)
			die("send", err);
	}
}

static void recv_n(struct shmx_chan *rx, int n)
{
	unsigned char buf[CAP];
	ssize_t k;

	for (int i = 0; i < n; i++)
		if ((k = shmx_chan_recv(rx, buf, sizeof(buf), 0)) < 0 && k != -ENOBUFS)
			die("recv", (int)k);
}

/* One producer, one consumer: empty, three messages, the largest one, a
 * ring that wrapped, the consumer or both closed. */
static void queue_seeds(void)
{
	struct shmx_chan *tx = shaped(1, 1, 0, P), *rx;

	snapshot("empty", 3);
	short_object("short-object");
	send_n(tx, 3, 100);
	snapshot("three", 2);
	snapshot("three-valid", 3);
	snapshot("three-dead", 1);
	if (shmx_chan_open(name, C, 0, &rx))
		die("open", -1);
	recv_n(rx, 3);
	send_n(tx, 1, CAP / 2 - 8);
	snapshot("max", 3);
	recv_n(rx, 1);
	send_n(tx, 30, 120);
	recv_n(rx, 20);
	send_n(tx, 10, 120);
	snapshot("wrapped", 3);
	rx = shmx_chan_close(rx);
	snapshot("consumer-closed", 3);
	tx = shmx_chan_close(tx);
	snapshot("all-closed", 3);
	shmx_chan_unlink(name);
}

/* A broadcast: two consumers at different positions, one closed. */
static void bcast_seeds(void)
{
	struct shmx_chan *tx = shaped(1, 3, 0, P), *a, *b;

	if (shmx_chan_open(name, C, 0, &a) || shmx_chan_open(name, C, 0, &b))
		die("open", -1);
	send_n(tx, 20, 90);
	recv_n(a, 15);
	recv_n(b, 3);
	snapshot("bcast-two", 4 | 3);
	snapshot("bcast-two-taken", 16 | 4 | 3);
	b = shmx_chan_close(b);
	send_n(tx, 20, 50);
	snapshot("bcast-one-closed", 4 | 3);
	a = shmx_chan_close(a);
	tx = shmx_chan_close(tx);
	shmx_chan_unlink(name);
}

/* Overwrite: a consumer a few rings behind (low ahead of it). */
static void overwrite_seeds(void)
{
	struct shmx_chan *tx = shaped(1, 2, 1, P), *rx;

	if (shmx_chan_open(name, C, 0, &rx))
		die("open", -1);
	send_n(tx, 10, 70);
	recv_n(rx, 5);
	snapshot("over-behind", 8 | 3);
	send_n(tx, 200, 70);
	snapshot("over-lapped", 8 | 3);
	recv_n(rx, 3);
	snapshot("over-caught-up", 8 | 3);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
	shmx_chan_unlink(name);
}

/* Three producers: messages of each, a reservation not committed (its
 * producer alive or gone), commits shorter than reserved. */
static void multi_seeds(void)
{
	struct shmx_chan *rx = shaped(3, 1, 0, C), *p[3];
	void *q;

	for (int i = 0; i < 3; i++)
		if (shmx_chan_open(name, P, 0, &p[i]))
			die("open", -1);
	for (int i = 0; i < 3; i++)
		send_n(p[i], 2, 40 + 8 * (size_t)i);
	snapshot("multi-six", 12 | 3);
	short_object("multi-short-object");
	if (shmx_chan_reserve(p[1], 300, &q, 0))
		die("reserve", -1);
	send_n(p[2], 2, 30);
	snapshot("multi-reserved", 12 | 3);
	snapshot("multi-reserved-dead", 12 | 1);
	memset(q, 'z', 10);
	if (shmx_chan_commit(p[1], 10))
		die("commit", -1);
	snapshot("multi-short-commit", 12 | 3);
	recv_n(rx, 9);
	for (int i = 0; i < 25; i++) {
		if (shmx_chan_reserve(p[i % 3], 200, &q, 0) || shmx_chan_commit(p[i % 3], 7))
			die("reserve", -1);
		recv_n(rx, 1);
	}
	snapshot("multi-wrapped", 12 | 3);
	for (int i = 0; i < 3; i++)
		p[i] = shmx_chan_close(p[i]);
	snapshot("multi-all-closed", 12 | 3);
	rx = shmx_chan_close(rx);
	shmx_chan_unlink(name);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	queue_seeds();
	bcast_seeds();
	overwrite_seeds();
	multi_seeds();
	return 0;
}
