/* SPDX-License-Identifier: MIT */
/* The documents say what the tree is: the README's source layout names
 * exactly the files of src/ and tools/ (read now, as the tree is), its
 * CMake snippet asks for this version, its channel format is the one the
 * library writes; a pair is as many objects as the README, shmx(1) and
 * shmx(7) list; the example of shmx_pair_create_anon(3) compiles, runs,
 * and shows its output through a pipe without waiting out a timeout. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS 120000

/* A file of the source tree, whole, as a malloc'd string. */
static char *slurp_source(const char *rel)
{
	FILE *f = fopen(tu_source_path(rel), "r");
	char *s;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

/* ---- the README's source layout ---- */

struct names {
	char v[128][64];
	int n;
};

static bool has(const struct names *s, const char *x)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return true;
	return false;
}

static void add(struct names *s, const char *x, size_t len)
{
	assert_true(s->n < 128 && len < 64);
	memcpy(s->v[s->n], x, len);
	s->v[s->n][len] = 0;
	if (!has(s, s->v[s->n]))
		s->n++;
}

/* The files the Layout block names for dir ("src/"): the words ending in
 * .c, .h or .map on its line and on the indented lines under it. */
static void readme_names(const char *readme, const char *dir, struct names *out)
{
	char key[32];
	const char *p, *end, *w;

	snprintf(key, sizeof(key), "\n    %-19s", dir);
	p = strstr(strstr(readme, "## Layout"), key);
	assert_non_null(p);
	/* this line and its continuations (indented past the dir column) */
	end = p + 1;
	do
		end = strchr(end + 1, '\n');
	while (end && !strncmp(end, "\n                       ", 24));
	out->n = 0;
	for (w = p + strlen(key); w < end; w++) {
		size_t len = strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789_-.");

		if (len > 2 && (!strncmp(w + len - 2, ".c", 2) || !strncmp(w + len - 2, ".h", 2) ||
				(len > 4 && !strncmp(w + len - 4, ".map", 4))))
			add(out, w, w[len - 1] == '.' ? len - 1 : len);
		w += len;
	}
}

static void tree_names(const char *dir, struct names *out)
{
	struct dirent *de;
	DIR *d = opendir(tu_source_path(dir));

	assert_non_null(d);
	out->n = 0;
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');

		if (dot && (!strcmp(dot, ".c") || !strcmp(dot, ".h") || !strcmp(dot, ".map")))
			add(out, de->d_name, strlen(de->d_name));
	}
	closedir(d);
}

static void layout_matches(const char *readme, const char *dir)
{
	struct names doc, tree;
	int missing = 0, gone = 0;

	readme_names(readme, dir, &doc);
	tree_names(dir, &tree);
	for (int i = 0; i < tree.n; i++)
		if (!has(&doc, tree.v[i]) && ++missing)
			print_message("# README's layout omits %s%s\n", dir, tree.v[i]);
	for (int i = 0; i < doc.n; i++)
		if (!has(&tree, doc.v[i]) && ++gone)
			print_message("# README's layout names %s%s, which is not there\n", dir,
				      doc.v[i]);
	assert_int_equal(missing + gone, 0);
}

static void test_readme_layout_names_the_files_of_src_and_tools(void **state)
{
	char *readme = slurp_source("README.md");

	(void)state;
	layout_matches(readme, "src/");
	layout_matches(readme, "tools/");
	free(readme);
}

/* ---- versions ---- */

static void test_readme_asks_cmake_for_this_version(void **state)
{
	char *readme = slurp_source("README.md"), want[64];

	(void)state;
	snprintf(want, sizeof(want), "find_package(libshmx %d.%d CONFIG REQUIRED)",
		 SHMX_VERSION_MAJOR, SHMX_VERSION_MINOR);
	if (!strstr(readme, want))
		print_message("# README lacks: %s\n", want);
	assert_non_null(strstr(readme, want));
	free(readme);
}

static void test_readme_names_the_channel_format_written(void **state)
{
	char *readme = slurp_source("README.md"), *fmt = slurp_source("docs/channel-format.md");
	const char *name = tu_name();
	struct shmx_chan_info ci;
	struct shmx_chan *c;
	char want[64];

	(void)state;
	assert_int_equal(shmx_chan_create(name, 4096, SHMX_CHAN_PRODUCER, 0600, &c), 0);
	assert_int_equal(shmx_chan_stat(name, &ci), 0);
	shmx_chan_close(c);
	snprintf(want, sizeof(want), "format (ABI version %u)", ci.abi);
	assert_non_null(strstr(readme, want));
	snprintf(want, sizeof(want), "# libshmx channel format, ABI version %u\n", ci.abi);
	assert_non_null(strstr(fmt, want));
	free(readme);
	free(fmt);
}

/* ---- a pair's objects ---- */

/* Each file a pair is made of, as /dev/shm shows it, is named (by its
 * suffix, troff's "\-" for "-") in the README, shmx(1) and shmx(7). */
