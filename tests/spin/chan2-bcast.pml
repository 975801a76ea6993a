/* SPDX-License-Identifier: MIT */
/* Channel format version 2 (docs/channel-format.md), broadcast with the
 * block policy: each consumer slot has its own cursor, the producer's
 * room comes from the slowest attached consumer, a consumer attaches late,
 * a consumer may close or die, and the producer sleeps for room and is
 * woken by the consumers. In the C code: the producer's reserve and
 * publish (src/chan-ring.h, src/chan-bcast.c), its room computation
 * (slowest_of() in src/chan-peers.c) and its wait for space
 * (src/chan-send.c, src/chan-wait.c); the consumer's next-record step,
 * its cursor store and the kick after it (src/chan-ring.h: ring_next(),
 * show_tail()); attach of a consumer slot (src/chan-attach.c: store
 * cursor = a head read, store "attached", fence, read head again, store
 * the cursor again, start there); the sleep loop and kick (src/chan-wait.c:
 * set the waiting bit with an atomic OR, fence, check again, futex wait on
 * the sequence word; the waker publishes, fences, reads the waiting word,
 * and only if set clears it, bumps the sequence word, wakes all) and the
 * liveness check after a wait slice (a dead consumer is marked "found
 * dead" and no longer counted).
 *
 * On a machine with store buffers (x86-TSO), as in chan.pml: every plain
 * store goes into its process's FIFO buffer, which a flusher process
 * drains into memory one entry at a time, whenever it likes; a load sees
 * the newest own buffered store to that location, else memory; a fence
 * waits for the own buffer to drain; an atomic read-modify-write (OR,
 * exchange, add) drains it and acts on memory at once; a store into a
 * full buffer (BUF entries) waits, as the processor does.
 *
 * One producer (the one-producer path: no lock) sends NMSG messages.
 * Consumer A is attached from the start (slot 0, cursor 0); consumer B
 * (slot 1) attaches at any moment. A record takes one ring word, whose
 * value is the message number (its position + 1); the ring has N words;
 * a record and the zero word after it must lie within a ring of the
 * slowest attached cursor. Consumer A may leave after any message: close
 * (state "closed") or die (its liveness slot free). The consumers poll
 * their word (SHMX_CHAN_SPIN): a consumer's sleep for data is checked in
 * chan2-over.pml and chan2-wake.pml, the one-consumer pairs in chan.pml.
 * Not modelled: the search for a free slot (B's is its own), `sent`, the
 * several-producer lock (chan2-mp.pml). The producer's futex
 * wait has no timeout, except the wait slice while the room it counted
 * includes a consumer that has since closed or died: the slice is how it
 * notices those. A lost wake-up is a process blocked for good, an invalid
 * end state.
 *
 * Checks (tests/spin/check.sh): safety, i.e. the assertions (a consumer
 * finds at its position the message that belongs there: B receives the
 * messages from the head it started at, in order, with no gap, and none
 * of them overwritten before it reads it; each producer store lands
 * within a ring of every reading consumer's position; a counted cursor is
 * never ahead of head) and no invalid end state; ltl all_finish, under
 * weak fairness: the producer sends everything and each consumer receives
 * everything or leaves.
 * Mutations: NO_ATTACH_FENCE, the late consumer reads head again with no
 * fence after storing "attached"; NO_ATTACH_REREAD, it starts at the first
 * head it read; NO_PRODUCER_FENCE, the producer's kick() after publishing
 * head has no fence, so its next room computation can miss a consumer
 * that read the old head; NO_WAKE_FENCE, kick() has no fence at all (the
 * producer's, and the consumers' after their cursor store, which a
 * producer asleep for room relies on); NO_REAP, the producer's wait slices
 * end but it keeps counting a dead consumer's cursor (a livelock: caught
 * by all_finish).
 *
 * Found on the way: a late consumer's first cursor (a head it read
 * before attaching) can be more than a ring behind head when the producer
 * counts it (with NMSG = N + 2 this model reaches it). The producer must
 * read that as "no room yet" (head + need <= cursor + capacity, no
 * unsigned difference that can wrap) and not fail the handle with EBADMSG
 * for a cursor "more than a ring behind". */

