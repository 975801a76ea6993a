# SPDX-License-Identifier: MIT
"""Errors as Python users expect them: OSError subclasses with the errno for
what the system refused, ValueError/TypeError naming the argument for what
the caller got wrong, peers named when they close or die, and the caller's
own exception let through a with block."""
from __future__ import annotations

import errno
import os
import signal
import subprocess

import shmx

from .helpers import WAIT, Base


class TestSystemErrors(Base):
    def test_errors_are_oserror_subclasses_with_errno_and_libshmx_text(self):
        n = self.name()
        with self.assertRaises(FileNotFoundError) as cm:
            shmx.Region.open(n)
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertEqual(cm.exception.filename, n)
        with shmx.Region.create(n, 4096):
            with self.assertRaises(FileExistsError):
                shmx.Region.create(n, 4096)
        self.assertEqual(shmx.strerror(-errno.EOWNERDEAD),
                         shmx.strerror(errno.EOWNERDEAD))
        self.assertTrue(issubclass(shmx.PeerDiedError, ConnectionError))
        self.assertTrue(issubclass(shmx.PeerClosedError, BrokenPipeError))
        self.assertTrue(issubclass(shmx.MessagesLostError, OSError))


class TestArgumentErrors(Base):
    """Each bad argument: the exception type Python uses for it, a message
    that names the argument, and nothing created."""

    def assert_names(self, exc, arg, fn, *args, **kw):
        with self.assertRaises(exc) as cm:
            fn(*args, **kw)
        self.assertIn(arg, str(cm.exception))
        self.assertNotIsInstance(cm.exception, OSError)

    def test_bad_sizes_are_value_or_type_errors_naming_size(self):
        n = self.name()
        self.assert_names(ValueError, "size", shmx.Region.create, n, -1)
        self.assert_names(ValueError, "size", shmx.Region.create, n, 0)
        self.assert_names(ValueError, "size", shmx.Region.create, n, 2 ** 64)
        self.assert_names(TypeError, "size", shmx.Region.create, n, 1.5)
        self.assert_names(TypeError, "size", shmx.Region.create, n, "4096")
        self.assert_names(ValueError, "size", shmx.Region.anon, 0)
        self.assert_names(ValueError, "size", shmx.Region, None, True, 0)
        with shmx.Region.create(n, 4096) as r:
            self.assert_names(ValueError, "size", r.resize, 0)
        shmx.unlink(n)
        self.assertFalse(os.path.exists("/dev/shm" + n))

    def test_bad_names_modes_and_keys_are_named(self):
        n = self.name()
        for bad in ("/a/b", "", "..", "sem.x", "/x\n"):
            self.assert_names(ValueError, "name", shmx.Region.create, bad, 4096)
        self.assert_names(ValueError, "name", shmx.Region.open, "x" * 300)
        self.assert_names(TypeError, "name", shmx.Region.open, 42)
        self.assert_names(ValueError, "mode", shmx.Region.create, n, 4096, 0o1777)
        self.assert_names(ValueError, "mode", shmx.Region.create, n, 4096, -1)
        self.assert_names(TypeError, "mode", shmx.Region.create, n, 4096, "0600")
        self.assert_names(ValueError, "proj", shmx.sysv_key, "/", 0)
        self.assert_names(TypeError, "key", shmx.Region.sysv_open, key=None, id=None)
        self.assert_names(ValueError, "role", shmx.Channel.create, n, 4096, "reader")
        self.assert_names(ValueError, "wait", shmx.Channel.create, n, 4096, "producer",
                          wait="sometimes")
        self.assertFalse(os.path.exists("/dev/shm" + n))

    def test_bad_capacities_timeouts_and_messages_are_named(self):
        n = self.name()
        for cap in (1000, 0, 32, 2 ** 33):
            self.assert_names(ValueError, "capacity", shmx.Channel.create, n, cap,
                              "producer")
        self.assert_names(TypeError, "capacity", shmx.Channel.create_anon, 4096.0,
                          "producer")
        self.assertFalse(os.path.exists("/dev/shm" + n))
        with shmx.Channel.create(n, 4096, "producer") as tx:
            self.assert_names(TypeError, "data", tx.send, "text")
            self.assert_names(TypeError, "timeout", tx.send, b"x", "1")
            self.assert_names(ValueError, "timeout", tx.send, b"x", -1)
            self.assert_names(ValueError, "timeout", tx.send, b"x", float("nan"))
            self.assert_names(ValueError, "max_msgs", tx.recv_many, 0)

    def test_region_ranges_are_checked_against_its_size(self):
        with shmx.Region.anon(4096) as r:
            self.assert_names(ValueError, "offset", r.sync_range, -1, 1)
            self.assert_names(ValueError, "length", r.sync_range, 0, 4097)
            self.assert_names(TypeError, "offset", r.sync_range, 0.5, 1)


