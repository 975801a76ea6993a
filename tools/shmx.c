/* SPDX-License-Identifier: MIT */
/*
 * shmx: list, inspect, create, dump, write, remove and garbage-collect POSIX
 * shared memory. Built on the public <shmx.h> only, as any user program
 * would be, plus what libc offers to look at /dev/shm and /proc.
 *
 * Exit status: 0 success, 1 an operation failed, 2 usage error.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <shmx.h>

#define EXIT_FAIL  1
#define EXIT_USAGE 2

#define DEV_SHM "/dev/shm"
#define SEM_PREFIX "sem."
#define PAIR_W ".shmx-w"
#define PAIR_R ".shmx-r"
#define PAIR_P ".shmx-p"        /* the pair's control object, a region file */
/* "/" + NAME_MAX + NUL, and a little room */
#define NAME_BUF 272

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static const struct command *cmd;       /* the one running, for messages */

/* ---- messages ---- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
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
static int op_error(const char *name, int err)
{
	fprintf(stderr, "shmx: %s %s: %s\n", cmd->name, name, shmx_strerror(err));
	return EXIT_FAIL;
}

static int op_errorf(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int op_errorf(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shmx: %s %s: ", cmd->name, name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* ---- names ---- */

/* The rules of shmx(7): "foo" and "/foo" are the same object; empty, ".",
 * "..", a second '/' and control bytes are refused. Checked here so that a
 * malformed name is a usage error, not a failed operation. */
static int canon_name(const char *in, char out[NAME_BUF])
{
	const char *p = in[0] == '/' ? in + 1 : in;
	size_t len = strlen(p);

	if (!len || !strcmp(p, ".") || !strcmp(p, ".."))
		return -EINVAL;
	for (const char *q = p; *q; q++)
		if (*q == '/' || (unsigned char)*q < 0x20 || *q == 0x7f)
			return -EINVAL;
	if (len > SHMX_NAME_MAX)
		return -ENAMETOOLONG;
	out[0] = '/';
	memcpy(out + 1, p, len + 1);
	return 0;
}

static int name_arg(const char *in, char out[NAME_BUF])
{
	int err = canon_name(in, out);

	if (err == -ENAMETOOLONG)
		return usage_error("name too long (at most %d bytes): '%.40s...'",
				   SHMX_NAME_MAX, in);
	if (err)
		return usage_error("invalid object name '%s'", in);
	return 0;
}

/* Length of the valid UTF-8 sequence at s, or 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
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

static bool utf8_valid(const char *s)
{
	size_t n;

	for (; *s; s += n)
		if (!(n = utf8_len((const unsigned char *)s)))
			return false;
	return true;
}

/* Names come from other programs too: odd bytes are shown as \xNN so that a
 * name cannot drive the terminal. */
static void put_name(FILE *f, const char *s)
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

/* JSON strings must be UTF-8: a byte that is not becomes U+FFFD (and
 * json_name adds the exact bytes in hex). */
static void json_str(FILE *f, const char *s)
{
	size_t n;

	fputc('"', f);
	for (; *s; s += n) {
		unsigned char c = (unsigned char)*s;

		n = utf8_len((const unsigned char *)s);
		if (!n) {
			fputs("\\ufffd", f);
			n = 1;
		} else if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else {
			fwrite(s, 1, n, f);
		}
	}
	fputc('"', f);
}

static void json_name(FILE *f, const char *key, const char *name)
{
	fprintf(f, "\"%s\":", key);
	json_str(f, name);
	if (utf8_valid(name))
		return;
	fprintf(f, ",\"%s_hex\":\"", key);
	for (const char *p = name; *p; p++)
		fprintf(f, "%02x", (unsigned char)*p);
	fputc('"', f);
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

static int size_arg(const char *what, const char *s, bool allow_zero, uint64_t *out)
{
	int err = parse_size(s, allow_zero, out);

	if (err == -ERANGE)
		return usage_error("%s too large: '%s'", what, s);
	if (err)
		return usage_error("invalid %s '%s' (%s: 4096, 64K, 1M, 2G ...)", what, s,
				   allow_zero ? "a number of bytes" : "a number of bytes above 0");
	return 0;
}

/* Like ls -h: round up, one decimal below 10. */
static const char *human(uint64_t v, char buf[24])
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

static const char *user_name(uid_t uid, char buf[32])
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		return pw->pw_name;
	snprintf(buf, 32, "%u", (unsigned)uid);
	return buf;
}

static const char *group_name(gid_t gid, char buf[32])
{
	struct group *gr = getgrgid(gid);

	if (gr)
		return gr->gr_name;
	snprintf(buf, 32, "%u", (unsigned)gid);
	return buf;
}

static const char *rwx(mode_t m, char buf[11])
{
	static const char c[] = "rwxrwxrwx";

	buf[0] = '-';
	for (int i = 0; i < 9; i++)
		buf[i + 1] = (m & (0400u >> i)) ? c[i] : '-';
	buf[10] = 0;
	return buf;
}

