/* SPDX-License-Identifier: MIT */
/*
 * libshmx - safe, fast POSIX shared memory for Linux.
 *
 * Conventions for every function below:
 *  - success returns 0 (or a non-negative count), failure returns -errno;
 *  - output parameters are written only on success;
 *  - destructors accept NULL and return NULL: r = shmx_close(r);
 *  - the library never prints, logs, aborts or exits;
 *  - nothing ever unlinks a name implicitly (see SHMX_UNLINK_ON_CLOSE);
 *  - timeouts are milliseconds: 0 = try once, -1 = wait forever (still
 *    watching the peer), anything below -1 is -EINVAL.
 * Each function has a man page (shmx_create(3), ...); shmx(7) is the overview.
 */
#ifndef SHMX_H
#define SHMX_H

#include <sched.h>       /* struct timespec, even in strict C99 mode */
#include <stddef.h>
#include <stdint.h>
#include <sys/ipc.h>     /* key_t, IPC_PRIVATE */
#include <sys/types.h>
#include <sys/uio.h>     /* struct iovec */
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMX_VERSION_MAJOR 0
#define SHMX_VERSION_MINOR 2
#define SHMX_VERSION_PATCH 0
#define SHMX_VERSION_STRING "0.2.0"
/* True when the headers are at least version maj.min.patch. */
#define SHMX_VERSION_AT_LEAST(maj, min, patch)                                   \
	((SHMX_VERSION_MAJOR > (maj)) ||                                         \
	 (SHMX_VERSION_MAJOR == (maj) && SHMX_VERSION_MINOR > (min)) ||          \
	 (SHMX_VERSION_MAJOR == (maj) && SHMX_VERSION_MINOR == (min) &&          \
	  SHMX_VERSION_PATCH >= (patch)))

/* Version of the library actually loaded, e.g. "0.1.0". */
const char *shmx_version(void);

/* ---- regions: a named POSIX shm object and its mapping, raw bytes ---- */

/* Flags for shmx_create() and shmx_open(); unknown bits give -EINVAL. */
#define SHMX_RDONLY          (1u << 0) /* open: read-only fd, PROT_READ map */
#define SHMX_MAP             (1u << 1) /* map the whole object right away */
#define SHMX_POPULATE        (1u << 2) /* map and pre-fault (implies MAP) */
#define SHMX_LAZY            (1u << 3) /* create/resize: skip posix_fallocate */
#define SHMX_UNLINK_ON_CLOSE (1u << 4) /* create: shmx_close() unlinks */

/* Longest name, bytes after the leading '/', for a region. */
#define SHMX_NAME_MAX 255
/* Longest name for a region that carries a semaphore pair. */
#define SHMX_PAIR_NAME_MAX 244

struct shmx_region;

/* The canonical form "/name" of a region or channel name into buf (size
 * bytes, SHMX_NAME_MAX + 2 always fit): its length, -EINVAL for a name the
 * rules of shmx(7) refuse, -ENAMETOOLONG, -ERANGE when buf is too small. */
int shmx_name_canon(const char *name, char *buf, size_t size);

/* Create a new object (O_EXCL: never adopts an existing one) of size bytes,
 * mode exactly as given (0 means 0600) regardless of umask, pages reserved
 * unless SHMX_LAZY. On failure no name is left behind. */
int shmx_create(const char *name, size_t size, unsigned flags, mode_t mode,
		struct shmx_region **ret);
/* Open an existing object; it must be a regular file of non-zero size. */
int shmx_open(const char *name, unsigned flags, struct shmx_region **ret);
/* Map the whole object (its current size); -EALREADY when mapped. */
int shmx_map(struct shmx_region *r);
/* Remove the mapping; -EALREADY when not mapped. */
int shmx_unmap(struct shmx_region *r);
/* Unmap and close; unlinks only with SHMX_UNLINK_ON_CLOSE. NULL-safe. */
struct shmx_region *shmx_close(struct shmx_region *r);
/* Remove a name. Mappings and open handles stay valid. */
int shmx_unlink(const char *name);
/* Change the size (grow reserves pages unless SHMX_LAZY); remaps if
 * mapped, so shmx_addr() may change. */
