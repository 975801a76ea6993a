/* SPDX-License-Identifier: MIT */
/* The shmx tool on every kind of shared memory (shmx(1), ADDRESSES): a
 * POSIX name, a file path, a System V segment by key and by id. Each
 * command on each kind, stat --json read by python3's json module, ls
 * --sysv, and the classic System V program exchanging data with the tool;
 * ipcs -m shows no segment left behind. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS   20000
#define KEY_BASE 0x4b000000     /* "K": this file's keys, 0x4bPPPPNN */
#define MAX_KEYS 16

static char tmpdir[64];
static key_t keys[MAX_KEYS];
static int n_keys;

static key_t tkey(void)
{
	static unsigned n;
	key_t k = (key_t)(KEY_BASE | ((getpid() & 0xffff) << 8) | (n++ & 0xff));

	assert_true(n_keys < MAX_KEYS);
	keys[n_keys++] = k;
	return k;
}

static const char *fpath(const char *what)
{
	static char bufs[4][128];
	static unsigned next, seq;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s-%u", tmpdir, what, seq++);
	return b;
}

/* The tool is run by cli-util.c's shmx()/shmx_stdin(): result in R; its
 * assert_out_has() prints the run when it fails. */

/* Whether ipcs -m lists key (it reads what the kernel lists). */
static bool ipcs_has(key_t key)
{
	char *argv[] = { "/usr/bin/ipcs", "-m", NULL };
	struct tu_result res;
	char want[16];
	bool has;

	snprintf(want, sizeof(want), "0x%08x ", (unsigned)key);
	assert_int_equal(tu_run(argv, NULL, 0, RUN_MS, &res), 0);
	assert_int_equal(res.exit_code, 0);
	has = strstr(res.out, want) != NULL;
	tu_result_free(&res);
	return has;
}

static int group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shmx-test-kinds-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0 || access("/usr/bin/ipcs", X_OK))
		return -1;
	return tu_group_setup(state);
}

