/* SPDX-License-Identifier: MIT */
/* Regions of every kind (named, file, anonymous, System V) copied to and
 * from under shmx_guard_sigbus() while the driver truncates them, stops,
 * kills and sends SIGBUS; a full /dev/shm in a mount namespace of its own;
 * hostile arguments. Contracts: shmx_read(3), shmx(7) CONTRACTS. */
#include "torture.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

enum { K_NAMED, K_FILE, K_ANON, K_SYSV };
#define RSIZE 65536

static int kind;
static char path[128];
static key_t key;
static struct shmx_region *anon;

static int region_open(struct shmx_region **r)
{
	switch (kind) {
	case K_NAMED:
		return shmx_open(tt->names[0].name, SHMX_MAP, r);
	case K_FILE:
		return shmx_file_open(path, SHMX_MAP, r);
	case K_SYSV:
		return shmx_sysv_open(key, SHMX_MAP, r);
	}
	*r = anon;
	return 0;
}

static void copy_step(struct shmx_region *r, struct tt_rng *rng, uint8_t *a, uint8_t *b)
{
	size_t size = shmx_size(r), len = tt_below(rng, 4096);
	size_t off = tt_chance(rng, 5) ? size - tt_below(rng, 64) : tt_below(rng, size - len);
	bool writer = tt_me->ident == 0, cut;
	struct tt_call c;
	long n;

	for (size_t i = 0; i < len; i++)
		a[i] = (uint8_t)tt_next(rng);
	tt_call_begin(&c, writer ? "shmx_write" : "shmx_read", TT_PROMPT);
	n = tt_call_end(&c, writer ? shmx_write(r, off, a, len) : shmx_read(r, off, b, len));
	cut = atomic_load(&tt->hostile);
	if (off + len > size) {
		tt_check(n == -ERANGE || (!writer && n == (long)(size - off)) ||
			 n == -EFAULT, "region.errors",
			 "%s of %zu at %zu of %zu: %ld", writer ? "write" : "read", len,
			 off, size, n);
		return;
	}
	tt_check(n == (long)len || (cut && n == -EFAULT), "region.errors",
		 "%s of %zu at %zu of %zu: %ld", writer ? "write" : "read", len, off,
		 size, n);
	if (!writer || n != (long)len)
		return;
	n = shmx_read(r, off, b, len);
	tt_check(atomic_load(&tt->hostile) || (n == (long)len && !memcmp(a, b, len)),
		 "region.readback", "wrote %zu bytes at %zu, read back %ld, other bytes",
		 len, off, n);
}

static void region_worker(int idx, uint64_t seed)
{
	struct tt_rng rng = { seed };
	struct shmx_region *r = NULL;
	uint8_t *a = malloc(4096), *b = malloc(4096);
	int err;

	(void)idx;
	err = region_open(&r);
	tt_check(!err, "region.open", "open kind %d: %d", kind, err);
	while (!err && !tt_stopping())
		copy_step(r, &rng, a, b);
	if (r != anon)
		shmx_close(r);
	free(a);
	free(b);
}

static int region_make(struct tt_rng *r)
{
	struct shmx_region *h = NULL;
	int err;

	snprintf(path, sizeof(path), "/dev/shm%s.file", tt->names[0].name);
	key = TT_SYSV_KEY(getpid(), tt_below(r, 256));
	switch (kind) {
	case K_NAMED:
		err = shmx_create(tt->names[0].name, RSIZE, 0, 0, &h);
		break;
	case K_FILE:
		err = shmx_file_create(path, RSIZE, 0, 0, &h);
		break;
	case K_SYSV:
		err = shmx_sysv_create(key, RSIZE, 0, 0, &h);
		break;
	default:
		return shmx_anon_create(RSIZE, SHMX_MAP, &anon);
	}
	shmx_close(h);
	return err;
}

static void region_remove(void)
{
	struct shmx_region *h;

	if (kind == K_NAMED)
		shmx_unlink(tt->names[0].name);
	if (kind == K_FILE)
		shmx_file_unlink(path);
	if (kind == K_SYSV && !shmx_sysv_open(key, 0, &h)) {
		shmx_sysv_remove(shmx_sysv_id(h));
		shmx_close(h);
	}
	anon = shmx_close(anon);
}

