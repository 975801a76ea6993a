# SPDX-License-Identifier: MIT
"""The Python binding against real objects and a real C peer (peer.c).

Run by meson test, which sets SHMX_LIBRARY (the built libshmx.so.0),
SHMX_PY_PEER (the built peer) and PYTHONPATH (python/ of the source tree).
Every object a test makes is named by self.name() and removed in tearDown;
every wait has a timeout, so a regression fails instead of hanging.
"""
import errno
import os
import signal
import socket
import subprocess
import unittest

import shmx

PEER = os.environ.get("SHMX_PY_PEER")
WAIT = 20.0                   # seconds: any single wait in these tests
MESSAGES = 100000
PAYLOAD_MOD = 251             # as in peer.c
PATTERN = bytes(range(256)) * 2

try:
    import numpy
except ImportError:
    numpy = None


def expected(i):
    """Message i as peer.c builds it."""
    return i.to_bytes(4, "little") + PATTERN[i & 0xff:(i & 0xff) + i % PAYLOAD_MOD]


class Base(unittest.TestCase):
    counter = 0

    def setUp(self):
        self.names = []
        self.procs = []

    def name(self):
        Base.counter += 1
        n = "/shmx-pytest-%d-%d" % (os.getpid(), Base.counter)
        self.names.append(n)
        return n

    def peer(self, *args, **kw):
        if not PEER:
            self.skipTest("SHMX_PY_PEER is not set (run through meson test)")
        p = subprocess.Popen([PEER, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, **kw)
        self.procs.append(p)
        return p

    def finish(self, p):
        """The peer's stdout once it exited 0, within WAIT."""
        out, err = p.communicate(timeout=WAIT)
        self.assertEqual(p.returncode, 0, "peer failed: " + err.decode())
        return out.decode()

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=WAIT)
            for f in (p.stdin, p.stdout, p.stderr):
                if f:
                    f.close()
        for n in self.names:
            for rm in (shmx.chan_unlink, shmx.pair_unlink, shmx.unlink):
                try:
                    rm(n)
                except OSError:
                    pass
        left = [f for f in os.listdir("/dev/shm")
                if f.startswith("shmx-pytest-%d-" % os.getpid())]
        self.assertEqual(left, [], "objects left in /dev/shm")


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


class TestRegionAndPairWithC(Base):
    def test_region_created_in_python_is_read_by_c(self):
        n = self.name()
        with shmx.Region.create(n, 4096) as r:
            r.buf[:18] = b"hello from Python\0"
            self.assertEqual(self.finish(self.peer("region", n)), "hello from Python\n")

    def test_pair_hands_the_region_to_a_c_reader_and_back(self):
        n = self.name()
        with shmx.Region.create(n, 4096) as r, shmx.Pair.create(r, "writer") as p:
            p.wait(WAIT)
            r.buf[:12] = b"from Python\0"
            p.post()
            c = self.peer("pair", n)
            p.wait(WAIT)
            self.assertEqual(bytes(r.buf[:7]), b"from C\0")
            self.assertEqual(self.finish(c), "from Python\n")

    def test_struct_layouts_match_the_c_header(self):
        import ctypes
        from shmx import _lib
        sizes = self.finish(self.peer("sizes")).split()
        self.assertEqual([int(s) for s in sizes],
                         [ctypes.sizeof(_lib.Info), ctypes.sizeof(_lib.ChanInfo),
                          ctypes.sizeof(_lib.SysvInfo), ctypes.sizeof(_lib.ChanParams),
                          ctypes.sizeof(_lib.ChanPeer)])
        offsets = self.finish(self.peer("offsets")).split()
        self.assertEqual([int(s) for s in offsets],
                         [_lib.ChanInfo.policy.offset, _lib.ChanInfo.producers.offset,
                          _lib.ChanInfo.consumers.offset, _lib.ChanInfo.lost.offset,
                          _lib.ChanParams.policy.offset, _lib.ChanPeer.generation.offset,
                          _lib.ChanPeer.count.offset, _lib.ChanPeer.lost.offset])


