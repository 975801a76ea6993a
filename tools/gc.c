/* SPDX-License-Identifier: MIT */
/* shmx gc: remove libshmx objects that provably belong to nobody alive. */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmx-tool.h"

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

	/* A pair's liveness is on its control object: its owner slot free
	 * (and nobody in a role or mapping it) before anything it records
	 * goes. */
	if (e->pair[0])
		return shmx_stat(e->pair, &info) == -ENOENT &&
		       object_state(e->pair, pair_holders(e->pair), false) == S_STALE;
	if (e->kind == K_PAIR)
		return !shmx_stat(e->name, &info) &&
		       object_state(e->name, pair_holders(e->name), false) == S_STALE;
	return !shmx_stat(e->name, &info) &&
	       object_state(e->name, info.holders, e->kind == K_CHANNEL) == S_STALE;
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

struct gc_run {
	bool dry, json, first;
	long long min_age;      /* seconds; younger objects are kept */
	unsigned removed, live, unknown, failed;
};

/* Changed (created, renamed) less than min_age seconds ago: an object
 * whose creator is still setting it up, or a pair's semaphores made just
 * before their region, is not judged yet. */
static bool too_young(const struct gc_run *g, const struct entry *e)
{
	struct timespec now;

	if (g->min_age <= 0)
		return false;
	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)now.tv_sec - (long long)e->ctime.tv_sec < g->min_age;
}

static const char *kept_why(const struct entry *e)
{
	switch (e->state) {
	case S_ALIVE: return "its owner holds its lock";
	case S_INUSE: return "a live process holds a slot or maps it";
	default: return "no longer stale when checked again";
	}
}

/* What the scan saw of e, as the record of every --json document. An
 * orphan is named by its pair (what rm takes); the rest is a semaphore's. */
static void entry_facts(const struct entry *e, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->name = e->pair[0] ? e->pair : e->name;
	f->kind = "posix";
	f->type = kind_str[e->kind];
	f->meta = true;
	f->st.st_size = (off_t)e->size;
	f->st.st_mode = e->mode;
	f->st.st_uid = e->uid;
	f->st.st_gid = e->gid;
	f->st.st_atim = e->atime;
	f->st.st_mtim = e->mtime;
	f->st.st_ctim = e->ctime;
	f->holders = e->kind == K_SEM ? SHMX_HOLDERS_UNKNOWN : e->holders;
	f->chan = e->chan_ok;
	f->ci = e->chan;
}

static void gc_json(struct gc_run *g, const struct entry *e, const char *action,
		    const char *why)
{
	struct facts f;

	entry_facts(e, &f);
	json_sep(&g->first);
	putchar('{');
	json_record(&f);
	printf(",\"state\":\"%s\",\"action\":\"%s\",\"reason\":\"%s\"}", state_str[e->state],
	       action, why);
}

static void gc_skip(struct gc_run *g, const struct entry *e, const char *name)
{
	static const char why[] = "cannot read its owner's lock (no access)";

	g->unknown++;
	if (g->json) {
		gc_json(g, e, "skipped", why);
		return;
	}
	printf("skipped ");
	put_name(stdout, name);
	printf(": %s\n", why);
}