/* ---- what is in /dev/shm ---- */

enum kind { K_REGION, K_PAIR, K_CHANNEL, K_SEM };
enum state { S_NONE, S_ALIVE, S_STALE, S_UNKNOWN, S_ORPHAN };

static const char *const kind_str[] = { "region", "pair", "channel", "semaphore" };
static const char *const state_str[] = { "-", "alive", "stale", "unknown", "orphan" };

struct entry {
	char name[NAME_BUF];    /* "/x"; a semaphore's is the name sem_open takes */
	char pair[NAME_BUF];    /* pair semaphore: its region's name, else "" */
	enum kind kind;
	enum state state;
	uint64_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	uint32_t holders;
	bool chan_ok;
	struct shmx_chan_info chan;
};

struct list {
	struct entry *e;
	size_t n;
};

static int by_name(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (int)x->kind - (int)y->kind;
}

static struct entry *find_region(const struct list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].kind != K_SEM && !strcmp(l->e[i].name, name))
			return &l->e[i];
	return NULL;
}

/* glibc keeps semaphore "/x" as the file "sem.x" of sizeof(sem_t) bytes; a
 * region named "/sem.x" of another size stays a region. */
static bool is_sem_file(const char *file, const struct stat *st)
{
	return !strncmp(file, SEM_PREFIX, strlen(SEM_PREFIX)) &&
	       file[strlen(SEM_PREFIX)] && st->st_size == (off_t)sizeof(sem_t);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a > b && !strcmp(s + a - b, suf);
}

static int add_file(struct list *l, const char *file)
{
	char path[sizeof(DEV_SHM) + NAME_BUF];
	struct entry *e, *ne;
	struct stat st;

	if (strlen(file) + 1 >= NAME_BUF)
		return 0;
	snprintf(path, sizeof(path), DEV_SHM "/%s", file);
	/* Gone since readdir, or not an object (a directory, a symlink). */
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	ne = realloc(l->e, (l->n + 1) * sizeof(*l->e));
	if (!ne)
		return -ENOMEM;
	l->e = ne;
	e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	e->kind = is_sem_file(file, &st) ? K_SEM : K_REGION;
	snprintf(e->name, sizeof(e->name), "/%s",
		 e->kind == K_SEM ? file + strlen(SEM_PREFIX) : file);
	e->size = (uint64_t)st.st_size;
	e->mode = st.st_mode & 07777;
	e->uid = st.st_uid;
	e->gid = st.st_gid;
	e->mtime = st.st_mtim;
	return 0;
}

static enum state owner_state(uint32_t holders)
{
	if (holders & SHMX_HOLDERS_UNKNOWN)
		return S_UNKNOWN;
	return (holders & (1u << SHMX_SLOT_OWNER)) ? S_ALIVE : S_STALE;
}

static void classify_region(struct entry *e)
{
	struct shmx_info info;

	if (shmx_stat(e->name, &info))
		return;
	e->size = info.size;
	e->mode = info.mode;
	e->uid = info.uid;
	e->gid = info.gid;
	e->mtime = info.mtime;
	e->holders = info.holders;
	if (!shmx_chan_stat(e->name, &e->chan)) {
		e->kind = K_CHANNEL;
		e->chan_ok = true;
		e->state = owner_state(e->chan.holders);
	}
}

/* Semaphore "/x.shmx-w" or "/x.shmx-r", or the control object "/x.shmx-p":
 * part of the pair of region "/x". */
static bool is_pair_part(const struct entry *e)
{
	if (e->kind == K_SEM)
		return has_suffix(e->name, PAIR_W) || has_suffix(e->name, PAIR_R);
	return e->kind == K_REGION && has_suffix(e->name, PAIR_P);
}

/* A region carrying pair parts is a pair; a region whose header decodes is
 * a channel. Anything else belongs to some other program and is only
 * described, never judged. */
static void classify(struct list *l)
{
	struct entry *e, *r;
	size_t i, cut;

	for (i = 0; i < l->n; i++)
		if (l->e[i].kind == K_REGION)
			classify_region(&l->e[i]);
	for (i = 0; i < l->n; i++) {
		e = &l->e[i];
		if (!is_pair_part(e))
			continue;
		cut = strlen(e->name) - strlen(PAIR_W);
		memcpy(e->pair, e->name, cut);
		e->pair[cut] = 0;
		r = find_region(l, e->pair);
		if (!r) {
			e->state = S_ORPHAN;
		} else if (r->kind == K_REGION) {
			r->kind = K_PAIR;
			r->state = owner_state(r->holders);
		}
	}
	for (i = 0; i < l->n; i++) {
		e = &l->e[i];
		if (e->pair[0] && e->state != S_ORPHAN)
			e->state = find_region(l, e->pair)->state;
	}
}

