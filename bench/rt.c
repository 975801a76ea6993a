/* SPDX-License-Identifier: MIT */
/* Round trips of 8 bytes through kernel primitives, and the floor under them:
 * the busy-spin cache line, raw futex, sem_open, pipe, Unix socket, eventfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

/* The words two processes spin or sleep on, each on its own cache line:
 * an anonymous shared mapping made before the fork. */
struct words {
	_Alignas(64) atomic_ulong spin;
	_Alignas(64) atomic_uint ping;
	_Alignas(64) atomic_uint pong;
};

static int words_setup(struct win *w)
{
	void *p = mmap(NULL, sizeof(struct words), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	w->peer = p;
	return 0;
}

static void words_teardown(struct win *w)
{
	if (w->peer)
		munmap(w->peer, sizeof(struct words));
}

/* ---- busy-spin floor: two processes on one cache line ---- */

/* Plain loads, no pause instruction: the lowest round trip the two cores
 * can do, which makes it a strict floor (pause adds ~10% here). */
static int spin_wait(struct words *sh, unsigned long want)
{
	unsigned k = 0;

	while (atomic_load_explicit(&sh->spin, memory_order_acquire) != want) {
		if (!(++k & 0xfffff) && g_abort)
			return -EINTR;
	}
	return 0;
}

static int spin_parent(struct win *w, long n)
{
	struct words *sh = w->peer;

	for (long i = 0; i < n; i++) {
		atomic_store_explicit(&sh->spin, w->seq + 1, memory_order_release);
		if (spin_wait(sh, w->seq + 2))
			return -EINTR;
		w->seq += 2;
	}
	return 0;
}

static int spin_child(struct win *w, long n)
{
	struct words *sh = w->peer;

	for (long i = 0; i < n; i++) {
		if (spin_wait(sh, w->seq + 1))
			return -EINTR;
		atomic_store_explicit(&sh->spin, w->seq + 2, memory_order_release);
		w->seq += 2;
	}
	return 0;
}

/* ---- raw futex ping-pong: check the word, sleep, always wake ---- */

static long futex(atomic_uint *addr, int op, unsigned val)
{
	/* not FUTEX_PRIVATE_FLAG: the word is shared between processes */
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static int futex_await(atomic_uint *word, unsigned want)
{
	unsigned v;

	while ((v = atomic_load_explicit(word, memory_order_acquire)) != want) {
		if (futex(word, FUTEX_WAIT, v) < 0 && errno == EINTR && g_abort)
			return -EINTR;
	}
	return 0;
}

static void futex_set(atomic_uint *word, unsigned v)
{
	atomic_store_explicit(word, v, memory_order_release);
	futex(word, FUTEX_WAKE, 1);
}

static int futex_parent(struct win *w, long n)
{
	struct words *sh = w->peer;

	for (long i = 0; i < n; i++) {
		w->seq++;
		futex_set(&sh->ping, (unsigned)w->seq);
		if (futex_await(&sh->pong, (unsigned)w->seq))
			return -EINTR;
	}
	return 0;
}

static int futex_child(struct win *w, long n)
{
	struct words *sh = w->peer;

	for (long i = 0; i < n; i++) {
		w->seq++;
		if (futex_await(&sh->ping, (unsigned)w->seq))
			return -EINTR;
		futex_set(&sh->pong, (unsigned)w->seq);
	}
	return 0;
}

/* ---- raw sem_open pair: "may write" starts at 1, "may read" at 0 ---- */

static int sem_setup(struct win *w)
{
	new_name(w->name[0], sizeof(w->name[0]), "-w");
	new_name(w->name[1], sizeof(w->name[1]), "-r");
	w->sem[0] = sem_open(w->name[0], O_CREAT | O_EXCL, 0600, 1);
	if (w->sem[0] == SEM_FAILED)
		return -errno;
	w->sem[1] = sem_open(w->name[1], O_CREAT | O_EXCL, 0600, 0);
	if (w->sem[1] == SEM_FAILED) {
		int err = -errno;

		sem_close(w->sem[0]);
		sem_unlink(w->name[0]);
		return err;
	}
	return 0;
}

static int sem_attach(struct win *w)
{
	for (int i = 0; i < 2; i++) {
		w->sem[i] = sem_open(w->name[i], 0);
		if (w->sem[i] == SEM_FAILED)
			return -errno;
	}
	return 0;
}

static int sem_take(sem_t *s)
{
	while (sem_wait(s) < 0) {
		if (errno != EINTR || g_abort)
			return -errno;
	}
	return 0;
}

/* The writer's first turn is free, as with the pair. */
static int sem_start(struct win *w)
{
	return sem_take(w->sem[0]);
}

static int sem_parent(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		sem_post(w->sem[1]);
		if (sem_take(w->sem[0]))
			return -EINTR;
	}
	return 0;
}

static int sem_child(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		if (sem_take(w->sem[1]))
			return -EINTR;
		sem_post(w->sem[0]);
	}
	return 0;
}

