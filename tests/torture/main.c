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
	"Runs random fault schedules against libshmx's pairs, channels and\n"
	"regions for N seconds (default 60), checking its invariants; the seed\n"
	"(random unless given) replays the schedule. Exits 0 only if nothing broke.\n"
	"  --shmx PATH   the shmx program, for the concurrent `shmx gc`\n"
	"  --verbose     print every step of the schedule\n"
	"  --without F,..  leave out these faults (names as in the summary)\n";

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
		    (key >> 8) == (0x74740000u | (unsigned)(getpid() & 0xff) << 8) >> 8) {
			tt_fail("end.leftover", "System V segment key %#x is left", key);
			shmctl(id, IPC_RMID, NULL);
		}
	}
	if (f)
		fclose(f);
	atomic_fetch_add(&tt->checks, 1);
}

static void summary(int64_t t0)
{
	printf("torture: seed %llu, %.1f s, %llu schedule steps\n",
	       (unsigned long long)tt->seed, (double)(tt_now_ns() - t0) / 1e9,
	       (unsigned long long)tt->step);
	printf("torture: faults:");
	for (int i = 0; i < F_NKINDS; i++)
		printf(" %s=%llu", tt_fault_name[i], (unsigned long long)tt->faults[i]);
	printf("\n");
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

static void episode(struct tt_rng *r, int64_t left)
{
	uint64_t k = tt_below(r, 100);

	if (k < 35)
		tt_pair_episode(r, left);
	else if (k < 82)
		tt_chan_episode(r, left);
	else if (k < 94)
		tt_region_episode(r, left);
	else if (k < 97 && tt_on(F_FULL))
		tt_full_episode(r);
	else if (k >= 97 && tt_on(F_HOSTILE))
		tt_hostile_args(r);
}

int main(int argc, char **argv)
{
	static const struct option o[] = {
		{ "seconds", 1, 0, 't' }, { "seed", 1, 0, 's' }, { "shmx", 1, 0, 'x' },
		{ "verbose", 0, 0, 'v' }, { "without", 1, 0, 'w' }, { "help", 0, 0, 'h' }, { 0 },
	};
	double secs = 60;
	uint64_t seed = 0;
	const char *tool = "shmx";
	bool seeded = false;
	struct tt_rng r;
	int64_t t0, end;
	int c;

	while ((c = getopt_long(argc, argv, "t:s:x:vw:h", o, NULL)) != -1) {
		switch (c) {
		case 't': secs = atof(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); seeded = true; break;
		case 'x': tool = optarg; break;
		case 'v': case 'w': break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!seeded)
		seed = tt_mix((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
	tt = mmap(NULL, sizeof(*tt), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tt == MAP_FAILED)
		return 2;
	tt->seed = seed;
	tt->driver = getpid();
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:s:x:vw:h", o, NULL)) != -1) {
		tt->verbose |= c == 'v';
		if (c == 'w' && without(optarg) < 0)
			return 2;
	}
	snprintf(tt->prefix, sizeof(tt->prefix), "tt-%d-", (int)getpid());
	snprintf(tt->shmx_tool, sizeof(tt->shmx_tool), "%s", tool);
	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	printf("torture: seed %llu (replay: scripts/torture.sh --seed %llu --seconds %g)\n",
	       (unsigned long long)seed, (unsigned long long)seed, secs);
	r.s = seed;
	t0 = tt_now_ns();
	end = t0 + (int64_t)(secs * 1e9);
	clock_pid = fork();
	if (clock_pid == 0)
		tt_clock();
	gc_pid = fork();
	if (gc_pid == 0)
		gc_runner(tt_mix(seed ^ 0x6763));
	while (tt_now_ns() < end - 300000000LL)
		episode(&r, end - tt_now_ns());
	atomic_store(&tt->stop_gc, 1);
	kill(clock_pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	leftovers();
	summary(t0);
	return tt->failures ? 1 : 0;
}
