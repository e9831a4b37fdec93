"""gitserver.py — the git servers the sync suites talk to.

Standard library only; builds on harness.py. Stock `git daemon` serving a
hub directory on a free loopback port with receive-pack enabled (so the
hub's pre-receive hook runs on every push), and Link: a faultproxy.py in
front of it on a fixed port whose mode (pass, cut-after-bytes, stall) can
be switched between syncs. Every start, stop and wait is bounded (scaled by
HUIJI_TIME_SCALE), servers listen on 127.0.0.1 only, and none outlives the
test: each is killed at exit, and with util-linux's setpriv it also gets
SIGKILL when the test process dies (meson's timeout kills only the test's
own process group; the servers run in sessions of their own).
"""

import atexit
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

GIT = shutil.which("git")
SETPRIV = shutil.which("setpriv")
FAULTPROXY = os.path.join(H.HERE, "faultproxy.py")

_live = set()  # started servers (GitDaemon, Link) to kill at exit


@atexit.register
def _kill_all():
    for s in list(_live):
        s.kill()


def _spawn(argv, **kw):
    """Popen in a session of its own that dies with this process."""
    if SETPRIV:  # parent-death signal: survives exec, costs no process
        argv = [SETPRIV, "--pdeathsig", "KILL", "--"] + argv
    return subprocess.Popen(argv, start_new_session=True, **kw)


def git_env(home):
    """Stock git with no user or system configuration of this machine."""
    os.makedirs(home, exist_ok=True)
    return H.child_env({"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"})


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def git(env, *args, timeout=60, check=False):
    """Run stock git; a Result. check=True raises HuijiError on failure."""
    args = [str(a) for a in args]
    p = subprocess.run([GIT] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=H.scaled(timeout))
    r = H.Result(["git"] + args, p.returncode, p.stdout.decode("utf-8", "replace"),
                 p.stderr.decode("utf-8", "replace"))
    if check and r.rc != 0:
        raise H.HuijiError("git failed: %r" % r)
    return r


