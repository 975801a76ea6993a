/* SPDX-License-Identifier: MIT */
/*
 * The shmx tool, end to end: each command exec'd as a user would run it,
 * its output and exit status checked, error cases included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define RUN_MS 30000
#define MAX_ARGS 32

static struct tu_result R;      /* the last run */

/* Names this file creates outside tu_name()'s reach (plain semaphores, odd
 * names), removed by the teardown whatever happened. */
static char extra_sem[4][300], extra_shm[4][300];
static int sysv_id = -1;

/* Run prog with the arguments in ap (NULL-terminated), prefixed by pre (may
 * be NULL): result in R, returns the exit code. */
static int run_v(const char *const *pre, const char *prog, const void *in, size_t in_len,
		 va_list ap)
{
	char *argv[MAX_ARGS];
	const char *a;
	int n = 0;

	tu_result_free(&R);
	for (; pre && *pre; pre++)
		argv[n++] = (char *)*pre;
	argv[n++] = (char *)prog;
	while ((a = va_arg(ap, const char *))) {
		assert_true(n < MAX_ARGS - 1);
		argv[n++] = (char *)a;
	}
	argv[n] = NULL;
	assert_int_equal(tu_run(argv, in, in_len, RUN_MS, &R), 0);
	assert_int_not_equal(R.exit_code, -1);  /* not killed by the deadline */
	return R.exit_code;
}

/* shmx(in, len, "cmd", args..., NULL) */
static int shmx_in(const void *in, size_t in_len, ...)
{
	va_list ap;
	int rc;

	va_start(ap, in_len);
	rc = run_v(NULL, tu_build_path("tools/shmx"), in, in_len, ap);
	va_end(ap);
	return rc;
}

#define shmx(...) shmx_in(NULL, 0, __VA_ARGS__, NULL)
#define shmx_stdin(data, len, ...) shmx_in(data, len, __VA_ARGS__, NULL)

static const char *const as_nobody[] = {
	"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NULL,
};
/* The tool as uid 65534 runs it: a copy it can reach (tu_copy_for_others). */
static const char *nobody_shmx;

static int shmx_nobody_in(const void *in, size_t in_len, ...)
{
	va_list ap;
	int rc;

	assert_non_null(nobody_shmx);
	va_start(ap, in_len);
	rc = run_v(as_nobody, nobody_shmx, in, in_len, ap);
	va_end(ap);
	return rc;
}

#define shmx_nobody(...) shmx_nobody_in(NULL, 0, __VA_ARGS__, NULL)

/* The last run's exit status and output, as TAP comments. */
static void dump_result(void)
{
	print_message("# exit %d\n", R.exit_code);
	tu_print_lines("stdout", R.out);
	tu_print_lines("stderr", R.err);
}

#define assert_out_has(s)                                                        \
	do {                                                                     \
		if (!strstr(R.out, (s)))                                         \
			dump_result();                                           \
		assert_non_null(strstr(R.out, (s)));                             \
	} while (0)
#define assert_err_has(s)                                                        \
	do {                                                                     \
		if (!strstr(R.err, (s)))                                         \
			dump_result();                                           \
		assert_non_null(strstr(R.err, (s)));                             \
	} while (0)
#define assert_out_lacks(s) assert_null(strstr(R.out, (s)))
#define assert_exit(code)                                                        \
	do {                                                                     \
		if (R.exit_code != (code))                                       \
			dump_result();                                           \
		assert_int_equal(R.exit_code, (code));                           \
	} while (0)

static void make_region(const char *name, size_t size, const void *data, size_t len)
{
	struct shmx_region *r;

	assert_int_equal(shmx_create(name, size, 0, 0600, &r), 0);
	if (len)
		assert_int_equal(shmx_write(r, 0, data, len), (ssize_t)len);
	shmx_close(r);
}

static void read_region(const char *name, void *buf, size_t len)
{
	struct shmx_region *r;

	assert_int_equal(shmx_open(name, SHMX_RDONLY, &r), 0);
	assert_int_equal(shmx_read(r, 0, buf, len), (ssize_t)len);
	shmx_close(r);
}

static void make_sem(const char *name)
{
	sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);

	assert_true(s != SEM_FAILED);
	sem_close(s);
}

static void remember(char slot[4][300], const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (!slot[i][0]) {
			snprintf(slot[i], 300, "%s", name);
			return;
		}
	}
	fail_msg("too many extra names");
}

