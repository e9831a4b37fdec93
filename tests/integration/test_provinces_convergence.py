#!/usr/bin/env python3
"""test_provinces_convergence.py — records moving between two provinces
under random work and sync orders (issue 8 §3; the convergence rule:
every sync feature, many nodes, random offline work and sync orders).

Two provinces as in test_provinces.py (qh and ah, each a hub behind its
own git daemon and one county, the same national key, peers of each
other), a few members admitted on each side, then a seeded random
schedule: a county offers one of its active members to the other
province, the receiving county accepts or declines an offer it holds, the
offering county withdraws one, and each province syncs or runs its hub in
a random order (a county sync alone, a hub pass alone, or both), so offers
and answers cross while the other side is behind. Then both settle.

What it proves, per seed: in each province every county's rows equal its
hub's, the hub and the county verify and the hub audits clean; each
province holds at most one active record per person; every transfer one
province took in ends as the offering province ended it (accepted on
both sides, or declined, or withdrawn), except where an offer was
withdrawn while it was being accepted — then the person is active in both
provinces and both hubs report the operator conflict. HUIJI_LONG=1 runs
5 seeds (the short form 2, ~20 s; one under the sanitizers, which
tools/run-tests says with HUIJI_SANITIZED=1).
"""

import os
import random
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_provinces as TP  # noqa: E402

SEEDS = ([11, 12, 13, 14, 15] if os.environ.get("HUIJI_LONG") else
         [11] if os.environ.get("HUIJI_SANITIZED") else [11, 12])  # ASan: the same paths, once
UNION = {"qh": "qh-xn-cz", "ah": "ah-hf-yh"}
OTHER = {"qh": "ah", "ah": "qh"}


