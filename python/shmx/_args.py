# SPDX-License-Identifier: MIT
"""Arguments checked before they reach C, so that a bad one is a ValueError
or TypeError naming it (as Python's own functions do) rather than an
OSError(EINVAL) naming nothing. The rules are those of shmx(7); C checks
them again."""
from __future__ import annotations

import ctypes
import errno as _errno
import math
import operator
import os
from typing import Mapping, TypeVar, Union

from ._lib import lib as _c

INT_MAX = 2 ** 31 - 1
OFF_MAX = 2 ** 63 - 1
NAME_MAX = 255
CHAN_MIN_CAP = 64
CHAN_MAX_CAP = 1 << 32
CHAN_MAX_PEERS = 64

Name = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
T = TypeVar("T")


def integer(value: object, arg: str) -> int:
    """value as an int (anything with __index__, not a bool or a float)."""
    if isinstance(value, bool):
        raise TypeError("%s must be an integer, not bool" % arg)
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError("%s must be an integer, not %s"
                        % (arg, type(value).__name__)) from None


def in_range(value: object, arg: str, lo: int, hi: int) -> int:
    n = integer(value, arg)
    if not lo <= n <= hi:
        raise ValueError("%s must be between %d and %d, got %d" % (arg, lo, hi, n))
    return n


def size(value: object, arg: str = "size") -> int:
    """A size in bytes: 1 up to the largest file offset."""
    n = integer(value, arg)
    if n <= 0:
        raise ValueError("%s must be positive, got %d" % (arg, n))
    if n > OFF_MAX:
        raise ValueError("%s must be at most 2**63 - 1, got %d" % (arg, n))
    return n


def capacity(value: object) -> int:
    """A ring's capacity: a power of two from 64 bytes to 4 GiB."""
    n = integer(value, "capacity")
    if not CHAN_MIN_CAP <= n <= CHAN_MAX_CAP or n & (n - 1):
        raise ValueError("capacity must be a power of two from %d to 2**32, got %d"
                         % (CHAN_MIN_CAP, n))
    return n


def mode(value: object) -> int:
    """Permission bits, 0 to 0o777 (0 means 0o600, as in C)."""
    n = integer(value, "mode")
    if not 0 <= n <= 0o777:
        raise ValueError("mode must be permission bits (0 to 0o777), got %s"
                         % oct(n))
    return n


def timeout_ms(timeout: object) -> int:
    """Seconds (None = for ever) to the C API's milliseconds. A wait is
    rounded up so that a positive timeout never becomes "try once"."""
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("timeout must be a number of seconds or None, not %s"
                        % type(timeout).__name__)
    if math.isnan(timeout) or timeout < 0:
        raise ValueError("timeout must be >= 0 seconds or None, got %r" % timeout)
    if math.isinf(timeout):
        return -1
    return min(math.ceil(timeout * 1000), INT_MAX)


def path(value: object, arg: str = "path") -> bytes:
    """A file system path (str, bytes or os.PathLike) as bytes."""
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError("%s must be a str, bytes or os.PathLike, not %s"
                        % (arg, type(value).__name__))
    b = os.fsencode(value)
    if not b or b"\0" in b:
        raise ValueError("%s must be a non-empty path without NUL bytes, got %r"
                         % (arg, value))
    return b


def name(value: object, arg: str = "name") -> bytes:
    """The canonical b"/name" of an object name, by shmx_name_canon(3)."""
    b = path(value, arg)
    buf = ctypes.create_string_buffer(NAME_MAX + 2)
    n = int(_c.shmx_name_canon(b, buf, len(buf)))
    if n == -_errno.ENAMETOOLONG:
        raise ValueError("%s %r is longer than %d bytes" % (arg, value, NAME_MAX))
    if n < 0:
        raise ValueError("%s %r is not a valid name: one component, an optional "
                         "leading '/', no control bytes, not '.', '..' or 'sem.*' "
                         "(shmx(7), Names)" % (arg, value))
    return buf.raw[:n]


def fd_of(value: object, arg: str = "sock") -> int:
    """A descriptor: an int, or an object with fileno() (a socket)."""
    fileno = getattr(value, "fileno", None)
    if fileno is not None and not isinstance(value, int):
        return integer(fileno(), arg + ".fileno()")
    fd = integer(value, arg)
    if fd < 0:
        raise ValueError("%s must be a descriptor (>= 0), got %d" % (arg, fd))
    return fd


def choice(value: object, arg: str, options: Mapping[object, T]) -> T:
    """options[value], or ValueError listing the options."""
    try:
        return options[value]
    except (KeyError, TypeError):
        raise ValueError("%s must be one of %s, got %r"
                         % (arg, ", ".join(map(repr, options)), value)) from None
