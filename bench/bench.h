/* SPDX-License-Identifier: MIT */
/*
 * What the benchmark's harness (shmx-bench.c) and its measurements share.
 * Each measurement file defines items: templates of callbacks that the
 * harness copies into its groups, giving each copy its key, label, size.
 * The Boost peer is C++, so this header is also read as C++.
 */
#ifndef SHMX_BENCH_H
#define SHMX_BENCH_H

#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KiB ((size_t)1024)
#define MiB (KiB * KiB)
#define IO_TIMEOUT_MS 5000      /* any library wait in a window */
#define WATCHDOG_S 10           /* a window that takes this long is broken */

/* K_FAN: several processes a window (fanout.c), which runs them itself */
enum kind { K_RT, K_TPUT, K_LOCAL, K_FAN };

/* One window of one item: the objects it set up and its counts. */
struct win {
	const struct item *it;
	long warm, iters, samples;
	char name[2][96];
	int fd[4];
	sem_t *sem[2];
	unsigned long seq;              /* this side's position in a ping-pong */
	uint64_t sum;                   /* consumer: checksum of what it read */
	struct shmx_region *reg;
	struct shmx_chan *ch[2];
	struct shmx_pair *pair;
	unsigned char *buf;             /* private message buffer */
	unsigned char *src;
	struct ring *ring;              /* plain spin ring reference */
	size_t ring_len;
	void *peer;                     /* a peer library's own state */
	pid_t child;
	long subs, preempted;
	struct fan_use *use;            /* K_FAN: what the workers spent */
};

/* What the workers of K_FAN windows spent, summed over windows: CPU time
 * of the producers and of the consumers, voluntary (sleeps) and
 * involuntary (preempted) context switches, and the messages each
 * consumer got, from attach to exit. */
struct fan_use {
	double prod_ns, cons_ns, vcsw, ivcsw, msgs;
};

struct item {
	const char *key;        /* short id used by ratios and --filter */
	const char *label;
	const char *series;     /* the curve this item is a point of, or NULL */
	enum kind kind;
	size_t size;            /* message / copy size */
	unsigned flags;         /* channel wait strategy */
	size_t ring;            /* channel capacity; 0: the default */
	unsigned producers;     /* K_FAN: producer processes (0 means 1) */
	unsigned consumers;     /* K_FAN: consumer processes */
	unsigned slots;         /* K_FAN: consumer slots of the one channel; 0: a
				 * channel of one slot for each consumer */
	int (*setup)(struct win *w);            /* parent, before fork */
	int (*attach)(struct win *w);           /* child, its own handles */
	int (*start)(struct win *w);            /* parent, after child is ready */
	int (*parent)(struct win *w, long n);   /* round trips / sends / local ops */
	int (*child)(struct win *w, long n);    /* echoes / receives */
	void (*detach)(struct win *w);          /* child, before it exits */
	/* parent, after a stream window: does the consumer's checksum of
	 * everything it read match what the producer wrote? */
	int (*verify)(struct win *w, uint64_t child_sum);
	void (*teardown)(struct win *w);        /* parent, after the child exited */
};

struct opts {
	int windows;
	double window_ms;
	const char *filter;
	const char *md;
	const char *csv;
	size_t ring;            /* stream channel capacity, at least 4 messages */
	double budget_s;        /* cut windows short past this; 0: never */
	bool quick;
};

extern struct opts opt;
extern volatile sig_atomic_t g_abort;
extern int g_cpu[2];            /* parent's and child's CPUs; -1: not pinned */

/* harness services for the measurements */
int pin(int cpu);
void new_name(char *out, size_t size, const char *suffix);
int alloc_bufs(struct win *w);
void free_bufs(struct win *w);
int write_full(int fd, const void *buf, size_t len);
int read_full(int fd, void *buf, size_t len);
size_t stream_ring_bytes(const struct item *it);
uint64_t sum_bytes(const void *p, size_t len);
uint64_t fill_sum(size_t len, unsigned long first, unsigned long count);

/* Keep the compiler from dropping copies nobody reads. */
static inline void clobber(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* rt.c: round trips of 8 bytes through kernel primitives, and the floor */
extern const struct item item_spin, item_futex, item_sem;
extern const struct item item_pipe_rt, item_sock_rt, item_efd_rt;
int pipe_setup(struct win *w);
int sock_setup(struct win *w);
void fd_teardown(struct win *w);

/* stream.c: one-way streams that are not libshmx, and memcpy */
extern const struct item item_sock_stream, item_pipe_stream, item_plain_ring;
extern const struct item item_memcpy, item_memcpy_big;

/* region.c: region create + destroy, libshmx and by hand */
extern const struct item item_region_shmx, item_region_raw, item_region_raw_map;

/* shmx-items.c: the libshmx channel and pair */
extern const struct item item_chan_rt, item_chan_copy, item_chan_zc, item_chan_batch;
extern const struct item item_pair;
extern const struct item item_chan_poll_rt;

/* fanout.c: one producer to several consumers, several producers to one */
extern const struct item item_fan;
int fan_window(struct win *w, double ms, double *ns);

/* peer-boost.cc, peer-zmq.c: built when their libraries are installed */
#ifdef SHMX_BENCH_BOOST
extern const struct item item_mq_rt, item_mq_stream;
#endif
#ifdef SHMX_BENCH_ZMQ
extern const struct item item_zmq_rt, item_zmq_stream;
#endif

#ifdef __cplusplus
}
#endif

#endif
