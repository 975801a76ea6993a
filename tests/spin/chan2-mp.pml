/* SPDX-License-Identifier: MIT */
/* Channel format version 2 (docs/channel-format.md), several producers:
 * the reservation under `lock`, the commit outside it, producers that die
 * anywhere, the takeover of a dead holder's lock with the repair of
 * `head`, and a consumer that skips a dead producer's reserved record.
 * In src/chan-multi.c: the several-producer reserve (take the lock, or take
 * it over from a dead holder and repair head; read head, check the room,
 * zero the word after the record, store the reserved word and the padding
 * word before it, store head, release the lock); in src/chan-mprod.c the
 * commit (store the message word, mprod_put()); in src/chan-ring.h and
 * src/chan-mprod.c the consumer's next-record step (message, padding,
 * reserved: wait, or skip once its producer is dead, settled in a wait:
 * dead_record() in src/chan-peers.c).
 *
 * Two producer slots, K messages per producer (KR for a replacement), one
 * consumer, block policy. The consumer attaches whenever it first runs,
 * at head, as a broadcast consumer does: until then no cursor holds the
 * producers back, and records reserved before it (in flight or not) are
 * not its to receive.
 * A record's size is counted in ring words: slot 0's records take one word
 * (the record word), slot 1's two (a word and a payload word), so records
 * wrap and padding records appear. Slot 1 may commit a message shorter
 * than it reserved: one word, and a skip record over the payload word. The ring has N words. One producer may
 * die (kill -9) between any two of its steps, holding the lock or not; its
 * liveness slot is then free (the kernel drops its OFD lock), and a new
 * producer may attach in that slot at once, with the next generation: the
 * dead one's lock value and reserved words name the old generation, so
 * they must be told from the live one's. "Incarnation" i below is one
 * producer: slot and generation; a reserved word and the lock hold it.
 * Two producers may die: the first anywhere, the second only while it
 * repairs after taking the lock over from the first (a second takeover:
 * the smallest state space that has it); only the first death brings a
 * replacement.
 *
 * Memory is sequentially consistent here: what this model checks is who
 * stores what, in which order, under which lock (the lock's compare-and-
 * swap is a full barrier, and a process's death reaches the kernel, which
 * frees its liveness lock, only after its stores). Store buffers and the
 * sleep/wake pairs are in chan2-bcast.pml, chan2-over.pml and
 * chan2-wake.pml; the waits here are Promela guards. Not modelled: a
 * slot's state read before and after the liveness test (a new party
 * attaching in between), and `sent`.
 *
 * Checks (tests/spin/check.sh): safety, i.e. the assertions (every ring
 * store lands on a word the consumer has released: block policy, never
 * over unread data; the consumer receives each producer's messages in
 * order, with no gap and no duplicate, and never takes a payload word for
 * a record; at the end it has received every message committed, also
 * those of a producer that died after its commit) and no invalid end
 * state (no deadlock: a wait on a dead producer's lock or record is a
 * process blocked for good); ltl all_finish: the consumer always gets to
 * its end (nothing left, every producer gone).
 * The consumer's cursor (the room the producers count) moves after each
 * message, and before each wait: records that are no messages (padding,
 * skip, a dead producer's reservation) are passed privately and the
 * cursor is stored before the consumer waits.
 * Mutations: NO_SKIP_PUBLISH, the consumer waits without storing the
 * cursor it moved past such records (the producers wait for room that is
 * free, the consumer for data: both for good); REPAIR_HOLDER_ONLY, the
 * repair passes only the lock holder's reserved record (after a second
 * takeover the record is the first holder's: the repair meets a record it
 * must refuse); NO_DEAD_SKIP, the consumer waits at a dead producer's
 * reserved record; NO_LOCK_REPAIR, the takeover leaves head where the dead
 * holder left it; REPAIR_NO_PAD, the repair moves head past a reserved
 * record at head but not past padding; SKIP_NO_REREAD, the consumer skips
 * a reserved record on finding its producer dead without reading its word
 * again (the producer may have committed just before it died);
 * LIVENESS_BY_SLOT, "dead" means "slot free" (the generation is not
 * compared); NO_INFLIGHT, the room counts the consumer's cursor only, not
 * the records other live producers reserved and have not committed (slot
 * resv in the code): before the consumer attaches, a producer laps a
 * record whose producer is still writing it. */

#define N    4          /* ring words */
/* The ltl claim under weak fairness costs six times the safety search at
 * K = 2 (99 s of CPU, 5 GB, 22.7M states; at K = 1: 5 s, 350 MB): it is
 * checked at K = 1, where records still wrap and pad (a replacement's
 * record after the others'); safety, with no invalid end state (a wait
 * for good), is checked at K = 2. */
