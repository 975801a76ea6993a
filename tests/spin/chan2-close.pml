/* SPDX-License-Identifier: MIT */
/* The pollable descriptor (shmx_chan_fd(3)) of a consumer while its
 * producers close or die. In the C code: leave() and wake_peer() in
 * src/channel.c (store "closed" in the slot's state word, free the
 * slot's liveness lock, fence, take the waiting word; if the poller's bit
 * was in it, take each armed slot's `armed` and write its descriptor), and
 * a try of shmx__chan_wait() in src/chan-wait.c (the peers' state words
 * as pre[], settle(): the peers' fates by their locks, then arm():
 * poll_service() clears the descriptor and drops pidfds that fired (a
 * tick then), the watch (shmx__chan_watch_one() with one producer slot,
 * shmx__chan_watch_each() with several, and shmx__poll_watch() /
 * shmx__poll_watch_at() in src/pollfd.c) reads the state words again,
 * watches the processes by pidfd and says whether a slice tick is needed,
 * `armed`, the waiting bit, the fence, a second look when a state word
 * differs from pre[] or pre[] says "closed"; a tick when the watch said
 * so; a try that says the peers are gone makes the descriptor readable
 * for good).
 *
 * Memory is sequentially consistent here: each side's stores that the
 * other must see are read-modify-writes or precede one (the state word's
 * OR, the waiting word's exchange and OR), and the fences of arm() and
 * wake_peer() order each side's store before its look at the other's
 * (on x86-TSO and with C11 seq_cst fences alike); locks, pidfds, timers
 * and eventfds are kernel state. The race is an interleaving.
 *
 * The channel holds nothing (ready() is false): a try ends with the
 * peers gone or nothing (EAGAIN). The producers (1 or 2 slots, chosen at
 * the start, so both watches are checked) are attached at the start;
 * each closes, its process living on (no pidfd fires), or dies (its lock
 * goes, then its pidfd fires), at any moment. No connection's end of
 * file is counted (a peer that never kicked has none, and a poller keeps
 * only the newest one). A slice tick (the timerfd) fires some time after
 * it is set; poll_service() consumes one that fired, or finds it not
 * fired yet.
 *
 * Checks (tests/spin/check.sh): safety, i.e. the assertions (a try says
 * the peers are gone only when no slot is held) and no invalid end state:
 * the poller waiting on a descriptor that nothing will make readable (no
 * eventfd write, no tick, no pidfd to fire) once every producer closed
 * or died, is a lost wake-up; ltl poller_done: under weak fairness the
 * poller's try says the peers are gone.
 * Mutations (the shortest counterexample, pan -i, in steps of the
 * model): NO_PRE, the second look compares the state words after the
 * fence with those the watch read just before arming, not with pre[]
 * (src/chan-wait.c before 00346d4; 81 steps, two producers: pre[] read
 * before either closed, the try's look finds the first one's slot held;
 * the second closes; the first stores "closed", which the watch reads,
 * frees its slot before the watch's lock test (no closing tick) and takes
 * the waiting word before our bit; after the fence its word is as the
 * watch read it: no second look, the poller sleeps for good);
 * NO_CLOSED_PRE_LOOK, the second look only when a state word differs from
 * pre[] (00346d4: 81 steps, two producers, the same with "closed" stored
 * before pre[] is read, so nothing differs; tests/test-poll-close.c
 * forces that order on the C code); NO_DEAD_WATCH, a producer found dead
 * by the watch (its lock gone since the try's look took it for alive) is
 * not watched (71 steps: both die between the look and the watch; no
 * pidfd, nothing fires).
 * Not a mutation: NO_CLOSING_TICK, a peer whose state word says "closed"
 * while its slot is held taken for alive, with no tick. The second look
 * for a pre[] that says "closed" covers it (a slot still held after the
 * fence is freed after our bit, and its holder's wake-up then finds the
 * bit): the model passes every check without the tick. With
 * NO_CLOSED_PRE_LOOK as well it fails (49 steps, one producer: "closed"
 * in pre[], its slot held at the look, no tick, its wake-up before our
 * bit): the tick is what kept one producer's close from being lost in
 * 00346d4. */

#define MAXP 2

#define ATT 1           /* state flags */
#define CLO 2

#define POLL 2          /* the poller's bit in the waiting word */

byte np;                /* producer slots: 1 or 2 */
byte state[MAXP];       /* each producer slot's state word */
bit held[MAXP];         /* its liveness lock */
byte waiting;           /* data_waiting */
bit armed;              /* the poller's slot's armed */
bit efd;                /* the descriptor's eventfd (or a pending connect) */
bit tick;               /* its timerfd, set and not consumed */
bit finished;           /* the poller's try said the peers are gone */
bit exited[MAXP];       /* a producer's process has exited (after its locks went) */
bit reg[MAXP];          /* the poller watches slot k's process (pid, gen) */
bit pidfd[MAXP];        /* ... with a pidfd in its set */
bit wgone[MAXP];        /* ... which it saw fire */

