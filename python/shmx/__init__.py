# SPDX-License-Identifier: MIT
"""libshmx from Python: shared-memory regions, semaphore pairs and channels.

A thin ctypes layer over libshmx.so.0, with Python's conventions: errors
are OSError subclasses carrying the errno (TimeoutError for ETIMEDOUT,
BrokenPipeError for EPIPE, PeerDiedError for EOWNERDEAD, FileNotFoundError,
...), messages come from shmx_strerror(3), timeouts are seconds as floats
with None meaning forever (the wait still watches the peer). The contracts
are those of the C library, described in shmx(7).

    with shmx.Channel.open("/frames", "consumer", timeout=5) as ch:
        for msg in ch:              # ends when the producer closes
            frame = numpy.frombuffer(msg, numpy.uint8)

Handles own C resources: close them (or use ``with``). A region's ``buf``
and a channel's ``peek()`` are views of shared memory, not copies: closing
a region (releasing a peeked message) while such a view is alive raises
BufferError, as mmap.close() does, rather than leave a view of unmapped
memory behind.
"""
import ctypes
import errno as _errno
import math
import os
import struct as _struct
import sys
from collections import deque, namedtuple

from . import _lib
from ._lib import lib as _c

__all__ = [
    "Region", "Pair", "Channel", "PeerDiedError", "MessagesLostError", "version",
    "strerror", "unlink", "stat", "canon_name", "sysv_key", "sysv_remove",
    "sysv_stat", "guard_sigbus", "chan_stat", "chan_peers", "chan_unlink",
    "pair_unlink",
]

# Flags of include/shmx.h; the classes below take keyword arguments instead.
RDONLY = 1 << 0
MAP = 1 << 1
POPULATE = 1 << 2
LAZY = 1 << 3
UNLINK_ON_CLOSE = 1 << 4
GROWABLE = 1 << 6
ALLOW_UNSEALED = 1 << 7
PAIR_WRITER = 1 << 8
PAIR_READER = 1 << 9
CHAN_PRODUCER = 1 << 8
CHAN_CONSUMER = 1 << 9
CHAN_SPIN = 1 << 10
CHAN_BLOCK = 1 << 11
ALLOW_SHARED = 1 << 12

CHAN_MAX_PEERS = 64

NAME_MAX = 255
IPC_PRIVATE = 0
SLOT_OWNER, SLOT_WRITER, SLOT_READER = 0, 1, 2
HOLDERS_UNKNOWN = 1 << 31
_INT_MAX = 2 ** 31 - 1


class PeerDiedError(OSError):
    """The peer process died (EOWNERDEAD); messages it committed were read."""


class MessagesLostError(OSError):
    """ENOBUFS: an overwriting producer wrote over messages this consumer had
    not read (Channel.lost() counts them); the next receive goes on with the
    oldest message still there."""


def strerror(err):
    """Text for an errno value (either sign), libshmx's own meanings included."""
    return _c.shmx_strerror(-abs(err)).decode()


def _error(ret, filename=None):
    """The exception for a negative return: OSError picks the subclass."""
    err = -ret
    args = (err, strerror(err)) if filename is None else (err, strerror(err), filename)
    if err == _errno.EOWNERDEAD:
        return PeerDiedError(*args)
    if err == _errno.ENOBUFS:
        return MessagesLostError(*args)
    return OSError(*args)


def _check(ret, filename=None):
    if ret < 0:
        raise _error(ret, filename)
    return ret


def _ms(timeout):
    """Seconds (float, None = forever) to the C API's milliseconds. A wait
    is rounded up so that a positive timeout never becomes "try once"."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    return min(math.ceil(timeout * 1000), _INT_MAX)


def _name(name):
    return os.fsencode(name)


def version():
    """Version of the loaded libshmx, e.g. '0.2.0'."""
    return _c.shmx_version().decode()


def canon_name(name):
    """The canonical form "/name" of a name (OSError EINVAL for a name the
    rules of shmx(7) refuse)."""
    buf = ctypes.create_string_buffer(NAME_MAX + 2)
    n = _check(_c.shmx_name_canon(_name(name), buf, len(buf)), name)
    return os.fsdecode(buf.raw[:n])


def unlink(name):
    """Remove a region's name; open handles and mappings stay valid."""
    _check(_c.shmx_unlink(_name(name)), name)


