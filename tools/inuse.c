/* SPDX-License-Identifier: MIT */
/* Whether a libshmx object is in use although its owner is gone: a live
 * process holds one of its slots, or maps it. Such an object is never
 * stale (shmx(1), Kinds and states): a channel's creator may leave while
 * its producers stay, a pair's owner may die while a reader still maps
 * the region. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "shmx-tool.h"

/* Does /proc/PID/maps (an open file) map the file st describes? By device
 * and inode, not path: a mapping made before the object had its name, or
 * after it lost it, shows another path or "(deleted)". */
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

int mappers(const struct stat *st, pid_t *out, int max)
{
	struct dirent *de;
	char file[300];
	int found = 0;
	bool hit;
	FILE *f;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d)) && found < max) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(file, sizeof(file), "/proc/%s/maps", de->d_name);
		f = fopen(file, "re");
		if (!f)
			continue;
		hit = maps_has(f, st);
		fclose(f);
		if (hit)
			out[found++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return found;
}

static bool file_mapped(const char *name, const char *suffix)
{
	char path[sizeof(DEV_SHM) + 2 * NAME_BUF];
	struct stat st;
	pid_t pid;

	snprintf(path, sizeof(path), DEV_SHM "%s%s", name, suffix);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && mappers(&st, &pid, 1) > 0;
}

/* A slot other than the owner's held: a channel's producers and consumers
 * (all 64 of each, beyond the 31 bits of holders), a pair's writer and
 * reader. */
static bool slot_held(const char *name, uint32_t holders, bool chan)
{
	struct shmx_chan_peer p[2 * SHMX_CHAN_MAX_PEERS];
	int n;

	if (holders & ~(1u << SHMX_SLOT_OWNER) & ~SHMX_HOLDERS_UNKNOWN)
		return true;
	if (!chan)
		return false;
	n = shmx_chan_peers(name, p, sizeof(p) / sizeof(p[0]));
	for (int i = 0; i < n && i < (int)(sizeof(p) / sizeof(p[0])); i++)
		if (p[i].state == SHMX_PEER_ATTACHED)
			return true;
	return false;
}

enum state object_state(const char *name, uint32_t holders, bool chan)
{
	enum state s = owner_state(holders);

	if (s != S_STALE)
		return s;
	if (slot_held(name, holders, chan) || file_mapped(name, "") ||
	    (!chan && file_mapped(name, PAIR_P)))
		return S_INUSE;
	return S_STALE;
}
