# SPDX-License-Identifier: MIT
"""Metadata: what shmx_stat(3), shmx_sysv_stat(3), shmx_chan_stat(3) and
shmx_chan_peers(3) tell, as named tuples whose repr shows modes in octal."""
from __future__ import annotations

import ctypes
import os
from typing import Any, List, NamedTuple, Union

from . import _args, _lib
from ._errors import check
from ._lib import lib as _c

CHAN_PRODUCER = 1 << 8
_POLICY_NAMES = {0: "block", 1: "overwrite"}
_PEER_STATES = ("free", "attached", "closed", "dead")


def _octal_repr(t: Any) -> str:
    fields = ", ".join("%s=%s" % (k, oct(v) if k == "mode" else repr(v))
                       for k, v in zip(t._fields, t))
    return "%s(%s)" % (type(t).__name__, fields)


class Stat(NamedTuple):
    """A region's metadata; times are seconds since the epoch, holders the
    liveness slots held now (bit 1 << SLOT_*)."""
    size: int
    mode: int
    uid: int
    gid: int
    holders: int
    atime: float
    mtime: float
    ctime: float

    def __repr__(self) -> str:
        return _octal_repr(self)


def _ts(t: Any) -> float:
    return float(t.tv_sec + t.tv_nsec / 1e9)


def stat_tuple(i: Any) -> Stat:
    """A Stat from a struct shmx_info."""
    return Stat(i.size, i.mode, i.uid, i.gid, i.holders,
                _ts(i.atime), _ts(i.mtime), _ts(i.ctime))


def stat(name: _args.Name) -> Stat:
    """Metadata of a named object (no read access needed)."""
    canon = _args.name(name)
    info = _lib.Info()
    check(_c.shmx_stat(canon, ctypes.byref(info)), os.fsdecode(canon))
    return stat_tuple(info)


class SysvStat(NamedTuple):
    """IPC_STAT of a System V segment."""
    key: int
    id: int
    size: int
    mode: int
    uid: int
    gid: int
    cuid: int
    cgid: int
    cpid: int
    lpid: int
    nattch: int
    removed: bool
    atime: int
    dtime: int
    ctime: int

    def __repr__(self) -> str:
        return _octal_repr(self)


def sysv_stat(shmid: int) -> SysvStat:
    """IPC_STAT of segment shmid (needs read permission on it)."""
    i = _lib.SysvInfo()
    check(_c.shmx_sysv_stat(_args.in_range(shmid, "shmid", 0, 2 ** 31 - 1),
                            ctypes.byref(i)))
    return SysvStat(i.key, i.id, i.size, i.mode, i.uid, i.gid, i.cuid, i.cgid,
                    i.cpid, i.lpid, i.nattch, bool(i.removed), i.atime, i.dtime,
                    i.ctime)


def sysv_key(path: _args.Name, proj: int) -> int:
    """The System V key ftok(3) gives for (path, proj), proj in 1..255."""
    p = _args.path(path)
    key = _lib.c_key_t()
    check(_c.shmx_sysv_key(p, _args.in_range(proj, "proj", 1, 255),
                           ctypes.byref(key)), os.fsdecode(p))
    return int(key.value)


class ChannelStat(NamedTuple):
    """A channel's decoded header (shmx_chan_stat(3)); policy is "block"
    or "overwrite", lost the sum over its consumers."""
    abi: int
    header_size: int
    capacity: int
    max_msg: int
    used: int
    sent: int
    received: int
    producer_pid: int
    consumer_pid: int
    holders: int
    policy: Union[str, int]
    producers: int
    consumers: int
    lost: int


def chan_stat(name: _args.Name) -> ChannelStat:
    """Decode and validate a channel's header without attaching to it
    (OSError EBADMSG if name is not a libshmx channel)."""
    canon = _args.name(name)
    i = _lib.ChanInfo()
    check(_c.shmx_chan_stat(canon, ctypes.byref(i)), os.fsdecode(canon))
    return ChannelStat(i.abi, i.header_size, i.capacity, i.max_msg, i.used, i.sent,
                       i.received, i.producer_pid, i.consumer_pid, i.holders,
                       _POLICY_NAMES.get(i.policy, i.policy), i.producers,
                       i.consumers, i.lost)


class ChannelPeer(NamedTuple):
    """One slot of a channel: role "producer" or "consumer", state "free",
    "attached", "closed" or "dead", messages counted, a consumer's lag
    (bytes behind) and messages lost."""
    role: str
    slot: int
    pid: int
    state: Union[str, int]
    generation: int
    count: int  # type: ignore[assignment]  # (shadows tuple.count)
    lag: int
    lost: int


def chan_peers(name: _args.Name) -> List[ChannelPeer]:
    """The slots of channel name, producers first (shmx_chan_peers(3))."""
    canon = _args.name(name)
    peers = (_lib.ChanPeer * (2 * _args.CHAN_MAX_PEERS))()
    n = min(check(_c.shmx_chan_peers(canon, peers, len(peers)), os.fsdecode(canon)),
            len(peers))
    return [ChannelPeer("producer" if p.role == CHAN_PRODUCER else "consumer", p.slot,
                        p.pid, _PEER_STATES[p.state] if p.state < 4 else p.state,
                        p.generation, p.count, p.lag, p.lost) for p in peers[:n]]


def canon_name(name: _args.Name) -> str:
    """The canonical form "/name" of a name (ValueError for a name the rules
    of shmx(7) refuse)."""
    return os.fsdecode(_args.name(name))


def version() -> str:
    """Version of the loaded libshmx, e.g. '0.2.0'."""
    return bytes(_c.shmx_version()).decode()


def guard_sigbus() -> None:
    """Process-wide: a SIGBUS inside libshmx's own copies (a peer truncated
    the object) becomes OSError EFAULT instead of killing the process."""
    check(_c.shmx_guard_sigbus())
