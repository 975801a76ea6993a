/* SPDX-License-Identifier: MIT */
/* Name validation and canonical form (shmx(7), Names). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

static void test_canonical(void **state)
{
	char out[SHMX__NAME_BUF];

	(void)state;
	assert_int_equal(shmx__name("foo", SHMX_NAME_MAX, out), 0);
	assert_string_equal(out, "/foo");
	assert_int_equal(shmx__name("/foo", SHMX_NAME_MAX, out), 0);
	assert_string_equal(out, "/foo");
	assert_int_equal(shmx__name("/a.b-c_d~e", SHMX_NAME_MAX, out), 0);
	assert_string_equal(out, "/a.b-c_d~e");
	assert_int_equal(shmx__name("/...", SHMX_NAME_MAX, out), 0);
	assert_string_equal(out, "/...");
	/* UTF-8 bytes are not control characters */
	assert_int_equal(shmx__name("/caf\xc3\xa9", SHMX_NAME_MAX, out), 0);
}

static void test_rejected(void **state)
{
	static const char *const bad[] = {
		"", "/", ".", "..", "/.", "/..", "//", "//foo", "/foo/", "/a/b", "a/b",
		"/tab\there", "/nl\n", "/del\x7f", "/\x01",
	};
	char out[SHMX__NAME_BUF];
	size_t i;

	(void)state;
	memset(out, 'x', sizeof(out));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(shmx__name(bad[i], SHMX_NAME_MAX, out), -EINVAL);
		/* output untouched on failure */
		assert_int_equal(out[0], 'x');
	}
	assert_int_equal(shmx__name(NULL, SHMX_NAME_MAX, out), -EINVAL);
}

static void test_lengths(void **state)
{
	char name[SHMX_NAME_MAX + 3], out[SHMX__NAME_BUF];

	(void)state;
	name[0] = '/';
	memset(name + 1, 'a', SHMX_NAME_MAX);
	name[SHMX_NAME_MAX + 1] = 0;
	assert_int_equal(shmx__name(name, SHMX_NAME_MAX, out), 0);
	assert_int_equal(strlen(out), SHMX_NAME_MAX + 1);
	name[SHMX_NAME_MAX + 1] = 'a';
	name[SHMX_NAME_MAX + 2] = 0;
	assert_int_equal(shmx__name(name, SHMX_NAME_MAX, out), -ENAMETOOLONG);
	/* the limit counts the bytes after the slash, with or without it */
	assert_int_equal(shmx__name(name + 1, SHMX_NAME_MAX, out), -ENAMETOOLONG);
	/* a derived limit: regions that carry a pair (244) */
	name[SHMX_PAIR_NAME_MAX + 1] = 0;
	assert_int_equal(shmx__name(name, SHMX_PAIR_NAME_MAX, out), 0);
	name[SHMX_PAIR_NAME_MAX + 1] = 'a';
	name[SHMX_PAIR_NAME_MAX + 2] = 0;
	assert_int_equal(shmx__name(name, SHMX_PAIR_NAME_MAX, out), -ENAMETOOLONG);
}

/* glibc keeps semaphore "/x" as the file /dev/shm/sem.x: an object whose
 * name begins with "sem." would be some semaphore's file (a pair's, even),
 * so no layer takes such a name. Only that exact prefix is glibc's. */
static void test_semaphore_namespace_refused(void **state)
{
	static const char *const bad[] = {
		"sem.x", "/sem.x", "sem.", "/sem.", "/sem.a.shmx-w", "sem.sem.x",
	};
	static const char *const good[] = {
		"sem", "/sem", "semx", "/sem-x", "sem_x", "xsem.y", "/x.sem.y", "SEM.x", "/Sem.x",
	};
	char out[SHMX__NAME_BUF];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(shmx__name(bad[i], SHMX_NAME_MAX, out), -EINVAL);
		assert_int_equal(out[0], 'x');
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(shmx__name(good[i], SHMX_NAME_MAX, out), 0);
}

/* The real kernel agrees: the longest accepted name can be created. */
static void test_longest_name_works(void **state)
{
	char name[SHMX_NAME_MAX + 2];
	struct shmx_region *r = NULL;

	(void)state;
	snprintf(name, sizeof(name), "%s", tu_name());
	memset(name + strlen(name), 'z', sizeof(name) - 1 - strlen(name));
	name[sizeof(name) - 1] = 0;
	assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
	assert_string_equal(shmx_name(r), name);
	r = shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
}

/* shmx_name_canon(): the public form of the same check. Its length, the
 * canonical "/name" in the buffer, and a buffer of exactly length + 1
 * bytes (the NUL included) is enough; the longest name fits in
 * SHMX_NAME_MAX + 2. It is the name the region then reports. */
