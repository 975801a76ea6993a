/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
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

void tu_sem_make(const char *name)
{
#ifdef __GLIBC__
	sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);

	assert_true(s != SEM_FAILED);
	sem_close(s);
#else
	char path[512];
	sem_t s;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/sem.%s", name + 1);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(sem_init(&s, 1, 0), 0);
	assert_int_equal(write(fd, &s, sizeof(s)), sizeof(s));
	close(fd);
#endif
}

int tu_sem_unlink(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "/dev/shm/sem.%s", name + 1);
	return unlink(path) == 0 ? 0 : -errno;
}

static int unlink_derived(const char *name)
{
	static const char *const sem_suffix[] = { ".shmx-w", ".shmx-r" };
	char buf[512];
	int found = 0;
	size_t i;

	found += shm_unlink(name) == 0;
	/* The pair's semaphores are files in glibc's layout whichever the
	 * C library (src/pair-objects.c); musl's sem_unlink() would look for
	 * /dev/shm/NAME, not /dev/shm/sem.NAME. */
	for (i = 0; i < sizeof(sem_suffix) / sizeof(sem_suffix[0]); i++) {
		snprintf(buf, sizeof(buf), "/dev/shm/sem.%s%s", name + 1, sem_suffix[i]);
		found += unlink(buf) == 0;
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

const char *tu_shm_path(const char *name)
{
	static char buf[4][PATH_MAX];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, PATH_MAX, "/dev/shm%s", name);
	return b;
}

void tu_pattern(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 31 + (i >> 8));
}

void tu_devshm_path(char *buf, size_t len, const char *fmt, const char *name)
{
	const char *hole = strstr(fmt, "%s");

	snprintf(buf, len, "%.*s%s%s", (int)(hole - fmt), fmt, name + 1, hole + 2);
}

mode_t tu_devshm_mode(const char *fmt, const char *name)
{
	char path[600];
	struct stat st;

	tu_devshm_path(path, sizeof(path), fmt, name);
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

bool tu_exists(const char *name)
{
	return lexists("", name, "");
}

bool tu_sem_exists(const char *name, const char *suffix)
{
	return lexists("sem.", name, suffix);
}

static int rm_below(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	if (f->level > 0)
		remove(path);
	return 0;
}

void tu_empty_dir(const char *dir)
{
	nftw(dir, rm_below, 16, FTW_DEPTH | FTW_PHYS);
}

/* Without opendir(), which allocates: a test counts under RLIMIT_AS = 0,
 * where musl's malloc gets no memory. */
int tu_count_fds(void)
{
	/* struct linux_dirent64 */
	struct ent {
		uint64_t ino;
		int64_t off;
		unsigned short reclen;
		unsigned char type;
		char name[];
	};
	_Alignas(8) char buf[4096];
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n = 0;
	long len;

	if (fd < 0)
		return -1;
	while ((len = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < len;) {
			const struct ent *e = (const void *)(buf + off);

			n += e->name[0] != '.';
			off += e->reclen;
		}
	}
	close(fd);
	return len < 0 ? -1 : n - 1;   /* the directory's own descriptor */
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
static void remove_copies(void);

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
	remove_copies();
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

/* ---- children ---- */

pid_t tu_fork(void)
{
	/* cmocka's handlers, and ASan's/UBSan's, would report a child's crash
	 * as the parent's test failing, or hide the death a test expects. */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
				     SIGSYS, SIGALRM };
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
	return pid;
}

int tu_child_verdict(pid_t pid, int timeout_ms, int *code)
{
	int status, c;

	if (tu_waitpid(pid, timeout_ms, &status))
		c = TU_TIMED_OUT;
	else if (WIFSIGNALED(status))
		c = 128 + WTERMSIG(status);
	else
		c = WEXITSTATUS(status);
	if (code)
		*code = c;
	if (c == 0)
		return 0;
	if (c == TU_TIMED_OUT)
		print_message("# child %d: still running after %d ms (killed)\n", (int)pid,
			      timeout_ms);
	else if (c > 128)
		print_message("# child %d: died of signal %d (%s)\n", (int)pid, c - 128,
			      strsignal(c - 128));
	else if (c == TU_SKIP_CODE)
		print_message("# child %d: skipped (its reason is above)\n", (int)pid);
	else
		print_message("# child %d: exited %d (its message is above)\n", (int)pid, c);
	return -1;
}

void tu_kill9(pid_t pid, int timeout_ms)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, timeout_ms, &status), 0);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("child %d ended before the SIGKILL (status 0x%x)", (int)pid, status);
}

/* ---- children stopped at a chosen step ---- */

static int stall_step;
static int stall_fd = -1;

void tu_stall(int step)
{
	if (step == 0 || step != stall_step)
		return;
	tu_ready_forever(stall_fd);
}

