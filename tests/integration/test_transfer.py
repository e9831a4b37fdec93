#!/usr/bin/env python3
"""test_transfer.py — a membership record that moves (issue 8 #2, the
turnover pool), with the real binary, a real hub repository and audit.

西宁市道路货运行业工会联合会 (a city industry federation) admits a driver
at once into its pool and hands him down to the 运满满 platform union below
it: `huiji member hand-down`. The old record ends 'transferred', the new
one keeps the join date; the hub sequences it, the federation's node
follows, `member show` lists every union the record passed through, the
coverage report counts him at the platform union, not the pool, and every
node verifies and the audit passes.
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

POOL, PLATFORM_UNION, NODE = "qh-xn-freight", "qh-xn-freight-ymm", "xn-freight"


class HandDownTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-transfer-")
        self.p = P.Province(self.tmp)
        p = self.p
        p.make_hub([])
        p.ok("org", "create", "--id", POOL, "--name", "西宁市道路货运行业工会联合会", "--kind", "industry",
             "--parent", "qh-xn", "--region", "6301", d=p.hub)
        p.ok("org", "create", "--id", PLATFORM_UNION, "--name", "运满满西宁司机工会", "--kind", "platform",
             "--parent", POOL, "--region", "6301", d=p.hub)
        p.add_county(NODE, union=POOL)
        p.ok("sync", d=p.dirs[NODE])
        self.fakes = H.Fakes(8)

    def tearDown(self):
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_pool_hands_a_driver_down(self):
        p, d = self.p, self.p.dirs[NODE]
        r = p.ok(*H.apply_args(self.fakes.person(region="630102"), on="2024-03-01", approve=True), d=d)
        old = r.out.split()[1]
        r = p.ok("member", "hand-down", "--member", old, "--to", PLATFORM_UNION, "--on", "2024-04-10", d=d)
        m = re.match(r"handed down (\S+) to (\S+) as (\S+) on 2024-04-10\n", r.out)
        self.assertTrue(m, r)
        new = m.group(3)
        # Refused, before anything is signed: a second move of the old record.
        again = p.run("member", "hand-down", "--member", old, "--to", PLATFORM_UNION, d=d)
        self.assertEqual(again.rc, 1, again)
        self.assertIn("not_active", again.err)
        p.ok("sync", d=d)
        p.hub_run()
        r = p.ok("sync", d=d)
        self.assertIn(" 0 own ops rejected", r.out)
        for db in (p.db(NODE), p.hub_db):
            self.assertEqual(H.query(db, "SELECT status FROM membership WHERE id = ?", (old,))[0][0], "transferred")
            self.assertEqual(H.query(db, "SELECT union_id, status, joined_on, from_member FROM membership WHERE id = ?",
                                     (new,))[0], (PLATFORM_UNION, "active", "2024-03-01", old))
        p.check_rows(NODE, union=POOL)
        # The record's history, oldest first.
        show = p.ok("member", "show", "--member", new, d=p.hub).out
        hist = show[show.index("history"):].splitlines()[1:]
        self.assertRegex(hist[0], r"^  %s\s+%s\s+transferred\s+from 2024-03-01 to 2024-04-10$" % (old, POOL))
        self.assertRegex(hist[1], r"^  %s\s+%s\s+active\s+from 2024-04-10  \(handed down by %s\)$"
                         % (new, PLATFORM_UNION, NODE))
        # Counted where he is now.
        cov = p.ok("report", "coverage", "--dir", p.hub, "--format", "csv").out
        self.assertIn(PLATFORM_UNION, cov)
        for node in (NODE, P.HUB):
            p.ok("verify", d=p.hub if node == P.HUB else p.dirs[node])
        r = p.audit()
        self.assertEqual(r.rc, 0, r)


if __name__ == "__main__":
    H.main()
