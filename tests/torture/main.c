/* SPDX-License-Identifier: MIT */
/* shmx-torture: random fault schedules against every kind of libshmx
 * object, invariants checked as it goes. The seed printed at the start
 * replays the schedule; the last lines are the summary. docs/torture.md. */
#include "torture.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: shmx-torture [--seconds N] [--seed S] [--shmx PATH] [--verbose]\n"
	"                    [--without F,..] [--episodes E,..] [--shape P:C[:RING]]\n"
	"Runs random fault schedules against libshmx's pairs, channels and\n"
	"regions for N seconds (default 60), checking its invariants; the seed\n"
	"(random unless given) replays the schedule, with the same --without,\n"
	"--episodes and --shape (the first line prints the whole command).\n"
	"A line of progress every minute; the summary at the end. Exits 0 only\n"
	"if nothing broke, 1 if an invariant did, 2 for a bad argument.\n"
	"  --seconds N     time budget; a soak is the same with a large N\n"
	"  --seed S        replay the schedule of seed S\n"
	"  --shmx PATH     the shmx program, for the concurrent `shmx gc`\n"
	"  --verbose       print every step of the schedule\n"
	"  --without F,..  leave out these faults: kill9, sigstop, signal, sigbus,\n"
	"                  truncate, scribble, sem_post, replace, gc, rdlock,\n"
	"                  full_devshm, hostile_args (the summary's names), or\n"
	"                  all: no fault, the episodes' own races only\n"
	"  --episodes E,.. run only these episodes: pair, chan, region, full,\n"
	"                  hostile (full and hostile are full_devshm and\n"
	"                  hostile_args)\n"
	"  --shape P:C[:RING]  every channel has P producers and C consumers\n"
	"                  (1-4 and 1-3; 0 = drawn as usual; several producers\n"
	"                  take the block policy, one keeps the drawn one) and\n"
	"                  a ring of RING bytes (64-16384, a power of two; drawn\n"
	"                  if left out): 3:1:256 is a several-producer queue\n";

const char *const tt_episode_name[E_NKINDS] = {
	"pair", "chan", "region", "full", "hostile",
};

static pid_t gc_pid, clock_pid;

static void gc_once(void)
{
	char pat[48];
	pid_t pid;
	int st;

	snprintf(pat, sizeof(pat), "/%s*", tt->prefix);
	pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		execl(tt->shmx_tool, "shmx", "gc", pat, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
}

static bool exists(const char *name, bool pair)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), pair ? "/dev/shm/sem.%s.shmx-w" : "/dev/shm/%s",
		 name + 1);
	return !stat(path, &st);
}

/* shmx gc over our names, again and again, while the episodes run: it must
 * never remove an object whose owner lives (gc.removed-live). */
static void gc_runner(uint64_t seed)
{
	struct tt_rng r = { seed };
	uint32_t gen[TT_NAMES];
	bool live[TT_NAMES];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (!atomic_load(&tt->stop_gc)) {
		tt_sleep_ms(100 + (double)tt_below(&r, 300));
		for (int i = 0; i < TT_NAMES; i++) {
			gen[i] = atomic_load(&tt->names[i].gen);
			live[i] = atomic_load(&tt->names[i].live) && exists(tt->names[i].name,
									     tt->names[i].pair);
		}
		if (!tt_on(F_GC))
			continue;
		gc_once();
		atomic_fetch_add(&tt->faults[F_GC], 1);
		for (int i = 0; i < TT_NAMES; i++) {
			const struct tt_name *n = &tt->names[i];

			if (!live[i] || exists(n->name, n->pair))
				continue;
			atomic_fetch_add(&tt->checks, 1);
			if (atomic_load(&n->live) && atomic_load(&n->gen) == gen[i])
				tt_fail("gc.removed-live", "shmx gc removed %s, whose owner lives",
					n->name);
		}
	}
	_exit(0);
}

/* Nothing of ours may outlive the run once gc has been: no name in
 * /dev/shm, no System V segment of our keys. */
static void leftovers(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	char path[300];
	FILE *f;
	char line[512];

	gc_once();
	while (d && (e = readdir(d))) {
		if (!strstr(e->d_name, tt->prefix))
			continue;
		tt_fail("end.leftover", "/dev/shm/%s is left, and shmx gc does not remove it",
			e->d_name);
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	f = fopen("/proc/sysvipc/shm", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned key;
		int id;

		if (sscanf(line, "%u %d", &key, &id) == 2 &&
		    (key >> 8) == (unsigned)TT_SYSV_KEY(getpid(), 0) >> 8) {
			tt_fail("end.leftover", "System V segment key %#x is left", key);
			shmctl(id, IPC_RMID, NULL);
		}
	}
	if (f)
		fclose(f);
	atomic_fetch_add(&tt->checks, 1);
}

/* The driver's own resident memory (kB) and open descriptors: a soak
 * must show neither growing. */
static void self_usage(long *rss_kb, int *fds)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");
	DIR *d = opendir("/proc/self/fd");

	*rss_kb = -1;
	*fds = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", rss_kb) == 1)
			break;
	if (f)
		fclose(f);
	if (!d)
		return;
	*fds = 0;
	while (readdir(d))
		(*fds)++;
	*fds -= 3;      /* ".", ".." and the directory's own */
	closedir(d);
}