static int teardown(void **state)
{
	for (int i = 0; i < 4; i++) {
		if (extra_sem[i][0])
			sem_unlink(extra_sem[i]);
		if (extra_shm[i][0])
			shm_unlink(extra_shm[i]);
		extra_sem[i][0] = extra_shm[i][0] = 0;
	}
	if (sysv_id >= 0)
		shmctl(sysv_id, IPC_RMID, NULL);
	sysv_id = -1;
	tu_result_free(&R);
	return tu_teardown(state);
}

/* ---- help, version, usage ---- */

static const char *const commands[] = {
	"ls", "stat", "create", "rm", "gc", "cat", "write", "help",
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void test_help_and_version(void **state)
{
	char want[64], *help;

	(void)state;
	assert_int_equal(shmx("--help"), 0);
	assert_out_has("Usage: shmx COMMAND");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		snprintf(want, sizeof(want), "  shmx %s", commands[i]);
		assert_out_has(want);
	}
	assert_string_equal(R.err, "");
	assert_int_equal(shmx("-h"), 0);
	assert_out_has("Usage: shmx COMMAND");
	assert_int_equal(shmx("help"), 0);
	assert_out_has("Usage: shmx COMMAND");

	assert_int_equal(shmx("--version"), 0);
	snprintf(want, sizeof(want), "shmx (libshmx) %s\n", shmx_version());
	assert_string_equal(R.out, want);

	/* "shmx help CMD" and "shmx CMD --help" print the same text */
	for (size_t i = 0; i < N_COMMANDS; i++) {
		snprintf(want, sizeof(want), "Usage: shmx %s", commands[i]);
		assert_int_equal(shmx("help", commands[i]), 0);
		assert_memory_equal(R.out, want, strlen(want));
		help = strdup(R.out);
		assert_int_equal(shmx(commands[i], "--help"), 0);
		assert_string_equal(R.out, help);
		assert_int_equal(shmx(commands[i], "-h"), 0);
		assert_string_equal(R.out, help);
		assert_string_equal(R.err, "");
		free(help);
	}
	assert_int_equal(shmx("help", "frob"), 2);
	assert_err_has("shmx: help: unknown command 'frob'");
	assert_string_equal(R.out, "");
}

static void test_usage_errors(void **state)
{
	const char *name = tu_name();

	(void)state;
	assert_int_equal(shmx_in(NULL, 0, NULL), 2);
	assert_err_has("shmx: missing command");
	assert_int_equal(shmx("frob"), 2);
	assert_err_has("shmx: unknown command 'frob'");
	assert_string_equal(R.out, "");

	for (size_t i = 0; i < N_COMMANDS; i++) {
		char want[64];

		snprintf(want, sizeof(want), "shmx: %s: unknown option '--bogus'", commands[i]);
		assert_int_equal(shmx(commands[i], "--bogus", name), 2);
		assert_err_has(want);
		assert_string_equal(R.out, "");
		snprintf(want, sizeof(want), "shmx: %s: unknown option '-Z'", commands[i]);
		assert_int_equal(shmx(commands[i], "-Z", name), 2);
		assert_err_has(want);
	}
	assert_int_equal(shmx("cat", name, "--offset"), 2);
	assert_err_has("shmx: cat: option '--offset' needs a value");
	assert_int_equal(shmx("create", name, "4096", "--mode"), 2);
	assert_err_has("needs a value");
	assert_int_equal(shmx("ls", "extra"), 2);
	assert_err_has("shmx: ls: unexpected argument 'extra'");
	assert_int_equal(shmx("create", name, "4096", "extra"), 2);
	assert_err_has("unexpected argument 'extra'");
	assert_int_equal(shmx("cat", name, "extra"), 2);
	assert_int_equal(shmx("write", name, "extra"), 2);
	assert_int_equal(shmx("help", "ls", "extra"), 2);
	/* nothing was created by any of it */
	assert_false(tu_exists(name));
}

