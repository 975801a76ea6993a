# SPDX-License-Identifier: MIT
"""Who frees a C handle: the last of its Python object and the views of its
memory.

A memoryview (or a numpy array built on one) of a mapping must never
outlive the mapping. close() refuses while such views exist (BufferError,
as mmap.close() does); but a ``with`` block left by an exception must let
that exception through, and an object dropped while views live must not
unmap under them. So the handle belongs to an Owner that the object and
every view's ctypes array reference: the handle is freed when the last of
them goes.
"""
from __future__ import annotations

import ctypes
import sys
from typing import Any, Callable, Optional

Closer = Callable[[Any], Any]


class Owner:
    """One C handle and the function that frees it (None once freed, or
    for a handle that something else owns)."""

    __slots__ = ("handle", "_close")

    def __init__(self, handle: int, close: Optional[Closer]) -> None:
        self.handle: int | None = handle
        self._close = close

    def release(self) -> None:
        """Free the handle now (the caller checked there is no view)."""
        h, self.handle = self.handle, None
        if h and self._close is not None:
            self._close(h)

    def __del__(self) -> None:
        # Also at interpreter exit, when modules may be half torn down:
        # then the process is going and the kernel frees it all anyway.
        try:
            self.release()
        except Exception:
            pass


def views_alive(arr: Optional[ctypes.Array[ctypes.c_ubyte]]) -> bool:
    """True while a memoryview (or anything built on one) of the ctypes
    array arr exists: each view's managed buffer holds a reference to it.
    The expected count is the caller's attribute, our argument and
    getrefcount's own; interpreters other than CPython do not tell, and
    are trusted."""
    if arr is None or not hasattr(sys, "getrefcount"):
        return False
    return sys.getrefcount(arr) > 3


def view_of(addr: int, size: int, owner: Owner) -> ctypes.Array[ctypes.c_ubyte]:
    """A ctypes array over [addr, addr + size) that keeps owner alive."""
    arr = (ctypes.c_ubyte * size).from_address(addr)
    arr._shmx_owner = owner  # type: ignore[attr-defined]
    return arr


def note(exc: BaseException | None, text: str) -> None:
    """Add text to the notes of the exception that is leaving a with
    block (Python 3.11 on; older ones have no notes)."""
    add = getattr(exc, "add_note", None)
    if add is not None:
        add(text)
