/* SPDX-License-Identifier: MIT */
/* shmx write: stdin into an existing object, all or nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <inttypes.h>

#include "shmx-tool.h"

/* Read stdin, at most limit + 1 bytes: one byte more than fits is enough to
 * know that the write must be refused, whatever the input's full length. */
static int read_input(uint64_t limit, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, n = 0, want;
	ssize_t k;

	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		want = cap - n;
		if ((uint64_t)want > limit + 1 - n)
			want = (size_t)(limit + 1 - n);
		k = read(STDIN_FILENO, buf + n, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return -errno;
		}
		n += (size_t)k;
		if (k == 0 || n > limit)
			break;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int write_data(const char *name, struct shmx_region *r, uint64_t off, bool json,
		      size_t *written)
{
	uint64_t size = shmx_size(r), room;
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int err;

	if (off > size)
		return json_op_errorf(json, name, -EINVAL, "offset %" PRIu64 " is past the end "
				      "(size %" PRIu64 "); nothing written", off, size);
	room = size - off;
	err = read_input(room, &buf, &len);
	if (err)
		return json_op_errorf(json, name, err, "reading standard input: %s",
				      shmx_strerror(err));
	if (len > room) {
		free(buf);
		return json_op_errorf(json, name, -EFBIG, "input does not fit: more than %"
				      PRIu64 " bytes from offset %" PRIu64 " to the end (size %"
				      PRIu64 "); nothing written", room, off, size);
	}
	n = shmx_write(r, (size_t)off, buf, len);
	free(buf);
	if (n < 0)
		return json_op_error(json, name, (int)n);
	*written = (size_t)n;
	return 0;
}

/* The record of the object written to, and where and how much. */
static void written_json(const struct address *a, uint64_t off, size_t n, int rc)
{
	struct facts f;

	fputs("{\"written\":[", stdout);
	if (!rc) {
		gather(a, &f);
		printf("\n{");
		json_record(&f);
		printf(",\"offset\":%" PRIu64 ",\"bytes\":%zu}", off, n);
	}
	fputs("\n],", stdout);
	json_errors();
	fputs("}\n", stdout);
}

static int write_run(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "offset", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' }, END_OPT,
	};
	struct shmx_region *r;
	struct address a;
	bool json = false;
	uint64_t off = 0;
	size_t n = 0;
	int c, err, rc;

	opt_reset();
	while ((c = next_opt(argc, argv, ":ho:", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'j': json = true; break;
		case 'o':
			if (size_arg("offset", optarg, true, &off))
				return EXIT_USAGE;
			break;
		default: return EXIT_USAGE;
		}
	}
	if (one_address_arg(argc, argv, &a))
		return EXIT_USAGE;
	err = address_open(&a, 0, &r);
	if (err) {
		rc = json_op_error(json, a.name, err);
	} else {
		rc = write_data(a.name, r, off, json, &n);
		shmx_close(r);
	}
	if (json)
		written_json(&a, off, n, rc);
	else if (!rc)
		printf("wrote %zu bytes to %s at offset %" PRIu64 "\n", n, shown(a.name), off);
	return rc;
}

const struct command cmd_write = {
	.name = "write",
	.run = write_run,
	.synopsis = "write ADDRESS [--offset N] [--json] < DATA",
	.help =
		"Copy standard input into an existing object at offset N (default 0). Input\n"
		"that would go past the end is refused whole: nothing is written. ADDRESS\n"
		"is a POSIX name (/x), a file path (./x, /dir/x) or a System V segment\n"
		"(sysv:KEY, sysv:@ID).\n"
		"\n"
		"  -o, --offset N   start at byte N\n"
		"      --json       one JSON document {\"written\": [...], \"errors\": [...]}\n"
		"                   (shmx(1), JSON)\n",
};
