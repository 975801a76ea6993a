/* SPDX-License-Identifier: MIT */
/* The turn word (shmx(7), "The turn"): where the pair's one turn is, and
 * who holds it, in one 32-bit word of the control object that only a
 * compare-and-swap moves. The two semaphores are where a turn's token
 * sleeps: a token is a turn only if the word says the turn is in that
 * semaphore, so a foreign sem_post (or a token left over by a race) is
 * dropped, and a token that never came (its poster died between marking
 * the word and posting) is replaced by the word. No lock: nothing another
 * process holds can keep us waiting. The protocol is model-checked in
 * tests/spin/pair.pml.
 *
 * Memory order: the turn moves by acq_rel CAS (cas() in pair.h), so the
 * region as the last holder left it is visible to the next; a state word
 * has one writer (the holder of its role's liveness slot) and is stored
 * with release after the pid, read with acquire. sem_post and sem_wait
 * order as a release and an acquire (POSIX memory synchronisation): a
 * token taken shows the word its poster marked before posting. A poller's
 * armed flag is stored with release and taken by an acquire exchange
 * (shmx__pair_wake()); the wake-up itself rests on seq_cst fences. */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "pair.h"

int shmx__sem_try(sem_t *s)
{
	return sem_trywait(s) ? -errno : 0;
}

char shmx__pair_poll_role(int role)
{
	return role == W ? 'W' : 'R';
}

/* After a store the polling peer must see (a post, our attach or close):
 * fence, then look at its flag; it stores the flag, fences, and looks at
 * the semaphore and our state (pair_arm() in pair.c). The two seq_cst
 * fences make one of us see the other (Dekker), whatever the order of the
 * flag's own accesses; the flag's release store and our acquire exchange
 * are for what we read once we took it. */
void shmx__pair_wake(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	uint32_t *armed = &c->armed[!p->role];

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* The relaxed look only spares the exchange's write when nobody is
	 * armed (the fence above orders it). The exchange acquires what the
	 * poller wrote before its release store of the flag (pair_arm()):
	 * its nonce (shmx_pair_fd()), its pid and state (its attach), so
	 * the relaxed loads below see them. */
	if (!__atomic_load_n(armed, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(armed, 0, __ATOMIC_ACQUIRE))
		return;
	shmx__kick_poller_at(&p->kick, p->fd, shmx__pair_poll_role(!p->role),
			     ld(&c->state[!p->role]) >> GEN_SHIFT,
			     __atomic_load_n(&c->nonce[!p->role], __ATOMIC_RELAXED),
			     __atomic_load_n(&c->pid[!p->role], __ATOMIC_RELAXED));
}

int shmx__pair_attach(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);
	uint32_t t = ld(&c->turn);

	/* Held by our role: by an earlier attach that died holding (a close
	 * gives the turn back; we hold the role's slot now). One CAS, so only
	 * one token; and before our generation is stored, so that a held
	 * turn's generation is always its role's (word_ok()). */
	if (TURN_WHERE(t) == TURN_WHERE(hold_of(p->role, 0)) && cas(&c->turn, t, in_of(p->role)))
		sem_post(own_sem(p));
	p->gen = next_gen(ld(&c->state[p->role]));
	/* The pid first: a poller reads the state word, then the pid.
	 * Relaxed: the release store of the state word publishes it. */
	__atomic_store_n(&c->pid[p->role], (int32_t)getpid(), __ATOMIC_RELAXED);
	st(&c->state[p->role], p->gen << GEN_SHIFT | ATTACHED);
	shmx__pair_wake(p);
	return 0;
}

/* No wake-up here: the caller wakes the peer's poller once our slot is
 * free (shmx_pair_close()), so that a poller whose look found the slot
 * still held and our CLOSED already stored sees us at its second look
 * (pair_arm() in pair.c). */
void shmx__pair_leave(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);

	if (p->holding && cas(&c->turn, hold_of(p->role, p->gen), in_of(p->role)))
		sem_post(own_sem(p));
	p->holding = false;
	st(&c->state[p->role], p->gen << GEN_SHIFT | CLOSED);
}

/* A token the word does not account for. A peer of ours marks the word
 * before each post, so from it (attached, alive or dead) the token is
 * foreign. A plain sem_open program in the peer's role (never attached
 * here, or after ours closed) moves no word: its token is a turn if it
 * took the one we gave it, that is the word still says "in the peer's
 * semaphore" and that semaphore is empty. */
