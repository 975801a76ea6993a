/* SPDX-License-Identifier: MIT */
/*
 * Interop with programs nobody here wrote: Python's
 * multiprocessing.shared_memory and a plain shm_open/mmap C program
 * (tests/plain-shm.c). A libshmx region is raw bytes with no header, so each
 * side must see exactly what the other wrote, through the library and
 * through the shmx tool (shmx(7): a region is raw bytes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

#define RUN_MS 60000
#define SIZE   10000    /* not a multiple of the page size, on purpose */

/*
 * Attach to an existing object, print size bytes from offset off.
 * Python < 3.13 registers even an attacher with its resource tracker,
 * which unlinks the object when this process exits (CPython gh-82300):
 * unregister right after attaching (shmx(7), NOTES).
 */
static const char py_read[] =
	"import sys\n"
	"from multiprocessing import shared_memory, resource_tracker\n"
	"shm = shared_memory.SharedMemory(name=sys.argv[1])\n"
	"resource_tracker.unregister(shm._name, 'shared_memory')\n"
	"off, n = int(sys.argv[2]), int(sys.argv[3])\n"
	"sys.stdout.buffer.write(bytes(shm.buf[off:off + n]))\n"
	"print(shm.size, file=sys.stderr)\n"
	"shm.close()\n";

/* Create an object of size bytes holding stdin at its start; leave it. */
static const char py_create[] =
	"import sys\n"
	"from multiprocessing import shared_memory, resource_tracker\n"
	"data = sys.stdin.buffer.read()\n"
	"shm = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=int(sys.argv[2]))\n"
	"resource_tracker.unregister(shm._name, 'shared_memory')\n"
	"shm.buf[:len(data)] = data\n"
	"shm.close()\n";

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + seed + (i >> 8));
}

static void run_ok(char *const argv[], const void *in, size_t in_len, struct tu_result *res)
{
	assert_int_equal(tu_run(argv, in, in_len, RUN_MS, res), 0);
	if (res->exit_code != 0) {
		print_message("# %s exited %d\n", argv[0], res->exit_code);
		tu_print_lines("stderr", res->err);
	}
	assert_int_equal(res->exit_code, 0);
}

/* Python names carry no leading slash: SharedMemory("x") opens "/x". */
static void python(const char *script, const char *name, const char *a, const char *b,
		   const void *in, size_t in_len, struct tu_result *res)
{
	char *argv[] = { "/usr/bin/env", "python3", "-c", (char *)script,
			 (char *)name + 1, (char *)a, (char *)b, NULL };

	run_ok(argv, in, in_len, res);
}

static const char *plain_shm(void)
{
	const char *p = getenv("SHMX_PLAIN_SHM");

	if (!p || access(p, X_OK) != 0)
		fail_msg("SHMX_PLAIN_SHM is not set to the built tests/plain-shm");
	return p;
}

static void plain(const char *verb, const char *name, const char *size, const void *in,
		  size_t in_len, struct tu_result *res)
{
	char *argv[] = { (char *)plain_shm(), (char *)verb, (char *)name, (char *)size, NULL };

	run_ok(argv, in, in_len, res);
}

static void shmx_tool(struct tu_result *res, const void *in, size_t in_len,
		      const char *a, const char *b, const char *c, const char *d)
{
	char *argv[] = { (char *)tu_build_path("tools/shmx"), (char *)a, (char *)b,
			 (char *)c, (char *)d, NULL };

	run_ok(argv, in, in_len, res);
}

/* A libshmx region holding data (size bytes, all written). */
static void make_region(const char *name, const unsigned char *data, size_t size)
{
	struct shmx_region *r;

	assert_int_equal(shmx_create(name, size, 0, 0600, &r), 0);
	assert_int_equal(shmx_write(r, 0, data, size), (ssize_t)size);
	shmx_close(r);
}

