# SPDX-License-Identifier: MIT
"""Finding and loading libshmx.so.0, wherever it was installed.

Tried in this order, the first that loads wins:

1. the file named by the environment variable ``SHMX_LIBRARY`` (and only
   that one: an override that does not load is an error, not a hint);
2. the library directory meson installed this package for (``_config``,
   written at build time; absent when pip installed the package);
3. the soname through the dynamic loader's own search (``ld.so.cache``,
   ``LD_LIBRARY_PATH``): any prefix in ``/etc/ld.so.conf``;
4. the ``libdir`` of ``pkg-config libshmx`` (a prefix such as ``/opt/shmx``
   named in ``PKG_CONFIG_PATH``);
5. whatever ``ctypes.util.find_library("shmx")`` finds (it also asks the
   compiler, so ``LIBRARY_PATH`` counts).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess

SONAME = "libshmx.so.0"


def _config_libdir() -> str | None:
    try:
        from . import _config  # type: ignore[attr-defined]
    except ImportError:
        return None     # installed by pip, or the source tree: no such file
    return str(_config.LIBDIR)


def _pkg_config_libdir() -> str | None:
    try:
        out = subprocess.run(["pkg-config", "--variable=libdir", "libshmx"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None     # no pkg-config on this machine
    libdir = out.stdout.strip()
    return libdir if out.returncode == 0 and libdir else None


def _candidates() -> list[tuple[str, str | None]]:
    """(where it comes from, path or None when that source has none), lazily
    costly ones last: pkg-config and find_library run programs."""
    env = os.environ.get("SHMX_LIBRARY")
    if env:
        return [("SHMX_LIBRARY", env)]
    libdir = _config_libdir()
    return [("meson's libdir", os.path.join(libdir, SONAME) if libdir else None),
            ("the dynamic loader", SONAME)]


def _late_candidates() -> list[tuple[str, str | None]]:
    libdir = _pkg_config_libdir()
    return [("pkg-config", os.path.join(libdir, SONAME) if libdir else None),
            ("ctypes.util.find_library", ctypes.util.find_library("shmx"))]


def _try(source: str, path: str | None, errors: list[str]) -> ctypes.CDLL | None:
    if path is None:
        errors.append(source + ": nothing")
        return None
    # An absolute path that is not there is skipped, with a shorter message
    # than dlopen's.
    if os.path.isabs(path) and not os.path.exists(path):
        errors.append("%s: %s does not exist" % (source, path))
        return None
    try:
        return ctypes.CDLL(path, use_errno=True)
    except OSError as e:
        errors.append("%s: %s" % (source, e))
        return None


def load() -> tuple[ctypes.CDLL, str]:
    """The library and how it was found ("pkg-config: /opt/x/lib/libshmx.so.0");
    ImportError saying what was tried when nothing loads."""
    errors: list[str] = []
    for source, path in _candidates():
        lib = _try(source, path, errors)
        if lib is not None:
            return lib, "%s: %s" % (source, path)
    if not os.environ.get("SHMX_LIBRARY"):
        for source, path in _late_candidates():
            lib = _try(source, path, errors)
            if lib is not None:
                return lib, "%s: %s" % (source, path)
    raise ImportError("cannot load libshmx (install it, or set SHMX_LIBRARY to "
                      "the path of libshmx.so.0); tried " + "; ".join(errors))