int shmx_resize(struct shmx_region *r, size_t size);
/* msync(MS_SYNC) the mapping; -EINVAL when not mapped. */
int shmx_sync(struct shmx_region *r);
/* Flag for shmx_sync_range(): start the write-back, do not wait for it. */
#define SHMX_ASYNC           (1u << 14)
/* msync of bytes [off, off + len) of the mapping: MS_SYNC, or MS_ASYNC
 * with SHMX_ASYNC; -ERANGE past the end, -EINVAL when not mapped. */
int shmx_sync_range(struct shmx_region *r, size_t off, size_t len, unsigned flags);

void *shmx_addr(const struct shmx_region *r);    /* NULL when not mapped */
size_t shmx_size(const struct shmx_region *r);   /* 0 for NULL */
const char *shmx_name(const struct shmx_region *r); /* "/name", a file's path */
int shmx_fd(const struct shmx_region *r);        /* -EBADF for NULL */

/* Bounds-checked copies between the mapping and private memory. Inside
 * them a SIGBUS (a peer truncated the object) becomes -EFAULT once
 * shmx_guard_sigbus() has been called; return the bytes copied. */
ssize_t shmx_read(const struct shmx_region *r, size_t off, void *buf, size_t len);
ssize_t shmx_write(struct shmx_region *r, size_t off, const void *buf, size_t len);
/* Opt in (process-wide) to turning SIGBUS inside shmx_read/shmx_write and
 * the channel's copies into -EFAULT. Chains to the previous handler for
 * faults elsewhere. */
int shmx_guard_sigbus(void);

/* Liveness: participants hold OFD locks on "slots" of an object's fd; the
 * kernel drops them when the process dies. shmx_stat() reports which are
 * held, bit (1u << slot). */
#define SHMX_SLOT_OWNER  0 /* the creator of a pair or channel */
#define SHMX_SLOT_WRITER 1 /* pair writer, channel producer */
#define SHMX_SLOT_READER 2 /* pair reader, channel consumer */
#define SHMX_HOLDERS_UNKNOWN (1u << 31) /* no access to read the locks */

struct shmx_info {
	uint64_t size;
	mode_t mode;            /* permission bits only */
	uid_t uid;
	gid_t gid;
	uint32_t holders;       /* (1u << SHMX_SLOT_*) held now */
	struct timespec atime;
	struct timespec mtime;
	struct timespec ctime;
	uint64_t reserved[4];
};

/* Metadata of a named object; works without read access to the data. */
int shmx_stat(const char *name, struct shmx_info *info);

/* Metadata of the object behind any handle (named, anonymous, System V);
 * for a segment, holders is SHMX_HOLDERS_UNKNOWN (no descriptor to lock). */
int shmx_fstat(const struct shmx_region *r, struct shmx_info *info);

/* ---- anonymous regions: memfd, no name, sealed against truncation ---- */

/* Flags for shmx_anon_create() and shmx_anon_recv(). */
#define SHMX_GROWABLE        (1u << 6) /* anon create: do not seal growing */
#define SHMX_ALLOW_UNSEALED  (1u << 7) /* anon recv: accept a truncatable fd */

/* A new memfd of size bytes (pages reserved unless SHMX_LAZY), sealed
 * against shrinking (and growing unless SHMX_GROWABLE): no peer can cut it
 * under a mapping. Inherited over fork; pass it on with shmx_anon_send(). */
int shmx_anon_create(size_t size, unsigned flags, struct shmx_region **ret);
/* Send an anonymous region's descriptor over a Unix socket (SCM_RIGHTS). */
int shmx_anon_send(const struct shmx_region *r, int sock);
/* Receive one, waiting up to timeout_ms; -EPERM if it is not sealed
 * against shrinking, unless SHMX_ALLOW_UNSEALED. */
int shmx_anon_recv(int sock, unsigned flags, int timeout_ms, struct shmx_region **ret);

/* ---- file regions: a file on a file system path, for persistence ---- */

/* Flag for shmx_file_create(): fsync the file and its directory, so the
 * new name and its contents survive a crash of the machine. */
#define SHMX_DURABLE         (1u << 13)

/* Create a new file at path (O_EXCL, never follows a symlink) with the
 * region contracts: mode exact under any umask (0 means 0600), pages
 * reserved unless SHMX_LAZY, built unnamed in path's directory and linked
 * in complete; on failure nothing is left at path. */
int shmx_file_create(const char *path, size_t size, unsigned flags, mode_t mode,
		     struct shmx_region **ret);
