/* SPDX-License-Identifier: MIT */
/* shmx create: a new region of a given size, reserved, mode exact. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "shmx-tool.h"

static int parse_mode(const char *s, mode_t *out)
{
	unsigned long v;

	if (!*s || strspn(s, "01234567") != strlen(s) || strlen(s) > 4)
		return -EINVAL;
	v = strtoul(s, NULL, 8);
	/* The library reads mode 0 as "the default, 0600". */
	if (v > 0777 || v == 0)
		return -EINVAL;
	*out = (mode_t)v;
	return 0;
}

static int create_run(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "mode", required_argument, NULL, 'm' },
		{ "lazy", no_argument, NULL, 'l' }, END_OPT,
	};
	struct shmx_region *r;
	unsigned flags = 0;
	char name[NAME_BUF];
	mode_t mode = 0600;
	uint64_t size;
	int c, err;

	opt_reset();
	while ((c = next_opt(argc, argv, ":hm:", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'l': flags |= SHMX_LAZY; break;
		case 'm':
			if (parse_mode(optarg, &mode))
				return usage_error("invalid mode '%s' (octal, 0001 to 0777)",
						   shown(optarg));
			break;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("missing object name");
	if (optind + 1 >= argc)
		return usage_error("missing size");
	if (optind + 2 < argc)
		return usage_error("unexpected argument '%s'", shown(argv[optind + 2]));
	if (name_arg(argv[optind], name) ||
	    size_arg("size", argv[optind + 1], false, &size))
		return EXIT_USAGE;
#if SIZE_MAX < UINT64_MAX
	if (size > SIZE_MAX)
		return op_error(name, -EFBIG);
#endif
	err = shmx_create(name, (size_t)size, flags, mode, &r);
	if (err)
		return op_error(name, err);
	shmx_close(r);
	printf("created %s: %" PRIu64 " bytes, mode %04o%s\n", shown(name), size,
	       (unsigned)mode, (flags & SHMX_LAZY) ? ", pages not reserved" : "");
	return 0;
}

const struct command cmd_create = {
	.name = "create",
	.run = create_run,
	.synopsis = "create NAME SIZE [--mode MODE] [--lazy]",
	.help =
		"Create a new object of SIZE bytes (4096, 64K, 1M, 2G, 1KiB ...); fails if\n"
		"NAME exists. Its pages are reserved now, so a full /dev/shm fails here.\n"
		"\n"
		"  -m, --mode MODE   octal permissions, 0001 to 0777 (default 0600)\n"
		"      --lazy        do not reserve the pages\n",
};