static int scan(struct list *l)
{
	struct dirent *de;
	int err = 0;
	DIR *d;

	memset(l, 0, sizeof(*l));
	d = opendir(DEV_SHM);
	if (!d)
		return -errno;
	while (!err && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			err = add_file(l, de->d_name);
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (err) {
		free(l->e);
		return err;
	}
	if (l->n)
		qsort(l->e, l->n, sizeof(*l->e), by_name);
	classify(l);
	return 0;
}

static bool is_libshmx(const struct entry *e)
{
	return e->kind == K_PAIR || e->kind == K_CHANNEL || e->pair[0];
}

/* ---- option parsing ---- */

#define HELP_OPT { "help", no_argument, NULL, 'h' }
#define END_OPT  { NULL, 0, NULL, 0 }

static int show_help(const struct command *c);

static void opt_reset(void)
{
	optind = 0;     /* glibc: full re-initialisation */
	opterr = 0;     /* our own messages */
}

/* getopt_long; returns the option, -1 at the end, or '?' after a usage
 * error has been printed. */
static int next_opt(int argc, char **argv, const char *shorts,
		    const struct option *longs)
{
	int c = getopt_long(argc, argv, shorts, longs, NULL);

	if (c == '?') {
		if (optopt)
			usage_error("unknown option '-%c'", optopt);
		else
			usage_error("unknown option '%s'", argv[optind - 1]);
	} else if (c == ':') {
		usage_error("option '%s' needs a value", argv[optind - 1]);
		c = '?';
	}
	return c;
}

/* ---- shmx ls ---- */

static void time_local(const struct timespec *ts, char buf[32])
{
	struct tm tm;
	time_t t = ts->tv_sec;

	localtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M", &tm);
}

static void time_iso(const struct timespec *ts, char buf[48])
{
	struct tm tm;
	time_t t = ts->tv_sec;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 48 - n, ".%09ldZ", ts->tv_nsec);
}

static const char *size_str(uint64_t v, bool bytes, char buf[24])
{
	if (!bytes)
		return human(v, buf);
	snprintf(buf, 24, "%" PRIu64, v);
	return buf;
}

static void ls_text_entry(const struct entry *e, bool bytes, int wsize, int wuser)
{
	char sz[24], ub[32], tb[32];

	time_local(&e->mtime, tb);
	printf("%-9s %-7s %*s %04o %-*s %-16s ", kind_str[e->kind], state_str[e->state],
	       wsize, size_str(e->size, bytes, sz), (unsigned)e->mode, wuser,
	       user_name(e->uid, ub), tb);
	put_name(stdout, e->name);
	if (e->pair[0]) {
		fputs(e->state == S_ORPHAN ? "  (of missing pair " : "  (of pair ", stdout);
		put_name(stdout, e->pair);
		fputc(')', stdout);
	}
	fputc('\n', stdout);
}

static void ls_text(const struct list *l, bool bytes)
{
	char sz[24], ub[32];
	int wsize = 4, wuser = 5, w;
	size_t i;

	for (i = 0; i < l->n; i++) {
		w = (int)strlen(size_str(l->e[i].size, bytes, sz));
		wsize = w > wsize ? w : wsize;
		w = (int)strlen(user_name(l->e[i].uid, ub));
		wuser = w > wuser ? w : wuser;
	}
	printf("%-9s %-7s %*s %-4s %-*s %-16s %s\n", "KIND", "STATE", wsize, "SIZE",
	       "MODE", wuser, "OWNER", "MODIFIED", "NAME");
	for (i = 0; i < l->n; i++)
		ls_text_entry(&l->e[i], bytes, wsize, wuser);
}

static void ls_json_entry(const struct entry *e)
{
	char ub[32], gb[32], tb[48];

	time_iso(&e->mtime, tb);
	putchar('{');
	json_name(stdout, "name", e->name);
	printf(",\"kind\":\"%s\",\"size\":%" PRIu64 ",\"mode\":\"%04o\"", kind_str[e->kind],
	       e->size, (unsigned)e->mode);
	printf(",\"uid\":%u,\"user\":", (unsigned)e->uid);
	json_str(stdout, user_name(e->uid, ub));
	printf(",\"gid\":%u,\"group\":", (unsigned)e->gid);
	json_str(stdout, group_name(e->gid, gb));
	printf(",\"mtime\":\"%s\",\"mtime_epoch\":%lld", tb, (long long)e->mtime.tv_sec);
	printf(",\"libshmx\":%s,\"state\":", is_libshmx(e) ? "true" : "false");
	if (e->state == S_NONE)
		fputs("null", stdout);
	else
		printf("\"%s\"", state_str[e->state]);
	if (e->pair[0]) {
		putchar(',');
		json_name(stdout, "pair", e->pair);
	}
	if (e->chan_ok)
		printf(",\"capacity\":%" PRIu64 ",\"used\":%" PRIu64, e->chan.capacity,
		       e->chan.used);
	putchar('}');
}

static void ls_json(const struct list *l)
{
	fputs("{\"objects\":[", stdout);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? ",\n" : "\n", stdout);
		ls_json_entry(&l->e[i]);
	}
	fputs("\n]}\n", stdout);
}

