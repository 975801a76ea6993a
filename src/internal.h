/* SPDX-License-Identifier: MIT */
/* What the layers of libshmx share. Not installed. */
#ifndef SHMX_INTERNAL_H
#define SHMX_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "shmx.h"

#define SHMX_EXPORT __attribute__((visibility("default")))

/* "/" + up to NAME_MAX bytes + NUL */
#define SHMX__NAME_BUF (1 + SHMX_NAME_MAX + 1)

/* What backs a region; each kind's contract differences are in shmx(7). */
enum shmx__kind {
	SHMX__POSIX,            /* named object in /dev/shm */
	SHMX__ANON,             /* memfd: no name, sealed against truncation */
	SHMX__SYSV,             /* System V segment: no fd, fixed size */
	SHMX__FILE,             /* a file anywhere: its path is its name */
};

struct shmx_region {
	int fd;                 /* -1 for SHMX__SYSV */
	unsigned flags;
	enum shmx__kind kind;
	size_t size;            /* mapped length when mapped, else last known */
	void *addr;             /* NULL when not mapped */
	int shmid;              /* SHMX__SYSV only */
	char name[SHMX__NAME_BUF]; /* "/x" of a POSIX object, else "" */
	char path[PATH_MAX];    /* the file its name leads to; "" while unnamed */
	bool built_unnamed;     /* fd is of the unnamed file: map by name (create.c) */
};

/* libc's -1 + errno, as -errno; anything else passes through. */
static inline int shmx__neg(int r)
{
	return r == -1 ? -errno : r;
}

/* name.c: check name and write its canonical "/name" form to out (of
 * SHMX__NAME_BUF bytes); max is the longest allowed length after the '/'. */
int shmx__name(const char *name, size_t max, char *out);

/* name.c: the file behind a canonical name in /dev/shm, "/dev/shm/x", or
 * with sem, glibc's file for the semaphore named canon, "/dev/shm/sem.x". */
#define SHMX__PATH_BUF (sizeof("/dev/shm/sem.") + SHMX__NAME_BUF + 8)
void shmx__path(const char *canon, bool sem, char *out);
/* name.c: shm_unlink(canon), 0 or -errno; -EACCES, never -EPERM, for
 * another user's object whatever the C library. */
int shmx__shm_unlink(const char *canon);

/* region.c */
int shmx__region_from_fd(int fd, const char *canon, unsigned flags,
			 struct shmx_region **ret);
/* The same for any kind with a descriptor: a regular file of non-zero size
 * (-EISDIR, -EMEDIUMTYPE, -ENODATA, -EFBIG). */
int shmx__region_of_fd(enum shmx__kind kind, int fd, const char *name, unsigned flags,
		       struct shmx_region **ret);
/* A handle of any kind on fd (for SHMX__SYSV: fd is the shmid); name is
 * the canonical "/x" of a POSIX object, the path of a file, else "". Maps
 * it when flags ask. On failure the caller still owns fd. */
int shmx__region_new(enum shmx__kind kind, int fd, const char *name, unsigned flags,
		     size_t size, struct shmx_region **ret);
/* 0, -EINVAL for a size of 0, -EFBIG past off_t. */
int shmx__check_size(size_t size);
/* posix_fallocate as -errno, retried on EINTR. */
int shmx__reserve(int fd, off_t off, off_t len);

/* anon.c: whether a resize of an anonymous region from old to size bytes is
 * allowed by its seals (0 or -EPERM). */
int shmx__anon_may_resize(const struct shmx_region *r, uint64_t old, size_t size);

/* sysv.c: attach and detach a System V region (shmx_map, shmx_unmap). */
int shmx__sysv_attach(struct shmx_region *r);
int shmx__sysv_detach(struct shmx_region *r);
/* shmx_read/shmx_write on an unattached segment: attach for the copy. */
ssize_t shmx__sysv_io(const struct shmx_region *r, size_t off, void *buf, size_t len,
		      bool write);