/* check.sh: ltl with -DK=1 */
#ifndef K
#define K    2          /* messages per producer */
#endif
#define KR   1          /* messages of the replacement */
#define MAXD 2          /* deaths per run */
#define NI   3          /* incarnations: slot 0, slot 1, a replacement */

#define SLOT(i)  ((i) < 2 -> (i) : rslot)
#define GEN(i)   ((i) < 2 -> 1 : 2)
#define LEN(i)   (SLOT(i) + 1)  /* record words */

/* record words */
#define EMPTY    0
#define PAD      1              /* padding to the ring's end */
#define BUSY(i)  (2 + (i))      /* reserved by incarnation i */
#define SKIP     6              /* skip record: the rest of a short commit */
#define PAYLOAD  7              /* a payload word */
#define MSG(i, s) (8 + (i) * 4 + (s))  /* message s (1..K) of incarnation i */
#define SHORT    16             /* added: committed one word long */
#define IS_BUSY(w) ((w) >= 2 && (w) < 2 + NI)
#define IS_MSG(w)  ((w) >= 8)
#define MSG_I(w)   ((((w) - 8) % SHORT) / 4)
#define MSG_S(w)   (((w) - 8) % 4)
#define MSG_LEN(w) ((w) >= 8 + SHORT -> 1 : LEN(MSG_I(w)))

/* The liveness test: the slot's OFD lock is held, by that generation. */
#ifdef LIVENESS_BY_SLOT
#define LIVE(i)  (alive[SLOT(i)])
#else
#define LIVE(i)  (alive[SLOT(i)] && gen[SLOT(i)] == GEN(i))
#endif

byte ring[N];
byte head;              /* ring words ever reserved: absolute, never reduced */
byte lock;              /* 0 free, else incarnation + 1 */
byte cursor;            /* the consumer slot's pos */
bit joined;             /* the consumer attached (its cursor counts) */
byte resv[NI];          /* reserved record + 1, in flight until committed */
bit alive[2];           /* liveness slot held */
byte gen[2];            /* its holder's generation */
byte rslot;             /* the replacement's slot */
bit exists[NI];
bit done[NI];           /* closed after its last message */
byte deaths;
bit cdone;
/* ghosts */
byte committed[NI];     /* messages committed by each incarnation */
byte got[NI];           /* last message received from each */
byte reserved[NI];      /* messages reserved by each */
byte before[NI];        /* ... when the consumer attached */

#define GONE(i)  (!exists[i] || done[i] || !LIVE(i))
#define ALLGONE  (GONE(0) && GONE(1) && GONE(2))

#define LAPS(q, j) (j != me && resv[j] && LIVE(j) && !done[j] && (q) - (resv[j] - 1) >= N)

/* A producer's ring store at absolute word q: never more than a ring
 * ahead of the consumer's released position, nor of a record another
 * live producer is still writing. */
inline RSTORE(q, v) {
	atomic {
		assert(!joined || q - cursor < N);
		assert(!LAPS(q, 0) && !LAPS(q, 1) && !LAPS(q, 2));
		ring[(q) % N] = v
	}
}

/* The room's lower bound: the consumer's cursor (head while none is
 * attached), and the oldest record in flight of a live producer. One
 * expression, so that a wait on it is a guard. */
#ifdef NO_INFLIGHT
#define INFL(j, x) (x)
#else
#define INFL(j, x) \
	((j != me && resv[j] && LIVE(j) && resv[j] - 1 < (x)) -> resv[j] - 1 : (x))
#endif
#define BOUND INFL(2, INFL(1, INFL(0, (joined -> cursor : head))))

/* Die here, maybe; a replacement may take the slot at once. */
#define DIE \
	if \
	:: atomic { \
			(deaths == 0 || (deaths < MAXD && took)) -> \
			deaths++; \
			alive[SLOT(me)] = 0; \
			if \
			:: !exists[2] -> rslot = SLOT(me); exists[2] = 1; \
				alive[rslot] = 1; gen[rslot] = 2; \
				run producer(2) \
			:: true \
			fi \
		}; \
		goto dead \
	:: true \
	fi

/* The dead holder's records after head: padding to the ring's end, a
 * reserved record of a producer that is gone (the holder's, or after a
 * second takeover the first holder's); then the zero word stored after
 * the record, or head untouched. Anything else is a record the repair
 * refuses (-EBADMSG): an honest run never shows it one. */
