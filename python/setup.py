# SPDX-License-Identifier: MIT
"""The package's version is the project's: read from ../meson.build, the one
place it is written (a source distribution carries it in PKG-INFO).
Everything else is in pyproject.toml."""
import os
import re

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def version() -> str:
    meson = os.path.join(HERE, "..", "meson.build")
    if os.path.exists(meson):
        with open(meson) as f:
            m = re.search(r"project\([^)]*?\bversion:\s*'([^']+)'", f.read(), re.S)
        if m:
            return m.group(1)
    pkg_info = os.path.join(HERE, "PKG-INFO")
    if os.path.exists(pkg_info):
        with open(pkg_info) as f:
            for line in f:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    raise SystemExit("shmx: neither ../meson.build (libshmx's source tree) nor "
                     "PKG-INFO: install from the libshmx tree, pip install ./python")


setup(version=version())
