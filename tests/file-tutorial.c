/* SPDX-License-Identifier: MIT */
/*
 * The classic memory-mapped file program, with no libshmx in it: open +
 * ftruncate + mmap of an array of structs, msync before munmap. The
 * interop tests check that libshmx and it exchange data both ways.
 *
 *   file-tutorial write PATH N SEED
 *       creates (or truncates) PATH, sized for N records, fills them
 *   file-tutorial read PATH N SEED
 *       maps PATH read-only and checks the N records; exit 1 on a mismatch
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "records.h"

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static int do_write(const char *path, int n, int seed)
{
	size_t len = (size_t)n * sizeof(struct record);
	struct record *recs;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("open");
	if (ftruncate(fd, (off_t)len) < 0)
		return fail("ftruncate");
	recs = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (recs == MAP_FAILED)
		return fail("mmap");
	close(fd);
	for (int i = 0; i < n; i++)
		record_fill(&recs[i], i, seed);
	if (msync(recs, len, MS_SYNC) < 0)
		return fail("msync");
	munmap(recs, len);
	return 0;
}

static int do_read(const char *path, int n, int seed)
{
	size_t len = (size_t)n * sizeof(struct record);
	struct record *recs;
	struct stat st;
	int fd, bad = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("open");
	if (fstat(fd, &st) < 0)
		return fail("fstat");
	if ((size_t)st.st_size < len) {
		fprintf(stderr, "file-tutorial: %s has %lld bytes, want %zu\n", path,
			(long long)st.st_size, len);
		return 1;
	}
	recs = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (recs == MAP_FAILED)
		return fail("mmap");
	close(fd);
	for (int i = 0; i < n; i++)
		if (!record_ok(&recs[i], i, seed))
			bad++;
	munmap(recs, len);
	if (bad)
		fprintf(stderr, "file-tutorial: %d records differ\n", bad);
	else
		printf("%d records ok\n", n);
	return bad != 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: file-tutorial write|read PATH N SEED\n");
		return 2;
	}
	if (!strcmp(argv[1], "write"))
		return do_write(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (!strcmp(argv[1], "read"))
		return do_read(argv[2], atoi(argv[3]), atoi(argv[4]));
	return 2;
}