inline REPAIR(holder) {
	h = head;
	do
	:: w = ring[h % N];
		if
#ifndef REPAIR_NO_PAD
		:: w == PAD -> h = h + N - h % N
#endif
#ifdef REPAIR_HOLDER_ONLY
		:: w == BUSY(holder) -> w = LEN(holder); h = h + w
#else
		:: IS_BUSY(w) && !LIVE(w - 2) -> w = LEN(w - 2); h = h + w
#endif
		:: else -> assert(w == EMPTY); break
		fi
	od;
	head = h
}

proctype producer(byte me)
{
	byte s = 1, h, at, r, w, holder, sz;
	bit took;       /* took the lock over: may die as the second death */

	sz = LEN(me);

	do
	:: s > (me < 2 -> K : KR) -> break
	:: else ->
		/* take the lock: from free, or from a dead holder */
		if
		:: atomic { lock == 0 -> lock = me + 1 }
		:: atomic {
			lock != 0 && !LIVE(lock - 1) ->
			holder = lock - 1; lock = me + 1; took = 1
		   };
			DIE;
#ifndef NO_LOCK_REPAIR
			REPAIR(holder);
			DIE;
#endif
			holder = 0; took = 0
		fi;
		h = head;
		/* a record never wraps: padding to the ring's end first */
		if
		:: h % N + sz > N -> at = h + N - h % N
		:: else -> at = h
		fi;
		r = BOUND;
		if
		:: at + sz + 1 - r > N ->
			/* no room: let go of the lock, wait for the bound to move */
			lock = 0;
			DIE;
			BOUND != r
		:: else ->
			DIE;
			RSTORE(at + sz, EMPTY);
			DIE;
			RSTORE(at, BUSY(me));
			DIE;
			if
			:: at != h -> RSTORE(h, PAD); DIE
			:: else
			fi;
			atomic { resv[me] = at + 1; head = at + sz; reserved[me] = s };
			DIE;
			lock = 0;
			DIE;
			/* outside the lock: the payload, then the commit */
			if
			:: sz > 1 -> RSTORE(at + 1, PAYLOAD); DIE
			:: else
			fi;
			if
			:: sz > 1 ->    /* committed shorter: a skip record first */
				RSTORE(at + 1, SKIP); DIE;
				atomic { RSTORE(at, MSG(me, s) + SHORT); committed[me] = s }
			:: atomic { RSTORE(at, MSG(me, s)); committed[me] = s }
			fi;
			resv[me] = 0;
			DIE;
			s++
		fi
	od;
	done[me] = 1;
dead:
	skip
}

/* Before a wait: the cursor where we are (records passed since it was
 * stored count as used for the producers until then). */
#ifdef NO_SKIP_PUBLISH
#define SHOW skip
#else
#define SHOW cursor = pos
#endif

proctype consumer()
{
	byte pos, w, i;
	bit gone;

	/* attach: at head, from now on our cursor counts */
	atomic {
		pos = head; cursor = pos; joined = 1;
		before[0] = reserved[0]; before[1] = reserved[1]; before[2] = reserved[2]
	};
	do
	:: gone = ALLGONE;      /* before the look: nothing comes after it */
		w = ring[pos % N];
		if
		:: w == EMPTY ->
			if
			:: gone -> break
			:: else -> SHOW; (ring[pos % N] != EMPTY || ALLGONE)
			fi
		:: w == PAD -> pos = pos + N - pos % N
		:: w == SKIP -> pos = pos + 1
		:: IS_BUSY(w) ->
			i = w - 2;
			SHOW;
#ifdef NO_DEAD_SKIP
			ring[pos % N] != w
#else
			if
			:: ring[pos % N] != w   /* committed: look again */
			:: !LIVE(i) ->
#ifdef SKIP_NO_REREAD
				pos = pos + LEN(i)
#else
				/* dead: skip, unless it committed first */
				if
				:: ring[pos % N] == w -> pos = pos + LEN(i)
				:: else
				fi
#endif
			fi
#endif
		:: IS_MSG(w) ->
			i = MSG_I(w);
			assert(MSG_S(w) == (got[i] -> got[i] : before[i]) + 1);
			got[i] = MSG_S(w);
			pos = pos + MSG_LEN(w);
			cursor = pos
		:: else -> assert(false)        /* a payload word read as a record */
		fi
	od;
	assert(got[0] == (committed[0] > before[0] -> committed[0] : 0));
	assert(got[1] == (committed[1] > before[1] -> committed[1] : 0));
	assert(got[2] == (committed[2] > before[2] -> committed[2] : 0));
	cdone = 1
}

init
{
	atomic {
		alive[0] = 1; gen[0] = 1; exists[0] = 1;
		alive[1] = 1; gen[1] = 1; exists[1] = 1;
		run producer(0);
		run producer(1);
		run consumer()
	}
}

ltl all_finish { <> cdone }
