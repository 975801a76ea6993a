#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two tables. Messages per second into a Python consumer: a libshmx
channel (the shmx binding, producer in a child process) against
multiprocessing.Queue and multiprocessing.Pipe, same message size, same
count, same run. Handoffs per second (the semaphore pair's job: the writer
fills shared memory, hands the turn to the reader, who reads it and hands
it back): a shmx Region + Pair against multiprocessing.shared_memory with a
multiprocessing.Lock or Event handoff (what Python programs do today), and
against a Queue or Pipe round trip.

    SHMX_LIBRARY=build/src/libshmx.so.0 PYTHONPATH=python \\
        python3 python/bench_binding.py [--size 64] [--count 200000]

Each transport: a forked producer sends COUNT messages of SIZE bytes, the
parent receives them all; the figure is COUNT / elapsed time of the
receive loop, best of --runs. The ring is 1 MiB. The channel runs twice:
one call a message on both ends (send(), recv()), and in batches
(send_many() of BATCH messages, iteration, which takes them with
recv_many()): one ctypes call costs about as much as a message.
--markdown FILE appends the tables and the target ratios (bench/run.sh).
The handoff table gives the best and the median run; --c-bench PATH (the
built bench/shmx-bench) also times the C pair and the raw sem_open pair
(its items "pair" and "sem", medians of its windows) and prints the Python
pair's ratio to each; --handoffs-only leaves out the channel table.
"""
import argparse
import multiprocessing as mp
import csv
import os
import statistics
import subprocess
import tempfile
import time
from multiprocessing import shared_memory

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


# ---- handoffs: a turn that goes back and forth, SIZE bytes each way ----

def pair_reader(name, count, size):
    with shmx.Region.open(name) as r, shmx.Pair.open(r, "reader") as p:
        buf = r.buf
        for _ in range(count):
            p.wait(10)
            buf[:size] = bytes(buf[:size])      # read it, answer in place
            p.post()
        del buf


def run_pair(count, size):
    with shmx.Region.create(None, max(size, 1)) as r:
        name = r.name
        try:
            with shmx.Pair.create(r, "writer") as p:
                child = mp.Process(target=pair_reader, args=(name, count, size))
                child.start()
                msg, buf = b"x" * size, r.buf
                t0 = time.perf_counter()
                for _ in range(count):
                    p.wait(10)
                    buf[:size] = msg
                    p.post()
                p.wait(10)                      # the last answer
                dt = time.perf_counter() - t0
                del buf
                child.join(10)
        finally:
            shmx.pair_unlink(name)
            shmx.unlink(name)
    return count / dt


def take(turn, event):
    """Wait for the turn: a Lock is acquired, an Event waited and cleared."""
    if event:
        turn.wait(10)
        turn.clear()
    else:
        turn.acquire(timeout=10)


def give(turn, event):
    turn.set() if event else turn.release()


def sm_reader(sm, count, size, may_read, may_write, event):
    buf = sm.buf
    for _ in range(count):
        take(may_read, event)
        buf[:size] = bytes(buf[:size])
        give(may_write, event)
    del buf


def run_shared_memory(count, size, event):
    """SharedMemory and two Locks (or Events) as the pair's two semaphores:
    "may write" free at first, "may read" taken."""
    sm = shared_memory.SharedMemory(create=True, size=max(size, 1))
    may_read, may_write = (mp.Event(), mp.Event()) if event else (mp.Lock(), mp.Lock())
    give(may_write, event) if event else take(may_read, event)
    try:
        # forked: the child inherits sm, no second attach (gh-82300)
        child = mp.Process(target=sm_reader,
                           args=(sm, count, size, may_read, may_write, event))
        child.start()
        msg, buf = b"x" * size, sm.buf
        t0 = time.perf_counter()
        for _ in range(count):
            take(may_write, event)
            buf[:size] = msg
            give(may_read, event)
        take(may_write, event)                  # the last answer
        dt = time.perf_counter() - t0
        del buf
        child.join(10)
    finally:
        sm.close()
        sm.unlink()
    return count / dt


def echo_queue(q_in, q_out, count):
    for _ in range(count):
        q_out.put(q_in.get(timeout=10))


def run_queue_rt(count, size):
    a, b = mp.Queue(), mp.Queue()
    child = mp.Process(target=echo_queue, args=(a, b, count))
    child.start()
    msg = b"x" * size
    t0 = time.perf_counter()
    for _ in range(count):
        a.put(msg)
        b.get(timeout=10)
    dt = time.perf_counter() - t0
    child.join(10)
    return count / dt


def echo_pipe(conn, count):
    for _ in range(count):
        conn.send_bytes(conn.recv_bytes())


def run_pipe_rt(count, size):
    here, there = mp.Pipe()
    child = mp.Process(target=echo_pipe, args=(there, count))
    child.start()
    msg = b"x" * size
    t0 = time.perf_counter()
    for _ in range(count):
        here.send_bytes(msg)
        here.recv_bytes()
    dt = time.perf_counter() - t0
    child.join(10)
    return count / dt


HANDOFFS = [("shmx Region + Pair", run_pair),
            ("SharedMemory + Lock", lambda n, s: run_shared_memory(n, s, False)),
            ("SharedMemory + Event", lambda n, s: run_shared_memory(n, s, True)),
            ("multiprocessing.Queue round trip", run_queue_rt),
            ("multiprocessing.Pipe round trip", run_pipe_rt)]


def measure(runs, count, size, nruns):
    """Best of nruns per item (measure_all())."""
    return {label: max(v) for label, v in measure_all(runs, count, size, nruns).items()}


def measure_all(runs, count, size, nruns):
    """Every run of each item, the items interleaved so that drift of the
    machine hits every one alike."""
    res = {label: [] for label, _ in runs}
    for _ in range(nruns):
        for label, fn in runs:
            res[label].append(fn(count, size))
    return res


def c_pairs(bench, windows):
    """Round trips per second of the C pair and the raw sem_open pair:
    shmx-bench's items "pair" and "sem" (8 bytes, the median of its
    windows)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "pairs.csv")
        subprocess.run([bench, "--filter", "sem,pair", "--windows", str(windows),
                        "--csv", out], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(out) as f:
            rows = {r["key"]: float(r["msgs_per_s"]) for r in csv.DictReader(f)}
    return {"C pair (shmx_pair_wait/post)": rows["pair"],
            "C raw sem_open pair": rows["sem"]}


def print_handoffs(a, all_runs):
    head = HANDOFFS[0][0]
    best = {k: max(v) for k, v in all_runs.items()}
    med = {k: statistics.median(v) for k, v in all_runs.items()}
    print("%d-byte handoffs, writer and reader in Python, %d per run, %d runs "
          "(libshmx %s)" % (a.size, a.handoffs, a.runs, shmx.version()))
    print("  %-34s %12s %12s  %s" % ("", "best/s", "median/s",
                                     "%s / this (medians)" % head))
    for label in all_runs:
        print("  %-34s %12.0f %12.0f  %6.2fx" % (label, best[label], med[label],
                                                 med[head] / med[label]))
    return best, med


def print_c_ratios(c, med):
    head = HANDOFFS[0][0]
    print("Round trips/s, C (shmx-bench medians) against the Python pair's median")
    for label, rate in c.items():
        print("  %-34s %12.0f  Python pair / this %.3fx (this / Python %.1fx)"
              % (label, rate, med[head] / rate, rate / med[head]))


def print_table(title, unit, best, head):
    print(title)
    print("  %-34s %12s  %s" % ("", unit, "%s / this" % head))
    for label, rate in best.items():
        print("  %-34s %12.0f  %6.2fx" % (label, rate, best[head] / rate))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--handoffs", type=int,
                    help="round trips per handoff run (default: count / 4)")
    ap.add_argument("--c-producer", metavar="PEER",
                    help="also time a C producer (the built shmx-py-peer)")
    ap.add_argument("--markdown", metavar="FILE",
                    help="append the table and the target ratios to FILE")
    ap.add_argument("--handoffs-only", action="store_true",
                    help="only the handoff table")
    ap.add_argument("--c-bench", metavar="SHMX_BENCH",
                    help="also time the C pair and raw sem_open pair with it")
    ap.add_argument("--c-windows", type=int, default=15,
                    help="shmx-bench windows for --c-bench (default 15)")
    a = ap.parse_args()
    mp.set_start_method("fork")
    a.handoffs = a.handoffs or max(1000, a.count // 4)
    if a.handoffs_only:
        _, med = print_handoffs(a, measure_all(HANDOFFS, a.handoffs, a.size, a.runs))
        if a.c_bench:
            print_c_ratios(c_pairs(a.c_bench, a.c_windows), med)
        return
    runs = [("shmx channel, batches", run_shmx_batched),
            ("shmx channel, a call a message", run_shmx),
            ("multiprocessing.Queue", run_queue),
            ("multiprocessing.Pipe", run_pipe)]
    if a.c_producer:
        runs.insert(2, ("shmx, C producer", lambda n, s: run_shmx(n, s, a.c_producer)))
    best = measure(runs, a.count, a.size, a.runs)
    head = "shmx channel, batches"
    print_table("%d-byte messages into a consumer in Python, %d per run, best of %d "
                "(libshmx %s)" % (a.size, a.count, a.runs, shmx.version()),
                "msg/s", best, head)
    hand = measure(HANDOFFS, a.handoffs, a.size, a.runs)
    print_table("%d-byte handoffs, writer and reader in Python, %d per run, best of %d"
                % (a.size, a.handoffs, a.runs), "handoffs/s", hand, HANDOFFS[0][0])
    if a.markdown:
        write_markdown(a, best, head)
        write_handoffs(a, hand)


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



def write_handoffs(a, hand):
    head = HANDOFFS[0][0]
    with open(a.markdown, "a") as f:
        f.write("\n## Handoff in Python (python/bench_binding.py)\n\n"
                "%d-byte turns, writer and reader in Python (forked), %d round "
                "trips per run, best of %d runs interleaved.\n\n"
                "| handoff | round trips/s | %s / this |\n|---|---:|---:|\n"
                % (a.size, a.handoffs, a.runs, head))
        for label, rate in hand.items():
            f.write("| %s | %.0f | %.2fx |\n" % (label, rate, hand[head] / rate))


if __name__ == "__main__":
    main()
