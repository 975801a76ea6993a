/* SPDX-License-Identifier: MIT */
/* The shmx tool's commands that make, read, write and remove a region:
 * create (sizes, modes, a full /dev/shm), cat (raw and hex), write (small
 * and large), rm (several at once). Each run exec's the tool as a user
 * would. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS 30000

static void test_create(void **state)
{
	const char *a = tu_name(), *b = tu_name(), *c = tu_name(), *d = tu_name();
	const char *e = tu_name(), *f = tu_name();
	char want[128];

	(void)state;
	assert_int_equal(shmx("create", a, "4096"), 0);
	snprintf(want, sizeof(want), "created %s: 4096 bytes, mode 0600\n", a);
	assert_string_equal(R.out, want);
	check_created(a, 4096, 0600);

	/* without the slash, printed canonical; mode exactly as asked */
	assert_int_equal(shmx("create", b + 1, "64K", "--mode", "0640"), 0);
	snprintf(want, sizeof(want), "created %s: 65536 bytes, mode 0640\n", b);
	assert_string_equal(R.out, want);
	check_created(b, 65536, 0640);

	assert_int_equal(shmx("create", "--lazy", c, "2G"), 0);
	assert_out_has("2147483648 bytes");
	check_created(c, 2147483648u, 0600);
	assert_int_equal(shmx("create", d, "1M", "-m", "600", "--lazy"), 0);
	check_created(d, 1048576, 0600);
	assert_int_equal(shmx("create", e, "1KiB", "--mode=0604"), 0);
	check_created(e, 1024, 0604);
	assert_int_equal(shmx("create", f, "3k"), 0);
	check_created(f, 3072, 0600);

	/* an existing name: refused, the object untouched */
	assert_int_equal(shmx("create", a, "8192"), 1);
	snprintf(want, sizeof(want), "shmx: create %s: File exists\n", a);
	assert_string_equal(R.err, want);
	assert_string_equal(R.out, "");
	check_created(a, 4096, 0600);
}

static void test_create_no_space(void **state)
{
	const char *name = tu_name();

	(void)state;
	/* pages are reserved at create time: far more than /dev/shm holds
	 * fails now, cleanly, and leaves no name behind */
	assert_int_equal(shmx("create", name, "64T"), 1);
	assert_err_has(": No space left on device");
	assert_false(tu_exists(name));
}

static void test_create_bad_size(void **state)
{
	static const char *const garbage[] = {
		"abc", "12Q", "-1", "", " 4096", "4096 ", "1.5M", "0x10", "+5", "4K4",
		"1KB", "1Mi", "K",
	};
	static const char *const zero[] = { "0", "0K", "000" };
	static const char *const huge[] = {
		"99999999999999999999", "18446744073709551616", "9223372036854775808",
		"8E", "16777216T", "9007199254740992K",
	};
	const char *name = tu_name();

	(void)state;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		/* "--": "-1" is a size here, not an option */
		assert_int_equal(shmx("create", "--", name, garbage[i]), 2);
		assert_err_has("shmx: create: invalid size");
	}
	/* without "--" too: a negative number is an operand, not an option */
	assert_int_equal(shmx("create", name, "-1"), 2);
	assert_err_has("shmx: create: invalid size '-1'");
	assert_int_equal(shmx("create", name, "-5K", "--lazy"), 2);
	assert_err_has("shmx: create: invalid size '-5K'");
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		assert_int_equal(shmx("create", name, zero[i]), 2);
		assert_err_has("above 0");
	}
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		assert_int_equal(shmx("create", name, huge[i]), 2);
		assert_err_has("shmx: create: size too large");
	}
	assert_string_equal(R.out, "");
	assert_false(tu_exists(name));
}

static void test_create_bad_mode(void **state)
{
	static const char *const bad[] = {
		"999", "abc", "01000", "0", "0000", "", "8", "-1", "0o600", "12345", "0x1ff",
		"rw-------",
	};
	const char *name = tu_name();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(shmx("create", name, "4096", "--mode", bad[i]), 2);
		assert_err_has("shmx: create: invalid mode");
		assert_string_equal(R.out, "");
	}
	assert_false(tu_exists(name));
}

