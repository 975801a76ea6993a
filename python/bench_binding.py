#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Messages per second into a Python consumer: a libshmx channel (the shmx
binding, producer in a child process) against multiprocessing.Queue and
multiprocessing.Pipe, same message size, same count, same run.

    SHMX_LIBRARY=build/src/libshmx.so.0 PYTHONPATH=python \\
        python3 python/bench_binding.py [--size 64] [--count 200000]

Each transport: a forked producer sends COUNT messages of SIZE bytes, the
parent receives them all; the figure is COUNT / elapsed time of the
receive loop, best of --runs. The ring is 1 MiB.
"""
import argparse
import multiprocessing as mp
import os
import subprocess
import time

import shmx


def shmx_producer(name, count, size):
    msg = b"x" * size
    with shmx.Channel.open(name, "producer", timeout=10) as ch:
        for _ in range(count):
            ch.send(msg)


def run_shmx(count, size, c_peer=None):
    name = "/shmx-bench-py-%d" % os.getpid()
    with shmx.Channel.create(name, 1 << 20, "consumer") as ch:
        if c_peer:
            # python/tests/peer.c: messages of 4 to 254 bytes, 129 on average
            p = subprocess.Popen([c_peer, "produce", name, str(count)])
        else:
            p = mp.Process(target=shmx_producer, args=(name, count, size))
            p.start()
        try:
            ch.recv(10)                  # the clock starts at the first message
            t0 = time.perf_counter()
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
    a = ap.parse_args()
    mp.set_start_method("fork")
    runs = [("shmx channel", run_shmx), ("multiprocessing.Queue", run_queue),
            ("multiprocessing.Pipe", run_pipe)]
    if a.c_producer:
        runs.insert(1, ("shmx, C producer", lambda n, s: run_shmx(n, s, a.c_producer)))
    res = {}
    for label, fn in runs:
        res[label] = max(fn(a.count, a.size) for _ in range(a.runs))
    print("%d-byte messages, %d per run, best of %d (libshmx %s)"
          % (a.size, a.count, a.runs, shmx.version()))
    print("  %-22s %12s  %s" % ("consumer in Python", "msg/s", "shmx channel / this"))
    for label, rate in res.items():
        print("  %-22s %12.0f  %6.1fx" % (label, rate, res["shmx channel"] / rate))


if __name__ == "__main__":
    main()
