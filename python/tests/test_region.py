# SPDX-License-Identifier: MIT
"""Regions of every kind and the pair, against real objects and a C peer."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import unittest

import shmx

from .helpers import WAIT, Base, expected, scaled

import socket

try:
    import numpy
except ImportError:
    numpy = None


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


class TestRegion(Base):
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
