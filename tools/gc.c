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

static int gc_pass(char **pats, int npats, bool dry)
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

static int gc_run(int argc, char **argv)
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
	rc = gc_pass(pats, n, dry);
	for (int i = 0; i < n; i++)
		free(pats[i]);
	free(pats);
	return rc;
}

const struct command cmd_gc = {
	.name = "gc",
	.run = gc_run,
	.synopsis = "gc [--dry-run] [PATTERN...]",
	.help =
		"Remove libshmx objects whose owner is dead: stale pairs and channels (their\n"
		"owner's lock is free) and orphaned pair semaphores (their region is gone).\n"
		"Live objects and other programs' objects are never touched. PATTERNs\n"
		"(shell globs on the name, e.g. '/myapp-*') restrict it further.\n"
		"\n"
		"  -n, --dry-run   only print what would be removed\n",
};