static void test_missing_and_bad_names(void **state)
{
	static const char *const needs_name[] = { "stat", "create", "rm", "cat", "write" };
	/* "a/b" and "/a/b" are file paths (shmx(1), ADDRESSES), not bad names */
	static const char *const bad[] = { "", "/", "..", "/.", "tab\there", "sem.x" };
	const char *good = tu_name();
	char longname[300];

	(void)state;
	for (size_t i = 0; i < sizeof(needs_name) / sizeof(needs_name[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "shmx: %s: missing object name", needs_name[i]);
		assert_int_equal(shmx(needs_name[i]), 2);
		assert_err_has(want);
		assert_string_equal(R.out, "");
	}
	assert_int_equal(shmx("create", tu_name()), 2);
	assert_err_has("shmx: create: missing size");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(shmx("create", bad[i], "4096"), 2);
		assert_err_has("invalid object name");
		assert_int_equal(shmx("cat", bad[i]), 2);
		assert_int_equal(shmx("stat", bad[i]), 2);
		assert_int_equal(shmx("rm", bad[i]), 2);
		assert_err_has("shmx: rm: invalid object name");
	}
	/* a malformed name anywhere: nothing is removed */
	make_region(good, 4096, NULL, 0);
	assert_int_equal(shmx("rm", good, "sysv:nokey"), 2);
	assert_true(tu_exists(good));
	/* glibc's semaphore files are not object names (shmx(7), Names) */
	assert_int_equal(shmx("create", "/sem.x", "4096"), 2);
	assert_err_has("invalid object name '/sem.x'");
	assert_int_equal(shmx("stat", "sem.x"), 2);
	memset(longname, 'a', 256);
	longname[256] = 0;
	assert_int_equal(shmx("create", longname, "4096"), 2);
	assert_err_has("name too long");
}

/* ---- create ---- */

static void check_created(const char *name, uint64_t size, mode_t mode)
{
	struct shmx_info info;

	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.size, size);
	assert_int_equal(info.mode, mode);
}

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

/* ---- cat ---- */

static void pattern(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 3);
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

/* ---- stat ---- */

static void test_stat(void **state)
{
	const char *name = tu_name();
	struct passwd *pw = getpwuid(getuid());
	struct shmx_region *r;
	char want[128];

	(void)state;
	assert_non_null(pw);
	make_region(name, 4096, NULL, 0);
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	assert_int_equal(shmx("stat", name + 1), 0);
	snprintf(want, sizeof(want), "Name:       %s\n", name);
	assert_out_has(want);
	assert_out_has("Kind:       region\n");
	assert_out_has("Size:       4096 (4.0K)\n");
	assert_out_has("Mode:       0600 (-rw-------)\n");
	snprintf(want, sizeof(want), "Owner:      %u (%s)\n", (unsigned)getuid(), pw->pw_name);
	assert_out_has(want);
	assert_out_has("Group:      ");
	assert_out_has("Access:     ");
	assert_out_has("Modify:     ");
	assert_out_has("Change:     ");
	assert_out_has("Holders:    none\n");
	/* we map it: our pid and command name are listed */
	snprintf(want, sizeof(want), "Mapped by:  %d (test-cli)\n", (int)getpid());
	assert_out_has(want);
	r = shmx_close(r);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("Mapped by:  none seen\n");
	assert_string_equal(R.err, "");

	shmx_unlink(name);
	assert_int_equal(shmx("stat", name), 1);
	snprintf(want, sizeof(want), "shmx: stat %s: No such file or directory\n", name);
	assert_string_equal(R.err, want);
}

/* The creator's mapping is of the object built unnamed: /proc/PID/maps
 * shows it as "/dev/shm/#INODE (deleted)", so stat matches the device and
 * inode, not the path. */
static void test_stat_lists_the_creator(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	char want[128];

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0600, &r), 0);
	assert_int_equal(shmx("stat", name), 0);
	snprintf(want, sizeof(want), "Mapped by:  %d (test-cli)\n", (int)getpid());
	assert_out_has(want);
	shmx_close(r);
}

/* Names are shown escaped in every message, as ls shows them: a name
 * cannot drive the terminal. */
static void assert_no_raw_bytes(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f || *p >= 0x80) {
			dump_result();
			fail_msg("raw byte 0x%02x in the output", *p);
		}
	}
}