static void summary(int64_t t0, double secs)
{
	long rss;
	int fds;

	self_usage(&rss, &fds);
	printf("torture: seed %llu, %.1f s, %llu schedule steps (replay: scripts/torture.sh "
	       "--seed %llu --seconds %g%s)\n", (unsigned long long)tt->seed,
	       (double)(tt_now_ns() - t0) / 1e9, (unsigned long long)tt->step,
	       (unsigned long long)tt->seed, secs, tt->opts);
	printf("torture: driver %d at the end: %ld kB resident, %d descriptors; leftovers of "
	       "/dev/shm/%s* and System V keys %#x-%#x checked (end.leftover)\n", (int)getpid(),
	       rss, fds, tt->prefix, (unsigned)TT_SYSV_KEY(getpid(), 0),
	       (unsigned)TT_SYSV_KEY(getpid(), 255));
	printf("torture: faults:");
	for (int i = 0; i < F_NKINDS; i++)
		printf(" %s=%llu", tt_fault_name[i], (unsigned long long)tt->faults[i]);
	printf("\n");
	printf("torture: channel consumers killed inside a call: %llu; a queue's next "
	       "message checked after such a takeover: %llu; consumers that attached before "
	       "such a death was reaped: %llu\n",
	       (unsigned long long)tt->cons_killed_in_call,
	       (unsigned long long)tt->takeover_checks,
	       (unsigned long long)tt->attach_unreaped);
	for (uint32_t i = 0; i < tt->nfail && i < TT_FAILS; i++)
		printf("torture: failure: %s\n", tt->fail[i]);
	if (tt->failures) {
		printf("torture: failures by invariant:");
		for (int i = 0; i < TT_INVS && tt->byinv[i].name; i++)
			printf(" %s=%llu", tt->byinv[i].name, (unsigned long long)tt->byinv[i].n);
		printf("\n");
	}
	printf("torture: %llu operations, %llu checks (%llu late calls excused: they waited for a CPU), "
	       "%llu failures\n", (unsigned long long)tt->ops,
	       (unsigned long long)tt->checks, (unsigned long long)tt->excused,
	       (unsigned long long)tt->failures);
}

/* --without kill9,sem_post,...: leave those faults out (the names of the
 * summary), to tell a known defect from what else a run finds. */
static int without(const char *list)
{
	char buf[256], *save, *t;

	snprintf(buf, sizeof(buf), "%s", list);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int i = 0;

		if (!strcmp(t, "all")) {
			tt->without = (1u << F_NKINDS) - 1;
			continue;
		}
		while (i < F_NKINDS && strcmp(t, tt_fault_name[i]))
			i++;
		if (i == F_NKINDS) {
			fprintf(stderr, "shmx-torture: unknown fault '%s'\n", t);
			return -1;
		}
		tt->without |= 1u << i;
	}
	return 0;
}

/* --episodes pair,chan,...: only these kinds of episode. */
static int episodes(const char *list)
{
	char buf[256], *save, *t;

	tt->episodes = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int i = 0;

		while (i < E_NKINDS && strcmp(t, tt_episode_name[i]))
			i++;
		if (i == E_NKINDS) {
			fprintf(stderr, "shmx-torture: unknown episode '%s'\n", t);
			return -1;
		}
		tt->episodes |= 1u << i;
	}
	return tt->episodes ? 0 : -1;
}

/* --shape P:C[:RING] (channel.c's limits: 4 producers, 3 consumers, a
 * ring of 64 B to 16 KiB, as the episode draws them). */
static int shape(const char *spec)
{
	unsigned p = 0, c = 0;
	unsigned long cap = 0;
	int n = sscanf(spec, "%u:%u:%lu", &p, &c, &cap);

	if (n < 2 || p > 4 || c > 3 || (n == 3 && (cap < 64 || cap > 16384 ||
						   (cap & (cap - 1))))) {
		fprintf(stderr, "shmx-torture: bad --shape '%s' (P:C[:RING], see --help)\n",
			spec);
		return -1;
	}
	tt->shape.producers = p;
	tt->shape.consumers = c;
	tt->shape.cap = cap;
	return 0;
}

