/* SPDX-License-Identifier: MIT */
/* Anonymous regions: a memfd with no name, so nothing can leak or be
 * planted, sealed against shrinking so no peer can cut it under a mapping
 * (no SIGBUS by construction). Shared by fork, or passed over a Unix socket
 * with SCM_RIGHTS; the receiver checks the seals itself. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define CREATE_FLAGS (SHMX_MAP | SHMX_POPULATE | SHMX_LAZY | SHMX_GROWABLE)
#define RECV_FLAGS   (SHMX_RDONLY | SHMX_MAP | SHMX_POPULATE | SHMX_ALLOW_UNSEALED)
#define ANON_MODE    0600       /* reachable only through /proc/PID/fd */
#define NS_PER_S     1000000000L

/* Linux 6.3+ may be told (vm.memfd_noexec=2) to refuse an executable memfd;
 * older kernels do not know the flag (EINVAL). Either way no exec bits. */
static int anon_fd(void)
{
	unsigned base = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int fd = memfd_create("shmx", base | MFD_NOEXEC_SEAL);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("shmx", base);
	return fd < 0 ? -errno : fd;
}

/* F_SEAL_SEAL last: nobody can add a seal afterwards either (a write seal
 * would break our own mappings; a grow seal would undo SHMX_GROWABLE). */
static int build(int fd, size_t size, unsigned flags)
{
	int seals = F_SEAL_SHRINK | F_SEAL_SEAL;
	int err = shmx__neg(fchmod(fd, ANON_MODE));

	if (!(flags & SHMX_GROWABLE))
		seals |= F_SEAL_GROW;
	if (!err)
		err = shmx__neg(ftruncate(fd, (off_t)size));
	if (!err && !(flags & SHMX_LAZY))
		err = shmx__reserve(fd, 0, (off_t)size);
	if (!err)
		err = shmx__neg(fcntl(fd, F_ADD_SEALS, seals));
	return err;
}

SHMX_EXPORT int shmx_anon_create(size_t size, unsigned flags, struct shmx_region **ret)
{
	int fd, err;

	if (!ret || (flags & ~CREATE_FLAGS))
		return -EINVAL;
	err = shmx__check_size(size);
	if (err)
		return err;
	fd = anon_fd();
	if (fd < 0)
		return fd;
	err = build(fd, size, flags);
	if (!err)
		err = shmx__region_new(SHMX__ANON, fd, "", flags, size, ret);
	if (err)
		close(fd);
	return err;
}

int shmx__anon_may_resize(const struct shmx_region *r, uint64_t old, size_t size)
{
	int seals = fcntl(r->fd, F_GET_SEALS);

	/* A received file that cannot carry seals (SHMX_ALLOW_UNSEALED). */
	if (seals < 0)
		return errno == EINVAL ? 0 : -errno;
	if (size < old && (seals & F_SEAL_SHRINK))
		return -EPERM;
	if (size > old && (seals & F_SEAL_GROW))
		return -EPERM;
	return 0;
}

/* ---- passing over a Unix socket ---- */

union fd_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int))];
};

SHMX_EXPORT int shmx_anon_send(const struct shmx_region *r, int sock)
{
	char byte = 'M';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union fd_cmsg u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;

	if (!r || sock < 0)
		return -EINVAL;
	if (r->kind != SHMX__ANON)
		return -EOPNOTSUPP;
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &r->fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* Wait until sock is readable or dl passes. */
static int wait_readable(int sock, int timeout_ms, const struct timespec *dl)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct timespec now, rel, *t;
	int n;

	for (;;) {
		t = NULL;
		if (!shmx__forever(dl)) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			rel.tv_sec = dl->tv_sec - now.tv_sec;
			rel.tv_nsec = dl->tv_nsec - now.tv_nsec;
			if (rel.tv_nsec < 0) {
				rel.tv_sec--;
				rel.tv_nsec += NS_PER_S;
			}
			if (rel.tv_sec < 0)
				rel.tv_sec = rel.tv_nsec = 0;
			t = &rel;
		}
		n = ppoll(&p, 1, t, NULL);
		if (n > 0)
			return 0;
		if (n == 0)
			return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* The descriptors in a received message's SCM_RIGHTS blocks: the one, or
 * -EBADMSG after closing them all (CMSG_SPACE's padding holds a second). */
static int take_fd(struct msghdr *msg)
{
	struct cmsghdr *c;
	int fd = -1, n = 0, one;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n++)
				close(one);
			else
				fd = one;
		}
	}
	if (n == 1 && !(msg->msg_flags & MSG_CTRUNC))
		return fd;
	if (n)
		close(fd);
	return -EBADMSG;
}

/* One message carrying exactly one descriptor. */
static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union fd_cmsg u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	memset(&u, 0, sizeof(u));
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	return take_fd(&msg);
}

/* Seals first, size second: once shrinking is sealed the size we then see
 * is a floor no peer can go under. */
static int check_received(int fd, unsigned flags, size_t *size)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;

	if (!(flags & SHMX_ALLOW_UNSEALED) && (seals < 0 || !(seals & F_SEAL_SHRINK)))
		return -EPERM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EMEDIUMTYPE;
	if (st.st_size <= 0)
		return -ENODATA;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	*size = (size_t)st.st_size;
	return 0;
}

SHMX_EXPORT int shmx_anon_recv(int sock, unsigned flags, int timeout_ms,
			       struct shmx_region **ret)
{
	struct timespec dl;
	size_t size = 0;
	int fd, err;

	if (sock < 0 || !ret || (flags & ~RECV_FLAGS))
		return -EINVAL;
	err = shmx__deadline(timeout_ms, &dl);
	if (err)
		return err;
	/* Another reader of the socket may take the message first. */
	do {
		err = wait_readable(sock, timeout_ms, &dl);
		fd = err ? err : recv_fd(sock);
	} while (fd == -EAGAIN && !err);
	if (fd < 0)
		return fd;
	err = check_received(fd, flags, &size);
	if (!err)
		err = shmx__region_new(SHMX__ANON, fd, "", flags & ~SHMX_ALLOW_UNSEALED,
				       size, ret);
	if (err)
		close(fd);
	return err;
}
