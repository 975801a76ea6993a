/* SPDX-License-Identifier: MIT */
/* The shmx tool on libshmx objects alive and dead: stat of a region, a pair
 * (its owner alive, then killed) and a channel, and gc removing what is
 * stale and nothing else. Owners are tu_fork children. Each run exec's the
 * tool as a user would. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS 30000

/* ---- stat ---- */

static void test_stat(void **state)
{
	const char *name = tu_name();
	struct passwd *pw = getpwuid(getuid());
	struct shmx_region *r;
	char want[128];

	(void)state;
	assert_non_null(pw);
	make_region(name, 4096, NULL, 0);
	assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
	assert_int_equal(shmx("stat", name + 1), 0);
	snprintf(want, sizeof(want), "Name:       %s\n", name);
	assert_out_has(want);
	assert_out_has("Kind:       region\n");
	assert_out_has("Size:       4096 (4.0K)\n");
	assert_out_has("Mode:       0600 (-rw-------)\n");
	snprintf(want, sizeof(want), "Owner:      %u (%s)\n", (unsigned)getuid(), pw->pw_name);
	assert_out_has(want);
	assert_out_has("Group:      ");
	assert_out_has("Access:     ");
	assert_out_has("Modify:     ");
	assert_out_has("Change:     ");
	assert_out_has("Holders:    none\n");
	/* we map it: our pid and command name are listed */
	snprintf(want, sizeof(want), "Mapped by:  %d (%s)\n", (int)getpid(),
		 program_invocation_short_name);
	assert_out_has(want);
	r = shmx_close(r);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("Mapped by:  none seen\n");
	assert_string_equal(R.err, "");

	shmx_unlink(name);
	assert_int_equal(shmx("stat", name), 1);
	snprintf(want, sizeof(want), "shmx: stat %s: No such file or directory\n", name);
	assert_string_equal(R.err, want);
}

/* The creator's mapping is of the object built unnamed: /proc/PID/maps
 * shows it as "/dev/shm/#INODE (deleted)", so stat matches the device and
 * inode, not the path. */
static void test_stat_lists_the_creator(void **state)
{
	const char *name = tu_name();
	struct shmx_region *r;
	char want[128];

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0600, &r), 0);
	assert_int_equal(shmx("stat", name), 0);
	snprintf(want, sizeof(want), "Mapped by:  %d (%s)\n", (int)getpid(),
		 program_invocation_short_name);
	assert_out_has(want);
	shmx_close(r);
}

/* What /proc/self/maps says of the mapping at addr: its path column. */
static const char *maps_path_of(const void *addr)
{
	static char line[4352];
	unsigned long lo, hi;
	char *path;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || (unsigned long)addr < lo ||
		    (unsigned long)addr >= hi)
			continue;
		fclose(f);
		line[strcspn(line, "\n")] = 0;
		path = strchr(line, '/');
		return path ? path : "";
	}
	fclose(f);
	return "(not mapped)";
}

/* After a create the creator's mapping is of the object under its name, as
 * lsof, restart checkers and stat on another tool see it: not of the
 * unnamed file it was built as ("/dev/shm/#INODE (deleted)", lsof's DEL). */
static void test_creator_maps_the_object_by_name(void **state)
{
	const char *name = tu_name(), *later = tu_name(), *chan = tu_name();
	struct shmx_region *r, *r2;
	struct shmx_chan *c;

	(void)state;
	assert_int_equal(shmx_create(name, 4096, SHMX_MAP, 0600, &r), 0);
	assert_string_equal(maps_path_of(shmx_addr(r)), tu_shm_path(name));
	/* still the same memory */
	memcpy(shmx_addr(r), "same", 5);
	assert_int_equal(shmx_open(name, SHMX_MAP | SHMX_RDONLY, &r2), 0);
	assert_string_equal(shmx_addr(r2), "same");
	shmx_close(r2);
	shmx_close(r);
	/* mapped after the create */
	assert_int_equal(shmx_create(later, 4096, 0, 0600, &r), 0);
	assert_int_equal(shmx_map(r), 0);
	assert_string_equal(maps_path_of(shmx_addr(r)), tu_shm_path(later));
	shmx_close(r);
	/* a channel, built with its header before it is named */
	assert_int_equal(shmx_chan_create(chan, 4096, SHMX_CHAN_PRODUCER, 0600, &c), 0);
	assert_string_equal(maps_path_of(shmx_addr(shmx_chan_region(c))), tu_shm_path(chan));
	assert_int_equal(shmx_chan_send(c, "x", 1, 0), 0);
	shmx_chan_close(c);
}

/* ---- gc, and ls of libshmx objects ---- */

struct owner {
	pid_t pid;
	int ctl;        /* write end: closing it lets the child exit */
};