static bool classic_turn(const struct shmx_pair *p, uint32_t t)
{
	int v;

	if (ld(&ctl_of(p)->state[!p->role]) & ATTACHED)
		return false;
	if (t != in_of(!p->role))
		return false;
	return sem_getvalue(peer_sem(p), &v) == 0 && v <= 0;
}

/* Whether t is a word the protocol makes: "in W's (R's) semaphore", or
 * "held by W (R)" with the generation its role's state word says is
 * attached (attach reclaims a dead holder's turn before it stores a new
 * generation, a close gives the turn back before it stores CLOSED).
 * Anything else was written by someone with write access to the control
 * object: -EBADMSG (shmx(7), "The turn"). The turn is read again after the
 * state: a turn that moved meanwhile was a real one moving. */
static int word_ok(const struct ctl *c, uint32_t t)
{
	uint32_t where = TURN_WHERE(t), s;

	if (where == IN_W || where == IN_R)
		return t == where ? 0 : -EBADMSG;
	if (where != W_HOLD && where != R_HOLD)
		return -EBADMSG;
	s = ld(&c->state[where == W_HOLD ? W : R]);
	if ((s & ATTACHED) && s >> GEN_SHIFT == TURN_GEN(t))
		return 0;
	return ld(&c->turn) == t ? -EBADMSG : 0;
}

int shmx__pair_take(struct shmx_pair *p, bool token)
{
	struct ctl *c = ctl_of(p);
	uint32_t t = ld(&c->turn);
	int err;

	/* "In our semaphore" is changed by our role alone, so the CAS fails
	 * only for a classic turn whose peer attached meanwhile. */
	if ((t == in_of(p->role) || (token && classic_turn(p, t))) &&
	    cas(&c->turn, t, hold_of(p->role, p->gen))) {
		p->holding = true;
		return 0;
	}
	err = word_ok(c, t);
	return err ? err : -EAGAIN;
}

int shmx__pair_give(struct shmx_pair *p)
{
	struct ctl *c = ctl_of(p);

	/* Nobody else moves a turn we hold: a failure is a control object
	 * someone wrote over. */
	if (!cas(&c->turn, hold_of(p->role, p->gen), in_of(!p->role)))
		return -EBADMSG;
	p->holding = false;
	/* The word says where the turn is now; a token lost here (a post that
	 * fails) is replaced by the word at the peer's next slice. */
	sem_post(peer_sem(p));
	shmx__pair_wake(p);
	return 0;
}

/* 0 if the peer is alive or has never come, -EPIPE if it closed,
 * -EOWNERDEAD if it died. Attach sets ATTACHED after taking the slot and
 * close sets CLOSED before freeing it, so a free slot with ATTACHED can
 * only be a death, if the word was read around the lock test and did not
 * change: a word read only before it may be a closing peer's ATTACHED
 * (CLOSED came, then the slot was freed: not a death), one read only
 * after it a new peer's (it took the slot after we looked). A word that
 * keeps changing is a peer coming and going: alive, for this look. */
static int peer_gone(const struct shmx_pair *p)
{
	const uint32_t *word = &ctl_of(p)->state[!p->role];
	uint32_t s1, s2;
	int held;

	for (int tries = 0; tries < 4; tries++) {
		s1 = ld(word);
		held = shmx__slot_held(p->lk, peer_slot(p));
		if (held)
			return held < 0 ? held : 0;
		s2 = ld(word);
		if (s1 != s2)
			continue;
		if (s1 & CLOSED)
			return -EPIPE;
		return (s1 & ATTACHED) ? -EOWNERDEAD : 0;
	}
	return 0;
}

/* -EFAULT if the region or a file of the pair is shorter than it was
 * (fstat: nothing is touched, so no SIGBUS even without the guard). */
int shmx__pair_truncated(const struct shmx_pair *p)
{
	int err = shmx__truncated(p->fd, (uint64_t)p->size);

	if (!err && p->ctl)
		err = shmx__truncated(p->ctl->fd, sizeof(struct ctl));
	for (int i = 0; !err && i < 2 && p->sem[i]; i++)
		err = shmx__truncated(p->sem[i]->fd, sizeof(sem_t));
	return err;
}

int shmx__pair_check(struct shmx_pair *p)
{
	int err = shmx__pair_truncated(p);

	return err ? err : peer_gone(p);
}
