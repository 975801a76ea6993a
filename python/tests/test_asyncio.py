# SPDX-License-Identifier: MIT
"""One asyncio event loop reading three channels fed by C producers
(examples/chan-producer), through Channel.fileno() and the messages()
helper of python/examples/asyncio_channels.py; one producer is killed and
its channel ends with PeerDiedError while the others go on."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import Dict, List

import shmx

from .helpers import CHAN_PRODUCER, WAIT, Base, scaled

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import asyncio_channels  # noqa: E402


class TestAsyncio(Base):
    def test_one_loop_reads_three_c_producers_and_sees_one_die(self):
        prog = self.program(CHAN_PRODUCER, "examples/chan-producer")
        count = scaled(50000)
        a, b, c = self.name(), self.name(), self.name()
        self.run_c(prog, "--count", str(count), a)
        self.run_c(prog, "--count", str(count), b)
        doomed = self.run_c(prog, c, stdin=subprocess.PIPE)
        chans = [shmx.Channel.open(n, "consumer", WAIT) for n in (a, b, c)]
        got: Dict[str, List[bytes]] = {a: [], b: [], c: []}

        async def read(ch: shmx.Channel) -> str:
            try:
                async for msg in asyncio_channels.messages(ch):
                    got[ch.name].append(msg)
                    if ch.name == c:
                        # kill -9 after the first line: the loop must see it
                        doomed.send_signal(signal.SIGKILL)
            except shmx.PeerDiedError as e:
                return str(e)
            return "closed"

        async def main() -> List[str]:
            return await asyncio.wait_for(
                asyncio.gather(*(read(ch) for ch in chans)), WAIT)

        doomed.stdin.write(b"only line\n")
        doomed.stdin.flush()
        try:
            ends = asyncio.run(main())
        finally:
            for ch in chans:
                ch.close()
        self.assertEqual(ends[:2], ["closed", "closed"])
        self.assertIn("the producer of channel %r died" % c, ends[2])
        for n in (a, b):
            self.assertEqual(got[n], [b"message %d\n" % i for i in range(count)])
        self.assertEqual(got[c], [b"only line\n"])

    def test_the_example_runs_as_a_program(self):
        prog = self.program(CHAN_PRODUCER, "examples/chan-producer")
        a, b = self.name(), self.name()
        self.run_c(prog, "--count", "3", a)
        self.run_c(prog, "--count", "2", b)
        example = os.path.join(os.path.dirname(__file__), "..", "examples",
                               "asyncio_channels.py")
        out = subprocess.run([sys.executable, example, a, b], capture_output=True,
                             timeout=WAIT, check=True).stdout.decode()
        lines = out.splitlines()
        self.assertEqual([x for x in lines if x.startswith(a)],
                         ["%s: message %d" % (a, i) for i in range(3)] +
                         ["%s: closed" % a])
        self.assertEqual(lines[-2:], ["%s: closed" % a, "%s: closed" % b])