void tu_ready_forever(int ready_fd)
{
	/* Not past the test program, if a failed test never kills it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	tu_ev_post(ready_fd);
	for (;;)
		pause();
}

pid_t tu_fork_stalled(int step, void (*fn)(void *arg, int ready_fd), void *arg,
		      int timeout_ms)
{
	int ev[2];
	pid_t pid;

	tu_ev_init(ev);
	pid = tu_fork();
	if (pid == 0) {
		close(ev[0]);
		stall_step = step;
		stall_fd = ev[1];
		fn(arg, ev[1]);
		_exit(3);       /* fn stalls or waits: it never comes back */
	}
	close(ev[1]);
	if (!tu_ev_wait(ev[0], timeout_ms)) {
		close(ev[0]);
		tu_child_verdict(pid, 1, NULL);
		fail_msg("child %d did not reach step %d in %d ms", (int)pid, step,
			 timeout_ms);
	}
	close(ev[0]);
	return pid;
}

#ifdef __GLIBC__
static const char *errno_name(int e)
{
	return strerrorname_np(e);
}
#else
/* strerrorname_np() is glibc's (2.32): musl's programs get the names of
 * <errno.h> from this table, each number under the name glibc gives it
 * (EAGAIN, not EWOULDBLOCK). */
static const char *errno_name(int e)
{
#define E(x) { x, #x }
	static const struct { int e; const char *name; } t[] = {
		E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
		E(E2BIG), E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN),
		E(ENOMEM), E(EACCES), E(EFAULT), E(ENOTBLK), E(EBUSY),
		E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR),
		E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY),
		E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE),
		E(EDOM), E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOLCK),
		E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(ENOMSG), E(EIDRM),
		E(ENOSTR), E(ENODATA), E(ETIME), E(ENOSR), E(ENOLINK),
		E(EPROTO), E(EBADMSG), E(EOVERFLOW), E(EILSEQ), E(EUSERS),
		E(ENOTSOCK), E(EDESTADDRREQ), E(EMSGSIZE), E(EPROTOTYPE),
		E(ENOPROTOOPT), E(EPROTONOSUPPORT), E(EOPNOTSUPP),
		E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL), E(ENETDOWN),
		E(ENETUNREACH), E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS),
		E(EISCONN), E(ENOTCONN), E(ETIMEDOUT), E(ECONNREFUSED),
		E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS), E(ESTALE),
		E(EDQUOT), E(ECANCELED), E(EOWNERDEAD), E(ENOTRECOVERABLE),
		E(ERFKILL), E(EHWPOISON), E(ENOMEDIUM), E(EMEDIUMTYPE),
		E(EKEYEXPIRED), E(EKEYREVOKED), E(EKEYREJECTED), E(ENOKEY),
		E(EREMOTEIO), E(EBADFD), E(EBADE), E(EBADR), E(EXFULL),
		E(ENOANO), E(EBADRQC), E(EBADSLT), E(ECHRNG), E(EL2NSYNC),
		E(EL3HLT), E(EL3RST), E(ELNRNG), E(EUNATCH), E(ENOCSI),
		E(EL2HLT), E(EBFONT), E(ENONET), E(ENOPKG), E(EREMOTE),
		E(EADV), E(ESRMNT), E(ECOMM), E(EDOTDOT), E(ENOTUNIQ),
		E(ELIBACC), E(ELIBBAD), E(ELIBSCN), E(ELIBMAX), E(ELIBEXEC),
		E(ERESTART), E(ESTRPIPE), E(EUCLEAN), E(ENOTNAM), E(ENAVAIL),
		E(EISNAM), E(ESOCKTNOSUPPORT), E(EPFNOSUPPORT), E(ESHUTDOWN),
		E(ETOOMANYREFS), E(EHOSTDOWN), E(EMULTIHOP),
	};
#undef E

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].name;
	return NULL;
}
#endif

const char *tu_errname(long v)
{
	const char *s = v < 0 && v > -4096 ? errno_name((int)-v) : NULL;

	return s ? s : "";
}

void tu_child_fail(const char *file, int line, const char *what, long got, long want,
		   bool eq)
{
	const char *base = strrchr(file, '/');
	int e = errno;

	base = base ? base + 1 : file;
	if (eq)
		fprintf(stderr, "# child %d, %s:%d: %s = %ld %s, expected %ld %s\n",
			(int)getpid(), base, line, what, got, tu_errname(got), want,
			tu_errname(want));
	else
		fprintf(stderr, "# child %d, %s:%d: %s (errno %s)\n", (int)getpid(), base,
			line, what, e ? tu_errname(-e) : "0");
	_exit(1);
}

void tu_child_skip(const char *why)
{
	fprintf(stderr, "# SKIP: %s\n", why);
	_exit(TU_SKIP_CODE);
}

void tu_ev_init(int ev[2])
{
	assert_int_equal(pipe2(ev, O_CLOEXEC), 0);
}

void tu_ev_post(int fd)
{
	char c = 1;

	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

bool tu_ev_wait(int fd, int ms)
{
	int64_t end = tu_now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	while (tu_now_ms() < end) {
		int n = poll(&p, 1, (int)(end - tu_now_ms()));

		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0)
			return read(fd, &c, 1) == 1;
	}
	return false;
}

/* ---- what a child or a program writes ---- */

