/* SPDX-License-Identifier: MIT */
/* A hostile peer: garbage in the channel header, the slots, the indices
 * and the ring must give errors (-EBADMSG, -EPROTONOSUPPORT, ...) or
 * correct behaviour, never an access out of bounds, a crash, or a wait
 * past the deadline: every field, of one producer and one consumer and of
 * several (the reservation lock, reserved records, broadcast cursors, the
 * overwrite bounds, the sequence words, slot states). Run under ASan+UBSan
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
#define FAN_BUF 2048    /* holds any message of a CAP ring */

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
	BAD(flags, 4, -EBADMSG);        /* bits 0 (fences), 1 (a producer died) */
	BAD(flags, 7, -EBADMSG);
	BAD(flags, UINT32_MAX, -EBADMSG);
#undef BAD
	h = good_header();
	h.flags = 1;                    /* a party that cannot use membarrier */
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
	h.flags = 3;                    /* ... and a producer died */
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
	/* shapes: the header size follows the slots, overwrite takes one
	 * producer */
	h = good_header();
	h.producers = 3;
	h.consumers = 2;
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
	assert_int_equal(g.producers, 3);
	assert_int_equal(g.consumers, 2);
	h.producers = 24;
	assert_int_equal(shmx__chan_validate(&h, (uint64_t)1 << 40, &g), -EBADMSG);
	h.header_size = shmx__chan_hdr_size(24, 2);
	assert_int_equal(h.header_size, 8192);
	assert_int_equal(shmx__chan_validate(&h, 8192 + CAP, &g), 0);
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), -EBADMSG);
	h = good_header();
	h.policy = SHMX__CHAN_POLICY_OVERWRITE;
	h.consumers = 4;
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
	h.producers = 2;
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), -EBADMSG);
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
	/* reserved records: only with several producers, of a slot there is;
	 * the unused end of a short commit likewise */
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_BUSY | 1, 8), &adv,
					   &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_SKIP, 8), &adv, &len),
			 -EBADMSG);
	h.producers = 3;
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_BUSY | 2u << 24 | 7, 9),
					   &adv, &len), 0);
	assert_int_equal(adv, 24);
	assert_int_equal(len, -2);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_BUSY | 3u << 24, 9),
					   &adv, &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_BUSY | 0x7fu << 24, 9),
					   &adv, &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, CAP - 16, word(SHMX__CHAN_TAG_BUSY, 9), &adv,
					   &len), -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_SKIP, 16), &adv, &len), 0);
	assert_int_equal(adv, 24);
	assert_int_equal(len, -1);
	assert_int_equal(shmx__chan_record(&g, 0, word(SHMX__CHAN_TAG_SKIP, 12), &adv, &len),
			 -EBADMSG);
	assert_int_equal(shmx__chan_record(&g, CAP - 16, word(SHMX__CHAN_TAG_SKIP, 16), &adv,
					   &len), -EBADMSG);
	h.producers = 1;
	assert_int_equal(shmx__chan_validate(&h, OBJ, &g), 0);
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

/* ---- the fields of several producers and consumers ---- */

static struct shmx_chan *shaped(const char *name, unsigned producers, unsigned consumers,
				unsigned policy, unsigned role)
{
	struct shmx_chan_params p = { .capacity = CAP, .producers = producers,
				      .consumers = consumers, .policy = policy };
	struct shmx_chan *c;

	assert_int_equal(shmx_chan_create_params(name, &p, role, 0, &c), 0);
	return c;
}

static struct shmx__chan_slot *slot_of(struct shmx__chan_hdr *h, bool producer, unsigned s)
{
	return &shmx__chan_slots(h)[producer ? s : h->producers + s];
}

/* The call's result, which it gave within ms (else it hung on what it
 * found). */
static int64_t bounded_t0;

static long within(long r, int ms)
{
	assert_true(tu_now_ms() - bounded_t0 < ms);
	return r;
}
#define BOUNDED(call, ms) (bounded_t0 = tu_now_ms(), within((long)(call), (ms)))

/* The reservation lock: a holder that cannot be (slot out of range, no
 * slot), one that never attached or is an earlier attach of our own slot
 * (taken over), one alive (we wait to the deadline, no longer). */
