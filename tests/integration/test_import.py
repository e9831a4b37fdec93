#!/usr/bin/env python3
"""test_import.py — `huiji import platform FILE.csv` against a real node.

What it proves: a platform union's driver list with bad rows mixed in:
every bad row is reported with its line and reason (never its personal
data), every good row is recorded, the registry verifies, and nothing
half-done is left; a large list is split into change sets of 1000. Bad
input loses nothing (issue 7 items 12, 14): a GBK export from Excel is
read as GB18030 (also its rows that are valid UTF-8 by accident), a stray
quote costs its own line only, a missing header is refused without
echoing the row, refused rows go to a reject file that imports once
fixed, and 15-digit or full-width ID numbers are recorded in their
canonical 18-digit form.

No HUIJI_LONG variant: the whole suite takes seconds.
"""

import csv
import datetime
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


    # --- issue 7, items 12 and 14 ---------------------------------------

    def write_bytes(self, data, name):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def names(self):
        return sorted(x[0] for x in query(self.node.db, "SELECT name FROM person"))

    def assertNoData(self, text, people):
        for p in people:
            for v in (p.id_number, p.name, p.phone):
                self.assertNotIn(v, text)

    def test_gbk_export_is_read_as_gb18030(self):
        # What Excel saves on Chinese Windows: GBK, CRLF. 郑伟 and 谢强 are
        # valid UTF-8 in GBK (D6A3 CEB0 -> ֣ΰ): a reader deciding row by
        # row stores them as mojibake. Before: every other row was refused
        # as "not valid UTF-8" and those two were stored garbled.
        people = [self.fakes.person(region="630103") for _ in range(12)]
        people[3]["name"], people[8]["name"] = "郑伟", "谢强"
        text = "name,id_number,phone\r\n" + "".join("%s,%s,%s\r\n" % (p.name, p.id_number, p.phone) for p in people)
        data = text.encode("gb18030")
        accidental = [line for line in data.split(b"\r\n")[1:] if line and not line.isascii()]
        self.assertTrue(any(self._is_utf8(x) for x in accidental))  # the premise
        path = self.write_bytes(data, "gbk.csv")
        r = self.node.run("import", "platform", path, "--union", "qh-xn-cz", "--on", "2026-11-02")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("read as GB18030", r.out)
        self.assertIn("imported 12 of 12 rows", r.out)
        self.assertEqual(self.names(), sorted(p.name for p in people))
        self.assertEqual(self.node.verify().rc, 0)

        # All names valid UTF-8 by accident: refused whole, naming both
        # encodings; --encoding gb18030 reads it.
        node2 = harness.make_root(os.path.join(self.tmp, "hub2"))
        few = [self.fakes.person(region="630103") for _ in range(2)]
        few[0]["name"], few[1]["name"] = "郑伟", "谢强"
        data = ("name,id_number,phone\r\n" + "".join("%s,%s,%s\r\n" % (p.name, p.id_number, p.phone)
                                                     for p in few)).encode("gb18030")
        path = self.write_bytes(data, "ambiguous.csv")
        before = node2.state()
        r = node2.run("import", "platform", path, "--union", "qh-xn-cz")
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertIn("--encoding", r.err)
        self.assertEqual(node2.state(), before)
        r = node2.run("import", "platform", path, "--union", "qh-xn-cz", "--encoding", "gb18030", "--on", "2026-11-02")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(sorted(x[0] for x in query(node2.db, "SELECT name FROM person")), ["谢强", "郑伟"])

        # Neither UTF-8 nor GB18030 (0xFF is in neither): refused whole.
        path = self.write_bytes(text.encode("gb18030") + b"\xff\xff,1,2\r\n", "broken.csv")
        before = self.node.state()
        r = self.node.run("import", "platform", path)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("neither UTF-8 nor GB18030: line 14", r.err)
        self.assertEqual(self.node.state(), before)

    @staticmethod
    def _is_utf8(b):
        try:
            b.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False

    def test_stray_quote_costs_its_own_line(self):
        # Line 4 opens a quote it never closes; line 7 quotes a name.
        # Before: the quote ran from line 4 to line 7's first quote, lines
        # 4-7 were one refused "record" and lines 5-7 were lost unsaid.
        people = [self.fakes.person(region="630103") for _ in range(8)]
        rows = ["name,id_number,phone"]
        for i, p in enumerate(people):
            if i == 2:
                rows.append('"%s,%s,%s' % (p.name, p.id_number, p.phone))        # line 4
            elif i == 5:
                rows.append('"%s",%s,%s' % (p.name, p.id_number, p.phone))       # line 7
            elif i == 7:
                rows.append('%s"x,%s,%s' % (p.name, p.id_number, p.phone))       # line 9: quote mid-field
            else:
                rows.append("%s,%s,%s" % (p.name, p.id_number, p.phone))
        r = self.node.run("import", "platform", self.write("\n".join(rows) + "\n"), "--union", "qh-xn-cz",
                          "--on", "2026-11-02")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("imported 6 of 8 rows", r.out)
        self.assertEqual([e.split(":")[1] for e in r.err_lines], [" line 4", " line 9"], r)
        self.assertIn("a quote inside an unquoted field", r.err_lines[1])
        self.assertNoData(r.err, people)
        self.assertEqual(self.names(), sorted(p.name for i, p in enumerate(people) if i not in (2, 7)))
        self.assertEqual(self.node.verify().rc, 0)

    def test_a_line_break_inside_a_column_is_refused(self):
        # A name cell with Alt+Enter in Excel: RFC 4180 quotes it over two
        # lines. No column holds two lines: the record is refused by its
        # first line, whole (both lines go to the rejects), the next is read.
        people = [self.fakes.person(region="630103") for _ in range(3)]
        p = people[1]
        rows = ["name,id_number,phone",
                "%s,%s,%s" % (people[0].name, people[0].id_number, people[0].phone),
                '"%s\n%s",%s,%s' % (p.name[0], p.name[1:], p.id_number, p.phone),      # lines 3-4
                "%s,%s,%s" % (people[2].name, people[2].id_number, people[2].phone)]   # line 5
        rej = os.path.join(self.tmp, "rej.csv")
        r = self.node.run("import", "platform", self.write("\n".join(rows) + "\n"), "--union", "qh-xn-cz",
                          "--on", "2026-11-02", "--rejects", rej)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("imported 2 of 3 rows", r.out)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertTrue(r.err_lines[0].startswith("huiji: line 3: column 1 holds a line break"), r)
        self.assertNoData(r.err, people)
        with open(rej, encoding="utf-8-sig", newline="") as f:
            self.assertEqual(f.read(), 'reason,name,id_number,phone\n"column 1 holds a line break (a stray quote?); '
                             'every column is one line",%s\n' % rows[2])

    def test_missing_header_names_no_data(self):
        # Before: "unknown column '张三'" (or the ID number) on stderr.
        people = [self.fakes.person(region="630103") for _ in range(3)]
        for order in [(0, 1, 2), (1, 0, 2), (2, 1, 0)]:
            rows = [",".join((p.name, p.id_number, p.phone)[k] for k in order) for p in people]
            before = self.node.state()
            r = self.node.run("import", "platform", self.write("\n".join(rows) + "\n"))
            self.assertEqual(r.rc, 2, r)
            self.assertEqual(len(r.err_lines), 1, r)
            self.assertIn("header line missing", r.err)
            self.assertNoData(r.err, people)
            self.assertEqual(self.node.state(), before)
        # One bad cell in a real header is named by its position.
        r = self.node.run("import", "platform", self.write("name,%s,phone\n" % people[0].id_number))
        self.assertEqual(r.rc, 2, r)
        self.assertIn("column 2: unknown column name", r.err)
        self.assertNoData(r.err, people)

    def test_rejects_file_fixed_and_imported_again(self):
        people = [self.fakes.person(region="630103", birth=datetime.date(1980 + i, 3, 4)) for i in range(8)]
        bad = {1: "check", 3: "quote", 5: "phone"}
        rows = ["name,id_number,phone,group"]
        for i, p in enumerate(people):
            if bad.get(i) == "check":
                rows.append("%s,%s,%s,courier" % (p.name, id_with_bad_check(p.id_number), p.phone))
            elif bad.get(i) == "quote":
                rows.append('"%s,%s,%s,courier' % (p.name, p.id_number, p.phone))
            elif bad.get(i) == "phone":
                rows.append("%s,%s,%s,courier" % (p.name, p.id_number, p.phone[:10]))
            elif i == 6:  # a 15-digit number from before 1999, full width
                legacy = p.id_number[:6] + p.id_number[8:17]
                rows.append("%s,%s,%s,courier" % (p.name, "".join(chr(0xFF10 + int(c)) for c in legacy), p.phone))
            else:
                rows.append("%s,%s,%s,courier" % (p.name, p.id_number, p.phone))
        rej = os.path.join(self.tmp, "rejects.csv")
        r = self.node.run("import", "platform", self.write("\r\n".join(rows) + "\r\n"), "--union", "qh-xn-cz",
                          "--on", "2026-11-02", "--rejects", rej)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("imported 5 of 8 rows", r.out)
        self.assertIn("refused rows written to %s" % rej, r.out)
        self.assertIn("line 8: note: a 15-digit ID number from before 1999", r.out)
        self.assertNoData(r.out + r.err, people)
        with open(rej, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"\xef\xbb\xbf"))  # for Excel: UTF-8, not GBK
        lines = data[3:].decode("utf-8").split("\n")
        self.assertEqual(lines[0], "reason,name,id_number,phone,group")
        self.assertEqual(lines[-1], "")
        body = lines[1:-1]
        self.assertEqual(len(body), 3, lines)
        fixed = [lines[0]]
        for line, (i, what) in zip(body, sorted(bad.items())):
            self.assertTrue(line.startswith('"'), line)
            reason, raw = line[1:].split('",', 1)
            self.assertNotIn('"', reason)
            self.assertEqual(raw, rows[i + 1])  # the row as read
            self.assertIn({"check": "check character", "quote": "unterminated", "phone": "phone"}[what], reason)
            p = people[i]
            fixed.append('"%s",%s,%s,%s,courier' % (reason, p.name, p.id_number, p.phone))
        # The clerk fixes the three rows and imports the reject file as it is
        # (saved again by Excel as "CSV UTF-8": with the BOM, CRLF).
        rej2 = os.path.join(self.tmp, "rejects2.csv")
        r = self.node.run("import", "platform", self.write("\ufeff" + "\r\n".join(fixed) + "\r\n", name="fixed.csv"),
                          "--union", "qh-xn-cz", "--on", "2026-11-02", "--rejects", rej2)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("imported 3 of 3 rows", r.out)
        self.assertFalse(os.path.exists(rej2))  # nothing refused: no reject file
        self.assertEqual(self.names(), sorted(p.name for p in people))
        ids = sorted(x[0] for x in query(self.node.db, "SELECT id_number FROM person"))
        self.assertEqual(ids, sorted(p.id_number for p in people))  # canonical 18 characters
        self.assertEqual(self.node.verify().rc, 0)


if __name__ == "__main__":
    harness.main()
