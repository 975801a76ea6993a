// SPDX-License-Identifier: MIT
/*
 * Boost.Interprocess message_queue, a peer a user might pick instead of the
 * channel: the parent creates the queues (parent -> child, and child ->
 * parent for round trips), the child opens them by name, as a separate
 * program would. A stream's queue holds as many messages as the channel's
 * ring holds bytes (four at least). Waits are timed_send/timed_receive with
 * one deadline per batch of operations: reading the clock for each message
 * would cost the peer more than it costs the channel, which takes a
 * relative timeout.
 */
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>
#include <cerrno>
#include <cstdlib>

#include "bench.h"

namespace bip = boost::interprocess;
namespace pt = boost::posix_time;

namespace {

struct mq_peer {
	bip::message_queue *q[2];       // parent -> child, child -> parent
};

size_t mq_depth(const struct item *it)
{
	return it->kind == K_RT ? 16 : stream_ring_bytes(it) / it->size;
}

pt::ptime batch_deadline()
{
	return pt::microsec_clock::universal_time() + pt::seconds(WATCHDOG_S);
}

// Boost names have no leading slash: it adds its own for shm_open.
const char *boost_name(const struct win *w, int i)
{
	return w->name[i] + 1;
}

void mq_free(struct mq_peer *p)
{
	if (!p)
		return;
	delete p->q[0];
	delete p->q[1];
	delete p;
}

int mq_make(struct win *w, bool create)
{
	int nq = w->it->kind == K_RT ? 2 : 1;
	struct mq_peer *p = new (std::nothrow) mq_peer();

	if (!p)
		return -ENOMEM;
	try {
		for (int i = 0; i < nq; i++) {
			if (create)
				p->q[i] = new bip::message_queue(bip::create_only,
					boost_name(w, i), mq_depth(w->it), w->it->size);
			else
				p->q[i] = new bip::message_queue(bip::open_only,
								 boost_name(w, i));
		}
	} catch (const std::exception &) {
		mq_free(p);
		return -EIO;
	}
	w->peer = p;
	return 0;
}

int mq_setup(struct win *w)
{
	int err = alloc_bufs(w);

	if (err)
		return err;
	new_name(w->name[0], sizeof(w->name[0]), "-mq");
	new_name(w->name[1], sizeof(w->name[1]), "-mq");
	return mq_make(w, true);
}

int mq_attach(struct win *w)
{
	// the parent's objects came with fork(); a real peer has its own
	return mq_make(w, false);
}

int mq_send(struct win *w, int i, size_t len, const pt::ptime &until)
{
	struct mq_peer *p = static_cast<struct mq_peer *>(w->peer);

	try {
		return p->q[i]->timed_send(w->src, len, 0, until) ? 0 : -ETIMEDOUT;
	} catch (const std::exception &) {
		return -EIO;
	}
}

int mq_recv(struct win *w, int i, size_t len, const pt::ptime &until)
{
	struct mq_peer *p = static_cast<struct mq_peer *>(w->peer);
	bip::message_queue::size_type got = 0;
	unsigned prio;

	try {
		if (!p->q[i]->timed_receive(w->buf, len, got, prio, until))
			return -ETIMEDOUT;
	} catch (const std::exception &) {
		return -EIO;
	}
	clobber(w->buf);
	return got == len ? 0 : -EBADMSG;
}

int mq_rt_parent(struct win *w, long n)
{
	pt::ptime until = batch_deadline();

	for (long i = 0; i < n; i++) {
		int err = mq_send(w, 0, 8, until);

		if (!err)
			err = mq_recv(w, 1, 8, until);
		if (err)
			return err;
	}
	return 0;
}

int mq_rt_child(struct win *w, long n)
{
	pt::ptime until = batch_deadline();

	for (long i = 0; i < n; i++) {
		int err = mq_recv(w, 0, 8, until);

		if (!err)
			err = mq_send(w, 1, 8, until);
		if (err)
			return err;
	}
	return 0;
}

int mq_stream_send(struct win *w, long n)
{
	pt::ptime until = batch_deadline();

	for (long i = 0; i < n; i++) {
		int err = mq_send(w, 0, w->it->size, until);

		if (err)
			return err;
	}
	return 0;
}

int mq_stream_recv(struct win *w, long n)
{
	pt::ptime until = batch_deadline();

	for (long i = 0; i < n; i++) {
		int err = mq_recv(w, 0, w->it->size, until);

		if (err)
			return err;
	}
	return 0;
}

void mq_teardown(struct win *w)
{
	mq_free(static_cast<struct mq_peer *>(w->peer));
	for (int i = 0; i < 2; i++)
		if (w->name[i][0])
			bip::message_queue::remove(boost_name(w, i));
	free_bufs(w);
}

} // namespace

extern "C" {

const struct item item_mq_rt = { .kind = K_RT, .size = 8, .setup = mq_setup,
	.attach = mq_attach, .parent = mq_rt_parent, .child = mq_rt_child,
	.teardown = mq_teardown };
const struct item item_mq_stream = { .kind = K_TPUT, .setup = mq_setup,
	.attach = mq_attach, .parent = mq_stream_send, .child = mq_stream_recv,
	.teardown = mq_teardown };

}
