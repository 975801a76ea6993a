# SPDX-License-Identifier: MIT
"""mypy --strict on the package and the examples (Debian's mypy; the test
skips, saying so, where it is not installed), and a misuse of the API that
the annotations must catch."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)                     # python/
WAIT = 600


def mypy(*args: str, cwd: str = TOP) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("mypy")
    if exe is None:
        raise unittest.SkipTest("mypy is not installed (Debian: apt-get install "
                                "mypy, or scripts/deps.sh python)")
    # no cache: nothing written into the source tree
    return subprocess.run([exe, "--strict", "--cache-dir=/dev/null", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=WAIT)


class TestTypes(unittest.TestCase):
    def test_package_and_examples_pass_mypy_strict(self) -> None:
        examples = sorted(os.path.join("examples", f)
                          for f in os.listdir(os.path.join(TOP, "examples"))
                          if f.endswith(".py"))
        r = mypy("shmx", *examples)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_annotations_catch_a_misuse(self) -> None:
        with tempfile.TemporaryDirectory(prefix="shmx-pytypes-") as d:
            bad = os.path.join(d, "bad.py")
            with open(bad, "w") as f:
                f.write("import shmx\n"
                        "r = shmx.Region.create('/x', '4096')\n"
                        "n: str = shmx.Channel.create_anon(4096, 'producer').capacity\n")
            r = mypy(bad)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('bad.py:2: error: Argument 2 to "create" of "Region" has '
                      'incompatible type "str"; expected "int"', r.stdout)
        self.assertIn("bad.py:3: error: Incompatible types in assignment", r.stdout)
