"""province.py — a small province for the sync suites (convergence, faults).

Standard library only; builds on harness.py. What it gives a test:

- COUNTIES: real Xining (西宁市, 6301) county-level divisions with their
  union ids and node ids;
- GitDaemon: stock `git daemon` serving the hub directory on a free
  loopback port with receive-pack enabled (so the hub's pre-receive hook
  runs on every push); bounded start and stop;
- Link: a faultproxy.py in front of the daemon on a FIXED port, so a
  county's hub URL (fixed at init) stays valid while the test switches the
  link between pass, cut-after-bytes and stall (each switch restarts the
  proxy on the same port);
- Province: `hub init`, the org tree, county init + enrolment, sync / hub
  run helpers, and the comparisons every convergence check needs: the rows
  a county holds read from any registry, the `followed` table, the hub's
  live memberships.

Every wait is bounded; nothing here measures time.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

GIT = shutil.which("git")
FAULTPROXY = os.path.join(H.HERE, "faultproxy.py")
HUB = "qh-hub"
ON = "2024-03-01"

# node id, union id, union name, region code (/work/shared/data/regions/areas.csv)
COUNTIES = [
    ("xn-cd", "qh-xn-cd", "城东区总工会", "630102"),
    ("xn-cz", "qh-xn-cz", "城中区总工会", "630103"),
    ("xn-cx", "qh-xn-cx", "城西区总工会", "630104"),
    ("xn-cb", "qh-xn-cb", "城北区总工会", "630105"),
    ("xn-dt", "qh-xn-dt", "大通回族土族自治县总工会", "630121"),
    ("xn-hy", "qh-xn-hy", "湟源县总工会", "630123"),
]
UNION = {c[0]: c[1] for c in COUNTIES}
UNION_NAME = {c[1]: c[2] for c in COUNTIES}
REGION = {c[0]: c[3] for c in COUNTIES}

# Hang guard only (never a speed check): no single command may take longer.
HANG = 120


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


def git(env, *args, timeout=60):
    p = subprocess.run([GIT] + [str(a) for a in args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=timeout)
    return H.Result(["git"] + [str(a) for a in args], p.returncode, p.stdout.decode("utf-8", "replace"),
                    p.stderr.decode("utf-8", "replace"))


class GitDaemon:
    """`git daemon` serving `base` on a free loopback port."""

    def __init__(self, base, log, env):
        self.base, self.log, self.env = base, log, env
        self.proc = None
        self.port = None

    def start(self, port=None):
        last = ""
        for _ in range(5):  # a port picked free can be taken before git binds it
            self.port = port or free_port()
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    [GIT, "daemon", "--reuseaddr", "--base-path=" + self.base, "--export-all",
                     "--enable=receive-pack", "--listen=127.0.0.1", "--port=%d" % self.port, self.base],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env, start_new_session=True)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.proc.poll() is None:
                r = git(self.env, "ls-remote", self.url, timeout=15)
                if r.rc == 0:
                    return self
                last = r.err
                time.sleep(0.05)
            self.stop()
        raise AssertionError("git daemon did not come up: %s" % last)

    @property
    def url(self):
        return "git://127.0.0.1:%d/hub.git" % self.port

    def kill(self):
        """SIGKILL the daemon and every per-connection child (a crash)."""
        p, self.proc = self.proc, None
        if p is None:
            return
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)

    def stop(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)  # the daemon and its per-connection children
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        else:
            try:  # the daemon is gone; its connection children may not be
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Link:
    """faultproxy.py on a fixed loopback port in front of `target_port`.

    set(mode, nbytes, times) restarts the proxy in that mode on the same
    port (SO_REUSEADDR), so a URL given to `huiji init` stays valid."""

    def __init__(self, target_port, log):
        self.target_port = target_port
        self.log = log
        self.port = None
        self.proc = None
        self.mode = None

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
                self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                             start_new_session=True)
            line = self._first_line(10)
            if line and line.strip().isdigit():
                port = int(line)
                if self.port is not None and port != self.port:
                    raise AssertionError("faultproxy came up on %d, expected %d" % (port, self.port))
                self.port = port
                self.mode = mode
                return self
            last = line
            self.stop()
            time.sleep(0.1)
        raise AssertionError("faultproxy did not come up on port %s: %r" % (self.port, last))

    def _first_line(self, timeout):
        """The port line, read with a bound (the proxy may die on bind)."""
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf and time.monotonic() < deadline:
            if not sel.select(max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(self.proc.stdout.fileno(), 64)
            if not chunk:
                break
            buf += chunk
        sel.close()
        return buf.decode("ascii", "replace").split("\n")[0]

    def stop(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        try:
            p.stdin.close()  # EOF on stdin: the proxy closes every socket and exits
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        p.stdout.close()


class Province:
    """A hub (qh-hub, 青海省总工会) with 西宁市 and its counties."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.hub = os.path.join(tmp, "hub")
        self.hub_db = os.path.join(self.hub, "registry.db")
        self.hub_repo = os.path.join(self.hub, "hub.git")
        self.git_env = git_env(os.path.join(tmp, "home"))
        self.dirs = {}   # county node id -> directory
        self.urls = {}   # county node id -> hub URL it was given
        self.links = {}  # county node id -> Link (git daemon counties)
        self.daemon = None
        self.hub_key = None
        self._cleanup = []

    # --- setting up ---------------------------------------------------------

    def make_hub(self, counties):
        r = self.ok("hub", "init", "--node", HUB, "--union", "qh", "--union-name", "青海省总工会", "--region", "63",
                    d=self.hub)
        self.hub_key = re.search(r"^public key: ([0-9a-f]{64})$", r.out, re.M).group(1)
        self.ok("org", "create", "--id", "qh-xn", "--name", "西宁市总工会", "--kind", "city", "--parent", "qh",
                "--region", "6301", d=self.hub)
        for node in counties:
            union = UNION[node]
            self.ok("org", "create", "--id", union, "--name", UNION_NAME[union], "--kind", "county",
                    "--parent", "qh-xn", "--region", REGION[node], d=self.hub)
        assert os.access(os.path.join(self.hub_repo, "hooks", "pre-receive"), os.X_OK)
        return self

    def start_daemon(self):
        self.daemon = GitDaemon(self.hub, os.path.join(self.tmp, "daemon.log"), self.git_env).start()
        return self.daemon

    def link(self, node, mode="pass", nbytes=0, times=0):
        """The county's link to the daemon (made on first use)."""
        lk = self.links.get(node)
        if lk is None:
            lk = self.links[node] = Link(self.daemon.port, os.path.join(self.tmp, "proxy-%s.log" % node))
        return lk.set(mode, nbytes, times)

    def add_county(self, node, transport="path", enroll=True, union=None):
        """transport: path | file | daemon (through the county's Link).
        union: for a further node of a county's union (default UNION[node])."""
        d = os.path.join(self.tmp, node)
        union = union or UNION[node]
        if transport == "daemon":
            url = self.link(node).url
        elif transport == "file":
            url = "file://" + self.hub_repo
        else:
            url = self.hub_repo
        r = self.ok("init", "--node", node, "--union", union, "--hub", url, "--hub-key", self.hub_key,
                    "--person-key", os.path.join(self.hub, "person.key"), d=d)
        pk = re.search(r"^public key: ([0-9a-f]{64})$", r.out, re.M).group(1)
        if enroll:
            self.ok("node", "enroll", "--node", node, "--pubkey", pk, "--union", union, "--role", "union",
                    d=self.hub)
        self.dirs[node] = d
        self.urls[node] = url
        return d

    def close(self):
        for lk in self.links.values():
            lk.stop()
        if self.daemon:
            self.daemon.stop()

    # --- running things -----------------------------------------------------

    def run(self, *args, d=None, timeout=HANG):
        return H.run(list(args), d, timeout=timeout)

    def ok(self, *args, d=None, timeout=HANG):
        r = self.run(*args, d=d, timeout=timeout)
        if r.rc != 0:
            raise H.HuijiError("command failed: %r" % r)
        return r

    def db(self, node):
        return self.hub_db if node == HUB else os.path.join(self.dirs[node], "registry.db")

    def sync(self, node, *opts, timeout=HANG):
        return self.run("sync", *opts, d=self.dirs[node], timeout=timeout)

    def hub_run(self):
        return self.ok("hub", "run", "--once", d=self.hub)

    def audit(self, url=None):
        return self.run("audit", url or self.hub_repo, "--hub-key", self.hub_key)

    # --- reading state ------------------------------------------------------

    def subtree_unions(self, db, union):
        orgs = H.query(db, "SELECT id, parent FROM org")
        out, grew = {union}, True
        while grew:
            grew = False
            for oid, parent in orgs:
                if parent in out and oid not in out:
                    out.add(oid)
                    grew = True
        return out

    def rows(self, db, union):
        """The rows a county of `union` holds, read from any registry: the
        whole org and node tables, the memberships in its subtree and the
        person rows they reference, each ordered by primary key."""
        unions = sorted(self.subtree_unions(db, union))
        marks = ",".join("?" * len(unions))
        con = H.connect(db)
        try:
            def q(sql, params=()):
                cur = con.execute(sql, params)
                cols = [c[0] for c in cur.description]
                return [tuple(zip(cols, r)) for r in cur.fetchall()]
            return {
                "org": q("SELECT * FROM org ORDER BY id"),
                "node": q("SELECT * FROM node ORDER BY id"),
                "membership": q("SELECT * FROM membership WHERE union_id IN (%s) ORDER BY id" % marks, unions),
                "person": q("SELECT * FROM person WHERE person_key IN (SELECT person_key FROM membership "
                            "WHERE union_id IN (%s)) ORDER BY person_key" % marks, unions),
            }
        finally:
            con.close()

    def followed(self, node):
        return [(n, s, bytes(h).hex(), v) for n, s, h, v in
                H.query(self.db(node), "SELECT node, seq, hash, verdicts FROM followed ORDER BY pos")]

    def changelog(self, node):
        return [(s, bytes(h).hex(), bytes(e)) for s, h, e, _ in H.changelog(self.db(node))]

    def hub_seqs(self, node):
        """The seqs of `node` in the hub's order, in order."""
        return [s for s, in H.query(self.hub_db, "SELECT seq FROM followed WHERE node = ? ORDER BY pos", (node,))]

    def remote_feed(self, node, repo=None):
        """(commit id or None, number of commits) of the hub's feed ref for `node`."""
        ref = "refs/huiji/feeds/" + node
        r = git(self.git_env, "--git-dir", repo or self.hub_repo, "rev-parse", "--verify", "-q", ref)
        if r.rc != 0:
            return None, 0
        tip = r.out.strip()
        n = int(git(self.git_env, "--git-dir", repo or self.hub_repo, "rev-list", "--count", tip).out.strip())
        return tip, n

    def replica(self, node):
        return os.path.join(self.dirs[node], "replica.git")

    def fill(self, node, n, fakes, repack_every=250):
        """n `member apply` change sets at `node` (one op each, offline).

        Each command writes its change set to the replica as its own pack
        and nothing ever repacks: every later command walks every pack, so
        without the `git repack -a -d` here (what NOTES-git-crypto.md tells
        an operator to do now and then) the 3000th apply is ~7x slower than
        the first (measured: 3000 applies ~4.5 min instead of ~50 s)."""
        for i in range(n):
            self.ok(*H.apply_args(fakes.person(region=REGION.get(node, "630103"))), d=self.dirs[node])
            if repack_every and (i + 1) % repack_every == 0:
                r = git(self.git_env, "--git-dir", self.replica(node), "repack", "-a", "-d", "-q", timeout=HANG)
                if r.rc != 0:
                    raise H.HuijiError("git repack failed: %r" % r)

    def hub_feed_tip(self, node):
        """The hub's feed ref for `node`, read from the hub repository's
        files (cheap enough to poll); None if absent."""
        ref = "refs/huiji/feeds/" + node
        p = os.path.join(self.hub_repo, ref)
        try:
            with open(p) as f:
                return f.read().strip() or None
        except OSError:
            pass
        try:
            with open(os.path.join(self.hub_repo, "packed-refs")) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref:
                        return parts[0]
        except OSError:
            pass
        return None

    def own_feed_commits(self, node):
        """Commit ids of the county's own feed (its replica), oldest first."""
        d = self.dirs[node]
        for repo in sorted(os.listdir(d)):
            rp = os.path.join(d, repo)
            if repo.endswith(".git") and os.path.isdir(rp):
                r = git(self.git_env, "--git-dir", rp, "rev-list", "--reverse", "--first-parent",
                        "refs/huiji/feeds/" + node)
                if r.rc == 0:
                    return r.out.split()
        return []
