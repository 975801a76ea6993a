/* SPDX-License-Identifier: MIT */
/* The shmx tool, end to end, what every command shares: help, version and
 * usage errors, names it refuses, names it prints (escaped), and what
 * another user (uid 65534) may not do. Each run exec's the tool as a user
 * would. The commands: test-cli-data.c (create, cat, write, rm),
 * test-cli-stat.c (stat, gc, channels), test-cli-ls.c (ls). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_and_version),
		T(test_usage_errors),
		T(test_missing_and_bad_names),
		T(test_messages_escape_names),
		T(test_permission_denied),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