static void gc_entry(const struct entry *e, struct gc_run *g)
{
	const char *name = e->pair[0] ? e->pair : e->name;
	int err;

	if (e->state == S_UNKNOWN) {
		gc_skip(g, e, name);
		return;
	}
	if (too_young(g, e)) {
		g->live++;
		if (g->json)
			gc_json(g, e, "kept", "younger than --min-age");
		return;
	}
	if (e->state == S_ALIVE || e->state == S_INUSE || (!g->dry && !still_stale(e))) {
		g->live++;
		if (g->json)
			gc_json(g, e, "kept", kept_why(e));
		return;
	}
	err = g->dry ? 0 : gc_remove(e);
	if (err && err != -ENOENT) {
		g->failed++;
		json_op_error(g->json, name, err);
		return;
	}
	g->removed++;
	if (g->json) {
		gc_json(g, e, g->dry ? "would_remove" : "removed",
			e->state == S_ORPHAN ? "its region is gone" : "its owner is gone");
		return;
	}
	printf("%s %s ", g->dry ? "would remove" : "removed", gc_what(e));
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

static void gc_summary(const struct gc_run *g)
{
	if (g->json) {
		fputs("\n],", stdout);
		json_errors();
		/* a dry run removed nothing: it counts what it would remove */
		printf(",\"counts\":{\"%s\":%u,\"kept\":%u,\"unknown\":%u,\"failed\":%u}}\n",
		       g->dry ? "would_remove" : "removed", g->removed, g->live, g->unknown,
		       g->failed);
		return;
	}
	printf("gc: %s %u stale object%s, kept %u live, %u unknown, %u failed%s\n",
	       g->dry ? "would remove" : "removed", g->removed, g->removed == 1 ? "" : "s",
	       g->live, g->unknown, g->failed, g->dry ? " (dry run: nothing removed)" : "");
}

static int gc_pass(char **pats, int npats, struct gc_run *g)
{
	struct list l;
	int err;

	if (g->json)
		printf("{\"dry_run\":%s,\"objects\":[", g->dry ? "true" : "false");
	err = scan(&l);
	if (err) {
		g->failed++;
		json_op_error(g->json, DEV_SHM, err);
		if (g->json)
			gc_summary(g);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct entry *e = &l.e[i];

		/* Only libshmx objects; a pair's semaphores go with its region. */
		if (!is_libshmx(e) || (e->pair[0] && e->state != S_ORPHAN) ||
		    seen_orphan(&l, i))
			continue;
		if (matches(e->pair[0] ? e->pair : e->name, pats, npats))
			gc_entry(e, g);
	}
	free(l.e);
	gc_summary(g);
	return g->failed ? EXIT_FAIL : 0;
}

/* "600", "600s", "10m", "2h", "1d": seconds into *out, or a usage error. */
static int age_arg(const char *s, long long *out)
{
	static const char units[] = "smhd";
	static const long long mult[] = { 1, 60, 3600, 86400 };
	const char *u;
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	u = *end ? strchr(units, *end) : units;
	if (errno || end == s || s[0] == '-' || !u || (*end && end[1]) ||
	    v > INT32_MAX)
		return usage_error("invalid --min-age '%s' (seconds, or a number with s, m, h "
				   "or d)", shown(s));
	*out = v * mult[u - units];
	return 0;
}

static int gc_run(int argc, char **argv)
{
	static const struct option longs[] = {
		HELP_OPT, { "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "min-age", required_argument, NULL, 'a' }, END_OPT,
	};
	struct gc_run g = { .first = true };
	int c, n, rc;
	char **pats;

	opt_reset();
	while ((c = next_opt(argc, argv, ":hn", longs)) != -1) {
		switch (c) {
		case 'h': return show_help(cmd);
		case 'n': g.dry = true; break;
		case 'j': g.json = true; break;
		case 'a':
			if (age_arg(optarg, &g.min_age))
				return EXIT_USAGE;
			break;
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
	rc = gc_pass(pats, n, &g);
	for (int i = 0; i < n; i++)
		free(pats[i]);
	free(pats);
	return rc;
}

const struct command cmd_gc = {
	.name = "gc",
	.run = gc_run,
	.synopsis = "gc [--dry-run] [--json] [--min-age AGE] [PATTERN...]",
	.help =
		"Remove libshmx objects nobody alive uses: stale pairs and channels (their\n"
		"owner's lock is free, no live process holds one of their slots or maps\n"
		"them) and orphaned pair semaphores (their region is gone). Objects in use,\n"
		"objects whose state is unknown and other programs' objects are never\n"
		"touched. PATTERNs (shell globs on the name, e.g. '/myapp-*') restrict it\n"
		"further. Processes are seen in /proc: as root all of them, as a user its\n"
		"own.\n"
		"\n"
		"  -n, --dry-run   only print what would be removed\n"
		"      --min-age AGE  keep what changed less than AGE ago (seconds, or\n"
		"                  10m, 2h, 1d; default 0): not racing a creator\n"
		"      --json      one JSON document {\"dry_run\", \"objects\": [...], \"errors\":\n"
		"                  [...], \"counts\"}: what was (would be) removed and why,\n"
		"                  what was kept or skipped, what failed (shmx(1), JSON)\n",
};
