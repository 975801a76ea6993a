# SPDX-License-Identifier: MIT
# Where meson installs the binding for this interpreter, given the prefix:
# a directory this interpreter imports from, so that `import shmx` works
# with no PYTHONPATH. Prints nothing when there is none to choose; meson
# then takes its own choice under the prefix and says so.
#   python3 site-dir.py PREFIX
import os
import sys
import sysconfig

prefix = os.path.abspath(sys.argv[1])
purelib = sysconfig.get_path("purelib")     # this interpreter's own


def under(d):
    return os.path.commonpath([prefix, os.path.abspath(d)]) == prefix


if under(purelib):
    # a venv and --prefix=$VIRTUAL_ENV, Debian's python3 and /usr/local
    print(purelib)
elif sys.prefix != sys.base_prefix or prefix == "/usr/local":
    # a venv is where its user wants the binding; the default prefix means
    # no choice was made: the interpreter's own directory (pyenv, conda)
    print(purelib)
else:
    # Debian's python3 and --prefix=/usr: /usr/lib/python3/dist-packages
    for d in sys.path:
        if d.endswith(("-packages", "-packages/")) and under(d) and \
                os.path.relpath(d, prefix).startswith("lib"):
            print(d)
            break
