/* SPDX-License-Identifier: MIT */
/* Pair episodes: a writer and readers (named or anonymous) hand numbered
 * messages over while the driver kills, stops, signals, truncates,
 * scribbles, posts foreign tokens, read-locks and replaces the names.
 * Invariants: one turn (pair.two-turns), every message exactly once and
 * in order, re-offered only to a new reader (pair.order), progress while
 * both sides live (pair.lost-turn). Contracts: shmx_pair_wait(3). */
#include "torture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { R_WRITER = 1, R_READER, R_OLDHANDLE };

#define PAIR_SIZE 8192          /* truncation keeps the first page */
#define DATA_LEN  200

/* What the writer leaves in the region, read back through the guard. */
struct pmsg {
	uint64_t seq;           /* message number, 0 before the first */
	uint64_t last_read;     /* the reader's: highest seq it handled */
	uint64_t sum;
	uint8_t data[DATA_LEN];
};

static bool anon_ep;
static bool polled;                     /* this process waits by poll(2) */
static struct shmx_region *anon_data;   /* anonymous: the data region */
static struct shmx_pair *anon_pair;     /* anonymous: the creator's pair */

static uint64_t data_sum(const struct pmsg *m)
{
	uint64_t h = m->seq;

	for (int i = 0; i < DATA_LEN; i++)
		h = tt_mix(h ^ m->data[i]);
	return h;
}

static bool is_pair_role(int role)
{
	return role == R_WRITER || role == R_READER || role == R_OLDHANDLE;
}

/* The caller now believes it holds the turn: nobody else may. */
/* Turns are counted per region object: a peer still finishing a turn on
 * the region of a pair that was replaced holds no turn of the new one. */
static void enter_turn(bool hostile, struct shmx_region *reg)
{
	struct stat st;

	atomic_store(&tt_me->turn_key, fstat(shmx_fd(reg), &st) ? 0 :
		     (uint64_t)st.st_ino ^ (uint64_t)st.st_dev << 48);
	atomic_store(&tt_me->in_turn, 1);
	atomic_thread_fence(memory_order_seq_cst);
	for (int i = 0; i < TT_PROCS && !hostile; i++) {
		struct tt_proc *o = &tt->proc[i];

		if (o == tt_me || !is_pair_role(o->role) ||
		    atomic_load(&o->state) != TT_P_RUN ||
		    atomic_load(&o->turn_key) != atomic_load(&tt_me->turn_key))
			continue;
		tt_check(!atomic_load(&o->in_turn) || atomic_load(&o->killing),
			 "pair.two-turns", "role %d (pid %d) holds a turn too",
			 o->role, (int)atomic_load(&o->pid));
	}
}
static void leave_turn(void)
{
	atomic_store(&tt_me->in_turn, 0);
	atomic_thread_fence(memory_order_seq_cst);
}

static void close_pair(struct shmx_pair *p)
{
	struct tt_call c;

	tt_call_begin(&c, "shmx_pair_close", TT_PROMPT);
	tt_call_end(&c, (shmx_pair_close(p), 0));
}

/* A quarter of the handles wait through shmx_pair_fd(3): a try, which
 * arms the descriptor when it finds no turn, then poll(2). */
static long wait_polled(struct shmx_pair *p, struct tt_rng *r)
{
	struct pollfd pfd = { .fd = shmx_pair_fd(p), .events = POLLIN };
	struct tt_call c;
	long err;

	if (pfd.fd < 0) {
		tt_check(tt_documented("shmx_pair_fd", pfd.fd), "pair.errors",
			 "shmx_pair_fd returned %d, an error its man page does not list",
			 pfd.fd);
		return pfd.fd;
	}
	tt_call_begin(&c, "shmx_pair_wait", 0);
	err = tt_call_end(&c, shmx_pair_wait(p, 0));
	if (err == -EAGAIN)
		poll(&pfd, 1, (int)tt_below(r, 150));
	return err;
}

static long wait_turn(struct shmx_pair *p, struct tt_rng *r)
{
	struct tt_call c;
	int tmo = tt_chance(r, 5) ? -1 : (int)tt_below(r, 150);

	if (polled)
		return wait_polled(p, r);

	if (tmo == -1 && tt_stopping())
		tmo = 50;
	tt_call_begin(&c, "shmx_pair_wait", tmo);
	return tt_call_end(&c, shmx_pair_wait(p, tmo));
}