void tt_region_episode(struct tt_rng *r, int64_t budget_ns)
{
	static unsigned no;
	int64_t end = tt_now_ns() + budget_ns;
	int faults = 3 + (int)tt_below(r, 12);
	char file[160];
	int i;

	tt_ep_reset();
	kind = (int)tt_below(r, 4);
	tt_name_set(0, "r%u", no++);
	tt_episode(kind == K_NAMED ? "named region" : kind == K_FILE ? "file region" :
		   kind == K_ANON ? "anonymous region" : "System V region");
	if (region_make(r))
		return;
	snprintf(file, sizeof(file), kind == K_FILE ? "%s" : "/dev/shm%s",
		 kind == K_FILE ? path : tt->names[0].name);
	for (int k = 0; k < 3; k++) {
		i = tt_free_proc();
		tt->proc[i].ident = k;
		tt_spawn(i, region_worker, tt_next(r));
	}
	for (int f = 0; f < faults && tt_now_ns() < end; f++) {
		tt_ep_watch();
		tt_sleep_ms(10 + (double)tt_below(r, 100));
		i = (int)tt_below(r, 3);
		if ((kind == K_NAMED || kind == K_FILE) && tt_chance(r, 40) &&
		    tt_on(F_TRUNCATE)) {
			tt_hostile();
			tt_truncate_path(file, (off_t)tt_below(r, RSIZE));
			tt_sleep_ms((double)tt_below(r, 50));
			tt_truncate_path(file, RSIZE);
		} else if (tt_chance(r, 50)) {
			tt_signal(i, tt_chance(r, 50));
		} else if (tt_chance(r, 50)) {
			tt_stop_cont(i, r);
		}
	}
	tt_ep_wait_all(4000000000LL);
	region_remove();
}

/* ---- a full /dev/shm: a small tmpfs over it, in a namespace of its own ---- */

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Every create succeeds whole or fails -ENOSPC leaving nothing; a lazy
 * region's unbacked page is -EFAULT under the guard, never a SIGBUS. */
static void full_child(void)
{
	struct shmx_region *r[64], *lazy;
	struct shmx_chan *c;
	char name[64];
	int made = 0, err = 0;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=256k,mode=1777"))
		_exit(77);
	while (made < 64) {
		snprintf(name, sizeof(name), "/full%d", made);
		err = shmx_create(name, 40960, SHMX_MAP, 0, &r[made]);
		if (err)
			break;
		made++;
	}
	tt_check(err == -ENOSPC, "full.create", "create in a full /dev/shm: %d", err);
	tt_check(count_dir("/dev/shm") == made, "full.half-made",
		 "%d objects made, %d in /dev/shm", made, count_dir("/dev/shm"));
	err = shmx_chan_create("/fullchan", 65536, SHMX_CHAN_PRODUCER, 0, &c);
	tt_check(err == -ENOSPC, "full.create", "channel in a full /dev/shm: %d", err);
	tt_check(count_dir("/dev/shm") == made, "full.half-made",
		 "a failed channel left something in /dev/shm");
	shmx_close(r[--made]);
	shmx_unlink("/full0");
	err = shmx_create("/lazy", 1 << 20, SHMX_MAP | SHMX_LAZY, 0, &lazy);
	tt_check(!err, "full.lazy", "a lazy region: %d", err);
	if (!err) {
		static char big[1 << 20];
		long n = shmx_write(lazy, 0, big, sizeof(big));

		tt_check(n == -EFAULT, "full.lazy",
			 "writing 1 MiB into a lazy region on a 256 KiB tmpfs: %ld", n);
		shmx_close(lazy);
	}
	_exit(0);
}

void tt_full_episode(struct tt_rng *r)
{
	int i = tt_free_proc();
	int st;
	pid_t pid;

	(void)r;
	tt_ep_reset();
	tt_episode("a full /dev/shm (tmpfs in a mount namespace)");
	atomic_store(&tt->proc[i].state, TT_P_FREE);
	pid = fork();
	if (pid == 0) {
		tt_worker_setup(i);
		full_child();
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return;         /* no mount namespace here: not counted */
	atomic_fetch_add(&tt->faults[F_FULL], 1);
	tt_check(WIFEXITED(st) && !WEXITSTATUS(st), "full.crash",
		 "the full-/dev/shm child ended with status %#x", st);
}
