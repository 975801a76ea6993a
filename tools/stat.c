/* SPDX-License-Identifier: MIT */
/* shmx stat: everything about one object, from its kind to who maps it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>

#include "shmx-tool.h"

/* Does /proc/PID/maps (an open file) map the file st describes? By device
 * and inode, not path: a creator maps the object it built unnamed, which
 * maps shows as "/dev/shm/#INODE (deleted)" even once it has a name. */
static bool maps_has(FILE *f, const struct stat *st)
{
	unsigned long long inode;
	unsigned maj, min;
	char line[4352];

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3 &&
		    inode == (unsigned long long)st->st_ino && maj == major(st->st_dev) &&
		    min == minor(st->st_dev))
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

/* Processes mapping the object st describes, from /proc/PID/maps. Only
 * the processes we may inspect are seen. */
static void mapped_by(const struct stat *st)
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
		hit = maps_has(f, st);
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
	mapped_by(&st);
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
		printf("%-12s%s%s%s, %s%s%s\n", "Semaphores:", shown(name), PAIR_W,
		       sem_exists(name, PAIR_W) ? "" : " (missing)", shown(name), PAIR_R,
		       sem_exists(name, PAIR_R) ? "" : " (missing)");
	if (chan)
		print_chan(&ci);
	mapped_by(&st);
	return 0;
}

static int stat_run(int argc, char **argv)
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

const struct command cmd_stat = {
	.name = "stat",
	.run = stat_run,
	.synopsis = "stat NAME...",
	.help =
		"Show everything about an object: size, mode, owner and group, times, its\n"
		"kind, the liveness locks held on it, the decoded header of a libshmx\n"
		"channel, and the processes that have it mapped (those you may inspect).\n",
};
