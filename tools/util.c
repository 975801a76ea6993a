/* SPDX-License-Identifier: MIT */
/* What every shmx command shares: messages, names as arguments and as
 * output (escaped), sizes and numbers, option parsing (addresses:
 * address.c). */
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

/* ---- names as output ---- */

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