static void test_lock_word(void **state)
{
	static const struct {
		uint32_t lock;
		int want;
	} cases[] = {
		{ 3 | 1u << 8, -EBADMSG },      /* slot 2 of 2 */
		{ 0xff | 0xffu << 8, -EBADMSG },
		{ 0xffffff00, -EBADMSG },       /* no slot at all */
		{ 2 | 5u << 8, 0 },             /* slot 1: never attached */
		{ 1 | 0u << 8, 0 },             /* slot 0, ours, generation 0 */
	};
	unsigned char buf[64];
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *rx, *live;
	struct shmx_region *r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = tu_name();

		rx = shaped(name, 2, 1, 0, C);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
		h = raw_header(name, &r);
		h->lock = cases[i].lock;
		assert_int_equal(BOUNDED(shmx_chan_send(tx, "x", 1, 1000), 3000), cases[i].want);
		if (!cases[i].want) {
			assert_int_equal(h->lock, 0);
			assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 1);
		} else {
			assert_int_equal(shmx_chan_send(tx, "x", 1, 0), cases[i].want);
		}
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
	/* held by a producer that lives (slot 1, its generation): wait, to
	 * the deadline */
	{
		const char *name = tu_name();

		rx = shaped(name, 2, 1, 0, C);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
		assert_int_equal(shmx_chan_open(name, P, 0, &live), 0);
		h = raw_header(name, &r);
		h->lock = 2 | 1u << 8;
		assert_int_equal(BOUNDED(shmx_chan_send(tx, "x", 1, 100), 2000), -ETIMEDOUT);
		assert_int_equal(shmx_chan_send(tx, "x", 1, 0), -EAGAIN);
		h->lock = 0;
		assert_int_equal(shmx_chan_send(tx, "x", 1, 0), 0);
		r = shmx_close(r);
		live = shmx_chan_close(live);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
}

/* A record word with the "reserved" tag where the consumer stands: of a
 * slot there is not, or in a channel with one producer: -EBADMSG. Of a
 * producer slot nobody ever held: skipped like a dead producer's. */
static void test_reserved_record_word(void **state)
{
	static const struct {
		unsigned producers;
		uint32_t tag;
		int want;
	} cases[] = {
		{ 2, SHMX__CHAN_TAG_BUSY | 5u << 24 | 1, -EBADMSG },
		{ 2, SHMX__CHAN_TAG_BUSY | 0x7fu << 24, -EBADMSG },
		{ 1, SHMX__CHAN_TAG_BUSY | 0u << 24 | 1, -EBADMSG },
		{ 2, SHMX__CHAN_TAG_BUSY | 1u << 24 | 9, 5 },   /* skipped */
	};
	unsigned char buf[64], *ring;
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *rx;
	struct shmx_region *r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = tu_name();

		rx = shaped(name, cases[i].producers, 1, 0, C);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
		assert_int_equal(shmx_chan_send(tx, "ok", 2, 0), 0);
		h = raw_header(name, &r);
		ring = (unsigned char *)h + h->header_size;
		/* a reserved record of 16 bytes at 16, head after it (one
		 * producer goes by its own position: nothing after it then) */
		memset(ring + 24, 0, 24);
		*(uint64_t *)(void *)(ring + 16) = word(cases[i].tag, 16);
		h->head = 40;
		h->sent = 2;
		if (cases[i].producers > 1)
			assert_int_equal(shmx_chan_send(tx, "after", 5, 0), 0);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 2);
		assert_int_equal(BOUNDED(shmx_chan_recv(rx, buf, sizeof(buf), 1000), 3000),
				 cases[i].want);
		if (cases[i].want > 0)
			assert_memory_equal(buf, "after", 5);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
}

/* A broadcast consumer's cursor turned to garbage: the producer, when it
 * looks at the cursors (a full ring), says -EBADMSG; so do stat and peers.
 * The same garbage in a slot nobody holds is nobody's cursor. */
