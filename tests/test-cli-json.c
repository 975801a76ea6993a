/* SPDX-License-Identifier: MIT */
/* shmx --json (shmx(1), JSON): every reporting command prints one document
 * that python3's json module reads, with the same record for an object
 * whatever the command and errors as {address, errno, error}; on every
 * kind (a POSIX name, a file path, sysv:KEY) and on names with odd bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli-util.h"

#define RUN_MS   20000
#define KEY_BASE 0x4a000000     /* "J": this file's keys, 0x4aPPPPNN */
#define MAX_KEYS 8
#define ODD      "-odd\"\\\xff\xc3\xa9"     /* quote, backslash, not UTF-8, e-acute */
/* ODD as python's unicode_escape shows the decoded string */
#define ODD_PY   "-odd\"\\\\\\ufffd\\xe9"

static char tmpdir[64], odd_shm[2][300];       /* odd names to shm_unlink */
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

/* The tool is run by cli-util.c's shmx()/shmx_in(): result in R. */

/* Reads the document on stdin; argv: the array, an address prefix (or the
 * whole address and "$"), keys (a.b for nested). Checks what every
 * document has (an "errors" list of {address, errno, error}; every member
 * of a record array has every key of the record), then prints a line per
 * member whose address matches, the keys asked for, then a line per error,
 * then the other top-level keys. Strings are shown with unicode_escape. */
static const char py_doc[] =
	"import json, sys\n"
	"d = json.load(sys.stdin)\n"
	"arr, prefix, keys = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
	"record = ['address', 'kind', 'type', 'size', 'mode', 'uid', 'user', 'gid',\n"
	"          'group', 'atime', 'mtime', 'ctime', 'holders', 'sysv', 'channel']\n"
	"ls = ['address', 'type', 'size', 'mode', 'uid', 'user', 'gid', 'group']\n"
	"def get(o, k):\n"
	"    for p in k.split('.'):\n"
	"        o = None if o is None else o[p]\n"
	"    return o\n"
	"def show(v):\n"
	"    return v.encode('unicode_escape').decode() if isinstance(v, str) else str(v)\n"
	"def mine(a):\n"
	"    return a == prefix[:-1] if prefix.endswith('$') else a.startswith(prefix)\n"
	"assert isinstance(d['errors'], list), d\n"
	"for o in d[arr]:\n"
	"    want = ls if 'libshmx' in o or 'status' in o else record\n"
	"    missing = [k for k in want if k not in o]\n"
	"    assert not missing, (missing, o)\n"
	"    assert o.get('mtime') is None or o['mtime'].endswith('Z'), o\n"
	"    if mine(o['address']):\n"
	"        print(' '.join(show(get(o, k)) for k in keys))\n"
	"for e in d['errors']:\n"
	"    assert sorted(k for k in e if k != 'address_hex') == \\\n"
	"        ['address', 'errno', 'error'], e\n"
	"    if mine(e['address']):\n"
	"        print('error', show(e['address']), e['errno'], show(e['error']),\n"
	"              e.get('address_hex', '-'))\n"
	"for k in sorted(d):\n"
	"    if not isinstance(d[k], list):\n"
	"        print(k, json.dumps(d[k], sort_keys=True))\n";

/* python3 over R.out; its output, malloc'd. */
static char *py(const char *arr, const char *prefix, ...)
{
	char *argv[24] = { "/usr/bin/env", "python3", "-c", (char *)py_doc, (char *)arr,
			   (char *)prefix };
	struct tu_result res;
	const char *k;
	va_list ap;
	char *out;
	int n = 6;

	va_start(ap, prefix);
	while ((k = va_arg(ap, const char *)) && n < 23)
		argv[n++] = (char *)k;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(tu_run(argv, R.out, R.out_len, RUN_MS, &res), 0);
	if (res.exit_code) {
		tu_print_lines("document", R.out);
		tu_print_lines("python", res.err);
	}
	assert_int_equal(res.exit_code, 0);
	out = strdup(res.out);
	tu_result_free(&res);
	return out;
}