/* A post over a truncated region fails -EFAULT and keeps the turn. */
static long post_turn(struct shmx_pair *p)
{
	struct tt_call c;
	long err;

	for (;;) {
		tt_call_begin(&c, "shmx_pair_post", TT_PROMPT);
		err = tt_call_end(&c, shmx_pair_post(p));
		if (err != -EFAULT || tt_stopping())
			return err;
		tt_sleep_ms(2);
	}
}

/* One turn on region r: check what the peer left, hand the next over;
 * false when the run ended before the region could be read or written
 * (then the turn must not be posted: it carries nothing). */
static bool take_turn(struct shmx_region *reg, bool writer, bool first,
		      struct tt_rng *r)
{
	struct pmsg m;
	bool hostile = atomic_load(&tt->hostile), done = false;

	enter_turn(hostile, reg);
	/* a truncated region gives -EFAULT (documented); the driver grows
	 * it back, and the turn is still ours */
	while (shmx_read(reg, 0, &m, sizeof(m)) != sizeof(m))
		if (tt_stopping())
			goto out;
		else
			tt_sleep_ms(2);
	if (writer) {
		tt_check(hostile || m.seq == m.last_read, "pair.order",
			 "writer got a turn while message %llu was unread (last read %llu)",
			 (unsigned long long)m.seq, (unsigned long long)m.last_read);
		m.seq = m.last_read + 1;
		for (int i = 0; i < DATA_LEN; i++)
			m.data[i] = (uint8_t)tt_next(r);
		m.sum = data_sum(&m);
	} else {
		bool fresh = m.seq == m.last_read + 1;

		tt_check(hostile || fresh || (first && m.seq == m.last_read),
			 "pair.order", "reader got message %llu after %llu%s",
			 (unsigned long long)m.seq, (unsigned long long)m.last_read,
			 first ? " (first turn)" : " (a turn with no new message)");
		tt_check(hostile || m.sum == data_sum(&m), "pair.payload",
			 "message %llu corrupt", (unsigned long long)m.seq);
		m.last_read = m.seq;
	}
	if (tt_chance(r, 30))
		tt_sleep_ms((double)tt_below(r, 2000) / 1000);
	while (shmx_write(reg, 0, &m, sizeof(m)) != sizeof(m))
		if (tt_stopping())
			goto out;
		else
			tt_sleep_ms(2);
	atomic_fetch_add(&tt->ep.pair.turns, 1);
	done = true;
out:
	leave_turn();
	return done;
}

/* Turns until an error that ends this handle; returns it. */
static long turn_loop(struct shmx_pair *p, struct shmx_region *reg, bool writer,
		      struct tt_rng *r)
{
	bool first = true;
	long err;

	while (!tt_stopping()) {
		err = wait_turn(p, r);
		if (err == -EOWNERDEAD || err == -EPIPE) {
			if (!writer)
				return err;
			tt_sleep_ms(2);
			continue;
		}
		if (err == -EFAULT || err == -EBADMSG)
			tt_sleep_ms(2);
		if (err)
			continue;
		if (!take_turn(reg, writer, first, r))
			break;
		first = false;
		err = post_turn(p);
		tt_check(err != -EPERM, "pair.errors",
			 "shmx_pair_post after a turn: %ld", err);
	}
	return 0;
}

/* Named: the writer creates the region and the pair and owns them. */
static void named_writer(int idx, uint64_t seed)
{
	struct tt_rng r = { seed };
	struct tt_name *n = &tt->names[0];
	struct shmx_region *reg = NULL;
	struct shmx_pair *p = NULL;
	mode_t mode = (mode_t)tt->proc[idx].ident;
	int err;

	polled = tt_chance(&r, 25);
	err = shmx_create(n->name, PAIR_SIZE, SHMX_MAP, mode, &reg);
	if (!err)
		err = shmx_pair_create(reg, SHMX_PAIR_WRITER, mode, &p);
	if (err) {
		/* the supervisor's unlink may still be under way: documented */
		tt_check(err == -EEXIST, "pair.create", "create %s: %d", n->name, err);
		shmx_close(reg);
		return;
	}
	atomic_store(&n->live, 1);
	turn_loop(p, reg, true, &r);
	atomic_store(&n->live, 0);
	close_pair(p);
	shmx_close(reg);
}

static int open_named(const char *name, struct shmx_region **reg, struct shmx_pair **p)
{
	struct tt_call c;
	int err;

	err = shmx_open(name, SHMX_MAP, reg);
	tt_check(tt_documented("shmx_open", err), "region.errors",
		 "shmx_open returned %d, an error its man page does not list", err);
	if (err)
		return err;
	tt_call_begin(&c, "shmx_pair_open", TT_PROMPT);
	err = (int)tt_call_end(&c, shmx_pair_open(*reg, SHMX_PAIR_READER, p));
	if (err)
		*reg = shmx_close(*reg);
	return err;
}

