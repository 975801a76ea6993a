/* SPDX-License-Identifier: MIT */
/* shmx ls: list what /dev/shm holds (or the System V segments), as text
 * or JSON. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <inttypes.h>

#include "shmx-tool.h"

static void ls_text_entry(const struct entry *e, bool bytes, int wsize, int wuser)
{
	char sz[24], ub[32], tb[32];

	time_local(&e->mtime, tb);
	printf("%-9s %-7s %*s %04o %-*s %-16s ", entry_type(e), state_str[e->state],
	       wsize, size_str(e->size, bytes, sz), (unsigned)e->mode, wuser,
	       user_name(e->uid, ub), tb);
	put_name(stdout, e->name);
	if (e->kind == K_PLANTED) {
		if (e->ftype == S_IFLNK) {
			fputs(" -> ", stdout);
			put_name(stdout, e->target);
		}
		fputs("  (planted: not an object)", stdout);
	}
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
	printf(",\"kind\":\"posix\",\"type\":\"%s\",\"size\":%" PRIu64 ",\"mode\":\"%04o\"",
	       entry_type(e), e->size, (unsigned)e->mode);
	if (e->kind == K_PLANTED)
		fputs(",\"planted\":true", stdout);
	if (e->kind == K_PLANTED && e->ftype == S_IFLNK) {
		putchar(',');
		json_name(stdout, "target", e->target);
	}
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
	/* the key of every other document: address is ls's name */
	putchar(',');
	json_name(stdout, "address", e->name);
	putchar('}');
}

/* The end of a document: its errors (a list that could not be read). */
static void json_end(void)
{
	fputs("\n],", stdout);
	json_errors();
	fputs("}\n", stdout);
}

static void ls_json(const struct list *l)
{
	bool first = true;

	fputs("{\"objects\":[", stdout);
	for (size_t i = 0; i < l->n; i++) {
		json_sep(&first);
		ls_json_entry(&l->e[i]);
	}
	json_end();
}

static void sysv_json(const struct sysv *s, bool *first)
{
	char ub[32], gb[32];

	json_sep(first);
	printf("{\"key\":\"0x%08x\",\"id\":%lld,\"uid\":%u,\"owner\":",
	       (unsigned)s->key, s->id, s->uid);
	json_str(stdout, user_name(s->uid, ub));
	printf(",\"gid\":%u,\"mode\":\"%04o\",\"size\":%lld,\"attached\":%lld,"
	       "\"cpid\":%lld,\"lpid\":%lld,\"status\":\"%s\"",
	       s->gid, s->perms & 0777, s->size, s->nattch, s->cpid, s->lpid,
	       sysv_status(s->perms));
	/* the keys of every other document; by id, which a key may not name */
	printf(",\"address\":\"sysv:@%lld\",\"kind\":\"sysv\",\"type\":\"segment\","
	       "\"user\":", s->id);
	json_str(stdout, user_name(s->uid, ub));
	fputs(",\"group\":", stdout);
	json_str(stdout, group_name(s->gid, gb));
	putchar('}');
}

static int ls_sysv(bool json, bool bytes)
{
	struct sysv *v = NULL;
	char ub[32], sz[24];
	bool first = true;
	size_t n = 0, i;
	int err;

	err = sysv_read(&v, &n);
	if (json)
		fputs("{\"sysv\":[", stdout);
	if (err) {
		json_op_error(json, "/proc/sysvipc/shm", err);
		if (json)
			json_end();
		return EXIT_FAIL;
	}
	if (!json)
		printf("%-10s %-10s %-10s %-5s %10s %-6s %-8s %-8s %s\n", "KEY", "SHMID",
		       "OWNER", "PERMS", "SIZE", "NATTCH", "CPID", "LPID", "STATUS");
	for (i = 0; i < n; i++) {
		const struct sysv *s = &v[i];

		if (json)
			sysv_json(s, &first);
		else
			printf("0x%08x %-10lld %-10s %-5o %10s %-6lld %-8lld %-8lld %s\n",
			       (unsigned)s->key, s->id, user_name(s->uid, ub), s->perms & 0777,
			       size_str((uint64_t)s->size, bytes, sz), s->nattch, s->cpid,
			       s->lpid, sysv_status(s->perms));
	}
	if (json)
		json_end();
	free(v);
	return 0;
}

static int ls_run(int argc, char **argv)
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
		return usage_error("unexpected argument '%s'", shown(argv[optind]));
	if (sysv)
		return ls_sysv(json, bytes);
	err = scan(&l);
	if (err) {
		json_op_error(json, DEV_SHM, err);
		if (json) {
			fputs("{\"objects\":[", stdout);
			json_end();
		}
		return EXIT_FAIL;
	}
	if (json)
		ls_json(&l);
	else
		ls_text(&l, bytes);
	free(l.e);
	return 0;
}

const struct command cmd_ls = {
	.name = "ls",
	.run = ls_run,
	.synopsis = "ls [-b|--bytes] [--json] [--sysv]",
	.help =
		"List every POSIX shared-memory object and named semaphore in /dev/shm:\n"
		"kind (region, semaphore, pair, channel), state of libshmx objects (alive:\n"
		"their owner holds its lock; in-use: the owner is gone, a live process\n"
		"holds a slot or maps it; stale: nobody; orphan: semaphores of a pair\n"
		"whose region is gone), size, mode, owner, modification time. What else\n"
		"is there (a symlink, FIFO, directory) is listed as planted.\n"
		"\n"
		"  -b, --bytes   exact sizes in bytes instead of 4.0K, 1.5M, ...\n"
		"      --json    one JSON document {\"objects\": [...], \"errors\": [...]}\n"
		"                for scripts (shmx(1), JSON)\n"
		"      --sysv    System V segments (/proc/sysvipc/shm) instead, like ipcs -m\n",
};