static void test_broadcast_cursor(void **state)
{
	static const uint64_t bad[] = { CAP * 5, 4, UINT64_MAX - 7 - 2 * CAP, 1ull << 63 };
	struct shmx_chan_peer peers[3];
	struct shmx_chan_info info;
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *a, *b;
	struct shmx_region *r;
	char buf[64] = { 0 };
	int err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *name = tu_name();

		tx = shaped(name, 1, 2, 0, P);
		assert_int_equal(shmx_chan_open(name, C, 0, &a), 0);
		assert_int_equal(shmx_chan_open(name, C, 0, &b), 0);
		h = raw_header(name, &r);
		slot_of(h, false, 1)->pos = bad[i];
		do
			err = BOUNDED(shmx_chan_send(tx, buf, 60, 100), 2000);
		while (err == 0);
		assert_int_equal(err, -EBADMSG);
		assert_int_equal(shmx_chan_used(tx), -EBADMSG);
		assert_int_equal(shmx_chan_stat(name, &info), -EBADMSG);
		assert_int_equal(shmx_chan_peers(name, peers, 3), -EBADMSG);
		/* a (slot 0) is fine: its messages are intact */
		assert_int_equal(shmx_chan_recv(a, buf, sizeof(buf), 0), 60);
		b = shmx_chan_close(b);
		a = shmx_chan_close(a);
		tx = shmx_chan_close(tx);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
		for (int k = 0; k < 1000; k++)
			assert_int_equal(shmx_chan_send(tx, buf, 60, 0), 0);
		assert_int_equal(shmx_chan_peers(name, peers, 3), 3);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
	}
}

/* Overwriting: low and low_msgs, which the consumer reads when it was
 * overtaken, turned to garbage: -EBADMSG, never a position outside the
 * ring. low far ahead (as if a new producer had lapped it) but
 * inconsistent, misaligned, beyond head, with too many or too few
 * messages before it. */
static void test_overwrite_low(void **state)
{
	static const struct {
		int64_t low;            /* from head */
		int64_t msgs;           /* from the consumer's index */
	} cases[] = {
		{ -13, 1 },             /* misaligned */
		{ CAP, 1 },             /* ahead of head */
		{ 0, 1000 },            /* too many messages for the distance */
		{ 0, -1 },              /* fewer than it already passed */
	};
	unsigned char buf[FAN_BUF];
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *rx;
	struct shmx_region *r;
	const void *p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = tu_name();

		tx = shaped(name, 1, 1, SHMX__CHAN_POLICY_OVERWRITE, P);
		assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
		for (int k = 0; k < 10; k++)
			assert_int_equal(shmx_chan_send(tx, buf, 100, 0), 0);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 100);
		h = raw_header(name, &r);
		h->low = h->head + (uint64_t)cases[i].low;
		h->low_msgs = 1 + (uint64_t)cases[i].msgs;
		if (i % 2)
			assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EBADMSG);
		else
			assert_int_equal(shmx_chan_peek(rx, &p, 0) < 0 ? -EBADMSG
						      : shmx_chan_release(rx), -EBADMSG);
		assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), -EBADMSG);
		/* a producer that attaches reads them too */
		tx = shmx_chan_close(tx);
		if (cases[i].low != 0)
			assert_int_equal(shmx_chan_open(name, P, 0, &tx), -EBADMSG);
		r = shmx_close(r);
		rx = shmx_chan_close(rx);
	}
}

/* A consumer moved by a low that is plausible but lands inside a record:
 * whatever it then finds is an error or a message that lies in the ring,
 * never an access outside it. */