static void test_cat(void **state)
{
	const char *name = tu_name();
	unsigned char data[100];
	char want[128];

	(void)state;
	pattern(data, sizeof(data));
	make_region(name, sizeof(data), data, sizeof(data));

	assert_int_equal(shmx("cat", name), 0);
	assert_int_equal(R.out_len, 100);
	assert_memory_equal(R.out, data, 100);
	assert_string_equal(R.err, "");

	assert_int_equal(shmx("cat", name + 1, "--offset", "10", "--length", "20"), 0);
	assert_int_equal(R.out_len, 20);
	assert_memory_equal(R.out, data + 10, 20);
	assert_int_equal(shmx("cat", "-o", "95", name), 0);
	assert_int_equal(R.out_len, 5);
	assert_memory_equal(R.out, data + 95, 5);
	/* a length past the end stops at the end */
	assert_int_equal(shmx("cat", name, "--offset=90", "--length=1K"), 0);
	assert_int_equal(R.out_len, 10);
	assert_memory_equal(R.out, data + 90, 10);
	assert_int_equal(shmx("cat", name, "-n", "0"), 0);
	assert_int_equal(R.out_len, 0);
	assert_int_equal(shmx("cat", name, "--offset", "100"), 0);
	assert_int_equal(R.out_len, 0);

	/* an offset past the end is an error */
	assert_int_equal(shmx("cat", name, "--offset", "101"), 1);
	snprintf(want, sizeof(want), "shmx: cat %s: offset 101 is past the end (size 100)\n",
		 name);
	assert_string_equal(R.err, want);
	assert_int_equal(R.out_len, 0);
	assert_int_equal(shmx("cat", name, "--offset", "1G"), 1);
	assert_int_equal(shmx("cat", name, "--offset", "abc"), 2);
	assert_err_has("shmx: cat: invalid offset 'abc'");
	assert_int_equal(shmx("cat", name, "--offset", "-5"), 2);
	assert_int_equal(shmx("cat", name, "--length", "1X"), 2);
	assert_err_has("shmx: cat: invalid length '1X'");

	shmx_unlink(name);
	assert_int_equal(shmx("cat", name), 1);
	snprintf(want, sizeof(want), "shmx: cat %s: No such file or directory\n", name);
	assert_string_equal(R.err, want);
}

static void test_cat_hex(void **state)
{
	static const char text[] = "Hello, world!\n";
	static const char want_hex[] =
		"00000003  6c 6f 2c 20 77 6f 72 6c  64 21 0a 00 01 02 03 04  |lo, world!......|\n"
		"00000013  05 06 07 08                                       |....|\n"
		"00000017\n";
	static const char want_zero[] =
		"00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
		"*\n"
		"00000040  41 42 43 00 00 00 00 00  00 00 00 00 00 00 00 00  |ABC.............|\n"
		"00000050  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
		"*\n"
		"00000080\n";
	const char *name = tu_name(), *zeros = tu_name();
	unsigned char data[32];
	struct shmx_region *r;

	(void)state;
	memcpy(data, text, 14);
	for (int i = 0; i < 18; i++)
		data[14 + i] = (unsigned char)i;
	make_region(name, sizeof(data), data, sizeof(data));
	assert_int_equal(shmx("cat", name, "--hex", "--offset", "3", "--length", "20"), 0);
	assert_string_equal(R.out, want_hex);

	/* repeated lines collapse to "*", as hexdump -C does */
	assert_int_equal(shmx_create(zeros, 128, 0, 0600, &r), 0);
	assert_int_equal(shmx_write(r, 64, "ABC", 3), 3);
	shmx_close(r);
	assert_int_equal(shmx("cat", "-x", zeros), 0);
	assert_string_equal(R.out, want_zero);
	assert_int_equal(shmx("cat", "--hex", zeros, "--length", "0"), 0);
	assert_string_equal(R.out, "00000000\n");
}

/* ---- write ---- */

