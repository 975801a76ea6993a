/* SPDX-License-Identifier: MIT */
/* Files someone else put in /dev/shm (shmx(7), Permissions): planted files
 * and links where a region, a channel or a pair's semaphores would go are
 * never adopted, followed or rewritten; FIFOs, directories and links are
 * refused on open, and so is a socket (as its man pages say); a semaphore
 * file that is not one is refused before use.
 * Modes and other users are test-perms.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

#define W SHMX_PAIR_WRITER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define SENTINEL ((struct shmx_pair *)0x1)

/* ---- security: planted files and links are never adopted ---- */

struct planted {
	char path[600];
	struct stat st;
	bool link;
};

static const char planted_data[] = "planted by someone else\n";

static void plant_file(struct planted *pl, const char *fmt, const char *name)
{
	int fd;

	tu_devshm_path(pl->path, sizeof(pl->path), fmt, name);
	fd = open(pl->path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, planted_data, sizeof(planted_data)), sizeof(planted_data));
	close(fd);
	assert_int_equal(lstat(pl->path, &pl->st), 0);
	pl->link = false;
}

static void plant_link(struct planted *pl, const char *fmt, const char *name,
		       const char *target)
{
	tu_devshm_path(pl->path, sizeof(pl->path), fmt, name);
	assert_int_equal(symlink(target, pl->path), 0);
	assert_int_equal(lstat(pl->path, &pl->st), 0);
	pl->link = true;
}

static void same_file(const char *path, const struct stat *was)
{
	struct stat st;
	char buf[256];
	ssize_t n;
	int fd;

	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_ino, was->st_ino);
	assert_int_equal(st.st_mode, was->st_mode);
	assert_int_equal(st.st_size, was->st_size);
	assert_int_equal(st.st_uid, was->st_uid);
	assert_true(st.st_mtim.tv_sec == was->st_mtim.tv_sec &&
		    st.st_mtim.tv_nsec == was->st_mtim.tv_nsec);
	if (S_ISLNK(st.st_mode))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, sizeof(planted_data));
	assert_memory_equal(buf, planted_data, sizeof(planted_data));
}

static void target_file(char *path, size_t len, struct stat *st)
{
	int fd;

	snprintf(path, len, "/tmp/shmx-test-target-%d", (int)getpid());
	unlink(path);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, planted_data, sizeof(planted_data)), sizeof(planted_data));
	close(fd);
	assert_int_equal(stat(path, st), 0);
}

static void test_planted_region_chan(void **state)
{
	char target[128];
	struct stat tst;
	struct planted pl;
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL;
	const char *name;

	(void)state;
	target_file(target, sizeof(target), &tst);
	for (int kind = 0; kind < 2; kind++) {
		name = tu_name();
		if (kind)
			plant_link(&pl, "/dev/shm/%s", name, target);
		else
			plant_file(&pl, "/dev/shm/%s", name);
		assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), -EEXIST);
		assert_int_equal(shmx_create(name, 4096, SHMX_LAZY, 0, &r), -EEXIST);
		assert_int_equal(shmx_chan_create(name, 4096, P, 0, &c), -EEXIST);
		assert_null(r);
		assert_null(c);
		same_file(pl.path, &pl.st);
		same_file(target, &tst);
		/* and opening does not follow the link either */
		if (kind)
			assert_int_equal(shmx_open(name, 0, &r), -ELOOP);
	}
	unlink(target);
}

static void test_planted_semaphores(void **state)
{
	static const char *const which[] = { "/dev/shm/sem.%s.shmx-w", "/dev/shm/sem.%s.shmx-r" };
	char target[128];
	struct stat tst;
	struct planted pl;
	struct shmx_region *r;
	struct shmx_pair *p = NULL;
	const char *name;

	(void)state;
	target_file(target, sizeof(target), &tst);
	for (int w = 0; w < 2; w++) {
		for (int kind = 0; kind < 2; kind++) {
			name = tu_name();
			assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
			if (kind)
				plant_link(&pl, which[w], name, target);
			else
				plant_file(&pl, which[w], name);
			assert_int_equal(shmx_pair_create(r, W, 0, &p), -EEXIST);
			assert_null(p);
			same_file(pl.path, &pl.st);
			same_file(target, &tst);
			/* no half pair: the other semaphore is not left behind */
			assert_false(tu_sem_exists(name, w ? ".shmx-w" : ".shmx-r"));
			shmx_close(r);
		}
	}
	/* A planted sem.NAME (glibc's file for a semaphore "/NAME") is not
	 * the pair's: it is neither used nor touched. */
	name = tu_name();
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0, &r), 0);
	plant_file(&pl, "/dev/shm/sem.%s", name);
	assert_int_equal(shmx_pair_create(r, W, 0, &p), 0);
	same_file(pl.path, &pl.st);
	assert_int_equal(tu_devshm_mode("/dev/shm/sem.%s.shmx-w", name), 0600);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(unlink(pl.path), 0);
	unlink(target);
}