/* Open with libshmx, map, compare every byte. */
static void check_mapped(const char *name, const unsigned char *data, size_t size)
{
	struct shmx_region *r;

	assert_int_equal(shmx_open(name, SHMX_RDONLY | SHMX_MAP, &r), 0);
	assert_int_equal(shmx_size(r), size);
	assert_memory_equal(shmx_addr(r), data, size);
	shmx_close(r);
}

/* shmx ls shows name as a plain region of size bytes, mode 0600; shmx cat
 * dumps exactly data, and its hex dump starts as expected. */
static void check_tool_sees(const char *name, const unsigned char *data, size_t size)
{
	char want[200], hex[200], sz[32];
	struct tu_result res;
	const char *line;
	int n;

	shmx_tool(&res, NULL, 0, "ls", "--bytes", NULL, NULL);
	snprintf(want, sizeof(want), " %s\n", name);
	line = strstr(res.out, want);
	assert_non_null(line);
	while (line > res.out && line[-1] != '\n')
		line--;
	snprintf(sz, sizeof(sz), "%zu", size);
	snprintf(want, sizeof(want), "region - %s 0600", sz);
	{
		char k[32], s[32], z[32], m[32];

		assert_int_equal(sscanf(line, "%31s %31s %31s %31s", k, s, z, m), 4);
		snprintf(hex, sizeof(hex), "%s %s %s %s", k, s, z, m);
		assert_string_equal(hex, want);
	}
	tu_result_free(&res);

	shmx_tool(&res, NULL, 0, "cat", name, NULL, NULL);
	assert_int_equal(res.out_len, size);
	assert_memory_equal(res.out, data, size);
	tu_result_free(&res);

	shmx_tool(&res, NULL, 0, "cat", name, "--hex", NULL);
	n = snprintf(hex, sizeof(hex), "00000000 ");
	for (int i = 0; i < 16; i++)
		n += snprintf(hex + n, sizeof(hex) - (size_t)n, "%s %02x", i == 8 ? " " : "",
			      data[i]);
	assert_memory_equal(res.out, hex, (size_t)n);
	tu_result_free(&res);
}

static bool need_python(void)
{
	if (tu_have_python())
		return true;
	tu_skip("python3 with multiprocessing.shared_memory is absent");
	return false;
}

/* ---- libshmx -> others ---- */

static void test_libshmx_to_python(void **state)
{
	const char *name = tu_name();
	static unsigned char data[SIZE];
	struct tu_result res;
	char size[32];

	(void)state;
	if (!need_python())
		return;
	pattern(data, SIZE, 1);
	make_region(name, data, SIZE);
	snprintf(size, sizeof(size), "%d", SIZE);
	python(py_read, name, "0", size, NULL, 0, &res);
	assert_int_equal(res.out_len, SIZE);
	assert_memory_equal(res.out, data, SIZE);
	/* Python saw the size fstat reports, not a page-rounded one, and its
	 * resource tracker found nothing to "clean up" (tu_run returns only
	 * once the tracker, which shares stderr, has exited too) */
	assert_int_equal(atoi(res.err), SIZE);
	assert_null(strstr(res.err, "leaked"));
	tu_result_free(&res);
	/* Python's attach did not unlink it: still there, still the same */
	assert_true(tu_exists(name));
	check_mapped(name, data, SIZE);
}

static void test_libshmx_to_plain(void **state)
{
	const char *name = tu_name();
	static unsigned char data[SIZE];
	struct tu_result res;

	(void)state;
	pattern(data, SIZE, 2);
	make_region(name, data, SIZE);
	plain("read", name, NULL, NULL, 0, &res);
	assert_int_equal(res.out_len, SIZE);
	assert_memory_equal(res.out, data, SIZE);
	tu_result_free(&res);
	assert_true(tu_exists(name));
}

/* ---- others -> libshmx and shmx ---- */

