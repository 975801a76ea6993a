/* SPDX-License-Identifier: MIT */
/* What the shmx commands share: the command struct that each command file
 * ends with, and the helpers of util.c, address.c, devshm.c, inuse.c,
 * watch.c, object.c, json.c and stream.c. Not installed. */
#ifndef SHMX_TOOL_H
#define SHMX_TOOL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <shmx.h>

#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define EXIT_LOST  3            /* recv: the stream ended, some of it overwritten */

#define DEV_SHM    "/dev/shm"
#define SEM_PREFIX "sem."
#define PAIR_W     ".shmx-w"
#define PAIR_R     ".shmx-r"
#define PAIR_P     ".shmx-p"        /* the pair's control object, a region file */
/* "/" + NAME_MAX + NUL, and a little room */
#define NAME_BUF   272
/* Bytes of an argument a message shows, escaped (4 bytes per odd byte). */
#define SHOWN_BUF  1100

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;   /* "stat NAME...": the usage line */
	const char *help;       /* what it does, and its options */
};

extern const struct command cmd_ls, cmd_stat, cmd_create, cmd_rm, cmd_gc, cmd_cat,
	cmd_write, cmd_send, cmd_recv;
extern const struct command *cmd;       /* the one running, for messages */

/* main.c: "Usage: shmx SYNOPSIS" and the help text; 0 */
int show_help(const struct command *c);