/* A planted "may write" or "may read" semaphore: the create fails whole,
 * keeps no role, and the pair's names can still be removed. */
static void pair_planted_case(char which)
{
	const char *name = tu_name();
	struct shmx_region *rw = NULL;
	struct shmx_pair *p = SENTINEL;
	struct shmx_info info;
	struct planted pl;
	char fmt[64];

	assert_int_equal(shmx_create(name, 8192, SHMX_MAP, 0, &rw), 0);
	snprintf(fmt, sizeof(fmt), "/dev/shm/sem.%%s.shmx-%c", which);
	plant_file(&pl, fmt, name);
	assert_int_equal(shmx_pair_create(rw, W, 0, &p), -EEXIST);
	assert_ptr_equal(p, SENTINEL);
	same_file(pl.path, &pl.st);
	/* no half pair: the other semaphore is not left behind */
	assert_false(tu_sem_exists(name, which == 'w' ? ".shmx-r" : ".shmx-w"));
	/* and no role is kept by the failed create */
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.holders, 0);
	/* nothing of the pair is left (its control object was removed last),
	 * and the planted file is nobody's pair part: shmx_pair_unlink(3)
	 * leaves it */
	assert_int_equal(shmx_pair_unlink(name), -ENOENT);
	same_file(pl.path, &pl.st);
	shmx_close(rw);
}

static void test_planted_w(void **state)
{
	(void)state;
	pair_planted_case('w');
}

/* The "may write" semaphore was made first: the failure on "may read" must
 * remove it again. */
static void test_planted_r_half_created(void **state)
{
	(void)state;
	pair_planted_case('r');
}

/* ---- regions ---- */

/* A planted regular file or symlink is never adopted. */
static void test_create_planted(void **state)
{
	const char *name = tu_name(), *name2 = tu_name();
	struct shmx_region *r = NULL;
	char path[600];
	int fd;

	(void)state;
	tu_devshm_path(path, sizeof(path), "/dev/shm/%s", name);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0666);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), -EEXIST);
	tu_devshm_path(path, sizeof(path), "/dev/shm/%s", name2);
	assert_int_equal(symlink("/tmp/shmx-nowhere", path), 0);
	assert_int_equal(shmx_create(name2, 4096, 0, 0, &r), -EEXIST);
	assert_int_equal(access("/tmp/shmx-nowhere", F_OK), -1);
	assert_null(r);
}

/* ---- not regular files ---- */

