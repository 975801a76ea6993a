/* SPDX-License-Identifier: MIT */
/* The arming of a pair's pollable descriptor (shmx_pair_fd(3), shmx(7)
 * "Polling"; src/pair.c wait_slow(), pair_arm(), moved(), shmx_pair_close();
 * src/pair-turn.c peer_gone(), shmx__pair_attach(), shmx__pair_wake()).
 * One poller (a reader making tries, timeout 0) and the writers that come
 * and go in the peer role: each takes the liveness slot, stores its state
 * word "attached" with its generation, wakes the poller, then closes
 * (stores "closed", frees the slot, wakes) or dies (the slot is freed by
 * the kernel, its pidfd fires after that); a writer that closed may live
 * on for good (no pidfd) or exit later; a replacement may attach after.
 * The turn plays no part here (its protocol is pair.pml): the poller never
 * gets one, so every try ends in the liveness look and the arming.
 *
 * The poller's try: the state word before the look (pre), the look (the
 * word, the slot's lock test, the word again: peer_gone()), then the
 * arming: watch the process the word names (a pidfd, readable once that
 * process has exited), read the eventfd empty (shmx__poll_service()),
 * store "armed", fence, and look again: the word against pre, and for a
 * closed peer its slot. A waker fences and takes "armed" (exchange with 0)
 * and writes the eventfd. Both sides fence (seq_cst), so the model is
 * sequentially consistent; the windows are interleavings. The lock test
 * and an unlock are ordered by the kernel (one lock per file): a step
 * each. The poller waits only for its descriptor to be readable (eventfd
 * written, or the watched process gone), as an event loop does.
 *
 * Checked: a try reports a departure only when there was one
 * (assertion); no invalid end state: once every writer is done (closed or
 * dead), the poller's descriptor becomes readable and a try reports it
 * (a poller blocked for good is a lost wake-up).
 * Bound: MAXW writers (2: one replaced), exhaustive.
 * Mutations, each a known bug put back:
 *   WAKE_BEFORE_UNLOCK  close wakes the poller before it frees its slot
 *                       (a look that found the slot held and "closed"
 *                       stored lost the wake-up)
 *   NO_SLOT_LOOK        no lock test after the fence for a closed peer
 *   NO_WATCH            no pidfd: a death is seen by nothing
 *   OLD_ARM             the first code: the two above, and the arming
 *                       compares the word with its own read instead of
 *                       the one from before the try's look (OWN_LOOK)
 * OWN_LOOK alone is no bug once the closer wakes after its unlock and the
 * slot is looked at (the model passes with it): comparing with the word
 * from before the look is kept for a peer that wakes before its unlock
 * (a libshmx before this one), whose close begun after the look it still
 * catches.
 */

#ifndef MAXW
#define MAXW    2
#endif
#ifdef OLD_ARM
#define WAKE_BEFORE_UNLOCK
#define OWN_LOOK
#define NO_SLOT_LOOK
#endif
#define ATT     1
#define CLO     2

byte sflag, sgen;       /* the peer role's state word: ATT/CLO, generation */
bool slot;              /* its liveness slot is held */
bool armed;             /* the poller's flag in the control object */
bool efd = true;        /* the eventfd written (readable at first) */
byte watched;           /* generation whose process the pidfd watches */
bool exited[MAXW + 1];  /* that writer's process is gone */
byte gone_how[MAXW + 1];        /* ghost: ATT died, CLO closed */

/* fence, then take "armed" and write the eventfd */
inline wake() {
	atomic {
		if
		:: armed -> armed = false; efd = true
		:: else
		fi
	}
}

proctype Writer(byte g)
{
	atomic { !slot -> slot = true };
	atomic { sflag = ATT; sgen = g };
	wake();
	if
	:: /* close */
		atomic { sflag = CLO; gone_how[g] = CLO };
#ifdef WAKE_BEFORE_UNLOCK
		wake();
		slot = false;
#else
		slot = false;
		wake();
#endif
		if
		:: exited[g] = true     /* exits later */
		:: skip                 /* lives on */
		fi
	:: /* dies: locks go first, then the pidfd fires */
		atomic { slot = false; gone_how[g] = ATT };
		exited[g] = true
	fi;
	if
	:: g < MAXW -> run Writer(g + 1)      /* a replacement */
	:: true
	fi
}

active proctype Poller()
{
	byte pf, pg, f1, g1, wf, wg, nf, ng;
	bool held;

try:
	/* the event loop: readable when the eventfd was written or the
	 * watched process has exited */
	atomic { efd || (watched != 0 && exited[watched]) };
	atomic { pf = sflag; pg = sgen };
	/* peer_gone(): word, lock test, word again */
	atomic { f1 = sflag; g1 = sgen };
	held = slot;
	if
	:: held -> goto arm
	:: else
	fi;
	if
	:: atomic { f1 == sflag && g1 == sgen && f1 != 0 } -> goto told
	:: else -> goto arm     /* no peer yet, or it changed: alive for now */
	fi;
arm:
	atomic { wf = sflag; wg = sgen };
#ifndef NO_WATCH
	if
	:: wf == ATT -> watched = wg
	:: else
	fi;
#endif
	efd = false;            /* shmx__poll_service() reads it empty */
	armed = true;
	/* fence */
	atomic { nf = sflag; ng = sgen };
#ifdef OWN_LOOK
	if
	:: nf != wf || ng != wg -> efd = true
	:: else
	fi;
#else
	if
	:: nf != pf || ng != pg -> efd = true
	:: else
	fi;
#endif
#ifndef NO_SLOT_LOOK
	if
	:: nf == CLO && !slot -> efd = true
	:: else
	fi;
#endif
	goto try;
told:
	/* -EPIPE for a close, -EOWNERDEAD for a death: the one that left */
	assert(gone_how[g1] == f1)
}

init {
	run Writer(1)
}
