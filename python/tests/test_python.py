# SPDX-License-Identifier: MIT
"""The Python protocols: __version__, repr, docstrings, pickling (also into
a spawned multiprocessing child), SharedMemory-style construction with a
unique name, interplay with multiprocessing.shared_memory."""
from __future__ import annotations

import inspect
import multiprocessing
import os
import pickle
import re
from multiprocessing import resource_tracker, shared_memory

import shmx

from .helpers import WAIT, Base


def _child_reads(region: shmx.Region, q: "multiprocessing.Queue[bytes]") -> None:
    """In a spawned child: the unpickled region is the same memory."""
    with region:
        q.put(bytes(region.buf[:5]))


def _child_sends(ch: shmx.Channel) -> None:
    with ch:
        ch.send(b"from the child")


class TestVersion(Base):
    def test_version_is_the_loaded_librarys(self):
        self.assertEqual(shmx.__version__, shmx.version())
        self.assertRegex(shmx.__version__, r"^\d+\.\d+\.\d+$")
        root = os.environ.get("SHMX_SOURCE_ROOT")
        if root:
            with open(os.path.join(root, "meson.build")) as f:
                m = re.search(r"version:\s*'([^']+)'", f.read())
            self.assertEqual(shmx.__version__, m and m.group(1))


class TestRepr(Base):
    def test_region_repr_shows_kind_name_size_octal_mode(self):
        n = self.name()
        with shmx.Region.create(n, 8192, 0o640) as r:
            self.assertEqual(repr(r), "<shmx.Region posix %r size=8192 mode=0o640 "
                             "mapped>" % n)
            self.assertIn("mode=0o640", repr(r.fstat()))
            self.assertIn("mode=0o640", repr(shmx.stat(n)))
        self.assertEqual(repr(r), "<shmx.Region posix closed>")
        with shmx.Region.anon(4096, map=False) as a:
            self.assertEqual(repr(a), "<shmx.Region anon size=4096 mode=0o600>")

    def test_channel_and_pair_repr_show_name_and_role(self):
        n = self.name()
        with shmx.Channel.create(n, 4096, "consumer") as ch:
            self.assertEqual(repr(ch), "<shmx.Channel %r consumer slot=0 "
                             "capacity=4096>" % n)
        self.assertEqual(repr(ch), "<shmx.Channel %r consumer closed>" % n)
        with shmx.Pair.create_anon("writer") as p:
            self.assertEqual(repr(p), "<shmx.Pair anon writer>")