class TestBinding(Base):
    def test_errors_are_oserror_subclasses_with_errno_and_libshmx_text(self):
        n = self.name()
        with self.assertRaises(FileNotFoundError) as cm:
            shmx.Region.open(n)
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertEqual(cm.exception.filename, n)
        with shmx.Region.create(n, 4096):
            with self.assertRaises(FileExistsError):
                shmx.Region.create(n, 4096)
        with self.assertRaises(OSError) as cm:
            shmx.Region.create("/a/b", 4096)
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertEqual(shmx.strerror(-errno.EOWNERDEAD),
                         shmx.strerror(errno.EOWNERDEAD))
        self.assertTrue(issubclass(shmx.PeerDiedError, OSError))

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
        self.assertEqual(shmx._ms(None), -1)
        self.assertEqual(shmx._ms(0.0001), 1)   # a wait never rounds to "try once"
        self.assertEqual(shmx._ms(1e12), 2 ** 31 - 1)

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
            with self.assertRaises(ValueError):
                rx.recv_many(0)
            self.assertEqual(tx.send_many([b"", bytearray(b"ab"), b"c" * 100]), 3)
            self.assertEqual(rx.recv_many(), [b"", b"ab", b"c" * 100])
            big = b"x" * 1000
            self.assertLess(tx.send_many([big] * 10, 0), 10)   # 4 KiB ring

    def test_region_buffer_is_the_mapping_and_closing_under_a_view_raises(self):
        n = self.name()
        r = shmx.Region.create(n, 8192)
        a = shmx.Region.open(n)
        r.buf[100:105] = b"hello"
        self.assertEqual(bytes(a.buf[100:105]), b"hello")
        ro = shmx.Region.open(n, readonly=True)
        self.assertTrue(ro.buf.readonly)
        view = r.buf[100:]
        with self.assertRaises(BufferError):
            r.close()
        del view
        r.close()
        self.assertTrue(r.closed)
        with self.assertRaises(ValueError):
            r.buf
        a.close()
        ro.close()

    @unittest.skipIf(numpy is None, "numpy is not installed for this interpreter")
    def test_numpy_frombuffer_shares_the_mapping_without_a_copy(self):
        n = self.name()
        with shmx.Region.create(n, 4096) as r, shmx.Region.open(n) as other:
            arr = numpy.frombuffer(r.buf, dtype=numpy.uint32)
            self.assertEqual(arr.__array_interface__["data"][0], r.addr)
            arr[:4] = [1, 2, 3, 0xdeadbeef]
            seen = numpy.frombuffer(other.buf, dtype=numpy.uint32)
            self.assertEqual(list(seen[:4]), [1, 2, 3, 0xdeadbeef])
            with self.assertRaises(BufferError):
                r.close()
            del arr, seen

    def test_anonymous_region_travels_over_a_unix_socket(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b, shmx.Region.anon(4096) as r:
            r.buf[:5] = b"memfd"
            r.send(a)
            with shmx.Region.anon_recv(b, WAIT) as got:
                self.assertEqual(bytes(got.buf[:5]), b"memfd")
                self.assertIsNone(got.name)
                got.buf[0:1] = b"M"
            self.assertEqual(bytes(r.buf[:5]), b"Memfd")

    def test_system_v_segment_create_attach_remove(self):
        with shmx.Region.sysv_create(shmx.IPC_PRIVATE, 4096) as r:
            shmid = r.sysv_id
            try:
                r.buf[:4] = b"sysv"
                with shmx.Region.sysv_open(id=shmid) as other:
                    self.assertEqual(bytes(other.buf[:4]), b"sysv")
                    self.assertEqual(shmx.sysv_stat(shmid).nattch, 2)
            finally:
                shmx.sysv_remove(shmid)
        with self.assertRaises(OSError):
            shmx.sysv_stat(shmid)

    def test_stat_and_canonical_names(self):
        n = self.name()
        self.assertEqual(shmx.canon_name(n[1:]), n)
        with shmx.Region.create(n, 8192, 0o640) as r:
            st = shmx.stat(n)
            self.assertEqual((st.size, st.mode, st.uid), (8192, 0o640, os.getuid()))
            self.assertEqual(r.fstat().size, 8192)
            self.assertEqual(r.name, n)
            self.assertGreaterEqual(r.fileno(), 0)


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
        for kw in ({"producers": 2, "policy": "overwrite"}, {"consumers": 65},
                   {"producers": 65}):
            with self.assertRaises(OSError) as cm:
                shmx.Channel.create(n, 4096, "producer", **kw)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
        with self.assertRaises(ValueError):
            shmx.Channel.create(n, 4096, "producer", policy="sometimes")
        self.assertFalse(os.path.exists("/dev/shm" + n))


if __name__ == "__main__":
    unittest.main()
