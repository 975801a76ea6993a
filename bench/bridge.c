/* SPDX-License-Identifier: MIT */
/*
 * shmx-bridge-bench: the bridge on loopback against NATS itself with the
 * same client (a plain libnats publisher and subscriber written here) and
 * against a local channel. Throughput (messages from the first send to the
 * last receive) and round trip (median) at 64 B and 4 KiB; JetStream: the
 * bridge's out against a plain publisher waiting for each ack, and what
 * asynchronous publishing with a window gives. Each figure is the median of
 * its runs; ratios are of the medians. Starts its own nats-server on a free
 * port (store under /tmp, removed) and stops it by pid.
 *   shmx-bridge-bench --bridge PATH [--quick] [--runs N]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <poll.h>
#include <shmx.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bridge;
static char url[64], dir[96];
static pid_t server;
static int runs = 5;
static long n_small = 200000, n_large = 50000, n_js = 4000, n_rt = 2000;
static bool asap;               /* round trips: SendAsap, --send-asap */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "shmx-bridge-bench: %s\n", what);
	if (server > 0)
		kill(server, SIGKILL);
	exit(1);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the server and the bridges ---- */

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (void *)&a, &len))
		die("no free port");
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void start_server(void)
{
	char conf[160];
	int port = free_port();
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/shmx-bridge-bench.%d", (int)getpid());
	snprintf(conf, sizeof(conf), "%s/nats.conf", dir);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	if (mkdir(dir, 0700) || !(f = fopen(conf, "w")))
		die("cannot make the server's directory");
	fprintf(f, "listen: 127.0.0.1:%d\njetstream { store_dir: \"%s/store\" }\n", port, dir);
	fclose(f);
	server = fork();
	if (!server) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("nats-server", "nats-server", "-c", conf, (char *)NULL);
		execl("/usr/sbin/nats-server", "nats-server", "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		natsConnection *nc = NULL;

		if (natsConnection_ConnectTo(&nc, url) == NATS_OK) {
			natsConnection_Destroy(nc);
			return;
		}
		usleep(20000);
	}
	die("nats-server did not start (scripts/deps.sh bridge)");
}

static int rm_one(const char *p, const struct stat *s, int f, struct FTW *w)
{
	(void)s, (void)f, (void)w;
	return remove(p);
}

