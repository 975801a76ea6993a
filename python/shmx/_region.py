# SPDX-License-Identifier: MIT
"""Region: one handle for shared memory of every kind (shmx(7), KINDS)."""
from __future__ import annotations

import ctypes
import errno
import os
import secrets
import socket
from typing import Any, Callable, NoReturn, Optional, Tuple

from . import _args, _lib
from ._errors import check
from ._lib import lib as _c
from ._owner import Owner, note, view_of, views_alive
from ._stat import Stat, stat_tuple

RDONLY, MAP, POPULATE, LAZY, UNLINK_ON_CLOSE = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4
GROWABLE, ALLOW_UNSEALED, ASYNC, DURABLE = 1 << 6, 1 << 7, 1 << 14, 1 << 13
IPC_PRIVATE = 0
_UNIQUE_TRIES = 16


def _flags(readonly: bool = False, map: bool = True, populate: bool = False,
           lazy: bool = False, unlink_on_close: bool = False) -> int:
    return ((RDONLY if readonly else 0) | (MAP if map else 0) |
            (POPULATE if populate else 0) | (LAZY if lazy else 0) |
            (UNLINK_ON_CLOSE if unlink_on_close else 0))


def _unique_name() -> str:
    """A fresh name, as multiprocessing.shared_memory makes them."""
    return "/shmx-py-%s" % secrets.token_hex(6)


