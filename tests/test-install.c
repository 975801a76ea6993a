/* SPDX-License-Identifier: MIT */
/* Install and consume. The source tree is configured into a
 * temporary prefix and installed there; then the installed tree is checked,
 * a small consumer is built with pkg-config (shared and -static), a tiny
 * meson project builds libshmx as a subproject, the header compiles as
 * strict C99 and as C++, the shared library exports exactly the
 * symbols of src/libshmx.map, a CMake project finds the library both
 * through find_package(libshmx CONFIG) and through pkg_check_modules, and
 * the installed Python package imports and loads the installed library.
 *
 * Every step runs real tools (meson, ninja, cc, c++, pkg-config, readelf)
 * through /bin/sh; a failing step prints its command and output on stderr
 * (meson test --print-errorlogs shows it). Everything lives under one
 * mkdtemp directory in /tmp, removed by the group teardown. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* One command may configure and build the whole library on a loaded
 * 2-vCPU machine: generous, the meson timeout (600 s) is the real bound. */
#define CMD_TIMEOUT_MS (240 * 1000)
#define MAX_SYMS 256

static char tmp[64] = "/tmp/shmx-install-XXXXXX";
static char src[4096];
static char prefix[256];
static bool have_tmp, installed;
static const char *missing_tool;

struct sym {
	char name[128];
	char node[64];
};

/* ---- running commands ---- */

