/* SPDX-License-Identifier: MIT */
/* The pollable descriptor (shmx_chan_fd(3)) of a consumer while its
 * producers close. In the C code: leave() and wake_peer() in
 * src/channel.c (store "closed" in the slot's state word, free the
 * slot's liveness lock, fence, take the waiting word; if the poller's bit
 * was in it, take each armed slot's `armed` and write its descriptor), and
 * a try of shmx__chan_wait() in src/chan-wait.c (the peers' state words
 * as pre[], settle(): the peers' fates by their locks, then arm():
 * poll_service() clears the descriptor, the watch (shmx__chan_watch_one()
 * with one producer slot, shmx__chan_watch_each() with several) reads the
 * state words again and says whether a slice tick is needed, `armed`,
 * the waiting bit, the fence, a second look when a state word differs
 * from pre[] or pre[] says "closed"; a tick when the watch said so; a
 * try that says the peers are gone makes the descriptor readable for
 * good).
 *
 * Memory is sequentially consistent here: each side's stores that the
 * other must see are read-modify-writes or precede one (the state word's
 * OR, the waiting word's exchange and OR), and the fences of arm() and
 * wake_peer() order each side's store before its look at the other's
 * (on x86-TSO and with C11 seq_cst fences alike); the liveness lock is
 * kernel state. The race is an interleaving.
 *
 * The channel holds nothing (ready() is false): a try ends with the
 * peers gone or nothing (EAGAIN). The producers (NP slots: 1 or 2,
 * chosen at the start, so both watches are checked) are attached at the
 * start and close at any moment; their processes live on, so no pidfd
 * fires, and no connection's end of file is counted (a peer that never
 * kicked has none, and a poller keeps only the newest one). A slice
 * tick (the timerfd) fires some time after it is set; poll_service()
 * consumes one that fired, or finds it not fired yet.
 *
 * Checks (tests/spin/check.sh): safety, i.e. the assertions (a try says
 * the peers are gone only when each closed) and no invalid end state: the
 * poller waiting on a descriptor that nothing will make readable (no
 * eventfd write, no tick) once every producer closed, is a lost wake-up;
 * ltl poller_done: under weak fairness the poller's try says the peers
 * are gone.
 * Mutations (the shortest counterexample, SPIN -i, in steps of the
 * model): NO_PRE, the second look compares the state words after the
 * fence with those the watch read just before arming (the code before
 * 00346d4), not with pre[] (62 steps, two producers: pre[] read before
 * either closed, the try's look finds the first one's slot held; the
 * second closes; the first stores "closed", which the watch reads, frees
 * its slot before the watch's lock test (no closing tick) and takes the
 * waiting word before our bit; after the fence its word is as the watch
 * read it: no second look, the poller sleeps for good); NO_CLOSED_PRE_LOOK,
 * the second look only when a state word differs from pre[] (the code of
 * 00346d4: 62 steps, two producers, the same but with "closed" stored
 * before pre[] is read, so nothing differs).
 * Not a mutation: NO_CLOSING_TICK, a peer whose state word says "closed"
 * while its slot is held taken for alive, with no tick. The second look
 * for a pre[] that says "closed" covers it (a slot still held after the
 * fence is freed after our bit, and its holder's wake-up then finds the
 * bit): the model passes every check with it. With NO_CLOSED_PRE_LOOK
 * as well it fails (40 steps, one producer: its "closed" in pre[], its
 * slot held at the look, no tick, its wake-up before our bit): the tick
 * is what kept one producer's close from being lost in 00346d4. */

#define MAXP 2

#define ATT 1           /* state flags */
#define CLO 2

#define POLL 2          /* the poller's bit in the waiting word */

byte np;                /* producer slots: 1 or 2 */
byte state[MAXP];       /* each producer slot's state word */
bit held[MAXP];         /* its liveness lock */
byte closers;           /* producers whose close has ended */
byte waiting;           /* data_waiting */
bit armed;              /* the poller's slot's armed */
bit efd;                /* the descriptor's eventfd (or a pending connect) */
bit tick;               /* its timerfd, set and not consumed */
bit finished;           /* the poller's try said the peers are gone */

/* leave() then wake_peer() */
proctype producer(byte k)
{
	byte w;

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
	closers++
}

/* The peers' fates as producers_gone() (src/chan-peers.c) reads them:
 * any slot held keeps us waiting (r = 0); else all closed (r = 1, EPIPE).
 * A free slot's word is read around the lock test; nothing attaches
 * here, so once the slot is free its word is "closed" for good. */
inline settle()
{
	r = 1;
	j = 0;
	do
	:: j == np -> break
	:: else ->
		if
		:: held[j] -> r = 0; break
		:: else -> assert(state[j] & CLO); j++
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
#ifndef NO_CLOSING_TICK
			if
			:: held[j] && (states[j] & CLO) -> seen = 0
			:: else
			fi;
#endif
			j++
		od;
		j = 0
	fi
}

proctype poller()
{
	byte pre[MAXP], states[MAXP], j;
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
		/* arm(): poll_service() clears the descriptor */
		if
		:: tick = 0     /* the tick fired: read */
		:: skip         /* not yet: it fires later */
		fi;
		efd = 0;
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
		efd || tick;
		r = 0
	od;
	/* gone: readable for good (shmx__poll_signal()) */
	assert(closers == np || (state[0] & CLO) && (np == 1 || (state[1] & CLO)));
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