#define N     2         /* ring words */
#define NMSG  3         /* messages */
#define BUF   4         /* store buffer entries */

#define P 0             /* processes: the producer, consumers A and B */
#define A 1
#define B 2
#define NPROC 3

/* shared locations */
#define HEAD  0         /* head: records published */
#define CUR   1         /* CUR + j: consumer slot j's pos */
#define ST    3         /* ST + j: consumer slot j's state */
#define SSEQ  5         /* space_seq */
#define SWAIT 6         /* space_waiting */
#define RING  7         /* RING + i: ring word i */
#define NLOC  (RING + N)

#define ATT    1        /* slot states: attached, closed, found dead */
#define CLO    2
#define REAPED 4
#define SLEEPER 1       /* waiting bit 0: a sleeper */

typedef sbuf {
	byte loc[BUF];
	byte val[BUF];
	byte n
};

byte mem[NLOC];
sbuf sb[NPROC];
bit asleep;             /* the producer is in FUTEX_WAIT, not woken yet */
bit alive[2];           /* consumer slot j's liveness lock held */
bit pdone;
bit finished[2];        /* consumer j received everything, or left */
/* ghosts */
bit reading[2];         /* consumer j reads from gpos[j] on */
byte gpos[2];
bit counted[2];         /* the producer's last room counted slot j */

/* plain store: into the own buffer; a full buffer stalls the store */
inline STORE(p, l, v) {
	atomic {
		sb[p].n < BUF ->
		sb[p].loc[sb[p].n] = l;
		sb[p].val[sb[p].n] = v;
		sb[p].n++
	}
}

inline LOAD(p, l, r) {
	atomic {
		r = mem[l];
		i = 0;
		do
		:: i < sb[p].n ->
			if
			:: sb[p].loc[i] == l -> r = sb[p].val[i]
			:: else
			fi;
			i++
		:: else -> break
		od;
		i = 0
	}
}

inline FENCE(p) {
	sb[p].n == 0
}

inline ATOMIC_OR(p, l, v) {
	atomic { sb[p].n == 0 -> mem[l] = mem[l] | v }
}

inline XCHG(p, l, v, r) {
	atomic { sb[p].n == 0 -> r = mem[l]; mem[l] = v }
}

inline FETCH_ADD(p, l) {
	atomic { sb[p].n == 0 -> mem[l]++ }
}

proctype flusher(byte p)
{
	byte k;

end:	do
	:: atomic {
		sb[p].n > 0 ->
		mem[sb[p].loc[0]] = sb[p].val[0];
		k = 1;
		do
		:: k < sb[p].n ->
			sb[p].loc[k - 1] = sb[p].loc[k];
			sb[p].val[k - 1] = sb[p].val[k];
			k++
		:: else -> break
		od;
		sb[p].n--;
		/* a free entry holds nothing: one state per buffer content */
		sb[p].loc[sb[p].n] = 0;
		sb[p].val[sb[p].n] = 0;
		k = 0
	}
	od
}

/* A consumer's kick() after its cursor store: fence, look at
 * space_waiting; only when set: clear it, bump space_seq, wake. */
inline KICK_SPACE(p) {
#ifndef NO_WAKE_FENCE
	FENCE(p);
#endif
	LOAD(p, SWAIT, w);
	if
	:: w ->
		XCHG(p, SWAIT, 0, w);
		FETCH_ADD(p, SSEQ);
		asleep = 0
	:: else
	fi;
	w = 0
}

/* A producer store to ring position q: within a ring of every reading
 * consumer's position (checked at issue, before it can be seen). */
inline RSTORE(q, v) {
	assert(!reading[0] || q < gpos[0] + N);
	assert(!reading[1] || q < gpos[1] + N);
	STORE(P, RING + (q) % N, v)
}

/* The room: from the slowest attached consumer, else from head. */
inline ROOM() {
	mn = pos;
	j = 0;
	do
	:: j < 2 ->
		LOAD(P, ST + j, st);
		if
		:: st == ATT ->
			LOAD(P, CUR + j, c);
			assert(c <= pos);
			counted[j] = 1;
			if
			:: c < mn -> mn = c
			:: else
			fi
		:: else -> counted[j] = 0
		fi;
		j++
	:: else -> break
	od;
	atomic { lim = mn + N; j = 0; st = 0; c = 0; mn = 0 }
}

