/* SPDX-License-Identifier: MIT */
/* The bridge tests' servers, bridges and messages (bridge-util.h). */
#define _GNU_SOURCE
#include "bridge-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char nats_server[256];
/* What a test started, for bt_teardown() after a failure. */
static struct bt_cluster *live_clusters[4];
static struct bt_bridge *live_bridges[16];

static void track(void **slots, size_t n, void *p, bool on)
{
	for (size_t i = 0; i < n; i++) {
		if (on && !slots[i]) {
			slots[i] = p;
			return;
		}
		if (!on && slots[i] == p)
			slots[i] = NULL;
	}
}

const char *bt_missing(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;

	if (access(bt_bridge_path(), X_OK))
		return "shmx-bridge was not built (libnats-dev missing: scripts/deps.sh bridge)";
	/* nats-server is in /usr/sbin, which a user's PATH may lack */
	if (asprintf(&copy, "%s:/usr/local/sbin:/usr/sbin", path ? path : "/usr/bin") < 0)
		return "out of memory";
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(nats_server, sizeof(nats_server), "%s/nats-server", dir);
		if (!access(nats_server, X_OK))
			break;
		*nats_server = 0;
	}
	free(copy);
	return *nats_server ? NULL : "nats-server not found (scripts/deps.sh bridge)";
}

const char *bt_bridge_path(void)
{
	return tu_build_path("tools/bridge/shmx-bridge");
}

/* n distinct ports: each socket stays bound until all are chosen, or the
 * kernel could hand the same one out twice. */