#define PY(arr, prefix, ...) py(arr, prefix, __VA_ARGS__, NULL)

static void assert_py(char *got, const char *want)
{
	if (strcmp(got, want))
		tu_print_lines("python saw", got);
	assert_string_equal(got, want);
	free(got);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_has_line(const char *got, const char *line)
{
	if (!strstr(got, line)) {
		tu_print_lines("python saw", got);
		fail_msg("no line '%s'", line);
	}
}

static int group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shmx-test-json-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0)
		return -1;
	return tu_group_setup(state);
}

/* Asked once: starting python3 is slow on a loaded machine. */
static bool have_python(void)
{
	static int have = -1;

	if (have < 0)
		have = tu_have_python();
	return have;
}

#define NEED_PYTHON()                                                            \
	do {                                                                     \
		if (!have_python())                                              \
			tu_skip("python3 is absent");                            \
	} while (0)

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	if (f->level > 0)
		remove(path);
	return 0;
}

static int teardown(void **state)
{
	int id;

	while (n_keys > 0) {
		id = shmget(keys[--n_keys], 0, 0);
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
	for (int i = 0; i < 2; i++) {
		if (odd_shm[i][0])
			shm_unlink(odd_shm[i]);
		odd_shm[i][0] = 0;
	}
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tu_result_free(&R);
	return tu_teardown(state);
}

static int group_teardown(void **state)
{
	rmdir(tmpdir);
	return tu_group_teardown(state);
}

/* ---- create, stat, write, rm on each kind ---- */

/* The three kinds, addressed as a user would. */
struct kinds {
	char posix[300], file[300], sysv[32];
	key_t key;
};

static void kinds_make(struct kinds *k)
{
	snprintf(k->posix, sizeof(k->posix), "%s", tu_name());
	snprintf(k->file, sizeof(k->file), "%s/data.bin", tmpdir);
	k->key = tkey();
	snprintf(k->sysv, sizeof(k->sysv), "sysv:0x%08x", (unsigned)k->key);
}

static void test_create_json_is_the_record_of_what_was_made(void **state)
{
	char want[1024], *got;
	struct kinds k;
	unsigned me = (unsigned)geteuid();

	(void)state;
	NEED_PYTHON();
	kinds_make(&k);
	assert_int_equal(shmx("create", "--json", k.posix, "8K", "--mode", "0640"), 0);
	snprintf(want, sizeof(want), "%s posix region 8192 0640 %u [] None None\n", k.posix,
		 me);
	assert_py(PY("created", "", "address", "kind", "type", "size", "mode", "uid",
		     "holders", "sysv", "channel"), want);
	assert_int_equal(shmx("create", "--json", k.file, "4096", "--mode", "0604"), 0);
	snprintf(want, sizeof(want), "%s file file 4096 0604 %u\n", k.file, me);
	assert_py(PY("created", "", "address", "kind", "type", "size", "mode", "uid"), want);
	assert_int_equal(shmx("create", k.sysv, "12K", "--json"), 0);
	snprintf(want, sizeof(want), "%s sysv segment 12288 0600 %u 0x%08x %d False None\n",
		 k.sysv, me, (unsigned)k.key, shmget(k.key, 0, 0));
	assert_py(PY("created", "", "address", "kind", "type", "size", "mode", "uid",
		     "sysv.key", "sysv.id", "sysv.removed", "holders"), want);

	/* it exists: exit 1, nothing in "created", the error as an object */
	assert_int_equal(shmx("create", "--json", k.posix, "4096"), 1);
	got = PY("created", "", "address");
	snprintf(want, sizeof(want), "error %s 17 File exists -\n", k.posix);
	assert_py(got, want);
}

static void test_stat_json_lists_failures_as_error_objects(void **state)
{
	char want[2048], missing[300];
	struct kinds k;

	(void)state;
	NEED_PYTHON();
	kinds_make(&k);
	snprintf(missing, sizeof(missing), "%s", tu_name());
	assert_int_equal(shmx("create", k.posix, "4096"), 0);
	assert_int_equal(shmx("create", k.sysv, "4096"), 0);
	assert_int_equal(shmx("stat", "--json", k.posix, missing, k.sysv, k.file), 1);
	snprintf(want, sizeof(want),
		 "%s posix region 4096\n"
		 "%s sysv segment 4096\n"
		 "error %s 2 No such file or directory -\n"
		 "error %s 2 No such file or directory -\n",
		 k.posix, k.sysv, missing, k.file);
	assert_py(PY("objects", "", "address", "kind", "type", "size"), want);
	assert_non_null(strstr(R.err, "No such file or directory"));
}

static void test_write_json_says_where_how_much_and_what_was_refused(void **state)
{
	char want[1024];
	struct kinds k;

	(void)state;
	NEED_PYTHON();
	kinds_make(&k);
	assert_int_equal(shmx("create", k.file, "4096"), 0);
	assert_int_equal(shmx_in("hello", 5, "write", "--json", k.file, "-o", "100", NULL), 0);
	snprintf(want, sizeof(want), "%s file 4096 100 5\n", k.file);
	assert_py(PY("written", "", "address", "type", "size", "offset", "bytes"), want);
	/* does not fit: exit 1, nothing written, the reason as the error text */
	assert_int_equal(shmx_in("hello", 5, "write", "--json", k.file, "-o", "4094", NULL), 1);
	snprintf(want, sizeof(want), "error %s 27 input does not fit: more than 2 bytes "
		 "from offset 4094 to the end (size 4096); nothing written -\n", k.file);
	assert_py(PY("written", "", "address"), want);
}

static void test_rm_json_lists_what_went_and_what_failed(void **state)
{
	char want[2048], missing[300];
	struct kinds k;

	(void)state;
	NEED_PYTHON();
	kinds_make(&k);
	snprintf(missing, sizeof(missing), "%s", tu_name());
	assert_int_equal(shmx("create", k.posix, "4096", "--mode", "0604"), 0);
	assert_int_equal(shmx("create", k.file, "8192"), 0);
	assert_int_equal(shmx("create", k.sysv, "4096"), 0);
	assert_int_equal(shmx("rm", "--json", k.posix, missing, k.file, k.sysv), 1);
	snprintf(want, sizeof(want),
		 "%s posix region 4096 0604 None\n"
		 "%s file file 8192 0600 None\n"
		 "%s sysv segment 4096 0600 True\n"
		 "error %s 2 No such file or directory -\n",
		 k.posix, k.file, k.sysv, missing);
	assert_py(PY("removed", "", "address", "kind", "type", "size", "mode",
		     "sysv.removed"), want);
	assert_false(tu_exists(k.posix));
	assert_true(shmget(k.key, 0, 0) < 0);
	assert_int_equal(access(k.file, F_OK), -1);
}

/* ---- gc ---- */

/* A child makes a pair (or a channel) named name, then is killed: the
 * object is stale. */
static void make_stale(const char *name, bool channel)
{
	int ready[2], status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shmx_region *r;
		struct shmx_pair *p;
		struct shmx_chan *ch;
		int err;

		if (channel) {
			err = shmx_chan_create(name, 4096, SHMX_CHAN_PRODUCER, 0600, &ch);
		} else {
			err = shmx_create(name, 4096, 0, 0600, &r);
			if (!err)
				err = shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p);
		}
		c = err ? 'E' : 'K';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	kill(pid, SIGKILL);
	assert_int_equal(tu_waitpid(pid, 10000, &status), 0);
	assert_int_equal(c, 'K');
}