/* shmx_fstat of a segment, from IPC_STAT. */
int shmx__sysv_info(const struct shmx_region *r, struct shmx_info *info);
/* Unlink path only if it still names the object behind fd. */
void shmx__unlink_if_same(const char *path, int fd);
/* Two-step create, used by every create of a named object: a complete
 * object is built unnamed (O_TMPFILE in dir; a named O_EXCL file at path
 * where that is unsupported), then shmx__publish_at() links it in at path,
 * -EEXIST if the name exists by then. Formatted objects write their header
 * in between, so no half-made object is ever visible, even after kill -9.
 * shmx__discard() undoes it after a failure. The handle is a SHMX__POSIX
 * one; r->path is set once the object has its name. */
int shmx__create_at(const char *dir, const char *path, size_t size, unsigned flags,
		    mode_t mode, struct shmx_region **ret);
int shmx__publish_at(struct shmx_region *r, const char *path);
/* (shmx__publish_at() and shmx__publish() return -ESTALE when the route
 * this process had learned to name unnamed files no longer works; the
 * caller may build the object again, which probes afresh.) */
/* A descriptor of r's object opened by its name when r was built unnamed
 * (so that a mapping shows the name, not "(deleted)"), checked to be the
 * same inode; -1 otherwise. The caller closes it. */
int shmx__named_fd(const struct shmx_region *r);
void shmx__discard(struct shmx_region *r);
/* The same in /dev/shm, for the object of canonical name canon. */
int shmx__create(const char *canon, size_t size, unsigned flags, mode_t mode,
		 struct shmx_region **ret);
int shmx__publish(struct shmx_region *r, const char *canon);

/* liveness.c: a new open file description of r's object (for independent
 * OFD locks), and the liveness slots. */
int shmx__reopen(const struct shmx_region *r);

/* Liveness slots: byte (SHMX__SLOT_BASE + slot) of the object, far past any
 * data so they never collide with locks a user takes on the bytes. */
#define SHMX__SLOT_BASE ((off_t)1 << 62)
int shmx__slot_lock(int fd, unsigned slot);   /* 0, -EBUSY if held elsewhere */
int shmx__slot_unlock(int fd, unsigned slot);
int shmx__slot_held(int fd, unsigned slot);   /* 1 held, 0 free, -errno */
/* The first 31 slots' holders as bits, or into *mask; 0 or -errno. */
int shmx__holders(int fd, uint32_t *mask);

/* deadline.c: deadlines on CLOCK_MONOTONIC. */
int shmx__deadline(int timeout_ms, struct timespec *dl); /* -EINVAL if < -1 */
bool shmx__forever(const struct timespec *dl);
bool shmx__expired(const struct timespec *dl);
/* The earlier of dl and now + slice_ms, for waits that poll liveness. */
void shmx__slice(const struct timespec *dl, int slice_ms, struct timespec *out);

/* SIGBUS guard (guard.c). A guarded section covers one shared mapping: a
 * kernel fault (not a sent SIGBUS) at an address inside it jumps back to
 * the section's start; anything else goes to the previous disposition.
 * Sections nest (a call inside a call). */
struct shmx__guard {
	sigjmp_buf jb;
	const char *lo;                 /* the mapping the section touches */
	size_t len;
	struct shmx__guard *prev;       /* the enclosing section */
};
extern int shmx__guard_state;           /* 2 once shmx_guard_sigbus() ran */
static inline bool shmx__guard_on(void)
{
	return __atomic_load_n(&shmx__guard_state, __ATOMIC_RELAXED) == 2;
}
void shmx__guard_enter(struct shmx__guard *g, const void *lo, size_t len);
void shmx__guard_leave(struct shmx__guard *g);

/* res = expr, evaluated as a guarded section over [lo, lo + len) when the
 * guard is on; res = on_fault if a truncation fault hit that range. Every
 * path through it leaves the section: no hidden return. */
#define SHMX__GUARDED(res, lo, len, expr, on_fault)                              	do {                                                                     		struct shmx__guard guard_;                                       		if (!shmx__guard_on()) {                                         			(res) = (expr);                                          		} else if (sigsetjmp(guard_.jb, 0) == 0) {                       			shmx__guard_enter(&guard_, (lo), (len));                 			(res) = (expr);                                          			shmx__guard_leave(&guard_);                              		} else {                                                         			shmx__guard_leave(&guard_);                              			(res) = (on_fault);                                      		}                                                                	} while (0)

