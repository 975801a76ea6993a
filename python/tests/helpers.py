# SPDX-License-Identifier: MIT
"""What the binding's tests share: unique names removed in tearDown, C
programs started and reaped, a check that /dev/shm is left as found.

meson test sets SHMX_LIBRARY (the built libshmx.so.0), PYTHONPATH (python/
of the source tree) and the C programs: SHMX_PY_PEER (tests/peer.c),
SHMX_CHAN_PRODUCER (examples/chan-producer). No test depends on timing:
every wait has a generous deadline (WAIT) that only a hang reaches, so the
tests pass as well under qemu or sanitizers, only slower.
"""
from __future__ import annotations

import os
import subprocess
import unittest
from typing import Any, List

import shmx

PEER = os.environ.get("SHMX_PY_PEER")
CHAN_PRODUCER = os.environ.get("SHMX_CHAN_PRODUCER")
WAIT = 60.0                   # seconds: any single wait in these tests
SCALE = float(os.environ.get("SHMX_TEST_SCALE", "1"))
PAYLOAD_MOD = 251             # as in peer.c
PATTERN = bytes(range(256)) * 2


def expected(i: int) -> bytes:
    """Message i as peer.c builds it."""
    return i.to_bytes(4, "little") + PATTERN[i & 0xff:(i & 0xff) + i % PAYLOAD_MOD]


def scaled(n: int) -> int:
    """n, times SHMX_TEST_SCALE (slow builds run fewer messages)."""
    return max(1, int(n * SCALE))


class Base(unittest.TestCase):
    """Names from name() and programs from run() are cleaned up after each
    test, which then checks that none of its objects is left."""

    counter = 0

    def setUp(self) -> None:
        self.names: List[str] = []
        self.procs: List[subprocess.Popen[bytes]] = []
        self.files: List[str] = []

    def name(self) -> str:
        """A name no other test (or test run) uses."""
        Base.counter += 1
        n = "/shmx-pytest-%d-%d" % (os.getpid(), Base.counter)
        self.names.append(n)
        return n

    def program(self, path: str | None, what: str) -> str:
        if not path:
            self.skipTest("%s is not built (run through meson test)" % what)
        return path

    def run_c(self, *argv: str, **kw: Any) -> subprocess.Popen[bytes]:
        """Start a C program; it is killed and reaped in tearDown."""
        p = subprocess.Popen(list(argv), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, **kw)
        self.procs.append(p)
        return p

    def peer(self, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
        """python/tests/peer.c with args."""
        return self.run_c(self.program(PEER, "shmx-py-peer"), *args, **kw)

    def finish(self, p: subprocess.Popen[bytes]) -> str:
        """The program's stdout once it exited 0."""
        out, err = p.communicate(timeout=WAIT)
        self.assertEqual(p.returncode, 0, "%s failed: %s" % (p.args, err.decode()))
        return out.decode()

    def tearDown(self) -> None:
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
        for f in self.files:
            if os.path.exists(f):
                os.unlink(f)
        left = [f for f in os.listdir("/dev/shm")
                if f.startswith("shmx-pytest-%d-" % os.getpid())]
        self.assertEqual(left, [], "objects left in /dev/shm")
