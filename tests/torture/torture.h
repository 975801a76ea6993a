/* SPDX-License-Identifier: MIT */
/* The torture harness: what the driver, the workers and the fault
 * injectors share. Only the public header and libc; see docs/torture.md. */
#ifndef TORTURE_H
#define TORTURE_H

#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <shmx.h>

#define TT_SLACK_MS     50      /* a call may return this late, unexplained */
#define TT_LATE_MS      1000    /* and never this late, whatever the load */
#define TT_PROMPT_MS    1500    /* bound of a call without a timeout */
#define TT_PROMPT       (-2)    /* tt_call_begin(): the call has no timeout */
#define TT_HANG_MS      4000    /* a worker still in a call this long hangs */
#define TT_PROCS        48
#define TT_NAMES        8
#define TT_PRODS        256     /* producer identities per episode */
#define TT_GENS         4       /* channel objects one name had per episode */
#define TT_FAILS        64
#define TT_INVS         32      /* invariant names counted apart */
#define TT_HB           2048    /* 10 ms buckets of the clock process */
/* The System V keys of a run: its driver's pid in 16 bits (two runs at
 * once, as on a shared machine, have other keys unless their pids agree
 * in those), the episode's pick in the low 8. */
#define TT_SYSV_KEY(pid, low) \
	((key_t)(0x74000000u | ((unsigned)(pid) & 0xffffu) << 8 | (unsigned)(low)))

enum tt_fault {
	F_KILL, F_STOP, F_SIGNAL, F_SIGBUS, F_TRUNCATE, F_SCRIBBLE, F_SEMPOST,
	F_REPLACE, F_GC, F_RDLOCK, F_FULL, F_HOSTILE, F_NKINDS
};
extern const char *const tt_fault_name[F_NKINDS];

/* Kinds of episode (--episodes): a narrower run replays faster. */
enum tt_episode { E_PAIR, E_CHAN, E_REGION, E_FULL, E_HOSTILE, E_NKINDS };
extern const char *const tt_episode_name[E_NKINDS];

/* One participant of the current episode. */
struct tt_proc {
	_Atomic pid_t pid;
	int role;               /* the episode's own role code */
	int ident;              /* producer identity, pair role, ... */
	int creator;            /* channel: creates generation creator - 1 */
	_Atomic uint32_t killing;       /* marked before SIGKILL is sent */
	_Atomic uint32_t stops;         /* odd while stopped by the harness */
	_Atomic uint32_t in_turn;       /* pair: believes it holds a turn */
	_Atomic uint64_t turn_key;      /* pair: of which region (inode) */
	_Atomic uint32_t inflight;      /* messages a call now may take/give */
	_Atomic uint32_t state;         /* TT_P_* */
	_Atomic int64_t call_t0;        /* ns, 0 outside a call */
	_Atomic int64_t call_rd0;       /* run-queue delay (ns) at its start */
	_Atomic int32_t call_tmo;
	const char *_Atomic call_what;
	_Atomic uint32_t joined;        /* attached to its object */
	_Atomic int32_t last_ret;       /* of its last timed call */
};
enum { TT_P_FREE, TT_P_RUN, TT_P_EXITED };
/* roles of tt_proc.role the shared code needs to know */
enum { TT_PRODUCER = 11, TT_CONSUMER = 12 };

/* An object name the run made; gc must leave it while it is live. */
struct tt_name {
	char name[64];
	bool pair;                      /* also its semaphores */
	_Atomic uint32_t live;          /* owner alive and attached */
	_Atomic uint32_t gen;           /* bumped by each replacement */
};

