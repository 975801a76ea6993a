# SPDX-License-Identifier: MIT
"""Channels against a real C peer (peer.c), between handles, and in every shape."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import unittest

import shmx

from .helpers import WAIT, Base, expected, scaled

MESSAGES = scaled(100000)   # fewer under sanitizers (SHMX_TEST_SCALE)


class TestChannelWithC(Base):
    def test_c_producer_python_consumer_carries_1e5_messages_intact(self):
        n = self.name()
        with shmx.Channel.create(n, 1 << 16, "consumer") as ch:
            p = self.peer("produce", n, str(MESSAGES))
            for i in range(MESSAGES):
                msg = ch.recv(WAIT)
                if msg != expected(i):
                    self.fail("message %d differs: %r" % (i, msg[:16]))
            with self.assertRaises(BrokenPipeError):
                ch.recv(WAIT)
            self.finish(p)

    def test_python_producer_c_consumer_carries_1e5_messages_intact(self):
        n = self.name()
        with shmx.Channel.create(n, 1 << 16, "producer") as ch:
            p = self.peer("consume", n, str(MESSAGES))
            for i in range(MESSAGES):
                ch.send(expected(i), WAIT)
        self.assertEqual(self.finish(p), "OK %d\n" % MESSAGES)

    def test_killed_c_producer_gives_peer_died_error(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer") as ch:
            p = self.peer("hang", n, stdin=subprocess.PIPE)
            self.assertEqual(ch.recv(WAIT), b"ready")
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=WAIT)
            with self.assertRaises(shmx.PeerDiedError) as cm:
                ch.recv(WAIT)
            self.assertEqual(cm.exception.errno, errno.EOWNERDEAD)
            self.assertIsInstance(cm.exception, OSError)

    def test_c_producer_python_recv_many_carries_1e5_messages_intact(self):
        n = self.name()
        with shmx.Channel.create(n, 1 << 16, "consumer") as ch:
            p = self.peer("produce", n, str(MESSAGES))
            i = 0
            while i < MESSAGES:
                for msg in ch.recv_many(100, WAIT):
                    if msg != expected(i):
                        self.fail("message %d differs: %r" % (i, msg[:16]))
                    i += 1
            with self.assertRaises(BrokenPipeError):
                ch.recv_many(100, WAIT)
            self.finish(p)

    def test_iteration_ends_when_the_producer_closes(self):
        n = self.name()
        with shmx.Channel.create(n, 1 << 16, "consumer") as ch:
            p = self.peer("produce", n, "300")
            self.assertEqual(list(ch), [expected(i) for i in range(300)])
            self.finish(p)


class TestChannel(Base):
    def test_timeouts_are_seconds_and_none_waits_forever(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer") as ch:
            with self.assertRaises(TimeoutError) as cm:
                ch.recv(0.01)
            self.assertEqual(cm.exception.errno, errno.ETIMEDOUT)
            with self.assertRaises(BlockingIOError):
                ch.recv(0)             # 0: try once, EAGAIN
            with self.assertRaises(ValueError):
                ch.recv(-1)
        from shmx import _args
        self.assertEqual(_args.timeout_ms(None), -1)
        self.assertEqual(_args.timeout_ms(0.0001), 1)   # never rounds to "try once"
        self.assertEqual(_args.timeout_ms(1e12), 2 ** 31 - 1)

    def test_channel_between_python_handles_send_recv_peek_stats(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "producer") as tx, \
                shmx.Channel.open(n, "consumer", WAIT) as rx:
            tx.send(b"one")
            tx.send(bytearray(b"two"))
            tx.send(memoryview(b"xthree")[1:])
            self.assertEqual(rx.pending, 3)
            self.assertEqual(rx.recv(WAIT), b"one")
            view = rx.peek(WAIT)
            self.assertEqual(bytes(view), b"two")
            self.assertTrue(view.readonly)
            with self.assertRaises(BufferError):
                rx.release()          # a view of the message is still alive
            view.release()
            rx.release()
            self.assertEqual(rx.recv(WAIT), b"three")
            st = rx.stats()
            self.assertEqual((st.sent, st.received, st.capacity), (3, 3, 4096))
            self.assertEqual(rx.capacity, 4096)
            with self.assertRaises(OSError) as cm:
                tx.send(b"x" * (tx.max_msg + 1))
            self.assertEqual(cm.exception.errno, errno.EMSGSIZE)
            tx.close()
            with self.assertRaises(BrokenPipeError):
                rx.recv(WAIT)

    def test_recv_many_takes_what_is_there_and_keeps_the_order(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "producer") as tx, \
                shmx.Channel.open(n, "consumer", WAIT) as rx:
            self.assertEqual(tx.send_many([b"m%d" % i for i in range(10)]), 10)
            self.assertEqual(rx.recv_many(4, 0), [b"m0", b"m1", b"m2", b"m3"])
            self.assertEqual(rx.recv(0), b"m4")
            self.assertEqual(next(rx), b"m5")      # iteration took the rest
            self.assertEqual(rx.pending, 0)
            with self.assertRaises(BufferError):
                rx.peek(0)
            self.assertEqual(rx.recv(0), b"m6")
            self.assertEqual(rx.recv_many(100, 0), [b"m7", b"m8", b"m9"])
            with self.assertRaises(BlockingIOError):
                rx.recv_many(100, 0)
            with self.assertRaises(TimeoutError):
                rx.recv_many(100, 0.02)
            with self.assertRaisesRegex(ValueError, "max_msgs"):
                rx.recv_many(0)
            self.assertEqual(tx.send_many([b"", bytearray(b"ab"), b"c" * 100]), 3)
            self.assertEqual(rx.recv_many(), [b"", b"ab", b"c" * 100])
            big = b"x" * 1000
            self.assertLess(tx.send_many([big] * 10, 0), 10)   # 4 KiB ring


class TestChannelShapes(Base):
    """Several consumers, several producers, the overwrite policy
    (shmx_chan_create_params(3)), between handles of this process."""

    def test_broadcast_each_consumer_gets_every_message_and_peers_show_it(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "producer", consumers=2) as tx, \
                shmx.Channel.open(n, "consumer", WAIT) as a, \
                shmx.Channel.open(n, "consumer", WAIT) as b:
            self.assertEqual((tx.slot, a.slot, b.slot), (0, 0, 1))
            with self.assertRaises(OSError) as cm:
                shmx.Channel.open(n, "consumer", 0)
            self.assertEqual(cm.exception.errno, errno.EUSERS)
            for i in range(50):
                tx.send(b"m%d" % i)
            want = [b"m%d" % i for i in range(50)]
            self.assertEqual([a.recv(WAIT) for _ in range(50)], want)
            self.assertEqual([b.recv(WAIT) for _ in range(50)], want)
            self.assertEqual((a.lost(), b.lost()), (0, 0))
            st = tx.stats()
            self.assertEqual((st.producers, st.consumers, st.policy, st.sent, st.lost),
                             (1, 2, "block", 50, 0))
            peers = tx.peers()
            self.assertEqual([(p.role, p.slot, p.state, p.generation, p.count)
                              for p in peers],
                             [("producer", 0, "attached", 1, 50),
                              ("consumer", 0, "attached", 1, 50),
                              ("consumer", 1, "attached", 1, 50)])
            self.assertTrue(all(p.pid == os.getpid() for p in peers))
            with self.assertRaises(OSError) as cm:
                tx.lost()
            self.assertEqual(cm.exception.errno, errno.EBADF)
            b.close()
            self.assertEqual(shmx.chan_peers(n)[2].state, "closed")

    def test_overwrite_consumer_counts_what_it_lost(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "producer", policy="overwrite") as tx, \
                shmx.Channel.open(n, "consumer", WAIT) as rx:
            for i in range(1000):     # never waits: 100 KiB through 4 KiB
                tx.send(b"%04d" % i + b"x" * 96, 0)
            with self.assertRaises(shmx.MessagesLostError) as cm:
                rx.recv(WAIT)
            self.assertEqual(cm.exception.errno, errno.ENOBUFS)
            lost = rx.lost()
            self.assertGreater(lost, 0)
            tx.send(b"", 0)            # the end
            got = []
            for msg in rx:
                if not msg:
                    break
                got.append(int(msg[:4]))
            self.assertEqual(got, list(range(lost, 1000)))
            self.assertEqual(len(got) + rx.lost(), 1000)
            self.assertEqual(rx.stats().lost, lost)
            self.assertEqual(rx.peers()[1].lost, lost)

    def test_two_producers_keep_their_own_order(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer", producers=2) as rx, \
                shmx.Channel.open(n, "producer", WAIT) as a, \
                shmx.Channel.open(n, "producer", WAIT) as b:
            self.assertEqual((a.slot, b.slot), (0, 1))
            for i in range(20):
                a.send(b"a%d" % i)
                b.send(b"b%d" % i)
            got = [rx.recv(WAIT) for _ in range(40)]
            self.assertEqual([m for m in got if m[:1] == b"a"],
                             [b"a%d" % i for i in range(20)])
            self.assertEqual([m for m in got if m[:1] == b"b"],
                             [b"b%d" % i for i in range(20)])
            a.close()
            with self.assertRaises(BlockingIOError):
                rx.recv(0)             # b is still there: not the end yet
            b.close()
            with self.assertRaises(BrokenPipeError):
                rx.recv(WAIT)

    def test_bad_shapes_are_refused(self):
        n = self.name()
        for kw, arg in (({"producers": 2, "policy": "overwrite"}, "overwrite"),
                        ({"consumers": 65}, "consumers"),
                        ({"producers": 65}, "producers"), ({"producers": 0}, "producers")):
            with self.assertRaisesRegex(ValueError, arg):
                shmx.Channel.create(n, 4096, "producer", **kw)
        with self.assertRaises(ValueError):
            shmx.Channel.create(n, 4096, "producer", policy="sometimes")
        self.assertFalse(os.path.exists("/dev/shm" + n))
