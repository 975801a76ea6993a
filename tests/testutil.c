/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

#define MAX_NAMES 4096

static char *names[MAX_NAMES];
static int n_names;
static unsigned counter;

const char *tu_name(void)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "/" TU_PREFIX "%d-%u", (int)getpid(), counter++);
	assert_true(n_names < MAX_NAMES);
	names[n_names] = strdup(buf);
	assert_non_null(names[n_names]);
	return names[n_names++];
}

static int unlink_derived(const char *name)
{
	static const char *const sem_suffix[] = { ".shmx-w", ".shmx-r" };
	char buf[512];
	int found = 0;
	size_t i;

	found += shm_unlink(name) == 0;
	for (i = 0; i < sizeof(sem_suffix) / sizeof(sem_suffix[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", name, sem_suffix[i]);
		found += sem_unlink(buf) == 0;
	}
	/* the pair's control object */
	snprintf(buf, sizeof(buf), "%s.shmx-p", name);
	found += shm_unlink(buf) == 0;
	return found;
}

int tu_cleanup(void)
{
	int found = 0;

	while (n_names > 0) {
		n_names--;
		found += unlink_derived(names[n_names]);
		free(names[n_names]);
		names[n_names] = NULL;
	}
	return found;
}

int tu_devshm_count(const char *prefix)
{
	struct dirent *de;
	size_t plen = strlen(prefix);
	int n = 0;
	DIR *d;

	d = opendir("/dev/shm");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *s = de->d_name;

		if (!strcmp(s, ".") || !strcmp(s, ".."))
			continue;
		if (!strncmp(s, "sem.", 4) && strncmp(prefix, "sem.", 4))
			s += 4;
		n += !strncmp(s, prefix, plen);
	}
	closedir(d);
	return n;
}

static bool lexists(const char *dir_prefix, const char *name, const char *suffix)
{
	char path[1024];
	struct stat st;

	if (name[0] == '/')
		name++;
	snprintf(path, sizeof(path), "/dev/shm/%s%s%s", dir_prefix, name, suffix);
	return lstat(path, &st) == 0;
}

bool tu_exists(const char *name)
{
	return lexists("", name, "");
}

bool tu_sem_exists(const char *name, const char *suffix)
{
	return lexists("sem.", name, suffix);
}

int tu_count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* the directory's own descriptor */
}

void tu_print_lines(const char *label, const char *text)
{
	const char *nl;

	print_message("# %s:\n", label);
	for (; *text; text = nl + 1) {
		nl = strchr(text, '\n');
		if (!nl) {
			print_message("#   %s\n", text);
			break;
		}
		print_message("#   %.*s\n", (int)(nl - text), text);
	}
}

static char my_prefix[64];

int tu_group_setup(void **state)
{
	(void)state;
	snprintf(my_prefix, sizeof(my_prefix), TU_PREFIX "%d-", (int)getpid());
	return tu_devshm_count(my_prefix) == 0 ? 0 : -1;
}

int tu_group_teardown(void **state)
{
	int left;

	(void)state;
	tu_cleanup();
	left = tu_devshm_count(my_prefix);
	if (left) {
		fprintf(stderr, "# %d objects of this test left in /dev/shm\n", left);
		return -1;
	}
	return 0;
}

int tu_teardown(void **state)
{
	(void)state;
	tu_cleanup();
	return 0;
}

static const char *root_path(const char *var, const char *fallback, const char *rel)
{
	static char buf[8][4096];
	static int next;
	const char *root = getenv(var);
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", root ? root : fallback, rel);
	return b;
}

const char *tu_build_path(const char *rel)
{
	return root_path("SHMX_BUILD_ROOT", ".", rel);
}

const char *tu_source_path(const char *rel)
{
	return root_path("SHMX_SOURCE_ROOT", "..", rel);
}