static void test_write(void **state)
{
	const char *name = tu_name();
	unsigned char before[64], after[64], big[64];
	char want[160];

	(void)state;
	make_region(name, 64, NULL, 0);
	assert_int_equal(shmx_stdin("abc", 3, "write", name, "--offset", "10"), 0);
	snprintf(want, sizeof(want), "wrote 3 bytes to %s at offset 10\n", name);
	assert_string_equal(R.out, want);
	read_region(name, after, 64);
	memset(before, 0, 64);
	memcpy(before + 10, "abc", 3);
	assert_memory_equal(after, before, 64);

	/* one byte too many: refused whole, the object unchanged */
	memset(big, 'Z', sizeof(big));
	assert_int_equal(shmx_stdin(big, 55, "write", name + 1, "--offset", "10"), 1);
	snprintf(want, sizeof(want), "shmx: write %s: input does not fit: more than 54 "
		 "bytes from offset 10 to the end (size 64); nothing written\n", name);
	assert_string_equal(R.err, want);
	assert_string_equal(R.out, "");
	read_region(name, after, 64);
	assert_memory_equal(after, before, 64);
	assert_int_equal(shmx_stdin(big, 64, "write", name, "-o", "1"), 1);
	read_region(name, after, 64);
	assert_memory_equal(after, before, 64);

	/* an offset past the end */
	assert_int_equal(shmx_stdin("x", 1, "write", name, "--offset", "65"), 1);
	assert_err_has("offset 65 is past the end (size 64); nothing written");
	read_region(name, after, 64);
	assert_memory_equal(after, before, 64);

	/* an exact fit, and an empty input */
	assert_int_equal(shmx_stdin(big, 54, "write", name, "--offset", "10"), 0);
	snprintf(want, sizeof(want), "wrote 54 bytes to %s at offset 10\n", name);
	assert_string_equal(R.out, want);
	memset(before + 10, 'Z', 54);
	read_region(name, after, 64);
	assert_memory_equal(after, before, 64);
	assert_int_equal(shmx_stdin(NULL, 0, "write", name, "--offset", "64"), 0);
	assert_out_has("wrote 0 bytes");
	assert_int_equal(shmx_stdin("q", 1, "write", name), 0);
	before[0] = 'q';
	read_region(name, after, 64);
	assert_memory_equal(after, before, 64);

	assert_int_equal(shmx_stdin("x", 1, "write", name, "--offset", "x1"), 2);
	assert_err_has("shmx: write: invalid offset 'x1'");
	shmx_unlink(name);
	assert_int_equal(shmx_stdin("x", 1, "write", name), 1);
	snprintf(want, sizeof(want), "shmx: write %s: No such file or directory\n", name);
	assert_string_equal(R.err, want);
}

static void test_write_large(void **state)
{
	const char *name = tu_name();
	size_t len = 3 << 20;
	unsigned char *data = malloc(len), *back = malloc(len);

	(void)state;
	assert_non_null(data);
	assert_non_null(back);
	pattern(data, len);
	memset(back, 0xee, len);
	assert_int_equal(shmx("create", name, "4M"), 0);
	assert_int_equal(shmx_stdin(data, len, "write", name, "--offset", "1M"), 0);
	assert_out_has("wrote 3145728 bytes");
	assert_int_equal(shmx("cat", name, "--offset", "1MiB"), 0);
	assert_int_equal(R.out_len, len);
	assert_memory_equal(R.out, data, len);
	/* an input larger than what is left: refused, nothing changed */
	assert_int_equal(shmx_stdin(back, len, "write", name, "--offset", "2M"), 1);
	assert_err_has("nothing written");
	assert_int_equal(shmx("cat", name, "--offset", "1M"), 0);
	assert_int_equal(R.out_len, len);
	assert_memory_equal(R.out, data, len);
	free(data);
	free(back);
}

/* ---- rm ---- */

static void test_rm_several(void **state)
{
	const char *a = tu_name(), *b = tu_name(), *c = tu_name(), *missing = tu_name();
	const char *pair = tu_name(), *orphan = tu_name(), *plain = tu_name();
	char sw[300], sr[300], ow[300], want[160];

	(void)state;
	make_region(a, 4096, NULL, 0);
	make_region(b, 4096, NULL, 0);
	make_region(c, 4096, NULL, 0);
	/* a pair's objects made by hand, as libshmx names them */
	make_region(pair, 4096, NULL, 0);
	snprintf(sw, sizeof(sw), "%s.shmx-w", pair);
	snprintf(sr, sizeof(sr), "%s.shmx-r", pair);
	make_sem(sw);
	make_sem(sr);
	/* semaphores of a pair whose region is gone */
	snprintf(ow, sizeof(ow), "%s.shmx-w", orphan);
	make_sem(ow);
	/* a named semaphore of some other program */
	remember(extra_sem, plain);
	make_sem(plain);

	assert_int_equal(shmx("rm", a, b + 1, missing, c, pair, orphan, plain), 1);
	snprintf(want, sizeof(want), "shmx: rm %s: No such file or directory\n", missing);
	assert_string_equal(R.err, want);
	assert_string_equal(R.out, "");
	assert_false(tu_exists(a));
	assert_false(tu_exists(b));
	assert_false(tu_exists(c));
	assert_false(tu_exists(pair));
	assert_false(tu_sem_exists(sw, ""));
	assert_false(tu_sem_exists(sr, ""));
	assert_false(tu_sem_exists(ow, ""));
	assert_false(tu_sem_exists(plain, ""));

	make_region(a, 4096, NULL, 0);
	assert_int_equal(shmx("rm", a), 0);
	assert_string_equal(R.err, "");
	assert_false(tu_exists(a));
	assert_int_equal(shmx("rm", a, b), 1);
	assert_err_has(a);
	assert_err_has(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create),
		T(test_create_no_space),
		T(test_create_bad_size),
		T(test_create_bad_mode),
		T(test_cat),
		T(test_cat_hex),
		T(test_write),
		T(test_write_large),
		T(test_rm_several),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
