/* SPDX-License-Identifier: MIT */
/* shmx stat: everything about one object, from its kind to who maps it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>

#include "shmx-tool.h"

static void print_comm(const char *pid, bool first)
{
	char file[300], comm[64] = "?";
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%s/comm", pid);
	f = fopen(file, "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			strcpy(comm, "?");
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = 0;
	printf("%-12s%s (", first ? "Mapped by:" : "", pid);
	put_name(stdout, comm);
	printf(")\n");
}

#define MAPPERS_MAX 64

static void mapped_by(const struct stat *st)
{
	pid_t pids[MAPPERS_MAX];
	char pid[16];
	int n = mappers(st, pids, MAPPERS_MAX);

	for (int i = 0; i < n; i++) {
		snprintf(pid, sizeof(pid), "%d", (int)pids[i]);
		print_comm(pid, i == 0);
	}
	if (!n)
		printf("%-12s%s\n", "Mapped by:", "none seen");
}

static void print_time(const char *label, const struct timespec *ts)
{
	char buf[64], zone[16];
	struct tm tm;
	time_t t = ts->tv_sec;

	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	printf("%-12s%s.%09ld %s\n", label, buf, ts->tv_nsec, zone);
}

static void print_seg_time(const char *label, const struct timespec *ts)
{
	if (ts->tv_sec || ts->tv_nsec)
		print_time(label, ts);
	else
		printf("%-12snever\n", label);
}

static void print_holders(uint32_t h)
{
	static const char *const slot[] = { "owner", "writer", "reader" };
	bool any = false;

	printf("%-12s", "Holders:");
	if (h & SHMX_HOLDERS_UNKNOWN) {
		printf("unknown (no access to the object's locks)\n");
		return;
	}
	for (unsigned i = 0; i < 31; i++) {
		if (!(h & (1u << i)))
			continue;
		if (i < 3)
			printf("%s%s", any ? ", " : "", slot[i]);
		else
			printf("%sslot %u", any ? ", " : "", i);
		any = true;
	}
	printf("%s\n", any ? "" : "none");
}

static const char *policy_str(uint32_t policy)
{
	return policy == SHMX_CHAN_POLICY_OVERWRITE ? "overwrite" : "block";
}

static void print_chan(const struct shmx_chan_info *ci)
{
	printf("%-12sformat %" PRIu32 ", header %" PRIu32 " bytes, ring %" PRIu64
	       " bytes, largest message %" PRIu64 "\n",
	       "Channel:", ci->abi, ci->header_size, ci->capacity, ci->max_msg);
	printf("%-12s%" PRIu32 " producer%s, %" PRIu32 " consumer%s (%s), policy %s", "",
	       ci->producers, ci->producers == 1 ? "" : "s", ci->consumers,
	       ci->consumers == 1 ? "" : "s", ci->consumers == 1 ? "a queue" : "broadcast",
	       policy_str(ci->policy));
	if (ci->policy == SHMX_CHAN_POLICY_OVERWRITE)
		printf(", %" PRIu64 " messages lost", ci->lost);
	printf("\n%-12s%" PRIu64 " bytes queued, %" PRIu64 " sent, %" PRIu64 " received\n", "",
	       ci->used, ci->sent, ci->received);
	printf("%-12slast producer pid %d, last consumer pid %d\n", "",
	       (int)ci->producer_pid, (int)ci->consumer_pid);
}

/* ---- the slots of a channel (shmx_chan_peers) ---- */

#define MAX_SLOTS (2 * SHMX_CHAN_MAX_PEERS)

static const char *const peer_state[] = { "free", "attached", "closed", "dead" };

static const char *peer_state_str(uint32_t state)
{
	return state < sizeof(peer_state) / sizeof(peer_state[0]) ? peer_state[state] : "?";
}

static const char *role_str(const struct shmx_chan_peer *p)
{
	return p->role == SHMX_CHAN_PRODUCER ? "producer" : "consumer";
}

/* The slots, producers first; their number, or -errno. */
static int chan_slots(const char *name, struct shmx_chan_peer *p)
{
	int n = shmx_chan_peers(name, p, MAX_SLOTS);

	return n > (int)MAX_SLOTS ? (int)MAX_SLOTS : n;
}