/* -EFAULT when the object behind fd shrank below size since we mapped it. */
int shmx__truncated(int fd, uint64_t size);

/* memcpy of len bytes where shared (dst or src) is in a shared mapping:
 * -EFAULT instead of a SIGBUS when the guard is on. */
int shmx__copy(void *dst, const void *src, size_t len, const void *shared);

/* pollfd.c: pollable descriptors (shmx(7), "Polling"). The poller's side:
 * an eventfd, a listener on an abstract name made of objfd's object, role
 * and gen, and the epoll set the caller polls (shmx__poll_fd()). */
struct shmx__poll;
int shmx__poll_new(int objfd, char role, uint32_t gen, struct shmx__poll **ret);
/* The same, the name made unguessable by a random nonce (*nonce, out) that
 * the caller publishes for the peer's shmx__kick_poller_at(). */
int shmx__poll_new_nonce(int objfd, char role, uint32_t gen, uint64_t *nonce,
			 struct shmx__poll **ret);
struct shmx__poll *shmx__poll_free(struct shmx__poll *pl);  /* NULL-safe */
int shmx__poll_fd(const struct shmx__poll *pl);
/* Make the descriptor readable (the poller saw something itself). */
void shmx__poll_signal(const struct shmx__poll *pl);
/* Before arming: clear the eventfd, take and check connecting peers. */
void shmx__poll_service(struct shmx__poll *pl);
/* Watch the peer process pid of attach generation gen for its death. */
void shmx__poll_watch(struct shmx__poll *pl, pid_t pid, uint32_t gen);
/* Several peers: watch the one in slot i (< 128) of attach generation gen,
 * process pid (0: none, stop watching the slot); false when it cannot be
 * watched (then tick). */
bool shmx__poll_watch_at(struct shmx__poll *pl, unsigned i, pid_t pid, uint32_t gen);
bool shmx__poll_watching(const struct shmx__poll *pl, unsigned i, pid_t pid, uint32_t gen);
/* Readable again ms from now: a poller with several peers to watch. */
void shmx__poll_tick(struct shmx__poll *pl, int ms);
/* The peer's side: wake the poller (role, gen) of objfd's object. *kp is
 * allocated on first use; free it with shmx__kick_free() (NULL-safe). */
struct shmx__kick;
void shmx__kick_poller(struct shmx__kick **kp, int objfd, char role, uint32_t gen);
/* The same for a poller that published nonce, whose shared state names
 * pid (0: none) for its role: that process is trusted whatever its user. */
void shmx__kick_poller_at(struct shmx__kick **kp, int objfd, char role, uint32_t gen,
			  uint64_t nonce, pid_t pid);
struct shmx__kick *shmx__kick_free(struct shmx__kick *k);

/* ---- channel (channel.c): the shared header, ABI version 1 ----
 * Native byte order (the object never leaves the machine). The creator
 * writes every field, then publishes the header with a release store of
 * magic. Identity fields are copied once on open and validated; after that
 * only private copies are trusted. Each index lives on its own 128-byte
 * block (adjacent-line prefetch pulls cache lines in pairs).
 * Ring records: an 8-byte word (len | tag << 32), the payload, padding to
 * 8 bytes. The word is stored last (release); the word after a record is
 * zeroed before the record is published, so a zero word means "nothing
 * yet" and the consumer polls the ring itself, not the producer's head. */
