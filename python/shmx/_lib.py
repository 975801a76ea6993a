# SPDX-License-Identifier: MIT
"""The C side: libshmx loaded (see _load), its structs and the prototypes of
the functions the binding calls, as include/shmx.h declares them."""
from __future__ import annotations

import ctypes
from typing import Any

from ._load import load

lib, path = load()
"""path: how the library was found and where, for messages and tests."""


c_int, c_uint, c_size_t, c_ssize_t = (ctypes.c_int, ctypes.c_uint,
                                      ctypes.c_size_t, ctypes.c_ssize_t)
c_char_p, c_void_p = ctypes.c_char_p, ctypes.c_void_p
c_mode_t = ctypes.c_uint32
c_key_t = ctypes.c_int32
c_uid_t = ctypes.c_uint32
c_pid_t = ctypes.c_int32
P = ctypes.POINTER


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class Info(ctypes.Structure):
    """struct shmx_info"""
    _fields_ = [("size", ctypes.c_uint64), ("mode", c_mode_t),
                ("uid", c_uid_t), ("gid", c_uid_t), ("holders", ctypes.c_uint32),
                ("atime", Timespec), ("mtime", Timespec), ("ctime", Timespec),
                ("reserved", ctypes.c_uint64 * 4)]


class ChanInfo(ctypes.Structure):
    """struct shmx_chan_info"""
    _fields_ = [("abi", ctypes.c_uint32), ("header_size", ctypes.c_uint32),
                ("capacity", ctypes.c_uint64), ("max_msg", ctypes.c_uint64),
                ("used", ctypes.c_uint64), ("sent", ctypes.c_uint64),
                ("received", ctypes.c_uint64), ("producer_pid", c_pid_t),
                ("consumer_pid", c_pid_t), ("holders", ctypes.c_uint32),
                ("policy", ctypes.c_uint32), ("producers", ctypes.c_uint32),
                ("consumers", ctypes.c_uint32), ("lost", ctypes.c_uint64),
                ("reserved", ctypes.c_uint64 * 2)]


class ChanParams(ctypes.Structure):
    """struct shmx_chan_params"""
    _fields_ = [("capacity", c_size_t), ("producers", ctypes.c_uint32),
                ("consumers", ctypes.c_uint32), ("policy", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32 * 5)]


class ChanPeer(ctypes.Structure):
    """struct shmx_chan_peer"""
    _fields_ = [("role", c_uint), ("slot", ctypes.c_uint32), ("pid", c_pid_t),
                ("state", ctypes.c_uint32), ("generation", ctypes.c_uint32),
                ("count", ctypes.c_uint64), ("lag", ctypes.c_uint64),
                ("lost", ctypes.c_uint64), ("reserved", ctypes.c_uint64 * 2)]


class SysvInfo(ctypes.Structure):
    """struct shmx_sysv_info"""
    _fields_ = [("key", c_key_t), ("id", c_int), ("size", ctypes.c_uint64),
                ("mode", c_mode_t), ("uid", c_uid_t), ("gid", c_uid_t),
                ("cuid", c_uid_t), ("cgid", c_uid_t), ("cpid", c_pid_t),
                ("lpid", c_pid_t), ("nattch", ctypes.c_uint64), ("removed", c_int),
                ("atime", ctypes.c_long), ("dtime", ctypes.c_long),
                ("ctime", ctypes.c_long), ("reserved", ctypes.c_uint64 * 4)]


# The opaque handles are plain pointers.
Handle = c_void_p
PH = P(Handle)

