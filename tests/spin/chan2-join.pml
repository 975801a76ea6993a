/* SPDX-License-Identifier: MIT */
/* Channel format version 2 (docs/channel-format.md), several producers
 * and a broadcast: one producer's room computation while a consumer takes
 * over a slot whose holder died, and another producer runs on. In the C
 * code: slowest_of() and read_slot() (src/chan-peers.c: a fence, then per consumer
 * slot its state word, then its cursor, head read again when the cursor is
 * past the head the room started from, the check "a cursor more than a
 * ring behind head is corrupt" for an attached slot); the reaping of a
 * dead consumer (a compare-and-swap of its state word, also there);
 * attach of a broadcast consumer (src/chan-attach.c: take the liveness
 * lock, clear "attached" in the old state word, store a cursor = a head
 * read, store "joining", fence, read head again, store that cursor, store
 * "attached").
 *
 * Memory is sequentially consistent here: the race is an interleaving.
 * (On a weakly ordered machine the attach's first cursor store is a
 * release, and the room's cursor load an acquire, so that the state word
 * read after the cursor is at least as new as the cleared one; store
 * buffers and fences around attach are chan2-bcast.pml's.)
 *
 * One consumer slot matters (slot 0). Its first holder D is attached at
 * cursor 0 and dies at any moment (its liveness lock free, its state word
 * still "attached", generation 0). A consumer B takes the slot once D is
 * dead (generation 1), and stays at the cursor it starts at. Producer Q
 * publishes up to H records, one ring word each, while there is room
 * (from slot 0's cursor while that counts, else from head: nothing held
 * back); in a wait it reaps D once it finds it dead. Producer R computes
 * its room, again and again: that computation must never find an honest
 * channel corrupt, since it would fail R's handle with EBADMSG for good.
 *
 * Checks (tests/spin/check.sh): safety, i.e. the assertions (R never
 * counts a cursor more than a ring behind head for an attached slot, nor
 * one ahead of head) and no invalid end state.
 * Mutations: NO_REREAD, the room as it was (src/chan-wait.c before the
 * fix): the state word read once, before the cursor, and head read again
 * after a cursor past it without reading the cursor again. Two ways to
 * EBADMSG from an honest channel: D's "attached" paired with B's first
 * cursor (a head B read after clearing D's state, before Q ran a ring
 * ahead), and D's cursor read before D and Q ran more than a ring on and
 * the head then read again. NO_CURSOR_REREAD, the state word read again
 * after the cursor (retry on a change) but the cursor not read again after
 * head: still the second way. (NO_STATE_REREAD alone is not caught: with
 * the cursor read after the last head, a cursor B stored is never older
 * than that head; the C code reads the state again all the same, so that
 * the state it judges the cursor by is the cursor's own.) The torture
 * harness saw the EBADMSG about once in 14 stress runs (3 producers, 1
 * consumer slot, ring 256), which needs a preemption between the two
 * loads. */

#ifdef NO_REREAD
#define NO_STATE_REREAD
#define NO_CURSOR_REREAD
#endif

#define N  2            /* ring words */
#define H  5            /* records Q publishes: more than a ring past B's first cursor */
#define TRIES 3         /* R: then the slot is unsettled: counted, not judged */

#define ATT    1        /* state flags */
#define CLO    2
#define REAPED 4
#define JOIN   8
#define GEN1   16       /* generation 1: B's */

byte head;              /* records published */
byte cur;               /* slot 0's cursor */
byte st = ATT;          /* slot 0's state word: D attached, generation 0 */
bit alive = 1;          /* slot 0's liveness lock held */

#define COUNTS(s) (((s) & (ATT | JOIN)) && !((s) & (CLO | REAPED)))

/* Q: its room, reaping D in a wait; publishes while there is room. */
proctype producer_q()
{
	byte s, t;

	do
	:: head < H ->
		s = st;
		if
		:: COUNTS(s) ->
			t = cur;
			if
			:: head + 2 <= t + N -> head++
			:: else ->
				/* wait: the slice ends, the liveness check */
				atomic {
					if
					:: st == ATT && !alive -> st = ATT | REAPED
					:: else
					fi
				}
			fi
		:: else -> head++
		fi
	:: true -> break
	od
}

/* D receives (its cursor follows head), and dies at any moment. */
proctype consumer_d()
{
	do
	:: atomic { cur < head -> cur++ }
	:: alive = 0; break
	od
}

/* B takes the slot once D is dead, and starts at head. */
proctype consumer_b()
{
	byte h;

	atomic { !alive -> alive = 1 };
	st = st & ~ATT;
	h = head;
	cur = h;
	st = GEN1 | JOIN;
	h = head;
	cur = h;
	st = GEN1 | ATT
}

/* R's room, as shmx__chan_slowest() computes it for slot 0. */
proctype producer_r()
{
	byte top, s, s2, t, tries;

	do
	:: top = head;
		tries = 0;
again:
		s = st;
		if
		:: COUNTS(s) ->
			t = cur;
			if
			:: t > top -> top = head;
#ifndef NO_CURSOR_REREAD
				/* the cursor again, read after that head */
				if
				:: tries < TRIES -> tries++; goto again
				:: else -> goto done
				fi
#endif
			:: else
			fi;
#ifndef NO_STATE_REREAD
			s2 = st;
			if
			:: s2 != s && tries < TRIES -> tries++; goto again
			:: s2 != s -> goto done
			:: else
			fi;
#endif
			assert(t <= top);
			assert(!(top - t > N && (s & ATT)))
		:: else
		fi;
done:		/* unsettled after TRIES: counted, but not judged */
		skip
	:: true -> break
	od
}

init
{
	atomic {
		run producer_q();
		run consumer_d();
		run consumer_b();
		run producer_r()
	}
}
