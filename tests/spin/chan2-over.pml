/* SPDX-License-Identifier: MIT */
/* Channel format version 2 (docs/channel-format.md), the overwrite policy
 * and a consumer's sleep for data. In the C code: the producer's reserve
 * under the overwrite policy (move `low` and `low_msgs` past the records
 * it is about to write over, under `low_seq`, then write) and publish with
 * its kick (src/chan-over.c: overwrite_room(); src/chan-ring.h:
 * publish_as_one(); src/chan.h: kick(); src/chan-wait.c: fence, read data_waiting,
 * only if set clear it, bump data_seq, wake all); the consumer's
 * next-record step under the overwrite policy (poll the word, copy the
 * payload, acquire fence, read `low` and `low_msgs` under `low_seq`:
 * discard the copy and count the lost messages if `low` passed us) in
 * src/chan-ring.h and src/chan-over.c (overtaken(), fell_behind()); the
 * consumer's sleep loop in src/chan-wait.c (set the
 * waiting bit with an atomic OR, fence, check again, futex wait on
 * data_seq).
 *
 * The producer's stores go through a store buffer, as in chan.pml
 * (x86-TSO): a FIFO drained into memory by a flusher process whenever it
 * likes; a fence waits for it to drain; an atomic read-modify-write drains
 * it and acts on memory at once; a store into a full buffer waits. The
 * consumer stores nothing shared but the waiting bit, with an atomic OR.
 * On TSO the release and acquire fences of the policy cost nothing; what
 * they keep in order is the program order modelled here.
 *
 * One producer sends NMSG messages into a ring of N slots and never
 * waits; one consumer reads from position 0 and sleeps when there is
 * nothing to read (the futex wait has no timeout: a lost wake-up is a
 * process blocked for good, an invalid end state). A message takes one
 * slot or two, as the producer chooses: its word (the message number, plus
 * BIG for two slots; 0 for none) and a payload of two halves, each also the
 * message number, stored one after the other, so a torn copy has two
 * different halves. A two-slot message's second slot holds payload that
 * looks like a padding word. A record never wraps: a two-slot message that
 * does not fit before the ring's end goes to the next lap's start, behind a
 * padding record (its word PADW, stored after the message's word, as
 * put_record() does). `low_msgs` and `low` are two words, stored one after
 * the other, and the consumer keeps its position and its message index
 * apart: a pair read across a change of `low` shows. A lapped consumer can
 * find at its position a padding word of a later lap, or payload that looks
 * like one: it follows a padding word only after it has read `low` and
 * found itself not overtaken.
 *
 * Checks (tests/spin/check.sh): safety, i.e. the assertions (a message the
 * consumer accepts is whole and is the one at its index; at the end
 * received + lost == sent) and no invalid end state (no lost wake-up, no
 * consumer waiting for good with messages in the ring); ltl all_finish:
 * the consumer gets to the end.
 * Mutations: LOW_AFTER_WRITE, the producer moves `low` after writing the
 * record; LOW_BEFORE_COPY, the consumer reads `low` before it copies the
 * payload; WORD_ONLY_WAIT, a consumer whose word is zero waits for it
 * without looking at `low` (after being lapped, its word can be the zero
 * word after the newest record, and nothing more may ever come);
 * NO_SEQLOCK, the consumer reads `low` and `low_msgs` without `low_seq`;
 * FOLLOW_LAPPED_PAD, the consumer follows a padding word without asking
 * whether it was overtaken (it skips intact messages uncounted, or takes
 * a later lap's message for the next one);
 * NO_WAKE_FENCE, the producer reads data_waiting after publishing with no
 * fence. Several sleepers on one word: chan2-wake.pml. */

#define N     4         /* ring slots */
#define NMSG  4         /* messages */
#define PADW  100       /* a padding record's word */
#define BIG   16        /* added to a two-slot message's word */
#define NREC  (2 * NMSG)
#define BUF   8         /* store buffer entries */

/* shared locations */
#define LSEQ  0         /* low_seq */
#define LOW   1         /* low: records before it may be overwritten */
#define LMSGS 2         /* low_msgs: messages before low */
#define DSEQ  3         /* data_seq */
#define DWAIT 4         /* data_waiting */
#define WORD  5         /* WORD + i: record word of slot i */
#define HALF1 (WORD + N)        /* HALF1 + i, HALF2 + i: its payload */
#define HALF2 (HALF1 + N)
#define NLOC  (HALF2 + N)

#define SLEEPER 1

typedef sbuf {
	byte loc[BUF];
	byte val[BUF];
	byte n
};

byte mem[NLOC];
sbuf sb;                /* the producer's */
bit asleep;
bit finished;

/* the producer's plain store: into its buffer (a full one stalls) */
inline STORE(l, v) {
	atomic {
		sb.n < BUF ->
		sb.loc[sb.n] = l;
		sb.val[sb.n] = v;
		sb.n++
	}
}

inline FENCE() {
	sb.n == 0
}

proctype flusher()
{
	byte k;

end:	do
	:: atomic {
		sb.n > 0 ->
		mem[sb.loc[0]] = sb.val[0];
		k = 1;
		do
		:: k < sb.n ->
			sb.loc[k - 1] = sb.loc[k];
			sb.val[k - 1] = sb.val[k];
			k++
		:: else -> break
		od;
		sb.n--;
		/* a free entry holds nothing: one state per buffer content */
		sb.loc[sb.n] = 0;
		sb.val[sb.n] = 0;
		k = 0
	}
	od
}

