/* SPDX-License-Identifier: MIT */
/* What the channel tests share (channel-util.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "channel-util.h"

long scaled(long n)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	double f = s ? atof(s) : 1.0;
	long m = (long)((double)n * (f > 0 ? f : 1.0));

	return m < 1000 ? 1000 : m;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= UINT64_C(0x7fb5d329728ea185);
	x ^= x >> 27;
	x *= UINT64_C(0x81dadef4bc2dd44d);
	return x ^ (x >> 33);
}

/* Sizes: 0, 1, max-1, max, many small, some anywhere up to max; with a
 * 4 KiB ring the records land on every offset, so they straddle the wrap
 * point in every way. */
static size_t size_of(uint64_t seq, size_t max)
{
	uint64_t r = mix(seq);

	switch (seq % 16) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return max - 1;
	case 3:
		return max;
	case 4: case 5: case 6: case 7:
		return 8 + r % 57;
	case 8: case 9: case 10: case 11:
		return r % 17;
	default:
		return r % (max + 1);
	}
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325), w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * UINT64_C(0x100000001b3);
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

void fill(unsigned char *p, size_t len, uint64_t seq)
{
	uint64_t x = mix(seq ^ UINT64_C(0x9e3779b97f4a7c15)), sum;
	size_t i, start = len >= 16 ? 16 : 0;

	for (i = start; i < len; i += 8) {
		x = mix(x);
		memcpy(p + i, &x, len - i < 8 ? len - i : 8);
	}
	if (start) {
		sum = checksum(p + 16, len - 16);
		memcpy(p, &seq, 8);
		memcpy(p + 8, &sum, 8);
	}
}

bool intact(const unsigned char *p, size_t len, uint64_t seq)
{
	unsigned char ref[64];
	uint64_t s, sum;

	if (len < 16) {
		fill(ref, len, seq);
		return memcmp(ref, p, len) == 0;
	}
	memcpy(&s, p, 8);
	memcpy(&sum, p + 8, 8);
	return s == seq && sum == checksum(p + 16, len - 16);
}

int produce(struct shmx_chan *tx, long count, unsigned char *buf)
{
	size_t max = shmx_chan_max_msg(tx), len;
	uint64_t seq;
	void *p;
	int err;

	for (seq = 0; count < 0 || seq < (uint64_t)count; seq++) {
		len = size_of(seq, max);
		if (seq % 3 == 0) {
			err = shmx_chan_reserve(tx, len, &p, LONG_MS);
			if (!err) {
				fill(p, len, seq);
				err = shmx_chan_commit(tx, len);
			}
		} else {
			fill(buf, len, seq);
			err = shmx_chan_send(tx, buf, len, LONG_MS);
		}
		if (err)
			return err;
	}
	return 0;
}

int consume_all(struct shmx_chan *rx, long count, unsigned char *buf, long *got)
{
	size_t max = shmx_chan_max_msg(rx);
	const void *p;
	uint64_t seq;
	ssize_t n;

	for (seq = (uint64_t)*got; count < 0 || seq < (uint64_t)count; seq++) {
		if (seq % 5 == 0) {
			n = shmx_chan_peek(rx, &p, LONG_MS);
			if (n >= 0 && ((size_t)n != size_of(seq, max) || !intact(p, (size_t)n, seq)))
				return -EILSEQ;
			if (n >= 0)
				n = shmx_chan_release(rx);
		} else {
			n = shmx_chan_recv(rx, buf, max, LONG_MS);
			if (n >= 0 && ((size_t)n != size_of(seq, max) || !intact(buf, (size_t)n, seq)))
				return -EILSEQ;
		}
		if (n < 0)
			return (int)n;
		*got = (long)seq + 1;
	}
	return 0;
}
