#!/usr/bin/env python3
"""test_transfer_convergence.py — records that move, at random (issue 8:
"transfers in the convergence suite").

Five counties of two cities work offline in random rounds: they admit
drivers, offer their records to other unions, request the records of
people who turned up at them, accept, decline and withdraw what they hold,
hand members down to a township below, and try to let members leave — all
racing each other, with random sync orders and the hub running at random
points (sometimes deciding an open transfer itself). A refusal at the
county (a frozen record, a decided transfer) is an ordinary outcome. After
every hub run the hub holds at most one live record per person; at the end
every county's rows (memberships, persons, transfers of its subtree) are
the hub's, every node verifies and the audit passes.

Half way, two nodes are enrolled late (a township's below xn-cz, the city
of 海东 above hd-ld): given their unions' history, sealed before anyone
knew them, and records handed down to them by counties that had not synced
since. Through the hub's re-wraps (refs/huiji/wraps/) they and every other
node read every person they hold: no node ends with a person row shut.

Services (issue 9 §1) race too: from round 1 the counties deliver the
province's services offline to their members (active or not: a refusal at
the county is an outcome), each within the budget and the per-member
limits it can see; the hub's order decides, and some deliveries are
rejected there over the budget. At the end every county's services,
points and deliveries (those of the records of its subtree) are the hub's,
the hub's deliveries keep every budget and limit (summed here from its
rows), and a county's `huiji status` names the rejections it got.

Deterministic per seed (HUIJI_SEEDS=...; printed on failure). CI: seeds 1
and 2 (one under HUIJI_SANITIZED=1); HUIJI_LONG=1: 10 seeds with more rounds.
"""

import json
import os
import random
import re
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

COUNTIES = ["xn-cd", "xn-cz", "xn-cx", "xn-cb", "hd-ld"]
HD_CITY = ("qh-hd", "海东市总工会", "6302")
LD = ("hd-ld", "qh-hd-ld", "乐都区总工会", "630202")
ROUNDS = 14 if H.LONG else 6
# The services the hub defines at round 1: (id, union, kind, period, unit
# yuan, budget yuan, member count, member yuan). The budgets are small, so
# counties delivering offline overrun them in the hub's order.
SERVICES = [
    ("prov-acc", "qh", "accident_insurance", "quarter", "100", "200", None, None),
    ("xn-gift", "qh-xn", "gift_pack", "year", "50.50", None, "1", None),
    ("legal", "qh", "legal_aid", "month", "0", "400", None, "150"),
]
DATES = ["2025-01-15", "2025-02-10", "2025-03-31", "2025-04-01"]


def seeds():
    env = os.environ.get("HUIJI_SEEDS")
    if env:
        return [int(s) for s in env.replace(",", " ").split()]
    if H.LONG:
        return list(range(1, 11))
    return [1] if os.environ.get("HUIJI_SANITIZED") else [1, 2]  # ASan: the same paths, once