static int vsh(char **out, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static char *must(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run cmd with /bin/sh in tmp, stdout and stderr merged. pkg-config sees
 * only the installed prefix (PKG_CONFIG_LIBDIR), never the system's .pc
 * files, so nothing can be found by accident. */
static int vsh(char **out, const char *fmt, va_list ap)
{
	char cmd[8192], full[9216];
	char *argv[] = { "/bin/sh", "-c", full, NULL };
	struct tu_result res;
	int rc;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	snprintf(full, sizeof(full),
		 "exec 2>&1; cd '%s' || exit 125; "
		 "export PKG_CONFIG_LIBDIR='%s/lib/pkgconfig'; "
		 "unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH; %s",
		 tmp, prefix, cmd);
	rc = tu_run(argv, NULL, 0, CMD_TIMEOUT_MS, &res);
	if (rc < 0) {
		fprintf(stderr, "# could not run /bin/sh: %s\n", strerror(-rc));
		return -1;
	}
	rc = res.exit_code;
	if (rc != 0)
		fprintf(stderr, "# $ %s\n# exit %d%s, output:\n%s\n", cmd, rc,
			rc < 0 ? " (timed out)" : "", res.out);
	if (out)
		*out = res.out;
	else
		free(res.out);
	free(res.err);
	return rc;
}

/* Run a command that must succeed; its output (malloc'd) or NULL. */
static char *must(const char *what, const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;
	int rc;

	va_start(ap, fmt);
	rc = vsh(&out, fmt, ap);
	va_end(ap);
	if (rc != 0) {
		free(out);
		fail_msg("%s failed (exit %d): command and output on stderr", what, rc);
	}
	return out;
}

/* Run a command, print its output if it fails, return its exit code. */
static int vsh_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int vsh_ok(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(NULL, fmt, ap);
	va_end(ap);
	return rc;
}

static bool have_tool(const char *tool)
{
	char path[512];
	const char *p = getenv("PATH");

	while (p && *p) {
		size_t n = strcspn(p, ":");

		snprintf(path, sizeof(path), "%.*s/%s", (int)n, p, tool);
		if (access(path, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static void need_install(void)
{
	if (missing_tool)
		tu_skip("%s is not installed (scripts/common.sh installs it)",
			missing_tool);
	if (!installed)
		fail_msg("the install step (test 1) failed: nothing to check");
}

static bool exists(const char *fmt, ...)
{
	char path[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return access(path, F_OK) == 0;
}

static void expect_file(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail_msg("%s missing: %s (%s)", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		fail_msg("%s is not a non-empty file: %s", what, path);
}

/* ---- the version script ---- */

/* The global symbols of src/libshmx.map, each with its version node.
 * Understands what a version script here contains: "NODE {", "global:",
 * "local:", "sym;", "} [PARENT];" and '#' comments. */
static int read_map(struct sym *syms, int max)
{
	char path[4200], tok[64], node[64] = "";
	bool global = false;
	int n = 0, c, len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/src/libshmx.map", src);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	do {
		c = fgetc(f);
		if (c == '#') {
			while (c != EOF && c != '\n')
				c = fgetc(f);
		}
		if (c != EOF && !strchr(" \t\n{};:", c)) {
			if (len < (int)sizeof(tok) - 1)
				tok[len++] = (char)c;
			continue;
		}
		tok[len] = 0;
		if (len && c == ':') {
			global = !strcmp(tok, "global");
		} else if (len && !node[0]) {
			snprintf(node, sizeof(node), "%s", tok);
		} else if (len && global && strcmp(tok, "*")) {
			assert_true(n < max);
			snprintf(syms[n].name, sizeof(syms[n].name), "%s", tok);
			snprintf(syms[n].node, sizeof(syms[n].node), "%s", node);
			n++;
		}
		if (c == '}') {
			/* the node's closing: "} PARENT;" names no new node */
			node[0] = 0;
			global = false;
			while ((c = fgetc(f)) != EOF && c != ';')
				;
		}
		len = 0;
	} while (c != EOF);
	fclose(f);
	if (n == 0)
		fail_msg("no global symbol found in %s", path);
	return n;
}

/* ---- group set-up ---- */

static int group_setup(void **state)
{
	const char *s = getenv("SHMX_SOURCE_ROOT");

	if (tu_group_setup(state))
		return -1;
	if (!s || !*s) {
		fprintf(stderr, "# SHMX_SOURCE_ROOT is not set (run through meson test)\n");
		return -1;
	}
	snprintf(src, sizeof(src), "%s", s);
	if (!mkdtemp(tmp)) {
		fprintf(stderr, "# mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	have_tmp = true;
	snprintf(prefix, sizeof(prefix), "%s/prefix", tmp);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int group_teardown(void **state)
{
	int err = 0;

	if (have_tmp && nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		fprintf(stderr, "# could not remove %s: %s\n", tmp, strerror(errno));
		err = -1;
	}
	return tu_group_teardown(state) ? -1 : err;
}

static void need_tools(void)
{
	static const char *const tools[] = { "meson", "ninja", "cc", "c++",
					     "pkg-config", "readelf", "nm" };
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!have_tool(tools[i]))
			missing_tool = tools[i];
	if (missing_tool)
		tu_skip("%s is not installed (scripts/common.sh installs it)",
			missing_tool);
}

/* ---- 1: install ---- */

/* A build directory of our own, so the prefix is ours and the developer's
 * build tree (prefix /usr/local) is not touched. Tests and benches off:
 * only what is installed matters here. */
static void test_install(void **state)
{
	(void)state;
	need_tools();
	free(must("meson setup", "meson setup build '%s' --prefix='%s' --libdir=lib "
		  "--buildtype=plain -Dtests=false -Dbench=false -Dexamples=false",
		  src, prefix));
	free(must("meson install", "meson install -C build --quiet"));
	installed = true;
}

/* ---- 2: the installed tree ---- */

static void check_man_pages(const struct sym *syms, int n)
{
	char path[4096], target[4096], line[512];
	int i, missing = 0;

	for (i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/share/man/man3/%.127s.3", prefix,
			 syms[i].name);
		f = fopen(path, "r");
		if (!f) {
			fprintf(stderr, "# no man page for %s: %s\n", syms[i].name, path);
			missing++;
			continue;
		}
		/* An alias page is ".so man3/other.3": its target must be there. */
		if (fgets(line, sizeof(line), f) && !strncmp(line, ".so ", 4)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(target, sizeof(target), "%s/share/man/%s", prefix, line + 4);
			if (access(target, F_OK) < 0) {
				fprintf(stderr, "# %s points to missing %s\n", path, target);
				missing++;
			}
		}
		fclose(f);
	}
	if (missing)
		fail_msg("%d exported function(s) without an installed man page "
			 "(list on stderr)", missing);
	snprintf(path, sizeof(path), "%s/share/man/man7/shmx.7", prefix);
	expect_file("overview page", path);
	snprintf(path, sizeof(path), "%s/share/man/man1/shmx.1", prefix);
	expect_file("CLI page", path);
}

/* groff (groff-base, which man-db pulls in) reports troff mistakes with
 * -ww; without it there is nothing to render the pages with. */
static void check_man_render(void)
{
	char *out;

	if (!have_tool("groff")) {
		fprintf(stderr, "# groff absent: installed pages not rendered\n");
		return;
	}
	out = must("rendering the man pages",
		   "cd '%s/share/man' && for p in man*/*; do "
		   "w=$(groff -man -Tutf8 -ww -z \"$p\" 2>&1); "
		   "[ -z \"$w\" ] || { echo \"$p: $w\"; bad=1; }; done; exit ${bad:-0}",
		   prefix);
	free(out);
}

static void test_installed_tree(void **state)
{
	struct sym syms[MAX_SYMS];
	char path[4096], *out;
	int n;

	(void)state;
	need_install();
	snprintf(path, sizeof(path), "%s/include/shmx.h", prefix);
	expect_file("header", path);
	free(must("installed header equal to include/shmx.h", "cmp '%s' '%s/include/shmx.h'",
		  path, src));
	snprintf(path, sizeof(path), "%s/lib/libshmx.a", prefix);
	expect_file("static library", path);
	snprintf(path, sizeof(path), "%s/lib/libshmx.so.%s", prefix, SHMX_VERSION_STRING);
	expect_file("shared library", path);
	snprintf(path, sizeof(path), "%s/lib/libshmx.so.0", prefix);
	expect_file("soname link", path);
	snprintf(path, sizeof(path), "%s/lib/libshmx.so", prefix);
	expect_file("development link", path);
	out = must("reading the soname",
		   "readelf -d prefix/lib/libshmx.so | grep SONAME | grep -F '[libshmx.so.0]'");
	free(out);
	snprintf(path, sizeof(path), "%s/lib/pkgconfig/libshmx.pc", prefix);
	expect_file("pkg-config file", path);
	out = must("pkg-config --modversion", "pkg-config --modversion libshmx");
	if (strcmp(out, SHMX_VERSION_STRING "\n"))
		fail_msg("pkg-config says version '%s', the header " SHMX_VERSION_STRING, out);
	free(out);
	out = must("pkg-config --cflags --libs", "pkg-config --cflags --libs libshmx");
	snprintf(path, sizeof(path), "-I%s/include", prefix);
	if (!strstr(out, path) || !strstr(out, "-lshmx"))
		fail_msg("pkg-config --cflags --libs gives '%s'", out);
	free(out);

	/* The CLI is installed, and runs on the installed library. */
	snprintf(path, sizeof(path), "%s/bin/shmx", prefix);
	if (access(path, X_OK) < 0)
		fail_msg("%s is not installed", path);
	out = must("installed shmx --version",
		   "LD_LIBRARY_PATH='%s/lib' '%s' --version", prefix, path);
	if (!strstr(out, SHMX_VERSION_STRING))
		fail_msg("shmx --version printed '%s'", out);
	free(out);
	n = read_map(syms, MAX_SYMS);
	check_man_pages(syms, n);
	check_man_render();
}

/* ---- 3: a consumer built with pkg-config ---- */

static void run_consumer(const char *exe, const char *env)
{
	const char *name = tu_name();
	char *out;

	out = must("running the consumer", "%s ./%s '%s'", env, exe, name);
	if (strcmp(out, "OK\n"))
		fail_msg("consumer printed '%s', not OK", out);
	free(out);
	if (exists("/dev/shm%s", name))
		fail_msg("consumer left %s in /dev/shm", name);
}

static void test_consumer_shared(void **state)
{
	char *out;

	(void)state;
	need_install();
	free(must("building the consumer (shared)",
		  "cc -o consumer '%s/tests/consumer/consumer.c' "
		  "$(pkg-config --cflags --libs libshmx)", src));
	/* Really the installed library, not one from the system or the build
	 * tree: the dynamic loader must resolve it inside the prefix. */
	free(must("consumer needs libshmx.so.0",
		  "readelf -d consumer | grep NEEDED | grep -F '[libshmx.so.0]'"));
	out = must("ldd consumer", "LD_LIBRARY_PATH='%s/lib' ldd ./consumer", prefix);
	if (!strstr(out, "libshmx.so.0 => ") || !strstr(out, prefix))
		fail_msg("consumer does not load the installed libshmx.so.0:\n%s", out);
	free(out);
	{
		char env[512];

		snprintf(env, sizeof(env), "LD_LIBRARY_PATH='%s/lib'", prefix);
		run_consumer("consumer", env);
	}
}

/* The README's usage example compiles with the command in its first line
 * and runs (under a test name instead of "/hello"): the README stays true. */
static void test_readme_example(void **state)
{
	const char *name = tu_name();
	char *out;

	(void)state;
	need_install();
	free(must("extracting the README's C example",
		  "awk '/^```c$/{f=1;next} /^```$/{f=0} f' '%s/README.md' | "
		  "sed 's|\"/hello\"|\"%s\"|g' > readme-example.c && "
		  "grep -q shmx_create readme-example.c", src, name));
	free(must("building the README's example",
		  "cc -std=c11 -Wall -Wextra -Werror -o readme-example readme-example.c "
		  "$(pkg-config --cflags --libs libshmx)"));
	out = must("running the README's example",
		   "LD_LIBRARY_PATH='%s/lib' ./readme-example", prefix);
	free(out);
	if (exists("/dev/shm%s", name))
		fail_msg("the README's example left %s in /dev/shm", name);
}

/* pkg-config --static adds Libs.private (-lrt -pthread); -static makes the
 * linker take libshmx.a, and the binary must not need any libshmx.so. */
static void test_consumer_static(void **state)
{
	char *out;

	(void)state;
	need_install();
	if (!exists("/usr/lib/x86_64-linux-gnu/libc.a") && !exists("/usr/lib/libc.a") &&
	    !exists("/usr/lib64/libc.a"))
		tu_skip("no static libc (libc.a) to link a -static program with");
	free(must("building the consumer (-static)",
		  "cc -static -o consumer-static '%s/tests/consumer/consumer.c' "
		  "$(pkg-config --static --cflags --libs libshmx)", src));
	out = must("readelf -d consumer-static", "readelf -d consumer-static");
	if (strstr(out, "libshmx"))
		fail_msg("the -static consumer still needs a shared libshmx:\n%s", out);
	free(out);
	free(must("libshmx linked in", "nm consumer-static | grep -E ' T shmx_create$'"));
	run_consumer("consumer-static", "");
}

/* ---- 4: libshmx as a meson subproject ---- */

/* Subprojects must live inside the project: the demo is copied into tmp
 * and subprojects/libshmx is a symlink to this source tree. PKG_CONFIG_LIBDIR
 * points at the installed prefix, so if dependency('libshmx') ignored the
 * subproject's override it would find the installed .pc instead and the
 * demo would need libshmx.so.0: that is checked. */
static void test_subproject(void **state)
{
	const char *name = tu_name();
	char *out;

	(void)state;
	need_tools();
	free(must("preparing the demo project",
		  "mkdir -p demo/subprojects && cp '%s/tests/consumer/subproject-demo/'* demo/ "
		  "&& ln -s '%s' demo/subprojects/libshmx", src, src));
	free(must("meson setup (subproject demo)",
		  "meson setup demo-build demo --buildtype=plain"));
	free(must("building the subproject demo", "ninja -C demo-build"));
	if (!exists("%s/demo-build/subprojects/libshmx/src/libshmx.a", tmp))
		fail_msg("libshmx was not built as a subproject of the demo");
	out = must("readelf -d demo", "readelf -d demo-build/demo");
	if (strstr(out, "libshmx"))
		fail_msg("the demo links a libshmx.so, not the subproject's build:\n%s", out);
	free(out);
	out = must("running the demo", "./demo-build/demo '%s'", name);
	if (strcmp(out, "OK libshmx " SHMX_VERSION_STRING "\n"))
		fail_msg("demo printed '%s'", out);
	free(out);
	if (exists("/dev/shm%s", name))
		fail_msg("demo left %s in /dev/shm", name);
}

/* ---- 5: the header as strict C99 and as C++ ---- */

#define C99_CHECK "cc -std=c99 -pedantic -Werror -Wall -Wextra -o header-c99 " \
	"'%s/tests/header-check.c' $(pkg-config --cflags --libs libshmx)"

/* Strict C99 defines no POSIX feature-test macro, so <time.h> and friends
 * hide POSIX types: the header must bring what it uses by itself. */
static void test_header_c99(void **state)
{
	(void)state;
	need_install();
	if (vsh_ok(C99_CHECK, src) != 0) {
		if (vsh_ok(C99_CHECK " -D_POSIX_C_SOURCE=200809L", src) == 0)
			fail_msg("<shmx.h> fails as strict C99 but compiles with "
				 "-D_POSIX_C_SOURCE=200809L: it relies on a POSIX "
				 "declaration that strict C99 hides (output on stderr)");
		fail_msg("<shmx.h> does not compile as C99 -pedantic -Werror "
			 "(output on stderr)");
	}
	free(must("running the C99 header check",
		  "LD_LIBRARY_PATH='%s/lib' ./header-c99", prefix));
}

static void test_header_cxx(void **state)
{
	(void)state;
	need_install();
	free(must("<shmx.h> as C++11 -pedantic -Werror",
		  "c++ -std=c++11 -pedantic -Werror -Wall -Wextra -o header-cxx "
		  "'%s/tests/header-check.cc' $(pkg-config --cflags --libs libshmx)", src));
	free(must("running the C++ header check",
		  "LD_LIBRARY_PATH='%s/lib' ./header-cxx", prefix));
}

/* ---- 6: exported symbols == the version script ---- */

static int find_sym(const struct sym *syms, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(syms[i].name, name))
			return i;
	return -1;
}

static bool is_node(const struct sym *map, int nmap, const char *name)
{
	int i;

	for (i = 0; i < nmap; i++)
		if (!strcmp(map[i].node, name))
			return true;
	return false;
}

/* Every defined dynamic symbol of the installed libshmx.so, as
 * "name@@NODE" split in two. Each version node itself shows up as an
 * absolute symbol named after the node: not an export. */
static int read_exports(const struct sym *map, int nmap, struct sym *syms, int max)
{
	char *out, *line, *save = NULL;
	int n = 0;

	out = must("readelf --dyn-syms",
		   "readelf --dyn-syms -W prefix/lib/libshmx.so | "
		   "awk '$5 != \"LOCAL\" && $7 != \"UND\" && $8 != \"\" "
		   "{ print $7, $8 }'");
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ndx[32], full[128], *at;

		if (sscanf(line, "%31s %127s", ndx, full) != 2 || !strcmp(ndx, "Ndx"))
			continue;
		at = strchr(full, '@');
		if (at)
			*at++ = 0;
		if (!strcmp(ndx, "ABS") && is_node(map, nmap, full))
			continue;
		assert_true(n < max);
		syms[n].node[0] = 0;
		if (at)
			snprintf(syms[n].node, sizeof(syms[n].node), "%s",
				 at + (*at == '@'));
		snprintf(syms[n].name, sizeof(syms[n].name), "%s", full);
		n++;
	}
	free(out);
	return n;
}

static void test_symbols(void **state)
{
	struct sym want[MAX_SYMS], got[MAX_SYMS];
	int nwant, ngot, i, bad = 0;

	(void)state;
	need_install();
	nwant = read_map(want, MAX_SYMS);
	ngot = read_exports(want, nwant, got, MAX_SYMS);
	if (strcmp(want[0].node, "LIBSHMX_0.1")) {
		fprintf(stderr, "# the first version node is %s, not LIBSHMX_0.1\n",
			want[0].node);
		bad++;
	}
	for (i = 0; i < nwant; i++) {
		int j = find_sym(got, ngot, want[i].name);

		if (j < 0) {
			fprintf(stderr, "# missing: %s (in the map, not exported)\n",
				want[i].name);
			bad++;
		} else if (strcmp(got[j].node, want[i].node)) {
			fprintf(stderr, "# wrong version: %s@%s, the map says %s\n",
				got[j].name, got[j].node, want[i].node);
			bad++;
		}
	}
	for (i = 0; i < ngot; i++) {
		if (find_sym(want, nwant, got[i].name) < 0) {
			fprintf(stderr, "# extra: %s@%s (exported, not in the map)\n",
				got[i].name, got[i].node);
			bad++;
		}
	}
	if (bad)
		fail_msg("libshmx.so exports differ from src/libshmx.map in %d "
			 "place(s): list on stderr (%d in the map, %d exported)",
			 bad, nwant, ngot);
}

/* ---- 7: the other installed pieces ---- */

/* The CMake package, the bash completion and the systemd units are where
 * their consumers look, and the service runs the installed tool. */
static void test_installed_extras(void **state)
{
	static const char *const files[] = {
		"lib/cmake/libshmx/libshmxConfig.cmake",
		"lib/cmake/libshmx/libshmxConfigVersion.cmake",
		"share/bash-completion/completions/shmx",
		"lib/systemd/system/shmx-gc.service",
		"lib/systemd/system/shmx-gc.timer",
	};
	char path[4096];
	size_t i;

	(void)state;
	need_install();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", prefix, files[i]);
		expect_file("installed file", path);
	}
	free(must("the service runs the installed shmx",
		  "grep -q '^ExecStart=%s/bin/shmx gc --min-age ' "
		  "prefix/lib/systemd/system/shmx-gc.service", prefix));
}

/* ---- 8: a CMake consumer, both ways CMake finds a library ---- */

/* The consumer must load the installed library, as with pkg-config. The
 * package registry is off so only CMAKE_PREFIX_PATH can answer. Ninja, not
 * make: the build already needs ninja, and a minimal machine has no make. */
static void cmake_consumer(const char *via, const char *dir)
{
	char *out;

	need_install();
	if (!have_tool("cmake"))
		tu_skip("cmake is not installed (scripts/deps.sh test installs it)");
	free(must("cmake configure",
		  "cmake -G Ninja -S '%s/tests/consumer/cmake-demo' -B %s -DSHMX_VIA=%s "
		  "-DCMAKE_PREFIX_PATH='%s' -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF",
		  src, dir, via, prefix));
	free(must("cmake --build", "cmake --build %s", dir));
	out = must("ldd the CMake consumer",
		   "LD_LIBRARY_PATH='%s/lib' ldd %s/consumer", prefix, dir);
	if (!strstr(out, "libshmx.so.0 => ") || !strstr(out, prefix))
		fail_msg("the CMake consumer does not load the installed "
			 "libshmx.so.0:\n%s", out);
	free(out);
	{
		char exe[64], env[512];

		snprintf(exe, sizeof(exe), "%s/consumer", dir);
		snprintf(env, sizeof(env), "LD_LIBRARY_PATH='%s/lib'", prefix);
		run_consumer(exe, env);
	}
}

static void test_cmake_find_package(void **state)
{
	(void)state;
	cmake_consumer("config", "cmake-config");
}

static void test_cmake_pkg_check_modules(void **state)
{
	(void)state;
	cmake_consumer("pkg-config", "cmake-pkgconfig");
}

/* ---- 9: the Python binding ---- */

/* `import shmx` from the installed package, with no help from the
 * environment: it must load the library of its own prefix. */
static void test_python_imports_installed_library(void **state)
{
	char want[512], *out;

	(void)state;
	need_install();
	if (!have_tool("python3"))
		tu_skip("python3 is not installed: the binding is not installed either");
	out = must("importing the installed binding",
		   "f=$(find \"$PWD/prefix\" -path '*/shmx/__init__.py') && [ -n \"$f\" ] && "
		   "cd / && PYTHONPATH=\"$(dirname \"$(dirname \"$f\")\")\" python3 -c "
		   "'import shmx; print(shmx.version(), shmx._lib.lib._name)'");
	snprintf(want, sizeof(want), "%s %s/lib/libshmx.so.0\n", SHMX_VERSION_STRING,
		 prefix);
	if (strcmp(out, want))
		fail_msg("import shmx printed '%s', not '%s'", out, want);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install),
		cmocka_unit_test(test_installed_tree),
		cmocka_unit_test_teardown(test_consumer_shared, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_static, tu_teardown),
		cmocka_unit_test_teardown(test_readme_example, tu_teardown),
		cmocka_unit_test_teardown(test_subproject, tu_teardown),
		cmocka_unit_test(test_header_c99),
		cmocka_unit_test(test_header_cxx),
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_installed_extras),
		cmocka_unit_test_teardown(test_cmake_find_package, tu_teardown),
		cmocka_unit_test_teardown(test_cmake_pkg_check_modules, tu_teardown),
		cmocka_unit_test(test_python_imports_installed_library),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