/* Open an existing file (not through a final symlink: -ELOOP); it must be
 * a regular file of non-zero size. SHMX_RDONLY, SHMX_MAP, SHMX_POPULATE. */
int shmx_file_open(const char *path, unsigned flags, struct shmx_region **ret);
/* Remove a file region's name; mappings and open handles stay valid. */
int shmx_file_unlink(const char *path);

/* ---- System V segments: shmget/shmat, for programs that use them ---- */

/* The key of (path, proj) as ftok(3) computes it; proj is 1..255. */
int shmx_sysv_key(const char *path, int proj, key_t *ret);
/* Create a new segment (IPC_CREAT | IPC_EXCL; key may be IPC_PRIVATE),
 * mode exactly as given (0 means 0600). It lives until shmx_sysv_remove(). */
int shmx_sysv_create(key_t key, size_t size, unsigned flags, mode_t mode,
		     struct shmx_region **ret);
/* Attach to an existing segment by key or by id; SHMX_RDONLY, SHMX_MAP. */
int shmx_sysv_open(key_t key, unsigned flags, struct shmx_region **ret);
int shmx_sysv_open_id(int id, unsigned flags, struct shmx_region **ret);
/* The segment's id; -EOPNOTSUPP for another kind. */
int shmx_sysv_id(const struct shmx_region *r);
/* Mark a segment for removal (IPC_RMID): it goes with its last detach. */
int shmx_sysv_remove(int id);

struct shmx_sysv_info {
	key_t key;              /* IPC_PRIVATE once marked for removal */
	int id;
	uint64_t size;
	mode_t mode;            /* permission bits only */
	uid_t uid, gid;         /* owner */
	uid_t cuid, cgid;       /* creator */
	pid_t cpid;             /* creator process */
	pid_t lpid;             /* last shmat/shmdt */
	uint64_t nattch;        /* attaches now */
	int removed;            /* marked for removal (SHM_DEST) */
	time_t atime, dtime, ctime; /* last attach, detach, change */
	uint64_t reserved[4];
};

/* IPC_STAT of segment id; needs read permission on it. */
int shmx_sysv_stat(int id, struct shmx_sysv_info *info);

/* Text for a negative errno, including libshmx's own meanings
 * (-EOWNERDEAD: the peer died, -EPIPE: the peer closed, -EFAULT: a peer
 * truncated the object under us, ...). */
const char *shmx_strerror(int err);

/* ---- pair: two named semaphores bound to a region, for handoff ---- */

/* Roles, passed in flags to shmx_pair_create()/shmx_pair_open(). */
#define SHMX_PAIR_WRITER (1u << 8) /* waits "may write", posts "may read" */
#define SHMX_PAIR_READER (1u << 9) /* waits "may read", posts "may write" */

struct shmx_pair;

/* Create the semaphores of region r (names "<region>.shmx-w" and
 * "<region>.shmx-r") with O_EXCL and mode (0 means 0600); the caller takes
 * the role in flags and becomes the owner. */
int shmx_pair_create(struct shmx_region *r, unsigned flags, mode_t mode,
		     struct shmx_pair **ret);
/* Attach to an existing pair of region r in the role given in flags;
 * -EBUSY if that role is taken, -EOWNERDEAD if the owner is dead. */
int shmx_pair_open(struct shmx_region *r, unsigned flags, struct shmx_pair **ret);
/* Release the role; never unlinks. NULL-safe. */
struct shmx_pair *shmx_pair_close(struct shmx_pair *p);
/* Remove both semaphores of the pair bound to region name. */
int shmx_pair_unlink(const char *name);
/* Wait for our turn (writer: buffer free, reader: data ready).
 * -ETIMEDOUT, or -EOWNERDEAD as soon as the peer is seen dead. */
int shmx_pair_wait(struct shmx_pair *p, int timeout_ms);
/* Hand the turn to the peer. */
int shmx_pair_post(struct shmx_pair *p);

/* A pair with no name: both semaphores (sem_init(pshared=1)) and the turn's
 * control block in a small sealed anonymous region; the caller takes the
 * role in flags and becomes the owner. */
int shmx_pair_create_anon(unsigned flags, struct shmx_pair **ret);
/* An anonymous pair's region, to hand to a child (fork) or another process
 * (shmx_anon_send()); owned by the pair. NULL for a named pair. */
