/* SPDX-License-Identifier: MIT */
/* Pollable descriptors (shmx(7), "Polling"), shared by the channel and the
 * pair. The poller makes an eventfd and listens on an abstract Unix socket
 * named after the object, its role and its attach generation; the peer,
 * the first time it must wake the poller, connects (which alone makes the
 * poller's descriptor readable), is handed the eventfd with SCM_RIGHTS and
 * from then on writes to it. What the caller polls is an epoll set over the
 * eventfd, the listening socket, the peer's connection (end of file when
 * the peer dies) and a pidfd of the peer. Abstract names and descriptors
 * go with the process: nothing is left behind after a crash. An abstract
 * name has no permissions, so both ends check the other's credentials. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define BACKLOG 4       /* one peer per role, and a few that come and go */
/* A watched peer whose process is gone while its liveness slot still
 * looks held (it died just after a try looked, or a child shares its
 * slot): look again this often until the slot says so too. */
#define RECHECK_MS 15
#define NONCE_TRIES 8   /* names taken by someone else before we give up */
#define WATCH_MAX 128   /* several peers: slots watched, by index */

/* One of several peers, watched by its pidfd (shmx__poll_watch_at()). */
struct watch {
	int pidfd;
	pid_t pid;
	uint32_t gen;
	bool gone;              /* its process has exited */
};

struct shmx__poll {
	int ep;                 /* what the caller polls: a set over the rest */
	int efd;                /* the peer writes it */
	int lfd;                /* listening, abstract name */
	int conn;               /* the peer's connection */
	int pidfd;              /* the peer process */
	int tfd;                /* several peers: a slice timer instead */
	uint32_t peer_gen;      /* attach generation pidfd belongs to */
	pid_t peer_pid;         /* its pid, from the shared state */
	bool pid_gone;          /* that process has exited */
	uid_t owner;            /* the object's owner */
	struct watch *w;        /* several peers: WATCH_MAX, made on first use */
};

struct shmx__kick {
	int sock;               /* connected to the poller */
	int efd;                /* its eventfd, once handed over */
	uint32_t gen;           /* the poller's generation sock belongs to */
	uint64_t nonce;         /* and its name's nonce */
	pid_t pid;              /* the poller's pid, from the shared state */
	bool refused;           /* wrong credentials: never for this gen */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* "@shmx-<dev>-<ino>-<role>-<gen>": one name per object, role and attach,
 * so a poller that comes after a dead one never meets its corpse; with
 * "-<nonce>" (random, published in the object once bound) when the caller
 * has a place to publish it: a name nobody can take before us. */
static int poll_addr(int objfd, char role, uint32_t gen, uint64_t nonce,
		     struct sockaddr_un *sa, socklen_t *len, uid_t *owner)
{
	struct stat st;
	int n;

	if (fstat(objfd, &st) < 0)
		return -errno;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "shmx-%llx-%llx-%c-%u",
		     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, role,
		     gen);
	if (nonce)
		n += snprintf(sa->sun_path + 1 + n, sizeof(sa->sun_path) - 1 - (size_t)n,
			      "-%016llx", (unsigned long long)nonce);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	*owner = st.st_uid;
	return 0;
}

/* The owner of the object, ourselves, root (who could ptrace either of
 * us anyway), or the process the object's shared state names for that
 * role (pid, 0 if none: another user who may write the object is a
 * participant) may be at the other end. */
static bool trusted(int sock, uid_t owner, pid_t pid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == owner || cr.uid == geteuid() || cr.uid == 0 ||
	       (pid > 0 && cr.pid == pid);
}

static int ep_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return shmx__neg(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
}

/* Out of the set, then closed: closing alone takes a descriptor out of an
 * epoll set only when it closes the file's last descriptor, and a process
 * forked since holds copies (the peer itself, when the poller forked it):
 * a dead peer's pidfd, left in, would keep the set readable for good. */