char *tu_slurp(int fd, int timeout_ms)
{
	int64_t end = tu_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);
	ssize_t n;

	assert_non_null(s);
	while (tu_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (len + 1024 > cap) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		n = read(fd, s + len, cap - len - 1);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n > 0)
			len += (size_t)n;
	}
	s[len] = 0;
	close(fd);
	return s;
}

void tu_read_some(int fd, size_t want, int timeout_ms)
{
	int64_t end = tu_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	while (got < want && tu_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_true(got >= want);
}

uint64_t tu_fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

int tu_drain(int fd, int timeout_ms, uint64_t *h, size_t *total)
{
	static char buf[1 << 16];
	int64_t end = tu_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (tu_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			*h = tu_fnv1a(*h, buf, (size_t)n);
			*total += (size_t)n;
		}
	}
	return -ETIMEDOUT;
}

void tu_assert_nothing_left(const char *name)
{
	size_t len = strlen(name + 1);
	struct dirent *d;
	const char *p;
	DIR *dir = opendir("/dev/shm");

	assert_non_null(dir);
	while ((d = readdir(dir))) {
		p = strstr(d->d_name, name + 1);
		if (p && (p[len] == 0 || p[len] == '.')) {
			closedir(dir);
			fail_msg("left in /dev/shm: %s", d->d_name);
		}
	}
	closedir(dir);
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

const char *tu_emulated(void)
{
	static char what[160];
	static int known;
	struct utsname u;
	char arch[64] = "";
	FILE *f;

	if (known)
		return known > 0 ? what : NULL;
	known = -1;
	f = fopen("/proc/sys/kernel/arch", "re");
	if (!f)
		return NULL;        /* an older kernel, or no /proc: native */
	if (fgets(arch, sizeof(arch), f))
		arch[strcspn(arch, "\n")] = 0;
	fclose(f);
	if (arch[0] && uname(&u) == 0 && strcmp(u.machine, arch)) {
		snprintf(what, sizeof(what), "%s on %s", u.machine, arch);
		known = 1;
	}
	return known > 0 ? what : NULL;
}

bool tu_have_python(void)
{
	char *argv[] = { "/usr/bin/env", "python3", "-c",
			 "import multiprocessing.shared_memory", NULL };

	return run_ok(argv);
}

/* ---- copies of built programs that other users can run ---- */

/* The library a shared build loads: meson links the build tree's programs
 * with RUNPATH $ORIGIN/../src, so the copy keeps that layout. */
#define LIBSHMX_SHARED "src/libshmx.so.0"
#define MAX_COPIES 16

static char copy_root[64];
static char *copies[MAX_COPIES];        /* files and directories, in order */
static int n_copies;

static bool remember_copy(const char *path)
{
	if (n_copies == MAX_COPIES || !(copies[n_copies] = strdup(path)))
		return false;
	n_copies++;
	return true;
}

static void remove_copies(void)
{
	while (n_copies > 0) {
		char *p = copies[--n_copies];

		if (unlink(p) < 0)
			rmdir(p);
		free(p);
	}
	copy_root[0] = 0;
}

/* Copy from to to (following links, as the loader does), with mode. */
static bool copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1;
	char buf[65536];
	bool ok = in >= 0;
	ssize_t n = 0;

	if (ok) {
		out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ok = out >= 0 && remember_copy(to);
	}
	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	ok = ok && n == 0 && fchmod(out, mode) == 0;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok;
}

/* copy_root/rel, its directories created 0755 on the way. */
static bool copy_built(const char *rel, mode_t mode)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", copy_root, rel);
	if (lstat(path, &st) == 0)
		return true;
	for (char *s = strchr(path + strlen(copy_root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (lstat(path, &st) < 0 && (mkdir(path, 0755) < 0 || !remember_copy(path)))
			return false;
		*s = '/';
	}
	return copy_file(tu_build_path(rel), path, mode);
}

const char *tu_copy_for_others(const char *rel)
{
	static char path[PATH_MAX];

	if (!copy_root[0]) {
		snprintf(copy_root, sizeof(copy_root), "/tmp/" TU_PREFIX "XXXXXX");
		if (!mkdtemp(copy_root) || !remember_copy(copy_root) ||
		    chmod(copy_root, 0755) < 0) {
			print_message("# cannot make a directory under /tmp: %s\n",
				      strerror(errno));
			copy_root[0] = 0;
			return NULL;
		}
	}
	if ((access(tu_build_path(LIBSHMX_SHARED), F_OK) == 0 &&
	     !copy_built(LIBSHMX_SHARED, 0644)) || !copy_built(rel, 0755)) {
		print_message("# cannot copy %s to %s: %s\n", rel, copy_root, strerror(errno));
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", copy_root, rel);
	return path;
}

pid_t tu_spawn_input(char *const argv[], const char *path, int *err)
{
	int pe[2];
	pid_t pid;

	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	pid = tu_fork();
	if (pid == 0) {
		int fd = open(path, O_RDONLY);
		int null = open("/dev/null", O_WRONLY);

		TU_CK(fd >= 0 && null >= 0);
		TU_CK(dup2(fd, 0) == 0 && dup2(null, 1) == 1 && dup2(pe[1], 2) == 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pe[1]);
	*err = pe[0];
	return pid;
}

