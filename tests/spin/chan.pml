/* SPDX-License-Identifier: MIT */
/* The channel's sleep/wake pairing (src/chan-wait.c: sleep_loop(),
 * shmx__chan_wait(); src/chan.h: kick(); src/chan-ring.h: put_record(),
 * show_tail(); src/chan-spsc.c: spsc_publish(); src/chan-send.c:
 * shmx__chan_space_ready()) on a machine with store buffers: x86-TSO.
 * Promela is sequentially consistent by itself, so every plain store of
 * the producer and the consumer goes into its own FIFO store buffer,
 * which a flusher process drains into memory one entry at a time,
 * whenever it likes. A load sees the newest entry of its own buffer
 * for that location, else memory. A full fence waits for the own buffer
 * to drain; a read-modify-write (exchange, fetch_add) drains it and acts
 * on memory atomically, as a locked instruction does.
 *
 * A ring of one message. The producer sends two: the second waits for the
 * space the consumer frees. The consumer receives one or two (chosen
 * nondeterministically), then stops calling, as an application may: a
 * producer asleep for space must be woken by the recv that freed it. Both
 * wait in SHMX_CHAN_BLOCK mode, and the futex wait has no timeout here: the
 * 15 ms slice that would paper over a lost wake-up is left out, so a lost
 * wake-up is a process blocked for good, an invalid end state.
 *
 * Checks (tests/spin/check.sh): safety (no invalid end state, assertions),
 * and the ltl claims below under weak fairness.
 * MISSING_FENCE puts back the consumer of before: after its tail store it
 * loaded space_wanted with no fence in between, and fenced and looked at
 * space_waiting only when it saw space_wanted set (or once a quarter ring,
 * which a consumer that takes one message never reaches; not modelled),
 * and kicked the producer before waiting for data itself.
 *
 * The producer sends its messages one call each, or (chosen
 * nondeterministically) as one batch (shmx_chan_send_batch()): a batch
 * stores its records and kicks once, after the last; when it must wait for
 * space, wait_for_space() publishes and kicks first, since the consumer may
 * be asleep waiting for the records it stored. NO_PUBLISH_BEFORE_WAIT
 * leaves that kick out: the consumer sleeps for data, the producer for
 * space, for good.
 *
 * Either side may also wait as a poller does (shmx_chan_fd(): arm() in
 * src/chan-wait.c): a try finds nothing, clears its eventfd, stores
 * "armed" (WAIT_POLL) in its waiting word, fences, looks again, and only
 * then blocks in epoll until its eventfd is written. A kick that finds
 * WAIT_POLL writes the eventfd. Each wait picks sleeping or polling
 * nondeterministically, so every mix is checked. The eventfd is kernel
 * state: clearing it (read) and writing it are system calls, which take
 * kernel locks and so drain the caller's store buffer. Waiting in epoll is
 * a block with no timeout: a lost wake-up is again an invalid end state.
 * MISSING_ARM_FENCE drops the poller's fence; CLEAR_AFTER_ARM clears the
 * eventfd after arming (a wake-up in between is lost).
 *
 * The barrier is asymmetric (kick() in src/chan.h, sleeper_barrier() in
 * src/chan-wait.c): the running side (KICK) has no fence, only the
 * compiler's barrier; the side about to sleep or poll, after storing its
 * flag, calls membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), modelled as
 * its own fence and then a full barrier on the other CPU: the other's
 * store buffer drained at one instant during the call. A party that cannot
 * use membarrier (able[] chosen nondeterministically) sets the header's
 * fences bit when it attaches, before it takes part; with the bit set every
 * side fences as before, runner and sleeper. NO_MEMBARRIER: the sleeper
 * fences only itself; IGNORE_FENCES_BIT: the running side fences only when
 * its own process cannot use membarrier, not for the bit (a peer that
 * sleeps with a fence only is missed). */

#define P 0             /* process numbers: the producer, the consumer */
#define C 1

#define NMSG 2          /* messages the producer sends */
#define CAP  1          /* messages the ring holds */
#define BUF  4          /* store buffer entries */

/* shared locations: the header words of src/internal.h */
#define TAIL  0         /* tail: messages released (consumer) */
#define WORD  1         /* record word and head: messages published (producer) */
#define DSEQ  2         /* data_seq */
#define DWAIT 3         /* data_waiting */
#define SSEQ  4         /* space_seq */
#define SWAIT 5         /* space_waiting */
#define SWANT 6         /* space_wanted */
#define FLAGS 7         /* the header's flags: the fences bit */
#define NLOC  8

