# SPDX-License-Identifier: MIT
# The directory under PREFIX that this interpreter imports from, if any:
# meson's own choice on Debian (PREFIX/lib/python3/dist-packages) is not on
# the default sys.path of Debian's python3 for PREFIX=/usr/local.
import sys

prefix = sys.argv[1].rstrip("/") + "/"
for d in sys.path:
    rest = d[len(prefix):] if d.startswith(prefix) else ""
    # "lib/...": a prefix of /usr must not pick /usr/local's directory
    if rest.startswith("lib") and d.endswith(("-packages", "-packages/")):
        print(d)
        break
