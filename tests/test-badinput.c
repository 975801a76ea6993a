/* SPDX-License-Identifier: MIT */
/* The bad-input matrix: every public function called with each kind of
 * invalid argument, one row per (function, input), each checked by value.
 * The rows are one table; each row is its own cmocka test (its own TAP
 * line), built at run time with the row as the test's initial state.
 * docs/errors.md is the same table as prose.
 *
 * Each row runs in a forked child, so that a function which crashes on a
 * bad argument fails that row (with the signal) instead of the whole run.
 * The child also reports whether an output parameter or buffer was written
 * although the call failed, and whether a failed create left a name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <unistd.h>

#include "testutil.h"

#define SZ 8192                 /* fixture region size */
#define CAP 4096                /* fixture channel capacity: max_msg 2040 */
#define W SHMX_PAIR_WRITER
#define R SHMX_PAIR_READER
#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define OFF_PAST ((size_t)INT64_MAX + 1)

struct row {
	const char *func;
	const char *input;      /* what is invalid, as docs/errors.md says */
	long (*call)(const char *arg);
	long expect;            /* -errno; 0 for "returns NULL / 0" */
	const char *arg;        /* the bad name, for the name rows */
	char label[160];
};

/* ---- what the child reports ---- */

static const char *nm[2];       /* names for the row's fixtures (tu_name) */
static key_t sk;                /* the row's System V key, removed in teardown */
static char problem[160];       /* set by a row: something besides rc is wrong */
static char sentinel;
#define SENT ((void *)&sentinel)

static void flag(const char *what)
{
	if (!problem[0])
		snprintf(problem, sizeof(problem), "%s", what);
}

#define UNTOUCHED(p) do { if ((void *)(p) != SENT) flag("output parameter written"); } while (0)

static bool all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* A failed create must not leave the name behind. */
static long no_leftover(long rc, const char *name)
{
	if (rc < 0 && name && strlen(name) < 300 && tu_exists(name))
		flag("failed create left the name in /dev/shm");
	return rc;
}

static void fixture_failed(const char *what, int line)
{
	fprintf(stderr, "# fixture failed at line %d: %s\n", line, what);
	_exit(90);
}
#define NEED(x) do { if (!(x)) fixture_failed(#x, __LINE__); } while (0)

/* ---- fixtures (in the child; the parent's teardown unlinks nm[]) ---- */

static struct shmx_region *region(unsigned flags)
{
	struct shmx_region *r;

	NEED(shmx_create(nm[0], SZ, flags, 0, &r) == 0);
	return r;
}

static struct shmx_region *ro_region(void)
{
	struct shmx_region *r;

	shmx_close(region(0));
	NEED(shmx_open(nm[0], SHMX_RDONLY, &r) == 0);
	return r;
}

static struct shmx_pair *pair(unsigned role)
{
	struct shmx_pair *p;

	NEED(shmx_pair_create(region(SHMX_MAP), role, 0, &p) == 0);
	return p;
}

static struct shmx_chan *chan(unsigned flags)
{
	struct shmx_chan *c;

	NEED(shmx_chan_create(nm[1], CAP, flags, 0, &c) == 0);
	return c;
}

/* A producer and a consumer on one channel (both in this process). */
static struct shmx_chan *cons_of(struct shmx_chan *prod)
{
	struct shmx_chan *c;

	(void)prod;
	NEED(shmx_chan_open(nm[1], C, 1000, &c) == 0);
	return c;
}

/* "/" + nm[0] padded to len bytes after the slash. */
static const char *padded(size_t len)
{
	static char buf[SHMX_NAME_MAX + 2];

	snprintf(buf, sizeof(buf), "%s", nm[0]);
	memset(buf + strlen(buf), 'p', len + 1 - strlen(buf));
	buf[len + 1] = 0;
	return buf;
}

/* ---- regions ---- */

#define CREATE_ROW(id, name, size, flags, mode)                                  \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_region *out = SENT;                                  \
		long rc;                                                         \
		(void)a;                                                         \
		rc = shmx_create(name, size, flags, mode, &out);                 \
		UNTOUCHED(out);                                                  \
		return no_leftover(rc, name);                                    \
	}

CREATE_ROW(create_size0, nm[0], 0, 0, 0)
CREATE_ROW(create_size_past_off, nm[0], OFF_PAST, 0, 0)
CREATE_ROW(create_size_max, nm[0], SIZE_MAX, 0, 0)
CREATE_ROW(create_flag31, nm[0], 4096, 1u << 31, 0)
CREATE_ROW(create_flag5, nm[0], 4096, 1u << 5, 0)
CREATE_ROW(create_rdonly, nm[0], 4096, SHMX_RDONLY, 0)
CREATE_ROW(create_pair_role, nm[0], 4096, SHMX_PAIR_WRITER, 0)
CREATE_ROW(create_mode_suid, nm[0], 4096, 0, 04600)
CREATE_ROW(create_mode_sticky, nm[0], 4096, 0, 01600)
CREATE_ROW(create_mode_high, nm[0], 4096, 0, 010600)

static long create_ret_null(const char *a)
{
	(void)a;
	return no_leftover(shmx_create(nm[0], 4096, 0, 0, NULL), nm[0]);
}

static long create_exists(const char *a)
{
	struct shmx_region *out = SENT;
	long rc;

	(void)a;
	shmx_close(region(0));
	rc = shmx_create(nm[0], 4096, 0, 0, &out);
	UNTOUCHED(out);
	return rc;
}

static long open_ret_null(const char *a)
{
	(void)a;
	shmx_close(region(0));
	return shmx_open(nm[0], 0, NULL);
}

#define OPEN_ROW(id, flags)                                                      \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_region *out = SENT;                                  \
		long rc;                                                         \
		(void)a;                                                         \
		shmx_close(region(0));                                           \
		rc = shmx_open(nm[0], flags, &out);                              \
		UNTOUCHED(out);                                                  \
		return rc;                                                       \
	}

OPEN_ROW(open_flag31, 1u << 31)
OPEN_ROW(open_lazy, SHMX_LAZY)
OPEN_ROW(open_unlink_on_close, SHMX_UNLINK_ON_CLOSE)
OPEN_ROW(open_pair_role, SHMX_PAIR_READER)

static long open_missing(const char *a)
{
	struct shmx_region *out = SENT;
	long rc;

	(void)a;
	rc = shmx_open(nm[0], 0, &out);
	UNTOUCHED(out);
	return rc;
}

static long map_null(const char *a)
{
	(void)a;
	return shmx_map(NULL);
}

static long map_twice(const char *a)
{
	struct shmx_region *r = region(SHMX_MAP);
	void *addr = shmx_addr(r);
	long rc;

	(void)a;
	rc = shmx_map(r);
	if (shmx_addr(r) != addr)
		flag("mapping changed");
	return rc;
}

static long unmap_null(const char *a)
{
	(void)a;
	return shmx_unmap(NULL);
}

static long unmap_unmapped(const char *a)
{
	(void)a;
	return shmx_unmap(region(0));
}

static long unmap_twice(const char *a)
{
	struct shmx_region *r = region(SHMX_MAP);

	(void)a;
	NEED(shmx_unmap(r) == 0);
	return shmx_unmap(r);
}

static long close_null(const char *a)
{
	(void)a;
	return shmx_close(NULL) == NULL ? 0 : 1;
}

static long unlink_missing(const char *a)
{
	(void)a;
	return shmx_unlink(nm[0]);
}

static long resize_null(const char *a)
{
	(void)a;
	return shmx_resize(NULL, 4096);
}

/* A failed resize changes neither the object nor the mapping. */
static long resize_to(size_t size, struct shmx_region *r)
{
	struct stat st;
	long rc = shmx_resize(r, size);

	NEED(fstat(shmx_fd(r), &st) == 0);
	if (rc < 0 && (st.st_size != SZ || shmx_size(r) != SZ))
		flag("failed resize changed the size");
	return rc;
}

static long resize_0(const char *a)
{
	(void)a;
	return resize_to(0, region(SHMX_MAP));
}

static long resize_past_off(const char *a)
{
	(void)a;
	return resize_to(OFF_PAST, region(SHMX_MAP));
}

static long resize_size_max(const char *a)
{
	(void)a;
	return resize_to(SIZE_MAX, region(SHMX_MAP));
}

static long resize_rdonly(const char *a)
{
	(void)a;
	return resize_to(2 * SZ, ro_region());
}

static long sync_null(const char *a)
{
	(void)a;
	return shmx_sync(NULL);
}

static long sync_unmapped(const char *a)
{
	(void)a;
	return shmx_sync(region(0));
}

static long addr_null(const char *a)
{
	(void)a;
	return shmx_addr(NULL) == NULL ? 0 : 1;
}

static long size_null(const char *a)
{
	(void)a;
	return (long)shmx_size(NULL);
}

static long name_null(const char *a)
{
	(void)a;
	return shmx_name(NULL) == NULL ? 0 : 1;
}

/* shmx_name_canon() told that its buffer (NULL when null_buf) has size
 * bytes: on failure not one byte of it is written. */
static long canon_into(const char *name, bool null_buf, size_t size)
{
	char buf[SHMX_NAME_MAX + 2];
	long rc;

	memset(buf, 'z', sizeof(buf));
	rc = shmx_name_canon(name, null_buf ? NULL : buf, size);
	if (rc < 0 && !all_bytes(buf, sizeof(buf), 'z'))
		flag("buffer written");
	return rc;
}

static long canon_null_buf(const char *a)
{
	(void)a;
	return canon_into(nm[0], true, SHMX_NAME_MAX + 2);
}

static long canon_size0(const char *a)
{
	(void)a;
	return canon_into(nm[0], false, 0);
}

/* Room for the name but not its NUL. */
static long canon_no_room_for_nul(const char *a)
{
	(void)a;
	return canon_into(nm[0], false, strlen(nm[0]));
}

static long fd_null(const char *a)
{
	(void)a;
	return shmx_fd(NULL);
}

static long read_into(struct shmx_region *r, size_t off, void *buf, size_t len)
{
	unsigned char mine[64];
	long rc;

	memset(mine, 0xa5, sizeof(mine));
	rc = shmx_read(r, off, buf == SENT ? mine : buf, len);
	if (rc < 0 && !all_bytes(mine, sizeof(mine), 0xa5))
		flag("buffer written by a failed read");
	return rc;
}

static long read_null_region(const char *a)
{
	(void)a;
	return read_into(NULL, 0, SENT, 64);
}

static long read_null_buf(const char *a)
{
	(void)a;
	return read_into(region(SHMX_MAP), 0, NULL, 64);
}

static long read_off_past(const char *a)
{
	(void)a;
	return read_into(region(SHMX_MAP), SZ + 1, SENT, 64);
}

static long read_off_max_unmapped(const char *a)
{
	(void)a;
	return read_into(region(0), SIZE_MAX, SENT, 64);
}

/* A refused write leaves the region as it was (zero). */
static long write_from(struct shmx_region *r, size_t off, const void *buf, size_t len)
{
	unsigned char mine[64], back[SZ];
	long rc;

	memset(mine, 0xa5, sizeof(mine));
	rc = shmx_write(r, off, buf == SENT ? mine : buf, len);
	if (rc < 0 && r && pread(shmx_fd(r), back, SZ, 0) == SZ && !all_bytes(back, SZ, 0))
		flag("region written by a failed write");
	return rc;
}

static long write_null_region(const char *a)
{
	(void)a;
	return write_from(NULL, 0, SENT, 64);
}

static long write_null_buf(const char *a)
{
	(void)a;
	return write_from(region(SHMX_MAP), 0, NULL, 64);
}

static long write_straddle(const char *a)
{
	(void)a;
	return write_from(region(SHMX_MAP), SZ - 10, SENT, 64);
}

static long write_off_max(const char *a)
{
	(void)a;
	return write_from(region(SHMX_MAP), SIZE_MAX, SENT, 1);
}

static long write_straddle_unmapped(const char *a)
{
	(void)a;
	return write_from(region(0), SZ - 10, SENT, 64);
}

static long write_rdonly(const char *a)
{
	struct shmx_region *r = ro_region();

	(void)a;
	NEED(shmx_map(r) == 0);
	return write_from(r, 0, SENT, 64);
}

static long stat_null_info(const char *a)
{
	(void)a;
	shmx_close(region(0));
	return shmx_stat(nm[0], NULL);
}

static long stat_missing(const char *a)
{
	struct shmx_info info;
	long rc;

	(void)a;
	memset(&info, 0xa5, sizeof(info));
	rc = shmx_stat(nm[0], &info);
	if (!all_bytes(&info, sizeof(info), 0xa5))
		flag("info written by a failed stat");
	return rc;
}

static long strerror_is_unknown(int err)
{
	const char *s = shmx_strerror(err);

	return s && !strcmp(s, "Unknown error") ? 0 : 1;
}

static long strerror_positive(const char *a)
{
	(void)a;
	return strerror_is_unknown(EINVAL);
}

static long strerror_int_min(const char *a)
{
	(void)a;
	return strerror_is_unknown(INT_MIN);
}

/* ---- pair ---- */

#define PAIR_CREATE_ROW(id, reg, ret, flags, mode)                               \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_pair *out = SENT;                                    \
		long rc;                                                         \
		(void)a;                                                         \
		rc = shmx_pair_create(reg, flags, mode, ret);                    \
		UNTOUCHED(out);                                                  \
		if (rc < 0 && shmx_pair_unlink(nm[0]) != -ENOENT)                \
			flag("failed pair create left a semaphore");             \
		return rc;                                                       \
	}

PAIR_CREATE_ROW(pcreate_null_region, NULL, &out, W, 0)
PAIR_CREATE_ROW(pcreate_null_ret, region(SHMX_MAP), NULL, W, 0)
PAIR_CREATE_ROW(pcreate_no_role, region(SHMX_MAP), &out, 0, 0)
PAIR_CREATE_ROW(pcreate_both_roles, region(SHMX_MAP), &out, W | R, 0)
PAIR_CREATE_ROW(pcreate_flag31, region(SHMX_MAP), &out, W | 1u << 31, 0)
PAIR_CREATE_ROW(pcreate_region_flag, region(SHMX_MAP), &out, W | SHMX_MAP, 0)
PAIR_CREATE_ROW(pcreate_mode_suid, region(SHMX_MAP), &out, W, 04600)
PAIR_CREATE_ROW(pcreate_rdonly, ro_region(), &out, W, 0)

