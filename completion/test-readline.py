#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Tab in a real bash: an interactive bash on a pseudo-terminal (readline,
# as a user has it) sources completion/shmx.bash, and the keys a user
# presses are typed into it. Names in /dev/shm are anyone's to choose: a
# name holding "$(...)" or a space must complete to one word that names it,
# never to a command the shell runs on Enter.
#   test-readline.py COMPLETION_FILE SHMX_TOOL        (TAP output)
# Its objects are named shmx-rltest-<pid>-* and removed on exit.
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

comp, tool = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
tag = "shmx-rltest-%d" % os.getpid()
work = tempfile.mkdtemp(prefix=tag + "-")
hostile = "/%s-x-$(touch %s-pwned)" % (tag, tag)
spaced = "/%s-sp ace" % tag
made = []
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for line in detail.splitlines():
            print("# " + line)


class Shell:
    def __init__(self):
        env = {"PATH": os.path.dirname(tool) + ":/usr/bin:/bin", "HOME": work,
               "TERM": "dumb", "INPUTRC": "/dev/null", "PS1": "$ ", "LC_ALL": "C"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(work)
            os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], env)
        self.out = b""
        self.type("source %s\n" % comp)
        self.type("echo READY$((6*7))\n")
        self.expect(b"READY42")

    def type(self, keys):
        os.write(self.fd, keys.encode())

    def expect(self, what, timeout=20):
        end = time.monotonic() + timeout
        while what not in self.out and time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    break
        return what in self.out

    # The keys of line, Tab where "\t" is, then Enter; the exit status of
    # what ran and everything the terminal showed.
    # Until the terminal has shown nothing new for a while: readline has
    # inserted the completion.
    def settle(self, quiet=0.7, timeout=20):
        end = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < end and time.monotonic() - last < quiet:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                self.out += os.read(self.fd, 4096)
                last = time.monotonic()

    def run(self, line):
        self.settle()
        self.out = b""
        self.type(line)
        self.settle()
        self.type("\n")
        # the echo of this line shows DO""NE: only its output says DONE
        self.type('echo "RC=$?=DO""NE"\n')
        got = self.expect(b"=DONE")
        text = self.out.decode(errors="replace")
        rc = None
        if got:
            i = text.rfind("RC=")
            rc = text[i + 3:text.index("=DONE", i)]
        return rc, text

    def close(self):
        self.type("exit\n")
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


def create(name):
    subprocess.run([tool, "create", name, "4096"], check=True, stdout=subprocess.DEVNULL)
    made.append(name)


def no_pty():
    """Why no pseudo-terminal can be had here (a chroot without /dev/pts), or None."""
    try:
        master, slave = os.openpty()
    except OSError as e:
        return "no pseudo-terminal (%s; is devpts mounted on /dev/pts?)" % e.strerror
    os.close(master)
    os.close(slave)
    return None


if not os.path.exists("/bin/bash"):
    print("1..0 # SKIP no /bin/bash")
    sys.exit(0)
why = no_pty()
if why:
    print("1..0 # SKIP " + why)
    sys.exit(0)
print("1..5")
try:
    create(hostile)
    create(spaced)
    with open(os.path.join(work, "a file"), "w") as f:
        f.write("x" * 4096)
    sh = Shell()
    rc, text = sh.run("shmx stat /%s-x\t" % tag)
    pwned = os.path.exists(os.path.join(work, tag + "-pwned"))
    ok(not pwned, "a name holding $(...) is not run when completed and entered", text)
    ok(rc == "0" and ("Name:       " + hostile) in text,
       "it completes to one word that names it (shmx stat exits 0)", text)
    rc, text = sh.run("shmx rm /%s-sp\t" % tag)
    ok(rc == "0" and os.path.exists("/dev/shm" + spaced) is False,
       "a name with a space completes to one word (shmx rm removes it)", text)
    if rc == "0":
        made.remove(spaced)
    rc, text = sh.run("shmx recv --p\t")
    ok("shmx recv --pair " in text,
       "options are those the command accepts (recv --p: --pair, not --producers)", text)
    rc, text = sh.run("shmx stat %s/a\\ fi\t" % work)
    ok(rc == "0" and "Kind:       file" in text,
       "file paths complete for a command that takes them", text)
    sh.close()
finally:
    for name in made:
        subprocess.run([tool, "rm", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failed else 0)