class Sim:
    def __init__(self, seed, tmp):
        self.seed, self.rng = seed, random.Random(seed)
        self.fakes = H.Fakes(1000 + seed)
        self.p = P.Province(tmp)
        self.people = []     # (node where admitted, person)
        self.outcomes = {}   # op kind -> [done, refused]
        self.hub_decisions = 0
        self.late = []       # nodes enrolled half way
        self.services = False  # defined at round 1 (the hub's own ops need an entry under rules 6 first)

    def note(self, kind, ok):
        self.outcomes.setdefault(kind, [0, 0])[0 if ok else 1] += 1

    def setup(self):
        p = self.p
        p.make_hub(COUNTIES[:4])
        p.ok("org", "create", "--id", HD_CITY[0], "--name", HD_CITY[1], "--kind", "city", "--parent", "qh",
             "--region", HD_CITY[2], d=p.hub)
        p.ok("org", "create", "--id", LD[1], "--name", LD[2], "--kind", "county", "--parent", HD_CITY[0],
             "--region", LD[3], d=p.hub)
        self.union = dict(P.UNION, **{LD[0]: LD[1]})
        self.town = {}
        for node in COUNTIES:
            town = self.union[node] + "-t1"
            p.ok("org", "create", "--id", town, "--name", "街道工会", "--kind", "township", "--parent",
                 self.union[node], "--region", P.REGION.get(node, LD[3]), d=p.hub)
            self.town[node] = town
            p.add_county(node, union=self.union[node])
            p.ok("sync", d=p.dirs[node])

    def run_op(self, node, *args):
        return self.p.run(*args, d=self.p.dirs[node])

    def active(self, node):
        return [r[0] for r in H.query(self.p.db(node), "SELECT id FROM membership WHERE status = 'active'")]

    def open_transfers(self, node):
        return [r[0] for r in H.query(self.p.db(node), "SELECT id FROM transfer WHERE status = 'open'")]

    def to_answer(self, node):
        """Open transfers this node is the other side of (mostly what it
        answers; now and then any, so a wrong-side answer is refused)."""
        return [r[0] for r in H.query(self.p.db(node),
                "SELECT id FROM transfer WHERE status = 'open' AND opened_by != ?1", (node,))]

    def opened_here(self, node):
        return [r[0] for r in H.query(self.p.db(node),
                "SELECT id FROM transfer WHERE status = 'open' AND opened_by = ?1", (node,))]

    def service_cli_refusals(self):
        """What the command line refuses before anything is signed: an
        unknown kind or period naming the valid ones, yuan not as digits
        with at most two decimals, a negative or too large amount."""
        p, base = self.p, ["service", "define", "--id", "x", "--name", "x", "--provider", "x", "--union", "qh"]
        cases = [
            (["--kind", "pony", "--period", "year", "--unit", "1"], "unknown kind 'pony': one of accident_insurance, "
             "cancer_insurance, driver_medical, health_check, gift_pack, legal_aid, hardship_aid, skills_training, "
             "counselling, job_referral"),
            (["--kind", "legal_aid", "--period", "week", "--unit", "1"], "unknown period 'week': one of year, "
             "quarter, month"),
            (["--kind", "legal_aid", "--period", "year", "--unit", "1.005"], "at most two decimals"),
            (["--kind", "legal_aid", "--period", "year", "--unit", "-3"], "not negative"),
            (["--kind", "legal_aid", "--period", "year", "--unit", "1000000000.01"], "more than 1000000000 yuan"),
            (["--kind", "legal_aid", "--period", "year", "--unit", "1", "--member-count", "0"], "a whole number"),
        ]
        for extra, want in cases:
            r = p.run(*(base + extra), d=p.hub)
            if r.rc != 2 or want not in r.err:
                raise AssertionError("seed %d: %s: wanted exit 2 and %r, got %r" % (self.seed, extra, want, r))
        r = p.run("service", "point", "--id", "x", "--name", "x", "--kind", "tent", "--union", "qh", d=p.hub)
        if r.rc != 2 or "one of driver_home, service_station, office" not in r.err:
            raise AssertionError("seed %d: point kind: %r" % (self.seed, r))
        if H.query(p.hub_db, "SELECT count(*) FROM service")[0][0]:
            raise AssertionError("seed %d: a refused define was recorded" % self.seed)

    def before_rules_6(self):
        """A hub whose last entry predates rules 6 (here: none yet) decides
        its own ops under the old rules: the command says so and records
        nothing."""
        p = self.p
        rules = H.query(p.hub_db, "SELECT value FROM meta WHERE key = 'hub_rules'")
        if rules and int(rules[0][0]) >= 6:
            return
        r = p.run("service", "point", "--id", "early", "--name", "x", "--kind", "office", "--union", "qh", d=p.hub)
        if r.rc != 1 or "services need rules 6: `huiji hub run` once a county's change sets are in" not in r.err:
            raise AssertionError("seed %d: a service op before rules 6: %r" % (self.seed, r))

    def define_services(self):
        p = self.p
        self.service_cli_refusals()
        for sid, union, kind, period, unit, budget, count, fen in SERVICES:
            args = ["service", "define", "--id", sid, "--name", "服务" + sid, "--kind", kind, "--provider", "人保财险",
                    "--union", union, "--period", period, "--unit", unit]
            for opt, val in (("--budget", budget), ("--member-count", count), ("--member-limit", fen)):
                if val:
                    args += [opt, val]
            p.ok(*args, d=p.hub)
        p.ok("service", "point", "--id", "xn-home", "--name", "西宁司机之家", "--kind", "driver_home", "--union",
             "qh-xn", d=p.hub)
        self.services = True

    def deliver(self, node):
        """A delivery of a random service to a record this node holds (now
        and then one not active), on a random date."""
        rng = self.rng
        records = H.query(self.p.db(node), "SELECT id, status FROM membership ORDER BY id")
        pool = [r for r, st in records if st == "active"] if rng.random() < 0.85 else [r for r, _ in records]
        if not pool:
            return
        args = ["service", "deliver", "--member", rng.choice(pool), "--service", rng.choice(SERVICES)[0],
                "--on", rng.choice(DATES)]
        if rng.random() < 0.3:
            args += ["--amount", rng.choice(["20", "80.5", "100"])]
        if rng.random() < 0.3:
            args += ["--point", "xn-home"]
        r = self.run_op(node, *args)
        if r.rc not in (0, 1):
            raise AssertionError("seed %d: deliver failed: %r" % (self.seed, r))
        self.note("deliver", r.rc == 0)

    def final_race(self):
        """Two counties, each unaware of the other, spend prov-acc's whole
        budget of a quarter no one used: the hub's order refuses the second."""
        racers = [n for n in self.rng.sample(COUNTIES, len(COUNTIES)) if self.active(n)][:2]
        for node in racers:
            self.p.ok("service", "deliver", "--member", self.rng.choice(self.active(node)), "--service", "prov-acc",
                      "--on", "2025-11-11", "--amount", "200", d=self.p.dirs[node])
        self.raced = len(racers) == 2

    def county_op(self, node):
        rng, region = self.rng, P.REGION.get(node, LD[3])
        kind = rng.choice(["admit", "admit", "offer", "offer", "request", "decide", "decide", "decide",
                           "withdraw", "hand_down", "leave"] + ["deliver"] * 6 * self.services)
        if kind == "deliver":
            return self.deliver(node)
        members, opened = self.active(node), self.open_transfers(node)
        if kind == "admit" or (kind in ("offer", "hand_down", "leave") and not members):
            person = self.fakes.person(region=region)
            r = self.run_op(node, *H.apply_args(person, approve=True))
            self.people.append((node, person))
            return self.note("admit", r.rc == 0)
        if kind == "offer":
            to = rng.choice([self.union[c] for c in COUNTIES if c != node] + [self.town[node]])
            r = self.run_op(node, "member", "transfer", "--member", rng.choice(members), "--to", to)
        elif kind == "hand_down":
            r = self.run_op(node, "member", "hand-down", "--member", rng.choice(members), "--to", self.town[node])
        elif kind == "leave":
            r = self.run_op(node, "member", "leave", "--member", rng.choice(members), "--reason", "voluntary")
        elif kind == "request" and self.people:
            _, person = rng.choice(self.people)
            r = self.run_op(node, "member", "transfer", "--request", "--to", self.union[node], "--name", person.name,
                            "--id-number", person.id_number, "--phone", person.phone)
        elif kind == "decide" and opened:
            pool = self.to_answer(node) if rng.random() < 0.85 else opened
            if not pool:
                return
            r = self.run_op(node, "member", rng.choice(["accept", "accept", "decline"]), "--transfer", rng.choice(pool))
        elif kind == "withdraw" and opened:
            pool = self.opened_here(node) if rng.random() < 0.85 else opened
            if not pool:
                return
            r = self.run_op(node, "member", "transfer", "--withdraw", "--transfer", rng.choice(pool))
        else:
            return
        if r.rc not in (0, 1):
            raise AssertionError("seed %d: %s failed: %r" % (self.seed, kind, r))
        self.note(kind, r.rc == 0)

    def hub_run(self):
        p = self.p
        if self.rng.random() < 0.3:
            opened = self.open_transfers(P.HUB)
            if opened:
                verb = self.rng.choice(["accept", "decline"])
                r = p.run("member", verb, "--transfer", self.rng.choice(opened), d=p.hub)
                self.hub_decisions += r.rc == 0
        r = p.ok("hub", "run", "--once", d=p.hub)
        self.assertNoQuarantine(r)
        dup = H.query(p.hub_db, "SELECT person_key FROM membership WHERE status IN ('applied', 'active') "
                                "GROUP BY 1 HAVING count(*) > 1")
        if dup:
            raise AssertionError("seed %d: the hub holds two live records of one person" % self.seed)

    def assertNoQuarantine(self, r):
        if not re.search(r" 0 quarantined", r.out):
            raise AssertionError("seed %d: the hub quarantined something: %r" % (self.seed, r))

    def enroll_late(self):
        for node, union in (("xn-cz-t", self.town["xn-cz"]), ("hd", HD_CITY[0])):
            self.p.add_county(node, union=union)
            self.union[node] = union
            self.late.append(node)

    def run(self):
        self.setup()
        self.before_rules_6()
        for rnd in range(ROUNDS):
            if rnd == 1:
                self.define_services()
            if rnd == ROUNDS // 2:
                self.enroll_late()
            for node in self.rng.sample(COUNTIES, self.rng.randint(2, len(COUNTIES))):
                for _ in range(self.rng.randint(1, 4)):
                    self.county_op(node)
            nodes = COUNTIES + self.late
            order = self.rng.sample(nodes, self.rng.randint(1, len(nodes)))
            for i, node in enumerate(order):
                self.p.ok("sync", d=self.p.dirs[node])
                if self.rng.random() < 0.4 or i == len(order) - 1:
                    self.hub_run()
        self.final_race()
        # Everyone catches up.
        for _ in range(2):
            for node in COUNTIES + self.late:
                self.p.ok("sync", d=self.p.dirs[node])
            self.hub_run()
        for node in COUNTIES + self.late:
            self.p.ok("sync", d=self.p.dirs[node])

    def check(self):
        p = self.p
        for node in COUNTIES + self.late:
            p.check_rows(node, union=self.union[node])
            p.ok("verify", d=p.dirs[node])
            shut = H.query(p.db(node), "SELECT count(*) FROM person WHERE seal IS NOT NULL AND name = ''")[0][0]
            if shut:
                raise AssertionError("seed %d: %s holds %d persons it cannot read" % (self.seed, node, shut))
            live = H.query(p.db(node), "SELECT person_key FROM membership WHERE status IN ('applied', 'active') "
                                       "GROUP BY 1 HAVING count(*) > 1")
            if live:
                raise AssertionError("seed %d: %s holds two live records of one person" % (self.seed, node))
        # Each moved record's chain keeps the first join date.
        bad = H.query(p.hub_db, "SELECT n.id FROM membership n JOIN membership o ON o.id = n.from_member "
                                "WHERE o.status != 'transferred' OR coalesce(n.joined_on, '') != "
                                "coalesce(o.joined_on, '')")
        if bad:
            raise AssertionError("seed %d: records %s do not continue their predecessor" % (self.seed, bad))
        self.check_services()
        r = p.audit()
        if r.rc != 0:
            raise AssertionError("seed %d: audit: %r" % (self.seed, r))
        moved = H.query(p.hub_db, "SELECT count(*) FROM transfer WHERE status = 'accepted'")[0][0]
        self.late_held = sum(H.query(p.db(n), "SELECT count(*) FROM person")[0][0] for n in self.late)
        self.rewraps = H.query(p.hub_db, "SELECT count(*) FROM rewrap")[0][0]
        return moved


    def service_rows(self, db, union=None):
        """service, service_point and service_delivery rows of a registry;
        with `union`, only the deliveries of records in its subtree."""
        rows = {t: H.query(db, "SELECT * FROM %s ORDER BY 1" % t) for t in ("service", "service_point")}
        unions = sorted(H.subtree_unions(db, union)) if union else None
        rows["service_delivery"] = [r for r in H.query(db, "SELECT * FROM service_delivery ORDER BY 1")
                                    if unions is None or r[4] in unions]
        return rows

    def check_services(self):
        p = self.p
        hub = self.service_rows(p.hub_db)
        for node in COUNTIES + self.late:
            mine, theirs = self.service_rows(p.db(node)), self.service_rows(p.hub_db, self.union[node])
            for t in mine:
                if mine[t] != theirs[t]:
                    raise AssertionError("seed %d: %s's %s rows differ from the hub's of its subtree:\n  only at %s "
                                         "%r\n  only at the hub %r" % (self.seed, node, t, node,
                                                                        sorted(set(mine[t]) - set(theirs[t]))[:3],
                                                                        sorted(set(theirs[t]) - set(mine[t]))[:3]))
        # The hub's deliveries keep every bound, summed here from its rows.
        bounds = {r[0]: r for r in H.query(p.hub_db, "SELECT id, budget_fen, member_count, member_fen, union_id "
                                                     "FROM service")}
        spend, per = {}, {}
        for _id, svc, member, pkey, union, _pt, on, period, amount, _by in hub["service_delivery"]:
            spend[svc, period] = spend.get((svc, period), 0) + amount
            c, f = per.get((svc, period, pkey), (0, 0))
            per[svc, period, pkey] = (c + 1, f + amount)
            if union not in H.subtree_unions(p.hub_db, bounds[svc][4]):
                raise AssertionError("seed %d: delivery of %s to %s outside its union" % (self.seed, svc, member))
        for (svc, period), fen in spend.items():
            if bounds[svc][1] is not None and fen > bounds[svc][1]:
                raise AssertionError("seed %d: %s %s spent %d fen over its budget" % (self.seed, svc, period, fen))
        for (svc, period, _k), (c, f) in per.items():
            if (bounds[svc][2] is not None and c > bounds[svc][2]) or (bounds[svc][3] is not None and f > bounds[svc][3]):
                raise AssertionError("seed %d: %s %s: a member over the limit" % (self.seed, svc, period))
        active = H.query(p.hub_db, "SELECT count(*) FROM service_delivery d JOIN membership m ON m.id = d.member "
                                   "WHERE d.on_date < coalesce(m.joined_on, m.decided_on)")[0][0]
        if active:
            raise AssertionError("seed %d: %d deliveries before their membership" % (self.seed, active))
        # The rejections the hub's order made, and that a county's status names them.
        self.over = sum(v.count('"over_budget"') + v.count('"over_limit"')
                        for (v,) in H.query(p.hub_db, "SELECT verdicts FROM followed WHERE verdicts IS NOT NULL"))
        self.status_named = 0
        for node in COUNTIES:
            out = p.ok("status", d=p.dirs[node]).out
            self.status_named += len(re.findall(r"over_(?:budget|limit)[:\s]+(?:prov-acc|xn-gift|legal)", out))
        self.delivered = len(hub["service_delivery"])
        # The command line's JSON says what the rows say, money in fen.
        doc = json.loads(p.ok("service", "deliveries", "--json", d=p.hub).out)
        if (doc["count"], doc["amount_fen"]) != (self.delivered, sum(r[8] for r in hub["service_delivery"])):
            raise AssertionError("seed %d: service deliveries --json: %r" % (self.seed, doc))
        listed = json.loads(p.ok("service", "list", "--json", d=p.hub).out)
        spent = {s["id"]: s["spent_fen"] for s in listed["services"]}
        for sid, *_ in SERVICES:
            if spent[sid] != sum(r[8] for r in hub["service_delivery"] if r[1] == sid):
                raise AssertionError("seed %d: service list --json spent of %s: %r" % (self.seed, sid, listed))


