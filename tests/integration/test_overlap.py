#!/usr/bin/env python3
"""test_overlap.py — two counties import the same platform list (issue 7 #2).

What it proves: the same list of drivers imported offline at two
counties — an ordinary day when a platform sends its list to everyone —
never stops the hub. Every change set of both counties is sequenced once;
the second county's applications are rejected duplicate_member by the hub
and disappear from it; no hub entry's payload passes the byte bound
(HJ_HUB_ENTRY_MAX_BYTES, 4 MiB); both counties end with the hub's rows,
every node verifies and the audit passes. The suite prints the largest
hub entry it saw.

Before the byte bound an entry was bounded by a count of change sets
only: 50,000 rows made a 5.5 MB entry (~110 bytes a verdict, measured
here), and past ~76,000 one beyond the envelope's 8 MiB payload cap, after
which every `hub run` failed and nobody was sequenced again.

CI: 3,000 rows (the path is the same; the entries stay small).
HUIJI_LONG=1: 80,000 rows, past the old cap — the case that wedged the hub.
"""

import json
import os
import sys
import tempfile
import shutil
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

ROWS = int(os.environ.get("HUIJI_OVERLAP_ROWS", 80000 if H.LONG else 3000))
ENTRY_MAX = 4 << 20


class OverlapTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-overlap-")
        self.p = P.Province(self.tmp).make_hub(["xn-cz", "xn-cd"])
        for node in ("xn-cz", "xn-cd"):
            self.p.add_county(node)

    def tearDown(self):
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_list(self):
        fakes = H.Fakes(2026)
        rows = ["name,id_number,phone,group,platform"]
        for _ in range(ROWS):
            who = fakes.person(region="630103")
            rows.append("%s,%s,%s,truck_driver,yunmanman" % (who.name, who.id_number, who.phone))
        path = os.path.join(self.tmp, "platform.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
        return path

    def largest_entry(self):
        # The payload as the compact writer wrote it (json.h: no spaces,
        # UTF-8 kept): re-serialised the same way, its length in bytes.
        sizes = [len(json.dumps(H.parse_envelope(env)["payload"], separators=(",", ":"),
                                ensure_ascii=False).encode("utf-8"))
                 for _, _, env, _ in H.changelog(self.p.hub_db)]
        return max(sizes), len(sizes)

    def test_same_list_at_two_counties(self):
        path = self.write_list()
        for node in ("xn-cz", "xn-cd"):
            r = self.p.run("import", "platform", path, d=self.p.dirs[node], timeout=H.scaled(600))
            self.assertEqual(r.rc, 0, r)
            self.assertIn("imported %d of %d rows" % (ROWS, ROWS), r.out)
        for node in ("xn-cz", "xn-cd"):
            self.assertEqual(self.p.sync(node, timeout=H.scaled(600)).rc, 0)
        self.p.hub_run()
        for node in ("xn-cz", "xn-cd"):
            self.assertEqual(self.p.sync(node, timeout=H.scaled(600)).rc, 0)
        self.p.check_no_quarantine()
        for node in ("xn-cz", "xn-cd"):
            self.p.check_sequenced_once(node)
        hub = H.query(self.p.hub_db, "SELECT union_id, count(*) FROM membership GROUP BY union_id")
        # The hub takes nodes by id within a round: xn-cd's come first.
        self.assertEqual(dict(hub), {"qh-xn-cd": ROWS}, "one application per person, the first county's")
        self.p.check_rows("xn-cd")
        rows = self.p.check_rows("xn-cz")
        self.assertFalse(rows["membership"], "the second county's duplicates are gone from it")
        size, entries = self.largest_entry()
        print("largest hub entry: %d bytes of %d hub change sets (%d rows at two counties)" % (size, entries, ROWS))
        self.assertLessEqual(size, ENTRY_MAX)
        self.p.check_verify("xn-cz", "xn-cd")
        self.p.check_audit()


if __name__ == "__main__":
    H.main()
