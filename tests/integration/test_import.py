#!/usr/bin/env python3
"""test_import.py — `huiji import platform FILE.csv` against a real node.

What it proves: a platform union's driver list with bad rows mixed in:
every bad row is reported with its line and reason (never its personal
data), every good row is recorded, the registry verifies, and nothing
half-done is left; a large list is split into change sets of 1000.

No HUIJI_LONG variant: the whole suite takes seconds.
"""

import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Fakes, id_with_bad_check, query  # noqa: E402


class ImportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-import-")
        self.node = harness.make_root(os.path.join(self.tmp, "hub"))
        self.fakes = Fakes(4242)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, text, name="list.csv"):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    def memberships(self):
        return query(self.node.db, "SELECT id, status, grp, platform, union_id FROM membership ORDER BY id")

    def test_good_and_bad_rows(self):
        good = [self.fakes.person(region="630103") for _ in range(5)]
        bad_id = self.fakes.person(region="630103")
        dup = good[1]
        rows = ["name,id_number,phone,plate,group,platform"]
        for p in good:
            rows.append('"%s",%s,%s,%s,truck_driver,yunmanman' % (p.name, p.id_number, p.phone, p.get("plate") or ""))
        rows.append("%s,%s,%s,,truck_driver,yunmanman" % (bad_id.name, id_with_bad_check(bad_id.id_number),
                                                          bad_id.phone))            # line 7: check char
        rows.append('"unterminated,%s,%s,,courier,' % (bad_id.id_number, bad_id.phone))  # line 8: quote
        rows.append("%s,%s,12345,,courier," % (bad_id.name, bad_id.id_number))    # line 9: phone
        rows.append("%s,%s,%s,,astronaut," % (bad_id.name, bad_id.id_number, bad_id.phone))  # line 10: group
        rows.append("%s,%s,%s,,truck_driver,yunmanman" % (dup.name, dup.id_number, dup.phone))  # line 11: dup
        path = self.write("\r\n".join(rows) + "\r\n")
        r = self.node.run("import", "platform", path, "--union", "qh-xn-cz", "--approve", "--on", "2026-11-02")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("imported 5 of 10 rows", r.out)
        errs = r.err_lines
        self.assertEqual(len(errs), 5, errs)
        expect = {7: "check character", 8: "unterminated", 9: "phone", 10: "worker group", 11: "duplicate_member"}
        for line, word in expect.items():
            hits = [e for e in errs if e.startswith("huiji: line %d: " % line)]
            self.assertEqual(len(hits), 1, (line, errs))
            self.assertIn(word, hits[0])
        for e in errs:  # personal data never in messages
            for p in good + [bad_id]:
                self.assertNotIn(p.id_number, e)
                self.assertNotIn(p.phone, e)
        ms = self.memberships()
        self.assertEqual(len(ms), 5)
        self.assertTrue(all(m[1] == "active" and m[2] == "truck_driver" and m[3] == "yunmanman"
                            and m[4] == "qh-xn-cz" for m in ms), ms)
        self.assertEqual(self.node.verify().rc, 0)
        # One change set for the whole (small) list.
        self.assertEqual(len(self.node.changelog()), 5)

        # Importing the same list again records nothing new and says why.
        before = self.node.state()
        r = self.node.run("import", "platform", path, "--union", "qh-xn-cz")
        self.assertEqual(r.rc, 1)
        self.assertIn("imported 0 of 10 rows", r.out)
        self.assertEqual(self.node.state(), before)

    def test_bad_files(self):
        before = self.node.state()
        for text, word in [("", "empty"), ("name,phone\n", "required"),
                           ("name,id_number,phone,shoe_size\n", "unknown column")]:
            r = self.node.run("import", "platform", self.write(text))
            self.assertEqual(r.rc, 2, r)
            self.assertEqual(len(r.err_lines), 1, r)
            self.assertIn(word, r.err_lines[0])
        r = self.node.run("import", "platform", os.path.join(self.tmp, "missing.csv"))
        self.assertNotEqual(r.rc, 0)
        self.assertEqual(self.node.state(), before)

    def test_large_list_is_split_into_change_sets(self):
        people = [self.fakes.person(region="630103") for _ in range(2300)]
        rows = ["id_number,name,phone"] + ["%s,%s,%s" % (p.id_number, p.name, p.phone) for p in people]
        r = self.node.run("import", "platform", self.write("\n".join(rows) + "\n"), "--platform", "kayoudidai",
                          "--union", "qh-xn-cb", "--on", "2026-11-02", timeout=300)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("imported 2300 of 2300 rows", r.out)
        self.assertEqual(query(self.node.db, "SELECT count(*) FROM membership WHERE status = 'applied'")[0][0], 2300)
        self.assertEqual(len(self.node.changelog()), 4 + 3)  # 1000 + 1000 + 300
        self.assertEqual(self.node.verify().rc, 0)


if __name__ == "__main__":
    harness.main()
