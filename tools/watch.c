/* SPDX-License-Identifier: MIT */
/* The receivers of shmx send, watched through pidfds from the moment they
 * attach: a producer with room in the ring never waits, so the library
 * never tells it that its consumer died, and once the names are gone
 * shmx_chan_peers() cannot be asked. A pidfd, opened while the slot says
 * that pid holds it and checked against the slot again afterwards, is the
 * holder's and no other process's, however pids are reused. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shmx-tool.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

void watch_init(struct watch *w)
{
	w->blind = false;
	w->any = false;
	for (unsigned i = 0; i < SHMX_CHAN_MAX_PEERS; i++)
		w->fd[i] = -1;
}

static const struct shmx_chan_peer *find(const struct shmx_chan_peer *p, int n,
					 const struct shmx_chan_peer *like)
{
	for (int i = 0; i < n; i++)
		if (p[i].role == like->role && p[i].slot == like->slot)
			return &p[i];
	return NULL;
}

/* Start watching consumer slot q (attached, as peers said): 0, or
 * -EOWNERDEAD / -EPIPE when it is gone already. */
static int watch_one(struct watch *w, const char *name, const struct shmx_chan_peer *q)
{
	struct shmx_chan_peer again[2 * SHMX_CHAN_MAX_PEERS];
	const struct shmx_chan_peer *a;
	int fd = pidfd_open(q->pid), n;

	/* No pidfds here (an old kernel, a seccomp filter): the library's
	 * waits still see a death, and the end is not waited for. */
	if (fd < 0 && errno != ESRCH) {
		w->blind = true;
		return 0;
	}
	n = shmx_chan_peers(name, again, sizeof(again) / sizeof(again[0]));
	a = n > 0 ? find(again, n, q) : NULL;
	if (a && a->generation == q->generation && a->pid == q->pid &&
	    a->state == SHMX_PEER_ATTACHED && fd >= 0) {
		w->fd[q->slot] = fd;
		w->gen[q->slot] = q->generation;
		w->any = true;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (!a || a->generation != q->generation)
		return 0;       /* another attach since: seen next time */
	/* Not a pid of our namespace, or gone: the slot says which. */
	return a->state == SHMX_PEER_DEAD ? -EOWNERDEAD :
	       a->state == SHMX_PEER_CLOSED ? -EPIPE : 0;
}

int watch_peers(struct watch *w, const char *name, const struct shmx_chan_peer *p, int n)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++) {
		if (p[i].role != SHMX_CHAN_CONSUMER || p[i].slot >= SHMX_CHAN_MAX_PEERS)
			continue;
		if (p[i].state == SHMX_PEER_DEAD)
			return -EOWNERDEAD;
		if (p[i].state != SHMX_PEER_ATTACHED)
			continue;
		if (w->fd[p[i].slot] >= 0 && w->gen[p[i].slot] == p[i].generation)
			continue;
		if (w->fd[p[i].slot] >= 0)
			close(w->fd[p[i].slot]);
		w->fd[p[i].slot] = -1;
		err = watch_one(w, name, &p[i]);
	}
	return err;
}

unsigned watch_ended(struct watch *w)
{
	struct pollfd pfd[SHMX_CHAN_MAX_PEERS];
	unsigned slot[SHMX_CHAN_MAX_PEERS], ended = 0;
	nfds_t n = 0;

	for (unsigned i = 0; i < SHMX_CHAN_MAX_PEERS; i++) {
		if (w->fd[i] < 0)
			continue;
		slot[n] = i;
		pfd[n++] = (struct pollfd){ .fd = w->fd[i], .events = POLLIN };
	}
	if (n == 0 || poll(pfd, n, 0) <= 0)
		return 0;
	for (nfds_t k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		close(w->fd[slot[k]]);
		w->fd[slot[k]] = -1;
		ended++;
	}
	return ended;
}

unsigned watch_count(const struct watch *w)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SHMX_CHAN_MAX_PEERS; i++)
		n += w->fd[i] >= 0;
	return n;
}

void watch_end(struct watch *w)
{
	for (unsigned i = 0; i < SHMX_CHAN_MAX_PEERS; i++) {
		if (w->fd[i] >= 0)
			close(w->fd[i]);
		w->fd[i] = -1;
	}
}