class TransferConvergenceTest(unittest.TestCase):
    def test_random_transfers_converge(self):
        total_moved = total_late = total_over = total_named = total_delivered = 0
        all_raced = True
        for seed in seeds():
            with self.subTest(seed=seed):
                tmp = tempfile.mkdtemp(prefix="hj-tconv-%d-" % seed)
                sim = Sim(seed, tmp)
                try:
                    sim.run()
                    moved = sim.check()
                    total_moved += moved
                    total_late += sim.late_held
                    total_over += sim.over
                    total_named += sim.status_named
                    total_delivered += sim.delivered
                    all_raced &= sim.raced
                    print("seed %d: %d records moved, %d hub decisions, the late nodes hold %d persons (%d "
                          "re-wrap items), %d deliveries, %d refused by the hub over a budget or limit, outcomes %s" % (
                              seed, moved, sim.hub_decisions, sim.late_held, sim.rewraps, sim.delivered, sim.over,
                              sorted(sim.outcomes.items())), file=sys.stderr)
                finally:
                    sim.p.close()
                    shutil.rmtree(tmp, ignore_errors=True)
        self.assertGreater(total_moved, 0, "no record moved in any seed: the schedule exercises nothing")
        self.assertGreater(total_late, 0, "the late nodes hold nobody in any seed: the re-wraps go untested")
        self.assertGreater(total_delivered, 0, "no service delivered in any seed")
        self.assertTrue(all_raced, "no seed had two counties with members to race")
        self.assertGreater(total_over, 0, "the hub refused no delivery over a budget or limit: the race goes untested")
        self.assertGreater(total_named, 0, "no county's status names a rejection over a budget or limit")


if __name__ == "__main__":
    H.main()