/* A live pair: its owner holds the owner slot. */
static long pcreate_exists(const char *a)
{
	struct shmx_region *r = region(SHMX_MAP);
	struct shmx_pair *p, *out = SENT;
	long rc;

	(void)a;
	NEED(shmx_pair_create(r, W, 0, &p) == 0);
	rc = shmx_pair_create(r, R, 0, &out);
	UNTOUCHED(out);
	return rc;
}

/* A pair whose owner has gone: the semaphore names are still taken. */
static long pcreate_stale(const char *a)
{
	struct shmx_region *r = region(SHMX_MAP);
	struct shmx_pair *p, *out = SENT;
	long rc;

	(void)a;
	NEED(shmx_pair_create(r, W, 0, &p) == 0);
	shmx_pair_close(p);
	rc = shmx_pair_create(r, W, 0, &out);
	UNTOUCHED(out);
	return rc;
}

/* A region whose name leaves no room for the ".shmx-w" suffix. */
static long pcreate_long_name(const char *a)
{
	const char *name = padded(SHMX_PAIR_NAME_MAX + 1);
	struct shmx_pair *out = SENT;
	struct shmx_region *r;
	long rc;

	(void)a;
	NEED(shmx_create(name, SZ, SHMX_MAP, 0, &r) == 0);
	rc = shmx_pair_create(r, W, 0, &out);
	UNTOUCHED(out);
	shmx_close(r);
	shmx_unlink(name);
	return rc;
}

static long popen_long_name(const char *a)
{
	const char *name = padded(SHMX_PAIR_NAME_MAX + 1);
	struct shmx_pair *out = SENT;
	struct shmx_region *r;
	long rc;

	(void)a;
	NEED(shmx_create(name, SZ, SHMX_MAP, 0, &r) == 0);
	rc = shmx_pair_open(r, R, &out);
	UNTOUCHED(out);
	shmx_close(r);
	shmx_unlink(name);
	return rc;
}

#define PAIR_OPEN_ROW(id, reg, ret, flags)                                       \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_pair *out = SENT;                                    \
		long rc;                                                         \
		(void)a;                                                         \
		pair(W);                                                         \
		rc = shmx_pair_open(reg, flags, ret);                            \
		UNTOUCHED(out);                                                  \
		return rc;                                                       \
	}

static struct shmx_region *opened(unsigned flags)
{
	struct shmx_region *r;

	NEED(shmx_open(nm[0], flags, &r) == 0);
	return r;
}

PAIR_OPEN_ROW(popen_null_region, NULL, &out, R)
PAIR_OPEN_ROW(popen_null_ret, opened(SHMX_MAP), NULL, R)
PAIR_OPEN_ROW(popen_no_role, opened(SHMX_MAP), &out, 0)
PAIR_OPEN_ROW(popen_both_roles, opened(SHMX_MAP), &out, W | R)
PAIR_OPEN_ROW(popen_flag31, opened(SHMX_MAP), &out, R | 1u << 31)
PAIR_OPEN_ROW(popen_rdonly, opened(SHMX_RDONLY), &out, R)
PAIR_OPEN_ROW(popen_role_taken, opened(SHMX_MAP), &out, W)

static long popen_missing(const char *a)
{
	struct shmx_pair *out = SENT;
	long rc;

	(void)a;
	rc = shmx_pair_open(region(SHMX_MAP), R, &out);
	UNTOUCHED(out);
	return rc;
}

/* The pair's "may read" semaphore file replaced by kind: an empty file, a
 * FIFO, a link to the other semaphore. */
static void replace_read_sem(int kind)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/sem.%s.shmx-r", nm[0] + 1);
	NEED(unlink(path) == 0);
	if (kind == 0) {
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		NEED(fd >= 0);
		close(fd);
	} else if (kind == 1) {
		NEED(mkfifo(path, 0600) == 0);
	} else {
		char target[600];

		snprintf(target, sizeof(target), "sem.%s.shmx-w", nm[0] + 1);
		NEED(symlink(target, path) == 0);
	}
}

/* All three kinds must give the same error: that one is the row's. */
static long popen_bad_sem(const char *a)
{
	struct shmx_pair *out = SENT;
	long rc, first = 0;

	(void)a;
	pair(W);
	for (int kind = 0; kind < 3; kind++) {
		replace_read_sem(kind);
		rc = shmx_pair_open(opened(SHMX_MAP), R, &out);
		UNTOUCHED(out);
		if (kind == 0)
			first = rc;
		else if (rc != first)
			flag("a FIFO or a symlink gives another error than an empty file");
	}
	return first;
}

static long pclose_null(const char *a)
{
	(void)a;
	return shmx_pair_close(NULL) == NULL ? 0 : 1;
}

static long punlink_missing(const char *a)
{
	(void)a;
	return shmx_pair_unlink(nm[0]);
}

static long pwait_null(const char *a)
{
	(void)a;
	return shmx_pair_wait(NULL, 0);
}

static long pwait_minus2(const char *a)
{
	(void)a;
	return shmx_pair_wait(pair(W), -2);
}

static long pwait_int_min(const char *a)
{
	(void)a;
	return shmx_pair_wait(pair(W), INT_MIN);
}

static long pwait_holding(const char *a)
{
	struct shmx_pair *p = pair(W);

	(void)a;
	NEED(shmx_pair_wait(p, 0) == 0);
	return shmx_pair_wait(p, 0);
}

static long ppost_null(const char *a)
{
	(void)a;
	return shmx_pair_post(NULL);
}

static long ppost_no_turn(const char *a)
{
	(void)a;
	return shmx_pair_post(pair(W));
}

static long ppost_twice(const char *a)
{
	struct shmx_pair *p = pair(W);

	(void)a;
	NEED(shmx_pair_wait(p, 0) == 0);
	NEED(shmx_pair_post(p) == 0);
	return shmx_pair_post(p);
}

/* ---- channel ---- */

#define CHAN_CREATE_ROW(id, ret, cap, flags, mode)                               \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_chan *out = SENT;                                    \
		long rc;                                                         \
		(void)a;                                                         \
		rc = shmx_chan_create(nm[1], cap, flags, mode, ret);             \
		UNTOUCHED(out);                                                  \
		return no_leftover(rc, nm[1]);                                   \
	}

CHAN_CREATE_ROW(ccreate_null_ret, NULL, CAP, P, 0)
CHAN_CREATE_ROW(ccreate_no_role, &out, CAP, 0, 0)
CHAN_CREATE_ROW(ccreate_both_roles, &out, CAP, P | C, 0)
CHAN_CREATE_ROW(ccreate_spin_block, &out, CAP, P | SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK, 0)
CHAN_CREATE_ROW(ccreate_flag31, &out, CAP, P | 1u << 31, 0)
CHAN_CREATE_ROW(ccreate_allow_shared, &out, CAP, P | SHMX_ALLOW_SHARED, 0)
CHAN_CREATE_ROW(ccreate_rdonly, &out, CAP, P | SHMX_RDONLY, 0)
CHAN_CREATE_ROW(ccreate_cap0, &out, 0, P, 0)
CHAN_CREATE_ROW(ccreate_cap32, &out, 32, P, 0)
CHAN_CREATE_ROW(ccreate_cap63, &out, 63, P, 0)
CHAN_CREATE_ROW(ccreate_cap96, &out, 96, P, 0)
CHAN_CREATE_ROW(ccreate_cap_npot, &out, CAP + 8, P, 0)
CHAN_CREATE_ROW(ccreate_cap_2to33, &out, (size_t)1 << 33, P, 0)
CHAN_CREATE_ROW(ccreate_cap_max, &out, SIZE_MAX, P, 0)
CHAN_CREATE_ROW(ccreate_cap_top_bit, &out, ~(SIZE_MAX >> 1), P, 0)
CHAN_CREATE_ROW(ccreate_mode_suid, &out, CAP, P, 04600)

static long ccreate_exists(const char *a)
{
	struct shmx_chan *out = SENT;
	long rc;

	(void)a;
	chan(P);
	rc = shmx_chan_create(nm[1], CAP, C, 0, &out);
	UNTOUCHED(out);
	return rc;
}

#define CHAN_OPEN_ROW(id, ret, flags, timeout)                                   \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_chan *out = SENT;                                    \
		long rc;                                                         \
		(void)a;                                                         \
		chan(P);                                                         \
		rc = shmx_chan_open(nm[1], flags, timeout, ret);                 \
		UNTOUCHED(out);                                                  \
		return rc;                                                       \
	}

CHAN_OPEN_ROW(copen_null_ret, NULL, C, 0)
CHAN_OPEN_ROW(copen_no_role, &out, 0, 0)
CHAN_OPEN_ROW(copen_both_roles, &out, P | C, 0)
CHAN_OPEN_ROW(copen_spin_block, &out, C | SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK, 0)
CHAN_OPEN_ROW(copen_flag31, &out, C | 1u << 31, 0)
CHAN_OPEN_ROW(copen_unlink_on_close, &out, C | SHMX_UNLINK_ON_CLOSE, 0)
CHAN_OPEN_ROW(copen_rdonly, &out, C | SHMX_RDONLY, 0)
CHAN_OPEN_ROW(copen_minus2, &out, C, -2)
CHAN_OPEN_ROW(copen_int_min, &out, C, INT_MIN)
CHAN_OPEN_ROW(copen_role_taken, &out, P, 0)

static long copen_missing(const char *a)
{
	struct shmx_chan *out = SENT;
	long rc;

	(void)a;
	rc = shmx_chan_open(nm[1], C, 0, &out);
	UNTOUCHED(out);
	return rc;
}

/* A raw region of a size a channel could have, holding data, no header.
 * (An all-zero one reads as a channel its creator has not published yet:
 * -EAGAIN, then -ETIMEDOUT.) */
static long copen_raw_region(const char *a)
{
	struct shmx_chan *out = SENT;
	struct shmx_region *r;
	long rc;

	(void)a;
	NEED(shmx_create(nm[1], 4096 + CAP, 0, 0, &r) == 0);
	NEED(shmx_write(r, 0, "raw bytes", 9) == 9);
	rc = shmx_chan_open(nm[1], C, 0, &out);
	UNTOUCHED(out);
	return rc;
}

static long cclose_null(const char *a)
{
	(void)a;
	return shmx_chan_close(NULL) == NULL ? 0 : 1;
}

static long cunlink_missing(const char *a)
{
	(void)a;
	return shmx_chan_unlink(nm[1]);
}

static long csend_null(const char *a)
{
	(void)a;
	return shmx_chan_send(NULL, "x", 1, 0);
}

static long csend_null_buf(const char *a)
{
	(void)a;
	return shmx_chan_send(chan(P), NULL, 1, 0);
}

static long csend_minus2(const char *a)
{
	(void)a;
	return shmx_chan_send(chan(P), "x", 1, -2);
}

static long csend_consumer(const char *a)
{
	(void)a;
	return shmx_chan_send(cons_of(chan(P)), "x", 1, 0);
}

static long csend_too_big(const char *a)
{
	static char big[CAP];
	struct shmx_chan *c = chan(P);
	long rc;

	(void)a;
	rc = shmx_chan_send(c, big, shmx_chan_max_msg(c) + 1, 0);
	if (shmx_chan_pending(c) != 0)
		flag("refused message was queued");
	return rc;
}

static long csend_reserved(const char *a)
{
	struct shmx_chan *c = chan(P);
	void *ptr;

	(void)a;
	NEED(shmx_chan_reserve(c, 8, &ptr, 0) == 0);
	return shmx_chan_send(c, "x", 1, 0);
}

static long recv_into(struct shmx_chan *c, void *buf, size_t size, int timeout)
{
	unsigned char mine[64];
	long rc;

	memset(mine, 0xa5, sizeof(mine));
	rc = shmx_chan_recv(c, buf == SENT ? mine : buf, size, timeout);
	if (rc < 0 && !all_bytes(mine, sizeof(mine), 0xa5))
		flag("buffer written by a failed recv");
	return rc;
}

static long crecv_null(const char *a)
{
	(void)a;
	return recv_into(NULL, SENT, 64, 0);
}

static long crecv_null_buf(const char *a)
{
	(void)a;
	return recv_into(cons_of(chan(P)), NULL, 64, 0);
}

static long crecv_minus2(const char *a)
{
	(void)a;
	return recv_into(cons_of(chan(P)), SENT, 64, -2);
}

static long crecv_producer(const char *a)
{
	(void)a;
	return recv_into(chan(P), SENT, 64, 0);
}

/* Too small a buffer: the message stays for a larger one. */
static long crecv_small(const char *a)
{
	struct shmx_chan *p = chan(P), *c = cons_of(p);
	char msg[40] = "forty bytes", back[40];
	long rc;

	(void)a;
	NEED(shmx_chan_send(p, msg, sizeof(msg), 0) == 0);
	rc = recv_into(c, SENT, 10, 0);
	if (shmx_chan_recv(c, back, sizeof(back), 0) != sizeof(msg) || memcmp(back, msg, 40))
		flag("message not kept after -EMSGSIZE");
	return rc;
}

static long crecv_peeked(const char *a)
{
	struct shmx_chan *p = chan(P), *c = cons_of(p);
	const void *ptr;

	(void)a;
	NEED(shmx_chan_send(p, "x", 1, 0) == 0);
	NEED(shmx_chan_peek(c, &ptr, 0) == 1);
	return recv_into(c, SENT, 64, 0);
}

/* ---- batches ---- */

static long send_batch_of(struct shmx_chan *c, const struct iovec *msgs, size_t n,
			  int timeout)
{
	long rc = shmx_chan_send_batch(c, msgs, n, timeout);

	if (c && shmx_chan_pending(c) > 0)
		flag("refused batch was queued");
	return rc;
}

static const struct iovec two_msgs[2] = { { "a", 1 }, { "b", 1 } };

static long cbsend_null(const char *a)
{
	(void)a;
	return send_batch_of(NULL, two_msgs, 2, 0);
}

static long cbsend_null_msgs(const char *a)
{
	(void)a;
	return send_batch_of(chan(P), NULL, 2, 0);
}

static long cbsend_n0(const char *a)
{
	(void)a;
	return send_batch_of(chan(P), two_msgs, 0, 0);
}

static long cbsend_minus2(const char *a)
{
	(void)a;
	return send_batch_of(chan(P), two_msgs, 2, -2);
}