/* One episode of a kind --episodes allows: a kind left out is drawn
 * again, so a run with every kind draws the schedule it always drew. */
static void episode(struct tt_rng *r, int64_t left)
{
	uint64_t k;
	int e;

	do {
		k = tt_below(r, 100);
		e = k < 35 ? E_PAIR : k < 82 ? E_CHAN : k < 94 ? E_REGION
			: k < 97 ? E_FULL : E_HOSTILE;
	} while (!(tt->episodes & 1u << e));
	if (e == E_PAIR)
		tt_pair_episode(r, left);
	else if (e == E_CHAN)
		tt_chan_episode(r, left);
	else if (e == E_REGION)
		tt_region_episode(r, left);
	else if (e == E_FULL && tt_on(F_FULL))
		tt_full_episode(r);
	else if (e == E_HOSTILE && tt_on(F_HOSTILE))
		tt_hostile_args(r);
}

/* A line a minute: a soak's log shows it alive, how far, and what broke
 * so far, before the summary. */
static void progress(int64_t t0, double secs)
{
	long rss;
	int fds;

	self_usage(&rss, &fds);
	printf("torture: progress %.0f s of %.0f: step %llu, %llu operations, %llu checks, "
	       "%llu failures; driver %ld kB resident, %d descriptors\n",
	       (double)(tt_now_ns() - t0) / 1e9, secs, (unsigned long long)tt->step,
	       (unsigned long long)tt->ops, (unsigned long long)tt->checks,
	       (unsigned long long)tt->failures, rss, fds);
}

/* An option the schedule depends on, for the replay command. */
static void keep_opt(const char *name, const char *val)
{
	size_t n = strlen(tt->opts);

	snprintf(tt->opts + n, sizeof(tt->opts) - n, " --%s %s", name, val);
}

static int options(int argc, char **argv, double *secs, const char **tool)
{
	static const struct option o[] = {
		{ "seconds", 1, 0, 't' }, { "seed", 1, 0, 's' }, { "shmx", 1, 0, 'x' },
		{ "verbose", 0, 0, 'v' }, { "without", 1, 0, 'w' },
		{ "episodes", 1, 0, 'e' }, { "shape", 1, 0, 'c' }, { "help", 0, 0, 'h' },
		{ 0 },
	};
	bool seeded = false;
	int c;

	tt->episodes = (1u << E_NKINDS) - 1;
	while ((c = getopt_long(argc, argv, "t:s:x:vw:e:c:h", o, NULL)) != -1) {
		switch (c) {
		case 't': *secs = atof(optarg); break;
		case 's': tt->seed = strtoull(optarg, NULL, 0); seeded = true; break;
		case 'x': *tool = optarg; break;
		case 'v': tt->verbose = true; break;
		case 'w': if (without(optarg)) return 2; keep_opt("without", optarg); break;
		case 'e': if (episodes(optarg)) return 2; keep_opt("episodes", optarg); break;
		case 'c': if (shape(optarg)) return 2; keep_opt("shape", optarg); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc || *secs <= 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (!seeded)
		tt->seed = tt_mix((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
	return -1;
}

int main(int argc, char **argv)
{
	double secs = 60;
	const char *tool = "shmx";
	struct tt_rng r;
	int64_t t0, end, next;
	int c;

	tt = mmap(NULL, sizeof(*tt), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tt == MAP_FAILED)
		return 2;
	if ((c = options(argc, argv, &secs, &tool)) >= 0)
		return c;
	tt->driver = getpid();
	snprintf(tt->prefix, sizeof(tt->prefix), "tt-%d-", (int)getpid());
	snprintf(tt->shmx_tool, sizeof(tt->shmx_tool), "%s", tool);
	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	printf("torture: seed %llu (replay: scripts/torture.sh --seed %llu --seconds %g%s)\n",
	       (unsigned long long)tt->seed, (unsigned long long)tt->seed, secs, tt->opts);
	r.s = tt->seed;
	t0 = tt_now_ns();
	end = t0 + (int64_t)(secs * 1e9);
	next = t0 + 60000000000LL;
	clock_pid = fork();
	if (clock_pid == 0)
		tt_clock();
	gc_pid = fork();
	if (gc_pid == 0)
		gc_runner(tt_mix(tt->seed ^ 0x6763));
	while (tt_now_ns() < end - 300000000LL) {
		episode(&r, end - tt_now_ns());
		if (tt_now_ns() >= next) {
			progress(t0, secs);
			next += 60000000000LL;
		}
	}
	atomic_store(&tt->stop_gc, 1);
	kill(clock_pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	leftovers();
	summary(t0, secs);
	return tt->failures ? 1 : 0;
}