typedef sbuf {
	byte loc[BUF];
	byte val[BUF];
	byte n
};

byte mem[NLOC];
sbuf sb[2];
bit asleep[2];          /* in FUTEX_WAIT, not woken yet */
bit polling[2];         /* in epoll_wait on the eventfd, not woken yet */
bit efd[2];             /* the poller's eventfd: written, not read yet */
bit able[2];            /* the party can use membarrier */

#define SLEEPER 1       /* waiting word values: WAIT_SLEEP, WAIT_POLL */
#define POLLER  2
bit pdone, cdone;

/* plain store: into the own buffer */
inline STORE(p, l, v) {
	atomic {
		assert(sb[p].n < BUF);
		sb[p].loc[sb[p].n] = l;
		sb[p].val[sb[p].n] = v;
		sb[p].n++
	}
}

/* plain load: the newest own buffered store to l, else memory */
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

/* full fence (__atomic_thread_fence(__ATOMIC_SEQ_CST)): drained */
inline FENCE(p) {
	sb[p].n == 0
}

inline XCHG(p, l, v, r) {
	atomic { sb[p].n == 0 -> r = mem[l]; mem[l] = v }
}

inline FETCH_ADD(p, l) {
	atomic { sb[p].n == 0 -> mem[l]++ }
}

/* FUTEX_WAIT: the kernel compares and queues atomically (hash bucket
 * lock); no timeout. FUTEX_WAKE: the one process that can sleep on that
 * word. */
inline FUTEX_WAIT(p, l, s) {
	atomic {
		if
		:: mem[l] == s -> asleep[p] = 1
		:: else
		fi
	};
	asleep[p] == 0
}

inline FUTEX_WAKE(q) {
	asleep[q] = 0
}

/* write(2) to q's eventfd: q's epoll_wait returns */
inline EFD_WRITE(p, q) {
	atomic { sb[p].n == 0 -> efd[q] = 1; polling[q] = 0 }
}

/* read(2) of our own eventfd: cleared */
inline EFD_CLEAR(p) {
	atomic { sb[p].n == 0 -> efd[p] = 0 }
}

/* The other CPU runs a full barrier at one instant of the call: its
 * store buffer is drained then (our own fence first: the call is one). */
inline MEMBARRIER(p) {
	FENCE(p);
	sb[1 - p].n == 0
}

/* kick()'s first step: a full fence only with the fences bit (or in a
 * process that cannot use membarrier), else none. */
inline RUNNER_BARRIER(p) {
	LOAD(p, FLAGS, f);
#ifdef IGNORE_FENCES_BIT
	f = 0;
#endif
	if
	:: f || !able[p] -> FENCE(p)
	:: else
	fi;
	f = 0
}

/* sleeper_barrier(): membarrier, or a full fence with the fences bit. */
inline SLEEPER_BARRIER(p) {
	LOAD(p, FLAGS, f);
	if
	:: f || !able[p] -> FENCE(p)
	:: else ->
#ifdef NO_MEMBARRIER
		FENCE(p)
#else
		MEMBARRIER(p)
#endif
	fi;
	f = 0
}

/* kick(): the runner's barrier, look at the waiter's flag; kick_slow(): clear it; for a
 * sleeper bump the sequence word and wake, for a poller write its
 * eventfd. */
inline KICK(p, waitloc, seqloc, q) {
	RUNNER_BARRIER(p);
	LOAD(p, waitloc, w);
	if
	:: w ->
		XCHG(p, waitloc, 0, w);
		if
		:: w == SLEEPER -> FETCH_ADD(p, seqloc); FUTEX_WAKE(q)
		:: w == POLLER -> EFD_WRITE(p, q)
		:: else
		fi
	:: else
	fi
}

/* sleep_loop() until ready (a condition on v, loaded from lookloc):
 * settle (a fresh look), read the sequence word, say "asleep", fence, look
 * again, sleep; woken: look again. */
inline SLEEP_UNTIL(p, seqloc, waitloc, lookloc, v, ready) {
	do
	:: LOAD(p, lookloc, v);
		if
		:: ready -> break
		:: else
		fi;
		LOAD(p, seqloc, s);
		STORE(p, waitloc, SLEEPER);
		SLEEPER_BARRIER(p);
		LOAD(p, lookloc, v);
		if
		:: ready -> break
		:: else
		fi;
		FUTEX_WAIT(p, seqloc, s);
		LOAD(p, lookloc, v);
		if
		:: ready -> break
		:: else
		fi
	od;
	LOAD(p, waitloc, w);
	if
	:: w -> STORE(p, waitloc, 0)
	:: else
	fi
}

