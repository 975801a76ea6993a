/* SPDX-License-Identifier: MIT */
/* What is there: the files of /dev/shm classified (region, pair, channel,
 * semaphore; alive, stale, orphan) and the System V segment list. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmx-tool.h"

const char *const kind_str[] = { "region", "pair", "channel", "semaphore", "planted" };
const char *const state_str[] = { "-", "alive", "stale", "unknown", "orphan", "in-use" };

/* ---- what is in /dev/shm ---- */

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
	/* Gone since readdir. */
	if (lstat(path, &st) < 0)
		return 0;
	ne = realloc(l->e, (l->n + 1) * sizeof(*l->e));
	if (!ne)
		return -ENOMEM;
	l->e = ne;
	e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	e->kind = is_sem_file(file, &st) ? K_SEM : K_REGION;
	/* Not an object: listed as what it is (the library refuses it). */
	if (!S_ISREG(st.st_mode)) {
		e->kind = K_PLANTED;
		e->ftype = st.st_mode & S_IFMT;
		if (S_ISLNK(st.st_mode) &&
		    readlink(path, e->target, sizeof(e->target) - 1) < 0)
			e->target[0] = 0;
	}
	snprintf(e->name, sizeof(e->name), "/%s",
		 e->kind == K_SEM ? file + strlen(SEM_PREFIX) : file);
	e->size = (uint64_t)st.st_size;
	e->mode = st.st_mode & 07777;
	e->uid = st.st_uid;
	e->gid = st.st_gid;
	e->atime = st.st_atim;
	e->mtime = st.st_mtim;
	e->ctime = st.st_ctim;
	return 0;
}

const char *entry_type(const struct entry *e)
{
	if (e->kind != K_PLANTED)
		return kind_str[e->kind];
	switch (e->ftype) {
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	case S_IFDIR: return "directory";
	case S_IFSOCK: return "socket";
	default: return "device";
	}
}

enum state owner_state(uint32_t holders)
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
	e->atime = info.atime;
	e->mtime = info.mtime;
	e->ctime = info.ctime;
	e->holders = info.holders;
	if (!shmx_chan_stat(e->name, &e->chan)) {
		e->kind = K_CHANNEL;
		e->chan_ok = true;
		e->state = owner_state(e->chan.holders);
	}
}

/* The pair's control object (src/pair.h): "SHMXPAIR" (or, while its
 * creator builds the pair, CTL_BUILDING), its ABI, and in ABI 2 the
 * (device, inode) of the region and of both semaphore files, each written
 * before that file is linked in. */
#define CTL_MAGIC    UINT64_C(0x52494150584d4853)
#define CTL_BUILDING UINT64_C(0x444c495550584d53)
#define CTL_IDS   40            /* ABI 2: region, "may write", "may read" */

/* Whether "/x" + PAIR_P is libshmx's control object (size, magic, ABI:
 * 64 bytes for ABI 1, 128 for ABI 2), and for ABI 2 whether the semaphore
 * file sem (NULL: none to check) is one of the two it records. A file of
 * another program named like it is nobody's pair part. */
static bool pair_ctl_ok(const char *pair, const struct stat *sem)
{
	char path[sizeof(DEV_SHM) + NAME_BUF + 8];
	unsigned char b[128];
	uint64_t magic, id[6];
	uint32_t abi;
	struct stat st;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), DEV_SHM "%s" PAIR_P, pair);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (st.st_size == 64 || st.st_size == 128))
		n = pread(fd, b, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size)
		return false;
	memcpy(&magic, b, 8);
	memcpy(&abi, b + 8, 4);
	if ((magic != CTL_MAGIC && (magic != CTL_BUILDING || n != 128)) ||
	    abi != (n == 64 ? 1u : 2u))
		return false;
	if (!sem || abi == 1)
		return true;
	memcpy(id, b + CTL_IDS, sizeof(id));
	return (id[2] == (uint64_t)sem->st_dev && id[3] == (uint64_t)sem->st_ino) ||
	       (id[4] == (uint64_t)sem->st_dev && id[5] == (uint64_t)sem->st_ino);
}

/* Semaphore "/x.shmx-w" or "/x.shmx-r", or the control object "/x.shmx-p":
 * part of the pair of region "/x", once the control object is verified
 * (pair_ctl_ok()). */
static bool is_pair_part(const struct entry *e)
{
	char pair[NAME_BUF], path[sizeof(DEV_SHM) + NAME_BUF + 8];
	size_t cut = strlen(e->name) - strlen(PAIR_W);
	struct stat st;

	if (e->kind == K_SEM) {
		if (!has_suffix(e->name, PAIR_W) && !has_suffix(e->name, PAIR_R))
			return false;
	} else if (e->kind != K_REGION || !has_suffix(e->name, PAIR_P)) {
		return false;
	}
	memcpy(pair, e->name, cut);
	pair[cut] = 0;
	if (e->kind != K_SEM)
		return pair_ctl_ok(pair, NULL);
	/* Only a semaphore file that a control object records (it is linked
	 * in first and records each file before that file is named): a plain
	 * sem_open() of the same name, even next to the region, is another
	 * program's. */
	snprintf(path, sizeof(path), DEV_SHM "/" SEM_PREFIX "%s", e->name + 1);
	return !lstat(path, &st) && pair_ctl_ok(pair, &st);
}

/* The slots of pair's control object, where a pair's liveness is
 * (shmx(7), "The turn"); SHMX_HOLDERS_UNKNOWN if it cannot be read. */
uint32_t pair_holders(const char *pair)
{
	char ctl[NAME_BUF + sizeof(PAIR_P)];
	struct shmx_info info;

	snprintf(ctl, sizeof(ctl), "%s" PAIR_P, pair);
	return shmx_stat(ctl, &info) ? SHMX_HOLDERS_UNKNOWN : info.holders;
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
			r->holders = pair_holders(r->name);
			r->state = owner_state(r->holders);
		}
	}
	for (i = 0; i < l->n; i++) {
		e = &l->e[i];
		if (e->pair[0] && e->state != S_ORPHAN)
			e->state = find_region(l, e->pair)->state;
	}
}

/* An object whose owner is gone may still be in use (inuse.c); its pair's
 * semaphores and control object share its state. */
static void in_use(struct list *l)
{
	struct entry *e, *r;
	size_t i;

	for (i = 0; i < l->n; i++) {
		e = &l->e[i];
		if ((e->kind == K_PAIR || e->kind == K_CHANNEL) && e->state == S_STALE)
			e->state = object_state(e->name, e->holders, e->kind == K_CHANNEL);
	}
	for (i = 0; i < l->n; i++) {
		e = &l->e[i];
		if (e->pair[0] && e->state == S_STALE && (r = find_region(l, e->pair)))
			e->state = r->state;
	}
}

int scan(struct list *l)
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
	in_use(l);
	return 0;
}

bool is_libshmx(const struct entry *e)
{
	return e->kind == K_PAIR || e->kind == K_CHANNEL || e->pair[0];
}

int sysv_read(struct sysv **out, size_t *n)
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

const char *sysv_status(unsigned perms)
{
	/* SHM_DEST (01000): removed, lives until the last detach; SHM_LOCKED */
	if (perms & 01000)
		return (perms & 02000) ? "dest locked" : "dest";
	return (perms & 02000) ? "locked" : "";
}

bool sem_exists(const char *name, const char *suffix)
{
	char path[sizeof(DEV_SHM) + 2 * NAME_BUF];
	struct stat st;

	snprintf(path, sizeof(path), DEV_SHM "/" SEM_PREFIX "%s%s", name + 1, suffix);
	return lstat(path, &st) == 0;
}