static void free_ports(int *ports, int n)
{
	int fds[2 * BT_MAX_NODES];

	assert_true(n <= 2 * BT_MAX_NODES);
	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(bind(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(fds[i], (struct sockaddr *)&a, &len), 0);
		ports[i] = ntohs(a.sin_port);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

int bt_free_port(void)
{
	int port;

	free_ports(&port, 1);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void write_conf(struct bt_cluster *c, int i, bool js, const char *extra)
{
	struct bt_server *s = &c->s[i];
	FILE *f = fopen(s->conf, "w");

	assert_non_null(f);
	fprintf(f, "server_name: n%d\nlisten: 127.0.0.1:%d\n", i + 1, s->port);
	if (js)
		fprintf(f, "jetstream { store_dir: \"%s/store\" }\n", s->dir);
	if (c->n > 1) {
		fprintf(f, "cluster { name: shmxtest\n listen: 127.0.0.1:%d\n routes: [",
			s->cport);
		for (int j = 0; j < c->n; j++)
			if (j != i)
				fprintf(f, "\n  nats-route://127.0.0.1:%d", c->s[j].cport);
		fprintf(f, "\n ]\n}\n");
	}
	fprintf(f, "%s\n", extra ? extra : "");
	fclose(f);
}

static void spawn(struct bt_server *s)
{
	char log[192];
	pid_t pid;
	int fd;

	snprintf(log, sizeof(log), "%s/log", s->dir);
	pid = tu_fork();
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(nats_server, "nats-server", "-c", s->conf, (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	for (int64_t end = tu_now_ms() + 15000; !port_open(s->port); usleep(20000)) {
		if (tu_now_ms() > end || waitpid(pid, NULL, WNOHANG) == pid) {
			tu_print_lines("nats-server did not come up; its log",
				       tu_slurp(open(log, O_RDONLY), 1000));
			fail();
		}
	}
}

void bt_cluster_start(struct bt_cluster *c, int n, bool js, const char *extra)
{
	int ports[2 * BT_MAX_NODES];
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	c->n = n;
	free_ports(ports, 2 * n);
	for (int i = 0; i < n; i++) {
		struct bt_server *s = &c->s[i];

		s->port = ports[2 * i];
		s->cport = ports[2 * i + 1];
		snprintf(s->dir, sizeof(s->dir), "/tmp/shmx-bridge-test.%d.%d",
			 (int)getpid(), s->port);
		assert_int_equal(mkdir(s->dir, 0700), 0);
		snprintf(s->conf, sizeof(s->conf), "%s/nats.conf", s->dir);
	}
	for (int i = 0; i < n; i++) {
		write_conf(c, i, js, extra);
		off += (size_t)snprintf(c->urls + off, sizeof(c->urls) - off, "%snats://127.0.0.1:%d",
				i ? "," : "", c->s[i].port);
	}
	track((void **)live_clusters, 4, c, true);
	for (int i = 0; i < n; i++)
		spawn(&c->s[i]);
}

void bt_node_kill9(struct bt_cluster *c, int i)
{
	tu_kill9(c->s[i].pid, 10000);
	c->s[i].pid = 0;
}

void bt_node_restart(struct bt_cluster *c, int i)
{
	spawn(&c->s[i]);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void bt_cluster_stop(struct bt_cluster *c)
{
	int status;

	track((void **)live_clusters, 4, c, false);
	for (int i = 0; i < c->n; i++)
		if (c->s[i].pid > 0)
			kill(c->s[i].pid, SIGTERM);
	for (int i = 0; i < c->n; i++) {
		if (c->s[i].pid > 0)
			tu_waitpid(c->s[i].pid, 10000, &status);
		c->s[i].pid = 0;
		if (*c->s[i].dir)
			nftw(c->s[i].dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
}

void bt_urls_from(const struct bt_cluster *c, int i, char *buf, size_t size)
{
	size_t off = 0;

	for (int k = 0; k < c->n; k++)
		off += (size_t)snprintf(buf + off, size - off, "%snats://127.0.0.1:%d",
					k ? "," : "", c->s[(i + k) % c->n].port);
}

/* Whatever the bridge wrote since, into b->log (the oldest is kept). */
static void collect(struct bt_bridge *b, int ms)
{
	struct pollfd p = { .fd = b->err_fd, .events = POLLIN };
	char tmp[4096];
	ssize_t n;

	if (b->err_fd < 0 || poll(&p, 1, ms) <= 0)
		return;
	n = read(b->err_fd, tmp, sizeof(tmp));
	if (n <= 0) {
		close(b->err_fd);
		b->err_fd = -1;
		return;
	}
	if ((size_t)n > sizeof(b->log) - 1 - b->log_len)
		n = (ssize_t)(sizeof(b->log) - 1 - b->log_len);
	memcpy(b->log + b->log_len, tmp, (size_t)n);
	b->log_len += (size_t)n;
	b->log[b->log_len] = 0;
}

void bt_bridge_start(struct bt_bridge *b, const char *const *args, int timeout_ms)
{
	const char *argv[32] = { bt_bridge_path() };
	int64_t end = tu_now_ms() + timeout_ms;
	int n = 1;

	while (args[n - 1] && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	memset(b, 0, sizeof(*b));
	b->pid = tu_spawn((char *const *)argv, NULL, NULL, &b->err_fd);
	assert_true(b->pid > 0);
	track((void **)live_bridges, 16, b, true);
	while (!strstr(b->log, ", via ")) {
		if (tu_now_ms() > end || b->err_fd < 0) {
			print_message("# the bridge did not start: %s\n", b->log);
			fail();
		}
		collect(b, 100);
	}
}

static int code_of(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int bt_bridge_wait(struct bt_bridge *b, int timeout_ms)
{
	int64_t end = tu_now_ms() + timeout_ms;
	int status = 0;

	while (b->err_fd >= 0 && tu_now_ms() < end)
		collect(b, 100);
	track((void **)live_bridges, 16, b, false);
	if (tu_waitpid(b->pid, (int)(end - tu_now_ms() > 0 ? end - tu_now_ms() : 1),
		       &status) < 0)
		return -1;
	b->pid = 0;
	if (b->err_fd >= 0)
		close(b->err_fd);
	b->err_fd = -1;
	return code_of(status);
}

int bt_bridge_stop(struct bt_bridge *b, int sig, int timeout_ms)
{
	if (b->pid > 0)
		kill(b->pid, sig);
	return bt_bridge_wait(b, timeout_ms);
}

static int lines(const char *log)
{
	int n = 0;

	for (const char *p = log; (p = strstr(p, " messages, ")); p++)
		n++;
	return n;
}

void bt_bridge_progress(struct bt_bridge *b, int timeout_ms)
{
	int64_t end = tu_now_ms() + timeout_ms;
	int before = lines(b->log);

	kill(b->pid, SIGUSR1);
	while (lines(b->log) == before) {
		if (tu_now_ms() > end || b->err_fd < 0)
			fail_msg("no progress line after SIGUSR1: %s", b->log);
		collect(b, 100);
	}
	/* the rest of the line */
	while (b->log_len && b->log[b->log_len - 1] != '\n' && tu_now_ms() < end)
		collect(b, 100);
}

uint64_t bt_summary(const struct bt_bridge *b, const char *key)
{
	const char *line = strstr(b->log, " messages, "), *p;
	char pat[64];

	if (!line)
		return UINT64_MAX;
	while ((p = strstr(line + 1, " messages, ")))
		line = p;
	while (line > b->log && line[-1] != ':')
		line--;
	snprintf(pat, sizeof(pat), " %s", key);
	for (p = line; (p = strstr(p, pat)); p++) {
		const char *q = p;

		while (q > line && q[-1] >= '0' && q[-1] <= '9')
			q--;
		if (q < p)
			return strtoull(q, NULL, 10);
	}
	return UINT64_MAX;
}

int bt_teardown(void **state)
{
	for (size_t i = 0; i < 16; i++) {
		struct bt_bridge *b = live_bridges[i];

		if (b && b->pid > 0) {
			/* a test failed: what the bridge said helps more than anything */
			for (int k = 0; k < 16; k++)
				collect(b, 0);
			tu_print_lines("a bridge left running, its stderr", b->log);
			kill(b->pid, SIGKILL);
			tu_waitpid(b->pid, 10000, NULL);
			if (b->err_fd >= 0)
				close(b->err_fd);
		}
		live_bridges[i] = NULL;
	}
	for (size_t i = 0; i < 4; i++)
		if (live_clusters[i])
			bt_cluster_stop(live_clusters[i]);
	return tu_teardown(state);
}

size_t bt_msg_len(uint64_t i, size_t max)
{
	uint32_t h = (uint32_t)(i * 2654435761u);

	if (i % 1000 == 999)
		return max;
	if (i % 97 == 0)
		return 0;
	return (h >> 7) % (max < 3000 ? max + 1 : 3000);
}

void bt_msg_fill(uint64_t i, void *buf, size_t len)
{
	unsigned char *p = buf;

	for (size_t k = 0; k < len; k++)
		p[k] = k < 8 ? (unsigned char)(i >> (8 * k)) : (unsigned char)(i * 131 + k * 7);
}

bool bt_msg_ok(uint64_t i, const void *msg, size_t len, size_t max)
{
	const unsigned char *p = msg;

	if (len != bt_msg_len(i, max))
		return false;
	for (size_t k = 0; k < len; k++)
		if (p[k] != (k < 8 ? (unsigned char)(i >> (8 * k)) :
				     (unsigned char)(i * 131 + k * 7)))
			return false;
	return true;
}

uint64_t bt_scaled(uint64_t n, uint64_t min)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	double f = s ? strtod(s, NULL) : 1.0;
	uint64_t v = (uint64_t)((double)n * (f > 0 ? f : 1.0));

	return v < min ? min : v;
}
