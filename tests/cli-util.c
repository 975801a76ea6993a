/* SPDX-License-Identifier: MIT */
/* What the shmx tool tests share (cli-util.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS 30000
#define MAX_ARGS 32

struct tu_result R;
char extra_sem[4][300], extra_shm[4][300];
int sysv_id = -1;

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

int shmx_in(const void *in, size_t in_len, ...)
{
	va_list ap;
	int rc;

	va_start(ap, in_len);
	rc = run_v(NULL, tu_build_path("tools/shmx"), in, in_len, ap);
	va_end(ap);
	return rc;
}

static const char *const as_nobody[] = {
	"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NULL,
};

const char *nobody_shmx;

int shmx_nobody_in(const void *in, size_t in_len, ...)
{
	va_list ap;
	int rc;

	assert_non_null(nobody_shmx);
	va_start(ap, in_len);
	rc = run_v(as_nobody, nobody_shmx, in, in_len, ap);
	va_end(ap);
	return rc;
}

void dump_result(void)
{
	print_message("# exit %d\n", R.exit_code);
	tu_print_lines("stdout", R.out);
	tu_print_lines("stderr", R.err);
}

void make_region(const char *name, size_t size, const void *data, size_t len)
{
	struct shmx_region *r;

	assert_int_equal(shmx_create(name, size, 0, 0600, &r), 0);
	if (len)
		assert_int_equal(shmx_write(r, 0, data, len), (ssize_t)len);
	shmx_close(r);
}

void read_region(const char *name, void *buf, size_t len)
{
	struct shmx_region *r;

	assert_int_equal(shmx_open(name, SHMX_RDONLY, &r), 0);
	assert_int_equal(shmx_read(r, 0, buf, len), (ssize_t)len);
	shmx_close(r);
}

void make_sem(const char *name)
{
	tu_sem_make(name);
}

/* A pair libshmx made whose region was removed since: its control object
 * and semaphores are orphans that shmx gc can verify as libshmx's. */
void make_orphan_pair(const char *name)
{
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;

	assert_int_equal(shmx_create(name, 4096, 0, 0600, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p), 0);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
}

void remember(char slot[4][300], const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (!slot[i][0]) {
			snprintf(slot[i], 300, "%s", name);
			return;
		}
	}
	fail_msg("too many extra names");
}

void pattern(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 3);
}

void check_created(const char *name, uint64_t size, mode_t mode)
{
	struct shmx_info info;

	assert_int_equal(shmx_stat(name, &info), 0);
	assert_int_equal(info.size, size);
	assert_int_equal(info.mode, mode);
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
	if (!p) {               /* a planted symlink: NAME -> TARGET */
		snprintf(key, sizeof(key), " %s -> ", name);
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

/* Columns are compared, not their padding, which depends on whatever else
 * is in /dev/shm. */
void assert_ls(const char *name, const char *kind, const char *state,
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

int cli_teardown(void **state)
{
	for (int i = 0; i < 4; i++) {
		if (extra_sem[i][0])
			tu_sem_unlink(extra_sem[i]);
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