static void test_overwrite_low_inside_a_record(void **state)
{
	unsigned char buf[FAN_BUF], *lo, *hi;
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *rx;
	struct shmx_region *r;
	uint64_t base;
	const void *p;
	ssize_t n;

	(void)state;
	for (int skew = 8; skew < 256; skew += 8) {
		const char *name = tu_name();

		tx = shaped(name, 1, 1, SHMX__CHAN_POLICY_OVERWRITE, P);
		assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
		memset(buf, 0x4d, sizeof(buf));       /* payloads of tag bytes */
		for (int k = 0; k < 10; k++)
			assert_int_equal(shmx_chan_send(tx, buf, 200 + (size_t)k, 0), 0);
		h = raw_header(name, &r);
		base = h->low;
		h->low = base + (uint64_t)skew;
		h->low_msgs = 1;
		lo = (unsigned char *)shmx_addr(shmx_chan_region(rx)) + h->header_size;
		hi = lo + CAP;
		for (int k = 0; k < 20; k++) {
			n = shmx_chan_peek(rx, &p, 0);
			if (n >= 0) {
				assert_true((const unsigned char *)p >= lo &&
					    (const unsigned char *)p + n <= hi);
				n = shmx_chan_release(rx);
			}
			if (n < 0 && n != -ENOBUFS)
				break;
		}
		assert_true(n == -EBADMSG || n == -EAGAIN);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
}

/* head_seq and low_seq left odd (a writer died between the halves of an
 * update, or a peer wrote them): a reader takes the values as they are
 * after a bounded number of looks; a producer that attaches makes them
 * even again. */
static void test_sequence_words_stuck_odd(void **state)
{
	const char *name = tu_name(), *oname = tu_name();
	unsigned char buf[FAN_BUF] = { 0 };
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *rx;
	struct shmx_region *r;
	int64_t received = 0, lost;
	ssize_t n;

	(void)state;
	/* a broadcast consumer reads head under head_seq when it attaches */
	tx = shaped(name, 1, 2, 0, P);
	assert_int_equal(shmx_chan_send(tx, buf, 8, 0), 0);
	h = raw_header(name, &r);
	h->head_seq |= 1;
	assert_int_equal(BOUNDED(shmx_chan_open(name, C, 0, &rx), 2000), 0);
	assert_int_equal(shmx_chan_send(tx, "y", 1, 0), 0);
	assert_int_equal(shmx_chan_recv(rx, buf, sizeof(buf), 0), 1);
	rx = shmx_chan_close(rx);
	tx = shmx_chan_close(tx);
	assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
	assert_int_equal(h->head_seq % 2, 0);
	tx = shmx_chan_close(tx);
	r = shmx_close(r);

	/* an overtaken consumer reads low under low_seq */
	tx = shaped(oname, 1, 1, SHMX__CHAN_POLICY_OVERWRITE, P);
	assert_int_equal(shmx_chan_open(oname, C, 0, &rx), 0);
	h = raw_header(oname, &r);
	h->low_seq |= 1;
	h->head_seq |= 1;
	for (int k = 0; k < 1000; k++)
		assert_int_equal(shmx_chan_send(tx, buf, 50, 0), 0);
	while ((n = BOUNDED(shmx_chan_recv(rx, buf, sizeof(buf), 0), 2000)) != -EAGAIN) {
		assert_true(n == 50 || n == -ENOBUFS);
		received += n == 50;
	}
	lost = shmx_chan_lost(rx);
	assert_true(lost > 0);
	assert_int_equal(received + lost, 1000);
	r = shmx_close(r);
	tx = shmx_chan_close(tx);
	rx = shmx_chan_close(rx);
}

/* A queue's consumer continues its slot's counts: counts that cannot be
 * (more lost than passed, or past 2^63, which shmx_chan_lost() would
 * return as a negative number) are refused by open, as a bad cursor is. */
static void test_queue_consumer_counts(void **state)
{
	static const struct {
		uint64_t lost, index;
	} bad[] = {
		{ UINT64_MAX, UINT64_MAX },
		{ 1ull << 63, 1ull << 63 },
		{ 6, 5 },
	};
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *rx;
	struct shmx_region *r;
	ssize_t lost;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *name = tu_name();

		tx = shaped(name, 1, 1, SHMX__CHAN_POLICY_OVERWRITE, P);
		h = raw_header(name, &r);
		slot_of(h, false, 0)->lost = bad[i].lost;
		slot_of(h, false, 0)->index = bad[i].index;
		rx = NULL;
		assert_int_equal(shmx_chan_open(name, C, 0, &rx), -EBADMSG);
		assert_null(rx);
		slot_of(h, false, 0)->lost = 3;
		slot_of(h, false, 0)->index = 5;
		assert_int_equal(shmx_chan_open(name, C, 0, &rx), 0);
		lost = shmx_chan_lost(rx);
		assert_int_equal(lost, 3);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		rx = shmx_chan_close(rx);
	}
}

/* Every slot's state word turned to garbage while both sides are
 * attached: calls end with a result or an error within their deadline,
 * stat and peers decode or refuse. */