Stat = namedtuple("Stat", "size mode uid gid holders atime mtime ctime")


def _ts(t):
    return t.tv_sec + t.tv_nsec / 1e9


def _stat_tuple(i):
    return Stat(i.size, i.mode, i.uid, i.gid, i.holders,
                _ts(i.atime), _ts(i.mtime), _ts(i.ctime))


def stat(name):
    """Metadata of a named object (no read access needed): a Stat tuple."""
    info = _lib.Info()
    _check(_c.shmx_stat(_name(name), ctypes.byref(info)), name)
    return _stat_tuple(info)


def guard_sigbus():
    """Process-wide: a SIGBUS inside libshmx's own copies becomes EFAULT."""
    _check(_c.shmx_guard_sigbus())


def sysv_key(path, proj):
    """The System V key ftok(3) gives for (path, proj), proj in 1..255."""
    key = _lib.c_key_t()
    _check(_c.shmx_sysv_key(_name(path), proj, ctypes.byref(key)), path)
    return key.value


def sysv_remove(shmid):
    """Mark a System V segment for removal (it goes with its last detach)."""
    _check(_c.shmx_sysv_remove(shmid))


SysvStat = namedtuple("SysvStat", "key id size mode uid gid cuid cgid cpid lpid "
                      "nattch removed atime dtime ctime")


def sysv_stat(shmid):
    """IPC_STAT of a segment: a SysvStat tuple."""
    i = _lib.SysvInfo()
    _check(_c.shmx_sysv_stat(shmid, ctypes.byref(i)))
    return SysvStat(i.key, i.id, i.size, i.mode, i.uid, i.gid, i.cuid, i.cgid,
                    i.cpid, i.lpid, i.nattch, bool(i.removed), i.atime, i.dtime,
                    i.ctime)


def _views_alive(arr):
    """True while a memoryview (or anything built on one) of the ctypes
    array arr exists: each view's managed buffer holds a reference to it.
    The expected count is ours plus getrefcount's own argument; other
    interpreters than CPython do not tell, and are trusted."""
    if arr is None or not hasattr(sys, "getrefcount"):
        return False
    return sys.getrefcount(arr) > 3


