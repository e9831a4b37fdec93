#!/usr/bin/env python3
"""test_upgrade.py — provinces built by an older huiji, upgraded in place
(issue 7: "rules are versioned by the hub entry"; issue 8: "a node that has
not upgraded stops with the upgrade message and loses nothing").

The old huiji is the real one: a commit of this repository, built from
`git archive` once per commit (old_huiji: a cache shared by tools/run-tests'
two builds, else the build directory's HUIJI_OLD_BUILD).

test_old_province_audits_clean_and_continues: OLD_COMMIT (before rules
versions) builds a hub and two counties, with an application dated years
ahead (rules 1 had no date rules) and one person applying at both counties.
Then the same directories are run by this huiji:

- the audit passes: the old entries re-fold under rules 1, so the future
  date the hub applied then is still applied (a re-fold under today's
  rules would call it future_date and fail the audit);
- the province continues: counties sync (their registry migrates), new
  work is sequenced in entry v2 under rules 2, a new far-future
  application is refused, the audit passes with and without the person
  key (without, it counts the checks taken on the hub's word);
- a county still running the old huiji is told to upgrade, not misled.

test_unsealed_county_meets_sealed_work_and_loses_nothing: UNSEALED_COMMIT
(the last before sealed personal fields) builds a hub and two counties;
the hub and one county upgrade and seal, while the other county, still
old, has an application of its own pending: its sync stops with the
upgrade message and changes nothing it holds; upgraded, it has its work
sequenced and converges with the hub.
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

OLD_COMMIT = "a5b4e4d"  # the last huiji writing entry v1 (before rules versions)
# The last huiji before sealing: main at 535993d still had HJ_OP_VERSION 1
# (node/fold.h) and wrote personal fields in plaintext; the next commit on
# main (96686e2) brought sealed fields, op version 2 and rules 4.
UNSEALED_COMMIT = "535993d"
SRC = os.environ.get("HUIJI_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
NEW = H.huiji_bin()


def old_huiji(commit):
    """The huiji of `commit` of this repository, built once per commit
    (debugoptimized, the tool only) into <cache>/<full commit id>: the cache
    is HUIJI_OLD_CACHE (tools/run-tests points both of its builds at one,
    so each old commit is built once per run), else HUIJI_OLD_BUILD (the
    build directory's, tests/meson.build: `meson test upgrade` alone), else
    a temporary directory. None when this source tree is not a git checkout
    or is a shallow clone without the commit."""
    if subprocess.run(["git", "-C", SRC, "rev-parse"], capture_output=True).returncode != 0:
        return None
    full = subprocess.run(["git", "-C", SRC, "rev-parse", "--verify", "-q", commit + "^{commit}"],
                          capture_output=True, text=True)
    if full.returncode != 0:
        shallow = subprocess.run(["git", "-C", SRC, "rev-parse", "--is-shallow-repository"], capture_output=True,
                                 text=True)
        if shallow.stdout.strip() == "true":
            return None  # a shallow clone without the old commit: nothing to build it from
        raise AssertionError("commit %s is not in %s" % (commit, SRC))
    cache = os.environ.get("HUIJI_OLD_CACHE") or os.environ.get("HUIJI_OLD_BUILD") or tempfile.mkdtemp(prefix="hj-old-")
    os.makedirs(cache, exist_ok=True)
    root = os.path.join(cache, full.stdout.strip())
    exe, done = os.path.join(root, "build", "tools", "huiji"), os.path.join(root, "built")
    # One builder at a time per commit (two suites or two checkouts sharing
    # the cache); `built` is written last, so a build killed half-way is
    # redone, not used.
    with open(root + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(done) and os.access(exe, os.X_OK):
            return exe
        src = os.path.join(root, "src")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(src)
        arch = subprocess.run(["git", "-C", SRC, "archive", full.stdout.strip()], capture_output=True)
        if arch.returncode != 0:
            raise AssertionError("cannot read commit %s of %s: %s" % (commit, SRC, arch.stderr.decode()))
        subprocess.run(["tar", "-x", "-C", src], input=arch.stdout, check=True)
        for cmd in (["meson", "setup", "--buildtype=debugoptimized", os.path.join(root, "build"), src],
                    ["ninja", "-C", os.path.join(root, "build"), "tools/huiji"]):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=H.scaled(900))
            if r.returncode != 0:
                raise AssertionError("building the old huiji failed: %s\n%s%s" % (cmd, r.stdout[-2000:],
                                                                                   r.stderr[-2000:]))
        with open(done, "w") as f:
            f.write(commit + "\n")
    return exe


class Province(P.Province):
    """The province with a chosen huiji for every command."""
    exe = None

    def run(self, *args, d=None, timeout=120, exe=None):
        return H.run(list(args), d, timeout=timeout, exe=exe or self.exe)

    def county_init_args(self):
        # A huiji before op version 4 gave every county the person key.
        return ["--person-key", self.person_key] if self.exe else []


CZ, CB = "xn-cz", "xn-cb"


class UpgradeTest(unittest.TestCase):
    built = {}  # commit -> the old binary (or None), built once per run

    def old_bin(self, commit):
        """The huiji of `commit` (built on first use); skips the test when
        it cannot be built from this checkout."""
        if commit not in self.built:
            UpgradeTest.built[commit] = old_huiji(commit)
        if not self.built[commit]:
            self.skipTest("not a git checkout with commit %s (a shallow clone?): the old huiji cannot be built"
                          % commit)
        return self.built[commit]

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-upgrade-")
        self.p = Province(self.tmp)
        self.fakes = H.Fakes(7)

    def tearDown(self):
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def apply(self, node, person, on="2024-03-01", ok=True, exe=None):
        r = self.p.run(*H.apply_args(person, on=on, approve=True), d=self.p.dirs[node], exe=exe)
        if ok and r.rc != 0:
            raise AssertionError("apply failed: %r" % r)
        return r

    def round(self):
        for node in (CZ, CB):
            self.p.ok("sync", d=self.p.dirs[node])
        self.p.hub_run()
        for node in (CZ, CB):
            self.p.ok("sync", d=self.p.dirs[node])

    def last_hub_entry(self):
        rows = H.query(self.p.hub_db, "SELECT envelope FROM changelog ORDER BY seq DESC")
        for (env,) in rows:
            op = H.parse_envelope(env)["payload"]["ops"][0]
            if op["op"] == "hub.sequence":
                return op
        raise AssertionError("the hub wrote no sequence entry")

    def test_old_province_audits_clean_and_continues(self):
        self.old = self.old_bin(OLD_COMMIT)
        p = self.p
        p.exe = self.old
        p.make_hub([CZ, CB])
        p.add_county(CZ)
        p.add_county(CB)
        twice = self.fakes.person(region=P.REGION[CZ])
        for _ in range(3):
            self.apply(CZ, self.fakes.person(region=P.REGION[CZ]))
        self.apply(CZ, twice)
        self.apply(CB, twice)                                # a duplicate, rejected by the hub
        self.apply(CB, self.fakes.person(region=P.REGION[CB]), on="2031-05-01")  # no date rule then
        self.round()
        old_entry = self.last_hub_entry()
        self.assertEqual(old_entry["v"], 1, "the old huiji writes entry v1: %r" % old_entry)
        self.assertEqual(p.audit().rc, 0)

        # The upgrade: the same directories, this huiji.
        p.exe = NEW
        r = p.audit()
        self.assertEqual(r.rc, 0, "an old province must audit clean under the new rules versions: %r" % r)
        self.assertIn("audit passed", r.out)
        st = H.query(p.db(CB), "SELECT count(*) FROM membership WHERE applied_on = '2031-05-01'")[0][0]
        self.assertEqual(st, 1, "the application the old hub applied stays applied")

        # It continues: new work, sequenced in the newest entry (v4, with the
        # inbox and the person keys) under rules 2 or later. CZ's operator
        # deletes the person key from its laptop, as the README says: its
        # next application names no key and the hub's entry gives one; CB
        # keeps its copy and goes on naming keys the hub checks.
        os.remove(os.path.join(p.dirs[CZ], "person.key"))
        self.apply(CZ, self.fakes.person(region=P.REGION[CZ]))
        refused = self.apply(CB, self.fakes.person(region=P.REGION[CB]), on="2031-05-01", ok=False)
        self.assertNotEqual(refused.rc, 0)
        self.assertIn("future_date", refused.err + refused.out)
        self.round()
        entry = self.last_hub_entry()
        self.assertEqual(entry["v"], 4, entry)
        self.assertEqual([len(i.get("keys", [])) for i in entry["include"] if i["node"] == CZ], [1], entry)
        self.assertGreaterEqual(entry["rules"], 2, entry)
        self.assertGreater(entry["at"], 0)
        for node in (CZ, CB):
            # Old rows keep rules 1, new ones carry rules 2 (CZ's new work;
            # CB is not given it: another county's, through no inbox).
            lo, hi = H.query(p.db(node), "SELECT min(rules), max(rules) FROM followed WHERE node != ?1", (P.HUB,))[0]
            self.assertEqual(lo, 1)
            self.assertGreaterEqual(hi, 2 if node == CZ else 1)
            p.ok("verify", d=p.dirs[node])
            p.check_rows(node)
        r = p.audit()
        self.assertEqual(r.rc, 0, r)
        # New applications travel sealed (node/person_seal.h): an auditor
        # without the audit key takes their real-name checks on the hub's
        # word, the old plaintext ones only their person-key checks.
        self.assertRegex(r.out, r"\d+ (person-key checks|real-name checks of sealed personal fields) taken on "
                                r"the hub's word")
        r = p.run("audit", p.hub_repo, "--hub-key", p.hub_key, "--person-key", p.person_key)
        self.assertEqual(r.rc, 0, r)
        # The person key recomputes every key it can: CB's plaintext-era and
        # keyed ops; CZ's keyless application needs its sealed number.
        self.assertIn("1 person-key checks taken on the hub's word (their ID numbers are sealed: give --audit-key "
                      "too)", r.out)

        # A county still on the old huiji is told to upgrade.
        self.apply(CZ, self.fakes.person(region=P.REGION[CZ]))
        p.ok("sync", d=p.dirs[CZ])
        p.hub_run()
        p.exe = self.old
        fresh, pk = p.init_county("xn-hd", union=P.UNION[CB], url=p.hub_repo, d=os.path.join(self.tmp, "hd-old"))
        p.exe = NEW
        p.enroll("xn-hd", pk, union=P.UNION[CB])
        p.hub_run()
        r = p.run("sync", d=fresh, exe=self.old)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("upgrade huiji", r.err)

    def test_unsealed_county_meets_sealed_work_and_loses_nothing(self):
        """Issue 8: a county that has not upgraded meets sealed change sets;
        it stops with the upgrade message and loses nothing."""
        old = self.old_bin(UNSEALED_COMMIT)
        p = self.p
        p.exe = old
        p.make_hub([CZ, CB])
        p.add_county(CZ)
        p.add_county(CB)
        held = self.fakes.person(region=P.REGION[CB])
        self.apply(CZ, self.fakes.person(region=P.REGION[CZ]))
        self.apply(CB, held)
        self.round()
        self.assertEqual(self.last_hub_entry()["rules"], 3, "the huiji before sealing decides by rules 3")
        plain = H.parse_envelope(H.changelog(p.db(CB))[-1][2])["payload"]["ops"][0]
        self.assertEqual(plain.get("v"), 1, plain)
        self.assertIn("id_number", plain["person"], "before sealing an application carries its fields in plaintext")

        # CB, still on the old huiji, works offline: one application, pending.
        self.apply(CB, self.fakes.person(region=P.REGION[CB]), exe=old)

        # The hub and CZ upgrade. CZ enrols a person, and applies for the one
        # CB holds (a duplicate, delivered to CB's inbox): both sealed.
        p.exe = NEW
        p.ok("sync", d=p.dirs[CZ])
        self.apply(CZ, self.fakes.person(region=P.REGION[CZ]))
        self.apply(CZ, held)
        ops = [H.parse_envelope(e)["payload"]["ops"][0] for _, _, e, _ in H.changelog(p.db(CZ))[-2:]]
        for op in ops:
            self.assertGreaterEqual(op.get("v"), 2, op)  # sealed since op version 2
            self.assertIn("sealed", op["person"], "the upgraded county seals the personal fields: %r" % op)
            self.assertNotIn("id_number", op["person"], op)
        p.ok("sync", d=p.dirs[CZ])
        p.hub_run()
        self.assertGreaterEqual(self.last_hub_entry()["rules"], 4, "the upgraded hub decides by rules 4 or later")
        cz_seq = len(H.changelog(p.db(CZ)))
        delivered = H.query(p.hub_db, "SELECT count(*) FROM inbox WHERE node = ? AND src_node = ? AND src_seq = ?",
                            (CB, CZ, cz_seq))[0][0]
        self.assertEqual(delivered, 1, "CZ's sealed application for CB's member is delivered to CB")
        vd = H.query(p.hub_db, "SELECT verdicts FROM followed WHERE node = ? AND seq = ?", (CZ, cz_seq))[0][0]
        self.assertEqual((H.verdict_at(vd, 0) or ("applied",))[0], "duplicate_member", vd)

        # CB, not upgraded, syncs: it pushes its work and stops at the first
        # entry of the upgraded hub with the upgrade message; nothing of its
        # own is lost or changed.
        before = H.state(p.db(CB)), p.followed(CB), p.own_feed_commits(CB), p.rows(CB)
        r = p.run("sync", d=p.dirs[CB], exe=old)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("upgrade needed", r.err, r)
        self.assertIn("pushed 1 change sets, received 0 hub entries before it", r.err, r)
        self.assertIn("upgrade huiji to read entries from the hub", r.err, r)
        self.assertIn("nothing is lost", r.err, r)
        after = H.state(p.db(CB)), p.followed(CB), p.own_feed_commits(CB), p.rows(CB)
        self.assertEqual(after, before, "the old county's registry, order and own feed are as they were")
        st = p.ok("status", d=p.dirs[CB], exe=old)
        self.assertRegex(st.out, r"pending +1 change sets not yet sequenced", st)
        r = p.run("sync", d=p.dirs[CB], exe=old)   # again: the same answer, still nothing lost
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("upgrade huiji", r.err, r)
        self.assertEqual((H.state(p.db(CB)), p.followed(CB), p.own_feed_commits(CB), p.rows(CB)), before)
        mine = p.own_feed_commits(CB)
        self.assertEqual(p.hub_feed_tip(CB), mine[-1], "the pending change set reached the hub")

        # CB upgrades (this huiji, the same directory): its pending work is
        # sequenced and it converges with the hub.
        p.ok("sync", d=p.dirs[CB])
        p.hub_run()
        r = p.ok("sync", d=p.dirs[CB])
        self.assertIn("0 change sets pending", r.out, r)
        p.ok("sync", d=p.dirs[CZ])
        p.check_sequenced_once(CB)
        n = H.query(p.hub_db, "SELECT count(*) FROM membership WHERE union_id = ? AND status = 'active'",
                    (P.UNION[CB],))[0][0]
        self.assertEqual(n, 2, "both of CB's applications are members at the hub")
        for node in (CZ, CB):
            p.check_rows(node)
            p.check_followed(node)
            p.check_verify(node)
        p.check_audit()


if __name__ == "__main__":
    H.main()