static void test_slot_states(void **state)
{
	static const uint32_t bad[] = { 0xffffffff, 0x7, 0x5, 0x6, 0xffffff00, 0x2, 0x4 };
	unsigned char buf[FAN_BUF] = { 0 };
	struct shmx_chan_peer peers[6];
	struct shmx_chan_info info;
	struct shmx__chan_hdr *h;
	struct shmx_chan *tx, *tx2, *rx, *rx2;
	struct shmx_region *r;
	long err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *name = tu_name();

		rx = shaped(name, 2, 2, 0, C);
		assert_int_equal(shmx_chan_open(name, C, 0, &rx2), 0);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx), 0);
		assert_int_equal(shmx_chan_open(name, P, 0, &tx2), 0);
		h = raw_header(name, &r);
		for (unsigned s = 0; s < 4; s++)
			shmx__chan_slots(h)[s].state = bad[i];
		for (int k = 0; k < 200; k++) {
			err = BOUNDED(shmx_chan_send(k % 2 ? tx : tx2, buf, 100, 50), 1000);
			assert_true(err == 0 || err == -ETIMEDOUT || err == -EBADMSG);
			err = BOUNDED(shmx_chan_recv(k % 3 ? rx : rx2, buf, sizeof(buf), 50), 1000);
			assert_true(err >= 0 || err == -ETIMEDOUT || err == -EBADMSG ||
				    err == -EPIPE || err == -EOWNERDEAD);
		}
		err = shmx_chan_stat(name, &info);
		assert_true(err == 0 || err == -EBADMSG);
		err = shmx_chan_peers(name, peers, 6);
		assert_true(err == 4 || err == -EBADMSG);
		r = shmx_close(r);
		tx = shmx_chan_close(tx);
		tx2 = shmx_chan_close(tx2);
		rx = shmx_chan_close(rx);
		rx2 = shmx_chan_close(rx2);
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

/* Scribble for ms milliseconds over the header (its slot blocks too) and
 * the ring. */
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
				off = (rng(&s) % (SHMX__CHAN_HDR_SIZE / 8)) * 8;
			else
				off = SHMX__CHAN_HDR_SIZE + (rng(&s) % (CAP / 8)) * 8;
			/* 32-bit words (lock, sequences, states) get 32-bit garbage */
			if (rng(&s) % 2)
				__atomic_store_n((uint32_t *)(void *)(base + off + (v & 4)),
						 (uint32_t)(v >> 7), __ATOMIC_RELAXED);
			else
				__atomic_store_n((uint64_t *)(void *)(base + off), v,
						 __ATOMIC_RELAXED);
		}
		usleep(rng(&s) % 500);
	}
	_exit(0);
}

static bool allowed(long err)
{
	return err >= 0 || err == -EBADMSG || err == -ETIMEDOUT || err == -EPIPE ||
	       err == -EOWNERDEAD || err == -EAGAIN || err == -EMSGSIZE || err == -ENOBUFS;
}

/* A message the consumer may read in place lies inside the ring. */
static void in_ring(struct shmx_chan *c, const void *q, ssize_t n)
{
	const unsigned char *lo = shmx_addr(shmx_chan_region(c));

	lo += SHMX__CHAN_HDR_SIZE;
	TU_CK((const unsigned char *)q >= lo && (const unsigned char *)q + n <= lo + CAP);
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
		size_t len = rng(&s) % (shmx_chan_max_msg(c) + 1), lens[8];
		const void *q;
		void *p;

		if (role == P && i % 2) {
			err = shmx_chan_send(c, buf, len, 50);
		} else if (role == P) {
			err = shmx_chan_reserve(c, len, &p, 50);
			if (!err) {
				memset(p, 0xab, len);
				err = shmx_chan_commit(c, len / (1 + i % 3));
			}
		} else if (i % 3 == 1) {
			err = shmx_chan_recv(c, buf, CAP, 50);
		} else if (i % 3 == 2) {
			err = shmx_chan_recv_batch(c, buf, CAP, lens, 8, 50);
		} else {
			err = shmx_chan_peek(c, &q, 50);
			/* the length is checked: reading all of it is in bounds */
			if (err > 0) {
				in_ring(c, q, err);
				memcpy(buf, q, (size_t)err);
			}
			if (err >= 0)
				err = shmx_chan_release(c);
		}
		if (err == -ETIMEDOUT || err == -EAGAIN || err == -ENOBUFS)
			err = 0;
		if (!allowed(err))
			TU_CKEQ(err, 0);        /* prints the error no side may see */
		(void)shmx_chan_used(c);
		(void)shmx_chan_pending(c);
		(void)shmx_chan_lost(c);
	}
	shmx_chan_close(c);
	_exit(0);
}