static void test_docs_list_every_object_of_a_pair(void **state)
{
	static const char *const docs[] = { "README.md", "docs/man/shmx.1", "docs/man/shmx.7" };
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	char prefix[80], suffix[80], troff[160];
	struct dirent *de;
	int objects = 0, bad = 0;
	DIR *d;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, 0, 0600, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p), 0);
	d = opendir("/dev/shm");
	assert_non_null(d);
	while ((de = readdir(d))) {
		const char *base = strstr(de->d_name, name + 1);

		if (!base || (strcmp(base, name + 1) && strncmp(base + strlen(name + 1), ".", 1)))
			continue;
		objects++;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(base - de->d_name), de->d_name);
		snprintf(suffix, sizeof(suffix), "%s", base + strlen(name + 1));
		for (size_t i = 0; suffix[0] && i < sizeof(docs) / sizeof(docs[0]); i++) {
			char *text = slurp_source(docs[i]);
			size_t k = 0;

			for (const char *s = suffix; *s && k < sizeof(troff) - 3; s++) {
				if (*s == '-')
					troff[k++] = '\\';
				troff[k++] = *s;
			}
			troff[k] = 0;
			if (!strstr(text, suffix) && !strstr(text, troff) && ++bad)
				print_message("# %s does not name a pair's %s%s\n", docs[i], prefix,
					      suffix);
			free(text);
		}
	}
	closedir(d);
	shmx_pair_close(p);
	shmx_close(r);
	shmx_pair_unlink(name);
	shmx_unlink(name);
	print_message("# a pair is %d objects in /dev/shm\n", objects);
	assert_int_equal(objects, 4);
	assert_int_equal(bad, 0);
}

/* ---- the example of shmx_pair_create_anon(3) ---- */

/* The .EX block of a man page as C: troff's escapes undone. */
static void man_example(const char *page, const char *out)
{
	char *text = slurp_source(page), *ex, *ee;
	FILE *f = fopen(out, "w");

	assert_non_null(f);
	ex = strstr(text, "\n.EX\n");
	assert_non_null(ex);
	ex += 5;
	ee = strstr(ex, "\n.EE\n");
	assert_non_null(ee);
	for (const char *s = ex; s <= ee; s++) {
		if (s[0] == '\\' && s[1] == '-') {
			fputc('-', f);
			s++;
		} else if (s[0] == '\\' && s[1] == 'e') {
			fputc('\\', f);
			s++;
		} else if (!strncmp(s, "\\(aq", 4)) {
			fputc('\'', f);
			s += 3;
		} else {
			fputc(*s, f);
		}
	}
	fclose(f);
	free(text);
}

static void test_pair_create_anon_example_runs_through_a_pipe(void **state)
{
	char src[64], exe[64], cmd[1024];
	char *argv[] = { exe, NULL };
	const char *san;
	struct tu_result res = { 0 };
	int64_t start;

	(void)state;
	snprintf(src, sizeof(src), "/tmp/" TU_PREFIX "%d-chat.c", (int)getpid());
	snprintf(exe, sizeof(exe), "/tmp/" TU_PREFIX "%d-chat", (int)getpid());
	man_example("docs/man/shmx_pair_create_anon.3", src);
	/* A library built with the sanitizers needs them in the program too
	 * (their runtime must come first). */
	snprintf(cmd, sizeof(cmd), "ldd '%s' | grep -q libasan", tu_build_path("src/libshmx.so"));
	san = system(cmd) == 0 ? "-fsanitize=address,undefined" : "";
	snprintf(cmd, sizeof(cmd), "cc -std=c11 -Wall -Werror %s -I'%s' '%s' -o '%s' '%s' "
		 "-Wl,-rpath,'%s'", san, tu_source_path("include"), src, exe,
		 tu_build_path("src/libshmx.so"), tu_build_path("src"));
	if (system(cmd) != 0) {
		unlink(src);
		fail_msg("the example does not compile: %s", cmd);
	}
	start = tu_now_ms();
	/* its stdout is a pipe (tu_run), not a terminal */
	assert_int_equal(tu_run(argv, NULL, 0, RUN_MS, &res), 0);
	print_message("# the example ran %lld ms\n", (long long)(tu_now_ms() - start));
	unlink(src);
	unlink(exe);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.out, "line 0\nline 1\nline 2\n");
	/* its waits are 5 s: a run that long waited one out */
	assert_true(tu_now_ms() - start < 5000);
	tu_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_layout_names_the_files_of_src_and_tools),
		cmocka_unit_test(test_readme_asks_cmake_for_this_version),
		cmocka_unit_test_teardown(test_readme_names_the_channel_format_written,
					  tu_teardown),
		cmocka_unit_test_teardown(test_docs_list_every_object_of_a_pair, tu_teardown),
		cmocka_unit_test(test_pair_create_anon_example_runs_through_a_pipe),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
