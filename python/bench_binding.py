#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Messages per second into a Python consumer: a libshmx channel (the shmx
binding, producer in a child process) against multiprocessing.Queue and
multiprocessing.Pipe, same message size, same count, same run.

    SHMX_LIBRARY=build/src/libshmx.so.0 PYTHONPATH=python \\
        python3 python/bench_binding.py [--size 64] [--count 200000]

Each transport: a forked producer sends COUNT messages of SIZE bytes, the
parent receives them all; the figure is COUNT / elapsed time of the
receive loop, best of --runs. The ring is 1 MiB. The channel runs twice:
one call a message on both ends (send(), recv()), and in batches
(send_many() of BATCH messages, iteration, which takes them with
recv_many()): one ctypes call costs about as much as a message.
--markdown FILE appends the table and the target ratios (bench/run.sh).
"""
import argparse
import multiprocessing as mp
import os
import subprocess
import time

import shmx


BATCH = 64
TARGET = 10.0   # the channel's messages per second over each baseline's


def shmx_producer(name, count, size, batched):
    msg = b"x" * size
    with shmx.Channel.open(name, "producer", timeout=10) as ch:
        if not batched:
            for _ in range(count):
                ch.send(msg)
            return
        left = count
        while left:
            left -= ch.send_many([msg] * min(left, BATCH))


def run_shmx_batched(count, size):
    return run_shmx(count, size, batched=True)


def run_shmx(count, size, c_peer=None, batched=False):
    name = "/shmx-bench-py-%d" % os.getpid()
    with shmx.Channel.create(name, 1 << 20, "consumer") as ch:
        if c_peer:
            # python/tests/peer.c: messages of 4 to 254 bytes, 129 on average
            p = subprocess.Popen([c_peer, "produce", name, str(count)])
        else:
            p = mp.Process(target=shmx_producer, args=(name, count, size, batched))
            p.start()
        try:
            ch.recv(10)                  # the clock starts at the first message
            t0 = time.perf_counter()
            if batched:
                for n, _ in enumerate(ch, 2):
                    if n == count:
                        break
            else:
                for _ in range(count - 1):
                    ch.recv(10)
            dt = time.perf_counter() - t0
        finally:
            p.wait(10) if c_peer else p.join(10)
            shmx.chan_unlink(name)
    return (count - 1) / dt


def queue_producer(q, count, size):
    msg = b"x" * size
    for _ in range(count):
        q.put(msg)


def run_queue(count, size):
    q = mp.Queue(maxsize=8192)
    p = mp.Process(target=queue_producer, args=(q, count, size))
    p.start()
    q.get(timeout=10)
    t0 = time.perf_counter()
    for _ in range(count - 1):
        q.get(timeout=10)
    dt = time.perf_counter() - t0
    p.join(10)
    return (count - 1) / dt


def pipe_producer(conn, count, size):
    msg = b"x" * size
    for _ in range(count):
        conn.send_bytes(msg)


def run_pipe(count, size):
    rx, tx = mp.Pipe(duplex=False)
    p = mp.Process(target=pipe_producer, args=(tx, count, size))
    p.start()
    rx.recv_bytes()
    t0 = time.perf_counter()
    for _ in range(count - 1):
        rx.recv_bytes()
    dt = time.perf_counter() - t0
    p.join(10)
    return (count - 1) / dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--c-producer", metavar="PEER",
                    help="also time a C producer (the built shmx-py-peer)")
    ap.add_argument("--markdown", metavar="FILE",
                    help="append the table and the target ratios to FILE")
    a = ap.parse_args()
    mp.set_start_method("fork")
    runs = [("shmx channel, batches", run_shmx_batched),
            ("shmx channel, a call a message", run_shmx),
            ("multiprocessing.Queue", run_queue),
            ("multiprocessing.Pipe", run_pipe)]
    if a.c_producer:
        runs.insert(2, ("shmx, C producer", lambda n, s: run_shmx(n, s, a.c_producer)))
    res = {label: [] for label, _ in runs}
    # interleaved, so that drift of the machine hits every transport alike
    for _ in range(a.runs):
        for label, fn in runs:
            res[label].append(fn(a.count, a.size))
    best = {label: max(v) for label, v in res.items()}
    head = "shmx channel, batches"
    print("%d-byte messages, %d per run, best of %d (libshmx %s)"
          % (a.size, a.count, a.runs, shmx.version()))
    print("  %-32s %12s  %s" % ("consumer in Python", "msg/s", "batches / this"))
    for label, rate in best.items():
        print("  %-32s %12.0f  %6.1fx" % (label, rate, best[head] / rate))
    if a.markdown:
        write_markdown(a, best, head)


def write_markdown(a, best, head):
    with open(a.markdown, "a") as f:
        f.write("\n## Python consumer (python/bench_binding.py)\n\n"
                "%d-byte messages, %d per run, best of %d runs interleaved; "
                "producer and consumer in Python (the binding), forked.\n\n"
                "| transport | msgs/s | batches / this |\n|---|---:|---:|\n"
                % (a.size, a.count, a.runs))
        for label, rate in best.items():
            f.write("| %s | %.0f | %.1fx |\n" % (label, rate, best[head] / rate))
        f.write("\n| ratio | measured | target | result |\n|---|---:|---:|---|\n")
        for base in ("multiprocessing.Queue", "multiprocessing.Pipe"):
            for label in (head, "shmx channel, a call a message"):
                x = best[label] / best[base]
                goal = TARGET if label == head else 0
                f.write("| Python consumer: %s / %s | %.1fx | %s | %s |\n"
                        % (label, base, x, ">= %.2fx" % goal if goal else "-",
                           ("met" if x >= goal else "NOT met") if goal
                           else "reference"))


if __name__ == "__main__":
    main()