struct tt_shared {
	uint64_t seed;
	pid_t driver;
	bool verbose;
	uint32_t without;                /* fault kinds left out, 1 << F_* */
	uint32_t episodes;              /* kinds of episode run, 1 << E_* */
	struct {                        /* --shape: every channel's, 0 = drawn */
		unsigned producers, consumers;
		size_t cap;
	} shape;
	char opts[160];                 /* the options a replay needs */
	char prefix[32];                /* "tt-PID-": every object's name */
	char shmx_tool[512];            /* the built shmx program */
	_Atomic uint64_t step;
	char desc[120];                 /* the current episode */
	_Atomic uint64_t ops, checks, failures, excused;
	_Atomic uint64_t faults[F_NKINDS];
	/* consumers killed inside a call, first messages checked after */
	_Atomic uint64_t cons_killed_in_call, takeover_checks;
	_Atomic uint64_t attach_unreaped;   /* attached before a death's reap */
	_Atomic uint32_t nfail;
	char fail[TT_FAILS][448];
	struct { const char *_Atomic name; _Atomic uint64_t n; } byinv[TT_INVS];
	/* the current episode */
	_Atomic uint32_t stop;          /* workers: finish and leave */
	_Atomic uint32_t stop_gc;
	/* the clock process: how late its 1 ms sleeps woke, per 10 ms */
	_Atomic uint64_t hb_tag[TT_HB];
	_Atomic uint32_t hb_late_us[TT_HB];
	_Atomic uint32_t quiesce;       /* producers: stop sending */
	_Atomic uint32_t hostile;       /* someone scribbled or truncated */
	_Atomic uint32_t spawn_req[4];  /* anonymous creator: fork these */
	struct tt_proc proc[TT_PROCS];
	struct tt_name names[TT_NAMES];
	union {
		struct tt_pair_ep {
			_Atomic uint64_t turns;
		} pair;
		struct tt_chan_ep {
			_Atomic uint64_t sent[TT_PRODS];    /* calls returned */
			_Atomic uint64_t last[TT_PRODS];    /* queue: seq + 1 */
			_Atomic uint32_t dead[TT_PRODS];
			_Atomic uint32_t nprod;             /* identities used */
			_Atomic uint32_t takeover;  /* queue consumer died in a call */
			_Atomic uint32_t idle[TT_PROCS];
			_Atomic int32_t probe;      /* producer entry + 1 */
			_Atomic uint32_t attached;  /* consumers that attached */
			_Atomic int32_t probe_err;
			/* the objects the name had (replace_name()) */
			_Atomic uint32_t ngen;
			_Atomic uint64_t gen_key[TT_GENS];  /* its (dev, inode) */
			_Atomic int32_t gen_creator[TT_GENS];       /* identity */
			_Atomic int32_t gen_of[TT_PRODS];   /* generation + 1 */
		} chan;
	} ep;
};

extern struct tt_shared *tt;
extern struct tt_proc *tt_me;   /* the worker's own entry, NULL in the driver */

/* rng.c-like helpers (core.c) */
uint64_t tt_mix(uint64_t x);
struct tt_rng { uint64_t s; };
uint64_t tt_next(struct tt_rng *r);
uint64_t tt_below(struct tt_rng *r, uint64_t n);      /* [0, n) */
bool tt_chance(struct tt_rng *r, unsigned percent);
int64_t tt_now_ns(void);
void tt_sleep_ms(double ms);

/* failures and counting */
void tt_fail(const char *inv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tt_check(bool ok, const char *inv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool tt_documented(const char *call, long err);
const char *tt_errors_inv(const char *call);
int64_t tt_run_delay_ns(void);
int64_t tt_run_delay_of(pid_t pid);
/* the longest a 1 ms sleep of the clock process overslept in [t0, t1] */
uint32_t tt_clock_late_us(int64_t t0, int64_t t1);

/* a timed call: tt_call_begin(), the call, tt_call_end() */
struct tt_call {
	int64_t t0;
	long ivcsw;
	int64_t rd0;            /* tt_run_delay_ns() at the start */
	uint32_t stops;
	int tmo;
	int sigs;
	const char *what;
};
void tt_call_begin(struct tt_call *c, const char *what, int tmo);
long tt_call_end(struct tt_call *c, long ret);

/* processes */
typedef void (*tt_worker_fn)(int idx, uint64_t seed);
int tt_spawn(int idx, tt_worker_fn fn, uint64_t seed);
void tt_worker_setup(int idx);
void tt_close_inherited(int keep);
int tt_free_proc(void);
bool tt_stopping(void);
void tt_clock(void);

/* episodes (one file each) */
void tt_pair_episode(struct tt_rng *r, int64_t budget_ns);
void tt_chan_episode(struct tt_rng *r, int64_t budget_ns);
void tt_region_episode(struct tt_rng *r, int64_t budget_ns);
void tt_full_episode(struct tt_rng *r);
void tt_hostile_args(struct tt_rng *r);

/* the driver's side of an episode (driver.c) */
void tt_ep_reset(void);
void tt_name_set(int i, const char *fmt, unsigned n);
int tt_ep_wait_all(int64_t limit_ns);
void tt_ep_watch(void);
void tt_ep_reap(void);
void tt_reap_one(pid_t pid, int status);
void tt_fault_step(const char *what);
void tt_episode(const char *what);
bool tt_on(enum tt_fault f);
bool tt_kill(int idx);
void tt_kill_now(int idx);
void tt_wait_gone(int idx);
void tt_stop_cont(int idx, struct tt_rng *r);
void tt_signal(int idx, bool bus);
void tt_cont_all(void);
void tt_hostile(void);
int tt_rdlock_other_uid(const char *path, int hold_ms);
int tt_truncate_path(const char *path, off_t size);
void tt_scribble(const char *path, off_t lo, off_t hi, struct tt_rng *r,
		 const uint64_t *vals, int nvals);

#endif