static long cbsend_consumer(const char *a)
{
	(void)a;
	return shmx_chan_send_batch(cons_of(chan(P)), two_msgs, 2, 0);
}

static long cbsend_null_base(const char *a)
{
	struct iovec v[2] = { { "a", 1 }, { NULL, 1 } };

	(void)a;
	return send_batch_of(chan(P), v, 2, 0);
}

static long cbsend_too_big(const char *a)
{
	static char big[CAP];
	struct shmx_chan *c = chan(P);
	struct iovec v[2] = { { "a", 1 }, { big, shmx_chan_max_msg(c) + 1 } };

	(void)a;
	return send_batch_of(c, v, 2, 0);
}

static long cbsend_reserved(const char *a)
{
	struct shmx_chan *c = chan(P);
	void *ptr;

	(void)a;
	NEED(shmx_chan_reserve(c, 8, &ptr, 0) == 0);
	return shmx_chan_send_batch(c, two_msgs, 2, 0);
}

/* A failed batch receive writes neither the buffer nor the lengths. */
static long recv_batch_into(struct shmx_chan *c, void *buf, size_t size, size_t *lens,
			    size_t max, int timeout)
{
	unsigned char mine[64];
	size_t my_lens[4] = { 7, 7, 7, 7 };
	long rc;

	memset(mine, 0xa5, sizeof(mine));
	rc = shmx_chan_recv_batch(c, buf == SENT ? mine : buf, size,
				  lens == SENT ? my_lens : lens, max, timeout);
	if (rc < 0 && (!all_bytes(mine, sizeof(mine), 0xa5) || my_lens[0] != 7))
		flag("buffer or lengths written by a failed batch receive");
	return rc;
}

static long cbrecv_null(const char *a)
{
	(void)a;
	return recv_batch_into(NULL, SENT, 64, SENT, 4, 0);
}

static long cbrecv_null_buf(const char *a)
{
	(void)a;
	return recv_batch_into(cons_of(chan(P)), NULL, 64, SENT, 4, 0);
}

static long cbrecv_null_lens(const char *a)
{
	(void)a;
	return recv_batch_into(cons_of(chan(P)), SENT, 64, NULL, 4, 0);
}

static long cbrecv_max0(const char *a)
{
	(void)a;
	return recv_batch_into(cons_of(chan(P)), SENT, 64, SENT, 0, 0);
}

static long cbrecv_minus2(const char *a)
{
	(void)a;
	return recv_batch_into(cons_of(chan(P)), SENT, 64, SENT, 4, -2);
}

static long cbrecv_producer(const char *a)
{
	(void)a;
	return recv_batch_into(chan(P), SENT, 64, SENT, 4, 0);
}

/* The first message does not fit: it stays for a larger buffer. */
static long cbrecv_small(const char *a)
{
	struct shmx_chan *p = chan(P), *c = cons_of(p);
	char msg[40] = "forty bytes", back[40];
	long rc;

	(void)a;
	NEED(shmx_chan_send(p, msg, sizeof(msg), 0) == 0);
	rc = recv_batch_into(c, SENT, 10, SENT, 4, 0);
	if (shmx_chan_recv(c, back, sizeof(back), 0) != sizeof(msg) || memcmp(back, msg, 40))
		flag("message not kept after -EMSGSIZE");
	return rc;
}

static long cbrecv_peeked(const char *a)
{
	struct shmx_chan *p = chan(P), *c = cons_of(p);
	const void *ptr;

	(void)a;
	NEED(shmx_chan_send(p, "x", 1, 0) == 0);
	NEED(shmx_chan_peek(c, &ptr, 0) == 1);
	return recv_batch_into(c, SENT, 64, SENT, 4, 0);
}

static long reserve_into(struct shmx_chan *c, size_t len, void **ptr, int timeout)
{
	void *out = SENT;
	long rc;

	rc = shmx_chan_reserve(c, len, ptr == SENT ? &out : ptr, timeout);
	UNTOUCHED(out);
	return rc;
}

static long creserve_null(const char *a)
{
	(void)a;
	return reserve_into(NULL, 8, SENT, 0);
}

static long creserve_null_ptr(const char *a)
{
	(void)a;
	return reserve_into(chan(P), 8, NULL, 0);
}

static long creserve_minus2(const char *a)
{
	(void)a;
	return reserve_into(chan(P), 8, SENT, -2);
}

static long creserve_consumer(const char *a)
{
	(void)a;
	return reserve_into(cons_of(chan(P)), 8, SENT, 0);
}

static long creserve_too_big(const char *a)
{
	struct shmx_chan *c = chan(P);

	(void)a;
	return reserve_into(c, shmx_chan_max_msg(c) + 1, SENT, 0);
}

static long creserve_twice(const char *a)
{
	struct shmx_chan *c = chan(P);
	void *ptr;

	(void)a;
	NEED(shmx_chan_reserve(c, 8, &ptr, 0) == 0);
	return reserve_into(c, 8, SENT, 0);
}

static long ccommit_null(const char *a)
{
	(void)a;
	return shmx_chan_commit(NULL, 0);
}

static long ccommit_unreserved(const char *a)
{
	struct shmx_chan *c = chan(P);
	long rc;

	(void)a;
	rc = shmx_chan_commit(c, 0);
	if (shmx_chan_pending(c) != 0)
		flag("a message was committed");
	return rc;
}

static long ccommit_twice(const char *a)
{
	struct shmx_chan *c = chan(P);
	void *ptr;

	(void)a;
	NEED(shmx_chan_reserve(c, 8, &ptr, 0) == 0);
	NEED(shmx_chan_commit(c, 8) == 0);
	return shmx_chan_commit(c, 8);
}

static long ccommit_consumer(const char *a)
{
	(void)a;
	return shmx_chan_commit(cons_of(chan(P)), 0);
}

static long ccommit_longer(const char *a)
{
	struct shmx_chan *c = chan(P);
	void *ptr;

	(void)a;
	NEED(shmx_chan_reserve(c, 8, &ptr, 0) == 0);
	return shmx_chan_commit(c, 9);
}

static long peek_into(struct shmx_chan *c, const void **ptr, int timeout)
{
	const void *out = SENT;
	long rc;

	rc = shmx_chan_peek(c, ptr == SENT ? &out : ptr, timeout);
	UNTOUCHED(out);
	return rc;
}

static long cpeek_null(const char *a)
{
	(void)a;
	return peek_into(NULL, SENT, 0);
}

static long cpeek_null_ptr(const char *a)
{
	(void)a;
	return peek_into(cons_of(chan(P)), NULL, 0);
}

static long cpeek_minus2(const char *a)
{
	(void)a;
	return peek_into(cons_of(chan(P)), SENT, -2);
}

static long cpeek_producer(const char *a)
{
	(void)a;
	return peek_into(chan(P), SENT, 0);
}

static long cpeek_empty(const char *a)
{
	(void)a;
	return peek_into(cons_of(chan(P)), SENT, 0);
}

static long crelease_null(const char *a)
{
	(void)a;
	return shmx_chan_release(NULL);
}

static long crelease_unpeeked(const char *a)
{
	struct shmx_chan *p = chan(P), *c = cons_of(p);
	long rc;

	(void)a;
	NEED(shmx_chan_send(p, "x", 1, 0) == 0);
	rc = shmx_chan_release(c);
	if (shmx_chan_pending(c) != 1)
		flag("a message was released");
	return rc;
}

static long crelease_twice(const char *a)
{
	struct shmx_chan *p = chan(P), *c = cons_of(p);
	const void *ptr;

	(void)a;
	NEED(shmx_chan_send(p, "x", 1, 0) == 0);
	NEED(shmx_chan_send(p, "y", 1, 0) == 0);
	NEED(shmx_chan_peek(c, &ptr, 0) == 1);
	NEED(shmx_chan_release(c) == 0);
	return shmx_chan_release(c);
}

static long crelease_producer(const char *a)
{
	(void)a;
	return shmx_chan_release(chan(P));
}

static long ccapacity_null(const char *a)
{
	(void)a;
	return (long)shmx_chan_capacity(NULL);
}

static long cmaxmsg_null(const char *a)
{
	(void)a;
	return (long)shmx_chan_max_msg(NULL);
}

static long cused_null(const char *a)
{
	(void)a;
	return shmx_chan_used(NULL);
}

static long cpending_null(const char *a)
{
	(void)a;
	return shmx_chan_pending(NULL);
}

static long cstat_into(const char *name)
{
	struct shmx_chan_info info;
	long rc;

	memset(&info, 0xa5, sizeof(info));
	rc = shmx_chan_stat(name, &info);
	if (rc < 0 && !all_bytes(&info, sizeof(info), 0xa5))
		flag("info written by a failed stat");
	return rc;
}

static long cstat_null_info(const char *a)
{
	(void)a;
	chan(P);
	return shmx_chan_stat(nm[1], NULL);
}

static long cstat_missing(const char *a)
{
	(void)a;
	return cstat_into(nm[1]);
}

static long cstat_raw_region(const char *a)
{
	(void)a;
	shmx_close(region(0));
	return cstat_into(nm[0]);
}

/* ---- handle metadata, anonymous regions, System V segments ---- */

static long fstat_into(struct shmx_region *r)
{
	struct shmx_info info;
	long rc;

	memset(&info, 0xa5, sizeof(info));
	rc = shmx_fstat(r, &info);
	if (rc < 0 && !all_bytes(&info, sizeof(info), 0xa5))
		flag("info written by a failed fstat");
	return rc;
}

static long fstat_null(const char *a)
{
	(void)a;
	return fstat_into(NULL);
}

static long fstat_null_info(const char *a)
{
	(void)a;
	return shmx_fstat(region(0), NULL);
}

#define ANON_CREATE_ROW(id, size, flags)                                         \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_region *out = SENT;                                  \
		long rc;                                                         \
		(void)a;                                                         \
		rc = shmx_anon_create(size, flags, &out);                        \
		UNTOUCHED(out);                                                  \
		return rc;                                                       \
	}

ANON_CREATE_ROW(acreate_size0, 0, 0)
ANON_CREATE_ROW(acreate_size_past_off, OFF_PAST, 0)
ANON_CREATE_ROW(acreate_size_max, SIZE_MAX, 0)
ANON_CREATE_ROW(acreate_flag31, 4096, 1u << 31)
ANON_CREATE_ROW(acreate_rdonly, 4096, SHMX_RDONLY)
ANON_CREATE_ROW(acreate_unlink_on_close, 4096, SHMX_UNLINK_ON_CLOSE)
ANON_CREATE_ROW(acreate_allow_unsealed, 4096, SHMX_ALLOW_UNSEALED)

static long acreate_ret_null(const char *a)
{
	(void)a;
	return shmx_anon_create(4096, 0, NULL);
}

static struct shmx_region *anon(unsigned flags)
{
	struct shmx_region *r;

	NEED(shmx_anon_create(SZ, flags, &r) == 0);
	return r;
}

/* One end of a fresh socket pair; the other end stays open, unread. */
static int sock_end(void)
{
	int sv[2];

	NEED(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	return sv[0];
}

static long asend_null(const char *a)
{
	(void)a;
	return shmx_anon_send(NULL, sock_end());
}

static long asend_sock_minus1(const char *a)
{
	(void)a;
	return shmx_anon_send(anon(0), -1);
}

static long asend_named(const char *a)
{
	(void)a;
	return shmx_anon_send(region(0), sock_end());
}

static long asend_pipe(const char *a)
{
	int p[2];

	(void)a;
	NEED(pipe(p) == 0);
	return shmx_anon_send(anon(0), p[1]);
}

static long asend_closed(const char *a)
{
	struct shmx_region *r = anon(0);   /* first: it must not reuse fd */
	int fd = sock_end();

	(void)a;
	close(fd);
	return shmx_anon_send(r, fd);
}

static long arecv_into(int sock, unsigned flags, int timeout)
{
	struct shmx_region *out = SENT;
	long rc = shmx_anon_recv(sock, flags, timeout, &out);

	UNTOUCHED(out);
	return rc;
}

static long arecv_sock_minus1(const char *a)
{
	(void)a;
	return arecv_into(-1, 0, 0);
}

static long arecv_ret_null(const char *a)
{
	(void)a;
	return shmx_anon_recv(sock_end(), 0, 0, NULL);
}

static long arecv_flag31(const char *a)
{
	(void)a;
	return arecv_into(sock_end(), 1u << 31, 0);
}

static long arecv_growable(const char *a)
{
	(void)a;
	return arecv_into(sock_end(), SHMX_GROWABLE, 0);
}

static long arecv_lazy(const char *a)
{
	(void)a;
	return arecv_into(sock_end(), SHMX_LAZY, 0);
}

static long arecv_minus2(const char *a)
{
	(void)a;
	return arecv_into(sock_end(), 0, -2);
}

static long arecv_empty(const char *a)
{
	(void)a;
	return arecv_into(sock_end(), 0, 0);
}

/* A named region's descriptor: it cannot carry seals. */
static long arecv_unsealed(const char *a)
{
	struct shmx_region *r = region(0);
	int sv[2];
	char byte = 'x';
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int fd = shmx_fd(r);

	(void)a;
	NEED(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	NEED(sendmsg(sv[0], &msg, 0) == 1);
	return arecv_into(sv[1], 0, 1000);
}

static long aresize_sealed(const char *a)
{
	(void)a;
	return shmx_resize(anon(SHMX_MAP), SZ / 2);
}

static long skey_into(const char *path, int proj)
{
	key_t k = 7;
	long rc = shmx_sysv_key(path, proj, &k);

	if (rc < 0 && k != 7)
		flag("key written by a failed shmx_sysv_key");
	return rc;
}

static long skey_null_path(const char *a)
{
	(void)a;
	return skey_into(NULL, 'A');
}

static long skey_ret_null(const char *a)
{
	(void)a;
	return shmx_sysv_key("/", 'A', NULL);
}

static long skey_proj0(const char *a)
{
	(void)a;
	return skey_into("/", 0);
}

static long skey_proj256(const char *a)
{
	(void)a;
	return skey_into("/", 256);
}

static long skey_proj_minus1(const char *a)
{
	(void)a;
	return skey_into("/", -1);
}

static long skey_missing(const char *a)
{
	(void)a;
	return skey_into("/nonexistent/shmx-test", 'A');
}

/* A failed create must not leave a segment under the key. */
static long no_segment(long rc)
{
	if (rc < 0 && rc != -EEXIST && shmget(sk, 0, 0) >= 0)
		flag("failed create left a segment");
	return rc;
}

#define SYSV_CREATE_ROW(id, size, flags, mode)                                   \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_region *out = SENT;                                  \
		long rc;                                                         \
		(void)a;                                                         \
		rc = shmx_sysv_create(sk, size, flags, mode, &out);              \
		UNTOUCHED(out);                                                  \
		return no_segment(rc);                                           \
	}

SYSV_CREATE_ROW(screate_size0, 0, 0, 0)
SYSV_CREATE_ROW(screate_size_past_off, OFF_PAST, 0, 0)
SYSV_CREATE_ROW(screate_size_max, SIZE_MAX, 0, 0)
SYSV_CREATE_ROW(screate_flag31, 4096, 1u << 31, 0)
SYSV_CREATE_ROW(screate_rdonly, 4096, SHMX_RDONLY, 0)
SYSV_CREATE_ROW(screate_lazy, 4096, SHMX_LAZY, 0)
SYSV_CREATE_ROW(screate_populate, 4096, SHMX_POPULATE, 0)
SYSV_CREATE_ROW(screate_unlink_on_close, 4096, SHMX_UNLINK_ON_CLOSE, 0)
SYSV_CREATE_ROW(screate_mode_suid, 4096, 0, 04600)

static long screate_ret_null(const char *a)
{
	(void)a;
	return no_segment(shmx_sysv_create(sk, 4096, 0, 0, NULL));
}

static struct shmx_region *segment(unsigned flags)
{
	struct shmx_region *r;

	NEED(shmx_sysv_create(sk, SZ, flags, 0, &r) == 0);
	return r;
}

/* ---- channels and pairs in anonymous memory ---- */

#define CANON_ROW(id, cap, flags)                                                \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_chan *out = SENT;                                    \
		long rc;                                                         \
		(void)a;                                                         \
		rc = shmx_chan_create_anon(cap, flags, &out);                    \
		UNTOUCHED(out);                                                  \
		return rc;                                                       \
	}