/* A child that creates a pair on name and owns it until told to go. */
static struct owner spawn_pair_owner(const char *name)
{
	int ready[2], ctl[2];
	struct owner o;

	tu_ev_init(ready);
	tu_ev_init(ctl);
	o.pid = tu_fork();
	if (o.pid == 0) {
		struct shmx_region *r;
		struct shmx_pair *p;

		close(ready[0]);
		close(ctl[1]);
		TU_CKEQ(shmx_create(name, 4096, 0, 0600, &r), 0);
		TU_CKEQ(shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p), 0);
		tu_ev_post(ready[1]);
		tu_ev_wait(ctl[0], RUN_MS);     /* until the parent closes it */
		_exit(0);
	}
	close(ready[1]);
	close(ctl[0]);
	if (!tu_ev_wait(ready[0], RUN_MS)) {
		tu_child_verdict(o.pid, RUN_MS, NULL);
		fail_msg("the pair owner did not start");
	}
	close(ready[0]);
	o.ctl = ctl[1];
	return o;
}

static void owner_end(struct owner *o, bool kill9)
{
	if (kill9)
		tu_kill9(o->pid, 10000);
	close(o->ctl);
	if (!kill9)
		assert_int_equal(tu_child_verdict(o->pid, 10000, NULL), 0);
}

static bool pair_available(void)
{
	const char *name = tu_name();
	struct shmx_region *r;
	struct shmx_pair *p;
	int err;

	assert_int_equal(shmx_create(name, 4096, 0, 0600, &r), 0);
	err = shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p);
	if (!err)
		shmx_pair_close(p);
	shmx_close(r);
	shmx_pair_unlink(name);
	shmx_unlink(name);
	return err != -ENOSYS;
}

static void test_stat_pair(void **state)
{
	const char *name = tu_name();
	struct owner o;
	char want[200];

	(void)state;
	if (!pair_available()) {
		tu_skip("shmx_pair_create is not implemented yet (-ENOSYS)");
		return;
	}
	o = spawn_pair_owner(name);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("Kind:       libshmx pair\n");
	assert_out_has("State:      alive (its owner holds its lock)\n");
	assert_out_has("Holders:    owner, writer\n");
	snprintf(want, sizeof(want), "Semaphores: %s.shmx-w, %s.shmx-r\n", name, name);
	assert_out_has(want);
	owner_end(&o, true);
	assert_int_equal(shmx("stat", name), 0);
	assert_out_has("State:      stale (its owner is gone, nobody holds a slot or maps it)\n");
	assert_out_has("Holders:    none\n");
	/* rm takes the semaphores with it */
	assert_int_equal(shmx("rm", name), 0);
	assert_false(tu_exists(name));
	snprintf(want, sizeof(want), "%s.shmx-w", name);
	assert_false(tu_sem_exists(want, ""));
}

