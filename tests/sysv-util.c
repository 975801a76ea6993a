/* SPDX-License-Identifier: MIT */
/* What the System V tests share (sysv-util.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sysv-util.h"

#define MAX_SEGS  256
#define MAX_PATHS 8
#define MAX_TABLE 4096
#define KEY_BASE  0x53000000    /* "S": test keys, 0x53PPPPNN */

static key_t keys[MAX_SEGS];
static int n_keys;
static int ids[MAX_SEGS];
static int n_ids;
static char paths[MAX_PATHS][64];
static int n_paths;

void track_key(key_t k)
{
	assert_true(n_keys < MAX_SEGS);
	keys[n_keys++] = k;
}

key_t tkey(void)
{
	static unsigned n;
	key_t k = (key_t)(KEY_BASE | ((getpid() & 0xffff) << 8) | (n++ & 0xff));

	track_key(k);
	return k;
}

const char *track_path(const char *path)
{
	assert_true(n_paths < MAX_PATHS);
	snprintf(paths[n_paths], sizeof(paths[0]), "%s", path);
	return paths[n_paths++];
}

void track_id(int id)
{
	assert_true(n_ids < MAX_SEGS);
	ids[n_ids++] = id;
}

struct shmx_sysv_info sinfo(int id)
{
	struct shmx_sysv_info info;

	assert_int_equal(shmx_sysv_stat(id, &info), 0);
	return info;
}

int sysv_teardown(void **state)
{
	int id;

	while (n_keys > 0) {
		id = shmget(keys[--n_keys], 0, 0);
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
	while (n_ids > 0)
		shmctl(ids[--n_ids], IPC_RMID, NULL);
	while (n_paths > 0)   /* files before their directory */
		if (unlink(paths[--n_paths]) < 0)
			rmdir(paths[n_paths]);
	return tu_teardown(state);
}

/* The ids in the SysV table now, as /proc/sysvipc/shm (what ipcs reads). */
static int table_ids(int *out, int max)
{
	char line[512];
	int n = 0, key, id;
	FILE *f = fopen("/proc/sysvipc/shm", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %d", &key, &id) == 2 && n < max)
			out[n++] = id;
	fclose(f);
	return n;
}

static int before[MAX_TABLE], n_before;

int sysv_group_setup(void **state)
{
	n_before = table_ids(before, MAX_TABLE);
	return n_before < 0 ? -1 : tu_group_setup(state);
}

static bool was_there(int id)
{
	for (int i = 0; i < n_before; i++)
		if (before[i] == id)
			return true;
	return false;
}

int sysv_group_teardown(void **state)
{
	int now[MAX_TABLE], n = table_ids(now, MAX_TABLE), left = 0;

	for (int i = 0; i < n; i++) {
		if (!was_there(now[i])) {
			fprintf(stderr, "# SysV segment %d left behind\n", now[i]);
			left++;
		}
	}
	return tu_group_teardown(state) || left ? -1 : 0;
}