/* A poller until ready: each try that finds nothing arms (clear the
 * eventfd, "armed", fence, look again) and waits in epoll. */
inline POLL_UNTIL(p, waitloc, lookloc, v, ready) {
	do
	:: LOAD(p, lookloc, v);
		if
		:: ready -> break
		:: else
		fi;
#ifndef CLEAR_AFTER_ARM
		EFD_CLEAR(p);
#endif
		STORE(p, waitloc, POLLER);
#ifndef MISSING_ARM_FENCE
		SLEEPER_BARRIER(p);
#endif
#ifdef CLEAR_AFTER_ARM
		EFD_CLEAR(p);
#endif
		LOAD(p, lookloc, v);
		if
		:: ready -> break
		:: else
		fi;
		atomic {
			if
			:: efd[p] == 0 -> polling[p] = 1
			:: else
			fi
		};
		polling[p] == 0
	od
}

/* Wait as a sleeper or as a poller: both are checked. */
inline WAIT_UNTIL(p, seqloc, waitloc, lookloc, v, ready) {
	if
	:: SLEEP_UNTIL(p, seqloc, waitloc, lookloc, v, ready)
	:: POLL_UNTIL(p, waitloc, lookloc, v, ready)
	fi
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
		k = 0
	}
	od
}

proctype producer()
{
	byte pos, peer, t, s, w, i;
	bit batch, f;

	if
	:: batch = 1
	:: batch = 0
	fi;
	do
	:: pos == NMSG -> break
	:: else ->
		/* reserve_space(): the cached tail first, then a fresh one */
		if
		:: pos - peer >= CAP ->
			LOAD(P, TAIL, t);
			peer = t;
			if
			:: pos - peer >= CAP ->
#ifndef NO_PUBLISH_BEFORE_WAIT
				/* wait_for_space(): publish, kick */
				KICK(P, DWAIT, DSEQ, C);
#endif
				STORE(P, SWANT, 1);
				WAIT_UNTIL(P, SSEQ, SWAIT, TAIL, t, (pos - t < CAP));
				peer = t;
				STORE(P, SWANT, 0)
			:: else
			fi
		:: else
		fi;
		/* put_record(): the record word; publish(): head, kick(),
		 * after every message, or after a batch's last */
		pos++;
		STORE(P, WORD, pos);
		if
		:: !batch || pos == NMSG -> KICK(P, DWAIT, DSEQ, C)
		:: else
		fi
	od;
	pdone = 1
}

proctype consumer()
{
	byte pos, n, wd, s, w, i;
	bit f;
#ifdef MISSING_FENCE
	byte kicked, want;
#endif

	if
	:: n = 1
	:: n = NMSG
	fi;
	do
	:: pos == n -> break
	:: else ->
		/* next_msg(): the word at our position, else wait */
		LOAD(C, WORD, wd);
		if
		:: wd <= pos ->
#ifdef MISSING_FENCE
			if
			:: kicked != pos -> kicked = pos; KICK(C, SWAIT, SSEQ, P)
			:: else
			fi;
#endif
			WAIT_UNTIL(C, DSEQ, DWAIT, WORD, wd, (wd > pos))
		:: else
		fi;
		assert(wd == pos + 1);
		/* consume(): the tail, then wake a producer asleep for space */
		pos++;
		STORE(C, TAIL, pos);
#ifdef MISSING_FENCE
		LOAD(C, SWANT, want);
		if
		:: want -> kicked = pos; KICK(C, SWAIT, SSEQ, P)
		:: else
		fi
#else
		KICK(C, SWAIT, SSEQ, P)
#endif
	od;
	cdone = 1
}

init
{
	/* each party can use membarrier, or sets the fences bit at attach */
	if
	:: able[P] = 1
	:: able[P] = 0
	fi;
	if
	:: able[C] = 1
	:: able[C] = 0
	fi;
	mem[FLAGS] = !able[P] || !able[C];
	atomic {
		run flusher(P);
		run flusher(C);
		run producer();
		run consumer()
	}
}

/* Every sleep ends, and both sides finish. */
#define psleeps (asleep[P] == 1 || polling[P] == 1)
#define csleeps (asleep[C] == 1 || polling[C] == 1)
ltl sleeps_end { [] ((psleeps -> <> !psleeps) && (csleeps -> <> !csleeps)) }
ltl both_finish { <> (pdone && cdone) }
