/* SPDX-License-Identifier: MIT */
/* What every shmx command shares: messages, names as arguments and as
 * output (escaped), sizes and numbers, option parsing. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "shmx-tool.h"

/* ---- messages ---- */

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shmx: %s%s", cmd ? cmd->name : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nUsage: shmx %s\nTry 'shmx %s --help'.\n", cmd->synopsis,
			cmd->name);
	else
		fprintf(stderr, "\nTry 'shmx --help'.\n");
	return EXIT_USAGE;
}

/* "shmx: rm /foo: No such file or directory" */
int op_error(const char *name, int err)
{
	fprintf(stderr, "shmx: %s %s: %s\n", cmd->name, shown(name), shmx_strerror(err));
	return EXIT_FAIL;
}

int op_errorf(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shmx: %s %s: ", cmd->name, shown(name));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* ---- names ---- */

static bool sem_file_name(const char *in)
{
	const char *p = in[0] == '/' ? in + 1 : in;

	return !strncmp(p, SEM_PREFIX, strlen(SEM_PREFIX));
}

/* The library's check (shmx_name_canon(3)), so that a malformed name is a
 * usage error here, not a failed operation. */
int canon_name(const char *in, char out[NAME_BUF])
{
	int n = shmx_name_canon(in, out, NAME_BUF);

	return n < 0 ? n : 0;
}

int name_arg(const char *in, char out[NAME_BUF])
{
	int err = canon_name(in, out);

	if (err == -ENAMETOOLONG)
		return usage_error("name too long (at most %d bytes): '%.40s...'",
				   SHMX_NAME_MAX, shown(in));
	if (err && sem_file_name(in))
		return usage_error("invalid object name '%s': names beginning with '"
				   SEM_PREFIX "' are semaphore files", shown(in));
	if (err)
		return usage_error("invalid object name '%s'", shown(in));
	return 0;
}

/* ---- addresses ---- */

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

size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

bool utf8_valid(const char *s)
{
	size_t n;

	for (; *s; s += n)
		if (!(n = utf8_len((const unsigned char *)s)))
			return false;
	return true;
}

/* Names come from other programs too: odd bytes are shown as \xNN so that a
 * name cannot drive the terminal. */
void put_name(FILE *f, const char *s)
{
	size_t n;

	for (; *s; s += n) {
		unsigned char c = (unsigned char)*s;

		n = utf8_len((const unsigned char *)s);
		if (c < 0x20 || c == 0x7f || c == '\\' || !n) {
			fprintf(f, "\\x%02x", c);
			n = 1;
		} else {
			fwrite(s, 1, n, f);
		}
	}
}

/* s as put_name() shows it, for messages; up to SHOWN_BUF bytes of it. A
 * few buffers in turn, so that one message can show several. */
const char *shown(const char *s)
{
	static char bufs[4][SHOWN_BUF];
	static unsigned next;
	char *b = bufs[next++ % 4];
	FILE *f;

	/* the last byte stays NUL whatever fmemopen does when full */
	memset(b, 0, SHOWN_BUF);
	f = fmemopen(b, SHOWN_BUF - 1, "w");
	if (!f)
		return "?";
	put_name(f, s);
	fclose(f);
	return b;
}

/* ---- numbers ---- */

/* 4096, 64K, 1M, 2G, 1KiB ... (powers of 1024). No sign, no spaces, no
 * overflow past INT64_MAX (off_t); zero only where allow_zero. */
static int parse_size(const char *s, bool allow_zero, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	uint64_t v = 0, mul = 1;
	const char *p = s, *u;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		u = strchr(units, toupper((unsigned char)*p));
		if (!u || !*u)
			return -EINVAL;
		for (long i = 0; i <= u - units; i++)
			mul *= 1024;
		p++;
		if (!strcmp(p, "iB") || !strcmp(p, "ib"))
			p += 2;
		if (*p)
			return -EINVAL;
	}
	if (v > (uint64_t)INT64_MAX / mul)
		return -ERANGE;
	v *= mul;
	if (!v && !allow_zero)
		return -EINVAL;
	*out = v;
	return 0;
}

int size_arg(const char *what, const char *s, bool allow_zero, uint64_t *out)
{
	int err = parse_size(s, allow_zero, out);

	if (err == -ERANGE)
		return usage_error("%s too large: '%s'", what, shown(s));
	if (err)
		return usage_error("invalid %s '%s' (%s: 4096, 64K, 1M, 2G ...)", what,
				   shown(s),
				   allow_zero ? "a number of bytes" : "a number of bytes above 0");
	return 0;
}