/* A pair libshmx made whose region is gone (shmx gc removes only pair
 * files it has verified as libshmx's). */
static void make_orphan(const char *name)
{
	struct shmx_region *r = NULL;
	struct shmx_pair *p = NULL;

	assert_int_equal(shmx_create(name, 4096, 0, 0600, &r), 0);
	assert_int_equal(shmx_pair_create(r, SHMX_PAIR_WRITER, 0600, &p), 0);
	shmx_pair_close(p);
	shmx_close(r);
	assert_int_equal(shmx_unlink(name), 0);
}

static void test_gc_json_says_what_goes_why_and_what_stays(void **state)
{
	const char *pair = tu_name(), *chan = tu_name(), *orphan = tu_name();
	const char *live = tu_name();
	char pat[64], want[512], *got;
	struct shmx_chan *c;

	(void)state;
	NEED_PYTHON();
	make_stale(pair, false);
	make_stale(chan, true);
	make_orphan(orphan);
	assert_int_equal(shmx_chan_create(live, 4096, SHMX_CHAN_PRODUCER, 0600, &c), 0);
	snprintf(pat, sizeof(pat), "/" TU_PREFIX "%d-*", (int)getpid());

	assert_int_equal(shmx("gc", "--dry-run", "--json", pat), 0);
	got = PY("objects", "", "address", "kind", "type", "state", "action", "reason");
	assert_int_equal(count_lines(got), 4 + 2);
	snprintf(want, sizeof(want), "%s posix pair stale would_remove its owner is gone\n",
		 pair);
	assert_has_line(got, want);
	snprintf(want, sizeof(want), "%s posix channel stale would_remove its owner is "
		 "gone\n", chan);
	assert_has_line(got, want);
	/* the first of its files, the control object (a region file) */
	snprintf(want, sizeof(want), "%s posix region orphan would_remove its region is "
		 "gone\n", orphan);
	assert_has_line(got, want);
	snprintf(want, sizeof(want), "%s posix channel alive kept its owner holds its lock\n",
		 live);
	assert_has_line(got, want);
	assert_has_line(got, "counts {\"failed\": 0, \"kept\": 1, \"unknown\": 0, "
			"\"would_remove\": 3}\n");
	assert_has_line(got, "dry_run true\n");
	free(got);
	assert_true(tu_exists(pair) && tu_exists(chan) && tu_sem_exists(orphan, ".shmx-w"));

	assert_int_equal(shmx("gc", "--json", pat), 0);
	got = PY("objects", "", "address", "type", "action");
	assert_int_equal(count_lines(got), 4 + 2);
	snprintf(want, sizeof(want), "%s pair removed\n", pair);
	assert_has_line(got, want);
	snprintf(want, sizeof(want), "%s region removed\n", orphan);
	assert_has_line(got, want);
	assert_has_line(got, "dry_run false\n");
	free(got);
	assert_false(tu_exists(pair) || tu_exists(chan) || tu_sem_exists(orphan, ".shmx-w"));
	assert_true(tu_exists(live));
	shmx_chan_close(c);
}

