/* SPDX-License-Identifier: MIT */
/* shmx rm: remove objects by name, a pair's semaphores with its region. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmx-tool.h"

/* The pair's control object "/x.shmx-p" (a file without the "sem." prefix). */
static bool ctl_exists(const char *name)
{
	char path[sizeof(DEV_SHM) + PATH_MAX + sizeof(PAIR_P)];
	struct stat st;

	snprintf(path, sizeof(path), DEV_SHM "%s" PAIR_P, name);
	return lstat(path, &st) == 0;
}

static const char *sem_path(const char *name, char *path, size_t len)
{
	snprintf(path, len, DEV_SHM "/" SEM_PREFIX "%s", name + 1);
	return path;
}

/* What the operator named, by name: a pair's files that no control object
 * vouches for, which shmx_pair_unlink(3) leaves (made by hand, or left by a
 * version that linked the control object last). gc never does this. */
static int rm_pair_names(const char *name)
{
	char path[sizeof(DEV_SHM) + sizeof(SEM_PREFIX) + PATH_MAX + 8];
	const char *const sem[2] = { PAIR_W, PAIR_R };
	int res = -ENOENT;

	for (int i = 0; i < 3; i++) {
		if (i < 2)
			snprintf(path, sizeof(path), DEV_SHM "/" SEM_PREFIX "%s%s", name + 1,
				 sem[i]);
		else
			snprintf(path, sizeof(path), DEV_SHM "%s" PAIR_P, name);
		if (unlink(path) == 0)
			res = 0;
		else if (errno != ENOENT)
			return -errno;
	}
	return res;
}

static int rm_one(const char *name)
{
	char path[sizeof(DEV_SHM) + sizeof(SEM_PREFIX) + PATH_MAX];
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
		if (e2 == -ENOENT || e2 == -EBADMSG)
			e2 = rm_pair_names(name);
		return e2 == -ENOENT ? err : e2;
	}
	if (err != -ENOENT)
		return err;
	/* No region: a plain named semaphore, as ls shows it: the file
	 * "sem.x" of glibc's layout (musl's sem_unlink() would remove
	 * "/dev/shm/x", which is a region's name). */
	if (unlink(sem_path(name, path, sizeof(path))) == 0)
		return 0;
	return errno == ENOENT ? err : -errno;
}

/* A path removes a regular file, what shmx_file_create(3) makes: not what
 * a symlink leads to, nor the link, a FIFO, a socket or a directory. */
static int rm_file(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISREG(st.st_mode))
		return -EMEDIUMTYPE;
	return shmx_file_unlink(path);
}

/* The refusals of rm_file(), said as what they are. */
static int rm_error(bool json, const struct address *a, int err)
{
	if (a->kind == A_FILE && err == -ELOOP)
		return json_op_errorf(json, a->name, err,
				      "is a symbolic link, not a file: not removed");
	if (a->kind == A_FILE && err == -EMEDIUMTYPE)
		return json_op_errorf(json, a->name, err, "not a regular file: not removed");
	return json_op_error(json, a->name, err);
}

/* Another program's object whose name the library refuses (ls lists it):
 * the entry of /dev/shm itself, not a directory. */
static int rm_foreign(const char *name)
{
	char path[sizeof(DEV_SHM) + PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), DEV_SHM "%s", name);
	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return unlink(path) < 0 ? -errno : 0;
}

/* A segment is only marked for removal: it goes with its last detach. */
static int rm_address(const struct address *a)
{
	int id;

	switch (a->kind) {
	case A_POSIX: return a->foreign ? rm_foreign(a->name) : rm_one(a->name);
	case A_FILE: return rm_file(a->name);
	default:
		id = address_sysv_id(a);
		return id < 0 ? id : shmx_sysv_remove(id);
	}
}

/* --json: the record of what is about to go, read before it goes; what
 * cannot be read (the orphaned semaphores of a pair) is null. */
static int rm_json(const struct address *a, bool *first)
{
	struct facts f;
	int err;

	gather(a, &f);
	err = rm_address(a);
	if (err)
		return err;
	if (f.sysv)
		f.si.removed = 1;
	json_sep(first);
	putchar('{');
	json_record(&f);
	putchar('}');
	return 0;
}

static int rm_run(int argc, char **argv)
{
	bool json = false, first = true;
	struct address a;
	int c, err, rc = 0;

	c = json_opts(argc, argv, &json);
	if (c >= 0)
		return c;
	/* A malformed name is a usage error: nothing is removed. */
	if (addresses_arg(argc, argv))
		return EXIT_USAGE;
	if (json)
		fputs("{\"removed\":[", stdout);
	/* Keep going over the names: one failure does not stop the rest. */
	for (int i = optind; i < argc; i++) {
		address_arg(argv[i], &a);
		err = json ? rm_json(&a, &first) : rm_address(&a);
		if (err)
			rc = rm_error(json, &a, err);
	}
	if (json) {
		fputs("\n],", stdout);
		json_errors();
		fputs("}\n", stdout);
	}
	return rc;
}

const struct command cmd_rm = {
	.name = "rm",
	.run = rm_run,
	.synopsis = "rm ADDRESS... [--json]",
	.help =
		"Remove objects by name: a region, a libshmx pair (its semaphores too) or\n"
		"channel, or a named semaphore; a regular file (./x, /dir/x; a symbolic\n"
		"link, a FIFO or a directory is refused); a System V segment\n"
		"(sysv:KEY, sysv:@ID: marked for removal, it goes with its last detach).\n"
		"Goes on past a failure; exit 1 if any failed.\n"
		"\n"
		"      --json    one JSON document {\"removed\": [...], \"errors\": [...]}\n"
		"                (shmx(1), JSON)\n",
};