class Schedule:
    def __init__(self, seed, tmp):
        self.rng = random.Random(seed)
        self.fakes = H.Fakes(seed)
        qh = TP.Prov(tmp, "qh", "青海省总工会", "63", ("qh-xn", "西宁市总工会", "6301"),
                     ("xn-cz", "qh-xn-cz", "城中区总工会", "630103")).make()
        ah = TP.Prov(tmp, "ah", "安徽省总工会", "34", ("ah-hf", "合肥市总工会", "3401"),
                     ("hf-yh", "ah-hf-yh", "瑶海区总工会", "340102"), national_key=qh.person_key).make()
        self.p = {"qh": qh, "ah": ah}
        self.day = 0

    def close(self):
        for p in self.p.values():
            p.close()

    def on(self):
        self.day += 1
        return "2024-%02d-%02d" % (6 + self.day // 28, 1 + self.day % 28)

    def county(self, pid, sql, *args):
        p = self.p[pid]
        return [r[0] for r in H.query(p.db(p.county[0]), sql, args)]

    def setup(self):
        for a, b in (("qh", "ah"), ("ah", "qh")):
            pa, pb = self.p[a], self.p[b]
            pa.ok("hub", "peer", "--province", b, "--hub-node", pb.hub_node, "--hub-key", pb.hub_key,
                  "--url", pb.daemon.url, "--name", pb.name, d=pa.hub)
        for pid, region in (("qh", "630103"), ("ah", "340102")):
            for _ in range(4):
                self.p[pid].ok(*H.apply_args(self.fakes.person(region=region), approve=True), d=self.p[pid].cdir)
            self.p[pid].round()

    def act(self):
        pid = self.rng.choice(["qh", "ah"])
        p, x = self.p[pid], self.rng.random()
        if x < 0.3:
            free = self.county(pid, "SELECT id FROM membership WHERE status = 'active' AND union_id = ? AND "
                                    "person_key NOT IN (SELECT person_key FROM transfer WHERE status = 'open') "
                                    "ORDER BY id", UNION[pid])
            if free:
                p.ok("member", "transfer", "--member", self.rng.choice(free), "--to", UNION[OTHER[pid]],
                     "--to-province", OTHER[pid], "--on", self.on(), d=p.cdir)
        elif x < 0.55:
            incoming = self.county(pid, "SELECT id FROM transfer WHERE kind = 'province_in' AND status = 'open' "
                                        "ORDER BY id")
            if incoming:
                verb = "accept" if self.rng.random() < 0.7 else "decline"
                p.ok("member", verb, "--transfer", self.rng.choice(incoming), "--on", self.on(), d=p.cdir)
        elif x < 0.62:
            mine = self.county(pid, "SELECT id FROM transfer WHERE kind = 'province_out' AND status = 'open' "
                                    "ORDER BY id")
            if mine:
                p.ok("member", "transfer", "--withdraw", "--transfer", self.rng.choice(mine), "--on", self.on(),
                     d=p.cdir)
        elif x < 0.75:
            p.ok("sync", d=p.cdir)
        elif x < 0.88:
            p.hub_run()
        else:
            p.round()

    def settle(self):
        """Both sides catch up; every offer still open is answered (at
        random), and they catch up again."""
        for _ in range(2):
            for pid in ("qh", "ah", "qh", "ah"):
                self.p[pid].round()
            for pid in ("qh", "ah"):
                p = self.p[pid]
                for t in self.county(pid, "SELECT id FROM transfer WHERE kind = 'province_in' AND status = 'open' "
                                          "ORDER BY id"):
                    verb = "accept" if self.rng.random() < 0.7 else "decline"
                    p.ok("member", verb, "--transfer", t, "--on", self.on(), d=p.cdir)
        for pid in ("qh", "ah", "qh", "ah"):
            self.p[pid].round()


class ProvincesConvergenceTest(unittest.TestCase):
    def test_random_schedules_converge(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                tmp = tempfile.mkdtemp(prefix="hj-provconv-")
                s = Schedule(seed, tmp)
                try:
                    s.setup()
                    for _ in range(30):
                        s.act()
                    s.settle()
                    self.check(s)
                finally:
                    s.close()
                    shutil.rmtree(tmp, ignore_errors=True)

    def active_numbers(self, p):
        return {n for (n,) in H.query(p.hub_db, "SELECT p.id_number FROM membership m JOIN person p ON "
                                                "p.person_key = m.person_key WHERE m.status = 'active'")}

    def check(self, s):
        moved = 0
        for pid, p in s.p.items():
            p.check_rows(p.county[0], union=UNION[pid])
            p.ok("verify", d=p.hub)
            p.ok("verify", d=p.cdir)
            r = p.audit(p.daemon.url)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("audit passed", r.out)
            self.assertEqual(H.query(p.hub_db, "SELECT person_key FROM membership WHERE status = 'active' "
                                               "GROUP BY person_key HAVING count(*) > 1"), [])
        conflicts = {pid: p.peers()[OTHER[pid]]["conflicts"] for pid, p in s.p.items()}
        both = self.active_numbers(s.p["qh"]) & self.active_numbers(s.p["ah"])
        if both:  # a withdrawal raced an acceptance: the operators are told, on both sides
            self.assertTrue(conflicts["qh"] > 0 and conflicts["ah"] > 0, (len(both), conflicts))
        for pid, p in s.p.items():
            there = s.p[OTHER[pid]]
            for tid, status in H.query(p.hub_db, "SELECT id, status FROM transfer WHERE kind = 'province_out'"):
                got = H.query(there.hub_db, "SELECT status FROM transfer WHERE id = ?", ("%s/%s" % (pid, tid),))
                if not got:  # withdrawn before the other side took it in
                    self.assertEqual(status, "withdrawn", tid)
                    continue
                (theirs,), = got
                moved += status == "accepted"
                if theirs == status:
                    continue
                # Withdrawn here while accepted there: the conflict both report.
                self.assertEqual((status, theirs), ("withdrawn", "accepted"), tid)
                self.assertTrue(conflicts[pid] > 0 and conflicts[OTHER[pid]] > 0, conflicts)
        print("seed: %d records moved across, %d people active in both provinces, conflicts %r"
              % (moved, len(both), conflicts))
        self.assertGreater(moved, 0, "the schedule moved nothing across: it proves nothing")


if __name__ == "__main__":
    H.main()
