#!/usr/bin/env python3
"""test_upgrade.py — a province built by the huiji before rules versions,
upgraded in place (issue 7: "rules are versioned by the hub entry").

The old huiji is the real one: commit OLD_COMMIT of this repository,
built from `git archive` into the build directory (once; HUIJI_OLD_BUILD).
It builds a hub and two counties, with an application dated years ahead
(rules 1 had no date rules) and one person applying at both counties. Then
the same directories are run by this huiji:

- the audit passes: the old entries re-fold under rules 1, so the future
  date the hub applied then is still applied (a re-fold under today's
  rules would call it future_date and fail the audit);
- the province continues: counties sync (their registry migrates), new
  work is sequenced in entry v2 under rules 2, a new far-future
  application is refused, the audit passes with and without the person
  key (without, it counts the checks taken on the hub's word);
- a county still running the old huiji is told to upgrade, not misled.
"""

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
SRC = os.environ.get("HUIJI_SRC", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
NEW = H.huiji_bin()


def old_huiji():
    """The old binary, built once into HUIJI_OLD_BUILD (or a temporary
    directory). None when this source tree is not a git checkout."""
    if subprocess.run(["git", "-C", SRC, "rev-parse"], capture_output=True).returncode != 0:
        return None
    shallow = subprocess.run(["git", "-C", SRC, "rev-parse", "--is-shallow-repository"], capture_output=True, text=True)
    if shallow.stdout.strip() == "true" and subprocess.run(["git", "-C", SRC, "cat-file", "-e", OLD_COMMIT + "^{commit}"],
                                                          capture_output=True).returncode != 0:
        return None  # a shallow clone without the old commit: nothing to build it from
    root = os.environ.get("HUIJI_OLD_BUILD") or tempfile.mkdtemp(prefix="hj-old-")
    exe = os.path.join(root, "build", "tools", "huiji")
    if os.access(exe, os.X_OK):
        return exe
    src = os.path.join(root, "src")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(src)
    arch = subprocess.run(["git", "-C", SRC, "archive", OLD_COMMIT], capture_output=True)
    if arch.returncode != 0:
        raise AssertionError("cannot read commit %s of %s: %s" % (OLD_COMMIT, SRC, arch.stderr.decode()))
    subprocess.run(["tar", "-x", "-C", src], input=arch.stdout, check=True)
    for cmd in (["meson", "setup", "--buildtype=debugoptimized", os.path.join(root, "build"), src],
                ["ninja", "-C", os.path.join(root, "build"), "tools/huiji"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=H.scaled(900))
        if r.returncode != 0:
            raise AssertionError("building the old huiji failed: %s\n%s%s" % (cmd, r.stdout[-2000:], r.stderr[-2000:]))
    return exe


class Province(P.Province):
    """The province with a chosen huiji for every command."""
    exe = None

    def run(self, *args, d=None, timeout=120, exe=None):
        return H.run(list(args), d, timeout=timeout, exe=exe or self.exe)


CZ, CB = "xn-cz", "xn-cb"


class UpgradeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.old = old_huiji()

    def setUp(self):
        if not self.old:
            self.skipTest("not a git checkout with commit %s (a shallow clone?): the old huiji cannot be built"
                          % OLD_COMMIT)
        self.tmp = tempfile.mkdtemp(prefix="hj-upgrade-")
        self.p = Province(self.tmp)
        self.fakes = H.Fakes(7)

    def tearDown(self):
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def apply(self, node, person, on="2024-03-01", ok=True):
        r = self.p.run(*H.apply_args(person, on=on, approve=True), d=self.p.dirs[node])
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

        # It continues: new work, sequenced in the newest entry (v3, with the
        # inbox) under rules 2 or later.
        self.apply(CZ, self.fakes.person(region=P.REGION[CZ]))
        refused = self.apply(CB, self.fakes.person(region=P.REGION[CB]), on="2031-05-01", ok=False)
        self.assertNotEqual(refused.rc, 0)
        self.assertIn("future_date", refused.err + refused.out)
        self.round()
        entry = self.last_hub_entry()
        self.assertEqual(entry["v"], 3, entry)
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
        self.assertNotIn("person-key checks taken on the hub's word", r.out)

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


if __name__ == "__main__":
    H.main()
