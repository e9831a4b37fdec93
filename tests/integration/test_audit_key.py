#!/usr/bin/env python3
"""test_audit_key.py — `huiji audit --audit-key` with the real binary.

A hub, an auditor node (`huiji init`, enrolled with --role auditor before
the first application, so every seal is wrapped to it) and one county
that applies for fake people and syncs over a local path. Proves: the
honest province audits clean with the key (the file or the auditor's
directory), text and --json saying every sealed real-name check was
recomputed and none taken on the hub's word, where without the key the
same checks are counted as the hub's word; a hub entry written by hand
(huiji-forge, signed with the hub's key) that rejects an honest sealed
application as "invalid" passes without the key and is a DISCREPANCY
naming the change set with it, no personal data shown; a key no auditor
is enrolled with (a county's, a stranger's), a malformed key file and one
readable by others each exit 2 with one line and no verdict.
"""

import json
import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

CZ = "xn-cz"
AUD = "qh-audit"
FORGE = H.tool_bin("HUIJI_FORGE", "tests", "huiji-forge")
RULES = 6  # the rules version today's hub decides under (node/rules.h)


class AuditKeyCase(H.Case):
    prefix = "huiji-akey-"

    def setUp(self):
        super().setUp()
        self.pv = P.Province(self.tmp)
        self.addCleanup(self.pv.close)
        self.pv.make_hub([CZ])
        # The audit committee's node: a key pair made by `huiji init`,
        # enrolled as an auditor before any application is sealed.
        self.aud, pk = self.pv.init_county(AUD, union="qh", d=self.path("audit"))
        self.pv.ok("node", "enroll", "--node", AUD, "--pubkey", pk, "--union", "qh", "--role", "auditor",
                   d=self.pv.hub)
        self.cz = self.pv.add_county(CZ)
        self.pv.ok("sync", d=self.cz)
        self.people = [self.fakes.person(region=P.REGION[CZ]) for _ in range(2)]
        for p in self.people:
            self.pv.ok(*H.apply_args(p), d=self.cz)
        self.pv.ok("sync", d=self.cz)
        self.pv.hub_run()

    def audit(self, *opts):
        return self.pv.run("audit", self.pv.hub_repo, "--hub-key", self.pv.hub_key, *opts)

    def assertNoPersonalData(self, r):
        for p in self.people:
            for v in (p.id_number, p.phone, p.name):
                self.assertNotIn(v, r.out + r.err)

    def test_honest_province_with_and_without_key(self):
        key = os.path.join(self.aud, "secret.key")
        for given in (key, self.aud):  # the file, or the auditor's directory
            r = self.audit("--audit-key", given, "--person-key", self.pv.person_key)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("audit passed", r.out)
            self.assertIn("audit key of auditor %s: 2 sealed records wrapped to it opened" % AUD, r.out)
            self.assertNotIn("no auditor enrolled with it", r.out)  # one line for the key, not two that disagree
            self.assertNotIn("hub's word", r.out)
            self.assertNoPersonalData(r)
        j = json.loads(self.audit("--audit-key", key, "--json").out.splitlines()[-1])
        self.assertEqual((j["audit_key_given"], j["auditor"], j["sealed_opened_with_audit_key"],
                          j["sealed_checks_on_hub_word"], j["discrepancies"]), (True, AUD, 2, 0, []))
        r = self.audit()
        self.assertEqual(r.rc, 0, r)
        self.assertIn("2 real-name checks of sealed personal fields taken on the hub's word (give --audit-key",
                      r.out)
        j = json.loads(self.audit("--json").out.splitlines()[-1])
        self.assertEqual((j["audit_key_given"], j["auditor"], j["sealed_opened_with_audit_key"],
                          j["sealed_checks_on_hub_word"]), (False, "", 0, 2))

    @unittest.skipUnless(FORGE, "huiji-forge not built (HUIJI_FORGE)")
    def test_hub_rejecting_an_honest_application_is_caught_with_the_key(self):
        p = self.fakes.person(region=P.REGION[CZ])
        self.people.append(p)
        self.pv.ok(*H.apply_args(p), d=self.cz)
        self.pv.ok("sync", d=self.cz)
        db = os.path.join(self.cz, "registry.db")
        seq, h = H.query(db, "SELECT seq, hash FROM changelog ORDER BY seq DESC LIMIT 1")[0]
        # The hub's entry, by hand and signed with its key: "invalid" (as if
        # the seal did not open for it). A rejection changes no state, so
        # the digest is the hub's own: only the verdict lies.
        digest = self.pv.ok("digest", "--dir", self.pv.hub, exe=FORGE).out.strip()
        op = {"op": "hub.sequence", "v": 2, "rules": RULES, "at": int(time.time() * 1000),
              "include": [{"node": CZ, "seq": seq, "hash": bytes(h).hex(), "rejected": [[0, "invalid", ""]]}],
              "state": digest}
        payload = json.dumps({"v": 1, "ops": [op]}, separators=(",", ":"))
        self.pv.ok("append", "--dir", self.pv.hub, "--payload", payload, exe=FORGE)

        r = self.audit("--person-key", self.pv.person_key)
        self.assertEqual(r.rc, 0, "without the key the lie is the hub's word: %r" % r)
        self.assertIn("3 real-name checks of sealed personal fields taken on the hub's word", r.out)

        r = self.audit("--audit-key", self.aud, "--person-key", self.pv.person_key)
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.out, r"DISCREPANCY: %s seq %d op 0: the hub says invalid, the re-fold says applied"
                         % (CZ, seq))
        self.assertIn("audit key of auditor %s: 3 sealed records wrapped to it opened" % AUD, r.out)
        self.assertIn("audit FAILED", r.out)
        self.assertNoPersonalData(r)

    def test_a_key_no_auditor_holds_gives_no_verdict(self):
        stranger, _ = self.pv.init_county("xn-zz", union=P.UNION[CZ], d=self.path("stranger"))
        bad = self.path("bad.key")
        with open(bad, "w") as f:
            f.write("00" * 10 + "\n")
        os.chmod(bad, 0o600)
        loose = self.path("loose.key")
        with open(os.path.join(self.aud, "secret.key")) as src, open(loose, "w") as f:
            f.write(src.read())
        os.chmod(loose, 0o644)
        # Exit codes per kind (README): 2 bad input, 7 permissions, 3 not found.
        for given, why, rc in ((self.cz, r"is node %s's, enrolled as union, not as an auditor" % CZ, 2),
                               (stranger, r"no auditor is enrolled with its public key", 2),
                               (bad, r"--audit-key: .*expected 128 hex digits", 2),
                               (loose, r"--audit-key: .*readable by others", 7),
                               (self.path("nothing"), r"--audit-key: ", 3)):
            r = self.audit("--audit-key", given)
            self.assertEqual(r.rc, rc, r)
            self.assertEqual(len(r.err_lines), 1, r)
            self.assertRegex(r.err, why)
            self.assertNotIn("audit passed", r.out)
            self.assertNotIn("audit FAILED", r.out)


if __name__ == "__main__":
    H.main()
