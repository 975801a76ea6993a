/* SPDX-License-Identifier: MIT */
/* The shmx tool's ls: the columns of every kind of object in /dev/shm, its
 * JSON (parsed here, and by python3 where there is one), and ls --sysv on
 * the System V table. Each run exec's the tool as a user would. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* ---- ls ---- */

/* A small structural JSON check: one value, strings with valid escapes and
 * no raw control bytes, balanced containers, nothing after the value. */
static const char *js_value(const char *p);

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *js_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *js_container(const char *p, char close, bool object)
{
	p = js_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = js_string(js_ws(p));
			if (!p || *(p = js_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = js_value(p);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *js_value(const char *p)
{
	p = js_ws(p);
	if (*p == '{')
		return js_container(p, '}', true);
	if (*p == '[')
		return js_container(p, ']', false);
	if (*p == '"')
		return js_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		p += *p == '-';
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
		       *p == '+' || *p == '-')
			p++;
		return p;
	}
	return NULL;
}

static void assert_json(const char *s)
{
	const char *end = js_value(s);

	if (!end || *js_ws(end)) {
		tu_print_lines("not JSON", s);
		fail_msg("output is not well-formed JSON");
	}
}

/* Run python3 over R.out: one line per object of ours, fields escaped. */
static const char py_list[] =
	"import json, sys\n"
	"d = json.load(sys.stdin)\n"
	"for o in d[sys.argv[1]]:\n"
	"    if sys.argv[1] == 'sysv':\n"
	"        print(o['id'], o['size'], o['mode'], o['attached'], o['key'])\n"
	"    elif o['name'].startswith(sys.argv[2]):\n"
	"        print(o['name'].encode('unicode_escape').decode(), o['type'], o['size'],\n"
	"              o['mode'], o['libshmx'], o['state'], o.get('name_hex', '-'))\n";

static char *python_json(const char *section, const char *prefix)
{
	char *argv[] = { "/usr/bin/env", "python3", "-c", (char *)py_list, (char *)section,
			 (char *)prefix, NULL };
	struct tu_result py;
	char *out;

	assert_int_equal(tu_run(argv, R.out, R.out_len, RUN_MS, &py), 0);
	if (py.exit_code != 0)
		tu_print_lines("python", py.err);
	assert_int_equal(py.exit_code, 0);
	out = strdup(py.out);
	tu_result_free(&py);
	return out;
}

static void test_ls(void **state)
{
	const char *a = tu_name(), *b = tu_name(), *c = tu_name();
	char odd[300], odd_shown[300], want[1300], prefix[64], hex[600];
	struct shmx_region *r;
	int fd;

	(void)state;
	snprintf(prefix, sizeof(prefix), "/" TU_PREFIX "%d-", (int)getpid());
	assert_int_equal(shmx_create(a, 12345, 0, 0640, &r), 0);
	shmx_close(r);
	make_region(b, 1536, NULL, 0);
	make_region(c, 100, NULL, 0);
	/* a name some other program could make: quote, backslash, tab,
	 * an invalid UTF-8 byte, and a valid e-acute */
	snprintf(odd, sizeof(odd), "%s-odd\"\\\t\xff\xc3\xa9", tu_name());
	remember(extra_shm, odd);
	fd = shm_open(odd, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 7), 0);
	close(fd);

	assert_int_equal(shmx("ls"), 0);
	assert_string_equal(R.err, "");
	assert_memory_equal(R.out, "KIND      STATE   ", 18);
	assert_ls(a, "region", "-", "13K", "0640");
	assert_ls(b, "region", "-", "1.5K", "0600");
	assert_ls(c, "region", "-", "100", "0600");
	/* odd bytes are shown escaped, never raw */
	snprintf(odd_shown, sizeof(odd_shown), "%.*s\"\\x5c\\x09\\xff\xc3\xa9",
		 (int)(strchr(odd, '"') - odd), odd);
	assert_out_has(odd_shown);
	assert_null(strchr(R.out, '\t'));

	assert_int_equal(shmx("ls", "-b"), 0);
	assert_ls(a, "region", "-", "12345", "0640");
	assert_ls(c, "region", "-", "100", "0600");

	assert_int_equal(shmx("ls", "--json"), 0);
	assert_json(R.out);
	snprintf(want, sizeof(want), "{\"name\":\"%s\",\"kind\":\"posix\",\"type\":\"region\","
		 "\"size\":12345,\"mode\":\"0640\",", a);
	assert_out_has(want);
	snprintf(want, sizeof(want), "\"name\":\"%.*s\\\"\\\\\\t\\ufffd\xc3\xa9\",\"name_hex\":\"",
		 (int)(strchr(odd, '"') - odd), odd);
	assert_out_has(want);
	if (!tu_have_python()) {
		tu_skip("python3 is absent: checked with the C structural check only");
		return;
	}
	{
		char *got = python_json("objects", prefix);
		size_t n = 0;

		for (const char *p = odd; *p; p++)
			n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02x", (unsigned char)*p);
		int lines = 0;

		/* one line each, in whatever order the names sort */
		for (const char *p = got; *p; p++)
			lines += *p == '\n';
		tu_print_lines("python saw", got);
		assert_int_equal(lines, 4);
		snprintf(want, sizeof(want), "%s region 12345 0640 False None -\n", a);
		assert_non_null(strstr(got, want));
		snprintf(want, sizeof(want), "%s region 1536 0600 False None -\n", b);
		assert_non_null(strstr(got, want));
		snprintf(want, sizeof(want), "%s region 100 0600 False None -\n", c);
		assert_non_null(strstr(got, want));
		snprintf(want, sizeof(want), "%.*s\"\\\\\\t\\ufffd\\xe9 region 7 0600 False None %s\n",
			 (int)(strchr(odd, '"') - odd), odd, hex);
		assert_non_null(strstr(got, want));
		free(got);
	}
}

