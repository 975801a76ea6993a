/* SPDX-License-Identifier: MIT */
/* Which errors each call may return: the ERRORS section of its man page
 * (docs/man/), call by call, not one list for all. A call that returns
 * an error its page does not list breaks <object>.errors: either the
 * library or its page is wrong, and both are the contract. */
#include "torture.h"

#include <errno.h>
#include <string.h>

/* What shmx(7) ERRORS calls "the system's usual meanings" for a call that
 * opens or creates files, where its page passes them through. */
#define SYS EACCES, EMFILE, ENFILE, ENOMEM, ENOENT

/* shmx_chan_send(3) and shmx_chan_send_batch(3): both directions. */
#define CHAN_IO EINVAL, EBADF, EINPROGRESS, EMSGSIZE, EAGAIN, ETIMEDOUT, EPIPE, \
		EOWNERDEAD, EBADMSG, EFAULT
/* shmx_open(3): also passed through by shmx_chan_open(3). */
#define OPEN EINVAL, ENAMETOOLONG, ENOENT, EACCES, ELOOP, EISDIR, EMEDIUMTYPE, \
	     ENODATA, EFBIG, EMFILE, ENFILE, ENOMEM
/* shmx_create(3): also passed through by shmx_chan_create(3). */
#define CREATE EINVAL, ENAMETOOLONG, EFBIG, EEXIST, EACCES, ENOENT, EMFILE, \
	       ENFILE, ENOSPC, ENOMEM
/* shmx_chan_fd(3), which shmx_pair_fd(3) shares. */
#define POLLFD EINVAL, EBADMSG, EFAULT, EADDRINUSE, EMFILE, ENFILE, ENOMEM

struct call_errs {
	const char *call;
	int errs[24];           /* 0 ends the list */
};

static const struct call_errs table[] = {
	/* shmx_pair_wait(3), which shmx_pair_post(3) shares; EBADMSG from
	 * both: a turn word the protocol never makes */
	{ "shmx_pair_wait", { EINVAL, EAGAIN, ETIMEDOUT, EOWNERDEAD, EPIPE, EDEADLK,
			      EFAULT, EBADMSG } },
	{ "shmx_pair_post", { EINVAL, EPERM, EFAULT, EBADMSG } },
	/* shmx_pair_create(3): sem_open(3), open(2), fchmod(2) pass through */
	{ "shmx_pair_create", { EINVAL, EBADF, ENAMETOOLONG, EEXIST, EBUSY, ENOSPC,
				EPERM, SYS } },
	{ "shmx_pair_open", { EINVAL, EBADF, ENAMETOOLONG, EBUSY, ENOENT, EOWNERDEAD,
			      EBADMSG, EPERM, EPROTONOSUPPORT, ESTALE, SYS } },
	/* shmx_pair_create_anon(3) */
	{ "shmx_pair_create_anon", { EINVAL, ESTALE, ENOMEM, EMFILE } },
	{ "shmx_pair_attach", { EINVAL, EOPNOTSUPP, EBADF, EBADMSG, EPROTONOSUPPORT,
				EBUSY, EOWNERDEAD, ESTALE, ENOMEM, EMFILE } },
	{ "shmx_pair_fd", { POLLFD } },
	{ "shmx_pair_close", { 0 } },
	/* shmx_chan_send(3), shmx_chan_send_batch(3): ENOBUFS only receiving;
	 * EBADFD on a handle inherited through fork(2) (shmx_chan_send(3)
	 * only; the harness's workers never use one, see chan_join()) */
	{ "shmx_chan_send", { CHAN_IO, EBADFD } },
	{ "shmx_chan_recv", { CHAN_IO, ENOBUFS, EBADFD } },
	{ "shmx_chan_send_batch", { CHAN_IO } },
	{ "shmx_chan_recv_batch", { CHAN_IO, ENOBUFS } },
	/* shmx_chan_reserve(3): as send and recv, and its own */
	{ "shmx_chan_reserve", { CHAN_IO } },
	{ "shmx_chan_peek", { CHAN_IO, ENOBUFS } },
	{ "shmx_chan_commit", { EINVAL, EMSGSIZE, EBADF } },
	{ "shmx_chan_release", { EINVAL, EBADF, ENOBUFS } },
	/* shmx_chan_create(3): shmx_create(3) and shmx_open(3) pass through */
	{ "shmx_chan_create", { CREATE } },
	{ "shmx_chan_open", { OPEN, EAGAIN, ETIMEDOUT, EBADMSG, EFAULT,
			      EPROTONOSUPPORT, EBUSY, EUSERS } },
	/* shmx_chan_create_params(3): those of create and create_anon */
	{ "shmx_chan_create_params", { CREATE, ESTALE } },
	/* shmx_chan_create_anon(3) */
	{ "shmx_chan_create_anon", { EINVAL, ESTALE, ENOMEM, EMFILE } },
	{ "shmx_chan_create_anon_params", { EINVAL, ESTALE, ENOMEM, EMFILE } },
	{ "shmx_chan_attach", { EINVAL, EOPNOTSUPP, EBADF, EBADMSG, EPROTONOSUPPORT,
				EACCES, EAGAIN, EBUSY, ESTALE, ENOMEM, EMFILE } },
	{ "shmx_chan_fd", { POLLFD } },
	{ "shmx_chan_stat", { EACCES, EAGAIN, EBADMSG, EINVAL, ENOENT,
			      EPROTONOSUPPORT } },
	{ "shmx_chan_lost", { EBADF, EINVAL } },
	{ "shmx_chan_close", { 0 } },
	/* regions: shmx_read(3) (and shmx_write), shmx_open(3), ... */
	{ "shmx_read", { EINVAL, ERANGE, EFAULT } },
	{ "shmx_write", { EINVAL, ERANGE, EBADF, EFAULT, ENOSPC } },
	{ "shmx_sync_range", { EINVAL, ERANGE } },
	{ "shmx_open", { OPEN } },
	{ "shmx_create", { CREATE } },
	{ "shmx_anon_create", { EINVAL, EFBIG, EMFILE, ENOMEM } },
	{ "shmx_file_open", { EACCES, EFBIG, EINVAL, EISDIR, ELOOP, EMEDIUMTYPE,
			      ENAMETOOLONG, ENODATA, ENOENT } },
	{ "shmx_sysv_open", { EACCES, EIDRM, EINVAL, ENOENT, ENOMEM } },
	{ "shmx_sysv_key", { EACCES, EINVAL, ENOENT } },
	{ "shmx_name_canon", { EINVAL, ENAMETOOLONG, ERANGE } },
};

/* The entry for call, which may be "shmx_read" or a whole call's text
 * "shmx_read(r, off, ...)" (hostile.c). */
static const struct call_errs *lookup(const char *call)
{
	size_t n = strcspn(call, "( ");

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].call) == n && !strncmp(table[i].call, call, n))
			return &table[i];
	return NULL;
}

/* A success, or an error the call's man page lists. A call missing from
 * the table is the harness's bug, and fails so that it gets one. */
bool tt_documented(const char *call, long err)
{
	const struct call_errs *e;

	if (err >= 0)
		return true;
	e = lookup(call);
	for (int i = 0; e && i < 24 && e->errs[i]; i++)
		if (err == -e->errs[i])
			return true;
	return false;
}

/* The invariant a wrong error breaks: per object, as docs/torture.md. */
const char *tt_errors_inv(const char *call)
{
	if (!strncmp(call, "shmx_pair_", 10))
		return "pair.errors";
	if (!strncmp(call, "shmx_chan_", 10))
		return "chan.errors";
	return "region.errors";
}
