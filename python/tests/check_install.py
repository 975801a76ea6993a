# SPDX-License-Identifier: MIT
"""The two ways the binding gets installed, each into a fresh venv, with the
C library installed by meson into a temporary prefix:

- meson: a venv's python3 first on PATH, `meson setup --prefix=TMP`,
  `meson install`: the binding lands in the venv (where that interpreter
  imports from) and loads the prefix's library, with no environment help;
- pip: `pip install --no-build-isolation --no-index ./python` (offline, the
  way docs/python.md says), and `pip install -e`; the package finds the
  library through pkg-config, and SHMX_LIBRARY overrides; the unit tests
  then pass against the installed package, and mypy sees its py.typed.

Everything is under one temporary directory, removed at the end. Needs
meson (this suite runs under it), and for pip an interpreter with venv,
setuptools and wheel (scripts/deps.sh python installs Debian's)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)                     # python/
SRC = os.environ.get("SHMX_SOURCE_ROOT", os.path.dirname(TOP))
WAIT = 900
# only what the library needs: no tests, tools, examples, man pages
MINIMAL = ["-Dtests=false", "-Dexamples=false", "-Dtools=false", "-Dman=false",
           "-Dbench=false", "-Dsystemd=false", "-Ddefault_library=shared",
           "-Dpython=enabled", "--libdir=lib"]
# environment variables that would tell the binding where things are
HINTS = ("SHMX_LIBRARY", "PYTHONPATH", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH",
         "VIRTUAL_ENV", "PYTHONHOME", "LD_PRELOAD")


def clean_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in HINTS}
    env.update(extra)
    return env


def run(argv: List[str], **kw: object) -> str:
    """Run argv; its output, or a failure that shows it."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT,
                       **kw)  # type: ignore[call-overload]
    if r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(argv), r.returncode,
                                                     r.stdout, r.stderr))
    return str(r.stdout)


def pip_python() -> Optional[str]:
    """An interpreter that can build the package offline: venv, setuptools
    and wheel importable (the suite's own, else Debian's)."""
    probe = "import ensurepip, venv, setuptools, wheel"
    for exe in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(exe) and subprocess.run(
                [exe, "-c", probe], capture_output=True).returncode == 0:
            return exe
    return None