/* A reader of the named pair, reopening by name when the writer goes. */
static void named_reader(int idx, uint64_t seed)
{
	struct tt_rng r = { seed };
	struct shmx_region *reg;
	struct shmx_pair *p;
	int err;

	(void)idx;
	polled = tt_chance(&r, 25);
	while (!tt_stopping()) {
		err = open_named(tt->names[0].name, &reg, &p);
		if (err) {
			tt_sleep_ms(3);
			continue;
		}
		turn_loop(p, reg, false, &r);
		close_pair(p);
		shmx_close(reg);
	}
}

/* Holds the region of the first pair for good, and asks to be its reader
 * again and again, also after the names were replaced (shmx_pair_open(3):
 * a pair belongs to the region object it was made for). */
static void old_handle(int idx, uint64_t seed)
{
	struct tt_rng r = { seed };
	struct shmx_region *old = NULL;
	struct shmx_pair *p;
	struct tt_call c;
	int err;

	(void)idx;
	while (!tt_stopping() && !old)
		if (shmx_open(tt->names[0].name, SHMX_MAP, &old))
			tt_sleep_ms(2);
	while (!tt_stopping()) {
		tt_call_begin(&c, "shmx_pair_open", TT_PROMPT);
		err = (int)tt_call_end(&c, shmx_pair_open(old, SHMX_PAIR_READER, &p));
		if (!err) {
			turn_loop(p, old, false, &r);
			close_pair(p);
		}
		tt_sleep_ms(1 + (double)tt_below(&r, 20));
	}
	shmx_close(old);
}

static void anon_reader(int idx, uint64_t seed)
{
	struct tt_rng r = { seed };
	struct shmx_region *reg = shmx_pair_region(anon_pair);
	struct shmx_pair *p = NULL;     /* untouched by a failed attach */
	struct tt_call c;
	int err;

	(void)idx;
	polled = tt_chance(&r, 25);
	tt_close_inherited(shmx_fd(reg));
	tt_call_begin(&c, "shmx_pair_attach", TT_PROMPT);
	err = (int)tt_call_end(&c, shmx_pair_attach(reg, SHMX_PAIR_READER, &p));
	tt_check(!err || err == -EBUSY || err == -EOWNERDEAD, "pair.attach",
		 "attach anonymous reader: %d", err);
	if (!err)
		turn_loop(p, anon_data, false, &r);
	close_pair(p);
}

/* The anonymous pair's writer forks its readers when the driver asks. */
static void anon_spawn(uint64_t seed)
{
	static uint32_t made;
	int i;

	while (atomic_load(&tt->spawn_req[0]) > made && !tt_stopping()) {
		made++;
		i = tt_free_proc();
		if (i < 0)
			return;
		tt->proc[i].role = R_READER;
		tt_spawn(i, anon_reader, tt_mix(seed + made));
	}
}

static void anon_writer(int idx, uint64_t seed)
{
	struct tt_rng r = { seed };
	int err, st;
	pid_t pid;

	(void)idx;
	err = shmx_anon_create(PAIR_SIZE, SHMX_MAP, &anon_data);
	if (!err)
		err = shmx_pair_create_anon(SHMX_PAIR_WRITER, &anon_pair);
	tt_check(!err, "pair.create", "anonymous pair: %d", err);
	if (err)
		return;
	while (!tt_stopping()) {
		anon_spawn(seed);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			tt_reap_one(pid, st);
		err = (int)wait_turn(anon_pair, &r);
		if (err == -EOWNERDEAD || err == -EPIPE)
			tt_sleep_ms(2);
		if (err)
			continue;
		if (!take_turn(anon_data, true, false, &r))
			break;
		err = (int)post_turn(anon_pair);
		tt_check(err != -EPERM, "pair.errors",
			 "shmx_pair_post after a turn: %d", err);
	}
	close_pair(anon_pair);
	while ((pid = waitpid(-1, &st, 0)) > 0)
		tt_reap_one(pid, st);
}

/* ---- the driver's side ---- */

static int start(int role, tt_worker_fn fn, struct tt_rng *r, int ident)
{
	int i = tt_free_proc();

	if (i < 0)
		return -1;
	tt->proc[i].role = role;
	tt->proc[i].ident = ident;
	tt_spawn(i, fn, tt_next(r));
	return i;
}

