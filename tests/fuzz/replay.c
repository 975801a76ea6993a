/* SPDX-License-Identifier: MIT */
/* Replays a fuzz corpus through a target, without libFuzzer: one TAP line
 * per file. A crash or a broken invariant aborts, which fails the test. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
	unsigned char *buf;
	size_t n;
	long len;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len > 0 ? (size_t)len : 1);
	n = buf ? fread(buf, 1, (size_t)len, f) : 0;
	fclose(f);
	if (!buf || n != (size_t)len) {
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	char **names = NULL, path[4096];
	size_t n = 0, i;
	struct dirent *de;
	int failed = 0;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			names = realloc(names, (n + 1) * sizeof(*names));
			names[n++] = strdup(de->d_name);
		}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		fflush(stdout);
		if (run_file(path) == 0) {
			printf("ok %zu - %s\n", i + 1, names[i]);
		} else {
			printf("not ok %zu - %s (unreadable)\n", i + 1, names[i]);
			failed = 1;
		}
		free(names[i]);
	}
	free(names);
	return failed;
}