static void test_gc(void **state)
{
	const char *stale = tu_name(), *live = tu_name(), *plain = tu_name();
	const char *orphan = tu_name(), *plainsem = tu_name();
	char pat[64], want[700], sw[300], sr[300], ow[300], orr[300];
	struct owner o_stale, o_live;

	(void)state;
	if (!pair_available()) {
		tu_skip("shmx_pair_create is not implemented yet (-ENOSYS)");
		return;
	}
	o_stale = spawn_pair_owner(stale);
	o_live = spawn_pair_owner(live);
	owner_end(&o_stale, true);             /* kill -9: its lock is dropped */
	make_region(plain, 4096, NULL, 0);
	remember(extra_sem, plainsem);
	make_sem(plainsem);
	snprintf(ow, sizeof(ow), "%s.shmx-w", orphan);
	snprintf(orr, sizeof(orr), "%s.shmx-r", orphan);
	make_orphan_pair(orphan);
	snprintf(sw, sizeof(sw), "%s.shmx-w", stale);
	snprintf(sr, sizeof(sr), "%s.shmx-r", stale);

	/* ls tells them apart */
	assert_int_equal(shmx("ls", "--bytes"), 0);
	assert_ls(stale, "pair", "stale", "4096", "0600");
	assert_ls(live, "pair", "alive", "4096", "0600");
	assert_ls(plain, "region", "-", "4096", "0600");
	assert_ls(plainsem, "semaphore", "-", NULL, "0600");
	assert_ls(sw, "semaphore", "stale", NULL, "0600");
	assert_ls(ow, "semaphore", "orphan", NULL, "0600");
	snprintf(want, sizeof(want), "%s  (of pair %s)", sw, stale);
	assert_out_has(want);

	snprintf(pat, sizeof(pat), "/" TU_PREFIX "%d-*", (int)getpid());
	/* dry run: says what would go, removes nothing */
	assert_int_equal(shmx("gc", "--dry-run", pat), 0);
	snprintf(want, sizeof(want), "would remove stale pair %s\n", stale);
	assert_out_has(want);
	snprintf(want, sizeof(want), "would remove orphaned semaphores of pair %s\n", orphan);
	assert_out_has(want);
	assert_out_lacks(live);
	assert_out_lacks(plain);
	assert_out_has("gc: would remove 2 stale objects, kept 1 live, 0 unknown, 0 failed "
		       "(dry run: nothing removed)\n");
	/* without a pattern it looks at everything, still removing nothing */
	assert_int_equal(shmx("gc", "-n"), 0);
	snprintf(want, sizeof(want), "would remove stale pair %s\n", stale);
	assert_out_has(want);
	assert_true(tu_exists(stale) && tu_sem_exists(sw, "") && tu_sem_exists(sr, ""));
	assert_true(tu_sem_exists(ow, "") && tu_sem_exists(orr, ""));

	assert_int_equal(shmx("gc", pat + 1), 0);
	snprintf(want, sizeof(want), "removed stale pair %s\n", stale);
	assert_out_has(want);
	snprintf(want, sizeof(want), "removed orphaned semaphores of pair %s\n", orphan);
	assert_out_has(want);
	assert_out_has("gc: removed 2 stale objects, kept 1 live, 0 unknown, 0 failed\n");
	assert_false(tu_exists(stale));
	assert_false(tu_sem_exists(sw, ""));
	assert_false(tu_sem_exists(sr, ""));
	assert_false(tu_sem_exists(ow, ""));
	assert_false(tu_sem_exists(orr, ""));
	/* the live pair and the other programs' objects are all still there */
	assert_true(tu_exists(live));
	snprintf(sw, sizeof(sw), "%s.shmx-w", live);
	assert_true(tu_sem_exists(sw, ""));
	assert_true(tu_exists(plain));
	assert_true(tu_sem_exists(plainsem, ""));

	/* a second run finds nothing more of ours */
	assert_int_equal(shmx("gc", pat), 0);
	assert_out_has("gc: removed 0 stale objects, kept 1 live");
	owner_end(&o_live, false);
}

static void test_gc_usage(void **state)
{
	(void)state;
	assert_int_equal(shmx("gc", "--dry-run", "--force"), 2);
	assert_err_has("shmx: gc: unknown option '--force'");
	assert_string_equal(R.out, "");
}

/* ---- channels ---- */

static void test_channel(void **state)
{
	const char *live = tu_name(), *stale = tu_name();
	int ready[2], err;
	struct shmx_chan *c;
	char want[200];
	pid_t pid;

	(void)state;
	err = shmx_chan_create(live, 4096, SHMX_CHAN_PRODUCER, 0600, &c);
	if (err == -ENOSYS) {
		tu_skip("shmx_chan_create is not implemented yet (-ENOSYS)");
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(shmx_chan_send(c, "hello", 5, 0), 0);

	/* a stale one: its creator is killed */
	tu_ev_init(ready);
	pid = tu_fork();
	if (pid == 0) {
		struct shmx_chan *cc;

		TU_CKEQ(shmx_chan_create(stale, 4096, SHMX_CHAN_PRODUCER, 0600, &cc), 0);
		tu_ready_forever(ready[1]);
	}
	close(ready[1]);
	assert_true(tu_ev_wait(ready[0], RUN_MS));
	close(ready[0]);
	tu_kill9(pid, 10000);

	assert_int_equal(shmx("ls"), 0);
	assert_ls(live, "channel", "alive", NULL, "0600");
	assert_ls(stale, "channel", "stale", NULL, "0600");
	assert_int_equal(shmx("stat", live), 0);
	assert_out_has("Kind:       libshmx channel\n");
	assert_out_has("State:      alive");
	assert_out_has("Channel:    format ");
	assert_out_has("ring 4096 bytes");
	assert_out_has(" 1 sent, 0 received\n");

	snprintf(want, sizeof(want), "/" TU_PREFIX "%d-*", (int)getpid());
	assert_int_equal(shmx("gc", want), 0);
	snprintf(want, sizeof(want), "removed stale channel %s\n", stale);
	assert_out_has(want);
	assert_out_lacks(live);
	assert_false(tu_exists(stale));
	assert_true(tu_exists(live));
	shmx_chan_close(c);
	assert_int_equal(shmx("rm", live), 0);
	assert_false(tu_exists(live));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stat),
		T(test_stat_lists_the_creator),
		T(test_creator_maps_the_object_by_name),
		T(test_stat_pair),
		T(test_gc),
		T(test_gc_usage),
		T(test_channel),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