/* After a wait slice: a consumer attached but dead is found dead. */
inline REAP() {
	j = 0;
	do
	:: j < 2 ->
		LOAD(P, ST + j, st);
		if
		:: st == ATT && !alive[j] -> STORE(P, ST + j, REAPED)
		:: else
		fi;
		j++
	:: else -> break
	od;
	atomic { j = 0; st = 0 }
}

#define SLICE ((counted[0] && (!alive[0] || mem[ST + 0] == CLO)) || \
	       (counted[1] && (!alive[1] || mem[ST + 1] == CLO)))

proctype producer()
{
	byte pos, lim, mn, j, st, c, s, w, i;

	do
	:: pos == NMSG -> break
	:: else ->
		/* room for the record at pos and the zero word after it */
		if
		:: pos + 2 > lim ->
			ROOM();
			do
			:: pos + 2 <= lim -> break
			:: else ->
				/* wait_for_space(): sleep_loop() */
				LOAD(P, SSEQ, s);
				ATOMIC_OR(P, SWAIT, SLEEPER);
				FENCE(P);
				ROOM();
				if
				:: pos + 2 <= lim -> s = 0; break
				:: else
				fi;
				/* FUTEX_WAIT: woken, or the slice ends */
				atomic {
					if
					:: mem[SSEQ] == s -> asleep = 1
					:: else
					fi
				};
				atomic { asleep == 0 || SLICE -> asleep = 0; s = 0 };
#ifndef NO_REAP
				REAP();
#endif
				ROOM()
			od
		:: else
		fi;
		/* the record: zero the word after it, store its word; publish:
		 * head, then kick() (with no consumer asleep here: its fence,
		 * which the attach pairing also relies on) */
		RSTORE(pos + 1, 0);
		RSTORE(pos, pos + 1);
		pos++;
		STORE(P, HEAD, pos);
#if !defined(NO_WAKE_FENCE) && !defined(NO_PRODUCER_FENCE)
		FENCE(P)
#else
		skip
#endif
	od;
	pdone = 1
}

/* Consumer me in slot j from position pos: every message to NMSG, unless
 * it leaves. */
inline RECEIVE() {
	do
	:: pos == NMSG -> break
	:: else ->
		/* the word at our position: poll it */
		atomic { mem[RING + pos % N] != 0 -> wd = mem[RING + pos % N] };
		assert(wd == pos + 1);
		wd = 0;
		/* release it: the cursor, then wake a producer waiting for room */
		pos++;
		gpos[j] = pos;
		STORE(me, CUR + j, pos);
		KICK_SPACE(me);
		if
		:: me == A ->
			if
			:: reading[j] = 0; STORE(me, ST + j, CLO); break
			:: reading[j] = 0; alive[j] = 0; break
			:: true
			fi
		:: else
		fi
	od;
	finished[j] = 1
}

proctype consumer_a()
{
	byte me = A, j = 0, pos, wd, w, i;

	RECEIVE()
}

proctype consumer_b()
{
	byte me = B, j = 1, pos, h, wd, w, i;

	/* attach: cursor = a head read, "attached", fence, head again */
	LOAD(me, HEAD, h);
	STORE(me, CUR + j, h);
	STORE(me, ST + j, ATT);
#ifndef NO_ATTACH_FENCE
	FENCE(me);
#endif
#ifndef NO_ATTACH_REREAD
	LOAD(me, HEAD, h);
	STORE(me, CUR + j, h);
#endif
	atomic { pos = h; reading[j] = 1; gpos[j] = pos; h = 0 };
	KICK_SPACE(me);
	RECEIVE()
}

init
{
	atomic {
		mem[ST + 0] = ATT;
		alive[0] = 1;
		alive[1] = 1;
		reading[0] = 1;
		run flusher(P);
		run flusher(A);
		run flusher(B);
		run producer();
		run consumer_a();
		run consumer_b()
	}
}

ltl all_finish { <> (pdone && finished[0] && finished[1]) }
