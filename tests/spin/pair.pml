/* SPDX-License-Identifier: MIT */
/* The turn protocol of the semaphore pair (src/pair.c), shmx(7) "The turn".
 * Two roles (0 writer, 1 reader), each played by one process at a time; a
 * process may die (kill -9) between any two steps or close cleanly, and a
 * replacement then attaches in its role. The control lock is an OFD lock:
 * the kernel frees it when its holder dies.
 * Checked: never two turns (monitor), every message delivered exactly once
 * in order and never half-written (assertions), no lost turn (no invalid
 * end state: the run always reaches MAX messages), -EPIPE after a close and
 * -EOWNERDEAD after a death (assertion), and no wait outlives its peer's
 * departure (ltl no_hang).
 * Mutation LOST_TURN: no recovery and close keeps the turn (the old code). */

#define MAX     2       /* messages to get through */
#define MAXL    1       /* departures (death or close) per run: 2 is too many states */
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
byte turn = IN(0);      /* control object: where the turn is */
byte state[2];          /* control object: ATT / CLO per role */
bool slot[2];           /* liveness slots */
byte mtx;               /* control lock: 0 free, else role + 1 */
byte seq, ack;          /* the region: last message written / read */
byte leaves;
/* ghosts */
bit tok[2];             /* a process of this role has the turn in hand */
byte inc[2];            /* incarnations of a role */
byte told[2];           /* incarnation of the peer reported gone */
byte how[2];            /* how the last of a role left */
bool waiting[2];

#define LOCK    atomic { mtx == 0 -> mtx = me + 1 }
#define UNLOCK  mtx = 0
#define DIE     if :: leaves < MAXL -> goto dead :: true fi
#define PEER    (1 - me)

#ifdef LOST_TURN
#define NEEDS_RECOVERY false
#else
#define NEEDS_RECOVERY (turn == HOLD(me) || (turn == IN(me) && sem[me] == 0))
#endif
#define PEER_NEWS (!slot[PEER] && state[PEER] != 0 && told[me] != inc[PEER])

inline recover() {
#ifndef LOST_TURN
	if
	:: !holding && turn == HOLD(me) -> turn = IN(me); DIE; sem[me]++
	:: !holding && turn == IN(me) && sem[me] == 0 -> sem[me]++
	:: else
	fi
#else
	skip
#endif
}

inline peer_gone() {
	if
	:: slot[PEER] -> err = 0
	:: else ->
		if
		:: state[PEER] == CLO -> err = EPIPE
		:: state[PEER] == ATT -> err = EDEAD
		:: else -> err = 0
		fi
	fi
}

proctype Part(bit me)
{
	bool holding, attached, first = true;
	byte err, was;

	atomic { !slot[me] -> slot[me] = true }
	LOCK; DIE;
	/* a process that dies before this step never attached: its peer
	 * still sees the state of the one before it */
	state[me] = ATT; inc[me]++; how[me] = 0; attached = true;
	recover();
	UNLOCK;
wait:
	waiting[me] = true;
	do
	:: ack >= MAX -> goto fin
	:: atomic { sem[me] > 0 -> sem[me]--; tok[me] = 1; waiting[me] = false } ->
		goto took
	:: NEEDS_RECOVERY || PEER_NEWS ->
		LOCK; DIE; recover(); atomic { peer_gone(); was = how[PEER] }; UNLOCK;
		if
		:: atomic { sem[me] > 0 -> sem[me]--; tok[me] = 1; waiting[me] = false } ->
			goto took
		:: else ->
			if
			:: err != 0 ->
				assert((err == EPIPE) == (was == CLOSED));
				told[me] = inc[PEER];
				waiting[me] = false;        /* the wait returned */
				waiting[me] = true          /* and is called again */
			:: else
			fi
		fi
	:: leaves < MAXL -> goto leave
	od;
took:
	DIE;
	LOCK; DIE; turn = HOLD(me); holding = true; UNLOCK;
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
	:: leaves < MAXL -> goto leave
	:: true
	fi;
	DIE;
	LOCK; DIE;
	turn = IN(PEER); DIE;
	atomic { sem[PEER]++; tok[me] = 0; holding = false };
	UNLOCK;
	DIE;
	goto wait;
leave:
	leaves++;
	waiting[me] = false;
	LOCK; DIE;
#ifndef LOST_TURN
	if
	:: holding -> turn = IN(me); DIE; atomic { sem[me]++; tok[me] = 0 }; holding = false
	:: else
	fi;
#endif
	state[me] = CLO; how[me] = CLOSED;
	UNLOCK;
	atomic { slot[me] = false; tok[me] = 0; run Part(me) };
	goto fin;
dead:
	atomic {
		if :: mtx == me + 1 -> mtx = 0 :: else fi;
		leaves++; tok[me] = 0; waiting[me] = false;
		if :: attached -> how[me] = DIED :: else fi;
		slot[me] = false;
		run Part(me)
	}
fin:
	waiting[me] = false
}

/* Never two turns: semaphores plus turns in hand. */
active proctype monitor()
{
end:	atomic { !(sem[0] + sem[1] + tok[0] + tok[1] <= 1) -> assert(false) }
}

init {
	atomic {
		sem[0] = 1;
		run Part(0);
		run Part(1)
	}
}

#define GONE(r) (!slot[1 - (r)] && state[1 - (r)] != 0)
ltl no_hang { [] ((waiting[0] && GONE(0) -> <> !(waiting[0] && GONE(0))) &&
		  (waiting[1] && GONE(1) -> <> !(waiting[1] && GONE(1)))) }
