/* SPDX-License-Identifier: MIT */
/* The turn protocol of the semaphore pair (src/pair-turn.c, src/pair.c),
 * shmx(7) "The turn". Two roles (0 writer, 1 reader), each played by one
 * process at a time (its liveness slot); a process may die (kill -9)
 * between any two steps or close cleanly, and a replacement then attaches
 * in its role with a new generation. The turn word (where the turn is,
 * and the holder's generation) moves only by compare-and-swap, an atomic
 * step here; the semaphores are where tokens sleep, and a token is a turn
 * only if the word says so. Around them, what other processes do:
 *   - a foreign sem_post on either semaphore, at any time (NF of them);
 *   - a plain sem_open peer's rule: a token is a turn too when the peer's
 *     role is not attached, the word says "in the peer's semaphore" and
 *     that semaphore is empty (shmx__pair_take());
 *   - a reader that opened the control object of the pair before a
 *     replacement, and the semaphores after it (the mix open refuses);
 *   - a reader with a handle of an earlier region, whose slot is on
 *     another object (open refuses it: the region's identity);
 *   - a stopped process, or a reader-only user holding a read lock, that
 *     keeps a lock for good (no call of the pair takes a lock);
 *   - after the departure of an attached writer, instead of a replacement,
 *     a new pair made on the same region (names removed and made again):
 *     its writer's slot is on its own control object, not on anything the
 *     old reader looks at, so the old reader still learns of the
 *     departure (and then stops: nobody comes back to its pair).
 * Checked: never two processes in the region (assertion), every message
 * delivered exactly once in order and never half-written (assertions), no
 * lost turn (no invalid end state: the run always reaches MAX messages),
 * -EPIPE after a close and -EOWNERDEAD after a death (assertion), and no
 * wait outlives its peer's departure (ltl no_hang). Bound: MAX 2
 * messages, MAXL 1 departure (a death or a close) per run, followed by a
 * replacement in the pair or by a new pair on the region, NF 1 foreign
 * post; exhaustive. Two departures (-DMAXL=2) are
 * more than 14 million states and did not finish in the suite's budget.
 * Mutations, each a known bug put back:
 *   TOKEN_IS_TURN  a token is a turn whatever the word says (the 0.2 wait
 *                  after a foreign sem_post)
 *   NO_SEM_ID      open does not compare the semaphores with the identity
 *                  the control object records (the replacement race)
 *   NO_REGION_ID   open does not compare the region (the old handle)
 *   CTL_LOCK       taking and posting the turn take a control lock (the
 *                  0.2 OFD lock), which a stopped or read-locking process
 *                  can hold
 *   LOST_TURN      no recovery at attach, and close keeps the turn (the
 *                  0.1 pair)
 *   SLOT_ON_REGION the liveness slots are bytes of the region, so the new
 *                  pair's writer holds the byte the old reader looks at
 *                  (the old reader waits for good: no_hang)
 * (Recovery by test-then-set instead of one CAS is not a bug with one
 * process per role: only that role moves a turn it holds. The CAS matters
 * once two processes play a role, which NO_REGION_ID lets happen.) */

#ifndef MAX
#define MAX     2       /* messages to get through */
#endif
#ifndef MAXL
#define MAXL    1       /* departures (death or close) per run */
#endif
#ifndef NF
#define NF      1       /* foreign posts per run */
#endif
#define HALF    9       /* a message being written */
#define IN(r)   ((r) + 1)       /* the turn is in r's semaphore */
#define HOLD(r) ((r) + 3)       /* r holds the turn */
#define ATT     1
#define CLO     2
#define DIED    1
#define CLOSED  2
#define EPIPE   1
#define EDEAD   2

byte sem[2];            /* "may write", "may read" */
byte where = IN(0);     /* the turn word: where the turn is ... */
byte hgen;              /* ... and the holder's generation */
byte state[2];          /* ATT / CLO per role */
bool slot[2];           /* liveness slots */
byte seq, ack;          /* the region: last message written / read */
byte leaves;
byte mtx;               /* CTL_LOCK only: 0 free, else holder + 1 */
/* ghosts */
byte inside;            /* processes between taking and giving the turn */
byte inc[2];            /* incarnations of a role */
byte told[2];           /* incarnation of the peer reported gone */
byte how[2];            /* how the last of a role left */
bool waiting[2];
byte foreign;
bool newp;              /* a new pair was made on the region, writer gone */

#define DIE     if :: atomic { leaves < MAXL -> leaves++ }; goto dead :: true fi
#define PEER    (1 - me)

/* A step under the control lock: it needs the lock free (taken and given
 * back within the step). */
#ifdef CTL_LOCK
#define FREE    (mtx == 0)
#else
#define FREE    true
#endif

/* the word accounts for a token: ours, or a plain sem_open peer's */
#define ACCOUNTED (where == IN(me) || \
		   (state[PEER] != ATT && where == IN(PEER) && sem[PEER] == 0))
#ifdef TOKEN_IS_TURN
#define LEGIT   true
#else
#define LEGIT   ACCOUNTED
#endif
/* the peer's slot as a survivor sees it */
#ifdef SLOT_ON_REGION
#define SEEN(r) (slot[r] || ((r) == 0 && newp))
#else
#define SEEN(r) slot[r]
#endif
#define PEER_NEWS (!SEEN(PEER) && state[PEER] != 0 && told[me] != inc[PEER])
/* a departure: a replacement attaches, or (the writer) a new pair is made
 * on the same region and nobody comes back to this one */
#define REPLACE if \
	:: !other -> slot[me] = false; run Part(me, false) \
	:: !other && me == 0 && attached && !newp -> slot[me] = false; newp = true \
	:: else \
	fi

