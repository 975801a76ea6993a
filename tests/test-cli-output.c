/* SPDX-License-Identifier: MIT */
/* Details of what the tool prints: a System V segment's pids and times
 * (an attach or detach that never happened says "never", not 1970), gc's
 * dry-run counts what it would remove, the exit codes in shmx --help, and
 * the example writer naming the object when its reader dies. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS 30000

static void test_segment_pids_and_times(void **state)
{
	char arg[32], want[128];

	(void)state;
	sysv_id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	assert_true(sysv_id >= 0);
	snprintf(arg, sizeof(arg), "sysv:@%d", sysv_id);
	assert_int_equal(shmx("stat", arg), 0);
	snprintf(want, sizeof(want), "Pids:       creator %d, last attach or detach none\n",
		 (int)getpid());
	assert_out_has(want);
	assert_out_lacks("pid:");
	assert_out_has("Attach:     never\n");
	assert_out_has("Detach:     never\n");
	assert_out_has("Change:     ");
	assert_out_lacks("Access:");
	assert_out_lacks("Modify:");
	assert_out_lacks("1970-01-01");
	assert_int_equal(shmx("stat", "--json", arg), 0);
	assert_out_has("\"atime\":null,\"mtime\":null,\"ctime\":\"");
}

static void test_gc_dry_run_json_counts_what_it_would_remove(void **state)
{
	const char *name = tu_name();
	struct shmx_chan *c;
	char pat[64];
	int ready[2];
	pid_t pid;

	(void)state;
	tu_ev_init(ready);
	pid = tu_fork();
	if (pid == 0) {
		TU_CKEQ(shmx_chan_create(name, 4096, SHMX_CHAN_PRODUCER, 0600, &c), 0);
		tu_ready_forever(ready[1]);
	}
	close(ready[1]);
	assert_true(tu_ev_wait(ready[0], RUN_MS));
	close(ready[0]);
	tu_kill9(pid, 10000);
	snprintf(pat, sizeof(pat), "/" TU_PREFIX "%d-*", (int)getpid());
	assert_int_equal(shmx("gc", "--dry-run", "--json", pat), 0);
	assert_out_has("\"counts\":{\"would_remove\":1,\"kept\":0,\"unknown\":0,\"failed\":0}");
	assert_out_lacks("\"removed\"");
	assert_true(tu_exists(name));
	assert_int_equal(shmx("gc", "--json", pat), 0);
	assert_out_has("\"counts\":{\"removed\":1,");
	assert_false(tu_exists(name));
}

static void test_help_lists_every_exit_status(void **state)
{
	(void)state;
	assert_int_equal(shmx("--help"), 0);
	assert_out_has("0 success");
	assert_out_has("2 usage error");
	assert_out_has("3 recv: the stream ended, some of it lost");
	assert_out_has("128+N ");
}

/* ./writer NAME with ./reader NAME attached; the reader is killed: the
 * writer says which object's reader died, as the reader does for a writer. */
static void test_writer_names_the_object_of_a_dead_reader(void **state)
{
	const char *name = tu_name();
	char *wargv[] = { (char *)tu_build_path("examples/writer"), (char *)name, NULL };
	char *rargv[] = { (char *)tu_build_path("examples/reader"), (char *)name, NULL };
	int win, werr, rout, code;
	struct shmx_info info = { 0 };
	char want[300], ctl[300], *msg;
	int64_t end;
	pid_t w, r;

	(void)state;
	if (access(wargv[0], X_OK)) {
		tu_skip("examples are not built (-Dexamples=false)");
		return;
	}
	signal(SIGPIPE, SIG_IGN);
	w = tu_spawn(wargv, &win, NULL, &werr);
	r = tu_spawn(rargv, NULL, &rout, NULL);
	assert_true(w > 0 && r > 0);
	assert_int_equal(write(win, "hello\n", 6), 6);
	/* the reader holds its slot, on the pair's control object (its
	 * output waits in its stdio buffer) */
	snprintf(ctl, sizeof(ctl), "%s.shmx-p", name);
	end = tu_now_ms() + RUN_MS;
	while (tu_now_ms() < end && (shmx_stat(ctl, &info) ||
				     !(info.holders & (1u << SHMX_SLOT_READER))))
		usleep(1000);
	assert_true(info.holders & (1u << SHMX_SLOT_READER));
	tu_kill9(r, RUN_MS);
	assert_int_equal(write(win, "again\n", 6), 6);
	close(win);
	tu_child_verdict(w, RUN_MS, &code);
	msg = tu_slurp(werr, RUN_MS);
	close(rout);
	snprintf(want, sizeof(want), "writer: %s: ", name);
	if (!strstr(msg, want))
		tu_print_lines("writer", msg);
	assert_int_equal(code, 1);
	assert_non_null(strstr(msg, want));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_segment_pids_and_times),
		T(test_gc_dry_run_json_counts_what_it_would_remove),
		T(test_help_lists_every_exit_status),
		T(test_writer_names_the_object_of_a_dead_reader),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
