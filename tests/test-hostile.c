/* SPDX-License-Identifier: MIT */
/* A hostile peer: garbage in the channel header, the indices and the ring
 * must give errors (-EBADMSG, -EPROTONOSUPPORT, ...), never an access out
 * of bounds, a crash, or a wait past the deadline. Run under ASan+UBSan
 * too (SHMX_TEST_SCALE shortens the random rounds). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

#define P SHMX_CHAN_PRODUCER
#define C SHMX_CHAN_CONSUMER
#define CAP 4096u
#define OBJ (SHMX__CHAN_HDR_SIZE + CAP)

static struct shmx__chan_hdr good_header(void)
{
	struct shmx__chan_hdr h;

	memset(&h, 0, sizeof(h));
	h.magic = SHMX__CHAN_MAGIC;
	h.abi = SHMX__CHAN_ABI;
	h.header_size = SHMX__CHAN_HDR_SIZE;
	h.capacity = CAP;
	h.max_msg = shmx__chan_max_msg(CAP);
	h.producers = 1;
	h.consumers = 1;
	return h;
}

/* ---- the validation functions the fuzz targets also call ---- */

static void test_validate(void **state)
{
	struct shmx__chan_hdr h = good_header();
	struct shmx__chan_geom g;

	(void)state;
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
	assert_int_equal(g.capacity, CAP);
	assert_int_equal(g.mask, CAP - 1);
	assert_int_equal(g.max_msg, CAP / 2 - 8);
	assert_int_equal(shmx__chan_validate(&h, OBJ + 4096, &g), 0);
	assert_int_equal(shmx__chan_validate(&h, OBJ - 1, &g), -EBADMSG);
	assert_int_equal(shmx__chan_validate(&h, 100, &g), -EBADMSG);
#define BAD(field, value, err)                                                   \
	do {                                                                     \
		h = good_header();                                               \
		h.field = value;                                                 \
		assert_int_equal(shmx__chan_validate(&h, (uint64_t)1 << 40, &g), err); \
	} while (0)
	BAD(magic, 0, -EBADMSG);
	BAD(magic, SHMX__CHAN_MAGIC ^ 1, -EBADMSG);
	BAD(abi, 0, -EPROTONOSUPPORT);
	BAD(abi, 1, -EPROTONOSUPPORT);
	BAD(abi, UINT32_MAX, -EPROTONOSUPPORT);
	BAD(header_size, 0, -EBADMSG);
	BAD(header_size, 768, -EBADMSG);
	BAD(capacity, 0, -EBADMSG);
	BAD(capacity, CAP + 8, -EBADMSG);
	BAD(capacity, 32, -EBADMSG);
	BAD(capacity, (uint64_t)1 << 33, -EBADMSG);
	BAD(capacity, UINT64_MAX, -EBADMSG);
	BAD(capacity, (uint64_t)1 << 63, -EBADMSG);
	BAD(max_msg, CAP / 2, -EBADMSG);
	BAD(max_msg, UINT64_MAX, -EBADMSG);
	BAD(consumers, 0, -EBADMSG);
	BAD(consumers, 65, -EBADMSG);
	BAD(producers, 0, -EBADMSG);
	BAD(producers, 65, -EBADMSG);
	BAD(producers, 64, -EBADMSG);   /* the header would be bigger */
	BAD(policy, 2, -EBADMSG);
	BAD(policy, UINT32_MAX, -EBADMSG);
	BAD(flags, 1, -EBADMSG);
#undef BAD
}

static uint64_t word(uint32_t tag, uint32_t len)
{
	return (uint64_t)tag << 32 | len;
}