static void test_python_to_libshmx(void **state)
{
	const char *name = tu_name();
	static unsigned char data[SIZE];
	struct shmx_info info;
	struct tu_result res;

	(void)state;
	if (!need_python())
		return;
	pattern(data, SIZE, 3);
	python(py_create, name, "10000", NULL, data, SIZE, &res);
	tu_result_free(&res);
	/* the Python process has exited: the object it made is still there */
	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.size, SIZE);
	assert_int_equal(info.mode, 0600);
	assert_int_equal(info.holders, 0);
	check_mapped(name, data, SIZE);
	check_tool_sees(name, data, SIZE);
}

static void test_plain_to_libshmx(void **state)
{
	const char *name = tu_name();
	static unsigned char data[SIZE];
	struct tu_result res;

	(void)state;
	pattern(data, SIZE, 4);
	plain("write", name, "10000", data, SIZE, &res);
	tu_result_free(&res);
	check_mapped(name, data, SIZE);
	check_tool_sees(name, data, SIZE);
}

/* ---- shmx write -> others ---- */

static void test_shmx_write_to_python_and_plain(void **state)
{
	const char *name = tu_name();
	static unsigned char data[3000], whole[SIZE];
	struct tu_result res;
	char want[128];

	(void)state;
	pattern(data, sizeof(data), 5);
	memset(whole, 0, sizeof(whole));
	memcpy(whole + 4096, data, sizeof(data));
	shmx_tool(&res, NULL, 0, "create", name + 1, "10000", NULL);
	tu_result_free(&res);
	shmx_tool(&res, data, sizeof(data), "write", name, "--offset", "4K");
	snprintf(want, sizeof(want), "wrote 3000 bytes to %s at offset 4096\n", name);
	assert_string_equal(res.out, want);
	tu_result_free(&res);

	plain("read", name, NULL, NULL, 0, &res);
	assert_int_equal(res.out_len, SIZE);
	assert_memory_equal(res.out, whole, SIZE);
	tu_result_free(&res);

	if (!need_python())
		return;
	python(py_read, name, "0", "10000", NULL, 0, &res);
	assert_int_equal(res.out_len, SIZE);
	assert_memory_equal(res.out, whole, SIZE);
	tu_result_free(&res);
	python(py_read, name, "4096", "3000", NULL, 0, &res);
	assert_int_equal(res.out_len, 3000);
	assert_memory_equal(res.out, data, 3000);
	tu_result_free(&res);
	assert_true(tu_exists(name));
}

/* Python writes into an object libshmx made and still has mapped: the
 * mapping sees it at once (same pages, no copy). */
static void test_python_writes_into_libshmx_mapping(void **state)
{
	static const char py_write[] =
		"import sys\n"
		"from multiprocessing import shared_memory, resource_tracker\n"
		"shm = shared_memory.SharedMemory(name=sys.argv[1])\n"
		"resource_tracker.unregister(shm._name, 'shared_memory')\n"
		"off = int(sys.argv[2])\n"
		"data = sys.stdin.buffer.read()\n"
		"shm.buf[off:off + len(data)] = data\n"
		"shm.close()\n";
	const char *name = tu_name();
	struct shmx_region *r;
	struct tu_result res;

	(void)state;
	if (!need_python())
		return;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0600, &r), 0);
	python(py_write, name, "100", NULL, "from python", 11, &res);
	tu_result_free(&res);
	assert_memory_equal((char *)shmx_addr(r) + 100, "from python", 11);
	shmx_close(r);
	assert_true(tu_exists(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_libshmx_to_python, tu_teardown),
		cmocka_unit_test_teardown(test_libshmx_to_plain, tu_teardown),
		cmocka_unit_test_teardown(test_python_to_libshmx, tu_teardown),
		cmocka_unit_test_teardown(test_plain_to_libshmx, tu_teardown),
		cmocka_unit_test_teardown(test_shmx_write_to_python_and_plain, tu_teardown),
		cmocka_unit_test_teardown(test_python_writes_into_libshmx_mapping, tu_teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