/* leave() then wake_peer(); or a death */
proctype producer(byte k)
{
	byte w;

	if
	:: true ->      /* dies attached: the kernel frees its lock, then its pidfd fires */
		held[k] = 0;
		exited[k] = 1;
		goto end
	:: true
	fi;
	state[k] = state[k] | CLO;
	held[k] = 0;
	atomic { w = waiting; waiting = 0 };
	if
	:: w & POLL ->
		/* shmx__chan_poll_kick(): the armed poller, once */
		atomic {
			if
			:: armed -> armed = 0; efd = 1
			:: else
			fi
		}
	:: else
	fi;
end:	skip
}

/* The peers' fates as producers_gone() (src/chan-peers.c) reads them:
 * any slot held keeps us waiting (r = 0); else each closed or dead (r =
 * 1: EPIPE or EOWNERDEAD). A free slot's word is read around the lock
 * test; nothing attaches here, so once the slot is free its word stays. */
inline settle()
{
	r = 1;
	j = 0;
	do
	:: j == np -> break
	:: else ->
		if
		:: held[j] -> r = 0; break
		:: else -> j++
		fi
	od;
	j = 0
}

/* shmx__chan_watch_one() / shmx__chan_watch_each(): the state words,
 * and whether the descriptor can do without a tick. */
inline watch()
{
	seen = 1;
	j = 0;
	do
	:: j == np -> break
	:: else -> states[j] = state[j]; j++
	od;
	j = 0;
	if
	:: np == 1 ->
		/* shmx__poll_watch(): the peer attached, by pid and gen */
		if
		:: reg[0] -> if :: wgone[0] -> tick = 1 :: else fi
		:: else ->
			reg[0] = 1;
			if
			:: exited[0] -> wgone[0] = 1; efd = 1
			:: else -> pidfd[0] = 1
			fi
		fi;
#ifndef NO_CLOSING_TICK
		if
		:: states[0] & CLO -> seen = 0
		:: else
		fi
#else
		skip
#endif
	:: else ->
		do
		:: j == np -> break
		:: else ->
			/* fate: 1 held, 2 closed, 3 dead */
			if
			:: held[j] -> f = 1
			:: else -> f = (state[j] & CLO -> 2 : 3)
			fi;
#ifndef NO_CLOSING_TICK
			if
			:: f == 1 && (states[j] & CLO) -> seen = 0
			:: else
			fi;
#endif
			if
#ifdef NO_DEAD_WATCH
			:: f == 1 ->
#else
			:: f == 1 || f == 3 && !reg[j] ->
#endif
				/* shmx__poll_watch_at() */
				if
				:: reg[j] -> if :: wgone[j] -> tick = 1 :: else fi
				:: else ->
					reg[j] = 1;
					if
					:: exited[j] -> wgone[j] = 1; efd = 1
					:: else -> pidfd[j] = 1
					fi
				fi
			:: f == 2 -> reg[j] = 0; pidfd[j] = 0; wgone[j] = 0
			:: else
			fi;
			f = 0;
			j++
		od;
		j = 0
	fi
}

proctype poller()
{
	byte pre[MAXP], states[MAXP], j, f;
	bit r, seen;

	do
	:: true ->
		/* the try: pre[], then settle() */
		j = 0;
		do
		:: j == np -> break
		:: else -> pre[j] = state[j]; j++
		od;
		j = 0;
		settle();
		if
		:: r -> break
		:: else
		fi;
		/* arm(): poll_service() clears the descriptor, drops a pidfd
		 * that fired and ticks (RECHECK_MS in src/pollfd.c) */
		if
		:: tick = 0     /* the tick fired: read */
		:: skip         /* not yet: it fires later */
		fi;
		efd = 0;
		atomic {
			if :: pidfd[0] && exited[0] -> pidfd[0] = 0; wgone[0] = 1; tick = 1 :: else fi;
			if :: pidfd[1] && exited[1] -> pidfd[1] = 0; wgone[1] = 1; tick = 1 :: else fi
		};
		watch();
		armed = 1;
		waiting = waiting | POLL;
		/* the fence; ready() is false; the second look */
		j = 0;
		do
		:: j == np -> break
		:: else ->
#ifdef NO_PRE
			if
			:: state[j] != states[j] -> settle(); break
			:: else -> j++
			fi
#elif defined(NO_CLOSED_PRE_LOOK)
			if
			:: state[j] != pre[j] -> settle(); break
			:: else -> j++
			fi
#else
			if
			:: (pre[j] & CLO) || state[j] != pre[j] -> settle(); break
			:: else -> j++
			fi
#endif
		od;
		j = 0;
		if
		:: r -> break
		:: !r && !seen -> tick = 1
		:: else
		fi;
		/* epoll_wait on the descriptor */
		efd || tick || pidfd[0] && exited[0] || pidfd[1] && exited[1];
		r = 0
	od;
	/* gone: readable for good (shmx__poll_signal()) */
	assert(!held[0] && !held[1]);
	efd = 1;
	finished = 1
}

init
{
	atomic {
		if
		:: np = 1
		:: np = 2
		fi;
		state[0] = ATT;
		state[1] = ATT;
		held[0] = 1;
		held[1] = np == 2;
		run producer(0);
		if
		:: np == 2 -> run producer(1)
		:: else
		fi;
		run poller()
	}
}

ltl poller_done { <> finished }