struct shmx_region *shmx_pair_region(const struct shmx_pair *p);
/* Attach to the anonymous pair in region r in the role given in flags, on
 * a descriptor and mapping of its own: r stays the caller's. */
int shmx_pair_attach(const struct shmx_region *r, unsigned flags, struct shmx_pair **ret);
/* A descriptor for poll/epoll, readable when the turn may be ours or the
 * peer has gone; owned by the pair. shmx_pair_wait(p, 0) returning -EAGAIN
 * re-arms it. */
int shmx_pair_fd(struct shmx_pair *p);

/* ---- channel: a validated ring buffer of messages in shared memory ---- */

/* Roles and wait strategy, in flags of shmx_chan_create()/shmx_chan_open(). */
#define SHMX_CHAN_PRODUCER (1u << 8)
#define SHMX_CHAN_CONSUMER (1u << 9)
#define SHMX_CHAN_SPIN     (1u << 10) /* never sleep: pure busy-poll */
#define SHMX_CHAN_BLOCK    (1u << 11) /* never spin: sleep on a futex */
#define SHMX_ALLOW_SHARED  (1u << 12) /* open: accept group/other-writable */

struct shmx_chan;

/* Create a channel with a ring of capacity bytes (a power of two). The
 * caller takes the role in flags and becomes the owner. */
int shmx_chan_create(const char *name, size_t capacity, unsigned flags, mode_t mode,
		     struct shmx_chan **ret);
/* Open a channel, waiting up to timeout_ms for its creator to publish it. */
int shmx_chan_open(const char *name, unsigned flags, int timeout_ms,
		   struct shmx_chan **ret);
/* Leave the channel (the peer then sees -EPIPE); never unlinks. NULL-safe. */
struct shmx_chan *shmx_chan_close(struct shmx_chan *c);
int shmx_chan_unlink(const char *name);

/* Copy a message in; -EMSGSIZE above shmx_chan_max_msg(). */
int shmx_chan_send(struct shmx_chan *c, const void *buf, size_t len, int timeout_ms);
/* Copy the next message out; returns its length. -EMSGSIZE (message kept)
 * when it does not fit in size. */
ssize_t shmx_chan_recv(struct shmx_chan *c, void *buf, size_t size, int timeout_ms);
/* Zero-copy send: reserve len bytes in the ring, write them, commit. */
int shmx_chan_reserve(struct shmx_chan *c, size_t len, void **ptr, int timeout_ms);
int shmx_chan_commit(struct shmx_chan *c, size_t len);
/* Zero-copy receive: look at the next message in place, then release it. */
ssize_t shmx_chan_peek(struct shmx_chan *c, const void **ptr, int timeout_ms);
int shmx_chan_release(struct shmx_chan *c);
/* Batches: one call, one fence and one index store for many messages.
 * Send msgs[0..n) in order, waiting for room up to timeout_ms in all;
 * returns how many were sent (>= 1), -errno if none was. */
ssize_t shmx_chan_send_batch(struct shmx_chan *c, const struct iovec *msgs, size_t n,
			     int timeout_ms);
/* Wait for one message, then copy out every one there that fits, back to
 * back into buf, at most max_msgs; their lengths in lens. Returns how many. */
ssize_t shmx_chan_recv_batch(struct shmx_chan *c, void *buf, size_t size, size_t *lens,
			     size_t max_msgs, int timeout_ms);

size_t shmx_chan_capacity(const struct shmx_chan *c);
size_t shmx_chan_max_msg(const struct shmx_chan *c);
/* Bytes of the ring in use, and messages waiting; -errno on a bad peer. */
ssize_t shmx_chan_used(const struct shmx_chan *c);
ssize_t shmx_chan_pending(const struct shmx_chan *c);

struct shmx_chan_info {
	uint32_t abi;           /* format version */
	uint32_t header_size;
	uint64_t capacity;
	uint64_t max_msg;
	uint64_t used;          /* bytes in the ring now (behind the slowest consumer) */
	uint64_t sent;          /* messages committed so far */
	uint64_t received;      /* messages released so far (consumer slot 0) */
	pid_t producer_pid;     /* producer slot 0 (display only) */
	pid_t consumer_pid;     /* consumer slot 0 (display only) */
	uint32_t holders;       /* as in struct shmx_info */
	uint32_t policy;        /* SHMX_CHAN_POLICY_* */
	uint32_t producers;     /* producer slots */
	uint32_t consumers;     /* consumer slots */
	uint64_t lost;          /* messages lost to overwriting, all consumers */
	uint64_t reserved[2];
};

