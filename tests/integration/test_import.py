#!/usr/bin/env python3
"""test_import.py — `huiji import platform FILE.csv` against a real node.

What it proves: a platform union's driver list with bad rows mixed in:
every bad row is reported with its line and reason (never its personal
data), every good row is recorded, the registry verifies, and nothing
half-done is left; a large list is split into change sets of 1000.

No HUIJI_LONG variant: the whole suite takes seconds.
"""

import csv
import io
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

    def test_bad_utf8_rows_are_refused_by_line(self):
        # Well-formed UTF-8 is RFC 3629's: a surrogate or an overlong form
        # is refused by the CSV reader with its line, as the JSON writer
        # would refuse it later (before, one such row failed the whole
        # import, with no line number and nothing recorded).
        good = [self.fakes.person(region="630103") for _ in range(3)]
        bad = self.fakes.person(region="630103")

        def row(p, name=None, plate=b""):
            return b",".join([name if name is not None else p.name.encode(), p.id_number.encode(),
                              p.phone.encode(), plate])

        rows = [b"name,id_number,phone,plate",
                row(good[0]),                                         # line 2
                row(bad, name=b"\xe5\xbc\xa0\xed\xa0\x80"),                # line 3: surrogate U+D800
                row(good[1]),                                         # line 4
                row(bad, plate=b"\xc0\xaf"),                           # line 5: overlong '/'
                b'"\xe5\xbc\xa0\n\xf4\x90\x80\x80",' + row(bad).split(b",", 1)[1],  # lines 6-7: > U+10FFFF
                row(good[2]),                                         # line 8
                row(bad, name=b"\xe5\xbc")]                            # line 9: truncated
        path = os.path.join(self.tmp, "utf8.csv")
        with open(path, "wb") as f:
            f.write(b"\n".join(rows) + b"\n")
        r = self.node.run("import", "platform", path, "--union", "qh-xn-cz", "--on", "2026-11-02")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("imported 3 of 7 rows", r.out)
        self.assertEqual(len(r.err_lines), 4, r)
        for line in (3, 5, 6, 9):
            hits = [e for e in r.err_lines if e.startswith("huiji: line %d: " % line)]
            self.assertEqual(len(hits), 1, (line, r.err_lines))
            self.assertIn("UTF-8", hits[0])
            self.assertNotIn(bad.id_number, hits[0])
        names = sorted(x[0] for x in query(self.node.db, "SELECT name FROM person"))
        self.assertEqual(names, sorted(p.name for p in good))
        self.assertEqual(self.node.verify().rc, 0)

    def test_report_csv_quotes_fields(self):
        # An org name with a comma and a quote: the report's CSV parses
        # back (RFC 4180) to the right columns; before, the comma split
        # the name into two columns and the quote was left raw.
        name = '城东区总工会, "东关"'
        self.node.ok("org", "create", "--id", "qh-xn-cd", "--name", name, "--kind", "county",
                     "--parent", "qh-xn", "--region", "630102")
        people = [self.fakes.person(region="630102") for _ in range(3)]
        for p in people[:2]:
            self.node.apply(p, union="qh-xn-cd", approve=True)
        self.node.apply(people[2], union="qh-xn-cd", group="courier")
        self.node.apply(self.fakes.person(region="630103"), union="qh-xn-cz", approve=True)
        # The survey's figures go through the same CSV reader: quoted
        # fields, a comment, a bad line reported by its line and skipped.
        targets = self.write('org_id,group,estimated_workers,target_percent\n'
                             '# survey 2026\n'
                             '"qh-xn-cd","truck_driver",40,"30"\n'
                             'qh-xn-cz,truck_driver,many,30\n'
                             'qh-xn-cd,courier,10,20,a note\n', name="targets.csv")
        r = self.node.run("report", "coverage", "--format", "csv", "--targets", targets)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err_lines, ["huiji: %s line 4: expected org_id,group,estimated_workers,"
                                       "target_percent; line skipped" % targets])
        rows = list(csv.reader(io.StringIO(r.out, newline="")))
        self.assertEqual(rows[0], ["county_id", "county", "group", "active_members", "open_applications",
                                   "estimated_workers", "rate_percent", "target_percent"])
        self.assertTrue(all(len(x) == 8 for x in rows), rows)
        by = {(x[0], x[2]): x for x in rows[1:]}
        self.assertEqual(by[("qh-xn-cd", "truck_driver")], ["qh-xn-cd", name, "truck_driver", "2", "0", "40", "5.0",
                                                            "30"])
        self.assertEqual(by[("qh-xn-cd", "courier")], ["qh-xn-cd", name, "courier", "0", "1", "10", "0.0", "20"])
        self.assertEqual(by[("qh-xn-cz", "truck_driver")][:6], ["qh-xn-cz", "城中区总工会", "truck_driver", "1", "0", ""])
        # Plain fields are written as before, without quotes.
        self.assertIn("\nqh-xn-cz,城中区总工会,truck_driver,1,0,,,\n", r.out)
        self.assertIn('"城东区总工会, ""东关"""', r.out)
        # The text format is unchanged by this and shows the name whole.
        r = self.node.run("report", "coverage")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(name, r.out)


if __name__ == "__main__":
    harness.main()