static void test_ls_sysv(void **state)
{
	char want[200];

	(void)state;
	sysv_id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0640);
	assert_true(sysv_id >= 0);
	assert_int_equal(shmx("ls", "--sysv", "--bytes"), 0);
	assert_out_has("KEY        SHMID      OWNER      PERMS       SIZE NATTCH CPID     LPID     "
		       "STATUS\n");
	snprintf(want, sizeof(want), "0x00000000 %-10d %-10s %-5s %10s %-6s", sysv_id, "root",
		 "640", "8192", "0");
	if (getuid() == 0)
		assert_out_has(want);
	assert_int_equal(shmx("ls", "--sysv", "--json"), 0);
	assert_json(R.out);
	snprintf(want, sizeof(want), "\"id\":%d,", sysv_id);
	assert_out_has(want);
	if (tu_have_python()) {
		char *got = python_json("sysv", "");

		snprintf(want, sizeof(want), "%d 8192 0640 0 0x00000000\n", sysv_id);
		assert_non_null(strstr(got, want));
		free(got);
	}
	shmctl(sysv_id, IPC_RMID, NULL);
	sysv_id = -1;
}

/* A symlink, a FIFO and a directory in /dev/shm, what the library guards
 * against: ls lists them, marked, in text and JSON. */
static void test_ls_lists_what_was_planted(void **state)
{
	const char *base = tu_name();
	char link[300], fifo[300], dir[300], want[400];

	(void)state;
	snprintf(link, sizeof(link), "/dev/shm%s-link", base);
	snprintf(fifo, sizeof(fifo), "/dev/shm%s-fifo", base);
	snprintf(dir, sizeof(dir), "/dev/shm%s-dir", base);
	remember(extra_shm, link + strlen("/dev/shm"));
	remember(extra_shm, fifo + strlen("/dev/shm"));
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	shmx("ls");
	rmdir(dir);
	assert_exit(0);
	assert_ls(link + strlen("/dev/shm"), "symlink", "-", NULL, NULL);
	assert_ls(fifo + strlen("/dev/shm"), "fifo", "-", NULL, NULL);
	assert_ls(dir + strlen("/dev/shm"), "directory", "-", NULL, NULL);
	snprintf(want, sizeof(want), "%s-link -> /etc/passwd  (planted: not an object)\n",
		 base);
	assert_out_has(want);
	snprintf(want, sizeof(want), "%s-fifo  (planted: not an object)\n", base);
	assert_out_has(want);
	assert_int_equal(mkdir(dir, 0700), 0);
	shmx("ls", "--json");
	rmdir(dir);
	assert_exit(0);
	assert_json(R.out);
	snprintf(want, sizeof(want), "{\"name\":\"%s-link\",\"kind\":\"posix\",\"type\":"
		 "\"symlink\",", base);
	assert_out_has(want);
	assert_out_has("\"target\":\"/etc/passwd\"");
	snprintf(want, sizeof(want), "{\"name\":\"%s-dir\",\"kind\":\"posix\",\"type\":"
		 "\"directory\",", base);
	assert_out_has(want);
}

/* A name with bytes ls escapes (a terminal escape, a backslash), made by
 * another program: stat and rm take it as ls prints it. */
static void test_names_as_ls_prints_them_are_taken(void **state)
{
	const char *base = tu_name();
	char odd[300], shown[300], *line, *end;
	int fd;

	(void)state;
	snprintf(odd, sizeof(odd), "%s-\x1b[31m-\\x41", base);
	remember(extra_shm, odd);
	fd = shm_open(odd, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64), 0);
	close(fd);
	assert_int_equal(shmx("ls"), 0);
	line = strstr(R.out, base);
	assert_non_null(line);
	end = strchr(line, '\n');
	snprintf(shown, sizeof(shown), "%.*s", (int)(end - line), line);
	assert_string_equal(strchr(shown, '-') ? shown + strlen(base) : "",
			    "-\\x1b[31m-\\x5cx41");
	assert_int_equal(shmx("stat", shown), 0);
	assert_out_has("Size:       64 ");
	assert_int_equal(shmx("rm", shown), 0);
	assert_false(tu_exists(odd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ls),
		T(test_ls_sysv),
		T(test_ls_lists_what_was_planted),
		T(test_names_as_ls_prints_them_are_taken),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