class Region:
    """A region of shared memory: raw bytes, no header, so C programs,
    multiprocessing.shared_memory and numpy all read it.

    ``Region(name, create=True, size=n)`` and ``Region(name)`` work as
    multiprocessing.shared_memory.SharedMemory does (name=None with
    create=True picks a unique name); the class methods make every kind:
    named POSIX objects (create(), open()), files on a path (file_create(),
    file_open()), anonymous sealed memfds (anon(), anon_recv(), from_fd())
    and System V segments (sysv_create(), sysv_open()). A region is mapped
    unless map=False; ``buf`` is the mapping itself. Nothing is ever
    unlinked implicitly: the creator calls unlink().

    Pickling a named, file or System V region pickles its name, path or id:
    the other side opens it again (same readonly and map). An anonymous
    region has no name: pass it with send() or socket.send_fds() and
    anon_recv() or from_fd(), or let a forked child inherit it.
    """

    _owner: Owner
    _flags: int
    _kind: str
    _arr: Optional[ctypes.Array[ctypes.c_ubyte]]
    _parent: Any

    def __init__(self, name: Optional[_args.Name] = None, create: bool = False,
                 size: int = 0, *, mode: int = 0o600, readonly: bool = False,
                 map: bool = True) -> None:
        """Create (create=True; name None picks a unique one) or open the
        named region name, as SharedMemory(name, create, size) does."""
        if create:
            other = Region.create(name, size, mode, map=map)
        elif name is None:
            raise ValueError("name can be None only with create=True "
                             "(a new region then gets a unique name)")
        else:
            other = Region.open(name, readonly=readonly, map=map)
        self._adopt(other)

    def _adopt(self, other: Region) -> None:
        self._owner, self._flags, self._kind = other._owner, other._flags, other._kind
        self._arr, self._parent = None, None
        other._owner = Owner(0, None)

    @classmethod
    def _wrap(cls, handle: Any, flags: int, kind: str, parent: Any = None) -> Region:
        """A Region over a C handle; a parent (channel, pair) owns it when
        given, else the Region does."""
        self = cls.__new__(cls)
        self._owner = Owner(handle.value if isinstance(handle, ctypes.c_void_p)
                            else handle, None if parent else _c.shmx_close)
        self._flags, self._kind, self._arr, self._parent = flags, kind, None, parent
        return self

    @classmethod
    def _made(cls, ret: int, h: ctypes.c_void_p, flags: int, kind: str,
              filename: str | None = None) -> Region:
        check(ret, filename)
        return cls._wrap(h, flags, kind)

    @classmethod
    def create(cls, name: Optional[_args.Name], size: int, mode: int = 0o600, *,
               map: bool = True, populate: bool = False, lazy: bool = False,
               unlink_on_close: bool = False) -> Region:
        """Create a new named object of size bytes, mode exactly as given
        (never adopts an existing one: FileExistsError); name None picks a
        unique one (see ``name``). Pages are reserved unless lazy."""
        n, m = _args.size(size), _args.mode(mode)
        f = _flags(False, map, populate, lazy, unlink_on_close)
        for _ in range(_UNIQUE_TRIES if name is None else 1):
            canon = _args.name(_unique_name() if name is None else name)
            h = _lib.Handle()
            ret = _c.shmx_create(canon, n, f, m, ctypes.byref(h))
            if ret != -errno.EEXIST or name is not None:
                break
        return cls._made(ret, h, f, "posix", os.fsdecode(canon))

    @classmethod
    def open(cls, name: _args.Name, *, readonly: bool = False, map: bool = True,
             populate: bool = False) -> Region:
        """Open an existing named object (FileNotFoundError if there is none)."""
        canon = _args.name(name)
        h = _lib.Handle()
        f = _flags(readonly, map, populate)
        return cls._made(_c.shmx_open(canon, f, ctypes.byref(h)), h, f, "posix",
                         os.fsdecode(canon))

    @classmethod
    def file_create(cls, path: _args.Name, size: int, mode: int = 0o600, *,
                    durable: bool = False, map: bool = True, populate: bool = False,
                    lazy: bool = False) -> Region:
        """Create a new file at path with the region contracts (exclusive,
        mode exact, pages reserved, linked in complete); durable fsyncs the
        file and its directory so it survives a crash of the machine."""
        p, n, m = _args.path(path), _args.size(size), _args.mode(mode)
        f = _flags(False, map, populate, lazy) | (DURABLE if durable else 0)
        h = _lib.Handle()
        return cls._made(_c.shmx_file_create(p, n, f, m, ctypes.byref(h)), h, f,
                         "file", os.fsdecode(p))

    @classmethod
    def file_open(cls, path: _args.Name, *, readonly: bool = False, map: bool = True,
                  populate: bool = False) -> Region:
        """Open an existing file as a region (not through a symlink)."""
        p = _args.path(path)
        h = _lib.Handle()
        f = _flags(readonly, map, populate)
        return cls._made(_c.shmx_file_open(p, f, ctypes.byref(h)), h, f, "file",
                         os.fsdecode(p))

    @classmethod
    def anon(cls, size: int, *, growable: bool = False, lazy: bool = False,
             map: bool = True) -> Region:
        """A new anonymous region (memfd) sealed against truncation (and
        growth unless growable); nothing can leak, plant or cut it."""
        n = _args.size(size)
        h = _lib.Handle()
        f = _flags(False, map, False, lazy) | (GROWABLE if growable else 0)
        return cls._made(_c.shmx_anon_create(n, f, ctypes.byref(h)), h, f, "anon")

    @classmethod
    def anon_recv(cls, sock: socket.socket | int, timeout: Optional[float] = None, *,
                  allow_unsealed: bool = False, map: bool = True) -> Region:
        """Receive an anonymous region sent over a Unix socket (a socket or
        its descriptor) by send() or socket.send_fds(); PermissionError if
        it is not sealed against shrinking, unless allow_unsealed."""
        fd, ms = _args.fd_of(sock), _args.timeout_ms(timeout)
        h = _lib.Handle()
        f = _flags(False, map) | (ALLOW_UNSEALED if allow_unsealed else 0)
        return cls._made(_c.shmx_anon_recv(fd, f, ms, ctypes.byref(h)), h, f, "anon")

    @classmethod
    def from_fd(cls, fd: int, *, allow_unsealed: bool = False,
                map: bool = True) -> Region:
        """An anonymous region from a descriptor (one socket.recv_fds()
        gave, or one inherited), checked as anon_recv() checks it. The
        region has a descriptor of its own: fd stays the caller's."""
        fd = _args.fd_of(fd, "fd")
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b:
            socket.send_fds(a, [b"M"], [fd])
            return cls.anon_recv(b, 0, allow_unsealed=allow_unsealed, map=map)

    @classmethod
    def sysv_create(cls, key: int, size: int, mode: int = 0o600, *, map: bool = True,
                    lazy: bool = False) -> Region:
        """Create a new System V segment (key may be IPC_PRIVATE); it lives
        until sysv_remove() and its last detach."""
        k = _args.in_range(key, "key", -2 ** 31, 2 ** 31 - 1)
        n, m = _args.size(size), _args.mode(mode)
        h = _lib.Handle()
        f = _flags(False, map, False, lazy)
        return cls._made(_c.shmx_sysv_create(k, n, f, m, ctypes.byref(h)), h, f, "sysv")

    @classmethod
    def sysv_open(cls, key: Optional[int] = None, *, id: Optional[int] = None,
                  readonly: bool = False, map: bool = True) -> Region:
        """Attach to an existing System V segment by key or by id."""
        if (key is None) == (id is None):
            raise TypeError("give exactly one of key and id")
        h = _lib.Handle()
        f = _flags(readonly, map)
        if id is None:
            k = _args.in_range(key, "key", -2 ** 31, 2 ** 31 - 1)
            ret = _c.shmx_sysv_open(k, f, ctypes.byref(h))
        else:
            i = _args.in_range(id, "id", 0, 2 ** 31 - 1)
            ret = _c.shmx_sysv_open_id(i, f, ctypes.byref(h))
        return cls._made(ret, h, f, "sysv")

    def _handle(self) -> int:
        h = self._owner.handle
        if not h:
            raise ValueError("I/O operation on a closed region")
        if self._parent is not None and self._parent.closed:
            raise ValueError("the %s this region belongs to is closed"
                             % type(self._parent).__name__.lower())
        return h

    def _own(self, what: str) -> int:
        h = self._handle()
        if self._parent is not None:
            raise ValueError("cannot %s the region of a %s: it belongs to it "
                             "(pass it on with send() or fileno())"
                             % (what, type(self._parent).__name__.lower()))
        return h

    @property
    def buf(self) -> memoryview:
        """The mapping as a memoryview of unsigned bytes (read-only for a
        read-only region). No copy: numpy.frombuffer(region.buf) shares it.
        While such views exist close(), unmap() and resize() raise
        BufferError."""
        h = self._own("access")
        addr, size = _c.shmx_addr(h), int(_c.shmx_size(h))
        if not addr:
            raise ValueError("region is not mapped (map() it first)")
        arr = self._arr
        if arr is None or ctypes.addressof(arr) != addr or len(arr) != size:
            self._check_no_views()
            arr = self._arr = view_of(addr, size, self._owner)
        mv = memoryview(arr).cast("B")
        return mv.toreadonly() if self._flags & RDONLY else mv

    def _check_no_views(self) -> None:
        if views_alive(self._arr):
            raise BufferError("views of the mapping still exist: release "
                              "them (del, memoryview.release()) first")
        self._arr = None

    @property
    def kind(self) -> str:
        """"posix" (a name in /dev/shm), "file", "anon" or "sysv"."""
        return self._kind

    @property
    def name(self) -> Optional[str]:
        """Canonical "/name", a file region's path; None for an anonymous or
        System V region."""
        n = _c.shmx_name(self._handle())
        return os.fsdecode(n) if n else None

    @property
    def size(self) -> int:
        """Size in bytes (of the object; the mapping when mapped)."""
        return int(_c.shmx_size(self._handle()))

    @property
    def mode(self) -> int:
        """Permission bits of the object now (an int: print it with oct())."""
        return self.fstat().mode

    @property
    def readonly(self) -> bool:
        """True when opened read-only."""
        return bool(self._flags & RDONLY)

    @property
    def addr(self) -> int:
        """Address of the mapping in this process (0 when not mapped)."""
        return int(_c.shmx_addr(self._handle()) or 0)

    def fileno(self) -> int:
        """The descriptor (owned by the region; dup it to keep it)."""
        return check(_c.shmx_fd(self._handle()))

    @property
    def sysv_id(self) -> int:
        """A System V segment's id (OSError EOPNOTSUPP for another kind)."""
        return check(_c.shmx_sysv_id(self._handle()))

    def map(self) -> None:
        """Map the whole object (its current size)."""
        check(_c.shmx_map(self._own("map")))

    def unmap(self) -> None:
        """Remove the mapping (BufferError while views of it exist)."""
        h = self._own("unmap")
        self._check_no_views()
        check(_c.shmx_unmap(h))

    def resize(self, size: int) -> None:
        """Change the size (growing reserves pages); the mapping may move,
        so views of it must be gone first."""
        n = _args.size(size)
        h = self._own("resize")
        self._check_no_views()
        check(_c.shmx_resize(h, n))

    def sync(self) -> None:
        """msync(MS_SYNC) the whole mapping: a file region's bytes reach
        its file."""
        check(_c.shmx_sync(self._own("sync")))

    def sync_range(self, offset: int, length: int, *, wait: bool = True) -> None:
        """msync of bytes [offset, offset + length) of the mapping; wait=False
        starts the write-back (MS_ASYNC) without waiting for it."""
        off = _args.in_range(offset, "offset", 0, _args.OFF_MAX)
        n = _args.in_range(length, "length", 0, _args.OFF_MAX)
        h = self._own("sync")
        if off + n > int(_c.shmx_size(h)):
            raise ValueError("offset + length (%d) is past the end of the region "
                             "(%d bytes)" % (off + n, _c.shmx_size(h)))
        check(_c.shmx_sync_range(h, off, n, 0 if wait else ASYNC))

    def fstat(self) -> Stat:
        """Metadata of the object (a Stat), any kind."""
        info = _lib.Info()
        check(_c.shmx_fstat(self._handle(), ctypes.byref(info)))
        return stat_tuple(info)

    def send(self, sock: socket.socket | int) -> None:
        """Send an anonymous region's descriptor over a Unix socket (the
        receiver calls anon_recv())."""
        check(_c.shmx_anon_send(self._handle(), _args.fd_of(sock)))

    def unlink(self) -> None:
        """Remove this region's name or file (the mapping stays valid)."""
        if self._kind not in ("posix", "file"):
            raise TypeError("an %s region has no name to unlink" % self._kind)
        name = self.name or ""
        fn = _c.shmx_unlink if self._kind == "posix" else _c.shmx_file_unlink
        check(fn(os.fsencode(name)), name)

    def close(self) -> None:
        """Unmap and close; never unlinks (unless unlink_on_close). Raises
        BufferError while views of the mapping exist."""
        if not self._owner.handle:
            return
        if self._parent is None:
            self._check_no_views()
        self._owner.release()
        self._arr = None

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return not self._owner.handle

    def __enter__(self) -> Region:
        return self

    def __exit__(self, typ: Any, exc: Optional[BaseException], tb: Any) -> None:
        if exc is not None and views_alive(self._arr):
            # The block's own exception goes on; the mapping goes with the
            # last view (see _owner).
            note(exc, "shmx: region %s stays mapped until its views are gone"
                 % (self.name or self._kind))
            self._arr = None
            self._owner = Owner(0, None)
            return
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<shmx.Region %s closed>" % self._label()
        h = self._handle()
        try:
            mode = " mode=%s" % oct(self.fstat().mode)
        except OSError:
            mode = ""
        return "<shmx.Region %s size=%d%s%s%s>" % (
            self._label(), _c.shmx_size(h), mode,
            " readonly" if self._flags & RDONLY else "",
            " mapped" if _c.shmx_addr(h) else "")

    def _label(self) -> str:
        if self._kind in ("posix", "file") and not self.closed:
            return "%s %r" % (self._kind, self.name)
        if self._kind == "sysv" and not self.closed:
            return "sysv id=%d" % self.sysv_id
        return self._kind

    def __reduce__(self) -> Tuple[Callable[..., Region], Tuple[Any, ...]]:
        h = self._handle()
        if self._kind == "anon":
            _no_pickle("an anonymous region")
        ident: Any = self.sysv_id if self._kind == "sysv" else self.name
        return (_reopen, (self._kind, ident, self.readonly, bool(_c.shmx_addr(h))))