static void test_refuses_non_regular(void **state)
{
	const char *fifo = tu_name(), *dir = tu_name(), *link = tu_name(), *real = tu_name();
	struct shmx_region *r = NULL;
	struct shmx_chan *c = NULL, *c2 = NULL;
	char path[600], target[600];
	int64_t t0;

	(void)state;
	tu_devshm_path(path, sizeof(path), "/dev/shm/%s", fifo);
	assert_int_equal(mkfifo(path, 0600), 0);
	t0 = tu_now_ms();
	assert_int_equal(shmx_open(fifo, 0, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_open(fifo, SHMX_RDONLY, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_chan_open(fifo, C, 0, &c), -EMEDIUMTYPE);
	assert_true(tu_now_ms() - t0 < 5000); /* a FIFO never hangs the open */
	tu_devshm_path(path, sizeof(path), "/dev/shm/%s", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(shmx_open(dir, 0, &r), -EISDIR);
	assert_int_equal(shmx_chan_open(dir, C, 0, &c), -EISDIR);
	assert_int_equal(rmdir(path), 0);
	/* a link to a real channel: refused, not followed */
	assert_int_equal(shmx_chan_create(real, 4096, P, 0, &c), 0);
	tu_devshm_path(path, sizeof(path), "/dev/shm/%s", link);
	tu_devshm_path(target, sizeof(target), "/dev/shm/%s", real);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(shmx_open(link, 0, &r), -ELOOP);
	assert_int_equal(shmx_chan_open(link, C, 0, &c2), -ELOOP);
	assert_null(r);
	assert_null(c2);
	shmx_chan_close(c);
}

/* ---- pair semaphore files are checked before use ---- */

static void replace_sem(const char *name, char which, int kind)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/sem.%s.shmx-%c", name + 1, which);
	assert_int_equal(unlink(path), 0);
	if (kind == 0) {                /* empty regular file */
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	} else if (kind == 1) {         /* FIFO */
		assert_int_equal(mkfifo(path, 0600), 0);
	} else {                        /* symlink to a good semaphore */
		char other[512];

		snprintf(other, sizeof(other), "sem.%s.shmx-%c", name + 1,
			 which == 'w' ? 'r' : 'w');
		assert_int_equal(symlink(other, path), 0);
	}
}

static void bad_sem_case(char which, int kind)
{
	const char *name = tu_name();
	struct shmx_region *a = NULL, *b = NULL;
	struct shmx_pair *w = NULL, *r = (struct shmx_pair *)0x1;

	assert_int_equal(shmx_create(name, 4096, 0, 0, &a), 0);
	assert_int_equal(shmx_open(name, 0, &b), 0);
	assert_int_equal(shmx_pair_create(a, SHMX_PAIR_WRITER, 0, &w), 0);
	replace_sem(name, which, kind);
	/* never a SIGBUS in sem_trywait later: refused now */
	assert_int_equal(shmx_pair_open(b, SHMX_PAIR_READER, &r), -EBADMSG);
	assert_ptr_equal(r, (struct shmx_pair *)0x1);
	shmx_pair_close(w);
	shmx_close(a);
	shmx_close(b);
}

static void test_empty_semaphore_file_is_refused(void **state)
{
	(void)state;
	bad_sem_case('w', 0);
	bad_sem_case('r', 0);
}

static void test_fifo_or_symlink_semaphore_is_refused(void **state)
{
	(void)state;
	bad_sem_case('w', 1);
	bad_sem_case('r', 2);
}

/* ---- a socket where an object would be ---- */

/* A socket bound in /dev/shm is not a shared-memory object either. */
static void test_open_socket(void **state)
{
	const char *name = tu_name();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct shmx_region *r = NULL;
	struct shmx_info info;
	int s;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/dev/shm%s", name);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(shmx_open(name, 0, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_open(name, SHMX_RDONLY, &r), -EMEDIUMTYPE);
	assert_int_equal(shmx_stat(name, &info), -EMEDIUMTYPE);
	assert_null(r);
	close(s);
}

/* The ERRORS entry ".B NAME" of docs/man/page, up to the next entry:
 * malloc'd, or NULL if the page has none. */
static char *man_error_entry(const char *page, const char *errname)
{
	char path[PATH_MAX], key[64], *text = NULL, *start, *end, *entry;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "docs/man/%s", page);
	f = fopen(tu_source_path(path), "re");
	assert_non_null(f);
	assert_true(getdelim(&text, &len, 0, f) > 0);
	fclose(f);
	snprintf(key, sizeof(key), ".TP\n.B %s\n", errname);
	start = strstr(text, key);
	if (!start) {
		free(text);
		return NULL;
	}
	start += strlen(key);
	end = strstr(start, "\n.TP\n");
	entry = strndup(start, end ? (size_t)(end - start) : strlen(start));
	free(text);
	return entry;
}

/* What the pages promise for a socket planted in /dev/shm is what the
 * calls return. */
static void test_man_pages_name_the_socket_error(void **state)
{
	static const char *const pages[] = { "shmx_open.3", "shmx_stat.3" };
	const char *name = tu_name();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct shmx_region *r = NULL;
	struct shmx_info info;
	int s, got[2];

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/dev/shm%s", name);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	got[0] = shmx_open(name, 0, &r);
	got[1] = shmx_stat(name, &info);
	close(s);
	for (size_t i = 0; i < 2; i++) {
		char *entry = man_error_entry(pages[i], tu_errname(got[i]));

		if (!entry || !strstr(entry, "socket"))
			fail_msg("%s: no %s entry that names a socket", pages[i],
				 tu_errname(got[i]));
		free(entry);
		entry = man_error_entry(pages[i], "ENXIO");
		if (entry)
			fail_msg("%s lists ENXIO, which no call returns", pages[i]);
	}
}

#define T(f) cmocka_unit_test_teardown(f, tu_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_planted_region_chan),
		T(test_planted_semaphores),
		T(test_planted_w),
		T(test_planted_r_half_created),
		T(test_create_planted),
		T(test_refuses_non_regular),
		T(test_open_socket),
		T(test_man_pages_name_the_socket_error),
		T(test_empty_semaphore_file_is_refused),
		T(test_fifo_or_symlink_semaphore_is_refused),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