static void stop_server(void)
{
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Start shmx-bridge with args; return once it is moving messages. */
static pid_t start_bridge(const char *const *args)
{
	const char *argv[32] = { bridge };
	char buf[4096];
	size_t len = 0;
	int p[2], n = 1;
	pid_t pid;

	while (args[n - 1])
		argv[n] = args[n - 1], n++;
	if (pipe(p))
		die("pipe");
	pid = fork();
	if (!pid) {
		dup2(p[1], 2);
		execv(bridge, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (len < sizeof(buf) - 1) {
		ssize_t r = read(p[0], buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			die("the bridge did not start");
		len += (size_t)r;
		buf[len] = 0;
		if (strstr(buf, ", via "))
			break;
	}
	/* keep its stderr open and unread: it writes one more line at exit */
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* ---- local channels ---- */

static const char *chan_name(const char *what)
{
	static char names[8][64];
	static int next;
	char *s = names[next++ % 8];

	snprintf(s, 64, "/shmx-bridge-bench-%d-%s", (int)getpid(), what);
	shmx_chan_unlink(s);
	return s;
}

static struct shmx_chan *make_chan(const char *name, unsigned role)
{
	struct shmx_chan_params p = { .capacity = 4 << 20 };
	struct shmx_chan *c;

	if (shmx_chan_create_params(name, &p, role, 0600, &c))
		die("cannot create a channel");
	return c;
}

static struct shmx_chan *open_chan(const char *name, unsigned role)
{
	struct shmx_chan *c;

	if (shmx_chan_open(name, role, 10000, &c))
		die("cannot open a channel");
	return c;
}

/* A child that receives n messages from name, then writes a byte to fd. */
static pid_t chan_sink(const char *name, long n, int fd)
{
	pid_t pid = fork();

	if (!pid) {
		struct shmx_chan *c = open_chan(name, SHMX_CHAN_CONSUMER);
		static char buf[8192];

		for (long i = 0; i < n; i++)
			if (shmx_chan_recv(c, buf, sizeof(buf), 30000) < 0)
				_exit(1);
		(void)!write(fd, "x", 1);
		shmx_chan_close(c);
		_exit(0);
	}
	return pid;
}

static void chan_source(struct shmx_chan *c, long n, size_t size)
{
	static char buf[8192];

	for (long i = 0; i < n; i++)
		if (shmx_chan_send(c, buf, size, 30000))
			die("send into the channel failed");
}

static void wait_byte(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char x;

	if (poll(&p, 1, ms) != 1 || read(fd, &x, 1) != 1)
		die("the receiver did not finish");
}

/* ---- throughput: messages per second, first send to last receive ---- */

static double tput_local(size_t size, long n, int window)
{
	const char *a = chan_name("local");
	struct shmx_chan *c = make_chan(a, SHMX_CHAN_PRODUCER);
	int p[2];
	double t0, t;
	pid_t kid;

	(void)window; /* no window here */
	if (pipe(p))
		die("pipe");
	kid = chan_sink(a, n, p[1]);
	t0 = now();
	chan_source(c, n, size);
	wait_byte(p[0], 60000);
	t = now() - t0;
	waitpid(kid, NULL, 0);
	shmx_chan_close(c);
	shmx_chan_unlink(a);
	close(p[0]);
	close(p[1]);
	return (double)n / t;
}

struct counter {
	long want, got;
	int fd;
};

static void on_msg(natsConnection *nc, natsSubscription *s, natsMsg *m, void *arg)
{
	struct counter *k = arg;

	(void)nc, (void)s;
	natsMsg_Destroy(m);
	if (++k->got == k->want)
		(void)!write(k->fd, "x", 1);
}

/* A child subscribed to subj that writes a byte to fd when subscribed and
 * another after n messages. */
static pid_t nats_sink(const char *subj, long n, int fd)
{
	pid_t pid = fork();

	if (!pid) {
		struct counter k = { .want = n, .fd = fd };
		natsConnection *nc;
		natsSubscription *s;

		if (natsConnection_ConnectTo(&nc, url) ||
		    natsConnection_Subscribe(&s, nc, subj, on_msg, &k) ||
		    natsSubscription_SetPendingLimits(s, -1, -1) || natsConnection_Flush(nc))
			_exit(1);
		(void)!write(fd, "r", 1);
		pause();
		_exit(0);
	}
	return pid;
}

static double tput_nats(size_t size, long n, int window)
{
	static char buf[8192];
	natsConnection *nc;
	int p[2];
	double t0, t;
	pid_t kid;

	(void)window; /* no window here */
	if (pipe(p) || natsConnection_ConnectTo(&nc, url))
		die("connect");
	kid = nats_sink("bench.plain", n, p[1]);
	wait_byte(p[0], 10000);
	t0 = now();
	for (long i = 0; i < n; i++)
		natsConnection_Publish(nc, "bench.plain", buf, (int)size);
	natsConnection_Flush(nc);
	wait_byte(p[0], 60000);
	t = now() - t0;
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	natsConnection_Destroy(nc);
	close(p[0]);
	close(p[1]);
	return (double)n / t;
}

/* producer -> A -> out -> NATS -> in -> B -> consumer */
static double tput_bridge(size_t size, long n, int window)
{
	const char *a = chan_name("a"), *b = chan_name("b");
	struct shmx_chan *c;
	pid_t out, in, kid;
	int p[2];
	double t0, t;

	(void)window; /* no window here */
	if (pipe(p))
		die("pipe");
	in = start_bridge((const char *[]){ "in", "-s", url, "-S", "bench.bridge", "--create",
			  "--capacity", "4194304", b, NULL });
	kid = chan_sink(b, n, p[1]);
	c = make_chan(a, SHMX_CHAN_PRODUCER);
	out = start_bridge((const char *[]){ "out", "-s", url, "-S", "bench.bridge", a, NULL });
	t0 = now();
	chan_source(c, n, size);
	wait_byte(p[0], 120000);
	t = now() - t0;
	shmx_chan_close(c);
	waitpid(out, NULL, 0);
	stop(in);
	waitpid(kid, NULL, 0);
	shmx_chan_unlink(a);
	shmx_chan_unlink(b);
	close(p[0]);
	close(p[1]);
	return (double)n / t;
}

/* ---- JetStream: messages stored per second ---- */

static jsCtx *js_fresh(natsConnection **nc, const char *stream, const char *subj,
			int window)
{
	jsStreamConfig cfg;
	const char *subjects[] = { subj };
	jsOptions o;
	jsCtx *js;

	jsOptions_Init(&o);
	if (window) {
		o.PublishAsync.MaxPending = window;
		o.PublishAsync.StallWait = 10000;
	}
	if (natsConnection_ConnectTo(nc, url) || natsConnection_JetStream(&js, *nc, &o))
		die("connect (JetStream)");
	js_DeleteStream(js, stream, NULL, NULL);
	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	if (js_AddStream(NULL, js, &cfg, NULL, NULL))
		die("cannot create the stream");
	return js;
}

static void js_done(natsConnection *nc, jsCtx *js, const char *stream)
{
	js_DeleteStream(js, stream, NULL, NULL);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
}

/* window 0: js_Publish, each waiting for its ack; else js_PublishAsync
 * with at most window acks outstanding. */
static double tput_js_plain(size_t size, long n, int window)
{
	static char buf[8192];
	natsConnection *nc;
	jsCtx *js = js_fresh(&nc, "BENCH", "bench.js", window);
	jsPubOptions po;
	double t0, t;

	t0 = now();
	for (long i = 0; i < n; i++) {
		natsStatus s;

		if (!window) {
			jsPubAck *pa = NULL;

			s = js_Publish(&pa, js, "bench.js", buf, (int)size, NULL, NULL);
			jsPubAck_Destroy(pa);
		} else {
			s = js_PublishAsync(js, "bench.js", buf, (int)size, NULL);
		}
		if (s)
			die("publish failed");
	}
	if (window) {
		jsPubOptions_Init(&po);
		po.MaxWait = 60000;
		if (js_PublishAsyncComplete(js, &po))
			die("async publishes did not complete");
	}
	t = now() - t0;
	js_done(nc, js, "BENCH");
	return (double)n / t;
}

/* producer -> A -> out --jetstream: until out released the last one */
static double tput_js_bridge(size_t size, long n, int window)
{
	const char *a = chan_name("js");
	natsConnection *nc;
	jsCtx *js = js_fresh(&nc, "BENCHB", "bench.jsb", 0);
	struct shmx_chan *c = make_chan(a, SHMX_CHAN_PRODUCER);
	pid_t out;
	double t0, t;

	(void)window; /* no window here */
	out = start_bridge((const char *[]){ "out", "-s", url, "-S", "bench.jsb",
			   "--jetstream", "BENCHB", a, NULL });
	t0 = now();
	chan_source(c, n, size);
	while (shmx_chan_pending(c) > 0)
		usleep(200);
	t = now() - t0;
	shmx_chan_close(c);
	waitpid(out, NULL, 0);
	shmx_chan_unlink(a);
	js_done(nc, js, "BENCHB");
	return (double)n / t;
}

/* ---- round trip: median of n_rt ping-pongs, in microseconds ---- */

static double rt_median(double *v, long n)
{
	double m = median(v, (int)n);

	free(v);
	return m * 1e6;
}

/* A child that echoes each message of channel in into channel out (which
 * it creates when ready_fd >= 0, then writes a byte there). */
static pid_t chan_echo(const char *in, const char *out, long n, int ready_fd)
{
	pid_t pid = fork();

	if (!pid) {
		struct shmx_chan *co = ready_fd >= 0 ? make_chan(out, SHMX_CHAN_PRODUCER) :
						       open_chan(out, SHMX_CHAN_PRODUCER);
		struct shmx_chan *ci;
		static char buf[8192];

		if (ready_fd >= 0)
			(void)!write(ready_fd, "r", 1);
		ci = open_chan(in, SHMX_CHAN_CONSUMER);

		for (long i = 0; i < n; i++) {
			ssize_t len = shmx_chan_recv(ci, buf, sizeof(buf), 30000);

			if (len < 0 || shmx_chan_send(co, buf, (size_t)len, 30000))
				_exit(1);
		}
		shmx_chan_close(ci);
		shmx_chan_close(co);
		_exit(0);
	}
	return pid;
}

/* ping-pong through channels a (us -> them) and b (them -> us) */
static double *chan_pingpong(struct shmx_chan *a, struct shmx_chan *b, size_t size, long n)
{
	static char buf[8192];
	double *v = calloc((size_t)n, sizeof(*v));

	for (long i = 0; i < n; i++) {
		double t0 = now();

		if (shmx_chan_send(a, buf, size, 30000) ||
		    shmx_chan_recv(b, buf, sizeof(buf), 30000) < 0)
			die("ping-pong failed");
		v[i] = now() - t0;
	}
	return v;
}

static double rt_local(size_t size, long n)
{
	const char *a = chan_name("ra"), *b = chan_name("rb");
	struct shmx_chan *ca = make_chan(a, SHMX_CHAN_PRODUCER);
	struct shmx_chan *cb = make_chan(b, SHMX_CHAN_CONSUMER);
	pid_t kid = chan_echo(a, b, n, -1);
	double *v = chan_pingpong(ca, cb, size, n);

	waitpid(kid, NULL, 0);
	shmx_chan_close(ca);
	shmx_chan_close(cb);
	shmx_chan_unlink(a);
	shmx_chan_unlink(b);
	return rt_median(v, n);
}

static void on_ping(natsConnection *nc, natsSubscription *s, natsMsg *m, void *arg)
{
	(void)s, (void)arg;
	natsConnection_Publish(nc, "bench.pong", natsMsg_GetData(m), natsMsg_GetDataLength(m));
	natsMsg_Destroy(m);
}

static double rt_nats(size_t size, long n)
{
	static char buf[8192];
	double *v = calloc((size_t)n, sizeof(*v));
	natsConnection *nc, *ec;
	natsSubscription *s, *es;
	natsMsg *m;

	natsOptions *o;

	if (natsOptions_Create(&o) || natsOptions_SetURL(o, url) ||
	    natsOptions_SetSendAsap(o, asap))
		die("options");
	if (natsConnection_Connect(&nc, o) || natsConnection_Connect(&ec, o) ||
	    natsConnection_Subscribe(&es, ec, "bench.ping", on_ping, NULL) ||
	    natsConnection_SubscribeSync(&s, nc, "bench.pong") ||
	    natsConnection_Flush(ec) || natsConnection_Flush(nc))
		die("connect");
	for (long i = 0; i < n; i++) {
		double t0 = now();

		natsConnection_Publish(nc, "bench.ping", buf, (int)size);
		if (natsSubscription_NextMsg(&m, s, 30000))
			die("no pong");
		natsMsg_Destroy(m);
		v[i] = now() - t0;
	}
	natsSubscription_Destroy(s);
	natsSubscription_Destroy(es);
	natsConnection_Destroy(nc);
	natsConnection_Destroy(ec);
	natsOptions_Destroy(o);
	return rt_median(v, n);
}

/* us -> A -> out -> ping -> in -> B -> echo -> C -> out -> pong -> in -> D -> us */
static double rt_bridge(size_t size, long n)
{
	const char *a = chan_name("pa"), *b = chan_name("pb"), *c = chan_name("pc"),
		   *d = chan_name("pd");
	struct shmx_chan *ca = make_chan(a, SHMX_CHAN_PRODUCER), *cd;
	pid_t br[4], kid;
	int p[2];
	double *v;

	/* only out publishes: --send-asap is for it */
	const char *ping[] = { "out", "-s", url, "-S", "bench.ping", a, NULL, NULL };
	const char *pong[] = { "out", "-s", url, "-S", "bench.pong", c, NULL, NULL };

	if (asap) {
		ping[5] = pong[5] = "--send-asap";
		ping[6] = a;
		pong[6] = c;
	}
	br[0] = start_bridge((const char *[]){ "in", "-s", url, "-S", "bench.ping", "--create",
			     "--capacity", "4194304", b, NULL });
	br[1] = start_bridge((const char *[]){ "in", "-s", url, "-S", "bench.pong", "--create",
			     "--capacity", "4194304", d, NULL });
	cd = open_chan(d, SHMX_CHAN_CONSUMER);
	br[2] = start_bridge(ping);
	if (pipe(p))
		die("pipe");
	kid = chan_echo(b, c, n, p[1]);
	wait_byte(p[0], 10000);
	close(p[0]);
	close(p[1]);
	br[3] = start_bridge(pong);
	v = chan_pingpong(ca, cd, size, n);
	waitpid(kid, NULL, 0);
	for (int i = 0; i < 4; i++)
		stop(br[i]);
	shmx_chan_close(ca);
	shmx_chan_close(cd);
	shmx_chan_unlink(a);
	shmx_chan_unlink(b);
	shmx_chan_unlink(c);
	shmx_chan_unlink(d);
	return rt_median(v, n);
}

/* ---- the report ---- */

typedef double (*measure_fn)(size_t size, long n, int window);

static double med(measure_fn f, size_t size, long n)
{
	double v[16];

	for (int i = 0; i < runs; i++)
		v[i] = f(size, n, 0);
	return median(v, runs);
}

/* The reference and the candidate measured next to each other, run after
 * run (a loaded machine drifts): their medians, and the median of the
 * ratios of each pair. */
struct pair {
	double ref, val, ratio;
};

static struct pair side_by_side(measure_fn ref, measure_fn f, size_t size, long n,
				int window)
{
	double a[16], b[16], r[16];
	struct pair p;

	for (int i = 0; i < runs; i++) {
		a[i] = ref(size, n, 0);
		b[i] = f(size, n, window);
		r[i] = b[i] / a[i];
	}
	p.ratio = median(r, runs);
	p.ref = median(a, runs);
	p.val = median(b, runs);
	return p;
}

static void row(const char *what, size_t size, double r, double ratio, const char *of)
{
	printf("| %s | %zu B | %.0f msg/s | %.1f MB/s |", what, size, r, r * (double)size / 1e6);
	if (of)
		printf(" %.2fx %s |\n", ratio, of);
	else
		printf(" |\n");
}

static void report(void)
{
	size_t sizes[] = { 64, 4096 };

	printf("### Throughput, core NATS (median of %d runs; a ratio is the median of\n"
	       "the ratios of runs taken next to each other)\n\n", runs);
	printf("| path | size | rate | bytes | ratio |\n|---|---|---|---|---|\n");
	for (int i = 0; i < 2; i++) {
		long n = sizes[i] == 64 ? n_small : n_large;
		struct pair p = side_by_side(tput_nats, tput_bridge, sizes[i], n, 0);

		row("local channel", sizes[i], med(tput_local, sizes[i], n), 0, NULL);
		row("plain libnats pub -> sub", sizes[i], p.ref, 0, NULL);
		row("shmx-bridge out -> in", sizes[i], p.val, p.ratio, "of plain libnats");
	}
	printf("\n### Throughput, JetStream publish (median of %d runs)\n\n", runs);
	printf("| path | size | rate | bytes | ratio |\n|---|---|---|---|---|\n");
	for (int i = 0; i < 2; i++) {
		struct pair a = side_by_side(tput_js_plain, tput_js_plain, sizes[i], n_js, 256);
		struct pair b = side_by_side(tput_js_plain, tput_js_bridge, sizes[i], n_js, 0);

		row("plain js_Publish, each acked", sizes[i], b.ref, 0, NULL);
		row("plain js_PublishAsync, window 256", sizes[i], a.val, a.ratio,
		    "of acked each");
		row("shmx-bridge out --jetstream", sizes[i], b.val, b.ratio,
		    "of plain acked each");
	}
	printf("\n### Round trip, core NATS (median of %ld ping-pongs)\n\n", n_rt);
	printf("| path | 64 B | 4096 B |\n|---|---|---|\n");
	printf("| local channel | %.1f us | %.1f us |\n", rt_local(64, n_rt), rt_local(4096, n_rt));
	for (int i = 0; i < 2; i++) {
		asap = i;
		printf("| plain libnats%s | %.1f us | %.1f us |\n", asap ? ", SendAsap" : "",
		       rt_nats(64, n_rt), rt_nats(4096, n_rt));
		printf("| shmx-bridge, 4 bridges%s | %.1f us | %.1f us |\n",
		       asap ? ", --send-asap" : "", rt_bridge(64, n_rt), rt_bridge(4096, n_rt));
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bridge", required_argument, NULL, 'b' },
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "b:qr:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'b': bridge = optarg; break;
		case 'q': n_small /= 10, n_large /= 10, n_js /= 4, n_rt /= 4; break;
		case 'r': runs = atoi(optarg); break;
		case 'h':
			printf("usage: shmx-bridge-bench --bridge PATH [--quick] [--runs N]\n"
			       "Bridge throughput and round trip against plain libnats and a\n"
			       "local channel; starts its own nats-server on loopback.\n");
			return 0;
		default: return 2;
		}
	}
	if (!bridge || runs < 1 || runs > 15) {
		fprintf(stderr, "usage: shmx-bridge-bench --bridge PATH [--quick] [--runs 1..15]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	start_server();
	report();
	stop_server();
	return 0;
}