inline peer_gone() {
	if
	:: SEEN(PEER) -> err = 0
	:: else ->
		if
		:: state[PEER] == CLO -> err = EPIPE
		:: state[PEER] == ATT -> err = EDEAD
		:: else -> err = 0
		fi
	fi
}

/* the CAS that takes the turn: where -> HOLD(me), our generation */
inline take_turn() {
	inside++;
	assert(inside == 1);
	where = HOLD(me);
	hgen = g;
	holding = true;
	waiting[me] = false
}

/* A participant of role me. other: a reader with a handle of an earlier
 * region, whose slot is on another object (the slot does not exclude it). */
proctype Part(bit me; bool other)
{
	bool holding, attached, first = true;
	byte err, was, g;

	if
	:: other -> skip
	:: else -> atomic { !slot[me] -> slot[me] = true }
	fi;
#ifndef NO_REGION_ID
	if
	:: other -> goto fin    /* -ESTALE: not this pair's region */
	:: else
	fi;
#endif
	DIE;
	atomic {
		inc[me]++; g = inc[me];         /* the attach generation */
		state[me] = ATT; how[me] = 0; attached = true
	};
	DIE;
	/* a predecessor died holding: the turn back to our role, one CAS */
#ifndef LOST_TURN
	if
	:: atomic { where == HOLD(me) && hgen != g -> where = IN(me) } -> DIE; sem[me]++
	:: else
	fi;
#endif
wait:
	waiting[me] = true;
	do
	:: ack >= MAX -> goto fin
	/* a token: a turn if the word accounts for it, else dropped */
	:: atomic { sem[me] > 0 -> sem[me]-- };
		DIE;
		if
		:: atomic { FREE && LEGIT -> take_turn() } -> goto took
		:: else
		fi
	/* the word alone (a token that never came): when a slice ends with
	 * the semaphore empty */
	:: atomic { FREE && where == IN(me) && sem[me] == 0 -> take_turn() } -> goto took
	:: PEER_NEWS ->
		atomic { peer_gone(); was = how[PEER] };
		if
		:: atomic { FREE && where == IN(me) && sem[me] == 0 -> take_turn() } -> goto took
		:: else ->
			if
			:: err != 0 ->
				assert((err == EPIPE) == (was == CLOSED));
				told[me] = inc[PEER];
				waiting[me] = false;        /* the wait returned */
				if
				:: newp -> goto fin         /* nobody comes back */
				:: else
				fi;
				waiting[me] = true          /* and is called again */
			:: else
			fi
		fi
	:: atomic { leaves < MAXL -> leaves++ }; goto leave
	od;
took:
	DIE;
	if
	:: ack >= MAX -> goto fin
	:: else
	fi;
	if
	:: me == 0 ->
		assert(seq == ack || (first && (seq == ack + 1 || seq == HALF)));
		seq = HALF; DIE; seq = ack + 1
	:: me == 1 ->
		assert(seq == ack + 1 || (first && seq == ack));
		ack = seq
	fi;
	first = false;
	if
	:: atomic { leaves < MAXL -> leaves++ }; goto leave
	:: true
	fi;
	DIE;
	/* post: the word, then the peer's semaphore */
	atomic {
		FREE ->
		assert(where == HOLD(me) && hgen == g);
		where = IN(PEER); holding = false; inside--
	};
	DIE;
	sem[PEER]++;
	DIE;
	goto wait;
leave:
	waiting[me] = false;
#ifdef LOST_TURN
	if
	:: holding -> holding = false; inside--
	:: else
	fi;
#endif
	if
	:: holding ->
		atomic {
			assert(where == HOLD(me) && hgen == g);
			where = IN(me); holding = false; inside--
		};
		DIE;
		sem[me]++
	:: else
	fi;
	state[me] = CLO; how[me] = CLOSED;
	atomic { REPLACE };
	goto fin;
dead:
	atomic {
		waiting[me] = false;
		if :: holding -> inside--; holding = false :: else fi;
		if :: attached -> how[me] = DIED :: else fi;
		REPLACE
	}
fin:
	if
	:: holding -> inside--
	:: else
	fi;
	waiting[me] = false
}

/* A reader that opened the control object of the pair before it was
 * replaced (the old writer died after posting: its word says "in may
 * read") and then the semaphores of the new pair. Open compares them with
 * the identity the old control object records: -ESTALE. */
proctype mixed()
{
	byte oldwhere = IN(1);
#ifdef NO_SEM_ID
	/* it waits on the new "may read" and takes by the old word */
	atomic {
		oldwhere == IN(1) -> oldwhere = HOLD(1);
		inside++;
		assert(inside == 1)
	};
	inside--
#else
	skip
#endif
}

/* A foreign sem_post, on either semaphore, at any time. */
active proctype poster()
{
end:	do
	:: atomic { foreign < NF -> foreign++; sem[0]++ }
	:: atomic { foreign < NF -> foreign++; sem[1]++ }
	od
}

/* A process that takes a lock on the control object and keeps it: one
 * stopped with SIGSTOP, or a user who may only read it and holds F_RDLCK. */
active proctype stopper()
{
	atomic { mtx == 0 -> mtx = 3 };
end:	false
}

init {
	atomic {
		sem[0] = 1;
		run Part(0, false);
		run Part(1, false);
		run Part(1, true);
		run mixed()
	}
}

#define GONE(r) (!slot[1 - (r)] && state[1 - (r)] != 0)
ltl no_hang { [] ((waiting[0] && GONE(0) -> <> !(waiting[0] && GONE(0))) &&
		  (waiting[1] && GONE(1) -> <> !(waiting[1] && GONE(1)))) }
