#!/usr/bin/env python3
"""test_sync_security.py — replication under attack (DESIGN §3, §5, §6).

What it proves: nothing a county, a clerk with stock git or someone with
write access to the hub's files can do makes the hub sequence a change set
that is not its signer's, rewrite what it sequenced, or make an audit pass
over a tampered record; the rest of the province syncs on.

A real hub (`huiji hub init`, its bare hub.git with the pre-receive hook),
real counties, real git: `git daemon` on loopback for the network paths,
local paths where a writer could bypass the hook (libgit2 pushing to a path
runs no hooks). What a correct huiji never makes comes from the test-only
tool huiji-forge (tests/tools/forge.c): change sets with hand-written
payloads, rewritten history, change sets signed by a key nobody enrolled,
forced pushes that no hook sees.

Covered:
  - happy path over git daemon: two counties and the hub converge (each
    county's subtree rows equal the hub's, one cross-county duplicate
    decided by the hub), audit passes with --hub-key; an own pending op
    that the hub's order refuses while the county was offline;
  - the hook, with stock git against git daemon: forced rewind, rewritten
    history, delete, writing another node's feed, refs outside
    refs/huiji/feeds/, a forged signature: all refused, the hub's refs
    unchanged, the county syncs on;
  - feeds nobody enrolled: held to the quota by the hook (a clear
    refusal) and, through a local path, never walked by the sequencer; a
    squatter's feed is quarantined as `squatter` and set aside once the id
    is enrolled, and the real county syncs and is sequenced;
  - the sequencer's quarantine: bad signature (later change sets wait),
    rewritten history (last and older change set), a rewound ref, a fork
    from a node restored from an old copy, also shorter than what was
    sequenced (named at its first differing seq), and the copy's own sync
    sending its history as refs/huiji/forks/<node> (path and git daemon),
    every kind with evidence kept; the audit reports each where it reached
    the record; other counties go on;
  - recovery: `huiji recover --from` carries the copy's unsequenced work
    to a new node id, ids mapped, refused and dangling ops reported;
  - the audit: a flipped byte in any object of the hub repository, a hub
    verdict and a state digest edited by hand, a hub feed substituted
    under another key;
  - a county's replica that lost a pack (all of them; the own feed's .pack
    with its .idx left; a fetched pack truncated) repairs itself: its own
    feed rewritten from SQLite, the hub's objects fetched again;
  - versions: a hub entry with an op from a newer huiji stops a county's
    sync with "upgrade huiji" after applying everything before it; a
    huiji built with HJ_OP_VERSION=4 (huiji-next) continues past it.

Every test has its own temporary directory and its own git daemon
(gitserver.py), its province from province.py, all waits are bounded
(scaled by HUIJI_TIME_SCALE), and assertions are on behaviour and state,
not timing. No HUIJI_LONG variant: every case is already small.

Run:  meson test -C build sync_security
      (or HUIJI_BIN=… HUIJI_FORGE=… HUIJI_NEXT=… python3 test_sync_security.py)
"""

import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
import unittest
import zlib

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import gitserver as G  # noqa: E402
import province as P  # noqa: E402

ON = P.ON
HUB = P.HUB
CZ, CB = "xn-cz", "xn-cb"  # county nodes
UNION = {CZ: P.UNION[CZ], CB: P.UNION[CB]}
REGION = {CZ: P.REGION[CZ], CB: P.REGION[CB]}
FORGE = H.tool_bin("HUIJI_FORGE", "tests", "huiji-forge")
NEXT = H.tool_bin("HUIJI_NEXT", "tests", "huiji-next")
RULES = 6  # the rules version today's hub decides under (node/rules.h)
# Short network bounds: every peer here is on loopback (scaled for slow builds).
SYNC_OPTS = ["--retries", "1", "--backoff-ms", "50", "--connect-timeout-ms", str(int(H.scaled(5000))),
             "--idle-timeout-ms", str(int(H.scaled(15000)))]


@unittest.skipUnless(G.GIT, "stock git is needed")
@unittest.skipUnless(FORGE, "huiji-forge not built (HUIJI_FORGE)")
class SyncSecurityCase(H.Case):
    maxDiff = 6000
    prefix = "huiji-sec-"

    def setUp(self):
        super().setUp()
        self.pv = P.Province(self.tmp)
        self.addCleanup(self.pv.close)
        self.hub = self.pv.hub
        self.hub_db = self.pv.hub_db
        self.counties = self.pv.dirs  # node id -> directory

    # --- running things ---------------------------------------------------

    def huiji(self, *args, d=None, exe=None, timeout=120):
        return self.pv.run(*args, d=d, exe=exe, timeout=timeout)

    def ok(self, r):
        self.assertEqual(r.rc, 0, "expected success: %r" % r)
        return r

    def forge(self, *args):
        return self.ok(self.huiji(*args, exe=FORGE))

    def git(self, *args, check=False, timeout=60):
        r = self.pv.git(*args, timeout=timeout)
        if check:
            self.ok(r)
        return r

    # --- the province -----------------------------------------------------

    def make_hub(self, daemon=False):
        """The hub with 西宁市 and the unions of cz and cb; the counties'
        URL is the git daemon (the hook runs) or a local path (libgit2
        runs no hook)."""
        self.pv.make_hub([CZ, CB])
        self.hub_key, self.hub_repo = self.pv.hub_key, self.pv.hub_repo
        self.url = self.pv.start_daemon().url if daemon else self.hub_repo
        return self.hub

    def make_county(self, node, enroll=True, url=None):
        return self.pv.add_county(node, enroll=enroll, url=url or self.url)

    def stranger(self):
        """A node directory whose key nobody enrolled."""
        return self.pv.init_county("xn-zz", "qh-xn-cz", d=self.path("stranger"))[0]

    def apply(self, node, n=1, approve=True, person=None, d=None):
        ids = []
        for _ in range(n):
            p = person or self.fakes.person(region=REGION[node])
            r = self.ok(self.huiji(*H.apply_args(p, approve=approve), d=d or self.counties[node]))
            ids.append(r.out.split()[1])
        return ids

    def sync(self, node, d=None, exe=None):
        return self.huiji("sync", *SYNC_OPTS, d=d or self.counties[node], exe=exe)

    def hub_run(self):
        return self.pv.hub_run()

    def status_json(self, d):
        return json.loads(self.ok(self.huiji("status", "--json", d=d)).out)

    def round_trip(self, *nodes):
        for n in nodes:
            self.ok(self.sync(n))
        self.hub_run()
        for n in nodes:
            self.ok(self.sync(n))

    def quarantine(self):
        return self.pv.quarantine()

    def audit(self, url=None, pin=True):
        return self.pv.audit(url, pin)

    def assertAuditPasses(self, url=None):
        return self.pv.check_audit(url)

    def assertAuditFinds(self, *patterns, url=None):
        """Exit 1, and a DISCREPANCY line matching each regex."""
        r = self.audit(url)
        self.assertEqual(r.rc, 1, "audit should report discrepancies (exit 1): %r" % r)
        lines = [l for l in r.out_lines if l.startswith("DISCREPANCY: ")]
        self.assertTrue(lines, "no DISCREPANCY line: %r" % r)
        for pat in patterns:
            self.assertTrue(any(re.search(pat, l) for l in lines), "no discrepancy matching %r: %r" % (pat, r))
        return r, lines

    def hub_included(self, node):
        """Last seq of `node` the hub sequenced (0 if none)."""
        return self.pv.hub_included(node)

    def hub_refs(self):
        r = self.git("--git-dir", self.hub_repo, "for-each-ref", "--format=%(objectname) %(refname)", check=True)
        return sorted(r.out_lines)

    def changelog_hash(self, d, seq):
        return bytes(H.query(os.path.join(d, "registry.db"), "SELECT hash FROM changelog WHERE seq = ?",
                             (seq,))[0][0]).hex()

    def feed_commits(self, repo, ref):
        """Commit ids of a feed, oldest first (stock git)."""
        return self.pv.feed_commits(repo, ref)

    def assertCountyMatchesHub(self, node, d=None):
        return self.pv.check_rows(node, d=d)