static void test_messages_escape_names(void **state)
{
	const char *base = tu_name();
	char odd[300], esc[300], want[400];

	(void)state;
	/* 0x9b is the one-byte CSI of 8-bit terminals; invalid UTF-8 alone */
	snprintf(odd, sizeof(odd), "%s-\x9b" "2J", base);
	snprintf(esc, sizeof(esc), "%s-\\x9b" "2J", base);
	remember(extra_shm, odd);
	assert_int_equal(shmx("cat", odd), 1);
	snprintf(want, sizeof(want), "shmx: cat %s: No such file or directory\n", esc);
	assert_string_equal(R.err, want);
	assert_int_equal(shmx("create", odd, "4096"), 0);
	snprintf(want, sizeof(want), "created %s: 4096 bytes, mode 0600\n", esc);
	assert_string_equal(R.out, want);
	assert_int_equal(shmx_stdin("x", 1, "write", odd), 0);
	assert_no_raw_bytes(R.out);
	assert_int_equal(shmx("create", odd, "4096"), 1);
	assert_no_raw_bytes(R.err);
	assert_int_equal(shmx("rm", odd), 0);
	assert_int_equal(shmx("rm", odd), 1);
	assert_err_has(esc);
	assert_no_raw_bytes(R.err);
	/* control bytes: invalid names, options, commands, sizes */
	assert_int_equal(shmx("cat", "x\x1b]0;pwned\x07"), 2);
	assert_err_has("'x\\x1b]0;pwned\\x07'");
	assert_no_raw_bytes(R.err);
	assert_int_equal(shmx("ls", "--\x1b[2J"), 2);
	assert_no_raw_bytes(R.err);
	assert_int_equal(shmx("\x1b[2J"), 2);
	assert_no_raw_bytes(R.err);
	assert_int_equal(shmx("create", base, "4\x1b[2J"), 2);
	assert_no_raw_bytes(R.err);
	assert_int_equal(shmx("cat", base, "extra\x9b"), 2);
	assert_no_raw_bytes(R.err);
}

/* ---- permissions ---- */