static int pick(int role, struct tt_rng *r)
{
	int c[TT_PROCS], n = 0;

	for (int i = 0; i < TT_PROCS; i++)
		if (atomic_load(&tt->proc[i].state) == TT_P_RUN &&
		    !atomic_load(&tt->proc[i].killing) &&
		    (tt->proc[i].role == role || (!role && is_pair_role(tt->proc[i].role))))
			c[n++] = i;
	return n ? c[tt_below(r, n)] : -1;
}

static void sem_path(char *buf, size_t n, const char *name, char which)
{
	snprintf(buf, n, "/dev/shm/sem.%s.shmx-%c", name + 1, which);
}

/* A plain program's sem_post on the pair's semaphore: shmx_pair_wait(3)
 * must never take a token the turn does not account for as a turn. The
 * driver maps the file itself, as sem_open(3) would, but only after
 * checking its size: a file it truncated (named_fault()) would otherwise
 * kill the driver with SIGBUS, and the driver is under no guard. */
static void foreign_post(const char *name, char which)
{
	char path[96];
	struct stat st;
	void *m;
	int fd;

	if (!tt_on(F_SEMPOST))
		return;
	sem_path(path, sizeof(path), name, which);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(sem_t)) {
		close(fd);
		return;
	}
	m = mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	tt_fault_step("foreign sem_post");
	atomic_fetch_add(&tt->faults[F_SEMPOST], 1);
	/* Only the driver truncates (named_fault()), and not meanwhile: the
	 * size checked above still holds. */
	sem_post(m);
	munmap(m, sizeof(sem_t));
}

/* The supervisor's recovery from shmx_pair_open(3): the owner died, so
 * remove both names and make them again while peers hold the old ones. */
static void replace_writer(int w, struct tt_rng *r, mode_t mode)
{
	struct tt_name *n = &tt->names[0];

	atomic_store(&n->live, 0);
	atomic_fetch_add(&n->gen, 1);
	tt_kill(w);
	tt_sleep_ms((double)tt_below(r, 30));
	tt_fault_step("replace the pair's names");
	atomic_fetch_add(&tt->faults[F_REPLACE], 1);
	shmx_pair_unlink(n->name);
	shmx_unlink(n->name);
	start(R_WRITER, named_writer, r, (int)mode);
}

static void named_fault(struct tt_rng *r, mode_t mode, bool rdlock)
{
	const char *name = tt->names[0].name;
	char path[96];
	int k = (int)tt_below(r, 8);

	switch (k) {
	case 0:
		if (rdlock) {
			snprintf(path, sizeof(path), "/dev/shm/%s.shmx-p", name + 1);
			tt_rdlock_other_uid(path, 2500);
			snprintf(path, sizeof(path), "/dev/shm/%s", name + 1);
			tt_rdlock_other_uid(path, 2500);
			sem_path(path, sizeof(path), name, 'r');
			tt_rdlock_other_uid(path, 2500);
			return;
		}
		/* fall through */
	case 1:
		foreign_post(name, tt_chance(r, 50) ? 'r' : 'w');
		return;
	case 2:
		snprintf(path, sizeof(path), "/dev/shm/%s", name + 1);
		if (!tt_truncate_path(path, 4096)) {
			tt_sleep_ms(20 + (double)tt_below(r, 200));
			tt_truncate_path(path, PAIR_SIZE);
		}
		return;
	case 3:
		if (tt_chance(r, 70) || pick(R_WRITER, r) < 0 || !tt_on(F_REPLACE) ||
		    !tt_on(F_KILL))
			break;
		replace_writer(pick(R_WRITER, r), r, mode);
		return;
	case 4:
		if (!tt_chance(r, 15) || !tt_on(F_SCRIBBLE) || !tt_on(F_TRUNCATE))
			break;
		tt_hostile();
		if (tt_chance(r, 50)) {
			snprintf(path, sizeof(path), "/dev/shm/%s.shmx-p", name + 1);
			tt_scribble(path, 0, 64, r, NULL, 0);
		} else {
			sem_path(path, sizeof(path), name, tt_chance(r, 50) ? 'r' : 'w');
			tt_truncate_path(path, 0);
		}
		return;
	}
	k = pick(0, r);
	if (k >= 0 && tt_chance(r, 40)) {
		tt_stop_cont(k, r);
	} else if (k >= 0 && tt_chance(r, 50)) {
		tt_signal(k, tt_chance(r, 30));
	} else if ((k = pick(R_READER, r)) >= 0 || (k = pick(R_OLDHANDLE, r)) >= 0) {
		if (tt_kill(k) && tt->proc[k].role == R_READER)
			start(R_READER, named_reader, r, 0);
	}
}

