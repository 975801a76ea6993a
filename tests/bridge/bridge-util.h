/* SPDX-License-Identifier: MIT */
/* What the bridge tests share: real nats-server processes on free loopback
 * ports (started, killed, restarted and stopped by pid; their store dirs
 * under /tmp removed), shmx-bridge processes whose stderr is watched, and
 * numbered messages that say whether they arrived intact and in order. */
#ifndef BRIDGE_UTIL_H
#define BRIDGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BT_MAX_NODES 3

struct bt_server {
	pid_t pid;
	int port, cport;        /* client, cluster */
	char dir[128];          /* config, log and store */
	char conf[160];
};

struct bt_cluster {
	int n;
	struct bt_server s[BT_MAX_NODES];
	char urls[BT_MAX_NODES * 40];   /* "nats://127.0.0.1:P,..." */
};

/* NULL when the tests can run, else why not (for a skip). */
const char *bt_missing(void);
/* A TCP port on 127.0.0.1 that nothing listens on now. */
int bt_free_port(void);

/* n nodes (1: a lone server; 3: a cluster), JetStream on when js; extra
 * goes into each config. Waits until each accepts connections. */
void bt_cluster_start(struct bt_cluster *c, int n, bool js, const char *extra);
void bt_node_kill9(struct bt_cluster *c, int i);
void bt_node_restart(struct bt_cluster *c, int i);
/* Stop every node (by pid) and remove their directories. */
void bt_cluster_stop(struct bt_cluster *c);
/* "nats://127.0.0.1:P" of node i first, then the others. */
void bt_urls_from(const struct bt_cluster *c, int i, char *buf, size_t size);

/* A bridge: argv after "shmx-bridge"; returns once it printed its ready
 * line (fails the test if it did not within timeout_ms). */
struct bt_bridge {
	pid_t pid;
	int err_fd;
	char log[8192];         /* stderr so far */
	size_t log_len;
};
void bt_bridge_start(struct bt_bridge *b, const char *const *args, int timeout_ms);
/* Signal it, collect its stderr and exit code (deadline timeout_ms). */
int bt_bridge_stop(struct bt_bridge *b, int sig, int timeout_ms);
/* Wait for it to exit by itself. */
int bt_bridge_wait(struct bt_bridge *b, int timeout_ms);
/* SIGUSR1: wait for the progress line it prints (fails the test if none
 * comes within timeout_ms). */
void bt_bridge_progress(struct bt_bridge *b, int timeout_ms);
/* A number from its summary line ("N duplicates dropped": key "duplicates"). */
uint64_t bt_summary(const struct bt_bridge *b, const char *key);

/* Message i: its length (0 to max, mixed) and its bytes (the index, then
 * a pattern of it). */
size_t bt_msg_len(uint64_t i, size_t max);
void bt_msg_fill(uint64_t i, void *buf, size_t len);
/* Whether msg is message i, intact. */
bool bt_msg_ok(uint64_t i, const void *msg, size_t len, size_t max);

/* cmocka teardown: stop whatever servers and bridges a failed test left
 * (by pid), remove their directories, then tu_teardown(). */
int bt_teardown(void **state);

/* Scale a message count by SHMX_TEST_SCALE (at least min). */
uint64_t bt_scaled(uint64_t n, uint64_t min);
/* The bridge binary. */
const char *bt_bridge_path(void);

#endif
