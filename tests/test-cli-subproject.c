/* SPDX-License-Identifier: MIT */
/* libshmx as a meson subproject of a parent that asks for nothing: its
 * install adds the library, the header, the pkg-config and CMake files and
 * nothing else (no shmx tool, completion, systemd units, man pages or
 * Python binding in the parent's install); a parent that asks
 * (-Dlibshmx:subproject_extras=true) gets the tool too. Real meson runs in
 * a directory under /tmp, installed with DESTDIR. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS 600000

static char dir[64];

/* sh -c script (one %s: dir), in dir: 0, or the run printed and -1. */
static int sh(const char *what, const char *fmt)
{
	char script[2048];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct tu_result res = { 0 };
	int rc;

	snprintf(script, sizeof(script), "cd '%s' && ", dir);
	/* fmt is one of this file's literals, with one %s. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(script + strlen(script), sizeof(script) - strlen(script), fmt, dir);
#pragma GCC diagnostic pop
	assert_int_equal(tu_run(argv, NULL, 0, RUN_MS, &res), 0);
	rc = res.exit_code;
	if (rc) {
		print_message("# %s: exit %d\n", what, rc);
		tu_print_lines("stdout", res.out);
		tu_print_lines("stderr", res.err);
	}
	tu_result_free(&res);
	return rc ? -1 : 0;
}

/* What DESTDIR holds that is neither the parent's nor one of the four
 * kinds of file a library installs, one per line ("" when nothing). */
static char *extras(const char *dest)
{
	char script[1024];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct tu_result res = { 0 };

	snprintf(script, sizeof(script),
		 "cd '%s/%s' && find . ! -type d | sed 's|^\\./||' | grep -vE "
		 "'^usr/bin/parent$|^usr/include/shmx\\.h$|^usr/lib/([^/]+/)?libshmx\\.(so[.0-9]*|a)$|"
		 "^usr/lib/([^/]+/)?pkgconfig/libshmx\\.pc$|^usr/lib/([^/]+/)?cmake/libshmx/[^/]+\\.cmake$'"
		 " || true", dir, dest);
	assert_int_equal(tu_run(argv, NULL, 0, RUN_MS, &res), 0);
	free(res.err);
	return res.out;
}

static int setup(void **state)
{
	const char *src = tu_source_path("");
	char cmd[1024];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/" TU_PREFIX "sub-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s/parent/subprojects' && "
		 "ln -s '%s' '%s/parent/subprojects/libshmx'", dir, dir, src, dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_subproject_installs_only_the_library(void **state)
{
	char *extra;

	(void)state;
	TU_SKIP_IF_EMULATED("the parent is built by the build machine's meson and cc, and in a cross run meson test puts the target's binutils (/usr/aarch64-linux-gnu/bin) first in PATH, where cc finds its ld: the native suite runs this test");
	if (sh("writing the parent",
	       "printf '%%s\\n' \"project('parent', 'c')\" \"subproject('libshmx')\" "
	       "\"executable('parent', 'parent.c', dependencies: dependency('libshmx'), "
	       "install: true)\" > parent/meson.build && "
	       "printf '%%s\\n' '#include <shmx.h>' "
	       "'int main(void) { return shmx_version() ? 0 : 1; }' > parent/parent.c"))
		fail_msg("could not write the parent project");
	if (sh("meson setup", "meson setup build parent --prefix=/usr --libdir=lib "
	       ">/dev/null") || sh("ninja", "ninja -C build >/dev/null") ||
	    sh("meson install", "DESTDIR=%s/dest meson install -C build --no-rebuild "
	       ">/dev/null"))
		fail_msg("the parent project did not build and install");
	extra = extras("dest");
	if (extra[0])
		tu_print_lines("installed beyond the library", extra);
	assert_string_equal(extra, "");
	free(extra);
	if (sh("asking for the rest", "meson configure build "
	       "-Dlibshmx:subproject_extras=true >/dev/null && ninja -C build >/dev/null && "
	       "DESTDIR=%s/dest2 meson install -C build --no-rebuild >/dev/null"))
		fail_msg("a parent asking for the tool could not build it");
	extra = extras("dest2");
	if (!strstr(extra, "usr/bin/shmx\n"))
		tu_print_lines("installed beyond the library", extra);
	assert_non_null(strstr(extra, "usr/bin/shmx\n"));
	free(extra);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subproject_installs_only_the_library),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
