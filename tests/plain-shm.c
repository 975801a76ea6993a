/* SPDX-License-Identifier: MIT */
/*
 * The classic shm_open/ftruncate/mmap program, with no libshmx in it: the
 * interop tests check that libshmx and shmx agree with it byte for byte.
 *
 *   plain-shm write NAME SIZE < DATA   create NAME (O_EXCL, 0600), SIZE bytes,
 *                                      copy stdin to its start
 *   plain-shm read NAME                copy the whole object to stdout
 *   plain-shm unlink NAME
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "plain-shm: %s %s: %s\n", what, name, strerror(errno));
	return 1;
}

static int do_write(const char *name, const char *size_arg)
{
	char *end, *p;
	size_t size, off = 0;
	ssize_t n;
	int fd;

	errno = 0;
	size = strtoull(size_arg, &end, 10);
	if (errno || *end || size == 0) {
		fprintf(stderr, "plain-shm: bad size '%s'\n", size_arg);
		return 2;
	}
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0)
		return fail("shm_open", name);
	if (ftruncate(fd, (off_t)size) < 0)
		return fail("ftruncate", name);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap", name);
	while (off < size && (n = read(0, p + off, size - off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read stdin for", name);
		off += (size_t)n;
	}
	munmap(p, size);
	close(fd);
	return 0;
}

static int do_read(const char *name)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	char *p;
	int fd;

	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return fail("shm_open", name);
	if (fstat(fd, &st) < 0)
		return fail("fstat", name);
	if (st.st_size == 0)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap", name);
	while (off < (size_t)st.st_size) {
		n = write(1, p + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("write stdout for", name);
		off += (size_t)n;
	}
	munmap(p, (size_t)st.st_size);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "read"))
		return do_read(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "unlink"))
		return shm_unlink(argv[2]) < 0 ? fail("shm_unlink", argv[2]) : 0;
	fprintf(stderr, "usage: plain-shm write NAME SIZE < DATA | read NAME | unlink NAME\n");
	return 2;
}