/* The record at `at`, sz slots, and the zero word after it go over the
 * records before at + sz + 1 - N: low (and low_msgs) moves past them,
 * record by record, under low_seq. */
inline MOVE_LOW() {
	if
	:: at + sz + 1 > N + low ->
		do
		:: low + N < at + sz + 1 ->
			low = low + rsz[lr % NREC];
			msgs = msgs + rmsg[lr % NREC];
			lr++
		:: else -> break
		od;
		lseq++;
		STORE(LSEQ, lseq);
		STORE(LOW, low);
		STORE(LMSGS, msgs);
		lseq++;
		STORE(LSEQ, lseq)
	:: else
	fi
}

/* A record of the producer's, for moving low later. */
inline RECORD(size, msg) {
	rsz[nr % NREC] = size;
	rmsg[nr % NREC] = msg;
	nr++
}

proctype producer()
{
	byte q, head, at, sz, low, msgs, lseq, w, lr, nr;
	byte rsz[NREC], rmsg[NREC];

	do
	:: q == NMSG -> break
	:: else ->
		if
		:: sz = 1
		:: sz = 2
		fi;
		if
		:: head % N + sz > N -> at = head + N - head % N
		:: else -> at = head
		fi;
#ifndef LOW_AFTER_WRITE
		MOVE_LOW();
#endif
		STORE(WORD + (at + sz) % N, 0);
		STORE(HALF1 + at % N, q + 1);
		STORE(HALF2 + at % N, q + 1);
		if
		:: sz == 2 -> STORE(WORD + (at + 1) % N, PADW)    /* payload */
		:: else
		fi;
		STORE(WORD + at % N, q + 1 + (sz == 2 -> BIG : 0));
		if
		:: at != head ->
			STORE(WORD + head % N, PADW);
			RECORD(at - head, 0)
		:: else
		fi;
		RECORD(sz, 1);
#ifdef LOW_AFTER_WRITE
		MOVE_LOW();
#endif
		head = at + sz;
		q++;
		/* kick(): fence, look; only when set: clear, bump, wake all */
#ifndef NO_WAKE_FENCE
		FENCE();
#endif
		w = mem[DWAIT];
		if
		:: w ->
			atomic { FENCE() -> mem[DWAIT] = 0 };
			atomic { FENCE() -> mem[DSEQ]++ };
			asleep = 0
		:: else
		fi;
		w = 0; at = 0; sz = 0
	od
}

/* Data to look at: our word, or low past us (we were lapped). */
#ifdef WORD_ONLY_WAIT
#define READY (mem[WORD + pos % N] != 0)
#else
#define READY (mem[WORD + pos % N] != 0 || mem[LOW] > pos)
#endif

/* (low, low_msgs) under low_seq: re-read until even and unchanged */
inline READ_LOW() {
#ifdef NO_SEQLOCK
	l = mem[LOW];
	lm = mem[LMSGS]
#else
	do
	:: s = mem[LSEQ];
		if
		:: s % 2 == 0 ->
			l = mem[LOW];
			lm = mem[LMSGS];
			if
			:: mem[LSEQ] == s -> break
			:: else
			fi
		:: else
		fi
	od;
	s = 0
#endif
}

proctype consumer()
{
	byte pos, index, got, lost, wd, a, b, l, lm, s;

	do
	:: index == NMSG -> break
	:: else ->
		/* next_msg(): ready, else sleep_loop() */
		do
		:: READY -> break
		:: else ->
			s = mem[DSEQ];
			atomic { mem[DWAIT] = mem[DWAIT] | SLEEPER };
			if
			:: READY -> s = 0; break
			:: else
			fi;
			atomic {
				if
				:: mem[DSEQ] == s -> asleep = 1
				:: else
				fi
			};
			asleep == 0;
			s = 0
		od;
		/* the word, a copy of the payload, an acquire fence, low */
		wd = mem[WORD + pos % N];
		if
		:: wd == PADW ->
#ifndef FOLLOW_LAPPED_PAD
			READ_LOW();
			if
			:: l > pos -> goto lapped
			:: else
			fi;
#endif
			assert(pos % N != 0);
			pos = pos + N - pos % N;
			goto next
		:: else
		fi;
#ifdef LOW_BEFORE_COPY
		READ_LOW();
#endif
		if
		:: wd != 0 ->
			a = mem[HALF1 + pos % N];
			b = mem[HALF2 + pos % N]
		:: else
		fi;
#ifndef LOW_BEFORE_COPY
		READ_LOW();
#endif
		if
		:: l > pos ->
lapped:			/* lapped: what we copied may be torn; ENOBUFS */
			assert(lm >= index);
			lost = lost + lm - index;
			index = lm;
			pos = l
		:: else ->
			assert(wd % BIG == index + 1 && a == index + 1 && b == index + 1);
			got++;
			index++;
			pos = pos + (wd > BIG -> 2 : 1)
		fi;
next:
		wd = 0; a = 0; b = 0; l = 0; lm = 0
	od;
	assert(got + lost == NMSG);
	finished = 1
}

init
{
	atomic {
		run flusher();
		run producer();
		run consumer()
	}
}

ltl all_finish { <> finished }
