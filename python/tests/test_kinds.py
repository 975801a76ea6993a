# SPDX-License-Identifier: MIT
"""What the C API has beyond named objects: file regions and sync_range(),
anonymous channels and pairs passed over Unix sockets (to a C process) or
inherited over fork, and fileno() for select/poll."""
from __future__ import annotations

import errno
import os
import select
import socket
import tempfile

import shmx

from .helpers import WAIT, Base, expected, scaled


class TestFileRegions(Base):
    def setUp(self) -> None:
        super().setUp()
        self.dir = tempfile.TemporaryDirectory(prefix="shmx-pytest-")
        self.addCleanup(self.dir.cleanup)
        self.path = os.path.join(self.dir.name, "data.bin")

    def test_file_region_writes_reach_the_file_after_sync_range(self):
        with shmx.Region.file_create(self.path, 8192, 0o640, durable=True) as r:
            self.assertEqual((r.kind, r.name, r.size), ("file", self.path, 8192))
            self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o640)
            r.buf[4096:4101] = b"page2"
            r.sync_range(4096, 5)
            r.buf[0:5] = b"page1"
            r.sync_range(0, 4096, wait=False)
            r.sync()
            with open(self.path, "rb") as f:
                data = f.read()
            self.assertEqual((data[:5], data[4096:4101]), (b"page1", b"page2"))
            with self.assertRaises(FileExistsError):
                shmx.Region.file_create(self.path, 4096)
        with shmx.Region.file_open(self.path, readonly=True) as r:
            self.assertEqual(bytes(r.buf[:5]), b"page1")
            self.assertTrue(r.buf.readonly)
            r.unlink()
        self.assertFalse(os.path.exists(self.path))

    def test_file_open_refuses_a_symlink_and_file_unlink_removes(self):
        with shmx.Region.file_create(self.path, 4096):
            pass
        link = self.path + ".link"
        os.symlink(self.path, link)
        with self.assertRaises(OSError) as cm:
            shmx.Region.file_open(link)
        self.assertEqual(cm.exception.errno, errno.ELOOP)
        os.unlink(link)
        shmx.file_unlink(self.path)
        self.assertFalse(os.path.exists(self.path))

    def test_sync_range_needs_a_mapping(self):
        with shmx.Region.file_create(self.path, 4096, map=False) as r:
            with self.assertRaises(OSError) as cm:
                r.sync_range(0, 1)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            r.map()
            r.sync_range(0, 4096)
        shmx.file_unlink(self.path)


class TestAnonymousOverSockets(Base):
    def test_anonymous_channel_to_a_c_producer_with_send_fds(self):
        count = scaled(20000)
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, shmx.Channel.create_anon(1 << 16, "consumer") as rx:
            self.assertIsNone(rx.name)
            p = self.peer("anon-produce", str(b.fileno()), str(count),
                          pass_fds=[b.fileno()])
            b.close()
            socket.send_fds(a, [b"C"], [rx.region.fileno()])
            self.assertEqual(list(rx), [expected(i) for i in range(count)])
            self.finish(p)

    def test_anonymous_pair_to_a_c_reader_with_region_send(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, shmx.Pair.create_anon("writer") as w, shmx.Region.anon(4096) as data:
            p = self.peer("anon-pair", str(b.fileno()), pass_fds=[b.fileno()])
            b.close()
            w.region.send(a)
            data.send(a)
            w.wait(WAIT)
            data.buf[:12] = b"from Python\0"
            w.post()
            w.wait(WAIT)            # the reader's turn is over
            self.assertEqual(bytes(data.buf[:7]), b"from C\0")
            self.assertEqual(self.finish(p), "from Python\n")

    def test_recv_fds_then_from_fd_attaches_in_python(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b, shmx.Channel.create_anon(4096, "producer") as tx:
            tx.region.send(a)
            _, fds, _, _ = socket.recv_fds(b, 16, 1)
            try:
                with shmx.Region.from_fd(fds[0]) as r, \
                        shmx.Channel.attach(r, "consumer") as rx:
                    tx.send(b"over a socket")
                    self.assertEqual(rx.recv(WAIT), b"over a socket")
            finally:
                os.close(fds[0])

    def test_from_fd_refuses_an_unsealed_descriptor(self):
        fd = os.memfd_create("shmx-pytest", 0)
        try:
            os.ftruncate(fd, 4096)
            with self.assertRaises(PermissionError):
                shmx.Region.from_fd(fd)
            with shmx.Region.from_fd(fd, allow_unsealed=True) as r:
                self.assertEqual(r.size, 4096)
        finally:
            os.close(fd)

    def test_forked_child_attaches_to_an_inherited_anonymous_channel(self):
        with shmx.Channel.create_anon(4096, "consumer") as rx:
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    with shmx.Channel.attach(rx.region, "producer") as tx:
                        tx.send(b"from the child")
                    code = 0
                finally:
                    os._exit(code)
            self.assertEqual(rx.recv(WAIT), b"from the child")
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            with self.assertRaises(shmx.PeerClosedError):
                rx.recv(WAIT)

    def test_a_forked_childs_copy_of_a_pair_is_the_parents(self):
        # shmx(7), KINDS: the inherited handle answers EBADFD in the child,
        # its close there leaves the parent's role; the child attaches.
        with shmx.Pair.create_anon("writer") as w:
            w.wait(0)                       # the parent holds the turn
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    for call in (lambda: w.wait(0), w.post, w.fileno):
                        try:
                            call()
                        except OSError as e:
                            if e.errno != errno.EBADFD:
                                raise
                        else:
                            raise AssertionError("no EBADFD")
                    region = w.region
                    with shmx.Pair.attach(region, "reader") as rd:
                        w.close()
                        rd.wait(WAIT)
                        rd.post()
                    code = 0
                finally:
                    os._exit(code)
            w.post()
            w.wait(WAIT)                    # the child's answer
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            w.post()
            with self.assertRaises(shmx.PeerClosedError):
                w.wait(WAIT)

    def test_the_region_of_a_channel_is_not_for_access_and_goes_with_it(self):
        ch = shmx.Channel.create_anon(4096, "producer")
        r = ch.region
        with self.assertRaisesRegex(ValueError, "belongs"):
            r.buf
        ch.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            r.fileno()


class TestFileno(Base):
    def test_channel_fileno_is_readable_once_a_message_waits(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer") as rx, \
                shmx.Channel.open(n, "producer", WAIT) as tx:
            fd = rx.fileno()
            with self.assertRaises(BlockingIOError):
                rx.recv(0)                  # arms the descriptor
            tx.send(b"wake")
            self.assertEqual(select.select([fd], [], [], WAIT)[0], [fd])
            self.assertEqual(rx.recv(0), b"wake")

    def test_pair_fileno_is_readable_when_the_turn_comes(self):
        n = self.name()
        with shmx.Region.create(n, 4096) as r, shmx.Pair.create(r, "writer") as w, \
                shmx.Pair.open(r, "reader") as rd:
            fd = rd.fileno()
            with self.assertRaises(BlockingIOError):
                rd.wait(0)
            w.wait(WAIT)
            w.post()
            self.assertEqual(select.select([fd], [], [], WAIT)[0], [fd])
            rd.wait(0)
