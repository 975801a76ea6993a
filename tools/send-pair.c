/* SPDX-License-Identifier: MIT */
/* shmx send --pair: standard input into a region, a frame a turn, handed
 * over with the region's semaphore pair (shmx(1), STREAMS). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "shmx-tool.h"
#include "send.h"

/* Wait for our turn in slices (to notice a signal); give up after the
 * timeout only while no receiver has ever taken a message. */
static int pair_turn(struct sender *s)
{
	int err;

	while (!s->holding) {
		err = shmx_pair_wait(s->pp, STREAM_SLICE_MS);
		if (!err) {
			s->holding = true;
			if (!s->attached && (++s->turns > 1 || s->open)) {
				s->attached = true;
				remove_names(s);
			}
		} else if (err != -ETIMEDOUT) {
			return err;
		} else if (stream_stop) {
			return -EINTR;
		} else if (give_up(s)) {
			return -ETIMEDOUT;
		}
	}
	return 0;
}

static int pair_put(struct sender *s, size_t len, uint32_t flags)
{
	int err = pair_turn(s);

	if (err)
		return err;
	s->frame->len = (uint32_t)len;
	s->frame->flags = flags;
	err = shmx_pair_post(s->pp);
	if (!err)
		s->holding = false;
	return err;
}

/* Input is read straight into the region while we hold the turn. */
static int pair_send_all(struct sender *s)
{
	size_t max = shmx_size(s->region) - sizeof(*s->frame);
	ssize_t n;
	int err;

	for (;;) {
		err = pair_turn(s);
		if (err)
			return err;
		n = read_input(s, s->frame->data, max);
		if (n < 0)
			return (int)n;
		if (at_end(s, (char *)s->frame->data, n))
			break;
		err = pair_put(s, (size_t)n, 0);
		if (err)
			return err;
	}
	/* The end marker, then wait until the receiver took it. */
	err = pair_put(s, 0, STREAM_END);
	return err ? err : pair_turn(s);
}

/* Interrupted: tell the receiver, if it hands us the turn soon; it would
 * otherwise see us vanish as if we had died. */
static void pair_abort(struct sender *s)
{
	if (!s->holding && shmx_pair_wait(s->pp, ABORT_WAIT_MS) == 0)
		s->holding = true;
	if (s->holding)
		pair_put(s, 0, STREAM_END | STREAM_ABORT);
}

static int pair_start(struct sender *s)
{
	int err;

	if (s->open) {
		err = stream_pair_attach(s->name, SHMX_PAIR_WRITER, s->timeout_ms, &s->region,
					 &s->pp);
	} else {
		err = shmx_create(s->name, (size_t)s->size, SHMX_MAP, 0600, &s->region);
		if (!err && (err = shmx_pair_create(s->region, SHMX_PAIR_WRITER, 0600, &s->pp)))
			shmx_unlink(s->name);
		s->created = !err;
	}
	/* A region made elsewhere must hold a frame header and some data. */
	if (!err && shmx_size(s->region) <= sizeof(*s->frame))
		err = -EMSGSIZE;
	if (!err)
		s->frame = shmx_addr(s->region);
	return err;
}

/* Waiting for input with the turn in hand: a try takes no turn we hold
 * (-EDEADLK while the receiver lives) but says first whether it died or
 * left meanwhile (shmx_pair_wait(3), Misuse). */
static struct sender *idle_sender;

static int pair_idle(void)
{
	struct sender *s = idle_sender;
	int err;

	if (!s->holding || !s->pp)
		return 0;
	err = shmx_pair_wait(s->pp, 0);
	return err == -EOWNERDEAD || err == -EPIPE ? err : 0;
}

int pair_run(struct sender *s)
{
	int err;

	idle_sender = s;
	stream_idle = pair_idle;
	err = pair_start(s);

	if (!err)
		err = pair_send_all(s);
	if (err == -EINTR && s->frame)
		pair_abort(s);
	s->pp = shmx_pair_close(s->pp);
	remove_names(s);
	s->region = shmx_close(s->region);
	return stream_report("sender", "receiver", s->name, s->timeout_ms, err);
}