static void test_record(void **state)
{
	struct shmx__chan_hdr h = good_header();
	struct shmx__chan_geom g;
	uint64_t adv;
	int64_t len;

	(void)state;
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
	/* good ones */
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_MSG, 0), &adv, &len), 0);
	assert_int_equal(adv, 8);
	assert_int_equal(len, 0);
	assert_int_equal(shmx__chan_record(&g, CAP * 7 + 16, word(SHMX__CHAN_TAG_MSG, 9),
					   &adv, &len), 0);
	assert_int_equal(adv, 24);
	assert_int_equal(len, 9);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_MSG, (uint32_t)g.max_msg),
					   &adv, &len), 0);
	assert_int_equal(shmx__chan_record(&g, CAP - 16, word(SHMX__CHAN_TAG_PAD, 8), &adv,
					   &len), 0);
	assert_int_equal(adv, 16);
	assert_int_equal(len, -1);
	/* a record that would run past the ring's end */
	assert_int_equal(shmx__chan_record(&g, CAP - 16, word(SHMX__CHAN_TAG_MSG, 9), &adv,
					   &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, CAP - 8, word(SHMX__CHAN_TAG_MSG, 1), &adv,
					   &len), -EBADMSG);
	/* lengths above the maximum, huge ones */
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_MSG, (uint32_t)g.max_msg + 1),
					   &adv, &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_MSG, UINT32_MAX), &adv,
					   &len), -EBADMSG);
	/* padding that does not end at the ring's end, or covers it all */
	assert_int_equal(shmx__chan_record(&g, CAP - 16, word(SHMX__CHAN_TAG_PAD, 0), &adv,
					   &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, CAP - 16, word(SHMX__CHAN_TAG_PAD, UINT32_MAX),
					   &adv, &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_PAD, CAP - 8), &adv,
					   &len), -EBADMSG);
	/* unknown tags, misaligned positions */
	assert_int_equal(shmx__chan_record(&g, 0, word(0x12345678, 4), &adv, &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, 0, UINT64_MAX, &adv, &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, 4, word(SHMX__CHAN_TAG_MSG, 0), &adv, &len),
			 -EBADMSG);
}

/* ---- a corrupt header refuses open and stat ---- */

static void test_corrupt_header(void **state)
{
	const char *name = tu_name();
	struct shmx_chan_info info;
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *c = NULL;

	(void)state;
	assert_int_equal(shmx_chan_create(name, CAP, P, 0, &tx), 0);
	tx = shmx_chan_close(tx);
	{
		struct shmx_region *r;

		assert_int_equal(shmx_open(name, SHMX_MAP, &r), 0);
		h = shmx_addr(r);
#define CORRUPT(field, value, err)                                               \
		do {                                                             \
			struct shmx__chan_hdr saved = *h;                        \
			h->field = value;                                        \
			assert_int_equal(shmx_chan_open(name, C, 100, &c), err); \
			assert_int_equal(shmx_chan_stat(name, &info), err);      \
			*h = saved;                                              \
		} while (0)
		CORRUPT(magic, SHMX__CHAN_MAGIC + 1, -EBADMSG);
		CORRUPT(abi, 1, -EPROTONOSUPPORT);
		CORRUPT(header_size, 4095, -EBADMSG);
		CORRUPT(capacity, CAP * 2, -EBADMSG);
		CORRUPT(capacity, CAP - 1, -EBADMSG);
		CORRUPT(max_msg, CAP, -EBADMSG);
		/* indices that cannot be: head more than a ring past tail,
		 * tail past head, misaligned */
		CORRUPT(head, CAP + 8, -EBADMSG);
		CORRUPT(head, 3, -EBADMSG);
		CORRUPT(producers, 64, -EBADMSG);       /* header_size then wrong */
		CORRUPT(consumers, 0, -EBADMSG);
		CORRUPT(policy, 7, -EBADMSG);
#undef CORRUPT
#define CORRUPT_TAIL(value, err)                                                 \
		do {                                                             \
			uint64_t *tail = &shmx__chan_slots(h)[1].pos;            \
			*tail = value;                                           \
			assert_int_equal(shmx_chan_open(name, C, 100, &c), err); \
			assert_int_equal(shmx_chan_stat(name, &info), err);      \
			*tail = 0;                                               \
		} while (0)
		CORRUPT_TAIL(CAP * 3, -EBADMSG);
		CORRUPT_TAIL(4, -EBADMSG);
#undef CORRUPT_TAIL
		assert_null(c);
		/* and with the header back, it opens */
		assert_int_equal(shmx_chan_open(name, C, 100, &c), 0);
		c = shmx_chan_close(c);
		r = shmx_close(r);
	}
}