# ==========================================================================

class TestHappyPath(SyncSecurityCase):

    def test_two_counties_converge_over_git_daemon_and_audit_passes(self):
        self.make_hub(daemon=True)
        self.make_county(CZ)
        self.make_county(CB)
        self.apply(CZ, 3)
        self.apply(CB, 2)
        self.apply(CB, 1, approve=False)  # an open application
        shared = self.fakes.person(region=REGION[CZ])
        self.apply(CZ, person=shared)
        # The same person in the other county (neither county can know):
        # the hub's order decides, the other application is rejected.
        self.apply(CB, person=shared)
        for n in (CZ, CB):
            r = self.ok(self.sync(n))
            self.assertRegex(r.out, r"^synced: pushed \d+ change sets", r)
        self.hub_run()
        out = {n: self.ok(self.sync(n)) for n in (CZ, CB)}
        rejected = {}
        for n, r in out.items():
            self.assertIn("0 change sets pending", r.out)
            rejected[n] = int(re.search(r"(\d+) own ops rejected", r.out).group(1))
            self.assertEqual("rejected" in r.err, rejected[n] > 0, r)
        # One county's apply + approve of the shared person: 2 ops rejected.
        self.assertEqual(sorted(rejected.values()), [0, 2], out)
        self.assertEqual(self.quarantine(), [])
        self.assertEqual((self.hub_included(CZ), self.hub_included(CB)), (4, 4))
        for n in (CZ, CB):
            rows = self.assertCountyMatchesHub(n)
            self.assertTrue(rows["membership"])
            self.assertTrue(all(m["union_id"] in H.subtree_unions(self.hub_db, UNION[n]) for m in rows["membership"]))
        hub_db = os.path.join(self.hub, "registry.db")
        self.assertEqual(H.query(hub_db, "SELECT count(*) FROM membership WHERE status = 'active'")[0][0], 6)
        self.assertEqual(H.query(hub_db, "SELECT count(*) FROM membership m JOIN person p USING (person_key) "
                                         "WHERE p.id_number = ?", (shared.id_number,))[0][0], 1)
        self.assertEqual(H.query(hub_db, "SELECT count(*) FROM membership WHERE status = 'applied'")[0][0], 1)
        # cz's rows never hold cb's people.
        cz_db = os.path.join(self.counties[CZ], "registry.db")
        self.assertEqual(H.query(cz_db, "SELECT count(*) FROM membership WHERE union_id = 'qh-xn-cb'")[0][0], 0)
        # Idempotent: a second round changes nothing anywhere.
        before = {n: H.state(os.path.join(d, "registry.db")) for n, d in self.counties.items()}
        self.round_trip(CZ, CB)
        for n, d in self.counties.items():
            self.assertEqual(H.dump(os.path.join(d, "registry.db")), before[n][0], n)
        self.assertAuditPasses()
        self.assertAuditPasses(url=self.url)  # over git:// too, pinned key
        for n in (CZ, CB):
            self.ok(self.huiji("verify", d=self.counties[n]))

    def test_own_pending_op_refused_after_the_rebase(self):
        """The hub rejects an application while the county, offline,
        approves it: the county's pending approve no longer applies on top
        of the hub's decision. Sync must go on working and tell."""
        self.make_hub()
        self.make_county(CZ)
        mid = self.apply(CZ, approve=False)[0]
        self.round_trip(CZ)
        self.ok(self.huiji("member", "reject", "--member", mid, "--reason", "材料不全", "--on", ON, d=self.hub))
        self.ok(self.huiji("member", "approve", "--member", mid, "--on", ON, d=self.counties[CZ]))
        r = self.sync(CZ)
        self.assertEqual(r.rc, 0, "sync failed with an own pending op the hub's order refuses: %r" % r)
        self.hub_run()
        r = self.ok(self.sync(CZ))
        self.assertIn("1 own ops rejected", r.out)
        self.assertCountyMatchesHub(CZ)
        self.assertEqual(H.query(os.path.join(self.counties[CZ], "registry.db"),
                                 "SELECT status FROM membership WHERE id = ?", (mid,))[0][0], "rejected")
        self.assertAuditPasses()


# ==========================================================================

