/* SPDX-License-Identifier: MIT */
/* What shmx send's two modes share: the sender, its options and state,
 * and the helpers of send.c; the channel mode is in send.c, the pair mode
 * in send-pair.c. Not installed. */
#ifndef SHMX_SEND_H
#define SHMX_SEND_H

#include "shmx-tool.h"

#define ABORT_WAIT_MS 200       /* for the turn that carries the abort marker */
#define LOOK_MS      10         /* how often the slots are read while it matters */

struct sender {
	char name[NAME_BUF];
	uint64_t size;          /* ring or region bytes */
	int timeout_ms;         /* for a receiver to show up */
	int64_t start_ms;
	bool open, lines, pair, no_wait;
	bool shaped;            /* --consumers, --producers or --policy given */
	bool created, attached, removed;
	bool mid_line;          /* --lines: the last piece did not end a line */
	bool end_out;           /* the end marker may be in the ring */
	/* channel */
	struct shmx_chan *chan;
	struct shmx_chan_params shape;  /* what we create, or what we joined */
	unsigned prods_seen;    /* attaches of producers so far */
	int64_t looked_ms;
	struct watch watch;     /* the receivers' processes */
	int64_t checked_ms;
	int lost;               /* a receiver died (-EOWNERDEAD) or left (-EPIPE) */
	/* pair */
	struct shmx_region *region;
	struct shmx_pair *pp;
	struct stream_frame *frame;
	unsigned turns;         /* from the 2nd on, a receiver took a message */
	bool holding;
};

/* The timeout (from the start) has passed; and no receiver came by then. */
bool expired(const struct sender *s);
bool give_up(const struct sender *s);
/* The names we created, once: nothing is left whichever side dies after. */
void remove_names(struct sender *s);
/* n bytes of input end the stream (end of input, or "quit" with --lines). */
bool at_end(struct sender *s, const char *buf, ssize_t n);
ssize_t read_input(struct sender *s, void *buf, size_t max);

/* The whole stream, and how it ended (the exit status). */
int chan_run(struct sender *s);
int pair_run(struct sender *s);

#endif
