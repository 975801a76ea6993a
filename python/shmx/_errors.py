# SPDX-License-Identifier: MIT
"""Errors: libshmx's -errno returns as Python exceptions.

OSError picks the subclass from the errno (FileNotFoundError, TimeoutError,
BlockingIOError, ...); libshmx's own meanings get classes of their own:
the peer closed (PeerClosedError, a BrokenPipeError), the peer died
(PeerDiedError), an overwriting producer wrote over unread messages
(MessagesLostError). Messages about a peer say which peer of which object.
"""
from __future__ import annotations

import errno as _errno

from ._lib import lib as _c


class PeerClosedError(BrokenPipeError):
    """EPIPE: the peer closed its end (Channel.close(), Pair.close(), or its
    process exited after closing). A consumer gets it only once it received
    every message the producer committed."""


class PeerDiedError(ConnectionError):
    """EOWNERDEAD: the peer process died without closing. A consumer gets it
    only once it received every message the producer committed; a message
    the producer was still writing is never delivered."""


class MessagesLostError(OSError):
    """ENOBUFS: an overwriting producer wrote over messages this consumer had
    not read (Channel.lost() counts them); the next receive goes on with the
    oldest message still there."""


def strerror(err: int) -> str:
    """Text for an errno value (either sign), libshmx's own meanings included."""
    return bytes(_c.shmx_strerror(-abs(err))).decode()


def error(ret: int, filename: str | None = None) -> OSError:
    """The exception for a negative return (OSError picks the subclass)."""
    err = -ret
    text = strerror(err)
    if err == _errno.EOWNERDEAD:
        return PeerDiedError(err, text) if filename is None else \
            PeerDiedError(err, text, filename)
    if err == _errno.EPIPE:
        return PeerClosedError(err, text) if filename is None else \
            PeerClosedError(err, text, filename)
    if err == _errno.ENOBUFS:
        return MessagesLostError(err, text)
    return OSError(err, text) if filename is None else OSError(err, text, filename)


def peer_error(ret: int, peer: str, what: str) -> OSError:
    """The exception for a return seen by one end of what ("channel '/x'",
    "an anonymous pair"): a peer that closed or died is named ("the producer
    of channel '/x' closed it"); other errors as error()."""
    err = -ret
    if err == _errno.EPIPE:
        return PeerClosedError(err, "the %s of %s closed it" % (peer, what))
    if err == _errno.EOWNERDEAD:
        return PeerDiedError(err, "the %s of %s died" % (peer, what))
    return error(ret)


def check(ret: int, filename: str | None = None) -> int:
    """ret when it is not negative, else raise its exception."""
    if ret < 0:
        raise error(ret, filename)
    return ret