/* A count, or "-" where it does not apply (a producer's lag and loss). */
static void put_count(bool applies, uint64_t v, int width)
{
	if (applies)
		printf(" %*" PRIu64, width, v);
	else
		printf(" %*s", width, "-");
}

static void print_slots(const char *name)
{
	struct shmx_chan_peer p[MAX_SLOTS];
	int n = chan_slots(name, p);
	bool cons;

	if (n < 0) {
		printf("%-12sunknown (%s)\n", "Slots:", shmx_strerror(n));
		return;
	}
	printf("%-12s%-8s %4s %8s %-8s %10s %12s %12s %12s\n", "Slots:", "ROLE", "SLOT", "PID",
	       "STATE", "GENERATION", "COUNT", "LAG", "LOST");
	for (int i = 0; i < n; i++) {
		cons = p[i].role == SHMX_CHAN_CONSUMER;
		printf("%-12s%-8s %4" PRIu32, "", role_str(&p[i]), p[i].slot);
		if (p[i].pid > 0)
			printf(" %8d", (int)p[i].pid);
		else
			printf(" %8s", "-");
		printf(" %-8s %10" PRIu32 " %12" PRIu64, peer_state_str(p[i].state),
		       p[i].generation, p[i].count);
		put_count(cons, p[i].lag, 12);
		put_count(cons, p[i].lost, 12);
		putchar('\n');
	}
}

static void print_common(const char *name, const char *kind, const struct stat *st,
			 bool segment)
{
	char ub[32], gb[32], hb[24], mb[11];

	printf("%-12s", "Name:");
	put_name(stdout, name);
	printf("\n%-12s%s\n", "Kind:", kind);
	printf("%-12s%" PRIu64 " (%s)\n", "Size:", (uint64_t)st->st_size,
	       human((uint64_t)st->st_size, hb));
	printf("%-12s%04o (%s)\n", "Mode:", (unsigned)(st->st_mode & 07777),
	       rwx(st->st_mode, mb));
	printf("%-12s%u (%s)\n", "Owner:", (unsigned)st->st_uid, user_name(st->st_uid, ub));
	printf("%-12s%u (%s)\n", "Group:", (unsigned)st->st_gid, group_name(st->st_gid, gb));
	if (!segment) {
		print_time("Access:", &st->st_atim);
		print_time("Modify:", &st->st_mtim);
	} else {
		/* shm_atime, shm_dtime: 0 until the first attach, detach */
		print_seg_time("Attach:", &st->st_atim);
		print_seg_time("Detach:", &st->st_mtim);
	}
	print_time("Change:", &st->st_ctim);
}

static const char *state_text(const struct facts *f)
{
	switch (object_state(f->name, f->holders, f->chan)) {
	case S_ALIVE: return "alive (its owner holds its lock)";
	case S_INUSE: return "in use (its owner is gone; a live process holds a slot or maps it)";
	case S_STALE: return "stale (its owner is gone, nobody holds a slot or maps it)";
	default: return "unknown (no access to the object's locks)";
	}
}

/* ---- text ---- */

static void print_sysv(const struct shmx_sysv_info *si)
{
	char ub[32], gb[32];

	printf("%-12s0x%08x\n", "Key:", (unsigned)si->key);
	printf("%-12s%d\n", "Id:", si->id);
	printf("%-12s%u (%s), group %u (%s)\n", "Creator:", (unsigned)si->cuid,
	       user_name(si->cuid, ub), (unsigned)si->cgid, group_name(si->cgid, gb));
	printf("%-12screator %d, last attach or detach ", "Pids:", (int)si->cpid);
	if (si->lpid)
		printf("%d\n", (int)si->lpid);
	else
		printf("none\n");
	printf("%-12s%" PRIu64 "%s\n", "Attached:", si->nattch,
	       si->removed ? " (marked for removal: goes with the last detach)" : "");
}