static void test_name_canon_writes_the_canonical_name(void **state)
{
	char buf[SHMX_NAME_MAX + 2], name[SHMX_NAME_MAX + 1];
	struct shmx_region *r;
	int n;

	(void)state;
	assert_int_equal(shmx_name_canon("foo", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "/foo");
	assert_int_equal(shmx_name_canon("/foo", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "/foo");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(shmx_name_canon("ab", buf, 4), 3);
	assert_string_equal(buf, "/ab");
	assert_int_equal(buf[4], 'x');
	memset(name, 'n', SHMX_NAME_MAX);
	name[SHMX_NAME_MAX] = 0;
	assert_int_equal(shmx_name_canon(name, buf, sizeof(buf)), SHMX_NAME_MAX + 1);
	assert_int_equal(buf[0], '/');
	assert_string_equal(buf + 1, name);
	n = shmx_name_canon(tu_name() + 1, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_int_equal(shmx_create(buf + 1, 4096, 0, 0, &r), 0);
	assert_string_equal(shmx_name(r), buf);
	r = shmx_close(r);
}

/* ---- names a region or channel may not take, and may ---- */

/* glibc keeps semaphore "/x" as /dev/shm/sem.x, so a region called
 * "/sem.X.shmx-w" would be the file of pair X's semaphore: it would make
 * shmx_pair_create() on X fail, and shmx_pair_unlink("/X") remove it. No
 * region or channel takes a name in that namespace (shmx(7), Names). */
static void test_semaphore_file_names_refused(void **state)
{
	const char *x = tu_name();
	struct shmx_region *r = NULL, *o = NULL;
	struct shmx_chan *c = NULL;
	struct shmx_pair *p = NULL;
	struct shmx_info info;
	char sem[300];

	(void)state;
	snprintf(sem, sizeof(sem), "/sem.%s.shmx-w", x + 1);
	assert_int_equal(shmx_create(sem, 4096, 0, 0, &o), -EINVAL);
	assert_int_equal(shmx_create(sem + 1, 4096, 0, 0, &o), -EINVAL);
	assert_int_equal(shmx_chan_create(sem, 4096, SHMX_CHAN_PRODUCER, 0, &c), -EINVAL);
	assert_null(o);
	assert_null(c);
	assert_false(tu_sem_exists(x, ".shmx-w"));
	/* so the pair's semaphore file is the pair's alone */
	assert_int_equal(shmx_create(x, 4096, 0, 0, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0, &p), 0);
	assert_true(tu_sem_exists(x, ".shmx-w"));
	/* and the region calls do not reach it under its file name */
	assert_int_equal(shmx_open(sem, SHMX_RDONLY, &o), -EINVAL);
	assert_int_equal(shmx_stat(sem, &info), -EINVAL);
	assert_int_equal(shmx_unlink(sem), -EINVAL);
	assert_int_equal(shmx_chan_unlink(sem + 1), -EINVAL);
	assert_true(tu_sem_exists(x, ".shmx-w"));
	shmx_pair_close(p);
	shmx_close(r);
}

/* Only the prefix "sem." is glibc's: names that merely start with "sem",
 * or hold "sem." further on, are ordinary. */
static const char *const near_sem[][2] = {
	{ "/sem", "" }, { "/sem-", "" }, { "/x", "sem.y" }, { "/SEM.", "" },
};
#define N_NEAR_SEM (sizeof(near_sem) / sizeof(near_sem[0]))
static char near_sem_base[64];

static const char *near_sem_name(size_t i)
{
	static char name[300];

	snprintf(name, sizeof(name), "%s%s%s", near_sem[i][0], near_sem_base + 1,
		 near_sem[i][1]);
	return name;
}

static int near_sem_teardown(void **state)
{
	for (size_t i = 0; i < N_NEAR_SEM && near_sem_base[0]; i++)
		shm_unlink(near_sem_name(i));
	return tu_teardown(state);
}

static void test_names_near_semaphore_prefix_work(void **state)
{
	struct shmx_region *r = NULL;
	const char *name;

	(void)state;
	snprintf(near_sem_base, sizeof(near_sem_base), "%s", tu_name());
	for (size_t i = 0; i < N_NEAR_SEM; i++) {
		name = near_sem_name(i);
		assert_int_equal(shmx_create(name, 4096, 0, 0, &r), 0);
		assert_true(tu_exists(name));
		r = shmx_close(r);
		assert_int_equal(shmx_unlink(name), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_semaphore_namespace_refused),
		cmocka_unit_test_teardown(test_semaphore_file_names_refused, tu_teardown),
		cmocka_unit_test_teardown(test_names_near_semaphore_prefix_work,
					  near_sem_teardown),
		cmocka_unit_test_teardown(test_longest_name_works, tu_teardown),
		cmocka_unit_test_teardown(test_name_canon_writes_the_canonical_name,
					  tu_teardown),
	};
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