/* ---- util.c: messages (to stderr; they return the exit status) ---- */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "shmx: rm /foo: No such file or directory" */
int op_error(const char *name, int err);
int op_errorf(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- util.c: names ---- */
/* The library's rules (shmx_name_canon(3)): 0 and "/x" in out, or -errno. */
int canon_name(const char *in, char out[NAME_BUF]);
/* canon_name(), or a usage error (exit status 2) saying what is wrong. */
int name_arg(const char *in, char out[NAME_BUF]);
/* A name as ls shows it: printable UTF-8 as is, other bytes escaped. */
void put_name(FILE *f, const char *s);
/* put_name() into one of a few static buffers, for messages. */
const char *shown(const char *s);
/* Length of the valid UTF-8 sequence at s, or 0 if there is none. */
size_t utf8_len(const unsigned char *s);
bool utf8_valid(const char *s);

/* ---- address.c: addresses, one argument for every kind of shared memory ----
 * "/name" or "name": a POSIX object; a '/' after the first character, or a
 * leading "./": a file; "sysv:KEY" (decimal or 0x hex) or "sysv:@ID": a
 * System V segment (shmx(1), ADDRESSES). */
enum addr_kind { A_POSIX, A_FILE, A_SYSV_KEY, A_SYSV_ID };

struct address {
	enum addr_kind kind;
	const char *arg;        /* as given, for messages */
	char name[PATH_MAX];    /* canonical "/x", or the file's path */
	key_t key;              /* A_SYSV_KEY */
	int id;                 /* A_SYSV_ID */
	bool foreign;           /* A_POSIX whose name the library refuses, found
				 * in /dev/shm (another program's) */
};

/* 0, or a usage error (exit status 2) saying what is wrong with in. A
 * "\xNN" in in is the byte NN, as every name is printed (put_name()). */
int address_arg(const char *in, struct address *a);
/* argv[optind...]: all addresses, at least one; exactly one, into *a. Both
 * 0, or a usage error printed (the exit status). */
int addresses_arg(int argc, char **argv);
/* Options [--json] [--help] only: -1 to go on, else the exit status. */
int json_opts(int argc, char **argv, bool *json);
int one_address_arg(int argc, char **argv, struct address *a);
/* A region handle on what a names, of any kind (SHMX_RDONLY, SHMX_MAP). */
int address_open(const struct address *a, unsigned flags, struct shmx_region **ret);
/* The segment id behind a System V address; -errno. */
int address_sysv_id(const struct address *a);
/* "posix", "file", "sysv": the kind as every --json record spells it. */
const char *address_kind(const struct address *a);

/* ---- object.c: what one address holds (stat, and every --json record) ---- */
struct facts {
	const char *name;       /* the address, canonical */
	const char *kind;       /* posix, file, sysv */
	const char *type;       /* region, pair, channel, semaphore, file, segment;
				 * NULL: not known */
	struct stat st;         /* size, mode, owner, times (a segment's too) */
	bool meta;              /* st is known */
	bool have_st;           /* an inode (a segment has none to map) */
	uint32_t holders;       /* SHMX_HOLDERS_UNKNOWN when not known */
	bool chan, pair, sysv;
	struct shmx_chan_info ci;
	struct shmx_sysv_info si;
};

/* Everything about what a names: 0, or -errno and only f's address and
 * kind (facts_bare()). */
int gather(const struct address *a, struct facts *f);
/* The address and its kind, nothing known about the object. */
void facts_bare(const struct address *a, struct facts *f);

/* ---- json.c: the --json documents (shmx(1), JSON) ---- */
void json_str(FILE *f, const char *s);
/* "key":"name" plus "key_hex" (the exact bytes) when they are not UTF-8 */
void json_name(FILE *f, const char *key, const char *name);
/* Before each member of an array: "\n", then ",\n". */
void json_sep(bool *first);
/* The keys of an object's record, without the braces. */
void json_record(const struct facts *f);
/* op_error(), and with json the same error kept for json_errors(). */
int json_op_error(bool json, const char *name, int err);
int json_op_errorf(bool json, const char *name, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "errors":[...]: those kept so far, each {"address","errno","error"}. */
void json_errors(void);

/* ---- util.c: numbers and their text ---- */
/* "4096", "64K", "1M", "2G", "1KiB": 0, or a usage error (exit status 2). */
int size_arg(const char *what, const char *s, bool allow_zero, uint64_t *out);
/* "-1" or a count of milliseconds up to INT_MAX: 0, or a usage error. */
int timeout_arg(const char *s, int *out);
/* A count from 1 to max ("3"), of what ("consumers"): 0, or a usage error. */
int count_arg(const char *what, const char *s, unsigned max, uint32_t *out);
const char *human(uint64_t v, char buf[24]);
const char *size_str(uint64_t v, bool bytes, char buf[24]);
const char *user_name(uid_t uid, char buf[32]);
const char *group_name(gid_t gid, char buf[32]);
const char *rwx(mode_t m, char buf[11]);
void time_local(const struct timespec *ts, char buf[32]);
void time_iso(const struct timespec *ts, char buf[48]);

/* ---- util.c: options ---- */
#define HELP_OPT { "help", no_argument, NULL, 'h' }
#define END_OPT  { NULL, 0, NULL, 0 }
void opt_reset(void);
/* getopt_long, except that a negative number is an operand; returns the
 * option, -1 at the end (operands then at argv[optind...]), or '?' after a
 * usage error has been printed. */
struct option;
int next_opt(int argc, char **argv, const char *shorts, const struct option *longs);

/* ---- devshm.c: what /dev/shm and the System V table hold ---- */
/* K_PLANTED: not a file an object can be (a symlink, FIFO, directory,
 * socket or device), listed so that an operator sees it. */
enum kind { K_REGION, K_PAIR, K_CHANNEL, K_SEM, K_PLANTED };
/* S_INUSE: the owner is gone, but a live process holds a slot or maps it. */
enum state { S_NONE, S_ALIVE, S_STALE, S_UNKNOWN, S_ORPHAN, S_INUSE };

extern const char *const kind_str[];   /* by enum kind */
extern const char *const state_str[];  /* by enum state */

struct entry {
	char name[NAME_BUF];    /* "/x"; a semaphore's is the name sem_open takes */
	char pair[NAME_BUF];    /* pair semaphore: its region's name, else "" */
	enum kind kind;
	enum state state;
	uint64_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime, ctime;
	uint32_t holders;
	bool chan_ok;
	struct shmx_chan_info chan;
	mode_t ftype;           /* K_PLANTED: S_IFLNK, S_IFIFO, ... */
	char target[NAME_BUF];  /* a planted symlink's target, as read */
};

struct list {
	struct entry *e;
	size_t n;
};


/* System V segments as /proc/sysvipc/shm shows them: key shmid perms size
 * cpid lpid nattch uid gid ... (perms in octal). */
struct sysv {
	long long key, id, size, cpid, lpid, nattch;
	unsigned perms, uid, gid;
};

/* "region", ..., or for a planted file what it is ("symlink", "fifo",
 * "directory", "socket", "device"): the type of every --json record. */
const char *entry_type(const struct entry *e);
/* Every file of /dev/shm, classified; free(l->e) afterwards. */
int scan(struct list *l);
enum state owner_state(uint32_t holders);
bool is_libshmx(const struct entry *e);
/* The slots of region pair's pair, on its control object (devshm.c). */
uint32_t pair_holders(const char *pair);
/* Whether glibc's file of semaphore name + suffix exists. */
bool sem_exists(const char *name, const char *suffix);
int sysv_read(struct sysv **out, size_t *n);

/* ---- inuse.c: whether anyone alive uses an object ---- */
/* Processes mapping the file st describes, from /proc/PID/maps: up to max
 * pids into out, their count. Only the processes we may inspect (all of
 * them as root). */
int mappers(const struct stat *st, pid_t *out, int max);
/* owner_state(holders), except that a pair or channel whose owner is gone
 * is S_INUSE while a live process holds a slot of it or maps it. */
enum state object_state(const char *name, uint32_t holders, bool chan);
const char *sysv_status(unsigned perms);

/* ---- stream.c: what shmx send and shmx recv share ---- */
#define STREAM_SLICE_MS 100     /* how often a wait looks at the stop flag */
/* Pair mode: the frame at the start of the region. */
struct stream_frame {
	uint32_t len;           /* bytes of data that follow */
	uint32_t flags;
	unsigned char data[];
};
#define STREAM_END   1u         /* no more frames */
#define STREAM_ABORT 2u         /* ... because the sender was interrupted */

extern volatile sig_atomic_t stream_stop;       /* the signal that stopped us */
void stream_signals(void);
int64_t stream_now_ms(void);
void stream_nap(void);                          /* 10 ms, for polling loops */
ssize_t stream_read(void *buf, size_t len);
ssize_t stream_read_line(char *buf, size_t len);
int stream_write(const void *buf, size_t len);
/* Attach to what the other side creates, waiting up to timeout_ms (-1:
 * forever) in slices: -ETIMEDOUT when it never came, -EINTR once stopped. */
int stream_chan_open(const char *name, unsigned flags, int timeout_ms,
		     struct shmx_chan **ret);
int stream_pair_attach(const char *name, unsigned role, int timeout_ms,
		       struct shmx_region **ret_r, struct shmx_pair **ret_p);
bool stream_is_quit(const char *line, size_t len);
/* Called by stream_read() each slice it waits for input: an error from it
 * ends the read with that error. NULL: nothing to look at. */
extern int (*stream_idle)(void);
int stream_report(const char *who, const char *peer, const char *name, int timeout_ms,
		  int err);

/* ---- watch.c: the processes of a channel's consumers ---- */
struct watch {
	int fd[SHMX_CHAN_MAX_PEERS];            /* pidfd by consumer slot, or -1 */
	uint32_t gen[SHMX_CHAN_MAX_PEERS];      /* the attach it watches */
	bool blind;                             /* no pidfd_open(2) here */
	bool any;                               /* some process was watched */
};
void watch_init(struct watch *w);
/* Watch the attached consumers among p (shmx_chan_peers(name)): 0, or
 * -EOWNERDEAD (one died) / -EPIPE (one left) for a consumer gone already. */
int watch_peers(struct watch *w, const char *name, const struct shmx_chan_peer *p, int n);
/* How many watched processes ended since the last call (no longer
 * watched then); never waits. */
unsigned watch_ended(struct watch *w);
/* How many are watched now. */
unsigned watch_count(const struct watch *w);
void watch_end(struct watch *w);

#endif
