"""province.py — a small province for the sync suites (sync_security,
convergence, faults).

Standard library only; builds on harness.py and gitserver.py. What it
gives a test:

- COUNTIES: real Xining (西宁市, 6301) county-level divisions with their
  union ids and node ids;
- Province: `hub init`, the org tree, county init + enrolment over a local
  path, file://, the git daemon itself, or a county's own faultproxy Link
  (gitserver.py) on a fixed port, so a county's hub URL (fixed at init)
  stays valid while the test switches the link between pass,
  cut-after-bytes and stall; sync / hub run helpers; and the checks every
  sync suite makes: a county's rows equal the hub's (harness.county_rows),
  the `followed` table (order and verdicts), verify, audit, quarantine.

Every wait is bounded (harness.HANG, scaled by HUIJI_TIME_SCALE); nothing
here measures time.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import gitserver as G  # noqa: E402

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
HANG = H.HANG


class Province:
    """A hub (qh-hub, 青海省总工会) with 西宁市 and its counties."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.hub = os.path.join(tmp, "hub")
        self.hub_db = os.path.join(self.hub, "registry.db")
        self.hub_repo = os.path.join(self.hub, "hub.git")
        self.person_key = os.path.join(self.hub, "person.key")
        self.git_env = G.git_env(os.path.join(tmp, "home"))
        self.dirs = {}   # county node id -> directory
        self.urls = {}   # county node id -> hub URL it was given
        self.links = {}  # county node id -> Link (git daemon counties)
        self.daemon = None
        self.hub_key = None

    # --- setting up ---------------------------------------------------------

    def make_hub(self, counties):
        """`hub init`, 西宁市总工会 and the county unions of `counties`."""
        r = self.ok("hub", "init", "--node", HUB, "--union", "qh", "--union-name", "青海省总工会", "--region", "63",
                    d=self.hub)
        self.hub_key = re.search(r"^public key: ([0-9a-f]{64})$", r.out, re.M).group(1)
        self.ok("org", "create", "--id", "qh-xn", "--name", "西宁市总工会", "--kind", "city", "--parent", "qh",
                "--region", "6301", d=self.hub)
        for node in counties:
            union = UNION[node]
            self.ok("org", "create", "--id", union, "--name", UNION_NAME[union], "--kind", "county",
                    "--parent", "qh-xn", "--region", REGION[node], d=self.hub)
        if not os.access(os.path.join(self.hub_repo, "hooks", "pre-receive"), os.X_OK):
            raise AssertionError("hub init made no executable pre-receive hook")
        return self

    def start_daemon(self):
        self.daemon = G.GitDaemon(self.hub, os.path.join(self.tmp, "daemon.log"), self.git_env).start()
        return self.daemon

    def link(self, node, mode="pass", nbytes=0, times=0):
        """The county's link to the daemon (made on first use)."""
        lk = self.links.get(node)
        if lk is None:
            lk = self.links[node] = G.Link(self.daemon.port, os.path.join(self.tmp, "proxy-%s.log" % node))
        return lk.set(mode, nbytes, times)

    def init_county(self, node, union=None, url="/nonexistent/hub.git", d=None):
        """`huiji init` of a county node (not enrolled): (directory, public key)."""
        d = d or os.path.join(self.tmp, node)
        r = self.ok("init", "--node", node, "--union", union or UNION[node], "--hub", url, "--hub-key",
                    self.hub_key, *self.county_init_args(), d=d)
        return d, re.search(r"^public key: ([0-9a-f]{64})$", r.out, re.M).group(1)

    def county_init_args(self):
        """More arguments for a county's `init`: none (a county holds no
        person key); a province run by an older huiji gives its own."""
        return []

    def enroll(self, node, pubkey, union=None):
        return self.ok("node", "enroll", "--node", node, "--pubkey", pubkey, "--union", union or UNION[node],
                       "--role", "union", d=self.hub)

    def add_county(self, node, transport="path", enroll=True, union=None, url=None):
        """transport: path | file | daemon (the daemon itself) | link (through
        the county's Link); url: a hub URL of the test's own instead.
        union: for a further node of a county's union (default UNION[node])."""
        if url is None:
            url = {"link": lambda: self.link(node).url, "daemon": lambda: self.daemon.url,
                   "file": lambda: "file://" + self.hub_repo, "path": lambda: self.hub_repo}[transport]()
        d, pk = self.init_county(node, union, url)
        if enroll:
            self.enroll(node, pk, union)
        self.dirs[node] = d
        self.urls[node] = url
        return d

    def close(self):
        for lk in self.links.values():
            lk.stop()
        if self.daemon:
            self.daemon.stop()

    # --- running things -----------------------------------------------------

    def run(self, *args, d=None, timeout=120, exe=None):
        return H.run(list(args), d, timeout=timeout, exe=exe)

    def ok(self, *args, d=None, timeout=120, exe=None):
        r = self.run(*args, d=d, timeout=timeout, exe=exe)
        if r.rc != 0:
            raise H.HuijiError("command failed: %r" % r)
        return r

    def db(self, node):
        return self.hub_db if node == HUB else os.path.join(self.dirs[node], "registry.db")

    def sync(self, node, *opts, timeout=120):
        return self.run("sync", *opts, d=self.dirs[node], timeout=timeout)

    def hub_run(self):
        return self.ok("hub", "run", "--once", d=self.hub)

    def audit(self, url=None, pin=True):
        return self.run("audit", url or self.hub_repo, *(["--hub-key", self.hub_key] if pin else []))

    def git(self, *args, **kw):
        return G.git(self.git_env, *args, **kw)

    # --- reading state ------------------------------------------------------

    def rows(self, node, union=None, d=None):
        """harness.county_rows of `node`'s registry (or the registry in d,
        or the hub's for node HUB) for `union` (default: node's union)."""
        db = os.path.join(d, "registry.db") if d else self.db(node)
        return H.county_rows(db, union or UNION[node])

    def followed(self, node):
        return H.followed(self.db(node))

    def hub_followed_for(self, node):
        """The hub's order as `node` must hold it: its own change sets, the
        hub's, and what the hub delivered to its inbox (sync/inbox.c) —
        not the rest of the province."""
        mine = set(H.query(self.hub_db, "SELECT src_node, src_seq FROM inbox WHERE node = ?", (node,)))
        return [r for r in self.followed(HUB) if r[0] in (node, HUB) or (r[0], r[1]) in mine]

    def changelog(self, node):
        return [(s, bytes(h).hex(), bytes(e)) for s, h, e, _ in H.changelog(self.db(node))]

    def hub_seqs(self, node):
        """The seqs of `node` in the hub's order, in order."""
        return [s for s, in H.query(self.hub_db, "SELECT seq FROM followed WHERE node = ? ORDER BY pos", (node,))]

    def hub_included(self, node):
        """The last seq of `node` the hub sequenced (0 if none)."""
        return H.query(self.hub_db, "SELECT coalesce(max(seq), 0) FROM followed WHERE node = ?", (node,))[0][0]

    def quarantine(self):
        """`hub quarantine --json`, parsed."""
        r = self.ok("hub", "quarantine", "--json", d=self.hub)
        return json.loads(r.out)  # one JSON array

    def feed_commits(self, repo, ref):
        """Commit ids of a feed, oldest first (stock git)."""
        return self.git("--git-dir", repo, "rev-list", "--reverse", "--first-parent", ref, check=True).out.split()

    def remote_feed(self, node, repo=None):
        """(commit id or None, number of commits) of the hub's feed ref for `node`."""
        ref = "refs/huiji/feeds/" + node
        r = self.git("--git-dir", repo or self.hub_repo, "rev-parse", "--verify", "-q", ref)
        if r.rc != 0:
            return None, 0
        tip = r.out.strip()
        n = int(self.git("--git-dir", repo or self.hub_repo, "rev-list", "--count", tip, check=True).out.strip())
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
                self.git("--git-dir", self.replica(node), "repack", "-a", "-d", "-q", timeout=120, check=True)

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
                r = self.git("--git-dir", rp, "rev-list", "--reverse", "--first-parent", "refs/huiji/feeds/" + node)
                if r.rc == 0:
                    return r.out.split()
        return []

    # --- checks (AssertionError with what differs) -----------------------------

    def check_rows(self, node, union=None, d=None):
        """The county's rows equal the hub's for its union; returns them."""
        union = union or UNION[node]
        mine, hub = self.rows(node, union, d), H.county_rows(self.hub_db, union)
        diff = H.rows_diff(mine, hub)
        if diff:
            raise AssertionError("county %s's rows differ from the hub's:\n    %s" % (node, "\n    ".join(diff)))
        return mine

    def check_followed(self, node, prefix=False):
        """The county's `followed` table (order and verdicts) equals the
        hub's order as the county must hold it, row for row (prefix=True:
        is a prefix of it)."""
        mine, hub = self.followed(node), self.hub_followed_for(node)
        if (mine != hub[:len(mine)]) if prefix else (mine != hub):
            first = next((i for i, (a, b) in enumerate(zip(mine, hub)) if a != b), min(len(mine), len(hub)))
            raise AssertionError("%s's followed table is not %s the hub's: at position %d (county %d rows, hub %d):"
                                 "\n    county %r\n    hub    %r" % (
                                     node, "a prefix of" if prefix else "equal to", first + 1, len(mine), len(hub),
                                     mine[first:first + 1], hub[first:first + 1]))

    def check_verify(self, *nodes):
        for n in nodes:
            r = self.run("verify", d=self.hub if n == HUB else self.dirs[n])
            if r.rc != 0:
                raise AssertionError("verify failed on %s: %r" % (n, r))

    def check_audit(self, url=None):
        """`huiji audit` (pinned hub key) passes: exit 0, no DISCREPANCY, and
        it says how many inbox deliveries it checked."""
        r = self.audit(url)
        if (r.rc != 0 or "audit passed" not in r.out or "DISCREPANCY" in r.out or
                not re.search(r"\n  \d+ inbox deliveries checked", r.out)):
            raise AssertionError("audit should pass: %r" % r)
        return r

    def check_no_quarantine(self):
        q = self.quarantine()
        if q:
            raise AssertionError("the hub quarantined something: %r" % q)

    def check_sequenced_once(self, node):
        """The hub sequenced each of `node`'s change sets exactly once, in order."""
        n = len(self.changelog(node))
        if self.hub_seqs(node) != list(range(1, n + 1)):
            raise AssertionError("the hub did not sequence %s's %d change sets exactly once in order: %s" % (
                node, n, self.hub_seqs(node)))
