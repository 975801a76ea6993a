/* SPDX-License-Identifier: MIT */
/* Channel format version 2 (docs/channel-format.md, "Liveness and
 * waiting"): several waiters on one waiting word. Two consumers wait for
 * data on data_waiting and data_seq, each as a sleeper (bit 0) or as a
 * poller (bit 1 and its slot's `armed`), and one producer wakes them. In
 * the C code: the sleep loop and the arming of a poller in src/chan-wait.c
 * (set the bit with an atomic OR, fence, check again, then futex wait on
 * the sequence word or epoll on the slot's descriptor) and kick() (the
 * waker publishes, fences, reads the waiting word; only if it is set,
 * clears it, and for bit 0 bumps the sequence word and wakes all
 * sleepers, for bit 1 clears `armed` of each armed slot and writes its
 * descriptor). The same code serves producers waiting on space_waiting,
 * with the roles swapped; chan.pml checks one waiter of each kind.
 *
 * The producer's stores go through a store buffer drained by a flusher
 * (x86-TSO, as in chan.pml); a fence waits for it to drain, an atomic
 * read-modify-write drains it and acts on memory at once. The consumers'
 * plain stores (`armed`, and the clearing store of SLEEPER_CLEARS) go to
 * memory directly. The descriptor (an eventfd) is kernel state: clearing
 * and writing it are system calls. The producer publishes NMSG messages
 * (head); each consumer waits for each of them. Waits have no timeout: a
 * lost wake-up is a process blocked for good, an invalid end state.
 *
 * Checks (tests/spin/check.sh): safety (no invalid end state) and ltl
 * all_finish (both consumers see every message).
 * Mutations: SLEEPER_CLEARS, a sleeper woken up clears data_waiting itself
 * (as the version 1 sleep loop does: right for one waiter, with two it
 * erases the other's bit); WAKE_ONE, the waker wakes one sleeper (FUTEX_WAKE of 1) although
 * it cleared the bit for all; NO_WAKE_FENCE, the waker reads the waiting
 * word with no fence after publishing; CLEAR_POLL_BIT_ONLY, a waker that
 * finds bit 1 writes the descriptors but leaves the sleepers of bit 0 it
 * cleared asleep (clears the whole word, acts on one bit). */

#define NMSG  2
#define BUF   2

#define HEAD  0
#define DSEQ  1
#define DWAIT 2
#define NLOC  3

#define SLEEPER 1
#define POLLER  2

byte mem[NLOC];
byte sbloc[BUF];        /* the producer's store buffer */
byte sbval[BUF];
byte sbn;
bit asleep[2];          /* in FUTEX_WAIT, not woken yet */
bit polling[2];         /* in epoll_wait on its descriptor */
bit efd[2];             /* its descriptor: written, not read yet */
bit armed[2];           /* consumer slot j's armed */
bit finished[2];

inline STORE(l, v) {
	atomic {
		sbn < BUF ->
		sbloc[sbn] = l;
		sbval[sbn] = v;
		sbn++
	}
}

proctype flusher()
{
end:	do
	:: atomic {
		sbn > 0 ->
		mem[sbloc[0]] = sbval[0];
		sbloc[0] = sbloc[1];
		sbval[0] = sbval[1];
		sbloc[1] = 0;
		sbval[1] = 0;
		sbn--
	}
	od
}

proctype producer()
{
	byte k, w;

	do
	:: k == NMSG -> break
	:: else ->
		k++;
		STORE(HEAD, k);
		/* kick() */
#ifndef NO_WAKE_FENCE
		sbn == 0;
#endif
		w = mem[DWAIT];
		if
		:: w ->
			atomic { sbn == 0 -> w = mem[DWAIT]; mem[DWAIT] = 0 };
			if
			:: w & POLLER ->
				/* each armed slot: clear armed, write its eventfd */
				atomic {
					sbn == 0 ->
					if
					:: armed[0] -> armed[0] = 0; efd[0] = 1; polling[0] = 0
					:: else
					fi;
					if
					:: armed[1] -> armed[1] = 0; efd[1] = 1; polling[1] = 0
					:: else
					fi
				}
			:: else
			fi;
#ifdef CLEAR_POLL_BIT_ONLY
			if
			:: w == SLEEPER ->
#else
			if
			:: w & SLEEPER ->
#endif
				atomic { sbn == 0 -> mem[DSEQ]++ };
#ifdef WAKE_ONE
				if
				:: asleep[0] -> asleep[0] = 0
				:: else -> asleep[1] = 0
				fi
#else
				atomic { asleep[0] = 0; asleep[1] = 0 }
#endif
			:: else
			fi
		:: else
		fi;
		w = 0
	od
}

proctype consumer(byte me)
{
	byte k, s;

	do
	:: k == NMSG -> break
	:: else ->
		k++;
		if
		:: true ->      /* sleep_loop() */
			do
			:: mem[HEAD] >= k -> break
			:: else ->
				s = mem[DSEQ];
				atomic { mem[DWAIT] = mem[DWAIT] | SLEEPER };
				if
				:: mem[HEAD] >= k -> break
				:: else
				fi;
				atomic {
					if
					:: mem[DSEQ] == s -> asleep[me] = 1
					:: else
					fi
				};
				asleep[me] == 0;
				s = 0;
#ifdef SLEEPER_CLEARS
				if
				:: mem[DWAIT] -> mem[DWAIT] = 0
				:: else
				fi
#else
				skip
#endif
			od;
			s = 0
		:: true ->      /* a poller: arm(), then epoll on its descriptor */
			do
			:: mem[HEAD] >= k -> break
			:: else ->
				efd[me] = 0;
				armed[me] = 1;
				atomic { mem[DWAIT] = mem[DWAIT] | POLLER };
				if
				:: mem[HEAD] >= k -> break
				:: else
				fi;
				atomic {
					if
					:: efd[me] == 0 -> polling[me] = 1
					:: else
					fi
				};
				polling[me] == 0
			od
		fi
	od;
	finished[me] = 1
}

init
{
	atomic {
		run flusher();
		run producer();
		run consumer(0);
		run consumer(1)
	}
}

ltl all_finish { <> (finished[0] && finished[1]) }