int64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tu_waitpid(pid_t pid, int timeout_ms, int *status)
{
	int64_t end = tu_now_ms() + timeout_ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (tu_now_ms() >= end)
			break;
		usleep(2000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

static int pipe_or_null(int p[2], int is_input)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	(void)is_input;
	return 0;
}

pid_t tu_spawn(char *const argv[], int *in, int *out, int *err)
{
	int pi[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	if ((in && pipe_or_null(pi, 1)) || (out && pipe_or_null(po, 0)) ||
	    (err && pipe_or_null(pe, 0)))
		return -1;
	posix_spawn_file_actions_init(&fa);
	if (in)
		posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out)
		posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (err)
		posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (in) {
		close(pi[0]);
		*in = pi[1];
	}
	if (out) {
		close(po[1]);
		*out = po[0];
	}
	if (err) {
		close(pe[1]);
		*err = pe[0];
	}
	if (rc) {
		errno = rc;
		return -1;
	}
	return pid;
}

static void append(char **buf, size_t *len, size_t *cap, const char *d, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	memcpy(*buf + *len, d, n);
	*len += n;
	(*buf)[*len] = 0;
}

int tu_run(char *const argv[], const void *in, size_t in_len, int timeout_ms,
	   struct tu_result *res)
{
	int fin, fout, ferr, open_fds = 2, rc;
	size_t in_off = 0, ocap = 0, ecap = 0;
	int64_t end = tu_now_ms() + timeout_ms;
	char buf[65536];
	pid_t pid;

	memset(res, 0, sizeof(*res));
	signal(SIGPIPE, SIG_IGN);
	pid = tu_spawn(argv, &fin, &fout, &ferr);
	if (pid < 0)
		return -errno;
	append(&res->out, &res->out_len, &ocap, "", 0);
	append(&res->err, &res->err_len, &ecap, "", 0);
	fcntl(fin, F_SETFL, O_NONBLOCK);
	if (!in || in_len == 0) {
		close(fin);
		fin = -1;
	}
	while (open_fds > 0 && tu_now_ms() < end) {
		struct pollfd p[3] = {
			{ .fd = fout, .events = POLLIN },
			{ .fd = ferr, .events = POLLIN },
			{ .fd = fin, .events = POLLOUT },
		};
		if (poll(p, 3, 50) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0 && i == 0)
				append(&res->out, &res->out_len, &ocap, buf, (size_t)n);
			else if (n > 0)
				append(&res->err, &res->err_len, &ecap, buf, (size_t)n);
			else if (n == 0) {
				if (i == 0)
					fout = -1;
				else
					ferr = -1;
				close(p[i].fd);
				open_fds--;
			}
		}
		if (fin >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = write(fin, (const char *)in + in_off, in_len - in_off);
			if (n > 0)
				in_off += (size_t)n;
			if (n < 0 || in_off == in_len) {
				close(fin);
				fin = -1;
			}
		}
	}
	if (fin >= 0)
		close(fin);
	if (fout >= 0)
		close(fout);
	if (ferr >= 0)
		close(ferr);
	rc = tu_waitpid(pid, (int)(end > tu_now_ms() ? end - tu_now_ms() : 1), &res->status);
	if (rc == -ETIMEDOUT)
		res->exit_code = -1;
	else if (WIFEXITED(res->status))
		res->exit_code = WEXITSTATUS(res->status);
	else if (WIFSIGNALED(res->status))
		res->exit_code = 128 + WTERMSIG(res->status);
	return 0;
}

void tu_result_free(struct tu_result *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

static bool run_ok(char *const argv[])
{
	struct tu_result r;
	bool ok;

	if (access(argv[0], X_OK) != 0)
		return false;
	if (tu_run(argv, NULL, 0, 20000, &r) < 0)
		return false;
	ok = r.exit_code == 0;
	tu_result_free(&r);
	return ok;
}

bool tu_can_drop_privileges(void)
{
	char *argv[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
			 "--clear-groups", "/bin/true", NULL };

	return geteuid() == 0 && run_ok(argv);
}

bool tu_have_python(void)
{
	char *argv[] = { "/usr/bin/env", "python3", "-c",
			 "import multiprocessing.shared_memory", NULL };

	return run_ok(argv);
}