/* System V segments as /proc/sysvipc/shm shows them: key shmid perms size
 * cpid lpid nattch uid gid ... (perms in octal). */
struct sysv {
	long long key, id, size, cpid, lpid, nattch;
	unsigned perms, uid, gid;
};

static int sysv_read(struct sysv **out, size_t *n)
{
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	struct sysv s, *v = NULL, *nv;
	char line[512];

	*n = 0;
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;    /* the header line */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lld %lld %o %lld %lld %lld %lld %u %u", &s.key, &s.id,
			   &s.perms, &s.size, &s.cpid, &s.lpid, &s.nattch, &s.uid,
			   &s.gid) != 9)
			continue;
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			fclose(f);
			return -ENOMEM;
		}
		v = nv;
		v[(*n)++] = s;
	}
	fclose(f);
	*out = v;
	return 0;
}

static const char *sysv_status(unsigned perms)
{
	/* SHM_DEST (01000): removed, lives until the last detach; SHM_LOCKED */
	if (perms & 01000)
		return (perms & 02000) ? "dest locked" : "dest";
	return (perms & 02000) ? "locked" : "";
}

static void sysv_json(const struct sysv *s, bool first)
{
	char ub[32];

	printf("%s\n{\"key\":\"0x%08x\",\"id\":%lld,\"uid\":%u,\"owner\":", first ? "" : ",",
	       (unsigned)s->key, s->id, s->uid);
	json_str(stdout, user_name(s->uid, ub));
	printf(",\"gid\":%u,\"mode\":\"%04o\",\"size\":%lld,\"attached\":%lld,"
	       "\"cpid\":%lld,\"lpid\":%lld,\"status\":\"%s\"}",
	       s->gid, s->perms & 0777, s->size, s->nattch, s->cpid, s->lpid,
	       sysv_status(s->perms));
}

static int ls_sysv(bool json, bool bytes)
{
	struct sysv *v = NULL;
	char ub[32], sz[24];
	size_t n, i;
	int err;

	err = sysv_read(&v, &n);
	if (err) {
		fprintf(stderr, "shmx: ls: /proc/sysvipc/shm: %s\n", shmx_strerror(err));
		return EXIT_FAIL;
	}
	if (json)
		fputs("{\"sysv\":[", stdout);
	else
		printf("%-10s %-10s %-10s %-5s %10s %-6s %s\n", "KEY", "SHMID", "OWNER",
		       "PERMS", "SIZE", "NATTCH", "STATUS");
	for (i = 0; i < n; i++) {
		const struct sysv *s = &v[i];

		if (json)
			sysv_json(s, i == 0);
		else
			printf("0x%08x %-10lld %-10s %-5o %10s %-6lld %s\n", (unsigned)s->key,
			       s->id, user_name(s->uid, ub), s->perms & 0777,
			       size_str((uint64_t)s->size, bytes, sz), s->nattch,
			       sysv_status(s->perms));
	}
	if (json)
		fputs("\n]}\n", stdout);
	free(v);
	return 0;
}