/* ---- garbage in the ring and the indices while attached ---- */

static struct shmx__chan_hdr *raw_header(const char *name, struct shmx_region **r)
{
	assert_int_equal(shmx_open(name, SHMX_MAP, r), 0);
	return shmx_addr(*r);
}

static void test_bad_records(void **state)
{
	static const uint64_t bad[] = {
		(uint64_t)SHMX__CHAN_TAG_MSG << 32 | 0xffffffffu,   /* huge length */
		(uint64_t)SHMX__CHAN_TAG_MSG << 32 | (CAP / 2 - 7), /* max + 1 */
		(uint64_t)SHMX__CHAN_TAG_PAD << 32 | 8,             /* pad not at end */
		UINT64_MAX, 0x0102030405060708ull,                  /* junk */
	};
	unsigned char buf[CAP], *ring;
	struct shmx_region *r;
	struct shmx_chan *tx, *rx;
	const void *q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *name = tu_name();

		assert_int_equal(shmx_chan_create(name, CAP, C, 0, &rx), 0);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
		assert_int_equal(shmx_chan_send(tx, "ok", 2, 0), 0);
		raw_header(name, &r);
		ring = (unsigned char *)shmx_addr(r) + SHMX__CHAN_HDR_SIZE;
		memcpy(ring + 16, &bad[i], 8); /* the next record's word */
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 2);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 100), -EBADMSG);
		/* sticky: the stream cannot be trusted any more */
		assert_int_equal(shmx_chan_peek(rx, &q, 0), -EBADMSG);
		assert_int_equal(shmx_chan_used(rx), -EBADMSG);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
}

static void test_bad_tail(void **state)
{
	static const uint64_t bad[] = { CAP * 5, 4, UINT64_MAX - 7 - 2 * CAP, 1ull << 63 };
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	struct shmx_chan *tx, *rx;
	char buf[64] = { 0 };
	size_t i;
	int err;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *name = tu_name();

		assert_int_equal(shmx_chan_create(name, CAP, P, 0, &tx), 0);
		assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
		h = raw_header(name, &r);
		__atomic_store_n(&shmx__chan_slots(h)[1].pos, bad[i], __ATOMIC_RELAXED);
		assert_int_equal(shmx_chan_used(tx), -EBADMSG);
		/* the producer reads the tail when the ring looks full */
		do
			err = shmx_chan_send(tx, buf, 60, 100);
		while (err == 0);
		assert_int_equal(err, -EBADMSG);
		assert_int_equal(shmx_chan_send(tx, buf, 1, 0), -EBADMSG);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
}

/* ---- a random scribbler while both sides run ---- */

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t adversarial(uint64_t *s, const struct shmx__chan_hdr *h)
{
	uint64_t v = rng(s), base = __atomic_load_n(&h->head, __ATOMIC_RELAXED);

	switch (v % 12) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return base + CAP;            /* a ring ahead */
	case 3: return base + CAP + 8;        /* more than a ring */
	case 4: return base - 8;              /* behind */
	case 5: return base + 3;              /* misaligned */
	case 6: return (uint64_t)1 << 63;
	case 7: return (uint64_t)SHMX__CHAN_TAG_MSG << 32 | (uint32_t)(v >> 32);
	case 8: return (uint64_t)SHMX__CHAN_TAG_PAD << 32 | (uint32_t)(v >> 40);
	case 9: return base + (v >> 52) * 8;
	default: return v;
	}
}

/* Scribble for ms milliseconds over the header's live part and the ring. */
static void scribble(const char *name, uint64_t seed, int ms)
{
	int64_t end = tu_now_ms() + ms;
	struct shmx__chan_hdr *h;
	struct shmx_region *r;
	unsigned char *base;
	uint64_t s = seed | 1, v, off;

	TU_CKEQ(shmx_open(name, SHMX_MAP, &r), 0);
	base = shmx_addr(r);
	h = (struct shmx__chan_hdr *)base;
	while (tu_now_ms() < end) {
		for (int i = 0; i < 64; i++) {
			v = adversarial(&s, h);
			if (rng(&s) % 2)
				off = (rng(&s) % (sizeof(*h) / 8)) * 8;
			else
				off = SHMX__CHAN_HDR_SIZE + (rng(&s) % (CAP / 8)) * 8;
			__atomic_store_n((uint64_t *)(void *)(base + off), v, __ATOMIC_RELAXED);
		}
		usleep(rng(&s) % 500);
	}
	_exit(0);
}

