#!/usr/bin/env python3
"""test_clock.py — dates and clocks (issue 7 #13).

The county's clock is moved with libfaketime (the real binary, its real
clock calls; nothing in huiji is told it is being tested):

- a county whose clock runs a year ahead records "today" a year early:
  its own fold accepts it (by its own signed time), the hub refuses it as
  future_date by the hub entry's time, the county follows that verdict and
  is told at sync that its clock runs ahead — the wrong clock changed no
  verdict silently, and the audit agrees;
- a county whose clock runs behind the hub's entries is told so;
- a date beyond a day's grace, an approval before the application and a
  leave before the admission are refused at the county before anything is
  signed, naming the reason code.
"""

import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
CZ, CB = "xn-cz", "xn-cb"


def apply_today(person):
    """`member apply` with no --on: the date is today by the clock."""
    a = H.apply_args(person)
    i = a.index("--on")
    return a[:i] + a[i + 2:]


def shifted(offset):
    """The environment of a process whose wall clock is `offset` off
    (libfaketime syntax, e.g. "+365d"). ASan must let the preload come first."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": offset, "DONT_FAKE_MONOTONIC": "1",
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}


@unittest.skipUnless(os.path.exists(LIBFAKETIME), "libfaketime not installed (tools/setup-deps installs it)")
class ClockTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-clock-")
        self.p = P.Province(self.tmp)
        self.p.make_hub([CZ, CB])
        self.p.add_county(CZ)
        self.p.add_county(CB)
        self.fakes = H.Fakes(11)

    def tearDown(self):
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_at(self, node, offset, *args):
        return H.run(list(args), self.p.dirs[node], env=shifted(offset) if offset else None)

    def test_faked_clock_is_seen(self):
        """The preload works on this binary (else the tests below prove nothing)."""
        r = self.run_at(CZ, "+365d", *apply_today(self.fakes.person(region=P.REGION[CZ])))
        self.assertEqual(r.rc, 0, r)
        on = H.query(self.p.db(CZ), "SELECT applied_on FROM membership")[0][0]
        self.assertIn(on, r.out)
        self.assertGreaterEqual(int(on[:4]), 2027)

    def test_clock_a_year_ahead_is_judged_by_the_hub(self):
        p = self.p
        self.assertEqual(self.run_at(CZ, None, "sync").rc, 0)
        ahead = self.run_at(CZ, "+365d", *apply_today(self.fakes.person(region=P.REGION[CZ])))
        self.assertEqual(ahead.rc, 0, "by its own clock the date is today: %r" % ahead)
        self.assertIn("today by this computer's clock", ahead.out)
        ok = self.run_at(CZ, "+365d", *H.apply_args(self.fakes.person(region=P.REGION[CZ]), on="2024-05-01"))
        self.assertEqual(ok.rc, 0, ok)
        r = self.run_at(CZ, "+365d", "sync")
        self.assertEqual(r.rc, 0, r)
        p.hub_run()
        r = self.run_at(CZ, "+365d", "sync")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.err, r"clock runs about 36[56] days ahead of the hub's")
        self.assertIn("1 own ops rejected", r.out)
        # The hub's verdict, by the hub's time: only the dated-today one went.
        v = [H.verdict_at(row[3], 0) for row in H.followed(p.db(CZ)) if row[0] == CZ]
        self.assertEqual(v, [("future_date", ""), None], v)
        self.assertEqual(H.query(p.db(CZ), "SELECT count(*) FROM membership")[0][0], 1)
        self.assertEqual(H.query(p.hub_db, "SELECT count(*) FROM membership")[0][0], 1)
        st = H.run(["status"], p.dirs[CZ])
        self.assertIn("future_date", st.out)
        p.check_rows(CZ)
        self.assertEqual(H.run(["verify"], p.dirs[CZ]).rc, 0)
        r = p.audit()
        self.assertEqual(r.rc, 0, r)
        # With its clock right again the county is not warned.
        r = self.run_at(CZ, None, "sync")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("clock", r.err)

    def test_clock_behind_the_hub_is_told(self):
        p = self.p
        self.run_at(CB, None, *H.apply_args(self.fakes.person(region=P.REGION[CB])))
        self.assertEqual(self.run_at(CB, None, "sync").rc, 0)
        p.hub_run()
        r = self.run_at(CZ, "-30d", "sync")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.err, r"clock runs at least (29|30) days behind the hub's")

    def test_date_rules_at_the_county(self):
        p = self.p
        far = self.run_at(CZ, None, *H.apply_args(self.fakes.person(region=P.REGION[CZ]), on="2099-01-01"))
        self.assertEqual(far.rc, 1, far)
        self.assertIn("future_date", far.err)
        r = self.run_at(CZ, None, *H.apply_args(self.fakes.person(region=P.REGION[CZ]), on="2024-03-01"))
        self.assertEqual(r.rc, 0, r)
        mid = r.out.split()[1]
        early = self.run_at(CZ, None, "member", "approve", "--member", mid, "--on", "2024-02-01")
        self.assertEqual(early.rc, 1, early)
        self.assertIn("date_order", early.err)
        self.assertEqual(self.run_at(CZ, None, "member", "approve", "--member", mid, "--on", "2024-03-02").rc, 0)
        left = self.run_at(CZ, None, "member", "leave", "--member", mid, "--on", "2024-03-01", "--reason",
                           "voluntary")
        self.assertEqual(left.rc, 1, left)
        self.assertIn("date_order", left.err)
        # Nothing refused was signed: the feed holds the apply and the approve.
        self.assertEqual(H.query(p.db(CZ), "SELECT count(*) FROM changelog")[0][0], 2)


if __name__ == "__main__":
    H.main()