def _no_pickle(what: str) -> NoReturn:
    raise TypeError("%s has no name to pickle: pass its descriptor with "
                    "Region.send() or socket.send_fds() (Region.anon_recv(), "
                    "Region.from_fd() on the other side), or let a forked "
                    "child inherit it" % what)


def _reopen(kind: str, ident: Any, readonly: bool, map: bool) -> Region:
    """Unpickling: the same object, opened again by name, path or id."""
    if kind == "posix":
        return Region.open(ident, readonly=readonly, map=map)
    if kind == "file":
        return Region.file_open(ident, readonly=readonly, map=map)
    return Region.sysv_open(id=ident, readonly=readonly, map=map)


def unlink(name: _args.Name) -> None:
    """Remove a region's name; open handles and mappings stay valid."""
    canon = _args.name(name)
    check(_c.shmx_unlink(canon), os.fsdecode(canon))


def file_unlink(path: _args.Name) -> None:
    """Remove a file region's name; open handles and mappings stay valid."""
    p = _args.path(path)
    check(_c.shmx_file_unlink(p), os.fsdecode(p))


def sysv_remove(shmid: int) -> None:
    """Mark a System V segment for removal (it goes with its last detach)."""
    check(_c.shmx_sysv_remove(_args.in_range(shmid, "shmid", 0, 2 ** 31 - 1)))