CANON_ROW(canon_cap0, 0, P)
CANON_ROW(canon_cap32, 32, P)
CANON_ROW(canon_cap100, 100, P)
CANON_ROW(canon_cap_big, (size_t)1 << 33, P)
CANON_ROW(canon_no_role, CAP, 0)
CANON_ROW(canon_both_roles, CAP, P | C)
CANON_ROW(canon_spin_block, CAP, P | SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK)
CANON_ROW(canon_flag31, CAP, P | 1u << 31)
CANON_ROW(canon_unlink_on_close, CAP, P | SHMX_UNLINK_ON_CLOSE)
CANON_ROW(canon_allow_shared, CAP, P | SHMX_ALLOW_SHARED)

static long canon_ret_null(const char *a)
{
	(void)a;
	return shmx_chan_create_anon(CAP, P, NULL);
}

static long cregion_null(const char *a)
{
	(void)a;
	return shmx_chan_region(NULL) == NULL ? 0 : 1;
}

static struct shmx_chan *anon_chan(void)
{
	struct shmx_chan *c;

	NEED(shmx_chan_create_anon(CAP, P, &c) == 0);
	return c;
}

static long cattach_into(const struct shmx_region *r, unsigned flags)
{
	struct shmx_chan *out = SENT;
	long rc = shmx_chan_attach(r, flags, &out);

	UNTOUCHED(out);
	return rc;
}

static long cattach_null(const char *a)
{
	(void)a;
	return cattach_into(NULL, C);
}

static long cattach_ret_null(const char *a)
{
	(void)a;
	return shmx_chan_attach(shmx_chan_region(anon_chan()), C, NULL);
}

static long cattach_no_role(const char *a)
{
	(void)a;
	return cattach_into(shmx_chan_region(anon_chan()), 0);
}

static long cattach_flag31(const char *a)
{
	(void)a;
	return cattach_into(shmx_chan_region(anon_chan()), C | 1u << 31);
}

static long cattach_unlink_on_close(const char *a)
{
	(void)a;
	return cattach_into(shmx_chan_region(anon_chan()), C | SHMX_UNLINK_ON_CLOSE);
}

static long cattach_not_chan(const char *a)
{
	(void)a;
	return cattach_into(anon(SHMX_MAP), C);
}

static long cattach_sysv(const char *a)
{
	(void)a;
	return cattach_into(segment(0), C);
}

/* The region as a receiver gets it read-only. */
static struct shmx_region *received_rdonly(const struct shmx_region *r)
{
	struct shmx_region *ro;
	int sv[2];