class TestDocstrings(Base):
    def test_every_public_name_and_method_has_a_docstring(self):
        missing = []
        for name in shmx.__all__:
            obj = getattr(shmx, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not inspect.getdoc(obj):
                missing.append(name)
            if inspect.isclass(obj) and obj.__module__.startswith("shmx"):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or attr.startswith("__"):
                        continue
                    if not inspect.getdoc(getattr(obj, attr)):
                        missing.append(name + "." + attr)
        self.assertEqual(missing, [])


class TestUniqueNames(Base):
    def test_region_with_no_name_picks_a_fresh_one_like_shared_memory(self):
        with shmx.Region(create=True, size=4096) as a, \
                shmx.Region.create(None, 4096) as b:
            self.names += [a.name, b.name]
            self.assertNotEqual(a.name, b.name)
            self.assertTrue(os.path.exists("/dev/shm" + a.name))
            a.buf[:2] = b"hi"
            with shmx.Region(a.name) as again:
                self.assertEqual(bytes(again.buf[:2]), b"hi")
        with self.assertRaisesRegex(ValueError, "name"):
            shmx.Region()

    def test_channel_with_no_name_picks_a_fresh_one(self):
        with shmx.Channel.create(None, 4096, "consumer") as ch:
            self.names.append(ch.name)
            with shmx.Channel.open(ch.name, "producer", WAIT) as tx:
                tx.send(b"x")
            self.assertEqual(ch.recv(WAIT), b"x")


class TestSharedMemoryInterop(Base):
    def test_shared_memory_attaches_to_a_region_and_back(self):
        n = self.name()
        with shmx.Region.create(n, 4096) as r:
            r.buf[:5] = b"shmx!"
            sm = shared_memory.SharedMemory(name=n[1:])
            # CPython before 3.13 registers an attaching SharedMemory with
            # its resource tracker, which would unlink n at exit (gh-82300).
            resource_tracker.unregister(sm._name, "shared_memory")
            try:
                self.assertEqual(bytes(sm.buf[:5]), b"shmx!")
                sm.buf[:2] = b"SM"
                self.assertEqual(bytes(r.buf[:5]), b"SMmx!")
            finally:
                sm.close()
        sm = shared_memory.SharedMemory(create=True, size=4096)
        try:
            sm.buf[:3] = b"abc"
            with shmx.Region.open(sm.name) as r:
                self.assertEqual(bytes(r.buf[:3]), b"abc")
        finally:
            sm.close()
            sm.unlink()


class TestPickle(Base):
    def test_named_objects_pickle_by_name(self):
        n, c = self.name(), self.name()
        with shmx.Region.create(n, 4096) as r:
            r.buf[:4] = b"data"
            with pickle.loads(pickle.dumps(r)) as r2:
                self.assertEqual((r2.name, bytes(r2.buf[:4])), (n, b"data"))
                self.assertNotEqual(r2.addr, r.addr)     # a mapping of its own
            with shmx.Pair.create(r, "writer"):
                rd = shmx.Pair.open(r, "reader")
                data = pickle.dumps(rd)
                rd.close()       # the role is free for the unpickled one
                with pickle.loads(data) as rd2:
                    self.assertEqual((rd2.role, rd2.region.name), ("reader", n))
                    rd2.region.close()
        with shmx.Channel.create(c, 4096, "consumer", producers=2) as rx:
            tx = shmx.Channel.open(c, "producer", WAIT)
            with pickle.loads(pickle.dumps(tx)) as tx2, tx:
                self.assertEqual((tx2.role, tx2.slot, tx.slot), ("producer", 1, 0))
                tx2.send(b"via pickle")
            self.assertEqual(rx.recv(WAIT), b"via pickle")

    def test_anonymous_objects_refuse_pickling_and_say_how_to_pass_them(self):
        with shmx.Region.anon(4096) as r, shmx.Channel.create_anon(4096, "producer") \
                as ch, shmx.Pair.create_anon("writer") as p:
            for obj in (r, ch, p, ch.region):
                with self.assertRaisesRegex(TypeError, "send_fds.*fork"):
                    pickle.dumps(obj)
        with self.assertRaisesRegex(ValueError, "closed"):
            pickle.dumps(r)

    def test_a_spawned_process_gets_the_region_and_the_channel_by_name(self):
        n, c = self.name(), self.name()
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        with shmx.Region.create(n, 4096) as r, \
                shmx.Channel.create(c, 4096, "consumer", producers=2) as rx:
            r.buf[:5] = b"spawn"
            child = ctx.Process(target=_child_reads, args=(r, q))
            child.start()
            self.assertEqual(q.get(timeout=WAIT), b"spawn")
            child.join(WAIT)
            self.assertEqual(child.exitcode, 0)
            # the child opens a producer slot of its own: this one stays
            with shmx.Channel.open(c, "producer", WAIT) as tx:
                child = ctx.Process(target=_child_sends, args=(tx,))
                child.start()
                self.assertEqual(rx.recv(WAIT), b"from the child")
                child.join(WAIT)
                self.assertEqual(child.exitcode, 0)
                tx.send(b"from the parent")
            self.assertEqual(rx.recv(WAIT), b"from the parent")
            with self.assertRaises(shmx.PeerClosedError):
                rx.recv(WAIT)
        q.close()
        q.join_thread()