static void sem_teardown(struct win *w)
{
	for (int i = 0; i < 2; i++) {
		sem_close(w->sem[i]);
		sem_unlink(w->name[i]);
	}
}

/* ---- pipes, Unix socket, eventfd: 8-byte round trips ---- */

int pipe_setup(struct win *w)
{
	int a[2], b[2];

	if (pipe2(a, O_CLOEXEC))
		return -errno;
	if (pipe2(b, O_CLOEXEC)) {
		close(a[0]);
		close(a[1]);
		return -errno;
	}
	/* fd[0] parent writes, fd[1] child reads, fd[2] child writes,
	 * fd[3] parent reads */
	w->fd[0] = a[1];
	w->fd[1] = a[0];
	w->fd[2] = b[1];
	w->fd[3] = b[0];
	return alloc_bufs(w);
}

int sock_setup(struct win *w)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	w->fd[0] = w->fd[3] = sv[0];
	w->fd[1] = w->fd[2] = sv[1];
	return alloc_bufs(w);
}

/* Two counters: the child's (ping) and the parent's (pong). */
static int efd_setup(struct win *w)
{
	w->fd[0] = w->fd[1] = eventfd(0, EFD_CLOEXEC);
	w->fd[2] = w->fd[3] = eventfd(0, EFD_CLOEXEC);
	if (w->fd[0] < 0 || w->fd[2] < 0)
		return -errno;
	return alloc_bufs(w);
}

/* fd[0]/fd[3] are the parent's write/read ends, fd[2]/fd[1] the child's. */
static int fd_parent(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		if (write_full(w->fd[0], w->src, 8) || read_full(w->fd[3], w->buf, 8))
			return -EIO;
	}
	return 0;
}

static int fd_child(struct win *w, long n)
{
	for (long i = 0; i < n; i++) {
		if (read_full(w->fd[1], w->buf, 8) || write_full(w->fd[2], w->src, 8))
			return -EIO;
	}
	return 0;
}

void fd_teardown(struct win *w)
{
	int seen[4], k = 0;

	/* socket and eventfd items use one fd for two roles */
	for (int i = 0; i < 4; i++) {
		bool dup = false;

		for (int j = 0; j < k; j++)
			dup |= seen[j] == w->fd[i];
		if (!dup && w->fd[i] >= 0)
			close(w->fd[i]);
		seen[k++] = w->fd[i];
	}
	free_bufs(w);
}


/* ---- the items ---- */

#define RT_ITEM(...) { .kind = K_RT, .size = 8, __VA_ARGS__ }

const struct item item_spin = RT_ITEM(.setup = words_setup, .parent = spin_parent,
	.child = spin_child, .teardown = words_teardown);
const struct item item_futex = RT_ITEM(.setup = words_setup, .parent = futex_parent,
	.child = futex_child, .teardown = words_teardown);
const struct item item_sem = RT_ITEM(.setup = sem_setup, .attach = sem_attach,
	.start = sem_start, .parent = sem_parent, .child = sem_child,
	.teardown = sem_teardown);
const struct item item_pipe_rt = RT_ITEM(.setup = pipe_setup, .parent = fd_parent,
	.child = fd_child, .teardown = fd_teardown);
const struct item item_sock_rt = RT_ITEM(.setup = sock_setup, .parent = fd_parent,
	.child = fd_child, .teardown = fd_teardown);
const struct item item_efd_rt = RT_ITEM(.setup = efd_setup, .parent = fd_parent,
	.child = fd_child, .teardown = fd_teardown);