#define SHMX__CHAN_MAGIC    UINT64_C(0x4e414843584d4853) /* "SHMXCHAN" */
#define SHMX__CHAN_ABI      2u
#define SHMX__CHAN_HDR_MIN   4096u          /* ring starts page-aligned */
#define SHMX__CHAN_HDR_SIZE  4096u          /* ... one producer, one consumer */
#define SHMX__CHAN_SLOTS_AT  1024u          /* first slot block */
#define SHMX__CHAN_SLOT_SIZE 128u
#define SHMX__CHAN_MAX_PEERS 64u            /* producer or consumer slots */
#define SHMX__CHAN_MIN_CAP  ((uint64_t)64)
#define SHMX__CHAN_MAX_CAP  ((uint64_t)1 << 32)
#define SHMX__CHAN_ALIGN    8u              /* records start 8-aligned */
#define SHMX__CHAN_REC      8u              /* record header: len | tag << 32 */
#define SHMX__CHAN_TAG_MSG  UINT32_C(0x4d58534d) /* "MSXM" */
#define SHMX__CHAN_TAG_PAD  UINT32_C(0x5058534d) /* "MSXP": skip to ring end */
#define SHMX__CHAN_TAG_SKIP UINT32_C(0x5358534d) /* "MSXS": the unused end of a reservation */
/* Reserved, not committed: 0x80000000 | slot << 24 | generation (24 bits). */
#define SHMX__CHAN_TAG_BUSY UINT32_C(0x80000000)
#define SHMX__CHAN_POLICY_BLOCK     0u
#define SHMX__CHAN_POLICY_OVERWRITE 1u
/* Slot state word: attach generation << 8 | flags. */
#define SHMX__CHAN_ATTACHED 1u
#define SHMX__CHAN_CLOSED   2u
#define SHMX__CHAN_REAPED   4u              /* a producer found it dead */
#define SHMX__CHAN_JOINING  8u              /* broadcast consumer placing its cursor */
/* Liveness lock bytes (after the owner's, SHMX_SLOT_OWNER): producer slot i
 * and consumer slot j, interleaved so that slot 0 of each is the byte a
 * pair's writer and reader use. */
#define SHMX__CHAN_LOCK_PROD(i) (1u + 2u * (i))
#define SHMX__CHAN_LOCK_CONS(j) (2u + 2u * (j))

/* One party's block, 128 bytes (docs/channel-format.md). */
struct shmx__chan_slot {
	uint32_t state;         /* 0: generation << 8 | flags */
	int32_t pid;            /* 4: display only */
	uint32_t armed;         /* 8: polling its descriptor */
	uint32_t pad0;
	uint64_t pos;           /* 16: consumer: its tail */
	uint64_t count;         /* 24: messages sent / received */
	uint64_t lost;          /* 32: consumer: lost to overwriting */
	uint64_t index;         /* 40: consumer: messages passed */
	uint64_t resv;          /* 48: producer of several: reserved record + 1, 0 none */
	uint8_t pad1[128 - 56];
};

struct shmx__chan_hdr {
	/* identity: written once before publication */
	uint64_t magic;         /* 0: release-stored last */
	uint32_t abi;           /* 8 */
	uint32_t header_size;   /* 12: offset of the ring */
	uint64_t capacity;      /* 16: ring bytes, power of two */
	uint64_t max_msg;       /* 24: capacity / 2 - SHMX__CHAN_REC */
	uint32_t consumers;     /* 32: consumer slots */
	uint32_t producers;     /* 36: producer slots */
	uint32_t policy;        /* 40: SHMX__CHAN_POLICY_* */
	uint32_t flags;         /* 44: bit 0 "fences" (SHMX__CHAN_FLAG_FENCES, src/chan.h) */
	uint8_t pad0[128 - 48];
	/* the producers' block */
	uint64_t head;          /* 128: where the next record goes */
	uint64_t sent;          /* 136: messages committed / reserved */
	uint32_t lock;          /* 144: reservation lock (several producers) */
	uint32_t head_seq;      /* 148: sequence lock over head, sent */
	uint8_t pad1[256 - 152];
	/* overwrite: what is still intact */
	uint32_t low_seq;       /* 256: sequence lock over low, low_msgs */
	uint32_t pad2;
	uint64_t low;           /* 264: oldest intact record */
	uint64_t low_msgs;      /* 272: messages before it */
	uint8_t pad3[384 - 280];
	/* consumers wait for data */
	uint32_t data_seq;      /* 384 */
	uint32_t data_waiting;  /* 388 */
	uint8_t pad4[512 - 392];
	/* producers wait for room */
	uint32_t space_seq;     /* 512 */
	uint32_t space_waiting; /* 516 */
	uint8_t pad5[1024 - 520];
	/* 1024: producer slots, then consumer slots */
};