static void anon_fault(struct tt_rng *r)
{
	int k = pick(0, r);

	if (k < 0)
		return;
	if (tt_chance(r, 35)) {
		tt_stop_cont(k, r);
	} else if (tt_chance(r, 50)) {
		tt_signal(k, tt_chance(r, 30));
	} else if ((k = pick(R_READER, r)) >= 0) {
		if (tt_kill(k))
			atomic_fetch_add(&tt->spawn_req[0], 1);
	}
}

/* The end of a named episode: shmx_pair_unlink(3) removes the pair it
 * made, whole (pair.unlink). A control object the driver scribbled over
 * is no pair's any more, and the call leaves it and what it vouched for,
 * as its page says: the driver, who made that garbage, removes it. */
static void remove_named(void)
{
	const char *name = tt->names[0].name;
	static const char *const fmt[] = {
		"/dev/shm/%s.shmx-p", "/dev/shm/sem.%s.shmx-r", "/dev/shm/sem.%s.shmx-w",
	};
	bool hostile = atomic_load(&tt->hostile);
	char path[96];
	int err;

	atomic_store(&tt->names[0].live, 0);
	err = shmx_pair_unlink(name);
	tt_check(hostile || !err || err == -ENOENT, "pair.unlink",
		 "shmx_pair_unlink of an honest pair: %d", err);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), fmt[i], name + 1);
		if (access(path, F_OK))
			continue;
		tt_check(hostile, "pair.unlink", "%s is left after shmx_pair_unlink "
			 "returned %d", path, err);
		unlink(path);
	}
	shmx_unlink(name);
}

/* Both sides live and nothing hostile: turns must go on (pair.lost-turn). */
static void check_progress(void)
{
	uint64_t t0;
	int64_t end;

	if (atomic_load(&tt->hostile) || pick(R_WRITER, &(struct tt_rng){ 0 }) < 0)
		return;
	tt_cont_all();
	tt_sleep_ms(100);
	t0 = atomic_load(&tt->ep.pair.turns);
	end = tt_now_ns() + 3000000000LL;
	while (tt_now_ns() < end && atomic_load(&tt->ep.pair.turns) < t0 + 4) {
		tt_ep_reap();
		tt_sleep_ms(10);
	}
	if (pick(R_WRITER, &(struct tt_rng){ 0 }) < 0 ||
	    (pick(R_READER, &(struct tt_rng){ 0 }) < 0 &&
	     pick(R_OLDHANDLE, &(struct tt_rng){ 0 }) < 0))
		return;
	tt_check(atomic_load(&tt->ep.pair.turns) >= t0 + 4, "pair.lost-turn",
		 "%s pair: %llu turns in 3 s with a writer and a reader alive",
		 anon_ep ? "anonymous" : "named",
		 (unsigned long long)(atomic_load(&tt->ep.pair.turns) - t0));
}

void tt_pair_episode(struct tt_rng *r, int64_t budget_ns)
{
	static unsigned no;
	int64_t end = tt_now_ns() + budget_ns;
	int faults = 3 + (int)tt_below(r, 14);
	bool rdlock;
	mode_t mode;

	tt_ep_reset();
	anon_ep = tt_chance(r, 30);
	rdlock = !anon_ep && tt_chance(r, 30);
	mode = rdlock ? 0644 : 0600;
	tt_name_set(0, "p%u", no++);
	tt->names[0].pair = true;
	tt_episode(anon_ep ? "anonymous pair" : "named pair");
	if (anon_ep) {
		start(R_WRITER, anon_writer, r, 0);
		atomic_store(&tt->spawn_req[0], 1);
	} else {
		start(R_WRITER, named_writer, r, (int)mode);
		start(R_READER, named_reader, r, 0);
		if (tt_chance(r, 50))
			start(R_OLDHANDLE, old_handle, r, 0);
	}
	/* a number of faults, not a time: a seed replays the same schedule */
	for (int f = 0; f < faults && tt_now_ns() < end; f++) {
		tt_ep_watch();
		tt_sleep_ms(20 + (double)tt_below(r, 200));
		if (anon_ep)
			anon_fault(r);
		else
			named_fault(r, mode, rdlock);
	}
	check_progress();
	tt_ep_wait_all(6000000000LL);
	if (!anon_ep)
		remove_named();
}