/* ---- ls: the shared keys too ---- */

static void test_ls_json_carries_the_shared_keys(void **state)
{
	const char *name = tu_name();
	char want[512], prefix[300];
	key_t key = tkey();
	int id;

	(void)state;
	NEED_PYTHON();
	assert_int_equal(shmx("create", name, "4096", "--mode", "0640"), 0);
	assert_int_equal(shmx("ls", "--json"), 0);
	snprintf(want, sizeof(want), "%s %s region posix 4096 0640\n", name, name);
	snprintf(prefix, sizeof(prefix), "%s$", name);
	assert_py(PY("objects", prefix, "address", "name", "type", "kind", "size", "mode"),
		  want);
	id = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0604);
	assert_true(id >= 0);
	assert_int_equal(shmx("ls", "--sysv", "--json"), 0);
	snprintf(want, sizeof(want), "sysv:@%d sysv segment 8192 0604 0x%08x\n", id,
		 (unsigned)key);
	snprintf(prefix, sizeof(prefix), "sysv:@%d$", id);
	assert_py(PY("sysv", prefix, "address", "kind", "type", "size", "mode", "key"), want);
}

/* ---- names with odd bytes: escaped, and their exact bytes in hex ---- */

static const char *hex_of(const char *s)
{
	static char buf[700];
	size_t n = 0;

	for (; *s; s++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%02x", (unsigned char)*s);
	return buf;
}

static void odd_name_everywhere(const char *addr, const char *shown_py)
{
	char want[1024], hex[700];

	snprintf(hex, sizeof(hex), "%s", hex_of(addr));
	assert_int_equal(shmx("create", "--json", addr, "4096"), 0);
	snprintf(want, sizeof(want), "%s %s\n", shown_py, hex);
	assert_py(PY("created", "", "address", "address_hex"), want);
	assert_int_equal(shmx("stat", "--json", addr), 0);
	assert_py(PY("objects", "", "address", "address_hex"), want);
	assert_int_equal(shmx_in("x", 1, "write", "--json", addr, NULL), 0);
	assert_py(PY("written", "", "address", "address_hex"), want);
	assert_int_equal(shmx("rm", "--json", addr), 0);
	assert_py(PY("removed", "", "address", "address_hex"), want);
	assert_int_equal(shmx("rm", "--json", addr), 1);
	snprintf(want, sizeof(want), "error %s 2 No such file or directory %s\n", shown_py,
		 hex);
	assert_py(PY("removed", "", "address"), want);
}

static void test_odd_bytes_in_names_are_escaped_in_every_document(void **state)
{
	char addr[300], shown_py[1024], prefix[64];
	int fd;

	(void)state;
	NEED_PYTHON();
	snprintf(addr, sizeof(addr), "%s" ODD, tu_name());
	snprintf(odd_shm[0], sizeof(odd_shm[0]), "%s", addr);
	snprintf(shown_py, sizeof(shown_py), "%.*s" ODD_PY,
		 (int)(strlen(addr) - strlen(ODD)), addr);
	odd_name_everywhere(addr, shown_py);
	snprintf(addr, sizeof(addr), "%s/file" ODD, tmpdir);
	snprintf(shown_py, sizeof(shown_py), "%s/file" ODD_PY, tmpdir);
	odd_name_everywhere(addr, shown_py);

	/* a name no address can take (a tab): only ls shows it */
	snprintf(prefix, sizeof(prefix), "%s-tab", tu_name());
	snprintf(odd_shm[1], sizeof(odd_shm[1]), "%s\t\xff", prefix);
	fd = shm_open(odd_shm[1], O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(shmx("ls", "--json"), 0);
	snprintf(shown_py, sizeof(shown_py), "%s\\t\\ufffd %s\n", prefix,
		 hex_of(odd_shm[1]));
	assert_py(PY("objects", prefix, "address", "address_hex"), shown_py);
}

/* ---- what does not change ---- */

static void test_usage_errors_print_no_document(void **state)
{
	(void)state;
	assert_int_equal(shmx("rm", "--json", "sysv:zz"), 2);
	assert_string_equal(R.out, "");
	assert_int_equal(shmx("create", "--json", tu_name(), "0"), 2);
	assert_string_equal(R.out, "");
	assert_int_equal(shmx("gc", "--json", "--force"), 2);
	assert_string_equal(R.out, "");
	assert_int_equal(shmx("write", "--json"), 2);
	assert_string_equal(R.out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
/* its own teardown: odd names, keys and files besides cli-util's */
#define TJ(f) cmocka_unit_test_teardown(f, teardown)
		TJ(test_create_json_is_the_record_of_what_was_made),
		TJ(test_stat_json_lists_failures_as_error_objects),
		TJ(test_write_json_says_where_how_much_and_what_was_refused),
		TJ(test_rm_json_lists_what_went_and_what_failed),
		TJ(test_gc_json_says_what_goes_why_and_what_stays),
		TJ(test_ls_json_carries_the_shared_keys),
		TJ(test_odd_bytes_in_names_are_escaped_in_every_document),
		TJ(test_usage_errors_print_no_document),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
