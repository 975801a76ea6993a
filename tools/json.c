/* SPDX-License-Identifier: MIT */
/* What every --json document shares (shmx(1), JSON): strings, the record
 * of one object (the same keys whatever the command), and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "shmx-tool.h"

/* ---- strings ---- */

/* JSON strings must be UTF-8: a byte that is not becomes U+FFFD (and
 * json_name adds the exact bytes in hex). */
void json_str(FILE *f, const char *s)
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

void json_name(FILE *f, const char *key, const char *name)
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

void json_sep(bool *first)
{
	fputs(*first ? "\n" : ",\n", stdout);
	*first = false;
}

/* ---- the record of one object ---- */

/* never: a segment's attach or detach time before the first one (0) */
static void json_time(const char *key, const struct timespec *ts, bool never)
{
	char tb[48];

	if (never && !ts->tv_sec && !ts->tv_nsec) {
		printf(",\"%s\":null", key);
		return;
	}
	time_iso(ts, tb);
	printf(",\"%s\":\"%s\"", key, tb);
}

static void json_holders(uint32_t h)
{
	static const char *const slot[] = { "owner", "writer", "reader" };
	bool any = false;

	fputs(",\"holders\":", stdout);
	if (h & SHMX_HOLDERS_UNKNOWN) {
		fputs("null", stdout);
		return;
	}
	putchar('[');
	for (unsigned i = 0; i < 3; i++) {
		if (h & (1u << i)) {
			printf("%s\"%s\"", any ? "," : "", slot[i]);
			any = true;
		}
	}
	putchar(']');
}

static void json_meta(const struct facts *f)
{
	char ub[32], gb[32];

	if (!f->meta) {
		fputs(",\"size\":null,\"mode\":null,\"uid\":null,\"user\":null,\"gid\":null,"
		      "\"group\":null,\"atime\":null,\"mtime\":null,\"ctime\":null", stdout);
		return;
	}
	printf(",\"size\":%" PRIu64 ",\"mode\":\"%04o\"", (uint64_t)f->st.st_size,
	       (unsigned)(f->st.st_mode & 07777));
	printf(",\"uid\":%u,\"user\":", (unsigned)f->st.st_uid);
	json_str(stdout, user_name(f->st.st_uid, ub));
	printf(",\"gid\":%u,\"group\":", (unsigned)f->st.st_gid);
	json_str(stdout, group_name(f->st.st_gid, gb));
	json_time("atime", &f->st.st_atim, f->sysv);
	json_time("mtime", &f->st.st_mtim, f->sysv);
	json_time("ctime", &f->st.st_ctim, false);
}

static void json_extra(const struct facts *f)
{
	const struct shmx_sysv_info *si = &f->si;
	const struct shmx_chan_info *ci = &f->ci;

	fputs(",\"sysv\":", stdout);
	if (f->sysv)
		printf("{\"key\":\"0x%08x\",\"id\":%d,\"cuid\":%u,\"cgid\":%u,\"cpid\":%d,"
		       "\"lpid\":%d,\"attached\":%" PRIu64 ",\"removed\":%s}",
		       (unsigned)si->key, si->id, (unsigned)si->cuid, (unsigned)si->cgid,
		       (int)si->cpid, (int)si->lpid, si->nattch,
		       si->removed ? "true" : "false");
	else
		fputs("null", stdout);
	fputs(",\"channel\":", stdout);
	if (f->chan)
		printf("{\"capacity\":%" PRIu64 ",\"max_msg\":%" PRIu64 ",\"used\":%" PRIu64
		       ",\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64
		       ",\"producers\":%" PRIu32 ",\"consumers\":%" PRIu32 ",\"policy\":\"%s\"}",
		       ci->capacity, ci->max_msg, ci->used, ci->sent, ci->received, ci->lost,
		       ci->producers, ci->consumers,
		       ci->policy == SHMX_CHAN_POLICY_OVERWRITE ? "overwrite" : "block");
	else
		fputs("null", stdout);
}

void json_record(const struct facts *f)
{
	json_name(stdout, "address", f->name);
	printf(",\"kind\":\"%s\",\"type\":", f->kind);
	if (f->type)
		printf("\"%s\"", f->type);
	else
		fputs("null", stdout);
	json_meta(f);
	json_holders(f->meta ? f->holders : SHMX_HOLDERS_UNKNOWN);
	json_extra(f);
}

/* ---- errors ----
 * They come between the objects, but the document lists them after: they
 * wait in memory until json_errors(). */

static FILE *errs;
static char *errs_buf;
static size_t errs_len;
static unsigned n_errs;

static void json_error(const char *name, int err, const char *text)
{
	if (!errs && !(errs = open_memstream(&errs_buf, &errs_len)))
		return;
	fputs(n_errs++ ? ",\n{" : "\n{", errs);
	json_name(errs, "address", name);
	fprintf(errs, ",\"errno\":%d,\"error\":", -err);
	json_str(errs, text);
	fputc('}', errs);
}

void json_errors(void)
{
	fputs("\"errors\":[", stdout);
	if (errs) {
		fclose(errs);
		fwrite(errs_buf, 1, errs_len, stdout);
		free(errs_buf);
		errs = NULL;
	}
	fputs(n_errs ? "\n]" : "]", stdout);
	n_errs = 0;
}

int json_op_error(bool json, const char *name, int err)
{
	if (json)
		json_error(name, err, shmx_strerror(err));
	return op_error(name, err);
}

int json_op_errorf(bool json, const char *name, int err, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (json)
		json_error(name, err, text);
	return op_errorf(name, "%s", text);
}
