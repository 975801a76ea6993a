/* SPDX-License-Identifier: MIT */
/* Addresses, one argument for every kind of shared memory (shmx(1),
 * ADDRESSES): a POSIX name, a file's path, a System V key or id; taken back
 * in the escaped form every name is printed in. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shmx-tool.h"

#define SYSV_PREFIX "sysv:"

static bool is_file_path(const char *in)
{
	return !strncmp(in, "./", 2) || (in[0] && strchr(in + 1, '/'));
}

/* A key as ipcs shows it (0x hex: 0xffffffff too) or decimal; the whole
 * of s, in 32 bits. */
static int parse_key(const char *s, key_t *out)
{
	bool hex = !strncmp(s, "0x", 2) || !strncmp(s, "0X", 2);
	unsigned long long v;
	char *end;

	if (hex ? !isxdigit((unsigned char)s[2]) : !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, hex ? 16 : 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (key_t)(uint32_t)v;
	return 0;
}

static int parse_id(const char *s, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int sysv_arg(const char *in, struct address *a)
{
	const char *v = in + strlen(SYSV_PREFIX);

	a->kind = v[0] == '@' ? A_SYSV_ID : A_SYSV_KEY;
	if (a->kind == A_SYSV_ID && parse_id(v + 1, &a->id))
		return usage_error("invalid segment id '%s' (sysv:@ID, ID a decimal "
				   "number)", shown(in));
	if (a->kind == A_SYSV_KEY && parse_key(v, &a->key))
		return usage_error("invalid segment key '%s' (sysv:KEY, KEY decimal or "
				   "0x hex)", shown(in));
	snprintf(a->name, sizeof(a->name), "%s", in);
	return 0;
}

/* An argument as shmx prints it: "\xNN" is the byte NN (put_name() prints
 * a backslash as \x5c, so this is never ambiguous); any other backslash
 * is itself. 0, or -ENAMETOOLONG. */
static int unescape(const char *in, char *out, size_t size)
{
	size_t n = 0;
	unsigned v;

	for (; *in; in++) {
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		if (in[0] == '\\' && in[1] == 'x' && isxdigit((unsigned char)in[2]) &&
		    isxdigit((unsigned char)in[3]) && sscanf(in + 2, "%2x", &v) == 1 && v) {
			out[n++] = (char)v;
			in += 3;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = 0;
	return 0;
}

/* A name the library refuses (a control byte) but that another program
 * made in /dev/shm: ls lists it, so stat and rm take it (a->foreign). */
static bool foreign_name(const char *raw, struct address *a)
{
	const char *p = raw[0] == '/' ? raw + 1 : raw;
	char path[sizeof(DEV_SHM) + NAME_BUF];
	struct stat st;
	bool odd = false;

	for (const char *c = p; *c; c++)
		odd |= (unsigned char)*c < 0x20 || *c == 0x7f;
	if (!odd || strchr(p, '/') || strlen(p) > SHMX_NAME_MAX)
		return false;
	snprintf(path, sizeof(path), DEV_SHM "/%s", p);
	if (lstat(path, &st) < 0)
		return false;
	snprintf(a->name, sizeof(a->name), "/%s", p);
	a->kind = A_POSIX;
	a->foreign = true;
	return true;
}

int address_arg(const char *in, struct address *a)
{
	char raw[PATH_MAX];

	memset(a, 0, sizeof(*a));
	a->arg = in;
	if (unescape(in, raw, sizeof(raw)))
		return usage_error("path too long: '%.40s...'", shown(in));
	in = raw;
	if (!strncmp(in, SYSV_PREFIX, strlen(SYSV_PREFIX)))
		return sysv_arg(in, a);
	/* glibc's shm_open, Python and the library mean (or refuse) the
	 * object /x; as a path it would be /x at the root of the file system. */
	if (!strncmp(in, "//", 2))
		return usage_error("invalid address '%s': a name has one leading '/' "
				   "(/x), a file's path is not written with '//'", shown(in));
	if (is_file_path(in)) {
		if (strlen(in) >= sizeof(a->name))
			return usage_error("path too long: '%.40s...'", shown(in));
		a->kind = A_FILE;
		strcpy(a->name, in);
		return 0;
	}
	a->kind = A_POSIX;
	if (canon_name(in, a->name) == -EINVAL && foreign_name(in, a))
		return 0;
	return name_arg(in, a->name) ? EXIT_USAGE : 0;
}

/* The options of a command that takes only --json and --help: -1 to go
 * on, or the exit status to return now (help shown, or a usage error). */
int json_opts(int argc, char **argv, bool *json)
{
	static const struct option longs[] = {
		HELP_OPT, { "json", no_argument, NULL, 'j' }, END_OPT,
	};
	int c;

	opt_reset();
	while ((c = next_opt(argc, argv, ":h", longs)) != -1) {
		if (c == 'h')
			return show_help(cmd);
		if (c != 'j')
			return EXIT_USAGE;
		*json = true;
	}
	return -1;
}

/* The operands at argv[optind...] are all addresses, at least one: 0, or a
 * usage error (exit status 2) before anything is done to any of them. */
int addresses_arg(int argc, char **argv)
{
	struct address a;

	if (optind >= argc)
		return usage_error("missing object name");
	for (int i = optind; i < argc; i++)
		if (address_arg(argv[i], &a))
			return EXIT_USAGE;
	return 0;
}

/* Exactly one operand, an address, into *a: 0, or a usage error. */
int one_address_arg(int argc, char **argv, struct address *a)
{
	if (optind >= argc)
		return usage_error("missing object name");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", shown(argv[optind + 1]));
	return address_arg(argv[optind], a) ? EXIT_USAGE : 0;
}

int address_sysv_id(const struct address *a)
{
	struct shmx_region *r;
	int id, err;

	if (a->kind == A_SYSV_ID)
		return a->id;
	err = shmx_sysv_open(a->key, SHMX_RDONLY, &r);
	if (err)
		return err;
	id = shmx_sysv_id(r);
	shmx_close(r);
	return id;
}

int address_open(const struct address *a, unsigned flags, struct shmx_region **ret)
{
	switch (a->kind) {
	case A_POSIX: return shmx_open(a->name, flags, ret);
	case A_FILE: return shmx_file_open(a->name, flags, ret);
	case A_SYSV_KEY: return shmx_sysv_open(a->key, flags, ret);
	default: return shmx_sysv_open_id(a->id, flags, ret);
	}
}

const char *address_kind(const struct address *a)
{
	static const char *const kinds[] = { "posix", "file", "sysv", "sysv" };

	return kinds[a->kind];
}