static void test_permission_denied(void **state)
{
	const char *name = tu_name();
	unsigned char data[64], back[64];
	char want[160];

	(void)state;
	if (!tu_can_drop_privileges()) {
		tu_skip("not root, or setpriv cannot drop to uid 65534");
		return;
	}
	nobody_shmx = tu_copy_for_others("tools/shmx");
	if (!nobody_shmx) {
		tu_skip("cannot copy the tool where uid 65534 can run it");
		return;
	}
	pattern(data, sizeof(data));
	make_region(name, sizeof(data), data, sizeof(data));

	assert_int_equal(shmx_nobody("cat", name), 1);
	snprintf(want, sizeof(want), "shmx: cat %s: Permission denied\n", name);
	assert_string_equal(R.err, want);
	assert_int_equal(R.out_len, 0);
	assert_int_equal(shmx_nobody_in("xyz", 3, "write", name, NULL), 1);
	snprintf(want, sizeof(want), "shmx: write %s: Permission denied\n", name);
	assert_string_equal(R.err, want);
	assert_int_equal(shmx_nobody("rm", name), 1);
	snprintf(want, sizeof(want), "shmx: rm %s: Permission denied\n", name);
	assert_string_equal(R.err, want);
	assert_int_equal(shmx_nobody("create", name, "4096"), 1);
	assert_err_has("File exists");

	/* the object survived, unchanged */
	read_region(name, back, sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	check_created(name, 64, 0600);

	/* what needs no access to the data still works */
	assert_int_equal(shmx_nobody("stat", name), 0);
	assert_out_has("Size:       64 (64)\n");
	assert_out_has("Holders:    unknown");
	assert_int_equal(shmx_nobody("ls", "-b"), 0);
	assert_out_has(name);
}

/* ---- gc, and ls of libshmx objects ---- */

struct owner {
	pid_t pid;
	int ctl;        /* write end: closing it lets the child exit */
};

/* A child that creates a pair on name and owns it until told to go. */
static struct owner spawn_pair_owner(const char *name)
{
	int ready[2], ctl[2];
	struct owner o;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(ctl), 0);
	o.pid = fork();
	assert_true(o.pid >= 0);
	if (o.pid == 0) {
		struct shmx_region *r;
		struct shmx_pair *p;
		int err;

		close(ready[0]);
		close(ctl[1]);
		err = shmx_create(name, 4096, 0, 0600, &r);
		if (!err)
			err = shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p);
		c = err ? 'E' : 'K';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		if (read(ctl[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(ctl[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(c, 'K');
	o.ctl = ctl[1];
	return o;
}

static void owner_end(struct owner *o, bool kill9)
{
	int status;

	if (kill9)
		kill(o->pid, SIGKILL);
	close(o->ctl);
	assert_int_equal(tu_waitpid(o->pid, 10000, &status), 0);
	if (kill9)
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static bool pair_available(void)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	int err;

	assert_int_equal(shmx_create(name, 4096, 0, 0600, &r), 0);
	err = shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p);
	if (!err)
		shmx_pair_close(p);
	shmx_close(r);
	shmx_pair_unlink(name);
	shmx_unlink(name);
	return err != -ENOSYS;
}

static char *ls_line(const char *name)
{
	char key[300], *p, *end;
	static char line[1024];

	snprintf(key, sizeof(key), " %s\n", name);
	p = strstr(R.out, key);
	if (!p) {
		snprintf(key, sizeof(key), " %s  (", name);
		p = strstr(R.out, key);
	}
	if (!p)
		return NULL;
	while (p > R.out && p[-1] != '\n')
		p--;
	end = strchr(p, '\n');
	snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
	return line;
}

/* The ls line of name has these KIND STATE SIZE MODE columns (size and mode
 * NULL: not checked). Columns are compared, not their padding, which
 * depends on whatever else is in /dev/shm. */
static void assert_ls(const char *name, const char *kind, const char *state,
		      const char *size, const char *mode)
{
	char k[32], st[32], sz[32], md[32], *l = ls_line(name);

	if (!l || sscanf(l, "%31s %31s %31s %31s", k, st, sz, md) != 4 || strcmp(k, kind) ||
	    strcmp(st, state) || (size && strcmp(sz, size)) || (mode && strcmp(md, mode))) {
		dump_result();
		fail_msg("ls line of %s is '%s', expected %s %s %s %s", name,
			 l ? l : "(none)", kind, state, size ? size : "*", mode ? mode : "*");
	}
}

static void test_gc(void **state)
{
	const char *stale = tu_name(), *live = tu_name(), *plain = tu_name();
	const char *orphan = tu_name(), *plainsem = tu_name();
	char pat[64], want[700], sw[300], sr[300], ow[300], orr[300];
	struct owner o_stale, o_live;

	(void)state;
	if (!pair_available()) {
		tu_skip("shmx_pair_create is not implemented yet (-ENOSYS)");
		return;
	}
	o_stale = spawn_pair_owner(stale);
	o_live = spawn_pair_owner(live);
	owner_end(&o_stale, true);             /* kill -9: its lock is dropped */
	make_region(plain, 4096, NULL, 0);
	remember(extra_sem, plainsem);
	make_sem(plainsem);
	snprintf(ow, sizeof(ow), "%s.shmx-w", orphan);
	snprintf(orr, sizeof(orr), "%s.shmx-r", orphan);
	make_sem(ow);
	make_sem(orr);
	snprintf(sw, sizeof(sw), "%s.shmx-w", stale);
	snprintf(sr, sizeof(sr), "%s.shmx-r", stale);

	/* ls tells them apart */
	assert_int_equal(shmx("ls", "--bytes"), 0);
	assert_ls(stale, "pair", "stale", "4096", "0600");
	assert_ls(live, "pair", "alive", "4096", "0600");
	assert_ls(plain, "region", "-", "4096", "0600");
	assert_ls(plainsem, "semaphore", "-", NULL, "0600");
	assert_ls(sw, "semaphore", "stale", NULL, "0600");
	assert_ls(ow, "semaphore", "orphan", NULL, "0600");
	snprintf(want, sizeof(want), "%s  (of pair %s)", sw, stale);
	assert_out_has(want);

	snprintf(pat, sizeof(pat), "/" TU_PREFIX "%d-*", (int)getpid());
	/* dry run: says what would go, removes nothing */
	assert_int_equal(shmx("gc", "--dry-run", pat), 0);
	snprintf(want, sizeof(want), "would remove stale pair %s\n", stale);
	assert_out_has(want);
	snprintf(want, sizeof(want), "would remove orphaned semaphores of pair %s\n", orphan);
	assert_out_has(want);
	assert_out_lacks(live);
	assert_out_lacks(plain);
	assert_out_has("gc: would remove 2 stale objects, kept 1 live, 0 unknown, 0 failed "
		       "(dry run: nothing removed)\n");
	/* without a pattern it looks at everything, still removing nothing */
	assert_int_equal(shmx("gc", "-n"), 0);
	snprintf(want, sizeof(want), "would remove stale pair %s\n", stale);
	assert_out_has(want);
	assert_true(tu_exists(stale) && tu_sem_exists(sw, "") && tu_sem_exists(sr, ""));
	assert_true(tu_sem_exists(ow, "") && tu_sem_exists(orr, ""));

	assert_int_equal(shmx("gc", pat + 1), 0);
	snprintf(want, sizeof(want), "removed stale pair %s\n", stale);
	assert_out_has(want);
	snprintf(want, sizeof(want), "removed orphaned semaphores of pair %s\n", orphan);
	assert_out_has(want);
	assert_out_has("gc: removed 2 stale objects, kept 1 live, 0 unknown, 0 failed\n");
	assert_false(tu_exists(stale));
	assert_false(tu_sem_exists(sw, ""));
	assert_false(tu_sem_exists(sr, ""));
	assert_false(tu_sem_exists(ow, ""));
	assert_false(tu_sem_exists(orr, ""));
	/* the live pair and the other programs' objects are all still there */
	assert_true(tu_exists(live));
	snprintf(sw, sizeof(sw), "%s.shmx-w", live);
	assert_true(tu_sem_exists(sw, ""));
	assert_true(tu_exists(plain));
	assert_true(tu_sem_exists(plainsem, ""));

	/* a second run finds nothing more of ours */
	assert_int_equal(shmx("gc", pat), 0);
	assert_out_has("gc: removed 0 stale objects, kept 1 live");
	owner_end(&o_live, false);
}

static void test_gc_usage(void **state)
{
	(void)state;
	assert_int_equal(shmx("gc", "--dry-run", "--force"), 2);
	assert_err_has("shmx: gc: unknown option '--force'");
	assert_string_equal(R.out, "");
}

static void test_stat_pair(void **state)
{
	const char *name = tu_name();
	struct owner o;
	char want[200];

	(void)state;
	if (!pair_available()) {
		tu_skip("shmx_pair_create is not implemented yet (-ENOSYS)");
		return;
	}
	o = spawn_pair_owner(name);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("Kind:       libshmx pair\n");
	assert_out_has("State:      alive (its owner holds its lock)\n");
	assert_out_has("Holders:    owner, writer\n");
	snprintf(want, sizeof(want), "Semaphores: %s.shmx-w, %s.shmx-r\n", name, name);
	assert_out_has(want);
	owner_end(&o, true);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("State:      stale (its owner is gone)\n");
	assert_out_has("Holders:    none\n");
	/* rm takes the semaphores with it */
	assert_int_equal(shmx("rm", name), 0);
	assert_false(tu_exists(name));
	snprintf(want, sizeof(want), "%s.shmx-w", name);
	assert_false(tu_sem_exists(want, ""));
}

/* ---- channels ---- */

static void test_channel(void **state)
{
	const char *live = tu_name(), *stale = tu_name();
	int ready[2], ctl[2], err, status;
	struct shmx_chan *c;
	char want[200], ch;
	pid_t pid;

	(void)state;
	err = shmx_chan_create(live, 4096, SHMX_CHAN_PRODUCER, 0600, &c);
	if (err == -ENOSYS) {
		tu_skip("shmx_chan_create is not implemented yet (-ENOSYS)");
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(shmx_chan_send(c, "hello", 5, 0), 0);

	/* a stale one: its creator is killed */
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(ctl), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_chan *cc;

		close(ctl[1]);
		ch = shmx_chan_create(stale, 4096, SHMX_CHAN_PRODUCER, 0600, &cc) ? 'E' : 'K';
		if (write(ready[1], &ch, 1) != 1 || read(ctl[0], &ch, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(ctl[0]);
	assert_int_equal(read(ready[0], &ch, 1), 1);
	assert_int_equal(ch, 'K');
	kill(pid, SIGKILL);
	close(ctl[1]);
	close(ready[0]);
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);

	assert_int_equal(shmx("ls"), 0);
	assert_ls(live, "channel", "alive", NULL, "0600");
	assert_ls(stale, "channel", "stale", NULL, "0600");
	assert_int_equal(shmx("stat", live), 0);
	assert_out_has("Kind:       libshmx channel\n");
	assert_out_has("State:      alive");
	assert_out_has("Channel:    format ");
	assert_out_has("ring 4096 bytes");
	assert_out_has(" 1 sent, 0 received\n");

	snprintf(want, sizeof(want), "/" TU_PREFIX "%d-*", (int)getpid());
	assert_int_equal(shmx("gc", want), 0);
	snprintf(want, sizeof(want), "removed stale channel %s\n", stale);
	assert_out_has(want);
	assert_out_lacks(live);
	assert_false(tu_exists(stale));
	assert_true(tu_exists(live));
	shmx_chan_close(c);
	assert_int_equal(shmx("rm", live), 0);
	assert_false(tu_exists(live));
}

/* ---- ls ---- */

/* A small structural JSON check: one value, strings with valid escapes and
 * no raw control bytes, balanced containers, nothing after the value. */
static const char *js_value(const char *p);

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *js_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *js_container(const char *p, char close, bool object)
{
	p = js_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = js_string(js_ws(p));
			if (!p || *(p = js_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = js_value(p);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *js_value(const char *p)
{
	p = js_ws(p);
	if (*p == '{')
		return js_container(p, '}', true);
	if (*p == '[')
		return js_container(p, ']', false);
	if (*p == '"')
		return js_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		p += *p == '-';
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
		       *p == '+' || *p == '-')
			p++;
		return p;
	}
	return NULL;
}

static void assert_json(const char *s)
{
	const char *end = js_value(s);

	if (!end || *js_ws(end)) {
		tu_print_lines("not JSON", s);
		fail_msg("output is not well-formed JSON");
	}
}

/* Run python3 over R.out: one line per object of ours, fields escaped. */
static const char py_list[] =
	"import json, sys\n"
	"d = json.load(sys.stdin)\n"
	"for o in d[sys.argv[1]]:\n"
	"    if sys.argv[1] == 'sysv':\n"
	"        print(o['id'], o['size'], o['mode'], o['attached'], o['key'])\n"
	"    elif o['name'].startswith(sys.argv[2]):\n"
	"        print(o['name'].encode('unicode_escape').decode(), o['kind'], o['size'],\n"
	"              o['mode'], o['libshmx'], o['state'], o.get('name_hex', '-'))\n";

static char *python_json(const char *section, const char *prefix)
{
	char *argv[] = { "/usr/bin/env", "python3", "-c", (char *)py_list, (char *)section,
			 (char *)prefix, NULL };
	struct tu_result py;
	char *out;

	assert_int_equal(tu_run(argv, R.out, R.out_len, RUN_MS, &py), 0);
	if (py.exit_code != 0)
		tu_print_lines("python", py.err);
	assert_int_equal(py.exit_code, 0);
	out = strdup(py.out);
	tu_result_free(&py);
	return out;
}

static void test_ls(void **state)
{
	const char *a = tu_name(), *b = tu_name(), *c = tu_name();
	char odd[300], odd_shown[300], want[1300], prefix[64], hex[600];
	struct shmx_region *r;
	int fd;

	(void)state;
	snprintf(prefix, sizeof(prefix), "/" TU_PREFIX "%d-", (int)getpid());
	assert_int_equal(shmx_create(a, 12345, 0, 0640, &r), 0);
	shmx_close(r);
	make_region(b, 1536, NULL, 0);
	make_region(c, 100, NULL, 0);
	/* a name some other program could make: quote, backslash, tab,
	 * an invalid UTF-8 byte, and a valid e-acute */
	snprintf(odd, sizeof(odd), "%s-odd\"\\\t\xff\xc3\xa9", tu_name());
	remember(extra_shm, odd);
	fd = shm_open(odd, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 7), 0);
	close(fd);

	assert_int_equal(shmx("ls"), 0);
	assert_string_equal(R.err, "");
	assert_memory_equal(R.out, "KIND      STATE   ", 18);
	assert_ls(a, "region", "-", "13K", "0640");
	assert_ls(b, "region", "-", "1.5K", "0600");
	assert_ls(c, "region", "-", "100", "0600");
	/* odd bytes are shown escaped, never raw */
	snprintf(odd_shown, sizeof(odd_shown), "%.*s\"\\x5c\\x09\\xff\xc3\xa9",
		 (int)(strchr(odd, '"') - odd), odd);
	assert_out_has(odd_shown);
	assert_null(strchr(R.out, '\t'));

	assert_int_equal(shmx("ls", "-b"), 0);
	assert_ls(a, "region", "-", "12345", "0640");
	assert_ls(c, "region", "-", "100", "0600");

	assert_int_equal(shmx("ls", "--json"), 0);
	assert_json(R.out);
	snprintf(want, sizeof(want), "{\"name\":\"%s\",\"kind\":\"region\",\"size\":12345,"
		 "\"mode\":\"0640\",", a);
	assert_out_has(want);
	snprintf(want, sizeof(want), "\"name\":\"%.*s\\\"\\\\\\t\\ufffd\xc3\xa9\",\"name_hex\":\"",
		 (int)(strchr(odd, '"') - odd), odd);
	assert_out_has(want);
	if (!tu_have_python()) {
		tu_skip("python3 is absent: checked with the C structural check only");
		return;
	}
	{
		char *got = python_json("objects", prefix);
		size_t n = 0;

		for (const char *p = odd; *p; p++)
			n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02x", (unsigned char)*p);
		int lines = 0;

		/* one line each, in whatever order the names sort */
		for (const char *p = got; *p; p++)
			lines += *p == '\n';
		tu_print_lines("python saw", got);
		assert_int_equal(lines, 4);
		snprintf(want, sizeof(want), "%s region 12345 0640 False None -\n", a);
		assert_non_null(strstr(got, want));
		snprintf(want, sizeof(want), "%s region 1536 0600 False None -\n", b);
		assert_non_null(strstr(got, want));
		snprintf(want, sizeof(want), "%s region 100 0600 False None -\n", c);
		assert_non_null(strstr(got, want));
		snprintf(want, sizeof(want), "%.*s\"\\\\\\t\\ufffd\\xe9 region 7 0600 False None %s\n",
			 (int)(strchr(odd, '"') - odd), odd, hex);
		assert_non_null(strstr(got, want));
		free(got);
	}
}

static void test_ls_sysv(void **state)
{
	char want[200];

	(void)state;
	sysv_id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0640);
	assert_true(sysv_id >= 0);
	assert_int_equal(shmx("ls", "--sysv", "--bytes"), 0);
	assert_out_has("KEY        SHMID      OWNER      PERMS       SIZE NATTCH CPID     LPID     "
		       "STATUS\n");
	snprintf(want, sizeof(want), "0x00000000 %-10d %-10s %-5s %10s %-6s", sysv_id, "root",
		 "640", "8192", "0");
	if (getuid() == 0)
		assert_out_has(want);
	assert_int_equal(shmx("ls", "--sysv", "--json"), 0);
	assert_json(R.out);
	snprintf(want, sizeof(want), "\"id\":%d,", sysv_id);
	assert_out_has(want);
	if (tu_have_python()) {
		char *got = python_json("sysv", "");

		snprintf(want, sizeof(want), "%d 8192 0640 0 0x00000000\n", sysv_id);
		assert_non_null(strstr(got, want));
		free(got);
	}
	shmctl(sysv_id, IPC_RMID, NULL);
	sysv_id = -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_help_and_version, teardown),
		cmocka_unit_test_teardown(test_usage_errors, teardown),
		cmocka_unit_test_teardown(test_missing_and_bad_names, teardown),
		cmocka_unit_test_teardown(test_create, teardown),
		cmocka_unit_test_teardown(test_create_no_space, teardown),
		cmocka_unit_test_teardown(test_create_bad_size, teardown),
		cmocka_unit_test_teardown(test_create_bad_mode, teardown),
		cmocka_unit_test_teardown(test_cat, teardown),
		cmocka_unit_test_teardown(test_cat_hex, teardown),
		cmocka_unit_test_teardown(test_write, teardown),
		cmocka_unit_test_teardown(test_write_large, teardown),
		cmocka_unit_test_teardown(test_rm_several, teardown),
		cmocka_unit_test_teardown(test_stat, teardown),
		cmocka_unit_test_teardown(test_stat_lists_the_creator, teardown),
		cmocka_unit_test_teardown(test_messages_escape_names, teardown),
		cmocka_unit_test_teardown(test_permission_denied, teardown),
		cmocka_unit_test_teardown(test_gc, teardown),
		cmocka_unit_test_teardown(test_gc_usage, teardown),
		cmocka_unit_test_teardown(test_stat_pair, teardown),
		cmocka_unit_test_teardown(test_channel, teardown),
		cmocka_unit_test_teardown(test_ls, teardown),
		cmocka_unit_test_teardown(test_ls_sysv, teardown),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