static int teardown(void **state)
{
	int id;

	while (n_keys > 0) {
		id = shmget(keys[--n_keys], 0, 0);
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
	tu_empty_dir(tmpdir);
	tu_result_free(&R);
	return tu_teardown(state);
}

static int group_teardown(void **state)
{
	rmdir(tmpdir);
	return tu_group_teardown(state);
}

/* ---- each command on each kind ---- */

/* create (mode exact under umask 077), write, cat, stat, rm on addr. */
static void every_command(const char *addr, const char *kind_line)
{
	mode_t old = umask(077);

	assert_int_equal(shmx("create", addr, "8192", "--mode", "0644"), 0);
	umask(old);
	assert_int_equal(shmx("create", addr, "4096"), 1);
	assert_int_equal(shmx_stdin("round trip", 10, "write", addr, "--offset", "100"), 0);
	assert_int_equal(shmx("cat", addr, "--offset", "100", "--length", "10"), 0);
	assert_string_equal(R.out, "round trip");
	assert_int_equal(shmx("stat", addr), 0);
	assert_out_has(kind_line);
	assert_out_has("Size:       8192 ");
	assert_out_has("Mode:       0644 (-rw-r--r--)");
	assert_int_equal(shmx("rm", addr), 0);
	assert_int_equal(shmx("stat", addr), 1);
	assert_int_equal(shmx("cat", addr), 1);
}

static void test_every_command_on_a_posix_name(void **state)
{
	const char *name = tu_name();

	(void)state;
	every_command(name + 1, "Kind:       region\n");        /* "name": POSIX */
	assert_false(tu_exists(name));
}

static void test_every_command_on_a_file(void **state)
{
	const char *path = fpath("data.bin");
	struct stat st;

	(void)state;
	every_command(path, "Kind:       file\n");
	assert_int_equal(lstat(path, &st), -1);
	/* "./x" is a file in the working directory */
	assert_int_equal(chdir(tmpdir), 0);
	every_command("./rel.bin", "Kind:       file\n");
	assert_int_equal(chdir("/"), 0);
}

static void test_a_file_is_created_durably_and_exactly(void **state)
{
	const char *path = fpath("durable");
	struct stat st;

	(void)state;
	assert_int_equal(shmx("create", path, "4096", "--durable", "--mode", "0604"), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_int_equal(st.st_size, 4096);
	assert_int_equal(shmx("create", tu_name(), "4096", "--durable"), 2);
}

static void test_every_command_on_a_sysv_segment(void **state)
{
	key_t k = tkey();
	char addr[32], byid[32];
	int id;

	(void)state;
	snprintf(addr, sizeof(addr), "sysv:0x%08x", (unsigned)k);
	every_command(addr, "Kind:       System V segment\n");
	assert_false(ipcs_has(k));
	/* the same by decimal key and by id */
	snprintf(addr, sizeof(addr), "sysv:%d", (int)k);
	assert_int_equal(shmx("create", addr, "4096"), 0);
	assert_true(ipcs_has(k));
	id = shmget(k, 0, 0);
	assert_true(id >= 0);
	snprintf(byid, sizeof(byid), "sysv:@%d", id);
	assert_int_equal(shmx_stdin("by id", 5, "write", byid), 0);
	assert_int_equal(shmx("cat", addr, "--length", "5"), 0);
	assert_string_equal(R.out, "by id");
	assert_int_equal(shmx("stat", byid), 0);
	assert_out_has("Pids:       creator ");
	assert_out_has("Attached:   0\n");
	assert_int_equal(shmx("rm", byid), 0);
	assert_false(ipcs_has(k));
	assert_int_equal(shmx("cat", byid), 1);
}

static void test_addresses_that_are_wrong_are_usage_errors(void **state)
{
	static const char *const bad[] = { "sysv:", "sysv:0x", "sysv:12z", "sysv:@",
					   "sysv:@-1", "sysv:@x", "sysv:0x100000000" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(shmx("stat", bad[i]), 2);
		assert_int_equal(shmx("rm", bad[i]), 2);
		assert_int_equal(shmx("create", bad[i], "4096"), 2);
	}
	assert_int_equal(shmx("create", "sysv:@5", "4096"), 2);
	assert_int_equal(shmx("create", "sysv:0x1234", "4096", "--lazy"), 2);
	/* "a/b" is a file path: its directory does not exist here */
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(shmx("create", "a/b", "4096"), 1);
	assert_non_null(strstr(R.err, "No such file or directory"));
	assert_int_equal(chdir("/"), 0);
}

/* ---- stat --json: one schema for every kind ---- */

static const char py_stat[] =
	"import json, sys\n"
	"for o in json.load(sys.stdin)['objects']:\n"
	"    s = o['sysv']\n"
	"    print(o['kind'], o['type'], o['size'], o['mode'], o['uid'],\n"
	"          o['holders'] is None, o['mapped_by'] is None,\n"
	"          s['attached'] if s else '-', s['cpid'] > 0 if s else '-',\n"
	"          o['channel'] is None, len(o['ctime']) > 0)\n";

static void test_stat_json_is_one_schema_for_every_kind(void **state)
{
	const char *name = tu_name(), *path = fpath("json");
	char *argv[] = { "/usr/bin/env", "python3", "-c", (char *)py_stat, NULL };
	struct tu_result py;
	char addr[32];

	(void)state;
	if (!tu_have_python())
		tu_skip("no python3");
	snprintf(addr, sizeof(addr), "sysv:0x%08x", (unsigned)tkey());
	assert_int_equal(shmx("create", name, "4096", "--mode", "0640"), 0);
	assert_int_equal(shmx("create", path, "8192", "--mode", "0604"), 0);
	assert_int_equal(shmx("create", addr, "12288", "--mode", "0600"), 0);
	assert_int_equal(shmx("stat", "--json", name, path, addr), 0);
	assert_int_equal(tu_run(argv, R.out, R.out_len, RUN_MS, &py), 0);
	if (py.exit_code)
		tu_print_lines("python", py.err);
	assert_int_equal(py.exit_code, 0);
	assert_string_equal(py.out,
			    "posix region 4096 0640 0 False False - - True True\n"
			    "file file 8192 0604 0 False False - - True True\n"
			    "sysv segment 12288 0600 0 True True 0 True True True\n");
	tu_result_free(&py);
	assert_int_equal(shmx("rm", name, path, addr), 0);
}

/* ---- ls --sysv: the columns of ls, what ipcs -m shows and more ---- */

static void test_ls_sysv_shows_key_id_attaches_and_creator(void **state)
{
	key_t k = tkey();
	struct shmid_ds ds;
	char want[160];
	void *p;
	int id;

	(void)state;
	id = shmget(k, 8192, IPC_CREAT | IPC_EXCL | 0640);
	assert_true(id >= 0);
	p = shmat(id, NULL, 0);
	assert_true(p != (void *)-1);
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(shmx("ls", "--sysv", "--bytes"), 0);
	snprintf(want, sizeof(want), "0x%08x %-10d %-10s %-5s %10s %-6s %-8d %-8d",
		 (unsigned)k, id, "root", "640", "8192", "1", (int)ds.shm_cpid,
		 (int)ds.shm_lpid);
	/* qemu-user runs posix_spawn()'s vfork as a fork: the child's exec
	 * detaches its copy of the attach and becomes the last pid. */
	if (tu_emulated()) {
		print_message("# under emulation (%s): LPID not compared (qemu-user "
			      "spawns with fork, not vfork)\n", tu_emulated());
		want[strlen(want) - 8] = 0;
	}
	if (getuid() == 0)
		assert_out_has(want);
	assert_int_equal(shmx("ls", "--sysv", "--json"), 0);
	snprintf(want, sizeof(want), "{\"key\":\"0x%08x\",\"id\":%d,", (unsigned)k, id);
	assert_out_has(want);
	snprintf(want, sizeof(want), "\"attached\":1,\"cpid\":%d,", (int)ds.shm_cpid);
	assert_out_has(want);
	shmdt(p);
	shmctl(id, IPC_RMID, NULL);
}

/* ---- the classic System V program and the tool ---- */

struct tut {
	char path[128], proj[8], sem1[128], sem2[128], addr[32];
};

static void tut_setup(struct tut *t)
{
	const char *base = tu_name();
	key_t k;
	int fd;

	snprintf(t->path, sizeof(t->path), "%s", fpath("ftok"));
	fd = open(t->path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(t->proj, sizeof(t->proj), "%d", 'K');
	snprintf(t->sem1, sizeof(t->sem1), "%s.shmx-w", base);
	snprintf(t->sem2, sizeof(t->sem2), "%s.shmx-r", base);
	assert_int_equal(shmx_sysv_key(t->path, 'K', &k), 0);
	assert_true(n_keys < MAX_KEYS);
	keys[n_keys++] = k;
	snprintf(t->addr, sizeof(t->addr), "sysv:0x%08x", (unsigned)k);
}

static int tutorial(char *verb, struct tut *t, char *text, struct tu_result *res)
{
	char *argv[] = { getenv("SHMX_SYSV_TUTORIAL"), verb, t->path, t->proj, t->sem1,
			 t->sem2, text, NULL };

	assert_non_null(argv[0]);
	assert_int_equal(tu_run(argv, NULL, 0, RUN_MS, res), 0);
	if (res->exit_code)
		tu_print_lines("sysv-tutorial stderr", res->err);
	return res->exit_code;
}

static void test_cat_reads_what_a_tutorial_writer_wrote(void **state)
{
	struct tu_result res;
	struct tut t;

	(void)state;
	tut_setup(&t);
	assert_int_equal(tutorial("write", &t, "from the tutorial", &res), 0);
	tu_result_free(&res);
	assert_int_equal(shmx("cat", t.addr, "--length", "17"), 0);
	assert_string_equal(R.out, "from the tutorial");
	assert_int_equal(shmx("rm", t.addr), 0);
	assert_false(ipcs_has(keys[n_keys - 1]));
}

static void test_a_tutorial_reader_reads_what_write_wrote(void **state)
{
	static const char text[] = "from shmx write";
	struct tu_result res;
	struct tut t;

	(void)state;
	tut_setup(&t);
	assert_int_equal(shmx("create", t.addr, "4096", "--mode", "0644"), 0);
	assert_true(ipcs_has(keys[n_keys - 1]));
	assert_int_equal(shmx_in(text, sizeof(text), "write", t.addr, NULL), 0);
	assert_int_equal(tutorial("read", &t, NULL, &res), 0);
	assert_string_equal(res.out, text);
	tu_result_free(&res);
	/* the tutorial's reader destroys the segment when done */
	assert_false(ipcs_has(keys[n_keys - 1]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
/* its own teardown: keys and files besides cli-util's */
#define TK(f) cmocka_unit_test_teardown(f, teardown)
		TK(test_every_command_on_a_posix_name),
		TK(test_every_command_on_a_file),
		TK(test_a_file_is_created_durably_and_exactly),
		TK(test_every_command_on_a_sysv_segment),
		TK(test_addresses_that_are_wrong_are_usage_errors),
		TK(test_stat_json_is_one_schema_for_every_kind),
		TK(test_ls_sysv_shows_key_id_attaches_and_creator),
		TK(test_cat_reads_what_a_tutorial_writer_wrote),
		TK(test_a_tutorial_reader_reads_what_write_wrote),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