class TestInstall(unittest.TestCase):
    tmp: str
    prefix: str
    meson_venv: str

    @classmethod
    def setUpClass(cls) -> None:
        if shutil.which("meson") is None or shutil.which("ninja") is None:
            raise unittest.SkipTest("meson and ninja are needed to install libshmx")
        cls.tmp = tempfile.mkdtemp(prefix="shmx-pyinstall-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp)
        cls.prefix = os.path.join(cls.tmp, "prefix")
        # The meson route: the venv's python3 is the one meson finds.
        cls.meson_venv = os.path.join(cls.tmp, "venv-meson")
        run([sys.executable, "-m", "venv", "--without-pip", cls.meson_venv])
        path = os.path.join(cls.meson_venv, "bin") + os.pathsep + os.environ["PATH"]
        build = os.path.join(cls.tmp, "build")
        env = clean_env(PATH=path)
        run(["meson", "setup", build, SRC, "--prefix=" + cls.prefix, *MINIMAL], env=env)
        run(["ninja", "-C", build], env=env)
        run(["meson", "install", "-C", build, "--no-rebuild"], env=env)

    def python(self, venv: str, code: str, **env: str) -> str:
        """code run by the venv's python3, from a directory with no shmx
        source in it, with only the environment given."""
        return run([os.path.join(venv, "bin", "python"), "-c", code],
                   cwd=self.tmp, env=clean_env(**env)).strip()

    def test_meson_install_goes_where_the_venvs_python_imports_from(self) -> None:
        out = self.python(self.meson_venv, "import shmx; print(shmx.__file__); "
                          "print(shmx._lib.path); print(shmx.__version__)")
        where, lib, version = out.splitlines()
        self.assertTrue(where.startswith(os.path.join(self.meson_venv, "lib")), where)
        self.assertEqual(lib, "meson's libdir: %s/lib/libshmx.so.0" % self.prefix)
        self.assertEqual(version, self.version())
        self.assertFalse(any("site-packages" in d or "dist-packages" in d
                             for d, _, _ in os.walk(self.prefix)),
                         "the binding also went under the prefix")

    def version(self) -> str:
        return run([os.path.join(self.meson_venv, "bin", "python"), "-c",
                    "import shmx; print(shmx.__version__)"], cwd=self.tmp,
                   env=clean_env(SHMX_LIBRARY=self.lib())).strip()

    def lib(self) -> str:
        return os.path.join(self.prefix, "lib", "libshmx.so.0")

    def pip_venv(self, name: str) -> tuple[str, str]:
        """A fresh venv that can build offline, and a copy of the source
        (pip builds in place: the tree under test stays clean)."""
        exe = pip_python()
        if exe is None:
            self.skipTest("no python3 here has venv, setuptools and wheel "
                          "(Debian: scripts/deps.sh python)")
        venv = os.path.join(self.tmp, name)
        run([exe, "-m", "venv", "--system-site-packages", venv])
        src = os.path.join(self.tmp, "src-" + name)
        shutil.copytree(TOP, os.path.join(src, "python"),
                        ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                      "__pycache__"))
        shutil.copy(os.path.join(SRC, "meson.build"), src)
        return venv, os.path.join(src, "python")

    def pip(self, venv: str, *args: str) -> None:
        run([os.path.join(venv, "bin", "python"), "-m", "pip", "install",
             "--no-build-isolation", "--no-index", "--no-cache-dir", *args],
            cwd=self.tmp, env=clean_env(PIP_NO_INPUT="1"))

    def test_pip_install_finds_the_library_and_passes_the_tests(self) -> None:
        venv, src = self.pip_venv("venv-pip")
        self.pip(venv, src)
        pc = os.path.join(self.prefix, "lib", "pkgconfig")
        out = self.python(venv, "import shmx, importlib.metadata as m; "
                          "print(shmx.__file__); print(shmx._lib.path); "
                          "print(shmx.__version__, m.version('shmx'))",
                          PKG_CONFIG_PATH=pc)
        where, lib, versions = out.splitlines()
        self.assertTrue(where.startswith(venv), where)
        self.assertEqual(lib, "pkg-config: " + self.lib())
        self.assertEqual(versions, "%s %s" % (self.version(), self.version()))
        # SHMX_LIBRARY wins, and one that is not there is an error
        self.assertEqual(self.python(venv, "import shmx; print(shmx._lib.path)",
                                     SHMX_LIBRARY=self.lib(), PKG_CONFIG_PATH=pc),
                         "SHMX_LIBRARY: " + self.lib())
        with self.assertRaisesRegex(AssertionError, "SHMX_LIBRARY: /nonexistent/"
                                    "libshmx.so.0 does not exist"):
            self.python(venv, "import shmx", SHMX_LIBRARY="/nonexistent/libshmx.so.0")
        self.unit_tests_pass(venv, pc)
        self.mypy_sees_the_types(venv)

    def unit_tests_pass(self, venv: str, pc: str) -> None:
        """The suite's own tests, against the installed package: run from a
        directory that has the tests but not the source."""
        tdir = os.path.join(self.tmp, "t")
        shutil.copytree(HERE, os.path.join(tdir, "tests"),
                        ignore=shutil.ignore_patterns("check_*.py", "__pycache__"))
        shutil.copytree(os.path.join(TOP, "examples"), os.path.join(tdir, "examples"))
        keep = {k: os.environ[k] for k in ("SHMX_PY_PEER", "SHMX_CHAN_PRODUCER",
                                           "SHMX_TEST_SCALE") if k in os.environ}
        run([os.path.join(venv, "bin", "python"), "-m", "unittest", "discover",
             "-s", "tests", "-t", "."], cwd=tdir,
            env=clean_env(PKG_CONFIG_PATH=pc, **keep))

    def mypy_sees_the_types(self, venv: str) -> None:
        mypy = shutil.which("mypy")
        if mypy is None:
            return      # check_types says so
        user = os.path.join(self.tmp, "user.py")
        with open(user, "w") as f:
            f.write("import shmx\nsize: int = shmx.Region.anon(4096).size\n"
                    "name: int = shmx.Region.anon(4096).name\n")
        r = subprocess.run([mypy, "--strict", "--cache-dir=/dev/null",
                            "--python-executable", os.path.join(venv, "bin", "python"),
                            user], capture_output=True, text=True, cwd=self.tmp,
                           timeout=WAIT)
        # exactly the one error: the package's own annotations were read
        self.assertIn("user.py:3: error: Incompatible types in assignment "
                      "(expression has type \"Optional[str]\"", r.stdout)
        self.assertIn("Found 1 error", r.stdout)

    def test_pip_editable_install_imports_the_source(self) -> None:
        venv, src = self.pip_venv("venv-edit")
        self.pip(venv, "-e", src)
        out = self.python(venv, "import shmx; print(shmx.__file__)",
                          SHMX_LIBRARY=self.lib())
        self.assertEqual(out, os.path.join(src, "shmx", "__init__.py"))