static int cmd_ls(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' }, { "sysv", no_argument, NULL, 's' },
		END_OPT,
	};
	bool bytes = false, json = false, sysv = false;
	struct list l;
	int c, err;

	opt_reset();
	while ((c = next_opt(argc, argv, ":hb", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'b': bytes = true; break;
		case 'j': json = true; break;
		case 's': sysv = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (sysv)
		return ls_sysv(json, bytes);
	err = scan(&l);
	if (err) {
		fprintf(stderr, "shmx: ls: " DEV_SHM ": %s\n", shmx_strerror(err));
		return EXIT_FAIL;
	}
	if (json)
		ls_json(&l);
	else
		ls_text(&l, bytes);
	free(l.e);
	return 0;
}

/* ---- shmx stat ---- */

/* Does /proc/PID/maps (an open file) have a line for path with inode ino? */
static bool maps_has(FILE *f, const char *path, ino_t ino)
{
	char line[4352];
	unsigned long long inode;
	int off;

	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		off = -1;
		if (sscanf(line, "%*s %*s %*s %*s %llu %n", &inode, &off) < 1 || off < 0)
			continue;
		if (inode == (unsigned long long)ino && !strcmp(line + off, path))
			return true;
	}
	return false;
}

static void print_comm(const char *pid, bool first)
{
	char file[300], comm[64] = "?";
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%s/comm", pid);
	f = fopen(file, "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			strcpy(comm, "?");
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = 0;
	printf("%-12s%s (", first ? "Mapped by:" : "", pid);
	put_name(stdout, comm);
	printf(")\n");
}

/* Processes mapping the object (path under /dev/shm, same inode), from
 * /proc/PID/maps. Only the processes we may inspect are seen. */
static void mapped_by(const char *path, ino_t ino)
{
	struct dirent *de;
	char file[300];
	int found = 0;
	bool hit;
	FILE *f;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(file, sizeof(file), "/proc/%s/maps", de->d_name);
		f = fopen(file, "re");
		if (!f)
			continue;
		hit = maps_has(f, path, ino);
		fclose(f);
		if (hit)
			print_comm(de->d_name, !found++);
	}
	closedir(d);
	if (!found)
		printf("%-12s%s\n", "Mapped by:", "none seen");
}

static void print_time(const char *label, const struct timespec *ts)
{
	char buf[64], zone[16];
	struct tm tm;
	time_t t = ts->tv_sec;

	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	printf("%-12s%s.%09ld %s\n", label, buf, ts->tv_nsec, zone);
}

static void print_holders(uint32_t h)
{
	static const char *const slot[] = { "owner", "writer", "reader" };
	bool any = false;

	printf("%-12s", "Holders:");
	if (h & SHMX_HOLDERS_UNKNOWN) {
		printf("unknown (no access to the object's locks)\n");
		return;
	}
	for (unsigned i = 0; i < 31; i++) {
		if (!(h & (1u << i)))
			continue;
		if (i < 3)
			printf("%s%s", any ? ", " : "", slot[i]);
		else
			printf("%sslot %u", any ? ", " : "", i);
		any = true;
	}
	printf("%s\n", any ? "" : "none");
}

static void print_chan(const struct shmx_chan_info *ci)
{
	printf("%-12sformat %" PRIu32 ", header %" PRIu32 " bytes, ring %" PRIu64
	       " bytes, largest message %" PRIu64 "\n",
	       "Channel:", ci->abi, ci->header_size, ci->capacity, ci->max_msg);
	printf("%-12s%" PRIu64 " bytes queued, %" PRIu64 " sent, %" PRIu64 " received\n",
	       "", ci->used, ci->sent, ci->received);
	printf("%-12slast producer pid %d, last consumer pid %d\n", "",
	       (int)ci->producer_pid, (int)ci->consumer_pid);
}

static bool sem_exists(const char *name, const char *suffix)
{
	char path[sizeof(DEV_SHM) + 2 * NAME_BUF];
	struct stat st;

	snprintf(path, sizeof(path), DEV_SHM "/" SEM_PREFIX "%s%s", name + 1, suffix);
	return lstat(path, &st) == 0;
}

static void print_common(const char *name, const char *kind, const struct stat *st)
{
	char ub[32], gb[32], hb[24], mb[11];

	printf("%-12s", "Name:");
	put_name(stdout, name);
	printf("\n%-12s%s\n", "Kind:", kind);
	printf("%-12s%" PRIu64 " (%s)\n", "Size:", (uint64_t)st->st_size,
	       human((uint64_t)st->st_size, hb));
	printf("%-12s%04o (%s)\n", "Mode:", (unsigned)(st->st_mode & 07777),
	       rwx(st->st_mode, mb));
	printf("%-12s%u (%s)\n", "Owner:", (unsigned)st->st_uid, user_name(st->st_uid, ub));
	printf("%-12s%u (%s)\n", "Group:", (unsigned)st->st_gid, group_name(st->st_gid, gb));
	print_time("Access:", &st->st_atim);
	print_time("Modify:", &st->st_mtim);
	print_time("Change:", &st->st_ctim);
}

/* No region by that name: it may still be a named semaphore. */
static int stat_sem(const char *name, int region_err)
{
	char path[sizeof(DEV_SHM) + 2 * NAME_BUF];
	struct stat st;

	snprintf(path, sizeof(path), DEV_SHM "/" SEM_PREFIX "%s", name + 1);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return op_error(name, region_err);
	print_common(name, "semaphore", &st);
	mapped_by(path, st.st_ino);
	return 0;
}

static const char *state_text(uint32_t holders)
{
	switch (owner_state(holders)) {
	case S_ALIVE: return "alive (its owner holds its lock)";
	case S_STALE: return "stale (its owner is gone)";
	default: return "unknown (no access to the object's locks)";
	}
}

static int stat_one(const char *name)
{
	char path[sizeof(DEV_SHM) + NAME_BUF];
	struct shmx_chan_info ci;
	struct shmx_info info;
	bool pair, chan;
	struct stat st;
	int err;

	err = shmx_stat(name, &info);
	if (err == -ENOENT)
		return stat_sem(name, err);
	if (err)
		return op_error(name, err);
	snprintf(path, sizeof(path), DEV_SHM "%s", name);
	if (lstat(path, &st) < 0)
		return op_error(name, -errno);
	chan = shmx_chan_stat(name, &ci) == 0;
	pair = !chan && (sem_exists(name, PAIR_W) || sem_exists(name, PAIR_R));
	print_common(name, chan ? "libshmx channel" : pair ? "libshmx pair" : "region", &st);
	if (chan || pair)
		printf("%-12s%s\n", "State:", state_text(info.holders));
	print_holders(info.holders);
	if (pair)
		printf("%-12s%s%s%s, %s%s%s\n", "Semaphores:", name, PAIR_W,
		       sem_exists(name, PAIR_W) ? "" : " (missing)", name, PAIR_R,
		       sem_exists(name, PAIR_R) ? "" : " (missing)");
	if (chan)
		print_chan(&ci);
	mapped_by(path, st.st_ino);
	return 0;
}

static int cmd_stat(int argc, char **argv)
{
	static const struct option longs[] = { HELP_OPT, END_OPT };
	char name[NAME_BUF];
	int c, rc = 0;

	opt_reset();
	while ((c = next_opt(argc, argv, ":h", longs)) != -1)
		return c == 'h' ? show_help(cmd) : EXIT_USAGE;
	if (optind >= argc)
		return usage_error("missing object name");
	for (int i = optind; i < argc; i++)
		if (name_arg(argv[i], name))
			return EXIT_USAGE;
	for (int i = optind; i < argc; i++) {
		canon_name(argv[i], name);
		if (i > optind)
			putchar('\n');
		if (stat_one(name))
			rc = EXIT_FAIL;
	}
	return rc;
}

/* ---- shmx create ---- */

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

static int cmd_create(int argc, char **argv)
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
						   optarg);
			break;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("missing object name");
	if (optind + 1 >= argc)
		return usage_error("missing size");
	if (optind + 2 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 2]);
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
	printf("created %s: %" PRIu64 " bytes, mode %04o%s\n", name, size, (unsigned)mode,
	       (flags & SHMX_LAZY) ? ", pages not reserved" : "");
	return 0;
}