static void ep_drop(struct shmx__poll *pl, int *fd)
{
	if (*fd >= 0 && pl->ep >= 0)
		(void)epoll_ctl(pl->ep, EPOLL_CTL_DEL, *fd, NULL);
	close_fd(fd);
}

static uint64_t new_nonce(void)
{
	uint64_t n = 0;

	while (!n && getrandom(&n, sizeof(n), 0) != (ssize_t)sizeof(n))
		if (errno != EINTR)
			return 0;
	return n;
}

/* Bind our name. With a nonce (*nonce not 0 on entry), a name someone
 * took is followed by a fresh nonce, so nobody can keep us from binding. */
static int listen_on(struct shmx__poll *pl, int objfd, char role, uint32_t gen,
		     uint64_t *nonce)
{
	struct sockaddr_un sa;
	socklen_t len = 0;       /* set by poll_addr() when it returns 0 */
	int err, tries = nonce ? NONCE_TRIES : 1;

	pl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pl->lfd < 0)
		return -errno;
	do {
		if (nonce && !(*nonce = new_nonce()))
			return -EIO;
		err = poll_addr(objfd, role, gen, nonce ? *nonce : 0, &sa, &len, &pl->owner);
		if (!err)
			err = shmx__neg(bind(pl->lfd, (struct sockaddr *)&sa, len));
	} while (err == -EADDRINUSE && --tries > 0);
	return err ? err : shmx__neg(listen(pl->lfd, BACKLOG));
}

struct shmx__poll *shmx__poll_free(struct shmx__poll *pl)
{
	if (!pl)
		return NULL;
	close_fd(&pl->ep);
	close_fd(&pl->efd);
	close_fd(&pl->lfd);
	close_fd(&pl->conn);
	close_fd(&pl->pidfd);
	close_fd(&pl->tfd);
	for (unsigned i = 0; pl->w && i < WATCH_MAX; i++)
		close_fd(&pl->w[i].pidfd);
	free(pl->w);
	free(pl);
	return NULL;
}

int shmx__poll_new(int objfd, char role, uint32_t gen, struct shmx__poll **ret)
{
	return shmx__poll_new_nonce(objfd, role, gen, NULL, ret);
}

int shmx__poll_new_nonce(int objfd, char role, uint32_t gen, uint64_t *nonce,
			 struct shmx__poll **ret)
{
	struct shmx__poll *pl = malloc(sizeof(*pl));
	int err;

	if (!pl)
		return -ENOMEM;
	*pl = (struct shmx__poll){ .ep = -1, .efd = -1, .lfd = -1, .conn = -1, .pidfd = -1,
				    .tfd = -1 };
	pl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pl->ep = epoll_create1(EPOLL_CLOEXEC);
	err = pl->efd < 0 || pl->ep < 0 ? -errno : 0;
	if (!err)
		err = listen_on(pl, objfd, role, gen, nonce);
	if (!err)
		err = ep_add(pl->ep, pl->efd);
	if (!err)
		err = ep_add(pl->ep, pl->lfd);
	if (err) {
		shmx__poll_free(pl);
		return err;
	}
	*ret = pl;
	return 0;
}

int shmx__poll_fd(const struct shmx__poll *pl)
{
	return pl->ep;
}

void shmx__poll_signal(const struct shmx__poll *pl)
{
	uint64_t one = 1;

	(void)!write(pl->efd, &one, sizeof(one));
}

/* Hand our eventfd to a connector we trust; it stays connected, so that
 * its death is an end of file here. Anyone else is hung up on. */
static void admit(struct shmx__poll *pl, int sock)
{
	char byte = 0;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pl->efd, sizeof(int));
	if (!trusted(sock, pl->owner, pl->peer_pid) || sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != 1 ||
	    ep_add(pl->ep, sock)) {
		close(sock);
		return;
	}
	/* One peer per role: a newer connection replaces an older one. */
	ep_drop(pl, &pl->conn);
	pl->conn = sock;
}