static bool allowed(long err)
{
	return err >= 0 || err == -EBADMSG || err == -ETIMEDOUT || err == -EPIPE ||
	       err == -EOWNERDEAD || err == -EAGAIN || err == -EMSGSIZE;
}

/* One side: operate until an error or n operations; every result must be
 * one of the allowed ones. */
static void side(const char *name, unsigned role, uint64_t seed, int n, int ev)
{
	unsigned char *buf = calloc(1, CAP);
	struct shmx_chan *c;
	uint64_t s = seed | 1;
	long err = 0;
	int i;

	TU_CK(buf);
	TU_CKEQ(shmx_chan_open(name, role, 2000, &c), 0);
	tu_ev_post(ev);
	for (i = 0; i < n && err >= 0; i++) {
		size_t len = rng(&s) % (shmx_chan_max_msg(c) + 1);
		const void *q;
		void *p;

		if (role == P && i % 2) {
			err = shmx_chan_send(c, buf, len, 50);
		} else if (role == P) {
			err = shmx_chan_reserve(c, len, &p, 50);
			if (!err) {
				memset(p, 0xab, len);
				err = shmx_chan_commit(c, len);
			}
		} else if (i % 2) {
			err = shmx_chan_recv(c, buf, CAP, 50);
		} else {
			err = shmx_chan_peek(c, &q, 50);
			/* the length is checked: reading all of it is in bounds */
			if (err > 0)
				memcpy(buf, q, (size_t)err);
			if (err >= 0)
				err = shmx_chan_release(c);
		}
		if (err == -ETIMEDOUT || err == -EAGAIN)
			err = 0;
		if (!allowed(err))
			TU_CKEQ(err, 0);        /* prints the error no side may see */
		(void)shmx_chan_used(c);
		(void)shmx_chan_pending(c);
	}
	shmx_chan_close(c);
	_exit(0);
}

static void test_scribbler(void **state)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	int rounds = s && atof(s) < 1 ? 5 : 20;

	(void)state;
	for (int round = 0; round < rounds; round++) {
		const char *name = tu_name();
		struct shmx_chan_info info;
		struct shmx_chan *owner;
		pid_t pids[3];
		int ev[2];

		/* A neutral creator owns the object; both roles attach, then
		 * the scribbler starts. */
		assert_int_equal(shmx_chan_create(name, CAP, C, 0, &owner), 0);
		owner = shmx_chan_close(owner);
		tu_ev_init(ev);
		for (int k = 0; k < 3; k++) {
			if (k == 2) {
				/* both sides attached */
				assert_true(tu_ev_wait(ev[0], 60000));
				assert_true(tu_ev_wait(ev[0], 60000));
			}
			pids[k] = tu_fork();
			if (pids[k] == 0 && k == 0)
				side(name, P, 0x1234567 + (uint64_t)round, 20000, ev[1]);
			if (pids[k] == 0 && k == 1)
				side(name, C, 0x7654321 + (uint64_t)round, 20000, ev[1]);
			if (pids[k] == 0)
				scribble(name, 0xabcdef + (uint64_t)round, 300);
		}
		close(ev[0]);
		close(ev[1]);
		for (int k = 0; k < 3; k++) {
			/* each call has a 50 ms deadline: no side may hang */
			assert_int_equal(tu_child_verdict(pids[k], 60000, NULL), 0);
		}
		/* stat decodes or refuses, never crashes */
		int err = shmx_chan_stat(name, &info);
		assert_true(err == 0 || err == -EBADMSG || err == -EPROTONOSUPPORT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_record),
		cmocka_unit_test_teardown(test_corrupt_header, tu_teardown),
		cmocka_unit_test_teardown(test_bad_records, tu_teardown),
		cmocka_unit_test_teardown(test_bad_tail, tu_teardown),
		cmocka_unit_test_teardown(test_scribbler, tu_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
