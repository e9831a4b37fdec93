#!/usr/bin/env python3
"""test_roster.py — `huiji compare roster FILE.csv` on a real province.

What it proves: a driver list compared at the hub (by person key, across
the province) and at a county (by the ID numbers it holds) gives the
counts an independent computation gives from the registries (the person
key derived here with hashlib's keyed BLAKE2b from the hub's person.key);
the hub says where else a person is a member, the county never does (its
output, JSON and outreach file name no other union); the outreach CSV
holds exactly the rows not reached, masked unless --reveal; bad rows
(wrong check digit, a 17-digit number, an unknown group, the same person
twice, no number) are reported by line without their ID number and do not
stop the comparison; a list of person keys compares without a number; a
GB18030 list gives the same figures as its UTF-8 copy.

No HUIJI_LONG variant: the suite takes a few seconds.
"""

import csv
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

CZ, CD = "xn-cz", "xn-cd"
ON = "2024-03-01"
STATES = ("members_here", "members_elsewhere", "open_applications", "not_reached")


class RosterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hj-roster-")
        p = cls.p = P.Province(cls.tmp)
        p.make_hub([CZ, CD])
        for node in (CZ, CD):
            p.add_county(node)
        f = H.Fakes(9090)
        cls.people = {}
        # at cz: three members (one registered in Anhui), an open
        # application, one who left; at cd: two members; nobody else.
        cls.cz_active = [f.person(region="630103"), f.person(region="630103"), f.person(region="340104")]
        cls.cz_applied = [f.person(region="630103")]
        cls.cz_left = [f.person(region="630103")]
        cls.cd_active = [f.person(region="630102"), f.person(region="630102")]
        cls.nobody = [f.person(region="630104") for _ in range(3)]
        cls.late = f.person(region="630103")  # applied at cz after its last sync: pending there
        cz, cd = p.dirs[CZ], p.dirs[CD]
        for q in cls.cz_active:
            p.ok(*H.apply_args(q, on=ON, approve=True), d=cz)
        p.ok(*H.apply_args(cls.cz_applied[0], on=ON), d=cz)
        r = p.ok(*H.apply_args(cls.cz_left[0], on=ON, approve=True), d=cz)
        left_id = r.out.split()[1]
        p.ok("member", "leave", "--member", left_id, "--on", "2024-05-01", "--reason", "voluntary", d=cz)
        for q in cls.cd_active:
            p.ok(*H.apply_args(q, on=ON, approve=True), d=cd)
        for node in (CZ, CD):
            r = p.sync(node)
            assert r.rc == 0, r
        p.hub_run()
        for node in (CZ, CD):
            r = p.sync(node)
            assert r.rc == 0, r
        p.ok(*H.apply_args(cls.late, on=ON), d=cz)
        with open(p.person_key) as fh:
            cls.secret = bytes.fromhex(fh.read().strip())
        cls.roster = cls.write_roster()

    @classmethod
    def tearDownClass(cls):
        cls.p.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write_roster(cls):
        """The list: every person above (couriers for two of them), an
        extra column, and bad rows at known lines."""
        good = cls.cz_active + cls.cz_applied + cls.cz_left + cls.cd_active + cls.nobody + [cls.late]
        cls.good = good
        cls.group = {q.id_number: ("courier" if i % 4 == 1 else "truck_driver") for i, q in enumerate(good)}
        rows = [["name", "id_number", "phone", "plate", "vehicle_type", "group"]]
        for q in good:
            grp = cls.group[q.id_number]
            rows.append([q.name, q.id_number, q.phone, q.get("plate") or "", "重型货车",
                         "" if grp == "truck_driver" else grp])
        n = len(rows)
        bad = cls.nobody[0]
        rows.append([bad.name, H.id_with_bad_check(bad.id_number), bad.phone, "", "", ""])  # check digit
        rows.append([bad.name, bad.id_number[:17], bad.phone, "", "", ""])                  # 17 digits
        rows.append([bad.name, cls.cd_active[0].id_number, bad.phone, "", "", "astronaut"])  # group
        rows.append([good[0].name, good[0].id_number, good[0].phone, "", "", ""])            # the same again
        rows.append(["无号", "", "13800000000", "", "", ""])                                  # no number
        cls.bad_lines = {n + 1: "check", n + 2: "ID number", n + 3: "worker group", n + 4: "line 2",
                         n + 5: "no id_number"}
        path = os.path.join(cls.tmp, "drivers.csv")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(rows)
        return path

    # --- the independent computation ----------------------------------------

    def key(self, idno):
        return hashlib.blake2b(idno.encode(), digest_size=32, key=self.secret).hexdigest()

    def expected(self, node, union):
        """{group: counts} and {id_number: (state, union)} from the registry
        of `node`, by this test's own reading: the hub by the key derived
        here, a county by the numbers of its person rows, its subtree only."""
        db = self.p.db(node)
        sub = set(H.subtree_unions(db, union))
        counts, where = {}, {}
        for q in self.good:
            if node == P.HUB:
                recs = H.query(db, "SELECT status, union_id FROM membership WHERE person_key = ?",
                               (self.key(q.id_number),))
            else:
                recs = H.query(db, "SELECT m.status, m.union_id FROM membership m JOIN person p "
                               "ON p.person_key = m.person_key WHERE p.id_number = ?", (q.id_number,))
                recs = [x for x in recs if x[1] in sub]
            live = [x for x in recs if x[0] in ("active", "applied")]
            state = "not_reached"
            if live and live[0][0] == "applied":
                state = "open_applications"
            elif live:
                state = "members_here" if live[0][1] in sub else "members_elsewhere"
            where[q.id_number] = (state, live[0][1] if live else None)
            c = counts.setdefault(self.group[q.id_number], dict.fromkeys(STATES, 0))
            c[state] += 1
        return counts, where

    def compare(self, node, *args):
        d = self.p.hub if node == P.HUB else self.p.dirs[node]
        return H.run(["compare", "roster", self.roster] + list(args), d)

    def check_bad_rows(self, r):
        self.assertEqual(r.rc, 1, r)  # bad rows: exit 1, the rest compared
        errs = [e for e in r.err_lines if e.startswith("huiji: line ")]
        self.assertEqual(len(errs), len(self.bad_lines), r.err)
        for line, word in self.bad_lines.items():
            hit = [e for e in errs if e.startswith("huiji: line %d: " % line)]
            self.assertEqual(len(hit), 1, (line, errs))
            self.assertIn(word, hit[0])
        for q in self.good:  # never an ID number (nor its first 17 digits) in a message
            self.assertNotIn(q.id_number[:17], r.err)

    def check_counts(self, got, node, union):
        want, _ = self.expected(node, union)
        by_group = {g["group"]: g for g in got["groups"]}
        self.assertEqual(set(by_group), set(want))
        for grp, c in want.items():
            g = by_group[grp]
            self.assertEqual(g["union"], union)
            self.assertEqual(g["rows"], sum(c.values()))
            for s in STATES:
                if s == "members_elsewhere" and node != P.HUB:
                    self.assertIsNone(g[s])  # a county never says
                    self.assertEqual(c[s], 0)
                else:
                    self.assertEqual(g[s], c[s], (node, grp, s))

    def text(self, path):
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()

    def read_out(self, path):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))

    # --- the tests ------------------------------------------------------------

    def test_hub_says_where_else(self):
        out = os.path.join(self.tmp, "hub-out.csv")
        r = self.compare(P.HUB, "--union", "qh-xn-cz", "--json", "--out", out)
        self.check_bad_rows(r)
        got = json.loads(r.out)
        self.assertEqual((got["compared_by"], got["where_else"]), ("person_key", True))
        self.assertEqual((got["rows"], got["bad_rows"]), (len(self.good) + 5, 5))
        self.check_counts(got, P.HUB, "qh-xn-cz")
        # the figures themselves, from what the test did: cz's three members
        # here, cd's two elsewhere (named), one application (the late one
        # never reached the hub), the leaver and the three nobodies not reached
        tot = {s: sum(g[s] for g in got["groups"]) for s in STATES}
        self.assertEqual(tot, {"members_here": 3, "members_elsewhere": 2, "open_applications": 1,
                               "not_reached": 5})
        where = {(w["state"], w["union"]): w for w in got["where"]}
        self.assertEqual(where[("member_elsewhere", "qh-xn-cd")]["rows"], 2)
        self.assertEqual(where[("member_elsewhere", "qh-xn-cd")]["union_name"], "城东区总工会")
        self.assertEqual(where[("applied", "qh-xn-cz")]["rows"], 1)
        # outreach: exactly the rows not reached, masked
        rows = self.read_out(out)
        _, st = self.expected(P.HUB, "qh-xn-cz")
        want = [q for q in self.good if st[q.id_number][0] == "not_reached"]
        self.assertEqual([x["id_number"] for x in rows], [H.mask_id(q.id_number) for q in want])
        self.assertEqual([x["name"] for x in rows], [H.mask_name(q.name) for q in want])
        self.assertEqual([x["phone"] for x in rows], [H.mask_phone(q.phone) for q in want])
        self.assertNotIn("person_key", rows[0])
        text = self.text(out)
        for q in self.good:
            self.assertNotIn(q.id_number, text)
            self.assertNotIn(q.phone, text)
        leaver = [x for x in rows if x["id_number"] == H.mask_id(self.cz_left[0].id_number)][0]
        self.assertEqual((leaver["former_status"], leaver["former_union"]), ("left", "qh-xn-cz"))
        self.assertEqual(rows[0]["region"], want[0].id_number[:6])
        self.assertEqual({x["region_name"] for x in rows if x["region"] == "630104"}, {"城西区"})
        # --reveal: the same rows in full, with the person key
        r = self.compare(P.HUB, "--union", "qh-xn-cz", "--out", out, "--reveal")
        self.assertEqual(r.rc, 1, r)
        rows = self.read_out(out)
        self.assertEqual([(x["id_number"], x["name"], x["phone"], x["person_key"]) for x in rows],
                         [(q.id_number, q.name, q.phone, self.key(q.id_number)) for q in want])

    def test_county_says_here_or_not(self):
        out = os.path.join(self.tmp, "cz-out.csv")
        r = self.compare(CZ, "--json", "--out", out, "--reveal")
        self.check_bad_rows(r)
        got = json.loads(r.out)
        self.assertEqual((got["compared_by"], got["where_else"], got["union"]), ("id_number", False, "qh-xn-cz"))
        self.check_counts(got, CZ, "qh-xn-cz")
        tot = {s: sum(g[s] or 0 for g in got["groups"]) for s in STATES}
        # the late application is pending here, and held here by its number
        self.assertEqual(tot, {"members_here": 3, "members_elsewhere": 0, "open_applications": 2,
                               "not_reached": 6})
        rows = self.read_out(out)
        ids = {x["id_number"] for x in rows}
        for q in self.cd_active:  # members at cd are simply not here
            self.assertIn(q.id_number, ids)
        for x in rows:
            self.assertEqual(x["person_key"], "")  # a county derives none
            self.assertIn(x["former_union"], ("", "qh-xn-cz"))
        # nothing it prints names the other county
        for text in (r.out, r.err, self.text(out), self.compare(CZ).out):
            self.assertNotIn("qh-xn-cd", text)
            self.assertNotIn("城东区总工会", text)  # (城东区 is a region column: where registered)
        # registered in Anhui, a member here all the same: region is a column only
        anhui = self.cz_active[2]
        self.assertNotIn(anhui.id_number, ids)
        text = self.compare(CZ, "--out", out, "--reveal").out
        self.assertIn("members here", text)

    def test_keyed_list(self):
        """A list of person keys (keyed at the hub) compares at the county
        without a number: its sequenced members by the hub's keys."""
        path = os.path.join(self.tmp, "keys.csv")
        people = self.cz_active + self.cd_active + self.nobody[:1]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write("person_key\n" + "".join(self.key(q.id_number) + "\n" for q in people))
        for node, want in ((CZ, (3, None, 0, 3)), (P.HUB, (3, 2, 0, 1))):
            d = self.p.hub if node == P.HUB else self.p.dirs[node]
            r = H.run(["compare", "roster", path, "--json", "--union", "qh-xn-cz"], d)
            self.assertEqual(r.rc, 0, r)
            g = json.loads(r.out)
            self.assertEqual(g["by_key"], len(people))
            got = g["groups"][0]
            self.assertEqual(tuple(got[s] for s in STATES), want, (node, g))

    def test_gb18030(self):
        """The same list as Excel saves it on Chinese Windows: the same figures."""
        path = os.path.join(self.tmp, "drivers-gbk.csv")
        with open(self.roster, encoding="utf-8") as src, open(path, "w", encoding="gb18030", newline="") as dst:
            dst.write(src.read())
        a = json.loads(self.compare(P.HUB, "--json").out)
        r = H.run(["compare", "roster", path, "--json"], self.p.hub)
        self.assertEqual(r.rc, 1, r)
        b = json.loads(r.out)
        self.assertEqual((a["encoding"], b["encoding"]), ("utf-8", "gb18030"))
        self.assertEqual((a["groups"], a["where"], a["bad"]), (b["groups"], b["where"], b["bad"]))
        self.assertIn("read as GB18030", H.run(["compare", "roster", path], self.p.hub).out)

    def test_cli(self):
        r = H.run(["compare", "roster", "--help"], self.p.hub)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("huiji compare roster drivers.csv --out outreach.csv", r.out)
        self.assertIn("truck_driver", r.out)
        r = H.run(["compare", "rooster", self.roster], self.p.hub)
        self.assertEqual(r.rc, 2)
        self.assertIn("did you mean 'roster'", r.err)
        r = self.compare(P.HUB, "--group", "pilot")
        self.assertEqual(r.rc, 2)
        self.assertIn("one of truck_driver, ride_hailing", r.err)
        r = self.compare(CZ, "--union", "qh-xn-cd")  # a county holds no other union
        self.assertEqual(r.rc, 2)
        self.assertIn("not qh-xn-cz nor below it", r.err)
        r = self.compare(P.HUB, "--union", "qh-nowhere")
        self.assertEqual(r.rc, 2)
        self.assertIn("unknown union", r.err)
        r = self.compare(P.HUB, "--out", self.roster)  # never over the list itself
        self.assertEqual(r.rc, 2)
        self.assertIn("is the list itself", r.err)
        self.assertIn("id_number", self.text(self.roster))
        # the text summary: a table with a header and the where table
        r = self.compare(P.HUB, "--union", "qh-xn-cz")
        self.assertIn("members elsewhere", r.out)
        self.assertIn("城东区总工会", r.out)
        self.assertIn("--out FILE writes the rows not reached", r.out)


if __name__ == "__main__":
    H.main()