class Region:
    """A region of shared memory: named (POSIX), anonymous (sealed memfd)
    or System V. Made by the class methods create(), open(), anon(),
    anon_recv(), sysv_create(), sysv_open(); mapped unless map=False."""

    def __init__(self, handle, flags):
        self._h = handle
        self._flags = flags
        self._arr = None

    @classmethod
    def _made(cls, ret, handle, flags, filename=None):
        _check(ret, filename)
        return cls(handle, flags)

    @staticmethod
    def _map_flags(readonly=False, map=True, populate=False, lazy=False,
                   unlink_on_close=False):
        return ((RDONLY if readonly else 0) | (MAP if map else 0) |
                (POPULATE if populate else 0) | (LAZY if lazy else 0) |
                (UNLINK_ON_CLOSE if unlink_on_close else 0))

    @classmethod
    def create(cls, name, size, mode=0o600, *, map=True, populate=False,
               lazy=False, unlink_on_close=False):
        """Create a new named object (never adopts an existing one)."""
        h = _lib.Handle()
        f = cls._map_flags(False, map, populate, lazy, unlink_on_close)
        return cls._made(_c.shmx_create(_name(name), size, f, mode, ctypes.byref(h)),
                         h, f, name)

    @classmethod
    def open(cls, name, *, readonly=False, map=True, populate=False):
        """Open an existing named object."""
        h = _lib.Handle()
        f = cls._map_flags(readonly, map, populate)
        return cls._made(_c.shmx_open(_name(name), f, ctypes.byref(h)), h, f, name)

    @classmethod
    def anon(cls, size, *, growable=False, lazy=False, map=True):
        """A new anonymous region (memfd), sealed against truncation."""
        h = _lib.Handle()
        f = cls._map_flags(False, map, False, lazy) | (GROWABLE if growable else 0)
        return cls._made(_c.shmx_anon_create(size, f, ctypes.byref(h)), h, f)

    @classmethod
    def anon_recv(cls, sock, timeout=None, *, allow_unsealed=False, map=True):
        """Receive an anonymous region sent over a Unix socket (or its fd)."""
        fd = sock if isinstance(sock, int) else sock.fileno()
        h = _lib.Handle()
        f = cls._map_flags(False, map) | (ALLOW_UNSEALED if allow_unsealed else 0)
        return cls._made(_c.shmx_anon_recv(fd, f, _ms(timeout), ctypes.byref(h)),
                         h, f)

    @classmethod
    def sysv_create(cls, key, size, mode=0o600, *, map=True, lazy=False):
        """Create a new System V segment (key may be IPC_PRIVATE)."""
        h = _lib.Handle()
        f = cls._map_flags(False, map, False, lazy)
        return cls._made(_c.shmx_sysv_create(key, size, f, mode, ctypes.byref(h)),
                         h, f)

    @classmethod
    def sysv_open(cls, key=None, *, id=None, readonly=False, map=True):
        """Attach to an existing System V segment by key or by id."""
        if (key is None) == (id is None):
            raise ValueError("give exactly one of key and id")
        h = _lib.Handle()
        f = cls._map_flags(readonly, map)
        if id is None:
            ret = _c.shmx_sysv_open(key, f, ctypes.byref(h))
        else:
            ret = _c.shmx_sysv_open_id(id, f, ctypes.byref(h))
        return cls._made(ret, h, f)

    def _handle(self):
        if not self._h:
            raise ValueError("I/O operation on a closed region")
        return self._h

    @property
    def buf(self):
        """The mapping as a memoryview of unsigned bytes (read-only for a
        read-only region). No copy: numpy.frombuffer(region.buf) shares it."""
        h = self._handle()
        addr = _c.shmx_addr(h)
        if not addr:
            raise ValueError("region is not mapped")
        size = _c.shmx_size(h)
        if self._arr is None or ctypes.addressof(self._arr) != addr or \
                len(self._arr) != size:
            self._check_no_views()
            self._arr = (ctypes.c_ubyte * size).from_address(addr)
        mv = memoryview(self._arr).cast("B")
        return mv.toreadonly() if self._flags & RDONLY else mv

    def _check_no_views(self):
        if _views_alive(self._arr):
            raise BufferError("views of the mapping still exist: release "
                              "them (del, memoryview.release()) first")
        self._arr = None

    @property
    def name(self):
        """Canonical "/name" (None for an anonymous or System V region)."""
        n = _c.shmx_name(self._handle())
        return os.fsdecode(n) if n else None

    @property
    def size(self):
        return _c.shmx_size(self._handle())

    @property
    def addr(self):
        """Address of the mapping in this process (0 when not mapped)."""
        return _c.shmx_addr(self._handle()) or 0

    def fileno(self):
        return _check(_c.shmx_fd(self._handle()))

    @property
    def sysv_id(self):
        return _check(_c.shmx_sysv_id(self._handle()))

    def map(self):
        _check(_c.shmx_map(self._handle()))

    def unmap(self):
        self._check_no_views()
        _check(_c.shmx_unmap(self._handle()))

    def resize(self, size):
        """Change the size; the mapping may move (views must be gone)."""
        self._check_no_views()
        _check(_c.shmx_resize(self._handle(), size))

    def sync(self):
        _check(_c.shmx_sync(self._handle()))

    def fstat(self):
        info = _lib.Info()
        _check(_c.shmx_fstat(self._handle(), ctypes.byref(info)))
        return _stat_tuple(info)

    def send(self, sock):
        """Send an anonymous region's descriptor over a Unix socket."""
        fd = sock if isinstance(sock, int) else sock.fileno()
        _check(_c.shmx_anon_send(self._handle(), fd))

    def unlink(self):
        """Remove this region's name (named regions only)."""
        unlink(self.name)

    def close(self):
        """Unmap and close; never unlinks (unless unlink_on_close). Raises
        BufferError while views of the mapping exist."""
        if not self._h:
            return
        self._check_no_views()
        _c.shmx_close(self._h)
        self._h = None

    @property
    def closed(self):
        return not self._h

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # A view that outlives its region keeps the mapping: leaked, not freed.
        if getattr(self, "_h", None) and not _views_alive(self._arr):
            _c.shmx_close(self._h)
            self._h = None


def _role(role, names):
    try:
        return names[role]
    except KeyError:
        raise ValueError("role must be one of " + ", ".join(map(repr, names))) from None


