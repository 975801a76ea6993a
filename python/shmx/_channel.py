# SPDX-License-Identifier: MIT
"""Channel: a validated ring buffer of messages in shared memory, named or
anonymous, one or several producers and consumers (shmx(7), TOPOLOGIES)."""
from __future__ import annotations

import ctypes
import os
import struct as _struct
from collections import deque
from typing import (Any, Callable, Deque, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

from . import _args, _lib
from ._errors import MessagesLostError, check, peer_error
from ._lib import lib as _c
from ._owner import Owner, note, view_of, views_alive
from ._region import Region, _no_pickle, _unique_name
from ._stat import ChannelPeer, ChannelStat, chan_peers, chan_stat

CHAN_PRODUCER, CHAN_CONSUMER = 1 << 8, 1 << 9
CHAN_SPIN, CHAN_BLOCK, ALLOW_SHARED = 1 << 10, 1 << 11, 1 << 12
_ROLES: Dict[object, int] = {"producer": CHAN_PRODUCER, "consumer": CHAN_CONSUMER}
_WAITS: Dict[object, int] = {None: 0, "spin": CHAN_SPIN, "block": CHAN_BLOCK}
_POLICIES: Dict[object, int] = {"block": 0, "overwrite": 1}
_PEERS = {"producer": "consumer", "consumer": "producer"}

_chan_recv = _c.shmx_chan_recv
_chan_recv_batch = _c.shmx_chan_recv_batch
_chan_send_batch = _c.shmx_chan_send_batch
_string_at = ctypes.string_at
_BATCH_BYTES = 1 << 16  # a batch receive's buffer, at least max_msg
_BATCH_MSGS = 256       # messages iteration takes a call

Bytes = Union[bytes, bytearray, memoryview]


def _params(capacity: int, producers: int, consumers: int, policy: str) -> Any:
    cap = _args.capacity(capacity)
    np = _args.in_range(producers, "producers", 1, _args.CHAN_MAX_PEERS)
    nc = _args.in_range(consumers, "consumers", 1, _args.CHAN_MAX_PEERS)
    pol = _args.choice(policy, "policy", _POLICIES)
    if pol and np > 1:
        # shmx_chan_create_params(3): an overwriting producer never waits,
        # so it cannot wait for another producer's unfinished record.
        raise ValueError("policy 'overwrite' takes a single producer, got "
                         "producers=%d" % np)
    return _lib.ChanParams(capacity=cap, producers=np, consumers=nc, policy=pol)


def _flags(role: str, wait: Optional[str]) -> int:
    return _args.choice(role, "role", _ROLES) | _args.choice(wait, "wait", _WAITS)


class Channel:
    """A message channel. Made by create() or open() (named), create_anon()
    or attach() (anonymous). Iterating over a consumer yields messages
    (bytes) until the producers close; it takes them from the ring in
    batches (recv_many()), and recv() hands out the ones it took first. On
    an overwrite channel iteration steps over MessagesLostError: lost()
    counts what was missed. fileno() serves select, poll and asyncio.

    Pickling a named channel pickles its name and role: the other side
    opens it anew in that role (a slot of its own: OSError EUSERS when
    every slot of that role is taken). An anonymous channel cannot be
    pickled: pass its region (``channel.region``) with Region.send() or
    socket.send_fds(), or let a forked child inherit it, then attach().
    """

    _owner: Owner
    _h: Optional[int]
    _name: Optional[str]
    _role: str
    _flags: int
    _buf: Optional[ctypes.Array[ctypes.c_char]]
    _bufsize: int
    _peeked: Optional[ctypes.Array[ctypes.c_ubyte]]
    _batch: Optional[Tuple[Any, Any]]   # buffer and lengths of recv_many()
    _taken: Deque[bytes]                # received in a batch, not handed out

    def __init__(self) -> None:
        raise TypeError("use Channel.create(), Channel.open(), "
                        "Channel.create_anon() or Channel.attach()")

    @classmethod
    def _wrap(cls, h: ctypes.c_void_p, name: Optional[str], role: str,
              flags: int) -> Channel:
        self = cls.__new__(cls)
        self._owner = Owner(h.value or 0, _c.shmx_chan_close)
        self._h = self._owner.handle    # the hot paths read it directly
        self._name, self._role, self._flags = name, role, flags
        self._buf, self._bufsize, self._peeked, self._batch = None, 0, None, None
        self._taken = deque()
        return self

    @classmethod
    def create(cls, name: Optional[_args.Name], capacity: int, role: str,
               mode: int = 0o600, *, wait: Optional[str] = None, producers: int = 1,
               consumers: int = 1, policy: str = "block") -> Channel:
        """Create a channel with a ring of capacity bytes (a power of two,
        64 up); the caller takes role ("producer" or "consumer") and owns
        it; name None picks a unique one. producers and consumers are its
        slots (1 to 64; several consumers make it a broadcast), policy
        "block" (wait for the slowest consumer) or "overwrite" (never wait;
        a slow consumer loses messages). wait: None (spin briefly, then
        sleep), "spin" or "block"."""
        p = _params(capacity, producers, consumers, policy)
        f, m = _flags(role, wait), _args.mode(mode)
        canon = _args.name(_unique_name() if name is None else name)
        h = _lib.Handle()
        check(_c.shmx_chan_create_params(canon, ctypes.byref(p), f, m,
                                         ctypes.byref(h)), os.fsdecode(canon))
        return cls._wrap(h, os.fsdecode(canon), role, f)

    @classmethod
    def open(cls, name: _args.Name, role: str, timeout: Optional[float] = None, *,
             wait: Optional[str] = None, allow_shared: bool = False) -> Channel:
        """Open a channel in role, waiting up to timeout for its creator to
        publish it; allow_shared accepts a group- or other-writable one."""
        f = _flags(role, wait) | (ALLOW_SHARED if allow_shared else 0)
        canon, ms = _args.name(name), _args.timeout_ms(timeout)
        h = _lib.Handle()
        check(_c.shmx_chan_open(canon, f, ms, ctypes.byref(h)), os.fsdecode(canon))
        return cls._wrap(h, os.fsdecode(canon), role, f)

    @classmethod
    def create_anon(cls, capacity: int, role: str, *, wait: Optional[str] = None,
                    producers: int = 1, consumers: int = 1,
                    policy: str = "block") -> Channel:
        """A channel with no name, in a sealed anonymous region; arguments as
        for create(). Hand ``region`` to the peers (send(), socket.send_fds()
        or fork), who attach()."""
        p = _params(capacity, producers, consumers, policy)
        f = _flags(role, wait)
        h = _lib.Handle()
        check(_c.shmx_chan_create_anon_params(ctypes.byref(p), f, ctypes.byref(h)))
        return cls._wrap(h, None, role, f)

    @classmethod
    def attach(cls, region: Region, role: str, *, wait: Optional[str] = None) -> Channel:
        """Attach in role to the channel in region (Region.anon_recv(),
        Region.from_fd(), an inherited channel.region, or any region with
        a descriptor), validating its header as open() does. The channel
        has a descriptor and mapping of its own: region stays the caller's."""
        f = _flags(role, wait)
        h = _lib.Handle()
        check(_c.shmx_chan_attach(region._handle(), f, ctypes.byref(h)), region.name)
        return cls._wrap(h, region.name if region.kind == "posix" else None, role, f)

    def _handle(self) -> int:
        h = self._owner.handle
        if not h:
            raise ValueError("operation on a closed channel")
        return h

    def _fail(self, ret: int) -> OSError:
        """The exception for ret, naming the peer that closed or died."""
        peer = _PEERS[self._role]
        if self._role == "consumer" and self._name is not None:
            try:
                if chan_stat(self._name).producers > 1:
                    peer = "producers"
            except OSError:
                pass
        what = "channel %r" % self._name if self._name else "an anonymous channel"
        return peer_error(ret, peer, what)

    @property
    def name(self) -> Optional[str]:
        """Canonical "/name"; None for an anonymous channel."""
        return self._name

    @property
    def role(self) -> str:
        """"producer" or "consumer"."""
        return self._role

    @property
    def region(self) -> Region:
        """The region the channel lives in, owned by the channel (valid until
        it closes): for send() or fileno(), to hand an anonymous channel on."""
        return Region._wrap(_c.shmx_chan_region(self._handle()), 0,
                            "posix" if self._name else "anon", parent=self)

    @property
    def capacity(self) -> int:
        """Bytes of the ring."""
        return int(_c.shmx_chan_capacity(self._handle()))

    @property
    def max_msg(self) -> int:
        """Largest message, bytes."""
        return int(_c.shmx_chan_max_msg(self._handle()))

    @property
    def used(self) -> int:
        """Bytes of the ring in use now."""
        return check(_c.shmx_chan_used(self._handle()))

    @property
    def pending(self) -> int:
        """Messages waiting to be received."""
        return check(_c.shmx_chan_pending(self._handle()))

    @property
    def slot(self) -> int:
        """The slot this handle holds (0 up, in its role)."""
        return check(_c.shmx_chan_slot(self._handle()))

    def lost(self) -> int:
        """Consumer: messages an overwriting producer wrote over before this
        consumer read them, so far (OSError EBADF for a producer)."""
        return check(_c.shmx_chan_lost(self._handle()))

    def fileno(self) -> int:
        """A descriptor for select, poll, epoll or asyncio's add_reader():
        readable when a message may be waiting (consumer) or space may be
        free (producer), or the peer has gone. Drain it with timeout=0 until
        BlockingIOError, which re-arms it. Owned by the channel."""
        return check(_c.shmx_chan_fd(self._handle()))

    def stats(self) -> ChannelStat:
        """The channel's decoded header, read by name."""
        return chan_stat(self._named())

    def peers(self) -> List[ChannelPeer]:
        """Its slots, read by name."""
        return chan_peers(self._named())

    def _named(self) -> str:
        if self._name is None:
            raise TypeError("an anonymous channel has no name to look up")
        return self._name

    def send(self, data: Bytes, timeout: Optional[float] = None) -> None:
        """Copy a message (a bytes-like object) in; waits for room."""
        try:
            mv = memoryview(data)
        except TypeError:
            raise TypeError("data must be a bytes-like object, not %s"
                            % type(data).__name__) from None
        if not mv.c_contiguous:
            raise ValueError("data must be C-contiguous")
        n = mv.nbytes
        ptr: Any
        if mv.readonly:
            # bytes: ctypes passes its buffer without a copy
            ptr = data if isinstance(data, bytes) else bytes(mv)
        else:
            ptr = (ctypes.c_char * n).from_buffer(mv.cast("B")) if n else None
        ret = _c.shmx_chan_send(self._handle(), ptr, n, _args.timeout_ms(timeout))
        if ret < 0:
            raise self._fail(ret)

    def send_many(self, msgs: Sequence[bytes], timeout: Optional[float] = None) -> int:
        """Send a sequence of bytes objects in one C call
        (shmx_chan_send_batch(3)); returns how many went, all of them unless
        the wait for room ended after some (TimeoutError, PeerClosedError,
        PeerDiedError when none did)."""
        n = len(msgs)
        if not n:
            return 0
        data = b"".join(msgs)
        base = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0
        flat: List[int] = []
        off = base
        for m in msgs:
            size = len(m)
            flat += (off, size)
            off += size
        # An array of struct iovec (two words), packed in one call; data
        # and iov stay alive until the call returns.
        iov = _struct.pack("%dN" % (2 * n), *flat)
        r = int(_chan_send_batch(self._handle(), iov, n, _args.timeout_ms(timeout)))
        if r < 0:
            raise self._fail(r)
        return r

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """The next message as bytes. PeerClosedError (a BrokenPipeError)
        once the producer closed, PeerDiedError if it died, either after
        every message was read."""
        # The hot path of a Python consumer: one C call and one copy, the
        # rest hoisted out (ctypes' own call costs most of a message).
        if self._taken:
            return self._taken.popleft()
        h, buf = self._h, self._buf
        if buf is None:
            buf = self._buf = ctypes.create_string_buffer(max(1, self.max_msg))
            self._bufsize = len(buf)
        n = _chan_recv(h, buf, self._bufsize,
                       -1 if timeout is None else _args.timeout_ms(timeout))
        if n < 0:
            raise self._fail(n)
        return _string_at(buf, n)

    def recv_many(self, max_msgs: int = _BATCH_MSGS,
                  timeout: Optional[float] = None) -> List[bytes]:
        """A list of up to max_msgs messages (bytes): waits for the first as
        recv() does, then takes every one already there, in one C call
        (shmx_chan_recv_batch(3)); for a consumer in Python that call, not
        the copy, is the cost of a message."""
        max_msgs = _args.in_range(max_msgs, "max_msgs", 1, 2 ** 31 - 1)
        if self._taken:
            k = min(max_msgs, len(self._taken))
            return [self._taken.popleft() for _ in range(k)]
        buf, lens = self._batch_buffers(max_msgs)
        n = _chan_recv_batch(self._handle(), buf, len(buf), lens, max_msgs,
                             -1 if timeout is None else _args.timeout_ms(timeout))
        if n < 0:
            raise self._fail(n)
        sizes = lens[:n]
        raw = _string_at(buf, sum(sizes))
        out, off = [], 0
        for size in sizes:
            out.append(raw[off:off + size])
            off += size
        return out

    def _batch_buffers(self, max_msgs: int) -> Tuple[Any, Any]:
        if self._batch is None or len(self._batch[1]) < max_msgs:
            size = max(self.max_msg, _BATCH_BYTES)
            self._batch = (ctypes.create_string_buffer(size),
                           (ctypes.c_size_t * max_msgs)())
        return self._batch

    def peek(self, timeout: Optional[float] = None) -> memoryview:
        """The next message in place, as a read-only memoryview valid until
        release(): no copy."""
        if self._taken:
            raise BufferError("messages received by iteration are pending: "
                              "take them with recv() first")
        ptr = ctypes.c_void_p()
        n = _c.shmx_chan_peek(self._handle(), ctypes.byref(ptr),
                              _args.timeout_ms(timeout))
        if n < 0:
            raise self._fail(n)
        self._peeked = view_of(ptr.value or 0, n, self._owner) if n else \
            (ctypes.c_ubyte * 0)()
        return memoryview(self._peeked).cast("B").toreadonly()

    def release(self) -> None:
        """Release the peeked message; BufferError while views of it exist
        (the producer would overwrite what they show)."""
        if views_alive(self._peeked):
            raise BufferError("views of the peeked message still exist")
        self._peeked = None
        check(_c.shmx_chan_release(self._handle()))

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        # Iteration takes messages in batches: one C call for many.
        while not self._taken:
            try:
                self._taken.extend(self.recv_many(_BATCH_MSGS))
            except BrokenPipeError:
                raise StopIteration from None
            except MessagesLostError:
                pass    # counted in lost(); on with the oldest still there
        return self._taken.popleft()

    def close(self) -> None:
        """Leave the channel (the peer then gets PeerClosedError); never
        unlinks. BufferError while views of a peeked message exist."""
        if not self._owner.handle:
            return
        if views_alive(self._peeked):
            raise BufferError("views of the peeked message still exist")
        self._peeked = self._buf = None
        self._owner.release()
        self._h = None

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return not self._owner.handle

    def unlink(self) -> None:
        """Remove the channel's name (the creator's job)."""
        chan_unlink(self._named())

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, typ: Any, exc: Optional[BaseException], tb: Any) -> None:
        if exc is not None and views_alive(self._peeked):
            # The block's exception goes on; the channel closes with the
            # last view of the message (see _owner).
            note(exc, "shmx: channel %s stays attached until the views of its "
                 "peeked message are gone" % (self._name or "(anonymous)"))
            self._peeked = self._buf = None
            self._owner, self._h = Owner(0, None), None
            return
        self.close()

    def __repr__(self) -> str:
        label = repr(self._name) if self._name else "anon"
        if self.closed:
            return "<shmx.Channel %s %s closed>" % (label, self._role)
        return "<shmx.Channel %s %s slot=%d capacity=%d>" % (
            label, self._role, self.slot, self.capacity)

    def __reduce__(self) -> Tuple[Callable[..., Channel], Tuple[Any, ...]]:
        self._handle()
        if self._name is None:
            _no_pickle("an anonymous channel")
        return (_reopen, (self._name, self._role, self._flags))


def _reopen(name: str, role: str, flags: int) -> Channel:
    """Unpickling: channel name opened anew in role, same wait and sharing."""
    wait = {CHAN_SPIN: "spin", CHAN_BLOCK: "block"}.get(flags & (CHAN_SPIN | CHAN_BLOCK))
    return Channel.open(name, role, 0, wait=wait, allow_shared=bool(flags & ALLOW_SHARED))


def chan_unlink(name: _args.Name) -> None:
    """Remove a channel's name; attached handles go on working."""
    canon = _args.name(name)
    check(_c.shmx_chan_unlink(canon), os.fsdecode(canon))