/* Readable now (without waiting): data, end of file, or an exited pidfd. */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* Before arming: clear the eventfd. When it held nothing, something else
 * made us readable: take pending connections, and drop a peer connection
 * at end of file and a pidfd whose process has exited, so that they do not
 * keep the descriptor readable for good. The caller has just seen the peer
 * alive, but its process is gone: it died after that look, or a child
 * holds its slot. shmx__poll_watch() then has the descriptor look again
 * every RECHECK_MS until the slot is free too. */
void shmx__poll_service(struct shmx__poll *pl)
{
	uint64_t v;
	char byte;
	int s;

	if (pl->tfd >= 0)
		(void)!read(pl->tfd, &v, sizeof(v));
	if (read(pl->efd, &v, sizeof(v)) == sizeof(v))
		return;
	while ((s = accept4(pl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		admit(pl, s);
	if (pl->conn >= 0 && recv(pl->conn, &byte, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
		ep_drop(pl, &pl->conn);
	if (pl->pidfd >= 0 && readable(pl->pidfd)) {
		ep_drop(pl, &pl->pidfd);
		pl->pid_gone = true;
		shmx__poll_tick(pl, RECHECK_MS);
	}
	for (unsigned i = 0; pl->w && i < WATCH_MAX; i++)
		if (pl->w[i].pidfd >= 0 && readable(pl->w[i].pidfd)) {
			ep_drop(pl, &pl->w[i].pidfd);
			pl->w[i].gone = true;
			shmx__poll_tick(pl, RECHECK_MS);
		}
}

/* Watch the peer of attach generation gen, process pid (from the shared
 * header: untrusted, a wrong one only costs a wake-up), for its death. */
void shmx__poll_watch(struct shmx__poll *pl, pid_t pid, uint32_t gen)
{
	if (pl->peer_gen == gen && pl->peer_pid == pid) {
		if (pl->pid_gone)
			shmx__poll_tick(pl, RECHECK_MS);
		return;
	}
	ep_drop(pl, &pl->pidfd);
	pl->peer_gen = gen;
	pl->peer_pid = pid;
	pl->pid_gone = false;
	if (pid <= 0)
		return;
#ifdef SYS_pidfd_open
	pl->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pl->pidfd < 0 && errno == ESRCH) {
		pl->pid_gone = true;
		shmx__poll_signal(pl);  /* gone already: look at once */
	}
	if (pl->pidfd >= 0 && ep_add(pl->ep, pl->pidfd))
		close_fd(&pl->pidfd);
#endif
}

/* A pidfd for pid in the epoll set: -ESRCH when it is gone already, -1
 * when it cannot be watched (no pidfd_open, no descriptor left). */
static int watch_pid(struct shmx__poll *pl, pid_t pid)
{
	int fd = -1;

#ifdef SYS_pidfd_open
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH ? -ESRCH : -1;
	if (ep_add(pl->ep, fd)) {
		close(fd);
		return -1;
	}
#endif
	return fd;
}

/* Whether peer i is watched as process pid of attach gen already. */
bool shmx__poll_watching(const struct shmx__poll *pl, unsigned i, pid_t pid, uint32_t gen)
{
	return pl->w && i < WATCH_MAX && pl->w[i].pid == pid && pl->w[i].gen == gen;
}

bool shmx__poll_watch_at(struct shmx__poll *pl, unsigned i, pid_t pid, uint32_t gen)
{
	struct watch *w;
	int fd;

	if (i >= WATCH_MAX)
		return false;
	if (!pl->w) {
		if (!(pl->w = malloc(WATCH_MAX * sizeof(*pl->w))))
			return false;
		for (unsigned k = 0; k < WATCH_MAX; k++)
			pl->w[k] = (struct watch){ .pidfd = -1 };
	}
	w = &pl->w[i];
	if (w->gen == gen && w->pid == pid) {
		if (w->gone)
			shmx__poll_tick(pl, RECHECK_MS);
		return pid <= 0 || w->gone || w->pidfd >= 0;
	}
	ep_drop(pl, &w->pidfd);
	*w = (struct watch){ .pidfd = -1, .pid = pid, .gen = gen };
	if (pid <= 0)
		return true;
	fd = watch_pid(pl, pid);
	if (fd == -ESRCH) {
		w->gone = true;
		shmx__poll_signal(pl);  /* gone already: look at once */
	}
	w->pidfd = fd < 0 ? -1 : fd;
	return fd != -1;
}

/* With several peers there is no one process to watch: make the
 * descriptor readable ms from now (one-shot), so the caller's next try
 * looks at their liveness slots, as a sleeper does every slice. */
void shmx__poll_tick(struct shmx__poll *pl, int ms)
{
	struct itimerspec it = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000L } };

	if (pl->tfd < 0) {
		pl->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (pl->tfd < 0)
			return;
		if (ep_add(pl->ep, pl->tfd)) {
			close_fd(&pl->tfd);
			return;
		}
	}
	(void)timerfd_settime(pl->tfd, 0, &it, NULL);
}


/* ---- the peer's side ---- */

struct shmx__kick *shmx__kick_free(struct shmx__kick *k)
{
	if (!k)
		return NULL;
	close_fd(&k->sock);
	close_fd(&k->efd);
	free(k);
	return NULL;
}

/* Writing must never block us nor raise SIGPIPE, whatever a poller (even
 * a trusted one) sent: a non-blocking descriptor that is no pipe or socket. */
static bool writable_safely(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || !(fl & O_NONBLOCK) || fstat(fd, &st) < 0)
		return false;
	return !S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode);
}