static void print_text(const struct facts *f)
{
	print_common(f->name, f->sysv ? "System V segment" : f->chan ? "libshmx channel" :
		     f->pair ? "libshmx pair" : f->type, &f->st, f->sysv);
	if (f->sysv) {
		print_sysv(&f->si);
		return;
	}
	if (f->chan || f->pair)
		printf("%-12s%s\n", "State:", state_text(f));
	if (strcmp(f->type, "semaphore"))
		print_holders(f->holders);
	if (f->pair)
		printf("%-12s%s%s%s, %s%s%s\n", "Semaphores:", shown(f->name), PAIR_W,
		       sem_exists(f->name, PAIR_W) ? "" : " (missing)", shown(f->name),
		       PAIR_R, sem_exists(f->name, PAIR_R) ? "" : " (missing)");
	if (f->chan) {
		print_chan(&f->ci);
		print_slots(f->name);
	}
	mapped_by(&f->st);
}

/* ---- JSON: the record of every command (json.c), and who maps it ---- */

static void json_mappers(const struct facts *f)
{
	pid_t pids[MAPPERS_MAX];
	int n;

	fputs(",\"mapped_by\":", stdout);
	if (!f->have_st) {
		fputs("null", stdout);
		return;
	}
	n = mappers(&f->st, pids, MAPPERS_MAX);
	putchar('[');
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	putchar(']');
}

/* A producer's lag and loss do not apply: null. */
static void json_count(const char *key, bool applies, uint64_t v)
{
	if (applies)
		printf(",\"%s\":%" PRIu64, key, v);
	else
		printf(",\"%s\":null", key);
}

static void json_slots(const struct facts *f)
{
	struct shmx_chan_peer p[MAX_SLOTS];
	int n = f->chan ? chan_slots(f->name, p) : -1;
	bool cons;

	fputs(",\"slots\":", stdout);
	if (n < 0) {
		fputs("null", stdout);
		return;
	}
	putchar('[');
	for (int i = 0; i < n; i++) {
		cons = p[i].role == SHMX_CHAN_CONSUMER;
		printf("%s{\"role\":\"%s\",\"slot\":%" PRIu32 ",\"pid\":%d,\"state\":\"%s\","
		       "\"generation\":%" PRIu32 ",\"count\":%" PRIu64, i ? "," : "",
		       role_str(&p[i]), p[i].slot, (int)p[i].pid, peer_state_str(p[i].state),
		       p[i].generation, p[i].count);
		json_count("lag", cons, p[i].lag);
		json_count("lost", cons, p[i].lost);
		putchar('}');
	}
	putchar(']');
}

static void print_json(const struct facts *f, bool *first)
{
	json_sep(first);
	putchar('{');
	json_record(f);
	json_mappers(f);
	json_slots(f);
	putchar('}');
}

static int stat_run(int argc, char **argv)
{
	struct address a;
	struct facts f;
	bool json = false, first = true;
	int c, err, rc = 0;

	c = json_opts(argc, argv, &json);
	if (c >= 0)
		return c;
	if (addresses_arg(argc, argv))
		return EXIT_USAGE;
	if (json)
		fputs("{\"objects\":[", stdout);
	for (int i = optind; i < argc; i++) {
		address_arg(argv[i], &a);
		err = gather(&a, &f);
		if (err) {
			rc = json_op_error(json, a.name, err);
			continue;
		}
		if (json) {
			print_json(&f, &first);
		} else {
			if (!first)
				putchar('\n');
			print_text(&f);
			first = false;
		}
	}
	if (json) {
		fputs("\n],", stdout);
		json_errors();
		fputs("}\n", stdout);
	}
	return rc;
}

const struct command cmd_stat = {
	.name = "stat",
	.run = stat_run,
	.synopsis = "stat ADDRESS... [--json]",
	.help =
		"Show everything about an object: size, mode, owner and group, times, its\n"
		"kind, the liveness locks held on it, the decoded header of a libshmx\n"
		"channel (its producers, consumers and policy) and a table of its slots\n"
		"(role, slot, pid, state, generation, messages, lag and loss), and the\n"
		"processes that have it mapped (those you may inspect).\n"
		"ADDRESS is a POSIX name (/x), a file path (./x, /dir/x) or a System V\n"
		"segment (sysv:KEY, sysv:@ID: its IPC_STAT fields).\n"
		"\n"
		"      --json    one JSON document {\"objects\": [...], \"errors\": [...]},\n"
		"                the same keys for every kind (shmx(1), JSON), with\n"
		"                \"mapped_by\" and \"slots\"\n",
};