class TestHook(SyncSecurityCase):
    """Stock git against git daemon: the pre-receive hook is the gate."""

    def setUp(self):
        super().setUp()
        self.make_hub(daemon=True)
        self.make_county(CZ)
        self.make_county(CB)
        self.apply(CZ, 3)
        self.ok(self.sync(CZ))
        self.mirror = self.path("mirror.git")  # a plain copy of cz's replica
        self.git("clone", "--mirror", "--quiet", os.path.join(self.counties[CZ], "replica.git"), self.mirror,
                 check=True)
        self.cz_commits = self.feed_commits(self.mirror, "refs/huiji/feeds/" + CZ)
        self.assertEqual(len(self.cz_commits), 3)

    def ls_remote(self):
        return sorted(self.git("ls-remote", self.url, check=True).out_lines)

    def assertPushRefused(self, *refspecs, force=False, mentions=()):
        before_remote, before_local = self.ls_remote(), self.hub_refs()
        r = self.git("--git-dir", self.mirror, "push", *(["--force"] if force else []), self.url, *refspecs)
        self.assertNotEqual(r.rc, 0, "push should be refused: %r" % r)
        self.assertIn("huiji: refused:", r.err, r)
        self.assertIn("pre-receive hook declined", r.err, r)
        for m in mentions:
            self.assertIn(m, r.err, r)
        self.assertEqual(self.ls_remote(), before_remote, "the hub's refs moved: %r" % r)
        self.assertEqual(self.hub_refs(), before_local)
        return r

    def test_forced_rewind_is_refused(self):
        self.assertPushRefused("%s:refs/huiji/feeds/%s" % (self.cz_commits[0], CZ), force=True,
                               mentions=("not a fast-forward",))
        self.assertPushRefused("%s:refs/huiji/feeds/%s" % (self.cz_commits[1], CZ), force=True)

    def test_rewritten_history_is_refused(self):
        # A clerk's copy rewrites seq 3 (same prev, other payload) and force-pushes it with stock git.
        self.forge("rewrite", "--dir", self.counties[CZ], "--seq", 3, "--payload",
                   '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"改写"}]}')
        repl = os.path.join(self.counties[CZ], "replica.git")
        r = self.git("--git-dir", repl, "push", "--force", self.url, "refs/huiji/feeds/%s" % CZ)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("not a fast-forward", r.err)
        self.assertEqual(self.feed_commits(self.hub_repo, "refs/huiji/feeds/" + CZ), self.cz_commits)

    def test_deleting_a_feed_is_refused(self):
        self.assertPushRefused(":refs/huiji/feeds/%s" % CZ, mentions=("append-only",))

    def test_writing_another_nodes_feed_is_refused(self):
        feed = "refs/huiji/feeds/%s" % CZ
        # cb is enrolled but has pushed nothing yet; then with cb's feed there.
        self.assertPushRefused("%s:refs/huiji/feeds/%s" % (feed, CB), mentions=("refs/huiji/feeds/" + CB,))
        self.assertPushRefused("%s:refs/huiji/feeds/xn-nobody" % feed)
        self.apply(CB, 2)
        self.ok(self.sync(CB))
        # (stock git refuses a non-fast-forward itself: force it to the hook,
        # which refuses it for not being cb's feed or not a fast-forward:
        # whichever it meets first walking down from the pushed tip)
        self.assertPushRefused("+%s:refs/huiji/feeds/%s" % (feed, CB), force=True,
                               mentions=("refs/huiji/feeds/" + CB,))

    def test_refs_outside_the_feeds_are_refused(self):
        feed = "refs/huiji/feeds/%s" % CZ
        for dst in ("refs/heads/x", "refs/heads/main", "refs/tags/v1", "refs/huiji/hub/%s" % HUB,
                    "refs/huiji/inbox/%s" % CZ, "refs/huiji/feeds/%s" % HUB):
            with self.subTest(dst=dst):
                self.assertPushRefused("%s:%s" % (feed, dst), force=True)

    def test_forged_signature_is_refused_by_the_hook(self):
        self.forge("sign-as", "--dir", self.counties[CZ], "--key-from", self.stranger(), "--payload",
                   '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"伪造"}]}')
        r = self.sync(CZ)
        self.assertNotEqual(r.rc, 0, "the hub accepted a change set signed by an unenrolled key: %r" % r)
        self.assertIn("refused", r.err)
        self.assertEqual(self.feed_commits(self.hub_repo, "refs/huiji/feeds/" + CZ), self.cz_commits)

    def test_hook_judges_a_push_against_its_own_base(self):
        """Two pushes of one feed in flight (a receive-pack whose client was
        killed still finishing, and the clerk's next sync): the second one's
        hook gets old = the tip it was advertised, while the ref has since
        moved on. hj_hook_check (sync/hook.c) takes the old seq from the
        ref as it is now but walks down to `old`, so a valid append is
        refused as "seq N follows the base at seq M" (found by the fault
        suite). Judged against its own base it passes, and git's own
        compare-and-swap then refuses the stale update. hook.c reads the
        old seq from the old commit."""
        c = self.cz_commits
        for old, new in ((c[0], c[1]), (c[1], c[2])):
            with self.subTest(old_seq=c.index(old) + 1, ref_at=len(c)):
                p = subprocess.run([H.huiji_bin(), "hook", "pre-receive", "--dir", self.hub], cwd=self.hub_repo,
                                   input=("%s %s refs/huiji/feeds/%s\n" % (old, new, CZ)).encode(),
                                   env=H.child_env({"GIT_DIR": self.hub_repo}), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=H.HANG)
                self.assertEqual(p.returncode, 0, "a valid append from seq %d was refused: %s"
                                 % (c.index(old) + 1, p.stderr.decode("utf-8", "replace")))

    def test_the_county_still_syncs_after_refusals(self):
        self.assertPushRefused("%s:refs/huiji/feeds/%s" % (self.cz_commits[0], CZ), force=True)
        self.assertPushRefused(":refs/huiji/feeds/%s" % CZ)
        self.apply(CZ, 1)
        self.round_trip(CZ)
        self.assertEqual(self.hub_included(CZ), 4)
        self.assertCountyMatchesHub(CZ)
        self.assertAuditPasses()


# ==========================================================================

NOOP = '{"v":1,"ops":[]}'  # a well-formed change set that folds nothing


class TestUnenrolled(SyncSecurityCase):
    """Feeds of ids nobody enrolled (issue 7 item 3): they may wait at the
    hub, held to HJ_UNENROLLED_MAX_SETS (64) change sets and 1 MiB
    (sync/hook.h), and a squatter's feed never locks the real county out:
    once the id is enrolled, a feed whose seq 1 is not signed by the
    enrolled key is quarantined as `squatter` and set aside
    (refs/huiji/quarantined/<node>), and the real county pushes its own."""

    NEW, NEW_UNION = "xn-cb2", "qh-xn-cb"
    QUOTA = 64

    def squatter(self, n):
        d, _ = self.pv.init_county(self.NEW, self.NEW_UNION, self.url, d=self.path("squatter"))
        for _ in range(n):
            self.forge("append", "--dir", d, "--payload", NOOP)
        return d

    def real_county(self):
        d, pk = self.pv.init_county(self.NEW, self.NEW_UNION, self.url, d=self.path(self.NEW))
        self.ok(self.huiji(*H.apply_args(self.fakes.person(region=REGION[CB]), approve=True), d=d))
        return d, pk

    def test_beyond_the_quota_is_refused_by_the_hook(self):
        self.make_hub(daemon=True)
        squat = self.squatter(self.QUOTA + 1)
        r = self.huiji("sync", *SYNC_OPTS, "--chunk", str(self.QUOTA), d=squat)
        self.assertNotEqual(r.rc, 0, "the hub took more than the quota of an unenrolled feed: %r" % r)
        self.assertIn("not enrolled yet", r.err)
        self.assertIn("at most %d change sets" % self.QUOTA, r.err)
        # The first chunk (the quota) waits at the hub; nothing beyond it.
        self.assertEqual(self.pv.remote_feed(self.NEW)[1], self.QUOTA)
        r = self.hub_run()
        self.assertIn("1 feeds waiting", r.out)
        self.assertEqual(self.quarantine(), [])

    def check_squatter_set_aside(self, squat, real, pk, squat_tip):
        """The id is enrolled with the real county's key: the squatter's
        feed is quarantined (evidence: its seq 1) and set aside; the real
        county syncs and is sequenced; audit passes."""
        self.pv.enroll(self.NEW, pk, self.NEW_UNION)
        r = self.hub_run()
        self.assertIn("1 quarantined", r.out)
        self.assertIn(" 0 change sets", r.out)  # nothing of it folded: only seq 1 was read
        self.assertEqual(self.quarantine(), [])  # resolved by setting it aside
        q = self.quarantine_all()
        self.assertEqual([(x["node"], x["seq"], x["reason"]) for x in q], [(self.NEW, 1, "squatter")], q)
        self.assertEqual(q[0]["hash"].lower(), self.changelog_hash(squat, 1))
        self.assertGreater(q[0]["evidence_bytes"], 0)
        self.assertTrue(q[0]["resolved_at"], q)
        self.assertIn(squat_tip + " refs/huiji/quarantined/" + self.NEW, self.hub_refs())
        self.assertEqual(self.pv.remote_feed(self.NEW), (None, 0))
        # The real county is not locked out.
        self.ok(self.huiji("sync", *SYNC_OPTS, d=real))
        self.hub_run()
        self.assertEqual(self.hub_included(self.NEW), 1)
        self.assertEqual(H.query(os.path.join(self.hub, "registry.db"),
                                 "SELECT count(*) FROM membership WHERE union_id = ?", (self.NEW_UNION,))[0][0], 1)
        self.ok(self.huiji("sync", *SYNC_OPTS, d=real))
        self.assertAuditPasses()

    def quarantine_all(self):
        r = self.ok(self.huiji("hub", "quarantine", "--json", "--all", d=self.hub))
        return json.loads(r.out)  # one JSON array

    def test_squatter_does_not_lock_out_the_real_county(self):
        """Before a node is enrolled the hook can check only the shape of
        its feed (its key is unknown): someone else claiming the id gets a
        feed in, and the real county's push is refused as another history.
        It used to stay so: the enrolment quarantined the feed as a bad
        signature and the real county could never push its seq 1."""
        self.make_hub(daemon=True)
        squat = self.squatter(2)
        self.ok(self.huiji("sync", *SYNC_OPTS, d=squat))  # accepted: xn-cb2 is not enrolled
        tip, n = self.pv.remote_feed(self.NEW)
        self.assertEqual(n, 2)
        self.hub_run()
        self.assertEqual(self.hub_included(self.NEW), 0)  # waits for its enrolment
        self.assertEqual(self.quarantine(), [])
        real, pk = self.real_county()
        self.assertNotEqual(self.huiji("sync", *SYNC_OPTS, d=real).rc, 0)  # the squatter came first
        self.check_squatter_set_aside(squat, real, pk, tip)

    def test_beyond_the_quota_via_a_local_path_is_held_by_the_sequencer(self):
        """A local path runs no hook: the squatter leaves more than the
        quota. The sequencer never walks a feed nobody enrolled, and once
        the id is enrolled it reads only seq 1 of the squatted feed."""
        self.make_hub(daemon=False)
        squat = self.squatter(self.QUOTA + 6)
        self.ok(self.huiji("sync", *SYNC_OPTS, d=squat))
        tip, n = self.pv.remote_feed(self.NEW)
        self.assertEqual(n, self.QUOTA + 6)
        r = self.hub_run()
        self.assertIn("1 feeds waiting", r.out)
        self.assertEqual(self.quarantine(), [])
        real, pk = self.real_county()
        self.check_squatter_set_aside(squat, real, pk, tip)