/* Decode and validate a channel's header without attaching to it;
 * -EBADMSG if name is not a libshmx channel. */
int shmx_chan_stat(const char *name, struct shmx_chan_info *info);

/* ---- several consumers, several producers ---- */

/* What the producer does when the slowest consumer is a ring behind. */
#define SHMX_CHAN_POLICY_BLOCK     0u /* wait for it (with the deadline) */
#define SHMX_CHAN_POLICY_OVERWRITE 1u /* never wait; it loses the oldest */
#define SHMX_CHAN_MAX_PEERS        64u

/* A channel's shape, fixed at creation. consumers > 1 makes it a
 * broadcast: each consumer receives every message sent after it attached.
 * producers > 1 lets that many producers send at once. 0 means 1. */
struct shmx_chan_params {
	size_t capacity;        /* ring bytes, a power of two */
	uint32_t producers;     /* producer slots, 1..SHMX_CHAN_MAX_PEERS */
	uint32_t consumers;     /* consumer slots, 1..SHMX_CHAN_MAX_PEERS */
	uint32_t policy;        /* SHMX_CHAN_POLICY_* */
	uint32_t reserved[5];   /* zero */
};

/* shmx_chan_create() and shmx_chan_create_anon() with a shape. */
int shmx_chan_create_params(const char *name, const struct shmx_chan_params *p,
			    unsigned flags, mode_t mode, struct shmx_chan **ret);
int shmx_chan_create_anon_params(const struct shmx_chan_params *p, unsigned flags,
				 struct shmx_chan **ret);
/* Consumer of an overwrite channel: messages lost so far. A receive that
 * finds it has fallen a ring behind returns -ENOBUFS once, adds to this,
 * and the next call continues with the oldest message still there. */
ssize_t shmx_chan_lost(const struct shmx_chan *c);
/* The slot this handle holds (0..producers-1 or 0..consumers-1). */
int shmx_chan_slot(const struct shmx_chan *c);

/* One slot of a channel, as shmx_chan_peers() sees it from outside. */
struct shmx_chan_peer {
	unsigned role;          /* SHMX_CHAN_PRODUCER or SHMX_CHAN_CONSUMER */
	uint32_t slot;
	pid_t pid;              /* last holder (display only) */
	uint32_t state;         /* SHMX_PEER_* */
	uint32_t generation;    /* attaches to this slot so far */
	uint64_t count;         /* messages sent / received */
	uint64_t lag;           /* consumer: bytes behind the head */
	uint64_t lost;          /* consumer: lost to overwriting */
	uint64_t reserved[2];
};
#define SHMX_PEER_FREE     0u /* never used */
#define SHMX_PEER_ATTACHED 1u /* holder alive */
#define SHMX_PEER_CLOSED   2u /* holder closed it */
#define SHMX_PEER_DEAD     3u /* holder died attached */

/* The slots of channel name, producers first, at most n into peers;
 * returns how many slots the channel has (which may be more than n). */
int shmx_chan_peers(const char *name, struct shmx_chan_peer *peers, size_t n);

/* A channel with no name, in a sealed anonymous region (shmx_anon_create());
 * the caller takes the role in flags and becomes the owner. */
int shmx_chan_create_anon(size_t capacity, unsigned flags, struct shmx_chan **ret);
/* The region a channel lives in, to hand to a child (fork) or another
 * process (shmx_anon_send()); owned by the channel, valid until it closes. */
struct shmx_region *shmx_chan_region(const struct shmx_chan *c);
/* Attach to the channel in region r (any kind with a descriptor) in the
 * role given in flags, on a descriptor and mapping of its own: r stays the
 * caller's. Validates the header as shmx_chan_open() does. */
int shmx_chan_attach(const struct shmx_region *r, unsigned flags, struct shmx_chan **ret);
/* A descriptor for poll/epoll, readable when a message may be waiting
 * (consumer) or space may be free (producer), or the peer has gone; owned
 * by the channel. Drain with timeout 0 until -EAGAIN, which re-arms it. */
int shmx_chan_fd(struct shmx_chan *c);

#ifdef __cplusplus
}
#endif

#endif /* SHMX_H */
