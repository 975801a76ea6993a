#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Several channels read from one asyncio event loop, no thread per channel.

    python3 asyncio_channels.py /sensor-a /sensor-b /sensor-c

Start producers for those names first (examples/chan-producer NAME, or
``shmx send NAME``). Each message is printed as "NAME: message"; each
channel ends with "NAME: closed" or "NAME: died".

A channel's fileno() is readable when a message may be waiting or its
producer has gone. messages() registers it with loop.add_reader() and
drains the channel with timeout 0 until BlockingIOError, which re-arms the
descriptor (shmx_chan_fd(3)); the receive itself never blocks the loop.
"""
from __future__ import annotations

import asyncio
import sys
from typing import AsyncIterator, List

import shmx


async def messages(ch: shmx.Channel) -> AsyncIterator[bytes]:
    """The channel's messages as they come, until its producers close
    (the iteration ends) or die (PeerDiedError)."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    fd = ch.fileno()
    loop.add_reader(fd, ready.set)
    try:
        while True:
            try:
                batch = ch.recv_many(256, timeout=0)
            except BlockingIOError:
                # Empty, and the descriptor armed: sleep until it fires.
                ready.clear()
                await ready.wait()
                continue
            except shmx.PeerClosedError:
                return
            for msg in batch:
                yield msg
    finally:
        loop.remove_reader(fd)


async def consume(name: str) -> str:
    """Print one channel's messages; how it ended: "closed" or "died"."""
    with shmx.Channel.open(name, "consumer", timeout=10) as ch:
        try:
            async for msg in messages(ch):
                print("%s: %s" % (name, msg.decode(errors="replace").rstrip("\n")))
        except shmx.PeerDiedError:
            return "died"
    return "closed"


async def main(names: List[str]) -> int:
    ends = await asyncio.gather(*(consume(n) for n in names))
    for name, end in zip(names, ends):
        print("%s: %s" % (name, end))
    return 0 if all(end == "closed" for end in ends) else 1


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 else 2)
    sys.exit(asyncio.run(main(sys.argv[1:])))