	NEED(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	NEED(shmx_anon_send(r, sv[0]) == 0);
	NEED(shmx_anon_recv(sv[1], SHMX_RDONLY, 1000, &ro) == 0);
	return ro;
}

static long cattach_rdonly(const char *a)
{
	(void)a;
	return cattach_into(received_rdonly(shmx_chan_region(anon_chan())), C);
}

static long cattach_role_taken(const char *a)
{
	(void)a;
	return cattach_into(shmx_chan_region(anon_chan()), P);
}

static long panon_into(unsigned flags)
{
	struct shmx_pair *out = SENT;
	long rc = shmx_pair_create_anon(flags, &out);

	UNTOUCHED(out);
	return rc;
}

static long panon_ret_null(const char *a)
{
	(void)a;
	return shmx_pair_create_anon(W, NULL);
}

static long panon_no_role(const char *a)
{
	(void)a;
	return panon_into(0);
}

static long panon_both_roles(const char *a)
{
	(void)a;
	return panon_into(W | R);
}

static long panon_flag31(const char *a)
{
	(void)a;
	return panon_into(W | 1u << 31);
}

/* ---- pollable descriptors ---- */

static long cfd_null(const char *a)
{
	(void)a;
	return shmx_chan_fd(NULL);
}

static long cfd_twice(const char *a)
{
	struct shmx_chan *c = chan(C);
	int fd = shmx_chan_fd(c);

	(void)a;
	NEED(fd >= 0);
	return shmx_chan_fd(c) == fd ? 0 : 1;
}

/* Someone else bound the abstract name of the consumer's first attach
 * (shmx(7), "Polling") before it asked for its descriptor. */
static long cfd_name_taken(const char *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct shmx_chan *c = chan(C);
	char path[64];
	struct stat st;
	int s, n;

	(void)a;
	snprintf(path, sizeof(path), "/dev/shm%s", nm[1]);
	NEED(stat(path, &st) == 0);
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "shmx-%llx-%llx-c-1",
		     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	NEED(s >= 0 && bind(s, (struct sockaddr *)&sa,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0);
	return shmx_chan_fd(c);
}

static long pfd_null(const char *a)
{
	(void)a;
	return shmx_pair_fd(NULL);
}

static long pfd_twice(const char *a)
{
	struct shmx_pair *p = pair(R);
	int fd = shmx_pair_fd(p);

	(void)a;
	NEED(fd >= 0);
	return shmx_pair_fd(p) == fd ? 0 : 1;
}

static long pregion_null(const char *a)
{
	(void)a;
	return shmx_pair_region(NULL) == NULL ? 0 : 1;
}

static long pregion_named(const char *a)
{
	(void)a;
	return shmx_pair_region(pair(W)) == NULL ? 0 : 1;
}

static struct shmx_pair *anon_pair(void)
{
	struct shmx_pair *p;

	NEED(shmx_pair_create_anon(W, &p) == 0);
	return p;
}

static long pattach_into(const struct shmx_region *r, unsigned flags)
{
	struct shmx_pair *out = SENT;
	long rc = shmx_pair_attach(r, flags, &out);

	UNTOUCHED(out);
	return rc;
}

static long pattach_null(const char *a)
{
	(void)a;
	return pattach_into(NULL, R);
}

static long pattach_ret_null(const char *a)
{
	(void)a;
	return shmx_pair_attach(shmx_pair_region(anon_pair()), R, NULL);
}

static long pattach_no_role(const char *a)
{
	(void)a;
	return pattach_into(shmx_pair_region(anon_pair()), 0);
}

static long pattach_both_roles(const char *a)
{
	(void)a;
	return pattach_into(shmx_pair_region(anon_pair()), W | R);
}

static long pattach_not_pair(const char *a)
{
	(void)a;
	return pattach_into(anon(SHMX_MAP), R);
}

static long pattach_sysv(const char *a)
{
	(void)a;
	return pattach_into(segment(0), R);
}

static long pattach_rdonly(const char *a)
{
	(void)a;
	return pattach_into(received_rdonly(shmx_pair_region(anon_pair())), R);
}

static long pattach_role_taken(const char *a)
{
	(void)a;
	return pattach_into(shmx_pair_region(anon_pair()), W);
}

/* The owner closed; a region received before still leads to the object. */
static long pattach_owner_gone(const char *a)
{
	struct shmx_pair *p = anon_pair();
	struct shmx_region *rw;
	int sv[2];

	(void)a;
	NEED(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	NEED(shmx_anon_send(shmx_pair_region(p), sv[0]) == 0);
	NEED(shmx_anon_recv(sv[1], 0, 1000, &rw) == 0);
	shmx_pair_close(p);
	return pattach_into(rw, R);
}

static long screate_exists(const char *a)
{
	struct shmx_region *out = SENT;
	long rc;

	(void)a;
	shmx_close(segment(0));
	rc = shmx_sysv_create(sk, 4096, 0, 0, &out);
	UNTOUCHED(out);
	return rc;
}

static long sopen_into(key_t key, unsigned flags)
{
	struct shmx_region *out = SENT;
	long rc = shmx_sysv_open(key, flags, &out);

	UNTOUCHED(out);
	return rc;
}

static long sopen_ret_null(const char *a)
{
	(void)a;
	shmx_close(segment(0));
	return shmx_sysv_open(sk, 0, NULL);
}

static long sopen_flag31(const char *a)
{
	(void)a;
	shmx_close(segment(0));
	return sopen_into(sk, 1u << 31);
}

static long sopen_lazy(const char *a)
{
	(void)a;
	shmx_close(segment(0));
	return sopen_into(sk, SHMX_LAZY);
}

static long sopen_private(const char *a)
{
	(void)a;
	return sopen_into(IPC_PRIVATE, 0);
}

static long sopen_missing(const char *a)
{
	(void)a;
	return sopen_into(sk, 0);
}

static long sopenid_into(int id, unsigned flags)
{
	struct shmx_region *out = SENT;
	long rc = shmx_sysv_open_id(id, flags, &out);

	UNTOUCHED(out);
	return rc;
}

static long sopenid_ret_null(const char *a)
{
	(void)a;
	return shmx_sysv_open_id(shmx_sysv_id(segment(0)), 0, NULL);
}

static long sopenid_minus1(const char *a)
{
	(void)a;
	return sopenid_into(-1, 0);
}

static long sopenid_flag31(const char *a)
{
	(void)a;
	return sopenid_into(shmx_sysv_id(segment(0)), 1u << 31);
}

static long sopenid_missing(const char *a)
{
	int id = shmx_sysv_id(segment(0));

	(void)a;
	NEED(shmx_sysv_remove(id) == 0);
	return sopenid_into(id, 0);
}

/* Removed while still attached: it exists, but nobody new may attach. */
static long sopenid_removed(const char *a)
{
	int id = shmx_sysv_id(segment(SHMX_MAP));

	(void)a;
	NEED(shmx_sysv_remove(id) == 0);
	return sopenid_into(id, 0);
}

static long sid_null(const char *a)
{
	(void)a;
	return shmx_sysv_id(NULL);
}

static long sid_named(const char *a)
{
	(void)a;
	return shmx_sysv_id(region(0));
}

static long sremove_minus1(const char *a)
{
	(void)a;
	return shmx_sysv_remove(-1);
}

static long sremove_missing(const char *a)
{
	int id = shmx_sysv_id(segment(0));

	(void)a;
	NEED(shmx_sysv_remove(id) == 0);
	return shmx_sysv_remove(id);
}

static long sstat_into(int id)
{
	struct shmx_sysv_info info;
	long rc;

	memset(&info, 0xa5, sizeof(info));
	rc = shmx_sysv_stat(id, &info);
	if (rc < 0 && !all_bytes(&info, sizeof(info), 0xa5))
		flag("info written by a failed shmx_sysv_stat");
	return rc;
}

static long sstat_minus1(const char *a)
{
	(void)a;
	return sstat_into(-1);
}

static long sstat_null_info(const char *a)
{
	(void)a;
	return shmx_sysv_stat(shmx_sysv_id(segment(0)), NULL);
}

static long sstat_missing(const char *a)
{
	int id = shmx_sysv_id(segment(0));

	(void)a;
	NEED(shmx_sysv_remove(id) == 0);
	return sstat_into(id);
}

/* A segment's size is fixed, and it has no descriptor. */
static long sresize(const char *a)
{
	struct shmx_region *r = segment(SHMX_MAP);
	long rc = shmx_resize(r, 2 * SZ);

	(void)a;
	if (shmx_size(r) != SZ)
		flag("failed resize changed the size");
	return rc;
}

static long sfd(const char *a)
{
	(void)a;
	return shmx_fd(segment(0));
}

/* ---- channel shapes: several producers and consumers, the policy ---- */

/* The params of a channel of capacity cap, with the row's fields. */
#define SHAPE(cap, ...) ((struct shmx_chan_params){ .capacity = (cap), __VA_ARGS__ })

static long cparams_into(const struct shmx_chan_params *p, unsigned flags, mode_t mode,
			 bool ret)
{
	struct shmx_chan *out = SENT;
	long rc = shmx_chan_create_params(nm[1], p, flags, mode, ret ? &out : NULL);

	UNTOUCHED(out);
	return no_leftover(rc, nm[1]);
}

#define CPARAMS_ROW(id, flags, mode, cap, ...)                                   \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_chan_params p = SHAPE(cap, __VA_ARGS__);             \
		(void)a;                                                         \
		return cparams_into(&p, flags, mode, true);                      \
	}

CPARAMS_ROW(cparams_cap0, P, 0, 0, .consumers = 2)
CPARAMS_ROW(cparams_cap100, P, 0, 100, .consumers = 2)
CPARAMS_ROW(cparams_producers65, P, 0, CAP, .producers = SHMX_CHAN_MAX_PEERS + 1)
CPARAMS_ROW(cparams_consumers65, P, 0, CAP, .consumers = SHMX_CHAN_MAX_PEERS + 1)
CPARAMS_ROW(cparams_policy2, P, 0, CAP, .policy = 2)
CPARAMS_ROW(cparams_overwrite_2prod, P, 0, CAP, .producers = 2,
	    .policy = SHMX_CHAN_POLICY_OVERWRITE)
CPARAMS_ROW(cparams_reserved0, P, 0, CAP, .reserved[0] = 1)
CPARAMS_ROW(cparams_reserved4, P, 0, CAP, .reserved[4] = 1)
CPARAMS_ROW(cparams_no_role, 0, 0, CAP, .consumers = 2)
CPARAMS_ROW(cparams_flag31, P | 1u << 31, 0, CAP, .consumers = 2)
CPARAMS_ROW(cparams_mode_suid, P, 04600, CAP, .consumers = 2)

static long cparams_null(const char *a)
{
	(void)a;
	return cparams_into(NULL, P, 0, true);
}

static long cparams_ret_null(const char *a)
{
	struct shmx_chan_params p = SHAPE(CAP, .consumers = 2);

	(void)a;
	return cparams_into(&p, P, 0, false);
}

static long cparams_exists(const char *a)
{
	struct shmx_chan_params p = SHAPE(CAP, .consumers = 2);
	struct shmx_chan *out = SENT;
	long rc;

	(void)a;
	chan(P);
	rc = shmx_chan_create_params(nm[1], &p, P, 0, &out);
	UNTOUCHED(out);
	return rc;
}

static long caparams_into(const struct shmx_chan_params *p, unsigned flags, bool ret)
{
	struct shmx_chan *out = SENT;
	long rc = shmx_chan_create_anon_params(p, flags, ret ? &out : NULL);

	UNTOUCHED(out);
	return rc;
}

#define CAPARAMS_ROW(id, flags, cap, ...)                                        \
	static long id(const char *a)                                            \
	{                                                                        \
		struct shmx_chan_params p = SHAPE(cap, __VA_ARGS__);             \
		(void)a;                                                         \
		return caparams_into(&p, flags, true);                           \
	}

CAPARAMS_ROW(caparams_cap32, P, 32, .producers = 2)
CAPARAMS_ROW(caparams_consumers65, P, CAP, .consumers = SHMX_CHAN_MAX_PEERS + 1)
CAPARAMS_ROW(caparams_overwrite_2prod, P, CAP, .producers = 2,
	     .policy = SHMX_CHAN_POLICY_OVERWRITE)
CAPARAMS_ROW(caparams_reserved2, P, CAP, .reserved[2] = 1)
CAPARAMS_ROW(caparams_no_role, 0, CAP, .producers = 2)
CAPARAMS_ROW(caparams_unlink_on_close, P | SHMX_UNLINK_ON_CLOSE, CAP, .producers = 2)

static long caparams_null(const char *a)
{
	(void)a;
	return caparams_into(NULL, P, true);
}

static long caparams_ret_null(const char *a)
{
	struct shmx_chan_params p = SHAPE(CAP, .producers = 2);

	(void)a;
	return caparams_into(&p, P, false);
}

static long clost_null(const char *a)
{
	(void)a;
	return shmx_chan_lost(NULL);
}

static long clost_producer(const char *a)
{
	(void)a;
	return shmx_chan_lost(chan(P));
}

static long cslot_null(const char *a)
{
	(void)a;
	return shmx_chan_slot(NULL);
}

/* What a failed call leaves in the array: nothing. */
static long cpeers_into(const char *name, bool null, size_t n)
{
	struct shmx_chan_peer peers[4];
	long rc;

	memset(peers, 0xa5, sizeof(peers));
	rc = shmx_chan_peers(name, null ? NULL : peers, n);
	if (rc < 0 && !all_bytes(peers, sizeof(peers), 0xa5))
		flag("peers written by a failed call");
	return rc;
}

static long cpeers_null(const char *a)
{
	(void)a;
	chan(P);
	return cpeers_into(nm[1], true, 4);
}

static long cpeers_count_only(const char *a)
{
	(void)a;
	chan(P);
	return cpeers_into(nm[1], true, 0) == 2 ? 0 : 1;
}

static long cpeers_missing(const char *a)
{
	(void)a;
	return cpeers_into(nm[1], false, 4);
}

static long cpeers_raw_region(const char *a)
{
	struct shmx_region *r;

	(void)a;
	NEED(shmx_create(nm[1], 4096 + CAP, 0, 0, &r) == 0);
	NEED(shmx_write(r, 0, "raw bytes", 9) == 9);
	shmx_close(r);
	return cpeers_into(nm[1], false, 4);
}

/* ---- every function that takes a name, with every bad name ---- */

static long n_create(const char *n)
{
	struct shmx_region *out = SENT;
	long rc = shmx_create(n, 4096, 0, 0, &out);

	UNTOUCHED(out);
	if (rc == 0) {
		shmx_unlink(n);
		shmx_close(out);
	}
	return rc;
}

static long n_open(const char *n)
{
	struct shmx_region *out = SENT;
	long rc = shmx_open(n, 0, &out);

	UNTOUCHED(out);
	return rc;
}

static long n_unlink(const char *n)
{
	return shmx_unlink(n);
}

static long n_stat(const char *n)
{
	struct shmx_info info;
	long rc;

	memset(&info, 0xa5, sizeof(info));
	rc = shmx_stat(n, &info);
	if (rc < 0 && !all_bytes(&info, sizeof(info), 0xa5))
		flag("info written by a failed stat");
	return rc;
}

static long n_pair_unlink(const char *n)
{
	return shmx_pair_unlink(n);
}

static long n_name_canon(const char *n)
{
	return canon_into(n, false, SHMX_NAME_MAX + 2);
}

static long n_chan_create(const char *n)
{
	struct shmx_chan *out = SENT;
	long rc = shmx_chan_create(n, CAP, P, 0, &out);

	UNTOUCHED(out);
	if (rc == 0) {
		shmx_chan_unlink(n);
		shmx_chan_close(out);
	}
	return rc;
}

static long n_chan_open(const char *n)
{
	struct shmx_chan *out = SENT;
	long rc = shmx_chan_open(n, C, 0, &out);

	UNTOUCHED(out);
	return rc;
}

static long n_chan_unlink(const char *n)
{
	return shmx_chan_unlink(n);
}

static long n_chan_stat(const char *n)
{
	return cstat_into(n);
}

static long n_chan_create_params(const char *n)
{
	struct shmx_chan_params p = SHAPE(CAP, .consumers = 2);
	struct shmx_chan *out = SENT;
	long rc = shmx_chan_create_params(n, &p, P, 0, &out);

	UNTOUCHED(out);
	if (rc == 0) {
		shmx_chan_unlink(n);
		shmx_chan_close(out);
	}
	return rc;
}

static long n_chan_peers(const char *n)
{
	return cpeers_into(n, false, 4);
}

static const struct {
	const char *func;
	long (*call)(const char *name);
} name_funcs[] = {
	{ "shmx_create", n_create },
	{ "shmx_open", n_open },
	{ "shmx_unlink", n_unlink },
	{ "shmx_stat", n_stat },
	{ "shmx_pair_unlink", n_pair_unlink },
	{ "shmx_chan_create", n_chan_create },
	{ "shmx_chan_open", n_chan_open },
	{ "shmx_chan_unlink", n_chan_unlink },
	{ "shmx_chan_stat", n_chan_stat },
	{ "shmx_chan_create_params", n_chan_create_params },
	{ "shmx_chan_peers", n_chan_peers },
	{ "shmx_name_canon", n_name_canon },
};

static char long256[SHMX_NAME_MAX + 2], slash_long256[SHMX_NAME_MAX + 3];
static char long245[SHMX_PAIR_NAME_MAX + 2];

static const struct {
	const char *label;
	const char *name;
	long expect;
} bad_names[] = {
	{ "name NULL", NULL, -EINVAL },
	{ "name \"\"", "", -EINVAL },
	{ "name \"/\"", "/", -EINVAL },
	{ "name \".\"", ".", -EINVAL },
	{ "name \"..\"", "..", -EINVAL },
	{ "name \"/.\"", "/.", -EINVAL },
	{ "name \"/..\"", "/..", -EINVAL },
	{ "name \"//x\"", "//x", -EINVAL },
	{ "name \"/a/b\"", "/a/b", -EINVAL },
	{ "name \"a/\"", "a/", -EINVAL },
	{ "name \"x\\x01y\"", "x\x01y", -EINVAL },
	{ "name \"x\\ty\"", "x\ty", -EINVAL },
	{ "name \"x\\ny\"", "x\ny", -EINVAL },
	{ "name \"x\\x1f\"", "x\x1f", -EINVAL },
	{ "name \"x\\x7fy\"", "x\x7fy", -EINVAL },
	{ "name \"sem.x\" (glibc's semaphore files)", "sem.x", -EINVAL },
	{ "name \"/sem.x\" (glibc's semaphore files)", "/sem.x", -EINVAL },
	{ "name of 256 bytes", long256, -ENAMETOOLONG },
	{ "name \"/\" + 256 bytes", slash_long256, -ENAMETOOLONG },
};

/* ---- the table ---- */

/* ---- file regions: each row works in a mkdtemp directory of its own,
 * removed before the row returns ---- */

static char fdir[64];

static const char *fpath(const char *what)
{
	static char bufs[2][128];
	static unsigned next;
	char *buf = bufs[next++ % 2];

	if (!fdir[0]) {
		snprintf(fdir, sizeof(fdir), "/tmp/shmx-bad-XXXXXX");
		NEED(mkdtemp(fdir) != NULL);
	}
	snprintf(buf, sizeof(bufs[0]), "%s/%s", fdir, what);
	return buf;
}

/* rc, after checking that the row left nothing but its fixtures (named
 * "keep-*") in its directory, and removing the directory. */
static long fdone(long rc)
{
	static const char *const keep[] = { "keep-file", "keep-empty", "keep-link", "d" };
	char p[160];

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fdir, keep[i]);
		remove(p);
	}
	if (rmdir(fdir) < 0)
		flag("failed file call left something in its directory");
	return rc;
}

static long fcreate(const char *path, size_t size, unsigned flags, mode_t mode,
		    bool ret_null)
{
	struct shmx_region *out = SENT;
	long rc = shmx_file_create(path, size, flags, mode, ret_null ? NULL : &out);

	UNTOUCHED(out);
	return rc;
}

static long fopen_(const char *path, unsigned flags, bool ret_null)
{
	struct shmx_region *out = SENT;
	long rc = shmx_file_open(path, flags, ret_null ? NULL : &out);

	UNTOUCHED(out);
	return rc;
}

static void keep_file(const char *what, size_t size)
{
	int fd = open(fpath(what), O_CREAT | O_EXCL | O_WRONLY, 0600);

	NEED(fd >= 0);
	NEED(ftruncate(fd, (off_t)size) == 0);
	close(fd);
}

static long fc_ret_null(const char *a) { (void)a; return fdone(fcreate(fpath("x"), SZ, 0, 0, true)); }
static long fc_path_null(const char *a) { (void)a; return fcreate(NULL, SZ, 0, 0, false); }
static long fc_path_empty(const char *a) { (void)a; return fcreate("", SZ, 0, 0, false); }
static long fc_size0(const char *a) { (void)a; return fdone(fcreate(fpath("x"), 0, 0, 0, false)); }
static long fc_size_past(const char *a)
{
	(void)a;
	return fdone(fcreate(fpath("x"), OFF_PAST, 0, 0, false));
}
static long fc_flag31(const char *a)
{
	(void)a;
	return fdone(fcreate(fpath("x"), SZ, 1u << 31, 0, false));
}
static long fc_rdonly(const char *a)
{
	(void)a;
	return fdone(fcreate(fpath("x"), SZ, SHMX_RDONLY, 0, false));
}
static long fc_async(const char *a)
{
	(void)a;
	return fdone(fcreate(fpath("x"), SZ, SHMX_ASYNC, 0, false));
}
static long fc_mode_suid(const char *a)
{
	(void)a;
	return fdone(fcreate(fpath("x"), SZ, 0, 04600, false));
}
static long fc_too_long(const char *a)
{
	static char path[PATH_MAX + 1];

	(void)a;
	memset(path, 'a', PATH_MAX);
	path[0] = '/';
	return fcreate(path, SZ, 0, 0, false);
}
static long fc_trailing_slash(const char *a)
{
	(void)a;
	return fdone(fcreate(fpath("x/"), SZ, 0, 0, false));
}
static long fc_no_dir(const char *a)
{
	(void)a;
	return fdone(fcreate(fpath("none/x"), SZ, 0, 0, false));
}
static long fc_exists(const char *a)
{
	(void)a;
	keep_file("keep-file", SZ);
	return fdone(fcreate(fpath("keep-file"), SZ, 0, 0, false));
}
static long fc_symlink(const char *a)
{
	(void)a;
	NEED(symlink(fpath("x"), fpath("keep-link")) == 0);
	return fdone(fcreate(fpath("keep-link"), SZ, 0, 0, false));
}

static long fo_ret_null(const char *a)
{
	(void)a;
	keep_file("keep-file", SZ);
	return fdone(fopen_(fpath("keep-file"), 0, true));
}
static long fo_path_null(const char *a) { (void)a; return fopen_(NULL, 0, false); }
static long fo_path_empty(const char *a) { (void)a; return fopen_("", 0, false); }
static long fo_flag31(const char *a)
{
	(void)a;
	keep_file("keep-file", SZ);
	return fdone(fopen_(fpath("keep-file"), 1u << 31, false));
}
static long fo_lazy(const char *a)
{
	(void)a;
	keep_file("keep-file", SZ);
	return fdone(fopen_(fpath("keep-file"), SHMX_LAZY, false));
}
static long fo_missing(const char *a) { (void)a; return fdone(fopen_(fpath("x"), 0, false)); }
static long fo_dir(const char *a)
{
	(void)a;
	NEED(mkdir(fpath("d"), 0700) == 0);
	return fdone(fopen_(fpath("d"), SHMX_RDONLY, false));
}
static long fo_symlink(const char *a)
{
	(void)a;
	keep_file("keep-file", SZ);
	NEED(symlink(fpath("keep-file"), fpath("keep-link")) == 0);
	return fdone(fopen_(fpath("keep-link"), 0, false));
}
static long fo_empty(const char *a)
{
	(void)a;
	keep_file("keep-empty", 0);
	return fdone(fopen_(fpath("keep-empty"), 0, false));
}