/* The eventfd, if the poller has sent it by now. */
static void take_efd(struct shmx__kick *k)
{
	char byte;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(k->sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd;

	if (n == 0) {           /* hung up on: it does not trust us */
		close_fd(&k->sock);
		k->refused = true;
	}
	if (n != 1)
		return;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (writable_safely(fd))
		k->efd = fd;
	else
		close(fd);
}

/* Connect without blocking: a listener whose queue is full (-EAGAIN) has
 * connections pending already, which keep the poller readable. */
static void connect_to(struct shmx__kick *k, int objfd, char role)
{
	struct sockaddr_un sa;
	socklen_t len;
	uid_t owner;

	if (poll_addr(objfd, role, k->gen, k->nonce, &sa, &len, &owner))
		return;
	k->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->sock < 0)
		return;
	if (connect(k->sock, (struct sockaddr *)&sa, len) < 0) {
		close_fd(&k->sock);
		return;
	}
	if (!trusted(k->sock, owner, k->pid)) {
		close_fd(&k->sock);
		k->refused = true;
	}
}

static struct shmx__kick *kick_get(struct shmx__kick **kp)
{
	if (!*kp && (*kp = malloc(sizeof(**kp))))
		**kp = (struct shmx__kick){ .sock = -1, .efd = -1 };
	return *kp;
}

/* Wake the poller of role and attach generation gen on the object behind
 * objfd: through its eventfd once we have it; until then, connecting is
 * the wake-up. Best effort: every failure leaves the poller to its other
 * sources (and the caller's deadline). */
void shmx__kick_poller(struct shmx__kick **kp, int objfd, char role, uint32_t gen)
{
	shmx__kick_poller_at(kp, objfd, role, gen, 0, 0);
}

void shmx__kick_poller_at(struct shmx__kick **kp, int objfd, char role, uint32_t gen,
			  uint64_t nonce, pid_t pid)
{
	struct shmx__kick *k = kick_get(kp);
	uint64_t one = 1;

	if (!k)
		return;
	if (k->gen != gen || k->nonce != nonce || k->pid != pid) {
		close_fd(&k->sock);
		close_fd(&k->efd);
		k->gen = gen;
		k->nonce = nonce;
		k->pid = pid;
		k->refused = false;
	}
	if (k->refused)
		return;
	if (k->sock < 0) {
		connect_to(k, objfd, role);
		return;
	}
	if (k->efd < 0)
		take_efd(k);
	if (k->efd >= 0)
		(void)!write(k->efd, &one, sizeof(one));
}