/* Like ls -h: round up, one decimal below 10. */
int timeout_arg(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < -1 || v > INT_MAX)
		return usage_error("invalid timeout '%s' (milliseconds, or -1)", shown(s));
	*out = (int)v;
	return 0;
}

int count_arg(const char *what, const char *s, unsigned max, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !isdigit((unsigned char)s[0]) || *end || v < 1 || v > max)
		return usage_error("invalid number of %s '%s' (1 to %u)", what, shown(s), max);
	*out = (uint32_t)v;
	return 0;
}

const char *human(uint64_t v, char buf[24])
{
	static const char units[] = "KMGTPE";
	uint64_t u = 1024, tenths, whole;
	int i = 0;

	if (v < 1024) {
		snprintf(buf, 24, "%" PRIu64, v);
		return buf;
	}
	while (i < 5 && v / u >= 1024) {
		u *= 1024;
		i++;
	}
	for (;;) {
		tenths = v / u * 10 + ((v % u) * 10 + u - 1) / u;
		if (tenths < 100) {
			snprintf(buf, 24, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10,
				 tenths % 10, units[i]);
			return buf;
		}
		whole = v / u + (v % u != 0);
		if (whole < 1024 || i == 5)
			break;
		u *= 1024;      /* 1023.5K rounds up to 1.0M */
		i++;
	}
	snprintf(buf, 24, "%" PRIu64 "%c", whole, units[i]);
	return buf;
}

const char *user_name(uid_t uid, char buf[32])
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		return pw->pw_name;
	snprintf(buf, 32, "%u", (unsigned)uid);
	return buf;
}

const char *group_name(gid_t gid, char buf[32])
{
	struct group *gr = getgrgid(gid);

	if (gr)
		return gr->gr_name;
	snprintf(buf, 32, "%u", (unsigned)gid);
	return buf;
}

const char *rwx(mode_t m, char buf[11])
{
	static const char c[] = "rwxrwxrwx";

	buf[0] = '-';
	for (int i = 0; i < 9; i++)
		buf[i + 1] = (m & (0400u >> i)) ? c[i] : '-';
	buf[10] = 0;
	return buf;
}

/* ---- option parsing ---- */

/* Operands met so far, kept in argv[1...]: slots already parsed. */
static int n_operands;

void opt_reset(void)
{
	optind = 0;     /* glibc: full re-initialisation */
	opterr = 0;     /* our own messages */
	n_operands = 0;
}

/* "-1", "-5K": an operand (a size, a name), never an option; none of our
 * options is a digit. */
static bool negative_number(const char *s)
{
	return s[0] == '-' && isdigit((unsigned char)s[1]);
}

/* The options have ended: the operands met so far go right before those
 * after "--", so argv[optind...] holds them all in order, as after GNU
 * getopt's own permutation. */
static void operands_last(char **argv)
{
	memmove(argv + optind - n_operands, argv + 1, (size_t)n_operands * sizeof(*argv));
	optind -= n_operands;
}

/* getopt_long; returns the option, -1 at the end, or '?' after a usage
 * error has been printed. getopt would read a negative number as options,
 * so operands are taken in order here ("-" leads shorts: getopt returns
 * them as 1) and put at the end of argv once the options end. */
int next_opt(int argc, char **argv, const char *shorts,
		    const struct option *longs)
{
	char in_order[32], opt[3] = { '-', 0, 0 };
	int c, i;

	snprintf(in_order, sizeof(in_order), "-%s", shorts);
	for (;;) {
		i = optind ? optind : 1;
		if (i < argc && negative_number(argv[i])) {
			argv[1 + n_operands++] = argv[i];
			optind = i + 1;
			continue;
		}
		c = getopt_long(argc, argv, in_order, longs, NULL);
		if (c != 1)
			break;
		argv[1 + n_operands++] = optarg;
	}
	if (c == -1) {
		operands_last(argv);
	} else if (c == '?') {
		opt[1] = (char)optopt;
		usage_error("unknown option '%s'",
			    shown(optopt ? opt : argv[optind - 1]));
	} else if (c == ':') {
		usage_error("option '%s' needs a value", shown(argv[optind - 1]));
		c = '?';
	}
	return c;
}


void time_local(const struct timespec *ts, char buf[32])
{
	struct tm tm;
	time_t t = ts->tv_sec;

	localtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M", &tm);
}

void time_iso(const struct timespec *ts, char buf[48])
{
	struct tm tm;
	time_t t = ts->tv_sec;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 48 - n, ".%09ldZ", ts->tv_nsec);
}

const char *size_str(uint64_t v, bool bytes, char buf[24])
{
	if (!bytes)
		return human(v, buf);
	snprintf(buf, 24, "%" PRIu64, v);
	return buf;
}