# ==========================================================================

class TestQuarantine(SyncSecurityCase):
    """Writes that bypass the hook (a local path) reach the sequencer, which
    must quarantine them with evidence and hold that feed."""

    def setUp(self):
        super().setUp()
        self.make_hub()
        self.make_county(CZ)
        self.make_county(CB)
        self.apply(CZ, 3)
        self.apply(CB, 1)
        self.round_trip(CZ, CB)
        self.assertEqual(self.hub_included(CZ), 3)

    def only_quarantined(self, node, reasons, seqs=None):
        q = self.quarantine()
        self.assertEqual(len(q), 1, q)
        q = q[0]
        self.assertEqual(q["node"], node, q)
        self.assertIn(q["reason"], reasons, q)
        if seqs is not None:
            self.assertIn(q["seq"], seqs, q)
        self.assertTrue(q["detail"], q)
        return q

    def assertOthersUnaffected(self):
        """cb's feed goes on being sequenced while cz's waits, and cb goes
        on following the hub (including what the hub sequenced of cz's
        feed before the quarantine, which it may not have followed yet)."""
        n = self.hub_included(CB)
        self.apply(CB, 1)
        r = self.sync(CB)
        self.assertEqual(r.rc, 0, "another county can no longer sync once %s's feed is quarantined: %r" % (CZ, r))
        self.hub_run()
        self.assertEqual(self.hub_included(CB), n + 1)
        r = self.sync(CB)
        self.assertEqual(r.rc, 0, "another county can no longer sync once %s's feed is quarantined: %r" % (CZ, r))
        self.assertCountyMatchesHub(CB)

    def test_change_set_signed_by_an_unenrolled_key(self):
        r = self.forge("sign-as", "--dir", self.counties[CZ], "--key-from", self.stranger(), "--payload",
                       '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"伪造"}]}')
        forged = r.out.split()[2]
        self.ok(self.sync(CZ))  # a local path: no hook
        r = self.hub_run()
        self.assertIn("1 quarantined", r.out)
        q = self.only_quarantined(CZ, ("bad_signature",), (4,))
        self.assertEqual(q["hash"].lower(), forged)
        self.assertGreater(q["evidence_bytes"], 0)
        self.assertIn("key", q["detail"])
        self.assertEqual(self.hub_included(CZ), 3)
        # Later, correctly signed change sets of that node wait behind it.
        self.apply(CZ, 2)
        self.ok(self.sync(CZ))
        self.hub_run()
        self.hub_run()
        self.assertEqual(self.hub_included(CZ), 3)
        self.assertEqual(len(self.quarantine()), 1)
        self.assertEqual(H.query(os.path.join(self.hub, "registry.db"),
                                 "SELECT name FROM org WHERE id = 'qh-xn-cz'")[0][0], "城中区总工会")
        self.assertAuditFinds(r"%s seq 4\b.*(signed by key|signature)" % CZ)
        self.assertOthersUnaffected()

    def test_rewritten_last_change_set(self):
        r = self.forge("rewrite", "--dir", self.counties[CZ], "--seq", 3, "--payload",
                       '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"改写"}]}')
        rewritten = r.out.split()[2]
        # Its own sync sees the hub holds another history and refuses.
        r = self.sync(CZ)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("fork", r.err)
        self.forge("push", "--dir", self.counties[CZ], "--url", self.hub_repo, "--force")
        self.hub_run()
        q = self.only_quarantined(CZ, ("fork", "rewound"), (3,))
        self.assertEqual(q["hash"].lower(), rewritten)
        self.assertEqual(self.hub_included(CZ), 3)
        self.assertAuditFinds(r"%s seq 3\b.*(differ|tamper)" % CZ)
        self.assertOthersUnaffected()

    def test_rewritten_older_change_set(self):
        """Seq 1 of 3 rewritten (seqs 2 and 3 kept byte for byte), the ref
        forced: the feed the hub sequenced is no longer the one it holds."""
        r = self.forge("rewrite", "--dir", self.counties[CZ], "--seq", 1, "--payload",
                       '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"改写"}]}')
        rewritten = r.out.split()[2]
        self.forge("push", "--dir", self.counties[CZ], "--url", self.hub_repo, "--force")
        self.assertNotEqual(self.feed_commits(self.hub_repo, "refs/huiji/feeds/" + CZ)[0],
                            self.feed_commits(self.hub_repo, "refs/huiji/sequenced/" + CZ)[0])
        self.hub_run()
        # The audit sees it ...
        self.assertAuditFinds(r"%s seq 1\b.*(differ|tamper)" % CZ)
        # ... and so must the hub: the forced ref is a second history.
        q = self.quarantine()
        self.assertTrue(q, "the hub did not notice that %s's sequenced seq 1 was rewritten "
                           "(only the last sequenced change set is compared)" % CZ)
        q = self.only_quarantined(CZ, ("fork", "rewound", "malformed_commit"))
        self.assertEqual(q["hash"].lower(), rewritten)
        # And nothing more of that feed is sequenced on top of it.
        self.apply(CZ, 1, d=None)
        self.forge("push", "--dir", self.counties[CZ], "--url", self.hub_repo, "--force")
        self.hub_run()
        self.assertEqual(self.hub_included(CZ), 3)

    def test_rewound_ref(self):
        commits = self.feed_commits(self.hub_repo, "refs/huiji/feeds/" + CZ)
        self.forge("push", "--dir", self.counties[CZ], "--url", self.hub_repo, "--force", "--src", commits[0],
                   "--dst", "refs/huiji/feeds/" + CZ)
        self.assertEqual(self.feed_commits(self.hub_repo, "refs/huiji/feeds/" + CZ), commits[:1])
        self.hub_run()
        q = self.only_quarantined(CZ, ("rewound",))
        self.assertIn("rewound", q["detail"])
        self.assertGreater(q["evidence_bytes"], 0)  # the tip it was rewound to
        self.assertEqual(self.hub_included(CZ), 3)
        self.assertAuditFinds(r"%s seq [23]\b.*(not in the repository|dropped|rewound)" % CZ)
        self.assertOthersUnaffected()

    def test_fork_after_restoring_an_old_copy(self):
        orig = self.counties[CZ]
        copy = self.path("restored")
        subprocess.run(["cp", "-a", orig, copy], check=True, timeout=60)
        # The original works on: seqs 4 and 5 reach the hub.
        self.apply(CZ, 2)
        self.round_trip(CZ)
        self.assertEqual(self.hub_included(CZ), 5)
        # The restored copy writes its own seqs 4 and 5.
        self.apply(CZ, 2, d=copy)
        r = self.sync(CZ, d=copy)
        self.assertNotEqual(r.rc, 0, "a restored copy synced over a different history: %r" % r)
        self.assertIn("fork", r.err)
        self.assertIn("restored from an old copy", r.err)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertEqual(self.hub_included(CZ), 5)
        # Its feed reaches the hub anyway (a local path, forced: no hook).
        self.forge("push", "--dir", copy, "--url", self.hub_repo, "--force")
        self.hub_run()
        q = self.only_quarantined(CZ, ("fork",), (4, 5))
        self.assertEqual(q["hash"].lower(), self.changelog_hash(copy, q["seq"]))
        self.assertGreater(q["evidence_bytes"], 0)
        self.assertEqual(self.hub_included(CZ), 5)
        self.assertAuditFinds(r"%s seq [45]\b.*(differ|tamper)" % CZ)
        # cb has not followed cz's seqs 4-5 yet: it needs their bytes.
        self.assertOthersUnaffected()


    def test_shorter_restored_copy_names_the_first_differing_seq(self):
        """A copy restored at seq 3 writes one change set while the hub
        has sequenced the original's 4-6: its feed is shorter than what
        was sequenced, yet it is not merely rewound: seq 4 differs. It
        used to be quarantined as "rewound" at seq 6 with no evidence."""
        copy = self.path("restored")
        subprocess.run(["cp", "-a", self.counties[CZ], copy], check=True, timeout=60)
        self.apply(CZ, 3)
        self.round_trip(CZ)
        self.assertEqual(self.hub_included(CZ), 6)
        self.apply(CZ, 1, d=copy)
        self.forge("push", "--dir", copy, "--url", self.hub_repo, "--force")
        self.hub_run()
        q = self.only_quarantined(CZ, ("fork",), (4,))
        self.assertIn("seq 4 differs", q["detail"])
        self.assertEqual(q["hash"].lower(), self.changelog_hash(copy, 4))
        self.assertGreater(q["evidence_bytes"], 0)
        self.assertEqual(self.hub_included(CZ), 6)
        self.assertOthersUnaffected()

    def check_restored_copy_reaches_the_hub(self):
        """A restored copy's own sync sends its history to the hub as a
        fork (refs/huiji/forks/<node>) before it refuses, naming the first
        seq that differs: the hub quarantines it with its evidence and the
        auditor sees it. It used to stop at the county alone."""
        copy = self.path("restored")
        subprocess.run(["cp", "-a", self.counties[CZ], copy], check=True, timeout=60)
        self.apply(CZ, 2)
        self.round_trip(CZ)
        self.assertEqual(self.hub_included(CZ), 5)
        self.apply(CZ, 2, d=copy)
        r = self.sync(CZ, d=copy)
        self.assertNotEqual(r.rc, 0, "a restored copy synced over a different history: %r" % r)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertIn("restored from an old copy", r.err)
        self.assertIn("seq 4", r.err)
        self.assertIn("huiji recover", r.err)
        self.assertIn("sent to the hub as a fork", r.err)
        self.assertEqual(self.hub_included(CZ), 5)
        self.hub_run()
        q = self.only_quarantined(CZ, ("fork",), (4,))
        self.assertEqual(q["hash"].lower(), self.changelog_hash(copy, 4))
        self.assertGreater(q["evidence_bytes"], 0)
        self.assertEqual(self.hub_included(CZ), 5)
        self.assertAuditFinds(r"%s seq 4\b.*fork" % CZ)
        self.assertOthersUnaffected()
        # Resolved by the operator: the fork is set aside, the original goes on.
        self.ok(self.huiji("hub", "quarantine", "--reset", CZ, d=self.hub))
        self.apply(CZ, 1)
        self.round_trip(CZ)
        self.assertEqual(self.hub_included(CZ), 6)
        self.assertAuditPasses()

    def test_restored_copy_reaches_the_hub_as_a_quarantined_fork(self):
        self.check_restored_copy_reaches_the_hub()