class Pair:
    """The semaphore pair bound to a named region: a writer/reader handoff."""

    _ROLES = {"writer": PAIR_WRITER, "reader": PAIR_READER}

    def __init__(self, handle, region):
        self._h = handle
        self._region = region  # the pair must not outlive its region

    @classmethod
    def create(cls, region, role, mode=0o600):
        """Create the pair of region; the caller takes role and owns it."""
        h = _lib.Handle()
        _check(_c.shmx_pair_create(region._handle(), _role(role, cls._ROLES), mode,
                                   ctypes.byref(h)), region.name)
        return cls(h, region)

    @classmethod
    def open(cls, region, role):
        """Attach to region's pair in role: OSError EBUSY if the role is
        taken, PeerDiedError if the owner is dead."""
        h = _lib.Handle()
        _check(_c.shmx_pair_open(region._handle(), _role(role, cls._ROLES),
                                 ctypes.byref(h)), region.name)
        return cls(h, region)

    def _handle(self):
        if not self._h:
            raise ValueError("operation on a closed pair")
        return self._h

    def wait(self, timeout=None):
        """Wait for our turn: TimeoutError, or PeerDiedError as soon as the
        peer is seen dead."""
        _check(_c.shmx_pair_wait(self._handle(), _ms(timeout)))

    def post(self):
        """Hand the turn to the peer."""
        _check(_c.shmx_pair_post(self._handle()))

    def close(self):
        if self._h:
            _c.shmx_pair_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None):
            self.close()


def pair_unlink(name):
    """Remove the semaphores of the pair bound to region name."""
    _check(_c.shmx_pair_unlink(_name(name)), name)


ChannelStat = namedtuple("ChannelStat", "abi header_size capacity max_msg used sent "
                         "received producer_pid consumer_pid holders policy "
                         "producers consumers lost")
_POLICIES = {"block": 0, "overwrite": 1}
_POLICY_NAMES = {v: k for k, v in _POLICIES.items()}


def chan_stat(name):
    """Decode and validate a channel's header without attaching to it; policy
    is "block" or "overwrite", lost the sum over its consumers."""
    i = _lib.ChanInfo()
    _check(_c.shmx_chan_stat(_name(name), ctypes.byref(i)), name)
    return ChannelStat(i.abi, i.header_size, i.capacity, i.max_msg, i.used, i.sent,
                       i.received, i.producer_pid, i.consumer_pid, i.holders,
                       _POLICY_NAMES.get(i.policy, i.policy), i.producers,
                       i.consumers, i.lost)


ChannelPeer = namedtuple("ChannelPeer", "role slot pid state generation count lag lost")
_PEER_STATES = ("free", "attached", "closed", "dead")


def chan_peers(name):
    """The slots of channel name, producers first (shmx_chan_peers(3)): a list
    of ChannelPeer, role "producer" or "consumer", state "free", "attached",
    "closed" or "dead"."""
    peers = (_lib.ChanPeer * (2 * CHAN_MAX_PEERS))()
    n = min(_check(_c.shmx_chan_peers(_name(name), peers, len(peers)), name), len(peers))
    return [ChannelPeer("producer" if p.role == CHAN_PRODUCER else "consumer", p.slot,
                        p.pid, _PEER_STATES[p.state] if p.state < 4 else p.state,
                        p.generation, p.count, p.lag, p.lost) for p in peers[:n]]


def chan_unlink(name):
    _check(_c.shmx_chan_unlink(_name(name)), name)


_chan_recv = _c.shmx_chan_recv
_chan_recv_batch = _c.shmx_chan_recv_batch
_chan_send_batch = _c.shmx_chan_send_batch
_string_at = ctypes.string_at
_BATCH_BYTES = 1 << 16  # a batch receive's buffer, at least max_msg
_BATCH_MSGS = 256       # messages iteration takes a call