static long fu_null(const char *a) { (void)a; return shmx_file_unlink(NULL); }
static long fu_empty(const char *a) { (void)a; return shmx_file_unlink(""); }
static long fu_missing(const char *a) { (void)a; return fdone(shmx_file_unlink(fpath("x"))); }

static long sr_null(const char *a) { (void)a; return shmx_sync_range(NULL, 0, 1, 0); }
static long sr_unmapped(const char *a) { (void)a; return shmx_sync_range(region(0), 0, 1, 0); }
static long sr_off_past(const char *a)
{
	(void)a;
	return shmx_sync_range(region(SHMX_MAP), SZ + 1, 0, 0);
}
static long sr_len_past(const char *a)
{
	(void)a;
	return shmx_sync_range(region(SHMX_MAP), 1, SZ, 0);
}
static long sr_flag31(const char *a)
{
	(void)a;
	return shmx_sync_range(region(SHMX_MAP), 0, 1, 1u << 31);
}
static long sr_lazy(const char *a)
{
	(void)a;
	return shmx_sync_range(region(SHMX_MAP), 0, 1, SHMX_LAZY);
}

#define ROW(f, in, fn, e) { f, in, fn, e, NULL, "" }

static struct row rows[] = {
	ROW("shmx_create", "ret NULL", create_ret_null, -EINVAL),
	ROW("shmx_create", "size 0", create_size0, -EINVAL),
	ROW("shmx_create", "size INT64_MAX + 1 (past off_t)", create_size_past_off, -EFBIG),
	ROW("shmx_create", "size SIZE_MAX", create_size_max, -EFBIG),
	ROW("shmx_create", "flags bit 31 (unknown)", create_flag31, -EINVAL),
	ROW("shmx_create", "flags bit 5 (unknown)", create_flag5, -EINVAL),
	ROW("shmx_create", "flags SHMX_RDONLY (open only)", create_rdonly, -EINVAL),
	ROW("shmx_create", "flags SHMX_PAIR_WRITER (not a region flag)", create_pair_role, -EINVAL),
	ROW("shmx_create", "mode 04600 (set-user-ID)", create_mode_suid, -EINVAL),
	ROW("shmx_create", "mode 01600 (sticky)", create_mode_sticky, -EINVAL),
	ROW("shmx_create", "mode 010600 (file type bits)", create_mode_high, -EINVAL),
	ROW("shmx_create", "name exists", create_exists, -EEXIST),
	ROW("shmx_open", "ret NULL", open_ret_null, -EINVAL),
	ROW("shmx_open", "flags bit 31 (unknown)", open_flag31, -EINVAL),
	ROW("shmx_open", "flags SHMX_LAZY (create only)", open_lazy, -EINVAL),
	ROW("shmx_open", "flags SHMX_UNLINK_ON_CLOSE (create only)", open_unlink_on_close, -EINVAL),
	ROW("shmx_open", "flags SHMX_PAIR_READER (not a region flag)", open_pair_role, -EINVAL),
	ROW("shmx_open", "no such object", open_missing, -ENOENT),
	ROW("shmx_map", "r NULL", map_null, -EINVAL),
	ROW("shmx_map", "handle mapped already", map_twice, -EALREADY),
	ROW("shmx_unmap", "r NULL", unmap_null, -EINVAL),
	ROW("shmx_unmap", "handle never mapped", unmap_unmapped, -EALREADY),
	ROW("shmx_unmap", "handle unmapped twice", unmap_twice, -EALREADY),
	ROW("shmx_close", "r NULL (returns NULL)", close_null, 0),
	ROW("shmx_unlink", "no such object", unlink_missing, -ENOENT),
	ROW("shmx_resize", "r NULL", resize_null, -EINVAL),
	ROW("shmx_resize", "size 0", resize_0, -EINVAL),
	ROW("shmx_resize", "size INT64_MAX + 1 (past off_t)", resize_past_off, -EFBIG),
	ROW("shmx_resize", "size SIZE_MAX", resize_size_max, -EFBIG),
	ROW("shmx_resize", "handle opened SHMX_RDONLY", resize_rdonly, -EBADF),
	ROW("shmx_sync", "r NULL", sync_null, -EINVAL),
	ROW("shmx_sync", "handle not mapped", sync_unmapped, -EINVAL),
	ROW("shmx_addr", "r NULL (returns NULL)", addr_null, 0),
	ROW("shmx_size", "r NULL (returns 0)", size_null, 0),
	ROW("shmx_name", "r NULL (returns NULL)", name_null, 0),
	ROW("shmx_fd", "r NULL", fd_null, -EBADF),
	ROW("shmx_name_canon", "buf NULL", canon_null_buf, -EINVAL),
	ROW("shmx_name_canon", "size 0", canon_size0, -ERANGE),
	ROW("shmx_name_canon", "size the name's length (no room for the NUL)",
	    canon_no_room_for_nul, -ERANGE),
	ROW("shmx_read", "r NULL", read_null_region, -EINVAL),
	ROW("shmx_read", "buf NULL, len 64", read_null_buf, -EINVAL),
	ROW("shmx_read", "off past the end (mapped)", read_off_past, -ERANGE),
	ROW("shmx_read", "off SIZE_MAX (not mapped)", read_off_max_unmapped, -ERANGE),
	ROW("shmx_write", "r NULL", write_null_region, -EINVAL),
	ROW("shmx_write", "buf NULL, len 64", write_null_buf, -EINVAL),
	ROW("shmx_write", "off + len past the end (mapped)", write_straddle, -ERANGE),
	ROW("shmx_write", "off SIZE_MAX", write_off_max, -ERANGE),
	ROW("shmx_write", "off + len past the end (not mapped)", write_straddle_unmapped, -ERANGE),
	ROW("shmx_write", "handle opened SHMX_RDONLY", write_rdonly, -EBADF),
	ROW("shmx_stat", "info NULL", stat_null_info, -EINVAL),
	ROW("shmx_stat", "no such object", stat_missing, -ENOENT),
	ROW("shmx_strerror", "positive err (returns \"Unknown error\")", strerror_positive, 0),
	ROW("shmx_strerror", "INT_MIN (returns \"Unknown error\")", strerror_int_min, 0),

	ROW("shmx_pair_create", "r NULL", pcreate_null_region, -EINVAL),
	ROW("shmx_pair_create", "ret NULL", pcreate_null_ret, -EINVAL),
	ROW("shmx_pair_create", "no role", pcreate_no_role, -EINVAL),
	ROW("shmx_pair_create", "both roles", pcreate_both_roles, -EINVAL),
	ROW("shmx_pair_create", "flags bit 31 (unknown)", pcreate_flag31, -EINVAL),
	ROW("shmx_pair_create", "flags SHMX_MAP (not a pair flag)", pcreate_region_flag, -EINVAL),
	ROW("shmx_pair_create", "mode 04600 (set-user-ID)", pcreate_mode_suid, -EINVAL),
	ROW("shmx_pair_create", "region opened SHMX_RDONLY", pcreate_rdonly, -EBADF),
	ROW("shmx_pair_create", "region name of 245 bytes (pair limit 244)", pcreate_long_name, -ENAMETOOLONG),
	ROW("shmx_pair_create", "live pair on the region", pcreate_exists, -EEXIST),
	ROW("shmx_pair_create", "stale pair on the region", pcreate_stale, -EEXIST),
	ROW("shmx_pair_open", "r NULL", popen_null_region, -EINVAL),
	ROW("shmx_pair_open", "ret NULL", popen_null_ret, -EINVAL),
	ROW("shmx_pair_open", "no role", popen_no_role, -EINVAL),
	ROW("shmx_pair_open", "both roles", popen_both_roles, -EINVAL),
	ROW("shmx_pair_open", "flags bit 31 (unknown)", popen_flag31, -EINVAL),
	ROW("shmx_pair_open", "region opened SHMX_RDONLY", popen_rdonly, -EBADF),
	ROW("shmx_pair_open", "region name of 245 bytes (pair limit 244)", popen_long_name, -ENAMETOOLONG),
	ROW("shmx_pair_open", "no pair on the region", popen_missing, -ENOENT),
	ROW("shmx_pair_open", "role taken", popen_role_taken, -EBUSY),
	ROW("shmx_pair_open", "a semaphore file of 0 bytes, a FIFO or a symlink", popen_bad_sem, -EBADMSG),
	ROW("shmx_pair_close", "p NULL (returns NULL)", pclose_null, 0),
	ROW("shmx_pair_unlink", "no such pair", punlink_missing, -ENOENT),
	ROW("shmx_pair_wait", "p NULL", pwait_null, -EINVAL),
	ROW("shmx_pair_wait", "timeout -2", pwait_minus2, -EINVAL),
	ROW("shmx_pair_wait", "timeout INT_MIN", pwait_int_min, -EINVAL),
	ROW("shmx_pair_wait", "turn held already", pwait_holding, -EDEADLK),
	ROW("shmx_pair_post", "p NULL", ppost_null, -EINVAL),
	ROW("shmx_pair_post", "turn not held", ppost_no_turn, -EPERM),
	ROW("shmx_pair_post", "turn posted already", ppost_twice, -EPERM),

	ROW("shmx_chan_create", "ret NULL", ccreate_null_ret, -EINVAL),
	ROW("shmx_chan_create", "no role", ccreate_no_role, -EINVAL),
	ROW("shmx_chan_create", "both roles", ccreate_both_roles, -EINVAL),
	ROW("shmx_chan_create", "SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK", ccreate_spin_block, -EINVAL),
	ROW("shmx_chan_create", "flags bit 31 (unknown)", ccreate_flag31, -EINVAL),
	ROW("shmx_chan_create", "flags SHMX_ALLOW_SHARED (open only)", ccreate_allow_shared, -EINVAL),
	ROW("shmx_chan_create", "flags SHMX_RDONLY (not a channel flag)", ccreate_rdonly, -EINVAL),
	ROW("shmx_chan_create", "capacity 0", ccreate_cap0, -EINVAL),
	ROW("shmx_chan_create", "capacity 32 (power of two below 64)", ccreate_cap32, -EINVAL),
	ROW("shmx_chan_create", "capacity 63 (not a power of two)", ccreate_cap63, -EINVAL),
	ROW("shmx_chan_create", "capacity 96 (not a power of two)", ccreate_cap96, -EINVAL),
	ROW("shmx_chan_create", "capacity 4104 (not a power of two)", ccreate_cap_npot, -EINVAL),
	ROW("shmx_chan_create", "capacity 2^33 (above 2^32)", ccreate_cap_2to33, -EINVAL),
	ROW("shmx_chan_create", "capacity SIZE_MAX", ccreate_cap_max, -EINVAL),
	ROW("shmx_chan_create", "capacity 2^63 (power of two, too large)", ccreate_cap_top_bit, -EINVAL),
	ROW("shmx_chan_create", "mode 04600 (set-user-ID)", ccreate_mode_suid, -EINVAL),
	ROW("shmx_chan_create", "name exists", ccreate_exists, -EEXIST),
	ROW("shmx_chan_open", "ret NULL", copen_null_ret, -EINVAL),
	ROW("shmx_chan_open", "no role", copen_no_role, -EINVAL),
	ROW("shmx_chan_open", "both roles", copen_both_roles, -EINVAL),
	ROW("shmx_chan_open", "SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK", copen_spin_block, -EINVAL),
	ROW("shmx_chan_open", "flags bit 31 (unknown)", copen_flag31, -EINVAL),
	ROW("shmx_chan_open", "flags SHMX_UNLINK_ON_CLOSE (create only)", copen_unlink_on_close, -EINVAL),
	ROW("shmx_chan_open", "flags SHMX_RDONLY (not a channel flag)", copen_rdonly, -EINVAL),
	ROW("shmx_chan_open", "timeout -2", copen_minus2, -EINVAL),
	ROW("shmx_chan_open", "timeout INT_MIN", copen_int_min, -EINVAL),
	ROW("shmx_chan_open", "no such object (timeout 0)", copen_missing, -ENOENT),
	ROW("shmx_chan_open", "a raw region holding data, not a channel", copen_raw_region, -EBADMSG),
	ROW("shmx_chan_open", "role taken", copen_role_taken, -EBUSY),
	ROW("shmx_chan_close", "c NULL (returns NULL)", cclose_null, 0),
	ROW("shmx_chan_unlink", "no such object", cunlink_missing, -ENOENT),
	ROW("shmx_chan_send", "c NULL", csend_null, -EINVAL),
	ROW("shmx_chan_send", "buf NULL, len 1", csend_null_buf, -EINVAL),
	ROW("shmx_chan_send", "timeout -2", csend_minus2, -EINVAL),
	ROW("shmx_chan_send", "consumer handle", csend_consumer, -EBADF),
	ROW("shmx_chan_send", "len max_msg + 1", csend_too_big, -EMSGSIZE),
	ROW("shmx_chan_send", "a reservation is open", csend_reserved, -EINPROGRESS),
	ROW("shmx_chan_recv", "c NULL", crecv_null, -EINVAL),
	ROW("shmx_chan_recv", "buf NULL, size 64", crecv_null_buf, -EINVAL),
	ROW("shmx_chan_recv", "timeout -2", crecv_minus2, -EINVAL),
	ROW("shmx_chan_recv", "producer handle", crecv_producer, -EBADF),
	ROW("shmx_chan_recv", "size below the message's length", crecv_small, -EMSGSIZE),
	ROW("shmx_chan_recv", "a peeked message is not released", crecv_peeked, -EINPROGRESS),
	ROW("shmx_chan_send_batch", "c NULL", cbsend_null, -EINVAL),
	ROW("shmx_chan_send_batch", "msgs NULL, n 2", cbsend_null_msgs, -EINVAL),
	ROW("shmx_chan_send_batch", "n 0", cbsend_n0, -EINVAL),
	ROW("shmx_chan_send_batch", "timeout -2", cbsend_minus2, -EINVAL),
	ROW("shmx_chan_send_batch", "consumer handle", cbsend_consumer, -EBADF),
	ROW("shmx_chan_send_batch", "second message's base NULL, len 1", cbsend_null_base,
	    -EINVAL),
	ROW("shmx_chan_send_batch", "second message max_msg + 1", cbsend_too_big, -EMSGSIZE),
	ROW("shmx_chan_send_batch", "a reservation is open", cbsend_reserved, -EINPROGRESS),
	ROW("shmx_chan_recv_batch", "c NULL", cbrecv_null, -EINVAL),
	ROW("shmx_chan_recv_batch", "buf NULL, size 64", cbrecv_null_buf, -EINVAL),
	ROW("shmx_chan_recv_batch", "lens NULL", cbrecv_null_lens, -EINVAL),
	ROW("shmx_chan_recv_batch", "max_msgs 0", cbrecv_max0, -EINVAL),
	ROW("shmx_chan_recv_batch", "timeout -2", cbrecv_minus2, -EINVAL),
	ROW("shmx_chan_recv_batch", "producer handle", cbrecv_producer, -EBADF),
	ROW("shmx_chan_recv_batch", "size below the first message's length", cbrecv_small,
	    -EMSGSIZE),
	ROW("shmx_chan_recv_batch", "a peeked message is not released", cbrecv_peeked,
	    -EINPROGRESS),
	ROW("shmx_chan_reserve", "c NULL", creserve_null, -EINVAL),
	ROW("shmx_chan_reserve", "ptr NULL", creserve_null_ptr, -EINVAL),
	ROW("shmx_chan_reserve", "timeout -2", creserve_minus2, -EINVAL),
	ROW("shmx_chan_reserve", "consumer handle", creserve_consumer, -EBADF),
	ROW("shmx_chan_reserve", "len max_msg + 1", creserve_too_big, -EMSGSIZE),
	ROW("shmx_chan_reserve", "a reservation is open", creserve_twice, -EINPROGRESS),
	ROW("shmx_chan_commit", "c NULL", ccommit_null, -EINVAL),
	ROW("shmx_chan_commit", "nothing reserved", ccommit_unreserved, -EINVAL),
	ROW("shmx_chan_commit", "committed already", ccommit_twice, -EINVAL),
	ROW("shmx_chan_commit", "consumer handle", ccommit_consumer, -EBADF),
	ROW("shmx_chan_commit", "len above the reserved length", ccommit_longer, -EMSGSIZE),
	ROW("shmx_chan_peek", "c NULL", cpeek_null, -EINVAL),
	ROW("shmx_chan_peek", "ptr NULL", cpeek_null_ptr, -EINVAL),
	ROW("shmx_chan_peek", "timeout -2", cpeek_minus2, -EINVAL),
	ROW("shmx_chan_peek", "producer handle", cpeek_producer, -EBADF),
	ROW("shmx_chan_peek", "empty channel, timeout 0", cpeek_empty, -EAGAIN),
	ROW("shmx_chan_release", "c NULL", crelease_null, -EINVAL),
	ROW("shmx_chan_release", "nothing peeked", crelease_unpeeked, -EINVAL),
	ROW("shmx_chan_release", "released already", crelease_twice, -EINVAL),
	ROW("shmx_chan_release", "producer handle", crelease_producer, -EBADF),
	ROW("shmx_chan_capacity", "c NULL (returns 0)", ccapacity_null, 0),
	ROW("shmx_chan_max_msg", "c NULL (returns 0)", cmaxmsg_null, 0),
	ROW("shmx_chan_used", "c NULL", cused_null, -EINVAL),
	ROW("shmx_chan_pending", "c NULL", cpending_null, -EINVAL),
	ROW("shmx_chan_stat", "info NULL", cstat_null_info, -EINVAL),
	ROW("shmx_chan_stat", "no such object", cstat_missing, -ENOENT),
	ROW("shmx_chan_stat", "a raw region, not a channel", cstat_raw_region, -EBADMSG),