def group_procs(pgid):
    """Live (non-zombie) processes of process group `pgid`: [(pid, cmdline)]."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            state, pgrp = fields[0], int(fields[2])
            if pgrp != pgid or state in ("Z", "X"):
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                out.append((int(d), f.read().replace(b"\0", b" ").decode("utf-8", "replace")))
        except (OSError, ValueError):
            continue
    return out


def killpg(pgid, sig=signal.SIGKILL):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


class GitDaemon:
    """`git daemon` serving `base` on a free loopback port (or the port it
    had, after a kill: a county's URL holds it)."""

    def __init__(self, base, log, env, repo="hub.git"):
        self.base, self.log, self.env, self.repo = base, log, env, repo
        self.proc = None
        self.port = None

    @property
    def url(self):
        return "git://127.0.0.1:%d/%s" % (self.port, self.repo)

    def start(self, port=None):
        last = ""
        for _ in range(5):  # a port picked free can be taken before git binds it
            self.port = port or free_port()
            with open(self.log, "ab") as log:
                self.proc = _spawn([GIT, "daemon", "--reuseaddr", "--base-path=" + self.base, "--export-all",
                                    "--enable=receive-pack", "--listen=127.0.0.1", "--port=%d" % self.port,
                                    self.base],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env)
            _live.add(self)
            deadline = time.monotonic() + H.scaled(15)
            while time.monotonic() < deadline and self.proc.poll() is None:
                r = git(self.env, "ls-remote", self.url, timeout=15)
                if r.rc == 0:
                    return self
                last = r.err
                time.sleep(0.05)
            self.stop()
        raise AssertionError("git daemon did not come up on 127.0.0.1:%s within %.0f s: %s"
                             % (self.port, H.scaled(15), last))

    def kill(self):
        """SIGKILL the daemon and every per-connection child (a crash)."""
        p, self.proc = self.proc, None
        _live.discard(self)
        if p is None:
            return
        killpg(p.pid)
        p.wait(timeout=H.scaled(30))

    def stop(self):
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            killpg(p.pid, signal.SIGTERM)  # the daemon and its per-connection children
            try:
                p.wait(timeout=H.scaled(10))
            except subprocess.TimeoutExpired:
                pass
        self.kill()  # whatever is left of the group (connection children)

    def pause(self):
        """SIGSTOP the daemon and its children: connections stay open, silent."""
        killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        killpg(self.proc.pid, signal.SIGCONT)

    def serving(self):
        """Per-connection children (`git daemon` itself is two processes)."""
        return [c for _, c in group_procs(self.proc.pid) if "--serve" in c or "--port=" not in c]

    def wait_idle(self, what="git daemon still serving a dead connection"):
        """Until the daemon serves no connection (a receive-pack that was
        stopped may still finish its ref update after SIGCONT)."""
        H.wait_until(lambda: not self.serving(), what, timeout=H.HANG)


class Link:
    """faultproxy.py on a fixed loopback port in front of `target_port`.

    set(mode, nbytes, times) restarts the proxy in that mode on the same
    port (SO_REUSEADDR), so a URL given to `huiji init` stays valid. The
    proxy prints a line per connection it accepts; `accepted` counts them
    (since the last set) and wait_accepted() waits for one: the event
    "a client reached the hub" without polling the client."""

    def __init__(self, target_port, log):
        self.target_port = target_port
        self.log = log
        self.port = None
        self.proc = None
        self.mode = None
        self.accepted = 0
        self._cv = threading.Condition()

    @property
    def url(self):
        return "git://127.0.0.1:%d/hub.git" % self.port

    def set(self, mode="pass", nbytes=0, times=0):
        self.stop()
        args = [sys.executable, FAULTPROXY, "--listen", str(self.port or 0), "--target",
                "127.0.0.1:%d" % self.target_port, "--mode", mode]
        if mode == "cut-after-bytes":
            args += ["--bytes", str(nbytes)]
            if times:
                args += ["--times", str(times)]
        last = ""
        for _ in range(50):  # the old listener may take a moment to go
            with open(self.log, "ab") as log:
                self.proc = _spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
            _live.add(self)
            line = self._first_line(H.scaled(10))
            if line and line.strip().isdigit():
                port = int(line)
                if self.port is not None and port != self.port:
                    raise AssertionError("faultproxy came up on %d, expected %d" % (port, self.port))
                self.port = port
                self.mode = mode
                with self._cv:
                    self.accepted = 0
                threading.Thread(target=self._events, args=(self.proc,), daemon=True).start()
                return self
            last = line
            self.stop()
            time.sleep(0.1)
        raise AssertionError("faultproxy did not come up on port %s: %r" % (self.port, last))

    def _first_line(self, timeout):
        """The port line, read with a bound (the proxy may die on bind)."""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf and time.monotonic() < deadline:
            if not sel.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(self.proc.stdout.fileno(), 1)  # one byte: the rest is the event reader's
            if not chunk:
                break
            buf += chunk
        sel.close()
        return buf.decode("ascii", "replace").split("\n")[0]

    def _events(self, proc):
        """Drain the proxy's event lines (a full pipe would stop it)."""
        try:
            for line in proc.stdout:
                if line.startswith(b"accept "):
                    with self._cv:
                        if self.proc is proc:
                            self.accepted += 1
                        self._cv.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            proc.stdout.close()

    def wait_accepted(self, n=1, alive=None, what=None):
        """Until the proxy has accepted `n` connections since the last set();
        fails (clear message) if `alive` (a Popen) ends first or after
        H.HANG s."""
        deadline = time.monotonic() + H.HANG
        with self._cv:
            while self.accepted < n:
                if alive is not None and alive.poll() is not None:
                    raise AssertionError("%s: the client ended (rc %s) before the link saw connection %d"
                                         % (what or "link", alive.returncode, n))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s: no connection %d through the link within %.0f s"
                                         % (what or "link", n, H.HANG))
                self._cv.wait(min(left, 0.05))

    def kill(self):
        p, self.proc = self.proc, None
        _live.discard(self)
        if p is not None:
            killpg(p.pid)
            p.wait(timeout=H.scaled(10))

    def stop(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        try:
            p.stdin.close()  # EOF on stdin: the proxy closes every socket and exits
        except OSError:
            pass
        try:
            p.wait(timeout=H.scaled(10))
        except subprocess.TimeoutExpired:
            killpg(p.pid)
            p.wait(timeout=H.scaled(10))
        _live.discard(self)
