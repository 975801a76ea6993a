# SPDX-License-Identifier: MIT
"""Pair: the writer/reader handoff of a region on two semaphores, with a
timeout on every wait and a turn that comes back when the peer dies or
closes (shmx(7), The turn)."""
from __future__ import annotations

import ctypes
import errno
import os
from typing import Any, Callable, Dict, Optional, Tuple

from . import _args, _lib
from ._errors import PeerDiedError, check, peer_error
from ._lib import lib as _c
from ._owner import Owner
from ._region import Region, _no_pickle

PAIR_WRITER, PAIR_READER = 1 << 8, 1 << 9
_ROLES: Dict[object, int] = {"writer": PAIR_WRITER, "reader": PAIR_READER}
_PEERS = {"writer": "reader", "reader": "writer"}


class Pair:
    """The semaphore pair of a region: the writer waits for "may write",
    writes the region and posts; the reader waits for "may read", reads and
    posts. Made by create() and open() for a named region, create_anon()
    and attach() for a pair with no name.

    Pickling a named pair pickles its region's name and its role: the other
    side attaches anew in that role (PermissionError EBUSY while this
    handle holds it). An anonymous pair cannot be pickled: pass its region
    (``pair.region``) with Region.send() or socket.send_fds(), or let a
    forked child inherit it, then attach().
    """

    _owner: Owner
    _role: str
    _region: Optional[Region]

    def __init__(self) -> None:
        raise TypeError("use Pair.create(), Pair.open(), Pair.create_anon() or "
                        "Pair.attach()")

    @classmethod
    def _wrap(cls, h: ctypes.c_void_p, role: str, region: Optional[Region]) -> Pair:
        self = cls.__new__(cls)
        self._owner = Owner(h.value or 0, _c.shmx_pair_close)
        self._role, self._region = role, region
        return self

    @classmethod
    def create(cls, region: Region, role: str, mode: int = 0o600) -> Pair:
        """Create the pair of a named region; the caller takes role
        ("writer" or "reader") and owns it. The writer's turn comes first."""
        flags, m = _args.choice(role, "role", _ROLES), _args.mode(mode)
        h = _lib.Handle()
        check(_c.shmx_pair_create(region._handle(), flags, m, ctypes.byref(h)),
              region.name)
        return cls._wrap(h, role, region)

    @classmethod
    def open(cls, region: Region, role: str) -> Pair:
        """Attach to a named region's pair in role: OSError EBUSY if the role
        is taken, PeerDiedError if the owner is dead."""
        flags = _args.choice(role, "role", _ROLES)
        h = _lib.Handle()
        ret = _c.shmx_pair_open(region._handle(), flags, ctypes.byref(h))
        if ret == -errno.EOWNERDEAD:
            raise PeerDiedError(-ret, "the owner of pair %r is gone (it closed or "
                                "died)" % region.name)
        check(ret, region.name)
        return cls._wrap(h, role, region)

    @classmethod
    def create_anon(cls, role: str) -> Pair:
        """A pair with no name, in a small sealed anonymous region; the
        caller takes role and owns it. Hand ``region`` to the peer."""
        flags = _args.choice(role, "role", _ROLES)
        h = _lib.Handle()
        check(_c.shmx_pair_create_anon(flags, ctypes.byref(h)))
        return cls._wrap(h, role, None)

    @classmethod
    def attach(cls, region: Region, role: str) -> Pair:
        """Attach to the anonymous pair in region (Region.anon_recv(),
        Region.from_fd(), or an inherited pair.region) in role; the pair has
        a descriptor and mapping of its own: region stays the caller's."""
        flags = _args.choice(role, "role", _ROLES)
        h = _lib.Handle()
        check(_c.shmx_pair_attach(region._handle(), flags, ctypes.byref(h)))
        return cls._wrap(h, role, None)

    def _handle(self) -> int:
        h = self._owner.handle
        if not h:
            raise ValueError("operation on a closed pair")
        return h

    def _what(self) -> str:
        if self._region is not None:
            return "pair %r" % self._region.name
        return "an anonymous pair"

    @property
    def role(self) -> str:
        """"writer" or "reader"."""
        return self._role

    @property
    def region(self) -> Region:
        """The region: a named pair's, or the anonymous pair's own (owned by
        the pair, for send() or fileno(), valid until the pair closes)."""
        if self._region is not None:
            return self._region
        r = _c.shmx_pair_region(self._handle())
        return Region._wrap(r, 0, "anon", parent=self)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Wait for our turn: TimeoutError, BlockingIOError for timeout=0
        when it is not ours, PeerClosedError or PeerDiedError as soon as the
        peer is seen gone."""
        ret = _c.shmx_pair_wait(self._handle(), _args.timeout_ms(timeout))
        if ret < 0:
            raise peer_error(ret, _PEERS[self._role], self._what())

    def post(self) -> None:
        """Hand the turn to the peer."""
        check(_c.shmx_pair_post(self._handle()))

    def fileno(self) -> int:
        """A descriptor for select/poll/asyncio, readable when the turn may
        be ours or the peer has gone; wait(0) raising BlockingIOError
        re-arms it. Owned by the pair."""
        return check(_c.shmx_pair_fd(self._handle()))

    def close(self) -> None:
        """Release the role (the peer's wait then raises PeerClosedError);
        never unlinks."""
        self._owner.release()

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return not self._owner.handle

    def __enter__(self) -> Pair:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        if self._region is not None:
            return "<shmx.Pair %r %s%s>" % (self._region.name, self._role, state)
        return "<shmx.Pair anon %s%s>" % (self._role, state)

    def __reduce__(self) -> Tuple[Callable[..., Pair], Tuple[Any, ...]]:
        self._handle()
        if self._region is None:
            _no_pickle("an anonymous pair")
        return (_reopen, (self._region.name, self._role))


def _reopen(name: str, role: str) -> Pair:
    """Unpickling: the named region's pair, attached in role."""
    return Pair.open(Region.open(name), role)


def pair_unlink(name: _args.Name) -> None:
    """Remove the semaphores of the pair bound to region name."""
    canon = _args.name(name)
    check(_c.shmx_pair_unlink(canon), os.fsdecode(canon))