/* The channel shapes scribbled over, and the sides that run on each. */
static const struct {
	unsigned producers, consumers, policy;
	unsigned sides[3];
	int rounds;
} shapes[] = {
	{ 1, 1, SHMX__CHAN_POLICY_BLOCK, { P, C, 0 }, 20 },
	{ 1, 2, SHMX__CHAN_POLICY_BLOCK, { P, C, C }, 6 },
	{ 1, 2, SHMX__CHAN_POLICY_OVERWRITE, { P, C, C }, 6 },
	{ 3, 1, SHMX__CHAN_POLICY_BLOCK, { P, P, C }, 6 },
};

static void scribble_round(unsigned sh, int round)
{
	const char *name = tu_name();
	struct shmx_chan_info info;
	struct shmx_chan *owner;
	pid_t pids[4];
	int ev[2], n = 0, err;

	/* A neutral creator owns the object (and leaves its consumer slot);
	 * the sides attach, then the scribbler starts. */
	owner = shaped(name, shapes[sh].producers, shapes[sh].consumers, shapes[sh].policy, C);
	owner = shmx_chan_close(owner);
	tu_ev_init(ev);
	for (int k = 0; k < 3 && shapes[sh].sides[k]; k++) {
		pids[n] = tu_fork();
		if (pids[n] == 0)
			side(name, shapes[sh].sides[k], 0x1234567 * (k + 1) + (uint64_t)round,
			     20000, ev[1]);
		n++;
	}
	for (int k = 0; k < n; k++)
		assert_true(tu_ev_wait(ev[0], 60000));
	pids[n] = tu_fork();
	if (pids[n] == 0)
		scribble(name, 0xabcdef + (uint64_t)round, 300);
	n++;
	close(ev[0]);
	close(ev[1]);
	for (int k = 0; k < n; k++) {
		/* each call has a 50 ms deadline: no side may hang */
		assert_int_equal(tu_child_verdict(pids[k], 60000, NULL), 0);
	}
	/* stat and peers decode or refuse, never crash */
	err = shmx_chan_stat(name, &info);
	assert_true(err == 0 || err == -EBADMSG || err == -EPROTONOSUPPORT);
	{
		struct shmx_chan_peer peers[8];

		err = shmx_chan_peers(name, peers, 8);
		assert_true(err >= 0 || err == -EBADMSG || err == -EPROTONOSUPPORT);
	}
}

static void test_scribbler(void **state)
{
	const char *s = getenv("SHMX_TEST_SCALE");
	bool small = s && atof(s) < 1;

	(void)state;
	for (unsigned sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
		for (int round = 0; round < (small ? 3 : shapes[sh].rounds); round++)
			scribble_round(sh, round);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_record),
		cmocka_unit_test_teardown(test_corrupt_header, tu_teardown),
		cmocka_unit_test_teardown(test_bad_records, tu_teardown),
		cmocka_unit_test_teardown(test_bad_tail, tu_teardown),
		cmocka_unit_test_teardown(test_lock_word, tu_teardown),
		cmocka_unit_test_teardown(test_reserved_record_word, tu_teardown),
		cmocka_unit_test_teardown(test_broadcast_cursor, tu_teardown),
		cmocka_unit_test_teardown(test_overwrite_low, tu_teardown),
		cmocka_unit_test_teardown(test_overwrite_low_inside_a_record, tu_teardown),
		cmocka_unit_test_teardown(test_sequence_words_stuck_odd, tu_teardown),
		cmocka_unit_test_teardown(test_queue_consumer_counts, tu_teardown),
		cmocka_unit_test_teardown(test_slot_states, tu_teardown),
		cmocka_unit_test_teardown(test_scribbler, tu_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SHMX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SHMX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
