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

/* Create what a names; for a segment, *id is its id. */
static int create_address(const struct address *a, uint64_t size, unsigned flags,
			  mode_t mode, int *id)
{
	struct shmx_region *r;
	int err;

	if (a->kind == A_POSIX)
		err = shmx_create(a->name, (size_t)size, flags, mode, &r);
	else if (a->kind == A_FILE)
		err = shmx_file_create(a->name, (size_t)size, flags, mode, &r);
	else
		err = shmx_sysv_create(a->key, (size_t)size, 0, mode, &r);
	if (err)
		return err;
	*id = shmx_sysv_id(r);
	shmx_close(r);
	return 0;
}

static void created_text(const struct address *a, uint64_t size, unsigned flags,
			 mode_t mode, int id)
{
	printf("created %s", shown(a->name));
	if (id >= 0)
		printf(" (id %d)", id);
	printf(": %" PRIu64 " bytes, mode %04o%s\n", size, (unsigned)mode,
	       (flags & SHMX_LAZY) ? ", pages not reserved" : "");
}

/* The record of what was made, read back; err: nothing was. */
static void created_json(const struct address *a, int err)
{
	struct facts f;

	fputs("{\"created\":[", stdout);
	if (!err) {
		gather(a, &f);
		printf("\n{");
		json_record(&f);
		putchar('}');
	}
	fputs("\n],", stdout);
	json_errors();
	fputs("}\n", stdout);
}

static int create_run(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "mode", required_argument, NULL, 'm' },
		{ "lazy", no_argument, NULL, 'l' }, { "durable", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' }, END_OPT,
	};
	unsigned flags = 0;
	struct address a;
	mode_t mode = 0600;
	bool json = false;
	uint64_t size;
	int c, err, id = -1;

	opt_reset();
	while ((c = next_opt(argc, argv, ":hm:", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'l': flags |= SHMX_LAZY; break;
		case 'd': flags |= SHMX_DURABLE; break;
		case 'j': json = true; break;
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
	if (address_arg(argv[optind], &a) ||
	    size_arg("size", argv[optind + 1], false, &size))
		return EXIT_USAGE;
	if (a.kind == A_SYSV_ID)
		return usage_error("a new segment is named by its key (sysv:KEY), not "
				   "an id");
	if ((flags & SHMX_DURABLE) && a.kind != A_FILE)
		return usage_error("--durable is for files");
	if (a.kind == A_SYSV_KEY && (flags & SHMX_LAZY))
		return usage_error("--lazy: a new segment is always reserved");
	err = SIZE_MAX < UINT64_MAX && size > SIZE_MAX ? -EFBIG :
	      create_address(&a, size, flags, mode, &id);
	if (err)
		json_op_error(json, a.name, err);
	if (json)
		created_json(&a, err);
	else if (!err)
		created_text(&a, size, flags, mode, id);
	return err ? EXIT_FAIL : 0;
}

const struct command cmd_create = {
	.name = "create",
	.run = create_run,
	.synopsis = "create ADDRESS SIZE [--mode MODE] [--lazy] [--durable] [--json]",
	.help =
		"Create a new object of SIZE bytes (4096, 64K, 1M, 2G, 1KiB ...); fails if\n"
		"it exists. ADDRESS is a POSIX name (/x), a file path (./x, /dir/x) or a\n"
		"System V key (sysv:KEY). Its pages are reserved now, so a full file system\n"
		"fails here. The mode is exact whatever the umask.\n"
		"\n"
		"  -m, --mode MODE   octal permissions, 0001 to 0777 (default 0600)\n"
		"      --lazy        do not reserve the pages (not for a segment)\n"
		"      --durable     a file: fsync it and its directory (survives a crash)\n"
		"      --json        one JSON document {\"created\": [...], \"errors\": [...]}\n"
		"                    (shmx(1), JSON)\n",
};