_PROTOS: dict[str, tuple[Any, list[Any]]] = {
    "shmx_version": (c_char_p, []),
    "shmx_strerror": (c_char_p, [c_int]),
    "shmx_name_canon": (c_int, [c_char_p, c_char_p, c_size_t]),
    "shmx_create": (c_int, [c_char_p, c_size_t, c_uint, c_mode_t, PH]),
    "shmx_open": (c_int, [c_char_p, c_uint, PH]),
    "shmx_map": (c_int, [Handle]),
    "shmx_unmap": (c_int, [Handle]),
    "shmx_close": (Handle, [Handle]),
    "shmx_unlink": (c_int, [c_char_p]),
    "shmx_resize": (c_int, [Handle, c_size_t]),
    "shmx_sync": (c_int, [Handle]),
    "shmx_sync_range": (c_int, [Handle, c_size_t, c_size_t, c_uint]),
    "shmx_addr": (c_void_p, [Handle]),
    "shmx_size": (c_size_t, [Handle]),
    "shmx_name": (c_char_p, [Handle]),
    "shmx_fd": (c_int, [Handle]),
    "shmx_guard_sigbus": (c_int, []),
    "shmx_stat": (c_int, [c_char_p, P(Info)]),
    "shmx_fstat": (c_int, [Handle, P(Info)]),
    "shmx_anon_create": (c_int, [c_size_t, c_uint, PH]),
    "shmx_anon_send": (c_int, [Handle, c_int]),
    "shmx_anon_recv": (c_int, [c_int, c_uint, c_int, PH]),
    "shmx_file_create": (c_int, [c_char_p, c_size_t, c_uint, c_mode_t, PH]),
    "shmx_file_open": (c_int, [c_char_p, c_uint, PH]),
    "shmx_file_unlink": (c_int, [c_char_p]),
    "shmx_sysv_key": (c_int, [c_char_p, c_int, P(c_key_t)]),
    "shmx_sysv_create": (c_int, [c_key_t, c_size_t, c_uint, c_mode_t, PH]),
    "shmx_sysv_open": (c_int, [c_key_t, c_uint, PH]),
    "shmx_sysv_open_id": (c_int, [c_int, c_uint, PH]),
    "shmx_sysv_id": (c_int, [Handle]),
    "shmx_sysv_remove": (c_int, [c_int]),
    "shmx_sysv_stat": (c_int, [c_int, P(SysvInfo)]),
    "shmx_pair_create": (c_int, [Handle, c_uint, c_mode_t, PH]),
    "shmx_pair_open": (c_int, [Handle, c_uint, PH]),
    "shmx_pair_close": (Handle, [Handle]),
    "shmx_pair_unlink": (c_int, [c_char_p]),
    "shmx_pair_wait": (c_int, [Handle, c_int]),
    "shmx_pair_post": (c_int, [Handle]),
    "shmx_pair_create_anon": (c_int, [c_uint, PH]),
    "shmx_pair_region": (Handle, [Handle]),
    "shmx_pair_attach": (c_int, [Handle, c_uint, PH]),
    "shmx_pair_fd": (c_int, [Handle]),
    "shmx_chan_create": (c_int, [c_char_p, c_size_t, c_uint, c_mode_t, PH]),
    "shmx_chan_open": (c_int, [c_char_p, c_uint, c_int, PH]),
    "shmx_chan_close": (Handle, [Handle]),
    "shmx_chan_unlink": (c_int, [c_char_p]),
    "shmx_chan_send": (c_int, [Handle, c_void_p, c_size_t, c_int]),
    "shmx_chan_recv": (c_ssize_t, [Handle, c_void_p, c_size_t, c_int]),
    "shmx_chan_send_batch": (c_ssize_t, [Handle, c_void_p, c_size_t, c_int]),
    "shmx_chan_recv_batch": (c_ssize_t, [Handle, c_void_p, c_size_t, P(c_size_t),
                                         c_size_t, c_int]),
    "shmx_chan_peek": (c_ssize_t, [Handle, P(c_void_p), c_int]),
    "shmx_chan_release": (c_int, [Handle]),
    "shmx_chan_capacity": (c_size_t, [Handle]),
    "shmx_chan_max_msg": (c_size_t, [Handle]),
    "shmx_chan_used": (c_ssize_t, [Handle]),
    "shmx_chan_pending": (c_ssize_t, [Handle]),
    "shmx_chan_stat": (c_int, [c_char_p, P(ChanInfo)]),
    "shmx_chan_create_params": (c_int, [c_char_p, P(ChanParams), c_uint, c_mode_t, PH]),
    "shmx_chan_lost": (c_ssize_t, [Handle]),
    "shmx_chan_slot": (c_int, [Handle]),
    "shmx_chan_peers": (c_int, [c_char_p, P(ChanPeer), c_size_t]),
    "shmx_chan_create_anon_params": (c_int, [P(ChanParams), c_uint, PH]),
    "shmx_chan_region": (Handle, [Handle]),
    "shmx_chan_attach": (c_int, [Handle, c_uint, PH]),
    "shmx_chan_fd": (c_int, [Handle]),
}



def _declare(protos: dict[str, tuple[Any, list[Any]]]) -> None:
    missing = [name for name in protos if not hasattr(lib, name)]
    if missing:
        raise ImportError("%s is older than this binding: it lacks %s"
                          % (path, ", ".join(missing)))
    for name, (res, args) in protos.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args


_declare(_PROTOS)
