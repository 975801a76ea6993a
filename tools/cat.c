/* SPDX-License-Identifier: MIT */
/* shmx cat: an object's bytes to stdout, raw or as hexdump -C does. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "shmx-tool.h"

struct hexdump {
	uint64_t off;           /* object offset of line[0] */
	unsigned char line[16], prev[16];
	size_t fill;
	bool have_prev, starred;
};

static void hex_line(const struct hexdump *h, size_t len)
{
	printf("%08" PRIx64 " ", h->off);
	for (size_t i = 0; i < 16; i++) {
		if (i == 8)
			putchar(' ');
		if (i < len)
			printf(" %02x", h->line[i]);
		else
			fputs("   ", stdout);
	}
	fputs("  |", stdout);
	for (size_t i = 0; i < len; i++)
		putchar(h->line[i] >= 0x20 && h->line[i] < 0x7f ? h->line[i] : '.');
	fputs("|\n", stdout);
}

/* hexdump -C's layout: a full line equal to the one before it becomes a
 * single "*" until the data changes. */
static void hex_flush(struct hexdump *h, size_t len)
{
	if (len == 16 && h->have_prev && !memcmp(h->line, h->prev, 16)) {
		if (!h->starred)
			puts("*");
		h->starred = true;
	} else {
		hex_line(h, len);
		h->starred = false;
	}
	memcpy(h->prev, h->line, 16);
	h->have_prev = true;
	h->off += len;
	h->fill = 0;
}

static void hex_feed(struct hexdump *h, const unsigned char *p, size_t n)
{
	while (n) {
		size_t k = 16 - h->fill < n ? 16 - h->fill : n;

		memcpy(h->line + h->fill, p, k);
		h->fill += k;
		p += k;
		n -= k;
		if (h->fill == 16)
			hex_flush(h, 16);
	}
}

static void hex_end(struct hexdump *h)
{
	if (h->fill)
		hex_flush(h, h->fill);
	printf("%08" PRIx64 "\n", h->off);
}

static int dump(struct shmx_region *r, const char *name, uint64_t off, uint64_t len,
		bool hex)
{
	static unsigned char buf[65536];
	struct hexdump h = { .off = off };
	ssize_t n;

	while (len) {
		n = shmx_read(r, (size_t)off, buf,
			      len < sizeof(buf) ? (size_t)len : sizeof(buf));
		if (n < 0)
			return op_error(name, (int)n);
		if (n == 0)
			break;  /* truncated under us: stop at the new end */
		if (hex)
			hex_feed(&h, buf, (size_t)n);
		else if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return op_error(name, -errno);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	if (hex)
		hex_end(&h);
	return 0;
}

static int cat_run(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'n' },
		{ "hex", no_argument, NULL, 'x' }, END_OPT,
	};
	uint64_t off = 0, len = UINT64_MAX, size;
	struct shmx_region *r;
	struct address a;
	const char *name;
	bool hex = false;
	int c, err, rc;

	opt_reset();
	while ((c = next_opt(argc, argv, ":ho:n:x", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'x': hex = true; break;
		case 'o':
			if (size_arg("offset", optarg, true, &off))
				return EXIT_USAGE;
			break;
		case 'n':
			if (size_arg("length", optarg, true, &len))
				return EXIT_USAGE;
			break;
		default: return EXIT_USAGE;
		}
	}
	if (one_address_arg(argc, argv, &a))
		return EXIT_USAGE;
	name = a.name;
	err = address_open(&a, SHMX_RDONLY, &r);
	if (err)
		return op_error(name, err);
	size = shmx_size(r);
	if (off > size) {
		shmx_close(r);
		return op_errorf(name, "offset %" PRIu64 " is past the end (size %" PRIu64 ")",
				 off, size);
	}
	if (len > size - off)
		len = size - off;       /* like head -c: stop at the end */
	rc = dump(r, name, off, len, hex);
	shmx_close(r);
	if (fflush(stdout) && !rc)
		rc = op_error(name, -errno);
	return rc;
}

const struct command cmd_cat = {
	.name = "cat",
	.run = cat_run,
	.synopsis = "cat ADDRESS [--offset N] [--length N] [--hex]",
	.help =
		"Copy an object's bytes to standard output; stops at the end of the object.\n"
		"ADDRESS is a POSIX name (/x), a file path (./x, /dir/x) or a System V\n"
		"segment (sysv:KEY, sysv:@ID).\n"
		"\n"
		"  -o, --offset N   start at byte N (4096, 64K, ...; past the end is an error)\n"
		"  -n, --length N   at most N bytes\n"
		"  -x, --hex        offsets, hex bytes and text, like hexdump -C\n",
};