	ROW("shmx_fstat", "r NULL", fstat_null, -EINVAL),
	ROW("shmx_fstat", "info NULL", fstat_null_info, -EINVAL),
	ROW("shmx_resize", "an anonymous region sealed against shrinking", aresize_sealed, -EPERM),
	ROW("shmx_resize", "a System V segment", sresize, -EOPNOTSUPP),
	ROW("shmx_fd", "a System V segment", sfd, -EOPNOTSUPP),

	ROW("shmx_anon_create", "ret NULL", acreate_ret_null, -EINVAL),
	ROW("shmx_anon_create", "size 0", acreate_size0, -EINVAL),
	ROW("shmx_anon_create", "size INT64_MAX + 1 (past off_t)", acreate_size_past_off, -EFBIG),
	ROW("shmx_anon_create", "size SIZE_MAX", acreate_size_max, -EFBIG),
	ROW("shmx_anon_create", "flags bit 31 (unknown)", acreate_flag31, -EINVAL),
	ROW("shmx_anon_create", "flags SHMX_RDONLY (receive only)", acreate_rdonly, -EINVAL),
	ROW("shmx_anon_create", "flags SHMX_UNLINK_ON_CLOSE (no name)", acreate_unlink_on_close, -EINVAL),
	ROW("shmx_anon_create", "flags SHMX_ALLOW_UNSEALED (receive only)", acreate_allow_unsealed, -EINVAL),
	ROW("shmx_anon_send", "r NULL", asend_null, -EINVAL),
	ROW("shmx_anon_send", "sock -1", asend_sock_minus1, -EINVAL),
	ROW("shmx_anon_send", "a named region", asend_named, -EOPNOTSUPP),
	ROW("shmx_anon_send", "sock a pipe", asend_pipe, -ENOTSOCK),
	ROW("shmx_anon_send", "sock closed", asend_closed, -EBADF),
	ROW("shmx_anon_recv", "sock -1", arecv_sock_minus1, -EINVAL),
	ROW("shmx_anon_recv", "ret NULL", arecv_ret_null, -EINVAL),
	ROW("shmx_anon_recv", "flags bit 31 (unknown)", arecv_flag31, -EINVAL),
	ROW("shmx_anon_recv", "flags SHMX_GROWABLE (create only)", arecv_growable, -EINVAL),
	ROW("shmx_anon_recv", "flags SHMX_LAZY (create only)", arecv_lazy, -EINVAL),
	ROW("shmx_anon_recv", "timeout -2", arecv_minus2, -EINVAL),
	ROW("shmx_anon_recv", "nothing sent (timeout 0)", arecv_empty, -EAGAIN),
	ROW("shmx_anon_recv", "a descriptor not sealed against shrinking", arecv_unsealed, -EPERM),

	ROW("shmx_sysv_key", "path NULL", skey_null_path, -EINVAL),
	ROW("shmx_sysv_key", "ret NULL", skey_ret_null, -EINVAL),
	ROW("shmx_sysv_key", "proj 0", skey_proj0, -EINVAL),
	ROW("shmx_sysv_key", "proj 256", skey_proj256, -EINVAL),
	ROW("shmx_sysv_key", "proj -1", skey_proj_minus1, -EINVAL),
	ROW("shmx_sysv_key", "no such path", skey_missing, -ENOENT),
	ROW("shmx_sysv_create", "ret NULL", screate_ret_null, -EINVAL),
	ROW("shmx_sysv_create", "size 0", screate_size0, -EINVAL),
	ROW("shmx_sysv_create", "size INT64_MAX + 1 (past off_t)", screate_size_past_off, -EFBIG),
	ROW("shmx_sysv_create", "size SIZE_MAX", screate_size_max, -EFBIG),
	ROW("shmx_sysv_create", "flags bit 31 (unknown)", screate_flag31, -EINVAL),
	ROW("shmx_sysv_create", "flags SHMX_RDONLY (open only)", screate_rdonly, -EINVAL),
	ROW("shmx_sysv_create", "flags SHMX_LAZY (nothing to reserve)", screate_lazy, -EINVAL),
	ROW("shmx_sysv_create", "flags SHMX_POPULATE (not for segments)", screate_populate, -EINVAL),
	ROW("shmx_sysv_create", "flags SHMX_UNLINK_ON_CLOSE (no implicit removal)", screate_unlink_on_close, -EINVAL),
	ROW("shmx_sysv_create", "mode 04600 (set-user-ID)", screate_mode_suid, -EINVAL),
	ROW("shmx_sysv_create", "key exists", screate_exists, -EEXIST),
	ROW("shmx_sysv_open", "ret NULL", sopen_ret_null, -EINVAL),
	ROW("shmx_sysv_open", "flags bit 31 (unknown)", sopen_flag31, -EINVAL),
	ROW("shmx_sysv_open", "flags SHMX_LAZY (create only)", sopen_lazy, -EINVAL),
	ROW("shmx_sysv_open", "key IPC_PRIVATE", sopen_private, -EINVAL),
	ROW("shmx_sysv_open", "no such key", sopen_missing, -ENOENT),
	ROW("shmx_sysv_open_id", "ret NULL", sopenid_ret_null, -EINVAL),
	ROW("shmx_sysv_open_id", "id -1", sopenid_minus1, -EINVAL),
	ROW("shmx_sysv_open_id", "flags bit 31 (unknown)", sopenid_flag31, -EINVAL),
	ROW("shmx_sysv_open_id", "no such id", sopenid_missing, -ENOENT),
	ROW("shmx_sysv_open_id", "segment marked for removal", sopenid_removed, -EIDRM),
	ROW("shmx_sysv_id", "r NULL", sid_null, -EINVAL),
	ROW("shmx_sysv_id", "a named region", sid_named, -EOPNOTSUPP),
	ROW("shmx_sysv_remove", "id -1", sremove_minus1, -EINVAL),
	ROW("shmx_sysv_remove", "no such id", sremove_missing, -ENOENT),
	ROW("shmx_sysv_stat", "id -1", sstat_minus1, -EINVAL),
	ROW("shmx_sysv_stat", "info NULL", sstat_null_info, -EINVAL),
	ROW("shmx_sysv_stat", "no such id", sstat_missing, -ENOENT),
	ROW("shmx_file_create", "ret NULL", fc_ret_null, -EINVAL),
	ROW("shmx_file_create", "path NULL", fc_path_null, -EINVAL),
	ROW("shmx_file_create", "path `\"\"`", fc_path_empty, -EINVAL),
	ROW("shmx_file_create", "size 0", fc_size0, -EINVAL),
	ROW("shmx_file_create", "size INT64_MAX + 1 (past off_t)", fc_size_past, -EFBIG),
	ROW("shmx_file_create", "flags bit 31 (unknown)", fc_flag31, -EINVAL),
	ROW("shmx_file_create", "flags SHMX_RDONLY (open only)", fc_rdonly, -EINVAL),
	ROW("shmx_file_create", "flags SHMX_ASYNC (sync only)", fc_async, -EINVAL),
	ROW("shmx_file_create", "mode 04600 (set-user-ID)", fc_mode_suid, -EINVAL),
	ROW("shmx_file_create", "path of PATH_MAX bytes", fc_too_long, -ENAMETOOLONG),
	ROW("shmx_file_create", "path ending in `/`", fc_trailing_slash, -EISDIR),
	ROW("shmx_file_create", "directory does not exist", fc_no_dir, -ENOENT),
	ROW("shmx_file_create", "path exists", fc_exists, -EEXIST),
	ROW("shmx_file_create", "path is a symlink (never followed)", fc_symlink, -EEXIST),
	ROW("shmx_file_open", "ret NULL", fo_ret_null, -EINVAL),
	ROW("shmx_file_open", "path NULL", fo_path_null, -EINVAL),
	ROW("shmx_file_open", "path `\"\"`", fo_path_empty, -EINVAL),
	ROW("shmx_file_open", "flags bit 31 (unknown)", fo_flag31, -EINVAL),
	ROW("shmx_file_open", "flags SHMX_LAZY (create only)", fo_lazy, -EINVAL),
	ROW("shmx_file_open", "no such file", fo_missing, -ENOENT),
	ROW("shmx_file_open", "a directory", fo_dir, -EISDIR),
	ROW("shmx_file_open", "a symlink", fo_symlink, -ELOOP),
	ROW("shmx_file_open", "an empty file", fo_empty, -ENODATA),
	ROW("shmx_file_unlink", "path NULL", fu_null, -EINVAL),
	ROW("shmx_file_unlink", "path `\"\"`", fu_empty, -EINVAL),
	ROW("shmx_file_unlink", "no such file", fu_missing, -ENOENT),
	ROW("shmx_sync_range", "r NULL", sr_null, -EINVAL),
	ROW("shmx_sync_range", "not mapped", sr_unmapped, -EINVAL),
	ROW("shmx_sync_range", "off past the end", sr_off_past, -ERANGE),
	ROW("shmx_sync_range", "off + len past the end", sr_len_past, -ERANGE),
	ROW("shmx_sync_range", "flags bit 31 (unknown)", sr_flag31, -EINVAL),
	ROW("shmx_sync_range", "flags SHMX_LAZY (not a sync flag)", sr_lazy, -EINVAL),