/* ---- shmx rm ---- */

/* The pair's control object "/x.shmx-p" (a file without the "sem." prefix). */
static bool ctl_exists(const char *name)
{
	char path[sizeof(DEV_SHM) + 2 * NAME_BUF];
	struct stat st;

	snprintf(path, sizeof(path), DEV_SHM "%s" PAIR_P, name);
	return lstat(path, &st) == 0;
}

static int rm_one(const char *name)
{
	struct shmx_chan_info ci;
	bool sems;
	int err, e2;

	sems = sem_exists(name, PAIR_W) || sem_exists(name, PAIR_R) || ctl_exists(name);
	if (!shmx_chan_stat(name, &ci))
		err = shmx_chan_unlink(name);
	else
		err = shmx_unlink(name);
	/* The region goes first: should its semaphores then resist, they are
	 * an orphaned pair, which gc recognises. */
	if (sems && (!err || err == -ENOENT)) {
		e2 = shmx_pair_unlink(name);
		return e2 == -ENOENT ? err : e2;
	}
	if (err != -ENOENT)
		return err;
	/* No region: a plain named semaphore, as ls shows it. */
	if (sem_unlink(name) == 0)
		return 0;
	return errno == ENOENT ? err : -errno;
}

static int cmd_rm(int argc, char **argv)
{
	static const struct option longs[] = { HELP_OPT, END_OPT };
	char name[NAME_BUF];
	int c, err, rc = 0;

	opt_reset();
	while ((c = next_opt(argc, argv, ":h", longs)) != -1)
		return c == 'h' ? show_help(cmd) : EXIT_USAGE;
	if (optind >= argc)
		return usage_error("missing object name");
	/* Keep going over the names: one failure does not stop the rest. */
	for (int i = optind; i < argc; i++) {
		err = canon_name(argv[i], name);
		if (err) {
			fprintf(stderr, "shmx: rm %s: %s\n", argv[i],
				err == -EINVAL ? "Invalid object name" : shmx_strerror(err));
			rc = EXIT_FAIL;
			continue;
		}
		err = rm_one(name);
		if (err)
			rc = op_error(name, err);
	}
	return rc;
}

/* ---- shmx gc ---- */

static bool matches(const char *name, char **pats, int n)
{
	if (n == 0)
		return true;
	for (int i = 0; i < n; i++)
		if (!fnmatch(pats[i], name, 0))
			return true;
	return false;
}

/* Checked again right before removing: an owner may have come along since
 * the scan (a region re-created under the same name). */
static bool still_stale(const struct entry *e)
{
	struct shmx_info info;

	if (e->pair[0])
		return shmx_stat(e->pair, &info) == -ENOENT;
	return !shmx_stat(e->name, &info) && owner_state(info.holders) == S_STALE;
}

static int gc_remove(const struct entry *e)
{
	int err, e2;

	if (e->pair[0])
		return shmx_pair_unlink(e->pair);
	if (e->kind == K_CHANNEL)
		return shmx_chan_unlink(e->name);
	err = shmx_unlink(e->name);
	if (!err || err == -ENOENT) {
		e2 = shmx_pair_unlink(e->name);
		err = e2 == -ENOENT ? err : e2;
	}
	return err;
}

static const char *gc_what(const struct entry *e)
{
	if (e->kind == K_PAIR)
		return "stale pair";
	if (e->kind == K_CHANNEL)
		return "stale channel";
	return "orphaned semaphores of pair";
}