_Static_assert(sizeof(struct shmx__chan_slot) == SHMX__CHAN_SLOT_SIZE, "slot size");
_Static_assert(offsetof(struct shmx__chan_slot, pos) == 16, "slot pos");
_Static_assert(offsetof(struct shmx__chan_slot, index) == 40, "slot index");
_Static_assert(offsetof(struct shmx__chan_slot, resv) == 48, "slot resv");
_Static_assert(sizeof(struct shmx__chan_hdr) == SHMX__CHAN_SLOTS_AT, "channel header size");
_Static_assert(offsetof(struct shmx__chan_hdr, capacity) == 16, "capacity");
_Static_assert(offsetof(struct shmx__chan_hdr, policy) == 40, "policy");
_Static_assert(offsetof(struct shmx__chan_hdr, head) == 128, "head");
_Static_assert(offsetof(struct shmx__chan_hdr, lock) == 144, "lock");
_Static_assert(offsetof(struct shmx__chan_hdr, low) == 264, "low");
_Static_assert(offsetof(struct shmx__chan_hdr, data_seq) == 384, "data_seq");
_Static_assert(offsetof(struct shmx__chan_hdr, space_seq) == 512, "space_seq");

/* The slot blocks: producers' first, then consumers'. */
static inline struct shmx__chan_slot *shmx__chan_slots(struct shmx__chan_hdr *h)
{
	return (struct shmx__chan_slot *)(void *)((unsigned char *)h + SHMX__CHAN_SLOTS_AT);
}

/* The header's size for so many slots: the ring starts page-aligned. */
static inline uint32_t shmx__chan_hdr_size(uint32_t producers, uint32_t consumers)
{
	uint32_t n = SHMX__CHAN_SLOTS_AT + SHMX__CHAN_SLOT_SIZE * (producers + consumers);

	return (n + SHMX__CHAN_HDR_MIN - 1) & ~(SHMX__CHAN_HDR_MIN - 1);
}

/* Validated geometry: the only values the channel code trusts. */
struct shmx__chan_geom {
	uint64_t capacity;
	uint64_t mask;
	uint64_t max_msg;
	uint32_t header_size;
	uint32_t producers;     /* slots */
	uint32_t consumers;     /* slots */
	uint32_t policy;
};

/* Write every identity field of a fresh header, the magic last (release). */
void shmx__chan_write_header(struct shmx__chan_hdr *h, const struct shmx__chan_geom *g);
/* The geometry of a new channel: -EINVAL for a capacity, slot count or
 * policy out of range. */
int shmx__chan_geometry(uint64_t capacity, uint32_t producers, uint32_t consumers,
			uint32_t policy, struct shmx__chan_geom *g);
/* The largest message for a ring of capacity bytes. */
uint64_t shmx__chan_max_msg(uint64_t capacity);
/* Check a private copy of a header against the object's size: 0 and *g,
 * -EBADMSG (not a channel, inconsistent), -EPROTONOSUPPORT (other ABI). */
int shmx__chan_validate(const struct shmx__chan_hdr *h, uint64_t object_size,
			struct shmx__chan_geom *g);
/* Check a non-zero record header word read at ring index pos: 0 with
 * *advance (bytes to the next record) and *len (payload length; -1 for a
 * padding or skip record, -2 for one reserved and not committed yet), or
 * -EBADMSG. */
int shmx__chan_record(const struct shmx__chan_geom *g, uint64_t pos, uint64_t word,
		      uint64_t *advance, int64_t *len);

/* The mode of an object whose bytes hold liveness slots: read permission
 * only where there is write permission, so that a user who may not take
 * part cannot hold F_RDLCK on a slot and keep a role from being taken
 * (shmx(7)). 0644 becomes 0600, 0664 0660, 0666 stays. */
static inline mode_t shmx__lock_mode(mode_t mode)
{
	return (mode & 0222) | (mode & 0222) << 1;
}

#endif
