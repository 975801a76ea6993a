/* SPDX-License-Identifier: MIT */
/* What one address holds, of any kind: the facts stat shows and every
 * --json record carries (json.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "shmx-tool.h"

/* No region by that name: it may still be a named semaphore. */
static int facts_sem(const char *name, struct facts *f, int region_err)
{
	char path[sizeof(DEV_SHM) + sizeof(SEM_PREFIX) + PATH_MAX + 8];

	snprintf(path, sizeof(path), DEV_SHM "/" SEM_PREFIX "%s", name + 1);
	if (lstat(path, &f->st) < 0 || !S_ISREG(f->st.st_mode))
		return region_err;
	f->type = "semaphore";
	f->holders = SHMX_HOLDERS_UNKNOWN;
	return 0;
}

/* Another program's object under a name the library refuses: what its
 * inode says, nothing of libshmx's. */
static int facts_foreign(const char *name, struct facts *f)
{
	char path[sizeof(DEV_SHM) + PATH_MAX];

	f->have_st = true;
	f->holders = SHMX_HOLDERS_UNKNOWN;
	snprintf(path, sizeof(path), DEV_SHM "%s", name);
	if (lstat(path, &f->st) < 0)
		return -errno;
	f->type = S_ISREG(f->st.st_mode) ? "region" : "planted";
	return 0;
}

static int facts_posix(const char *name, struct facts *f)
{
	char path[sizeof(DEV_SHM) + PATH_MAX];
	struct shmx_info info;
	int err;

	f->have_st = true;
	err = shmx_stat(name, &info);
	if (err == -ENOENT)
		return facts_sem(name, f, err);
	if (err)
		return err;
	snprintf(path, sizeof(path), DEV_SHM "%s", name);
	if (lstat(path, &f->st) < 0)
		return -errno;
	f->holders = info.holders;
	f->chan = shmx_chan_stat(name, &f->ci) == 0;
	f->pair = !f->chan && (sem_exists(name, PAIR_W) || sem_exists(name, PAIR_R));
	f->type = f->chan ? "channel" : f->pair ? "pair" : "region";
	/* a pair's roles are held on its control object (shmx(7)) */
	if (f->pair)
		f->holders = pair_holders(name);
	return 0;
}

/* The file's metadata needs no access to its bytes; its locks do. */
static int facts_file(const char *path, struct facts *f)
{
	struct shmx_region *r;
	struct shmx_info info;

	f->have_st = true;
	f->type = "file";
	f->holders = SHMX_HOLDERS_UNKNOWN;
	if (lstat(path, &f->st) < 0)
		return -errno;
	if (!S_ISREG(f->st.st_mode))
		return S_ISDIR(f->st.st_mode) ? -EISDIR : -EMEDIUMTYPE;
	if (shmx_file_open(path, SHMX_RDONLY, &r) == 0) {
		if (shmx_fstat(r, &info) == 0)
			f->holders = info.holders;
		shmx_close(r);
	}
	return 0;
}

static int facts_sysv(const struct address *a, struct facts *f)
{
	int id = address_sysv_id(a), err;

	if (id < 0)
		return id;
	err = shmx_sysv_stat(id, &f->si);
	if (err)
		return err;
	f->type = "segment";
	f->sysv = true;
	f->holders = SHMX_HOLDERS_UNKNOWN;
	f->st.st_size = (off_t)f->si.size;
	f->st.st_mode = f->si.mode;
	f->st.st_uid = f->si.uid;
	f->st.st_gid = f->si.gid;
	f->st.st_atim.tv_sec = f->si.atime;
	f->st.st_mtim.tv_sec = f->si.dtime;
	f->st.st_ctim.tv_sec = f->si.ctime;
	return 0;
}

void facts_bare(const struct address *a, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->name = a->name;
	f->kind = address_kind(a);
	f->holders = SHMX_HOLDERS_UNKNOWN;
}

int gather(const struct address *a, struct facts *f)
{
	int err;

	facts_bare(a, f);
	switch (a->kind) {
	case A_POSIX:
		err = a->foreign ? facts_foreign(a->name, f) : facts_posix(a->name, f);
		break;
	case A_FILE: err = facts_file(a->name, f); break;
	default: err = facts_sysv(a, f); break;
	}
	if (err) {
		facts_bare(a, f);
		return err;
	}
	f->meta = true;
	return 0;
}