class TestRecover(SyncSecurityCase):
    """README, Recovery: a restored copy's work that the hub never
    sequenced is carried to a re-initialised node by `huiji recover --from
    OLD_DIR`: its ops re-issued under the new id, the ids the copy minted
    mapped to the new ones; an op refused today is reported, and one naming
    a membership the copy created that was not re-issued is skipped."""

    NEW = "xn-cz2"

    def setUp(self):
        super().setUp()
        self.make_hub()
        self.make_county(CZ)
        self.make_county(CB)
        self.apply(CZ, 3)
        self.apply(CB, 1)
        self.round_trip(CZ, CB)

    def member(self, d, *args):
        return self.ok(self.huiji("member", *args, d=d))

    def test_recover_carries_a_restored_copys_work(self):
        copy = self.path("restored")
        subprocess.run(["cp", "-a", self.counties[CZ], copy], check=True, timeout=60)
        p = self.fakes.person(region=REGION[CZ])
        self.apply(CZ, 1, person=p)  # the original admits P: seq 4 at the hub
        self.round_trip(CZ)
        # The copy: Q admitted (seq 4: apply + approve), R applied (5) and
        # approved (6), P applied (7) and approved (8).
        self.apply(CZ, 1, d=copy)
        r_id = self.apply(CZ, 1, approve=False, d=copy)[0]
        self.member(copy, "approve", "--member", r_id)
        p_id = self.apply(CZ, 1, approve=False, person=p, d=copy)[0]
        self.member(copy, "approve", "--member", p_id)
        # (9) a membership of seq 1, which the hub sequenced: its id stays.
        self.member(copy, "leave", "--member", "%s:1:0" % CZ, "--reason", "voluntary")
        self.assertNotEqual(self.sync(CZ, d=copy).rc, 0)
        self.hub_run()
        self.only_fork = [x for x in self.quarantine() if x["reason"] == "fork"]
        self.assertEqual(len(self.only_fork), 1)
        # A new node for the copy's work, enrolled, synced (it holds P now).
        new, pk = self.pv.init_county(self.NEW, UNION[CZ], self.url, d=self.path(self.NEW))
        self.pv.enroll(self.NEW, pk, UNION[CZ])
        self.hub_run()
        self.ok(self.huiji("sync", *SYNC_OPTS, d=new))
        r = self.ok(self.huiji("recover", "--from", copy, d=new))
        self.assertIn("recovered: 6 change sets of %s never sequenced, re-issued as 4 new change sets "
                      "(5 ops applied, 1 refused, 1 skipped)" % CZ, r.out)
        self.assertRegex(r.out, r"refused: old seq 7 op 0 \(member.apply\)")
        self.assertRegex(r.out, r"skipped: old seq 8 op 0 \(member.approve\) names a membership")
        self.assertNotIn(p.id_number, r.out + r.err)
        # Once only.
        r = self.ok(self.huiji("recover", "--from", copy, d=new))
        self.assertIn("recovered: 0 change sets", r.out)
        self.ok(self.huiji("sync", *SYNC_OPTS, d=new))
        self.hub_run()
        self.assertEqual(self.hub_included(self.NEW), 4)
        self.assertEqual(H.query(os.path.join(self.hub, "registry.db"), "SELECT status FROM membership WHERE id = ?",
                                 ("%s:1:0" % CZ,)), [("left",)])
        hub_db = os.path.join(self.hub, "registry.db")
        admitted = H.query(hub_db, "SELECT status FROM membership WHERE person_key = "
                                   "(SELECT person_key FROM membership WHERE id = ?)", ("%s:4:0" % CZ,))[0][0]
        for mid in ("%s:1:0" % self.NEW, "%s:2:0" % self.NEW):  # Q, then R approved by the mapped id
            self.assertEqual(H.query(hub_db, "SELECT status FROM membership WHERE id = ?", (mid,)),
                             [(admitted,)], mid)
        self.ok(self.huiji("sync", *SYNC_OPTS, d=new))
        # The operator resolves the fork; the province audits clean.
        self.ok(self.huiji("hub", "quarantine", "--reset", CZ, d=self.hub))
        self.assertAuditPasses()