struct gc_count {
	unsigned removed, live, unknown, failed;
};

static void gc_entry(const struct entry *e, bool dry, struct gc_count *n)
{
	const char *name = e->pair[0] ? e->pair : e->name;
	int err;

	if (e->state == S_UNKNOWN) {
		n->unknown++;
		printf("skipped ");
		put_name(stdout, name);
		printf(": cannot read its owner's lock (no access)\n");
		return;
	}
	if (e->state == S_ALIVE || (!dry && !still_stale(e))) {
		n->live++;
		return;
	}
	err = dry ? 0 : gc_remove(e);
	if (err && err != -ENOENT) {
		n->failed++;
		op_error(name, err);
		return;
	}
	n->removed++;
	printf("%s %s ", dry ? "would remove" : "removed", gc_what(e));
	put_name(stdout, name);
	putchar('\n');
}

/* One line per orphaned pair, whichever of its semaphores is left. */
static bool seen_orphan(const struct list *l, size_t i)
{
	if (!l->e[i].pair[0])
		return false;
	for (size_t j = 0; j < i; j++)
		if (l->e[j].state == S_ORPHAN && !strcmp(l->e[j].pair, l->e[i].pair))
			return true;
	return false;
}

static int gc_run(char **pats, int npats, bool dry)
{
	struct gc_count n = { 0 };
	struct list l;
	int err;

	err = scan(&l);
	if (err) {
		fprintf(stderr, "shmx: gc: " DEV_SHM ": %s\n", shmx_strerror(err));
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct entry *e = &l.e[i];

		/* Only libshmx objects; a pair's semaphores go with its region. */
		if (!is_libshmx(e) || (e->pair[0] && e->state != S_ORPHAN) ||
		    seen_orphan(&l, i))
			continue;
		if (matches(e->pair[0] ? e->pair : e->name, pats, npats))
			gc_entry(e, dry, &n);
	}
	free(l.e);
	printf("gc: %s %u stale object%s, kept %u live, %u unknown, %u failed%s\n",
	       dry ? "would remove" : "removed", n.removed, n.removed == 1 ? "" : "s",
	       n.live, n.unknown, n.failed, dry ? " (dry run: nothing removed)" : "");
	return n.failed ? EXIT_FAIL : 0;
}

static int cmd_gc(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "dry-run", no_argument, NULL, 'n' }, END_OPT,
	};
	bool dry = false;
	int c, n, rc;
	char **pats;

	opt_reset();
	while ((c = next_opt(argc, argv, ":hn", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'n': dry = true; break;
		default: return EXIT_USAGE;
		}
	}
	n = argc - optind;
	pats = calloc((size_t)n + 1, sizeof(*pats));
	if (!pats)
		return op_error("", -ENOMEM);
	/* Patterns match canonical names: "app-*" means "/app-*". */
	for (int i = 0; i < n; i++) {
		const char *p = argv[optind + i];

		if (asprintf(&pats[i], "%s%s", p[0] == '/' ? "" : "/", p) < 0)
			return op_error(p, -ENOMEM);
	}
	rc = gc_run(pats, n, dry);
	for (int i = 0; i < n; i++)
		free(pats[i]);
	free(pats);
	return rc;
}

/* ---- shmx cat ---- */

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

static int cmd_cat(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "offset", required_argument, NULL, 'o' },
		{ "length", required_argument, NULL, 'n' },
		{ "hex", no_argument, NULL, 'x' }, END_OPT,
	};
	uint64_t off = 0, len = UINT64_MAX, size;
	struct shmx_region *r;
	char name[NAME_BUF];
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
	if (optind >= argc)
		return usage_error("missing object name");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (name_arg(argv[optind], name))
		return EXIT_USAGE;
	err = shmx_open(name, SHMX_RDONLY, &r);
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

/* ---- shmx write ---- */

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

static int write_data(const char *name, struct shmx_region *r, uint64_t off)
{
	uint64_t size = shmx_size(r), room;
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int err;

	if (off > size)
		return op_errorf(name, "offset %" PRIu64 " is past the end (size %" PRIu64
				 "); nothing written", off, size);
	room = size - off;
	err = read_input(room, &buf, &len);
	if (err)
		return op_errorf(name, "reading standard input: %s", shmx_strerror(err));
	if (len > room) {
		free(buf);
		return op_errorf(name, "input does not fit: more than %" PRIu64 " bytes from "
				 "offset %" PRIu64 " to the end (size %" PRIu64
				 "); nothing written", room, off, size);
	}
	n = shmx_write(r, (size_t)off, buf, len);
	free(buf);
	if (n < 0)
		return op_error(name, (int)n);
	printf("wrote %zd bytes to %s at offset %" PRIu64 "\n", n, name, off);
	return 0;
}

