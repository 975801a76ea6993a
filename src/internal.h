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
struct shmx__poll *shmx__poll_free(struct shmx__poll *pl);  /* NULL-safe */
int shmx__poll_fd(const struct shmx__poll *pl);
/* Make the descriptor readable (the poller saw something itself). */
void shmx__poll_signal(const struct shmx__poll *pl);
/* Before arming: clear the eventfd, take and check connecting peers. */
void shmx__poll_service(struct shmx__poll *pl);
/* Watch the peer process pid of attach generation gen for its death. */
void shmx__poll_watch(struct shmx__poll *pl, pid_t pid, uint32_t gen);
/* The peer's side: wake the poller (role, gen) of objfd's object. *kp is
 * allocated on first use; free it with shmx__kick_free() (NULL-safe). */
struct shmx__kick;
void shmx__kick_poller(struct shmx__kick **kp, int objfd, char role, uint32_t gen);
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
#define SHMX__CHAN_ABI      1u
#define SHMX__CHAN_HDR_SIZE 4096u           /* ring starts page-aligned */
#define SHMX__CHAN_MIN_CAP  ((uint64_t)64)
#define SHMX__CHAN_MAX_CAP  ((uint64_t)1 << 32)
#define SHMX__CHAN_ALIGN    8u              /* records start 8-aligned */
#define SHMX__CHAN_REC      8u              /* record header: len | tag << 32 */
#define SHMX__CHAN_TAG_MSG  UINT32_C(0x4d58534d) /* "MSXM" */
#define SHMX__CHAN_TAG_PAD  UINT32_C(0x5058534d) /* "MSXP": skip to ring end */
/* Party state word: attach generation << 8 | flags. */
#define SHMX__CHAN_ATTACHED 1u
#define SHMX__CHAN_CLOSED   2u

struct shmx__chan_hdr {
	/* identity: written once before publication */
	uint64_t magic;         /* 0: release-stored last */
	uint32_t abi;           /* 8 */
	uint32_t header_size;   /* 12: offset of the ring */
	uint64_t capacity;      /* 16: ring bytes, power of two */
	uint64_t max_msg;       /* 24: capacity / 2 - SHMX__CHAN_REC */
	uint32_t consumers;     /* 32: cursor blocks in use; 1 in ABI 1 */
	uint32_t flags;         /* 36: 0 in ABI 1 */
	uint8_t pad0[128 - 40];
	/* liveness (attach/close only); pids for display */
	uint32_t prod_state;    /* 128 */
	uint32_t cons_state;    /* 132 */
	int32_t producer_pid;   /* 136 */
	int32_t consumer_pid;   /* 140 */
	uint8_t pad1[256 - 144];
	/* producer block */
	uint64_t head;          /* 256: bytes ever committed */
	uint64_t sent;          /* 264: messages ever committed */
	uint8_t pad2[384 - 272];
	/* consumer block */
	uint64_t tail;          /* 384: bytes ever released */
	uint64_t received;      /* 392: messages ever released */
	uint8_t pad3[512 - 400];
	/* consumer waits for data: futex word and "asleep" flag */
	uint32_t data_seq;      /* 512 */
	uint32_t data_waiting;  /* 516 */
	uint8_t pad4[640 - 520];
	/* producer waits for space */
	uint32_t space_seq;     /* 640 */
	uint32_t space_waiting; /* 644 */
	uint32_t space_wanted;  /* 648: ring looked full (spinning or asleep) */
	uint8_t pad5[768 - 652];
	/* 768..4095: reserved (zero), room for more consumer cursors */
};

_Static_assert(sizeof(struct shmx__chan_hdr) == 768, "channel header size");
_Static_assert(offsetof(struct shmx__chan_hdr, capacity) == 16, "capacity");
_Static_assert(offsetof(struct shmx__chan_hdr, max_msg) == 24, "max_msg");
_Static_assert(offsetof(struct shmx__chan_hdr, prod_state) == 128, "prod_state");
_Static_assert(offsetof(struct shmx__chan_hdr, head) == 256, "head");
_Static_assert(offsetof(struct shmx__chan_hdr, tail) == 384, "tail");
_Static_assert(offsetof(struct shmx__chan_hdr, data_seq) == 512, "data_seq");
_Static_assert(offsetof(struct shmx__chan_hdr, space_seq) == 640, "space_seq");
_Static_assert(sizeof(struct shmx__chan_hdr) <= SHMX__CHAN_HDR_SIZE, "fits");

/* Validated geometry: the only values the channel code trusts. */
struct shmx__chan_geom {
	uint64_t capacity;
	uint64_t mask;
	uint64_t max_msg;
};

/* Write every identity field of a fresh header, the magic last (release). */
void shmx__chan_write_header(struct shmx__chan_hdr *h, uint64_t capacity);
/* The largest message for a ring of capacity bytes. */
uint64_t shmx__chan_max_msg(uint64_t capacity);
/* Check a private copy of a header against the object's size: 0 and *g,
 * -EBADMSG (not a channel, inconsistent), -EPROTONOSUPPORT (other ABI). */
int shmx__chan_validate(const struct shmx__chan_hdr *h, uint64_t object_size,
			struct shmx__chan_geom *g);
/* Check a non-zero record header word read at ring index pos: 0 with
 * *advance (bytes to the next record) and *len (payload length; -1 for a
 * padding record), or -EBADMSG. */
int shmx__chan_record(const struct shmx__chan_geom *g, uint64_t pos, uint64_t word,
		      uint64_t *advance, int64_t *len);

#endif