class TestForkOverDaemon(SyncSecurityCase):
    """The restored copy's fork through git daemon: the hook takes
    refs/huiji/forks/<node> only as a chain signed by the node's enrolled
    key."""

    def setUp(self):
        super().setUp()
        self.make_hub(daemon=True)
        self.make_county(CZ)
        self.make_county(CB)
        self.apply(CZ, 3)
        self.apply(CB, 1)
        self.round_trip(CZ, CB)

    only_quarantined = TestQuarantine.only_quarantined
    assertOthersUnaffected = TestQuarantine.assertOthersUnaffected
    check_restored_copy_reaches_the_hub = TestQuarantine.check_restored_copy_reaches_the_hub

    def test_restored_copy_reaches_the_hub_as_a_quarantined_fork(self):
        # First a "fork" signed by another key, with stock git: refused.
        stranger = self.stranger()
        copy = self.path("forger")
        subprocess.run(["cp", "-a", self.counties[CZ], copy], check=True, timeout=60)
        self.forge("sign-as", "--dir", copy, "--key-from", stranger, "--payload", NOOP)
        r = self.git("--git-dir", os.path.join(copy, "replica.git"), "push", self.url,
                     "refs/huiji/feeds/%s:refs/huiji/forks/%s" % (CZ, CZ))
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("huiji: refused:", r.err)
        self.assertNotIn("refs/huiji/forks/", "\n".join(self.hub_refs()))
        self.check_restored_copy_reaches_the_hub()


# ==========================================================================

class TestHubRewrite(SyncSecurityCase):
    """The hub feed a county has followed is rewritten in place, at the same
    length and validly signed by the hub's own key (huiji-forge rewrite on
    the hub's change log): the county's next sync stops at once, naming the
    entry, and changes nothing of its own; again on every later sync."""

    def setUp(self):
        super().setUp()
        self.make_hub()
        self.make_county(CZ)
        self.apply(CZ, 2)
        self.round_trip(CZ)
        self.cz_db = os.path.join(self.counties[CZ], "registry.db")
        self.tip = H.query(self.cz_db, "SELECT max(seq) FROM hub_feed")[0][0]
        self.assertEqual(self.tip, len(H.changelog(self.hub_db)), "the county has not followed the whole hub feed")

    def local_state(self):
        return (H.state(self.cz_db), H.followed(self.cz_db),
                H.query(self.cz_db, "SELECT seq, hash FROM hub_feed ORDER BY seq"))

    def assertStopsAt(self, seq):
        before = self.local_state()
        for _ in range(2):
            r = self.sync(CZ)
            self.assertEqual(r.rc, 1, "a rewritten hub feed was followed: %r" % r)
            self.assertEqual(len(r.err_lines), 1, r)
            self.assertIn("the hub rewrote its history at entry %d" % seq, r.err)
            self.assertEqual(self.local_state(), before, "the county changed while refusing the hub feed")

    def test_same_length_rewrite_of_the_last_entry(self):
        self.forge("rewrite", "--dir", self.hub, "--seq", self.tip, "--payload",
                   '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"改写"}]}')
        self.assertEqual(len(self.feed_commits(self.hub_repo, "refs/huiji/hub/" + HUB)), self.tip)
        self.assertStopsAt(self.tip)

    def test_same_length_rewrite_seen_without_a_remembered_commit(self):
        """A county whose last follow was by a huiji that kept no commit id
        (meta hub_feed_commit): the bytes of the entry followed last are
        compared instead."""
        H.execute(self.cz_db, "DELETE FROM meta WHERE key = 'hub_feed_commit'")
        self.forge("rewrite", "--dir", self.hub, "--seq", self.tip, "--payload",
                   '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"改写"}]}')
        self.assertStopsAt(self.tip)

    def test_same_length_rewrite_below_the_last_entry(self):
        """Entry tip-1 rewritten, entry tip kept byte for byte (its commit
        changes with its parent): the chain from the new tip no longer
        passes through the commit the county followed."""
        self.forge("rewrite", "--dir", self.hub, "--seq", self.tip - 1, "--payload",
                   '{"v":1,"ops":[{"op":"org.update","v":1,"id":"qh-xn-cz","name":"改写"}]}')
        self.assertEqual(self.changelog_hash(self.hub, self.tip),
                         bytes(H.query(self.cz_db, "SELECT hash FROM hub_feed WHERE seq = ?", (self.tip,))[0][0]).hex())
        self.assertStopsAt(self.tip - 1)


# ==========================================================================