static int cmd_write(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "offset", required_argument, NULL, 'o' }, END_OPT,
	};
	struct shmx_region *r;
	char name[NAME_BUF];
	uint64_t off = 0;
	int c, err, rc;

	opt_reset();
	while ((c = next_opt(argc, argv, ":ho:", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'o':
			if (size_arg("offset", optarg, true, &off))
				return EXIT_USAGE;
			break;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("missing object name");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (name_arg(argv[optind], name))
		return EXIT_USAGE;
	err = shmx_open(name, 0, &r);
	if (err)
		return op_error(name, err);
	rc = write_data(name, r, off);
	shmx_close(r);
	return rc;
}

/* ---- help and dispatch ---- */

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "ls", cmd_ls, "ls [-b|--bytes] [--json] [--sysv]",
	  "List every POSIX shared-memory object and named semaphore in /dev/shm:\n"
	  "kind (region, semaphore, pair, channel), state of libshmx objects (alive:\n"
	  "their owner holds its lock; stale: the owner is gone; orphan: semaphores\n"
	  "of a pair whose region is gone), size, mode, owner, modification time.\n"
	  "\n"
	  "  -b, --bytes   exact sizes in bytes instead of 4.0K, 1.5M, ...\n"
	  "      --json    one JSON document {\"objects\": [...]} for scripts\n"
	  "      --sysv    System V segments (/proc/sysvipc/shm) instead, like ipcs -m\n" },
	{ "stat", cmd_stat, "stat NAME...",
	  "Show everything about an object: size, mode, owner and group, times, its\n"
	  "kind, the liveness locks held on it, the decoded header of a libshmx\n"
	  "channel, and the processes that have it mapped (those you may inspect).\n" },
	{ "create", cmd_create, "create NAME SIZE [--mode MODE] [--lazy]",
	  "Create a new object of SIZE bytes (4096, 64K, 1M, 2G, 1KiB ...); fails if\n"
	  "NAME exists. Its pages are reserved now, so a full /dev/shm fails here.\n"
	  "\n"
	  "  -m, --mode MODE   octal permissions, 0001 to 0777 (default 0600)\n"
	  "      --lazy        do not reserve the pages\n" },
	{ "rm", cmd_rm, "rm NAME...",
	  "Remove objects by name: a region, a libshmx pair (its semaphores too) or\n"
	  "channel, or a named semaphore. Goes on past a failure; exit 1 if any failed.\n" },
	{ "gc", cmd_gc, "gc [--dry-run] [PATTERN...]",
	  "Remove libshmx objects whose owner is dead: stale pairs and channels (their\n"
	  "owner's lock is free) and orphaned pair semaphores (their region is gone).\n"
	  "Live objects and other programs' objects are never touched. PATTERNs\n"
	  "(shell globs on the name, e.g. '/myapp-*') restrict it further.\n"
	  "\n"
	  "  -n, --dry-run   only print what would be removed\n" },
	{ "cat", cmd_cat, "cat NAME [--offset N] [--length N] [--hex]",
	  "Copy an object's bytes to standard output; stops at the end of the object.\n"
	  "\n"
	  "  -o, --offset N   start at byte N (4096, 64K, ...; past the end is an error)\n"
	  "  -n, --length N   at most N bytes\n"
	  "  -x, --hex        offsets, hex bytes and text, like hexdump -C\n" },
	{ "write", cmd_write, "write NAME [--offset N] < DATA",
	  "Copy standard input into an existing object at offset N (default 0). Input\n"
	  "that would go past the end is refused whole: nothing is written.\n"
	  "\n"
	  "  -o, --offset N   start at byte N\n" },
	{ "help", cmd_help, "help [COMMAND]", "Show the help of shmx or of one command.\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int show_help(const struct command *c)
{
	printf("Usage: shmx %s\n\n%s", c->synopsis, c->help);
	return 0;
}

static int main_help(void)
{
	printf("Usage: shmx COMMAND [OPTION]... [ARG]...\n"
	       "Inspect and manage POSIX shared memory (libshmx %s).\n\nCommands:\n",
	       shmx_version());
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  shmx %s\n", commands[i].synopsis);
	printf("\nNames are given with or without the leading '/'.\n"
	       "Sizes and offsets: 4096, 64K, 1M, 2G (also KiB, MiB, GiB).\n"
	       "Exit status: 0 success, 1 an operation failed, 2 usage error.\n"
	       "'shmx help COMMAND' or 'shmx COMMAND --help' for more; see shmx(1).\n");
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2)
		return main_help();
	if (argc > 2)
		return usage_error("unexpected argument '%s'", argv[2]);
	c = find_command(argv[1]);
	if (!c)
		return usage_error("unknown command '%s'", argv[1]);
	return show_help(c);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "shmx: missing command\nTry 'shmx --help'.\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return main_help();
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("shmx (libshmx) %s\n", shmx_version());
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "shmx: unknown command '%s'\nTry 'shmx --help'.\n", argv[1]);
		return EXIT_USAGE;
	}
	return cmd->run(argc - 1, argv + 1);
}
