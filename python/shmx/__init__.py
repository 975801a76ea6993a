# SPDX-License-Identifier: MIT
"""libshmx from Python: shared-memory regions, semaphore pairs and channels.

A ctypes layer (standard library only) over libshmx.so.0, with Python's
conventions:

- errors are OSError subclasses carrying the errno (FileNotFoundError,
  FileExistsError, TimeoutError, BlockingIOError for "try once" that found
  nothing, ...), PeerClosedError (a BrokenPipeError) and PeerDiedError (a
  ConnectionError) naming the peer that went; bad arguments are ValueError
  or TypeError naming the argument;
- timeouts are seconds (float), None waits for ever (still watching the
  peer), 0 tries once;
- handles are context managers; a region's ``buf`` and a channel's
  ``peek()`` are views of shared memory, not copies: close() refuses while
  such a view is alive (BufferError, as mmap.close() does), and an
  exception leaving a ``with`` block goes through unchanged;
- Channel and Pair have fileno() for select, poll and asyncio.

    with shmx.Channel.open("/frames", "consumer", timeout=5) as ch:
        for msg in ch:              # ends when the producer closes
            frame = numpy.frombuffer(msg, numpy.uint8)

The library is found through SHMX_LIBRARY, meson's install, the dynamic
loader, pkg-config or ctypes.util.find_library (see ``shmx._load``). The
contracts are those of the C library, in shmx(7); docs/python.md is the
guide.
"""
from __future__ import annotations

from ._args import CHAN_MAX_PEERS, NAME_MAX
from ._channel import Channel, chan_unlink
from ._errors import MessagesLostError, PeerClosedError, PeerDiedError, strerror
from ._pair import Pair, pair_unlink
from ._region import IPC_PRIVATE, Region, file_unlink, sysv_remove, unlink
from ._stat import (ChannelPeer, ChannelStat, Stat, SysvStat, canon_name, chan_peers,
                    chan_stat, guard_sigbus, stat, sysv_key, sysv_stat, version)

__version__: str = version()
"""The version of the libshmx this binding loaded (shmx_version(3)): the
binding and the library are one project, released together."""

SLOT_OWNER, SLOT_WRITER, SLOT_READER = 0, 1, 2
"""Liveness slots: bit (1 << SLOT_*) of Stat.holders and ChannelStat.holders."""
HOLDERS_UNKNOWN = 1 << 31
"""Set in holders when the locks could not be read (no descriptor, no access)."""

__all__ = [
    "Region", "Pair", "Channel",
    "PeerClosedError", "PeerDiedError", "MessagesLostError",
    "Stat", "SysvStat", "ChannelStat", "ChannelPeer",
    "version", "strerror", "canon_name", "guard_sigbus",
    "stat", "unlink", "file_unlink", "pair_unlink", "chan_unlink",
    "chan_stat", "chan_peers", "sysv_key", "sysv_remove", "sysv_stat",
    "IPC_PRIVATE", "NAME_MAX", "CHAN_MAX_PEERS",
    "SLOT_OWNER", "SLOT_WRITER", "SLOT_READER", "HOLDERS_UNKNOWN",
]