	ROW("shmx_chan_create_anon", "ret NULL", canon_ret_null, -EINVAL),
	ROW("shmx_chan_create_anon", "capacity 0", canon_cap0, -EINVAL),
	ROW("shmx_chan_create_anon", "capacity 32 (below 64)", canon_cap32, -EINVAL),
	ROW("shmx_chan_create_anon", "capacity 100 (not a power of two)", canon_cap100, -EINVAL),
	ROW("shmx_chan_create_anon", "capacity 2^33 (above 2^32)", canon_cap_big, -EINVAL),
	ROW("shmx_chan_create_anon", "no role", canon_no_role, -EINVAL),
	ROW("shmx_chan_create_anon", "both roles", canon_both_roles, -EINVAL),
	ROW("shmx_chan_create_anon", "SHMX_CHAN_SPIN | SHMX_CHAN_BLOCK", canon_spin_block, -EINVAL),
	ROW("shmx_chan_create_anon", "flags bit 31 (unknown)", canon_flag31, -EINVAL),
	ROW("shmx_chan_create_anon", "flags SHMX_UNLINK_ON_CLOSE (no name)", canon_unlink_on_close, -EINVAL),
	ROW("shmx_chan_create_anon", "flags SHMX_ALLOW_SHARED (attach only)", canon_allow_shared, -EINVAL),
	ROW("shmx_chan_region", "c NULL (returns NULL)", cregion_null, 0),
	ROW("shmx_chan_attach", "r NULL", cattach_null, -EINVAL),
	ROW("shmx_chan_attach", "ret NULL", cattach_ret_null, -EINVAL),
	ROW("shmx_chan_attach", "no role", cattach_no_role, -EINVAL),
	ROW("shmx_chan_attach", "flags bit 31 (unknown)", cattach_flag31, -EINVAL),
	ROW("shmx_chan_attach", "flags SHMX_UNLINK_ON_CLOSE (create only)", cattach_unlink_on_close, -EINVAL),
	ROW("shmx_chan_attach", "an anonymous region that is not a channel", cattach_not_chan, -EBADMSG),
	ROW("shmx_chan_attach", "a System V segment", cattach_sysv, -EOPNOTSUPP),
	ROW("shmx_chan_attach", "region received SHMX_RDONLY", cattach_rdonly, -EBADF),
	ROW("shmx_chan_attach", "role taken", cattach_role_taken, -EBUSY),
	ROW("shmx_pair_create_anon", "ret NULL", panon_ret_null, -EINVAL),
	ROW("shmx_pair_create_anon", "no role", panon_no_role, -EINVAL),
	ROW("shmx_pair_create_anon", "both roles", panon_both_roles, -EINVAL),
	ROW("shmx_pair_create_anon", "flags bit 31 (unknown)", panon_flag31, -EINVAL),
	ROW("shmx_pair_region", "p NULL (returns NULL)", pregion_null, 0),
	ROW("shmx_pair_region", "a named pair (returns NULL)", pregion_named, 0),
	ROW("shmx_pair_attach", "r NULL", pattach_null, -EINVAL),
	ROW("shmx_pair_attach", "ret NULL", pattach_ret_null, -EINVAL),
	ROW("shmx_pair_attach", "no role", pattach_no_role, -EINVAL),
	ROW("shmx_pair_attach", "both roles", pattach_both_roles, -EINVAL),
	ROW("shmx_pair_attach", "an anonymous region that is not a pair", pattach_not_pair, -EBADMSG),
	ROW("shmx_pair_attach", "a System V segment", pattach_sysv, -EOPNOTSUPP),
	ROW("shmx_pair_attach", "region received SHMX_RDONLY", pattach_rdonly, -EBADF),
	ROW("shmx_pair_attach", "role taken", pattach_role_taken, -EBUSY),
	ROW("shmx_pair_attach", "the owner closed", pattach_owner_gone, -EOWNERDEAD),
	ROW("shmx_chan_fd", "c NULL", cfd_null, -EINVAL),
	ROW("shmx_chan_fd", "called twice (the same descriptor)", cfd_twice, 0),
	ROW("shmx_chan_fd", "its abstract name bound by another socket", cfd_name_taken,
	    -EADDRINUSE),
	ROW("shmx_pair_fd", "p NULL", pfd_null, -EINVAL),
	ROW("shmx_pair_fd", "called twice (the same descriptor)", pfd_twice, 0),
	ROW("shmx_chan_create_params", "p NULL", cparams_null, -EINVAL),
	ROW("shmx_chan_create_params", "ret NULL", cparams_ret_null, -EINVAL),
	ROW("shmx_chan_create_params", "capacity 0", cparams_cap0, -EINVAL),
	ROW("shmx_chan_create_params", "capacity 100 (not a power of two)", cparams_cap100,
	    -EINVAL),
	ROW("shmx_chan_create_params", "producers 65 (above SHMX_CHAN_MAX_PEERS)",
	    cparams_producers65, -EINVAL),
	ROW("shmx_chan_create_params", "consumers 65 (above SHMX_CHAN_MAX_PEERS)",
	    cparams_consumers65, -EINVAL),
	ROW("shmx_chan_create_params", "policy 2 (unknown)", cparams_policy2, -EINVAL),
	ROW("shmx_chan_create_params", "policy overwrite with 2 producers", cparams_overwrite_2prod,
	    -EINVAL),
	ROW("shmx_chan_create_params", "reserved[0] not zero", cparams_reserved0, -EINVAL),
	ROW("shmx_chan_create_params", "reserved[4] not zero", cparams_reserved4, -EINVAL),
	ROW("shmx_chan_create_params", "no role", cparams_no_role, -EINVAL),
	ROW("shmx_chan_create_params", "flags bit 31 (unknown)", cparams_flag31, -EINVAL),
	ROW("shmx_chan_create_params", "mode 04600 (set-user-ID)", cparams_mode_suid, -EINVAL),
	ROW("shmx_chan_create_params", "name exists", cparams_exists, -EEXIST),
	ROW("shmx_chan_create_anon_params", "p NULL", caparams_null, -EINVAL),
	ROW("shmx_chan_create_anon_params", "ret NULL", caparams_ret_null, -EINVAL),
	ROW("shmx_chan_create_anon_params", "capacity 32 (below 64)", caparams_cap32, -EINVAL),
	ROW("shmx_chan_create_anon_params", "consumers 65 (above SHMX_CHAN_MAX_PEERS)",
	    caparams_consumers65, -EINVAL),
	ROW("shmx_chan_create_anon_params", "policy overwrite with 2 producers",
	    caparams_overwrite_2prod, -EINVAL),
	ROW("shmx_chan_create_anon_params", "reserved[2] not zero", caparams_reserved2, -EINVAL),
	ROW("shmx_chan_create_anon_params", "no role", caparams_no_role, -EINVAL),
	ROW("shmx_chan_create_anon_params", "flags SHMX_UNLINK_ON_CLOSE (no name)",
	    caparams_unlink_on_close, -EINVAL),
	ROW("shmx_chan_lost", "c NULL", clost_null, -EINVAL),
	ROW("shmx_chan_lost", "producer handle", clost_producer, -EBADF),
	ROW("shmx_chan_slot", "c NULL", cslot_null, -EINVAL),
	ROW("shmx_chan_peers", "peers NULL, n 4", cpeers_null, -EINVAL),
	ROW("shmx_chan_peers", "peers NULL, n 0 (returns the number of slots)", cpeers_count_only,
	    0),
	ROW("shmx_chan_peers", "no such object", cpeers_missing, -ENOENT),
	ROW("shmx_chan_peers", "a raw region, not a channel", cpeers_raw_region, -EBADMSG),
};

#define N_STATIC (sizeof(rows) / sizeof(rows[0]))
#define N_NAMES (sizeof(name_funcs) / sizeof(name_funcs[0]) * \
		 sizeof(bad_names) / sizeof(bad_names[0]) + 1)

static struct row name_rows[N_NAMES];

/* ---- running one row ---- */

struct verdict {
	long rc;
	char problem[160];
};

static void run_child(const struct row *row, int fd)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct verdict v;

	/* cmocka's handlers would longjmp back into its runner in the child. */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	problem[0] = 0;
	v.rc = row->call(row->arg);
	memcpy(v.problem, problem, sizeof(v.problem));
	_exit(write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 91);
}

static void test_row(void **state)
{
	const struct row *row = *state;
	struct verdict v;
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		run_child(row, fd[1]);
	close(fd[1]);
	n = read(fd[0], &v, sizeof(v));
	close(fd[0]);
	assert_int_equal(tu_waitpid(pid, 30000, &status), 0);
	if (WIFSIGNALED(status))
		fail_msg("%s crashed: signal %d (%s)", row->func, WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 90)
		fail_msg("the row's fixture could not be built");
	assert_int_equal(n, sizeof(v));
	if (v.rc != row->expect)
		fail_msg("%s: %s: returned %ld (%s), expected %ld (%s)", row->func,
			 row->input, v.rc, v.rc < 0 ? tu_errname(v.rc) : "-",
			 row->expect, row->expect < 0 ? tu_errname(row->expect) : "-");
	if (v.problem[0])
		fail_msg("%s: %s: %s", row->func, row->input, v.problem);
}

/* Keys 0x5bPPNNNN: per parent process and row. */
#define KEY_BASE 0x5b000000

static int row_setup(void **state)
{
	static unsigned n;

	(void)state;
	nm[0] = tu_name();
	nm[1] = tu_name();
	sk = (key_t)(KEY_BASE | ((getpid() & 0xff) << 16) | (n++ & 0xffff));
	return 0;
}

/* The row's segment is removed like its names: whatever happened. */
static int row_teardown(void **state)
{
	int id = shmget(sk, 0, 0);

	if (id >= 0)
		shmctl(id, IPC_RMID, NULL);
	return tu_teardown(state);
}

static void label(struct row *row)
{
	const char *e = row->expect < 0 ? tu_errname(row->expect) : NULL;

	snprintf(row->label, sizeof(row->label), "%s: %s -> %s%s", row->func, row->input,
		 e ? "-" : "", e ? e : "0/NULL");
}

static size_t build_name_rows(void)
{
	size_t n = 0;

	memset(long256, 'n', SHMX_NAME_MAX + 1);
	slash_long256[0] = '/';
	memset(slash_long256 + 1, 'n', SHMX_NAME_MAX + 1);
	memset(long245, 'n', SHMX_PAIR_NAME_MAX + 1);
	for (size_t f = 0; f < sizeof(name_funcs) / sizeof(name_funcs[0]); f++) {
		for (size_t b = 0; b < sizeof(bad_names) / sizeof(bad_names[0]); b++) {
			name_rows[n] = (struct row){ name_funcs[f].func, bad_names[b].label,
						     name_funcs[f].call, bad_names[b].expect,
						     bad_names[b].name, "" };
			n++;
		}
	}
	name_rows[n++] = (struct row){ "shmx_pair_unlink", "name of 245 bytes (pair limit 244)",
				       n_pair_unlink, -ENAMETOOLONG, long245, "" };
	return n;
}

/* ---- docs/errors.md lists exactly these rows ---- */

#define DOC_LINE 1024
#define DOC_ROWS 1024

struct doc {
	char *rows[DOC_ROWS];   /* "| `f()` | input | result |" of its table */
	bool used[DOC_ROWS];
	int n_rows;
	int total, names, others;       /* its count line */
	char funcs[DOC_LINE];   /* the name functions, "`f()`" each */
};

static void doc_line(struct doc *d, char *line, int *section)
{
	line[strcspn(line, "\n")] = 0;
	if (!strncmp(line, "## ", 3))
		*section = !strcmp(line, "## Names") ? 1 :
			   !strcmp(line, "## Other arguments") ? 2 : 0;
	else if (strstr(line, "The table has "))
		sscanf(strstr(line, "The table has "),
		       "The table has %d entries: %d for names (below) and %d for the other",
		       &d->total, &d->names, &d->others);
	else if (*section == 1 && line[0] == '`' &&
		 strlen(d->funcs) + strlen(line) + 2 <= sizeof(d->funcs))
		strcat(strcat(d->funcs, line), " ");
	else if (*section == 2 && !strncmp(line, "| `shmx_", 8) && d->n_rows < DOC_ROWS)
		d->rows[d->n_rows++] = strdup(line);
}

static void doc_read(struct doc *d)
{
	FILE *f = fopen(tu_source_path("docs/errors.md"), "re");
	char line[DOC_LINE];
	int section = 0;

	assert_non_null(f);
	memset(d, 0, sizeof(*d));
	d->total = d->names = d->others = -1;
	while (fgets(line, sizeof(line), f))
		doc_line(d, line, &section);
	fclose(f);
}

/* The row as errors.md spells it. */
static void doc_spelling(const struct row *row, char *buf, size_t len)
{
	const char *e = row->expect < 0 ? tu_errname(row->expect) : NULL;

	if (e)
		snprintf(buf, len, "| `%s()` | %s | `-%s` |", row->func, row->input, e);
	else
		snprintf(buf, len, "| `%s()` | %s | no error: the stated value |", row->func,
			 row->input);
}

static int doc_find(struct doc *d, const char *spelling)
{
	for (int i = 0; i < d->n_rows; i++)
		if (!d->used[i] && !strcmp(d->rows[i], spelling)) {
			d->used[i] = true;
			return i;
		}
	return -1;
}

/* Rows of the table missing from errors.md, then rows of errors.md missing
 * from the table: each printed, counted. */
static int doc_compare(struct doc *d)
{
	char want[DOC_LINE];
	int drift = 0;

	for (size_t i = 0; i < N_STATIC; i++) {
		doc_spelling(&rows[i], want, sizeof(want));
		if (doc_find(d, want) < 0 && ++drift)
			print_message("# in the table, not in docs/errors.md: %s\n", want);
	}
	for (int i = 0; i < d->n_rows; i++)
		if (!d->used[i] && ++drift)
			print_message("# in docs/errors.md, not in the table: %s\n", d->rows[i]);
	for (size_t f = 0; f < sizeof(name_funcs) / sizeof(name_funcs[0]); f++) {
		snprintf(want, sizeof(want), "`%s()`", name_funcs[f].func);
		if (!strstr(d->funcs, want) && ++drift)
			print_message("# a name function docs/errors.md does not list: %s\n",
				      want);
	}
	return drift;
}

/* "Every entry below is a test": the rows, and the count line, agree. */
static void test_errors_md_lists_exactly_these_rows(void **state)
{
	size_t n_names = *(size_t *)*state;
	struct doc d;
	int drift;

	doc_read(&d);
	drift = doc_compare(&d);
	for (int i = 0; i < d.n_rows; i++)
		free(d.rows[i]);
	if (d.total != (int)(N_STATIC + n_names) || d.names != (int)n_names ||
	    d.others != (int)N_STATIC)
		fail_msg("docs/errors.md counts %d entries, %d for names and %d others; "
			 "the table has %zu, %zu and %zu", d.total, d.names, d.others,
			 N_STATIC + n_names, n_names, (size_t)N_STATIC);
	if (drift)
		fail_msg("docs/errors.md and the table differ in %d rows (listed above)",
			 drift);
}

int main(void)
{
	size_t n_names = build_name_rows(), n = 0;
	struct CMUnitTest *tests = calloc(N_STATIC + n_names + 1, sizeof(*tests));

	if (!tests)
		return 1;
	for (size_t i = 0; i < N_STATIC + n_names; i++) {
		struct row *row = i < N_STATIC ? &rows[i] : &name_rows[i - N_STATIC];

		label(row);
		tests[n++] = (struct CMUnitTest){ row->label, test_row, row_setup,
						  row_teardown, row };
	}
	tests[n++] = (struct CMUnitTest){ "docs/errors.md lists exactly these rows",
					  test_errors_md_lists_exactly_these_rows, NULL, NULL,
					  &n_names };
	return _cmocka_run_group_tests("badinput", tests, n, tu_group_setup,
				       tu_group_teardown);
}