class TestReplicaRepair(SyncSecurityCase):
    """A county's replica.git (its own feed written from SQLite, and what it
    fetched from the hub) loses a pack after a sync: the next command and
    the next sync repair it — the own feed rewritten from the change log
    (commits are deterministic: the same ids the hub holds), the hub's
    objects fetched again — and the province goes on: the hub has every
    change set, the county's rows equal the hub's."""

    def setUp(self):
        super().setUp()
        self.make_hub(daemon=True)
        self.make_county(CZ)
        self.make_county(CB)
        self.apply(CZ, 3)
        self.apply(CB, 2)
        self.round_trip(CZ, CB)
        self.replica = os.path.join(self.counties[CZ], "replica.git")
        self.packdir = os.path.join(self.replica, "objects", "pack")

    def packs(self):
        """[(pack path, idx path, object ids)] of the county's replica."""
        out = []
        for f in sorted(os.listdir(self.packdir)):
            if f.endswith(".idx"):
                idx = os.path.join(self.packdir, f)
                with open(idx, "rb") as fh:
                    r = subprocess.run(["git", "show-index"], stdin=fh, capture_output=True, text=True,
                                       timeout=60, check=True)
                out.append((idx[:-4] + ".pack", idx, {l.split()[1] for l in r.stdout.splitlines()}))
        return out

    def assertRepairs(self):
        """More work at the county, then the next syncs succeed: the hub has
        every change set, the county equals the hub, verify passes."""
        self.apply(CZ, 2)
        n = len(H.changelog(os.path.join(self.counties[CZ], "registry.db")))
        self.apply(CB, 1)
        self.ok(self.sync(CZ))
        self.ok(self.sync(CB))
        self.hub_run()
        self.ok(self.sync(CZ))
        self.ok(self.sync(CB))
        self.assertEqual(self.hub_included(CZ), n)
        self.assertCountyMatchesHub(CZ)
        self.assertCountyMatchesHub(CB)
        self.pv.check_verify(CZ)
        self.assertEqual(self.git("--git-dir", self.replica, "fsck", "--connectivity-only").rc, 0)

    def test_every_pack_deleted(self):
        for pack, idx, _ in self.packs():
            os.unlink(pack)
            os.unlink(idx)
        self.assertRepairs()

    def test_own_feed_pack_deleted_index_left(self):
        """The .pack holding the own feed's first change set is gone, its
        .idx still promises its objects."""
        first = self.feed_commits(self.replica, "refs/huiji/feeds/" + CZ)[0]
        pack = [p for p, _, objs in self.packs() if first in objs][0]
        os.unlink(pack)
        self.assertRepairs()

    def test_older_fetched_pack_deleted(self):
        """The pack of an earlier fetch (.pack and .idx) is gone, the later
        one holding the tips is still there: the refs' tips read, the
        history below them does not."""
        commits = self.feed_commits(self.replica, "refs/huiji/incoming/hub/" + HUB)
        packs = [(p, i) for p, i, objs in self.packs() if commits[0] in objs and commits[-1] not in objs]
        self.assertEqual(len(packs), 1, "no pack holds the hub feed's first entry without its tip")
        for f in packs[0]:
            os.unlink(f)
        self.assertRepairs()

    def test_fetched_pack_truncated(self):
        """The pack holding the hub feed's tip cut in half."""
        tip = self.feed_commits(self.replica, "refs/huiji/incoming/hub/" + HUB)[-1]
        pack = [p for p, _, objs in self.packs() if tip in objs][0]
        size = os.path.getsize(pack)
        with open(pack, "r+b") as fh:
            fh.truncate(size // 2)
        self.assertRepairs()


# ==========================================================================

class TestAudit(SyncSecurityCase):

    def build_province(self, daemon):
        self.make_hub(daemon=daemon)
        self.make_county(CZ)
        self.make_county(CB)
        self.apply(CZ, 3)
        self.apply(CB, 2)
        self.round_trip(CZ, CB)
        self.apply(CZ, 1)
        self.ok(self.sync(CZ))  # one change set not yet sequenced
        self.assertAuditPasses()

    def object_ranges(self):
        """(file, start, end, oid, kind) of every object reachable from a
        ref of the hub repository stored exactly once (in a pack or loose)."""
        repo = self.hub_repo
        reachable = set(l.split()[0] for l in
                        self.git("--git-dir", repo, "rev-list", "--objects", "--all", check=True).out_lines)
        copies = {}
        packdir = os.path.join(repo, "objects", "pack")
        for f in sorted(os.listdir(packdir)):
            if not f.endswith(".idx"):
                continue
            pack = os.path.join(packdir, f[:-4] + ".pack")
            for line in self.git("verify-pack", "-v", os.path.join(packdir, f), check=True).out_lines:
                parts = line.split()
                if len(parts) >= 5 and re.fullmatch(r"[0-9a-f]{40}", parts[0]):
                    start, size = int(parts[4]), int(parts[3])
                    copies.setdefault(parts[0], []).append((pack, start, start + size, parts[1]))
        objdir = os.path.join(repo, "objects")
        for sub in sorted(os.listdir(objdir)):
            if re.fullmatch(r"[0-9a-f]{2}", sub):
                for f in sorted(os.listdir(os.path.join(objdir, sub))):
                    p = os.path.join(objdir, sub, f)
                    copies.setdefault(sub + f, []).append((p, 0, os.path.getsize(p), "loose"))
        out = []
        for oid, where in sorted(copies.items()):
            if oid in reachable and len(where) == 1:
                f, s, e, kind = where[0]
                out.append((f, s, e, oid, kind))
        return out

    def flip_and_audit(self, ranges, count, seed):
        rng = random.Random(seed)
        picks = rng.sample(ranges, min(count, len(ranges)))
        results = []
        for f, s, e, oid, kind in picks:
            pos = rng.randrange(s, e)
            mode = os.stat(f).st_mode
            with open(f, "rb") as fh:
                orig = fh.read()
            data = bytearray(orig)
            data[pos] ^= 1 << rng.randrange(8)
            os.chmod(f, 0o644)
            try:
                with open(f, "wb") as fh:
                    fh.write(data)
                r = self.audit()
            finally:
                with open(f, "wb") as fh:
                    fh.write(orig)
                os.chmod(f, mode)
            where = "%s byte %d (object %s, %s)" % (os.path.relpath(f, self.hub_repo), pos, oid[:12], kind)
            results.append((where, r))
        return results

    def check_flips(self, daemon):
        self.build_province(daemon)
        ranges = self.object_ranges()
        self.assertGreaterEqual(len(ranges), 30, "too few objects to sample")
        results = self.flip_and_audit(ranges, 10, zlib.crc32(self.id().encode()))
        missed = ["%s: rc=%d %s" % (w, r.rc, (r.err.strip() or r.out.strip()).splitlines()[-1][:200])
                  for w, r in results if not (r.rc == 1 and "DISCREPANCY: " in r.out)]
        self.assertEqual(missed, [], "a flipped byte must end in exit 1 with a DISCREPANCY line "
                                     "(exit 2 means the audit could not run at all); %d of %d missed"
                                     % (len(missed), len(results)))
        self.assertEqual(len(results), 10)
        self.assertAuditPasses()  # restored

    def test_flipped_byte_in_the_hub_repository(self):
        self.check_flips(daemon=False)  # packs only

    def test_flipped_byte_with_loose_objects(self):
        # Pushes through git daemon land as loose objects (receive.unpackLimit).
        self.check_flips(daemon=True)

    def test_flipped_pack_trailer_is_harmless_or_reported(self):
        self.build_province(False)
        packdir = os.path.join(self.hub_repo, "objects", "pack")
        pack = sorted(os.path.join(packdir, f) for f in os.listdir(packdir) if f.endswith(".pack"))[0]
        with open(pack, "rb") as fh:
            orig = fh.read()
        os.chmod(pack, 0o644)
        try:
            with open(pack, "wb") as fh:
                fh.write(orig[:-1] + bytes([orig[-1] ^ 0xff]))
            r = self.audit()
            # The pack's own checksum covers no signed byte: either passing
            # or a named discrepancy, never a crash.
            self.assertIn(r.rc, (0, 1), r)
        finally:
            with open(pack, "wb") as fh:
                fh.write(orig)
        self.assertAuditPasses()

    def test_substituted_hub_feed(self):
        """A hub feed replaced wholesale by one signed with another key
        (same hub id): caught by an audit that pins the hub key, and by
        every county (which pinned it at init)."""
        self.build_province(False)
        self.hub_run()
        other = self.path("other-hub")
        self.ok(self.huiji("hub", "init", "--node", HUB, "--union", "qh", "--union-name", "青海省总工会",
                           "--region", "63", d=other))
        self.git("--git-dir", self.hub_repo, "fetch", "--quiet", os.path.join(other, "hub.git"),
                 "+refs/huiji/hub/%s:refs/huiji/hub/%s" % (HUB, HUB), check=True)
        self.assertAuditFinds(r"hub feed: .*(signed by key|signature)")
        r = self.audit(pin=False)
        self.assertIn("as enrolled in its change set 1", r.out, r)  # says what it trusted
        for n in (CZ, CB):
            r = self.sync(n)
            self.assertNotEqual(r.rc, 0, "%s followed a hub feed signed by another key: %r" % (n, r))

    def unsequenced_change_set(self, node, payload):
        """A change set of `node` (ops as given) pushed to the hub and not
        sequenced: (seq, hash hex)."""
        r = self.forge("append", "--dir", self.counties[node], "--payload", payload)
        seq, h = int(r.out.split()[1]), r.out.split()[2]
        self.ok(self.sync(node))
        return seq, h

    def hub_keys(self, node, seq):
        """The "keys" an honest hub entry gives change set `seq` of `node`:
        the national key of the number of each application that names none
        (a county names none; it holds the number, the test the key)."""
        d = self.counties[node]
        env = H.parse_envelope(H.query(os.path.join(d, "registry.db"), "SELECT envelope FROM changelog WHERE seq = ?",
                                       (seq,))[0][0])
        with open(os.path.join(self.hub, "person.key")) as f:
            secret = bytes.fromhex(f.read().strip())
        keys = []
        for i, op in enumerate(env["payload"]["ops"]):
            if op["op"] == "member.apply" and "key" not in op["person"]:
                idno = H.query(os.path.join(d, "registry.db"), "SELECT p.id_number FROM person p JOIN membership m "
                               "ON m.person_key = p.person_key WHERE m.id = ?", ("%s:%d:%d" % (node, seq, i),))[0][0]
                keys.append([i, hashlib.blake2b(idno.encode(), digest_size=32, key=secret).hexdigest()])
        return keys

    def hand_written_entry(self, include, state):
        """A sequence entry in today's format (v4: every op applied unless
        an include lists it under "rejected"; the person keys an honest hub
        gives the ops that name none)."""
        for inc in include:
            keys = self.hub_keys(inc["node"], inc["seq"])
            if keys:
                inc["keys"] = keys
        op = {"op": "hub.sequence", "v": 4, "rules": RULES, "at": int(time.time() * 1000), "key_scheme": 1,
              "include": include, "state": state}
        payload = json.dumps({"v": 1, "ops": [op]}, separators=(",", ":"), ensure_ascii=False)
        self.forge("append", "--dir", self.hub, "--payload", payload)

    def test_hand_edited_verdict(self):
        self.build_province(False)
        self.hub_run()  # cz's change set 4 sequenced for real
        # A person already active in cb applies at cz (cz cannot know):
        # the hub must reject it as a duplicate. Its entry, written by
        # hand, says "ok".
        p = self.fakes.person(region=REGION[CB])
        self.apply(CB, person=p)
        self.ok(self.sync(CB))
        self.hub_run()
        self.apply(CZ, person=p, approve=False)
        self.ok(self.sync(CZ))
        seq = 5
        h = self.changelog_hash(self.counties[CZ], seq)
        # The digest is the hub's state, which is also what the re-fold
        # gives when it rejects the op: only the verdict is wrong.
        digest = self.forge("digest", "--dir", self.hub).out.strip()
        self.hand_written_entry([{"node": CZ, "seq": seq, "hash": h}], digest)
        r, lines = self.assertAuditFinds(r"%s seq %d op 0: the hub says applied, the re-fold says duplicate"
                                         % (CZ, seq))
        # The verdict, and what follows from it: the hub must give the
        # holder's union a rejected application of its member (its inbox,
        # entry v3 and later), and the hand-written entry gave it nothing.
        verdicts = [x for x in lines if "inbox" not in x and "deliver" not in x]
        self.assertEqual(len(verdicts), 1, "only the verdict is wrong: %r" % lines)
        self.assertTrue(any("delivers nothing to %s" % CB in x for x in lines), lines)

    def test_hand_edited_state_digest(self):
        self.build_province(False)
        env4 = H.parse_envelope(H.query(os.path.join(self.counties[CZ], "registry.db"),
                                        "SELECT envelope FROM changelog WHERE seq = 4")[0][0])
        self.assertTrue(env4["payload"]["ops"])
        include = [{"node": CZ, "seq": 4, "hash": self.changelog_hash(self.counties[CZ], 4)}]
        self.hand_written_entry(include, "00" * 32)
        r, lines = self.assertAuditFinds(r"hub entry \d+: published state digest 0000.* but the re-fold gives")
        self.assertEqual(len(lines), 1, "only the digest is wrong: %r" % lines)


# ==========================================================================

@unittest.skipUnless(NEXT, "huiji-next not built (HUIJI_NEXT)")
class TestVersions(SyncSecurityCase):

    def test_newer_op_stops_the_county_until_upgraded(self):
        self.make_hub()
        self.make_county(CZ)
        self.apply(CZ, 2)
        self.round_trip(CZ)
        hub_db = os.path.join(self.hub, "registry.db")
        cz = self.counties[CZ]
        cz_db = os.path.join(cz, "registry.db")
        self.assertCountyMatchesHub(CZ)
        # More before the new entry: a hub op and a sequenced county change set.
        self.ok(self.huiji("org", "create", "--id", "qh-xn-cz-1", "--name", "人民街道工会", "--kind", "township",
                           "--parent", "qh-xn-cz", d=self.hub))
        self.apply(CZ, 1)
        self.ok(self.sync(CZ))
        self.hub_run()
        before = H.county_rows(hub_db, UNION[CZ])
        # The hub (a newer huiji) publishes an op of version 5 ...
        r = self.forge("append", "--dir", self.hub, "--payload",
                       '{"v":1,"ops":[{"op":"org.update","v":5,"id":"qh-xn","name":"西宁市总工会（新）"}]}')
        new_seq = int(r.out.split()[1])
        # ... and goes on: a later hub op.
        self.ok(self.huiji("org", "create", "--id", "qh-xn-cz-2", "--name", "南山街道工会", "--kind", "township",
                           "--parent", "qh-xn-cz", d=self.hub))
        last_sync = self.status_json(cz)["last_sync"]
        self.assertTrue(last_sync, "the earlier syncs completed and were recorded")
        r = self.sync(CZ)
        self.assertNotEqual(r.rc, 0, "an op from a newer huiji went unnoticed: %r" % r)
        self.assertIn("upgrade huiji to read entries from the hub", r.err)
        self.assertIn(str(new_seq), r.err)
        self.assertEqual(len(r.err_lines), 1, r)
        # One outcome line, and it says so: not "synced" (the sync stopped).
        self.assertEqual(r.out, "", "expected one outcome line, on stderr: %r" % r)
        self.assertRegex(r.err_lines[0], r"^huiji: upgrade needed: hub feed entry %d " % new_seq)
        # A sync that stopped is no sync: status keeps the last one that
        # completed and shows this attempt as failed.
        st = self.status_json(cz)
        self.assertEqual(st["last_sync"], last_sync, "a sync that stopped for an upgrade was recorded: %r" % r)
        self.assertTrue(st["last_sync_failure"], "the stopped sync is not shown as a failed attempt")
        # Everything before that entry is applied, nothing from it on.
        self.assertEqual(H.county_rows(cz_db, UNION[CZ]), before)
        self.assertEqual(H.query(cz_db, "SELECT count(*) FROM org WHERE id = 'qh-xn-cz-2'")[0][0], 0)
        # Again: the same answer, nothing lost or half-applied.
        r2 = self.sync(CZ)
        self.assertNotEqual(r2.rc, 0)
        self.assertIn("upgrade huiji", r2.err)
        self.assertEqual(H.county_rows(cz_db, UNION[CZ]), before)
        # The upgraded huiji continues past it, on the same directory.
        r = self.sync(CZ, exe=NEXT)
        self.assertEqual(r.rc, 0, "huiji-next should follow the new entry: %r" % r)
        self.assertEqual(H.query(cz_db, "SELECT name FROM org WHERE id = 'qh-xn'")[0][0], "西宁市总工会（新）")
        self.assertEqual(H.query(cz_db, "SELECT count(*) FROM org WHERE id = 'qh-xn-cz-2'")[0][0], 1)
        # The county equals the hub but for the op only it folded (forge
        # appends the hub's entry without folding it at the hub).
        county, hub = H.county_rows(cz_db, UNION[CZ]), H.county_rows(hub_db, UNION[CZ])
        for o in hub["org"]:
            if o["id"] == "qh-xn":
                o["name"] = "西宁市总工会（新）"
                o["updated_op"] = "%s:%d:0" % (HUB, new_seq)
        self.assertEqual(county, hub)
        # And the county's own work still flows.
        self.apply(CZ, 1)
        self.ok(self.sync(CZ, exe=NEXT))
        self.hub_run()
        self.ok(self.sync(CZ, exe=NEXT))
        self.assertEqual(self.hub_included(CZ), 4)


if __name__ == "__main__":
    H.main()