class Channel:
    """A message channel: one producer and one consumer, or several of each
    (create(..., producers=, consumers=, policy=); see shmx(7), TOPOLOGIES).
    Iterating over a consumer yields messages (bytes) until the producers
    close; it takes them from the ring in batches (recv_many()), and recv()
    hands out the ones it took first. On an overwrite channel iteration
    steps over MessagesLostError: lost() counts what was missed."""

    _ROLES = {"producer": CHAN_PRODUCER, "consumer": CHAN_CONSUMER}
    _WAITS = {None: 0, "spin": CHAN_SPIN, "block": CHAN_BLOCK}

    def __init__(self, handle, name):
        self._h = handle
        self._name = name
        self._buf = None
        self._peeked = None
        self._batch = None      # (buffer, lengths) of recv_many()
        self._taken = deque()   # received in a batch, not handed out yet

    @classmethod
    def _flags(cls, role, wait):
        if wait not in cls._WAITS:
            raise ValueError("wait must be None, 'spin' or 'block'")
        return _role(role, cls._ROLES) | cls._WAITS[wait]

    @classmethod
    def create(cls, name, capacity, role, mode=0o600, *, wait=None, producers=1,
               consumers=1, policy="block"):
        """Create a channel with a ring of capacity bytes (a power of two);
        the caller takes role and owns it. producers and consumers are its
        slots (1 to 64; several consumers make it a broadcast), policy
        "block" (wait for the slowest consumer) or "overwrite" (never wait;
        a slow consumer loses messages)."""
        if policy not in _POLICIES:
            raise ValueError("policy must be 'block' or 'overwrite'")
        p = _lib.ChanParams(capacity=capacity, producers=producers,
                            consumers=consumers, policy=_POLICIES[policy])
        h = _lib.Handle()
        _check(_c.shmx_chan_create_params(_name(name), ctypes.byref(p),
                                          cls._flags(role, wait), mode,
                                          ctypes.byref(h)), name)
        return cls(h, name)

    @classmethod
    def open(cls, name, role, timeout=None, *, wait=None, allow_shared=False):
        """Open a channel, waiting up to timeout for its creator."""
        h = _lib.Handle()
        f = cls._flags(role, wait) | (ALLOW_SHARED if allow_shared else 0)
        _check(_c.shmx_chan_open(_name(name), f, _ms(timeout), ctypes.byref(h)), name)
        return cls(h, name)

    def _handle(self):
        if not self._h:
            raise ValueError("operation on a closed channel")
        return self._h

    @property
    def name(self):
        return self._name

    @property
    def capacity(self):
        return _c.shmx_chan_capacity(self._handle())

    @property
    def max_msg(self):
        return _c.shmx_chan_max_msg(self._handle())

    @property
    def used(self):
        """Bytes of the ring in use now."""
        return _check(_c.shmx_chan_used(self._handle()))

    @property
    def pending(self):
        """Messages waiting to be received."""
        return _check(_c.shmx_chan_pending(self._handle()))

    @property
    def slot(self):
        """The slot this handle holds (0 up, in its role)."""
        return _check(_c.shmx_chan_slot(self._handle()))

    def lost(self):
        """Consumer: messages an overwriting producer wrote over before this
        consumer read them, so far (OSError EBADF for a producer)."""
        return _check(_c.shmx_chan_lost(self._handle()))

    def stats(self):
        """The channel's decoded header (ChannelStat), read by name."""
        return chan_stat(self._name)

    def peers(self):
        """Its slots (a list of ChannelPeer), read by name."""
        return chan_peers(self._name)

    def send(self, data, timeout=None):
        """Copy a message in (bytes-like); waits for room."""
        mv = memoryview(data)
        if not mv.c_contiguous:
            raise BufferError("message must be contiguous")
        n = mv.nbytes
        if mv.readonly:
            # bytes: ctypes passes its buffer without a copy
            ptr = data if isinstance(data, bytes) else bytes(mv)
        else:
            ptr = (ctypes.c_char * n).from_buffer(mv.cast("B")) if n else None
        _check(_c.shmx_chan_send(self._handle(), ptr, n, _ms(timeout)))

    def send_many(self, msgs, timeout=None):
        """Send a sequence of bytes objects in one C call
        (shmx_chan_send_batch(3)); returns how many went, all of them unless
        the wait for room ended after some (TimeoutError, BrokenPipeError,
        PeerDiedError when none did)."""
        n = len(msgs)
        if not n:
            return 0
        data = b"".join(msgs)
        base = ctypes.cast(data, ctypes.c_void_p).value or 0
        flat, off = [], base
        for m in msgs:
            size = len(m)
            flat += (off, size)
            off += size
        # An array of struct iovec (two words), packed in one call; data
        # and iov stay alive until the call returns.
        iov = _struct.pack("%dN" % (2 * n), *flat)
        r = _chan_send_batch(self._handle(), iov, n,
                             -1 if timeout is None else _ms(timeout))
        if r < 0:
            raise _error(r, self._name)
        return r

    def recv(self, timeout=None):
        """The next message as bytes. BrokenPipeError once the producer
        closed, PeerDiedError if it died (after every message was read)."""
        # The hot path of a Python consumer: one C call and one copy, the
        # rest hoisted out (ctypes' own call costs most of a message).
        if self._taken:
            return self._taken.popleft()
        h, buf = self._h, self._buf
        if buf is None:
            buf = self._buf = ctypes.create_string_buffer(
                max(1, _c.shmx_chan_max_msg(self._handle())))
            self._bufsize = len(buf)
        n = _chan_recv(h, buf, self._bufsize, -1 if timeout is None else _ms(timeout))
        if n < 0:
            raise _error(n, self._name)
        return _string_at(buf, n)

    def recv_many(self, max_msgs=_BATCH_MSGS, timeout=None):
        """A list of up to max_msgs messages (bytes): waits for the first as
        recv() does, then takes every one already there, in one C call
        (shmx_chan_recv_batch(3)); for a consumer in Python that call, not
        the copy, is the cost of a message."""
        if max_msgs < 1:
            raise ValueError("max_msgs must be at least 1")
        if self._taken:
            n = min(max_msgs, len(self._taken))
            return [self._taken.popleft() for _ in range(n)]
        buf, lens = self._batch_buffers(max_msgs)
        n = _chan_recv_batch(self._handle(), buf, len(buf), lens, max_msgs,
                             -1 if timeout is None else _ms(timeout))
        if n < 0:
            raise _error(n, self._name)
        sizes = lens[:n]
        raw = _string_at(buf, sum(sizes))
        out, off = [], 0
        for size in sizes:
            out.append(raw[off:off + size])
            off += size
        return out

    def _batch_buffers(self, max_msgs):
        if self._batch is None or len(self._batch[1]) < max_msgs:
            size = _c.shmx_chan_max_msg(self._handle())
            self._batch = (ctypes.create_string_buffer(size if size > _BATCH_BYTES
                                                       else _BATCH_BYTES),
                           (ctypes.c_size_t * max_msgs)())
        return self._batch

    def peek(self, timeout=None):
        """The next message in place, as a read-only memoryview valid until
        release(): no copy."""
        if self._taken:
            raise BufferError("messages received by iteration are pending: "
                              "take them with recv() first")
        ptr = ctypes.c_void_p()
        n = _c.shmx_chan_peek(self._handle(), ctypes.byref(ptr), _ms(timeout))
        if n < 0:
            raise _error(n, self._name)
        self._peeked = (ctypes.c_ubyte * n).from_address(ptr.value or 0) if n else \
            (ctypes.c_ubyte * 0)()
        return memoryview(self._peeked).cast("B").toreadonly()

    def release(self):
        """Release the peeked message; BufferError while views of it exist
        (the producer would overwrite what they show)."""
        if _views_alive(self._peeked):
            raise BufferError("views of the peeked message still exist")
        self._peeked = None
        _check(_c.shmx_chan_release(self._handle()))

    def __iter__(self):
        return self

    def __next__(self):
        # Iteration takes messages in batches: one C call for many.
        while not self._taken:
            try:
                self._taken.extend(self.recv_many(_BATCH_MSGS))
            except BrokenPipeError:
                raise StopIteration from None
            except MessagesLostError:
                pass    # counted in lost(); on with the oldest still there
        return self._taken.popleft()

    def close(self):
        """Leave the channel (the peer sees BrokenPipeError); never unlinks."""
        if not self._h:
            return
        if _views_alive(self._peeked):
            raise BufferError("views of the peeked message still exist")
        self._peeked = None
        self._buf = None    # recv() then finds the handle closed
        _c.shmx_chan_close(self._h)
        self._h = None

    def unlink(self):
        chan_unlink(self._name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None) and not _views_alive(self._peeked):
            _c.shmx_chan_close(self._h)
            self._h = None
