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
        hist = show[show.index("history"):].splitlines()[1:]  # a table: a header row, then oldest first
        self.assertRegex(hist[0], r"^membership\s+union\s+status\s+from\s+to\s+how$")
        self.assertRegex(hist[1], r"^%s\s+%s\s+transferred\s+2024-03-01\s+2024-04-10\s+-$" % (old, POOL))
        self.assertRegex(hist[2], r"^%s\s+%s\s+active\s+2024-04-10\s+-\s+handed down by %s$"
                         % (new, PLATFORM_UNION, NODE))
        # Counted where he is now.
        cov = p.ok("report", "coverage", "--dir", p.hub, "--format", "csv").out
        counts = {row.split(",")[0]: int(row.split(",")[3]) for row in cov.splitlines()[1:]}
        self.assertEqual((counts.get(POOL), counts.get(PLATFORM_UNION)), (0, 1), cov)
        for node in (NODE, P.HUB):
            p.ok("verify", d=p.hub if node == P.HUB else p.dirs[node])
        r = p.audit()
        self.assertEqual(r.rc, 0, r)


CZ, HD = "xn-cz", "xn-cd"


class TwoPartyTest(unittest.TestCase):
    """Between two counties that never meet: 城中区 offers a driver's record
    to 城东区, which accepts offline; 城东区 asks for the record of another
    who turned up there, and 城中区 accepts; a third offer is declined."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-transfer2-")
        self.p = P.Province(self.tmp)
        self.p.make_hub([CZ, HD])
        for node in (CZ, HD):
            self.p.add_county(node)
            self.p.ok("sync", d=self.p.dirs[node])
        self.fakes = H.Fakes(9)

    def tearDown(self):
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def round(self):
        for node in (CZ, HD):
            self.p.ok("sync", d=self.p.dirs[node])
        self.p.hub_run()
        for node in (CZ, HD):
            self.p.ok("sync", d=self.p.dirs[node])

    def admit(self, node):
        person = self.fakes.person(region=P.REGION[node])
        r = self.p.ok(*H.apply_args(person, on="2024-03-01", approve=True), d=self.p.dirs[node])
        return person, r.out.split()[1]

    def transfer_id(self, out):
        m = re.match(r"transfer (\S+) opened: ", out)
        self.assertTrue(m, out)
        return m.group(1)

    def test_offer_request_decline(self):
        p = self.p
        cz, hd = p.dirs[CZ], p.dirs[HD]
        _, m1 = self.admit(CZ)
        t1 = self.transfer_id(p.ok("member", "transfer", "--member", m1, "--to", P.UNION[HD], "--on",
                                   "2024-05-01", d=cz).out)
        # Frozen while open.
        r = p.run("member", "leave", "--member", m1, "--reason", "voluntary", d=cz)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("transfer_open", r.err)
        self.round()
        self.assertIn(t1, p.ok("member", "transfers", d=hd).out)
        r = p.ok("member", "accept", "--transfer", t1, "--on", "2024-05-02", d=hd)
        new1 = re.search(r"continues as (\S+) once", r.out).group(1)
        self.round()
        for db in (p.hub_db, p.db(CZ)):
            self.assertEqual(H.query(db, "SELECT status FROM membership WHERE id = ?", (m1,))[0][0], "transferred")
        self.assertEqual(H.query(p.db(HD), "SELECT union_id, status, joined_on FROM membership WHERE id = ?",
                                 (new1,))[0], (P.UNION[HD], "active", "2024-03-01"))
        show = p.ok("member", "show", "--member", new1, d=p.hub).out
        self.assertRegex(show, r"(?m)^%s .* offered, accepted by %s$" % (new1, HD))
        self.assertIn("joined on   2024-03-01", show)

        # A driver of 城中区 turns up at 城东区, which asks for his record.
        person, m2 = self.admit(CZ)
        self.round()
        args = ["member", "transfer", "--request", "--to", P.UNION[HD], "--name", person.name, "--id-number",
                person.id_number, "--phone", person.phone, "--on", "2024-06-01"]
        t2 = self.transfer_id(p.ok(*args, d=hd).out)
        self.round()
        self.assertIn(t2, p.ok("member", "transfers", d=cz).out)
        r = p.ok("member", "accept", "--transfer", t2, "--on", "2024-06-02", d=cz)
        new2 = re.search(r"continues as (\S+) once", r.out).group(1)
        self.round()
        self.assertEqual(H.query(p.db(HD), "SELECT union_id, from_member FROM membership WHERE id = ?",
                                 (new2,))[0], (P.UNION[HD], m2))

        # A third offer, declined: the record stays, unfrozen.
        _, m3 = self.admit(CZ)
        t3 = self.transfer_id(p.ok("member", "transfer", "--member", m3, "--to", P.UNION[HD], d=cz).out)
        self.round()
        p.ok("member", "decline", "--transfer", t3, d=hd)
        self.round()
        self.assertEqual(H.query(p.hub_db, "SELECT status FROM transfer WHERE id = ?", (t3,))[0][0], "declined")
        p.ok("member", "update", "--member", m3, "--phone", "13912345678", d=cz)
        self.round()
        for node in (CZ, HD):
            p.check_rows(node)
            p.ok("verify", d=p.dirs[node])
        r = p.audit()
        self.assertEqual(r.rc, 0, r)
        # At the hub, one live record per person.
        self.assertEqual(H.query(p.hub_db, "SELECT count(*) FROM (SELECT person_key FROM membership WHERE status "
                                 "IN ('applied', 'active') GROUP BY 1 HAVING count(*) > 1)")[0][0], 0)


if __name__ == "__main__":
    H.main()