class TestPeers(Base):
    """PeerClosedError and PeerDiedError say which peer of which object."""

    def test_consumer_is_told_the_producer_closed_the_named_channel(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer") as rx:
            with shmx.Channel.open(n, "producer", WAIT) as tx:
                tx.send(b"last")
            self.assertEqual(rx.recv(WAIT), b"last")
            with self.assertRaises(shmx.PeerClosedError) as cm:
                rx.recv(WAIT)
        self.assertEqual(cm.exception.errno, errno.EPIPE)
        self.assertIn("the producer of channel %r closed it" % n, str(cm.exception))

    def test_producer_is_told_the_consumer_closed(self):
        with shmx.Channel.create_anon(4096, "producer") as tx:
            rx = shmx.Channel.attach(tx.region, "consumer")
            rx.close()
            with self.assertRaises(shmx.PeerClosedError) as cm:
                for _ in range(10000):      # a ring's worth, then the wait
                    tx.send(b"x" * 100, WAIT)
        self.assertIn("the consumer of an anonymous channel closed it",
                      str(cm.exception))

    def test_every_producer_named_when_several_closed(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer", producers=2) as rx:
            shmx.Channel.open(n, "producer", WAIT).close()
            shmx.Channel.open(n, "producer", WAIT).close()
            with self.assertRaises(shmx.PeerClosedError) as cm:
                rx.recv(WAIT)
        self.assertIn("the producers of channel %r closed it" % n, str(cm.exception))

    def test_killed_c_producer_is_named_as_died(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer") as rx:
            p = self.peer("hang", n, stdin=subprocess.PIPE)
            self.assertEqual(rx.recv(WAIT), b"ready")
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=WAIT)
            with self.assertRaises(shmx.PeerDiedError) as cm:
                rx.recv(WAIT)
        self.assertEqual(cm.exception.errno, errno.EOWNERDEAD)
        self.assertIn("the producer of channel %r died" % n, str(cm.exception))

    def test_pair_reader_is_told_the_writer_closed(self):
        n = self.name()
        with shmx.Region.create(n, 4096) as r:
            w = shmx.Pair.create(r, "writer")
            with shmx.Pair.open(r, "reader") as rd:
                w.close()
                with self.assertRaises(shmx.PeerClosedError) as cm:
                    rd.wait(WAIT)
        self.assertIn("the writer of pair %r closed it" % n, str(cm.exception))


class TestWithBlocks(Base):
    """An exception raised inside a with block comes out as itself, even
    when a view of the shared memory outlives the block."""

    def test_exception_inside_region_block_with_a_live_view_comes_out_unchanged(self):
        n = self.name()
        with self.assertRaises(KeyError) as cm:
            with shmx.Region.create(n, 4096) as r:
                view = r.buf
                view[0] = 7
                raise KeyError("the caller's")
        self.assertEqual(cm.exception.args, ("the caller's",))
        self.assertIsNone(cm.exception.__context__)
        self.assertTrue(r.closed)
        self.assertEqual(view[0], 7)    # the mapping lives as long as the view
        del view
        shmx.unlink(n)

    def test_exception_inside_channel_block_with_a_peeked_view_comes_out_unchanged(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "producer") as tx:
            with self.assertRaises(ZeroDivisionError):
                with shmx.Channel.open(n, "consumer", WAIT) as rx:
                    tx.send(b"peeked")
                    msg = rx.peek(WAIT)
                    1 / 0
            self.assertEqual(bytes(msg), b"peeked")
            del msg     # and with the view, the consumer's handle goes
            with self.assertRaises(shmx.PeerClosedError):
                for _ in range(1000):
                    tx.send(b"x" * 100, WAIT)

    def test_close_without_an_exception_still_refuses_under_a_view(self):
        n = self.name()
        with self.assertRaises(BufferError):
            with shmx.Region.create(n, 4096) as r:
                view = r.buf
        del view
        r.close()
        self.assertTrue(r.closed)
