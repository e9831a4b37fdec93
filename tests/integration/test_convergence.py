#!/usr/bin/env python3
"""test_convergence.py — DESIGN §4 "Convergence" under random schedules.

What it proves: whatever the counties do offline and however their syncs
are scheduled, cut or raced, once everyone has synced every county holds
exactly the hub's rows for its subtree and the hub's order with its
verdicts, every node verifies and the audit passes.

A hub (qh-hub, 青海省总工会, with 西宁市总工会) and five Xining counties
(城东区 630102, 城中区 630103, 城西区 630104, 城北区 630105, 大通回族土族
自治县 630121), each a real node directory. For every seed, the counties
work "offline" with seeded random ops drawn from what each one's own
registry shows at that moment:

  member apply (fake people; some applying `--approve`; a pool of people
  who apply in two or three counties; people re-applying after they left
  or were rejected; applications into a park union a county creates in its
  own subtree), approve, reject (with a reason), update (phone / plate /
  group), leave;

and the hub now and then rejects an open application itself (the hub may
act anywhere), so a county's pending approve can lose against the hub.

Membership records that move (issue 8, rules 3): the hub gives every
county a township union below its own (韵家口镇, 总寨镇, 彭家寨镇, 大堡子镇,
桥头镇), and a turnover pool, 西宁市道路货运行业工会联合会 (node xn-fr, a
city industry federation that admits drivers at once), with two platform
unions below it, of which 运满满西宁司机工会 is held by a node of its own
(xn-fr-ymm, a nested node: it holds a record handed down to it only from the
op's snapshot; one such hand-down is planted before it syncs). Offline, in
random rounds, every node hands random active members of its view down to
another union of its subtree (`huiji member hand-down`: down, across, back
up; 40% a record already moved; dated after the admission), and also
updates, leaves and hands on the records moved. The pool and its platform
union race on the same records (a leave or update at xn-fr-ymm against the
pool moving the member on: the hub's order decides; an update first
makes the hand-down's snapshot stale, so it is refused invalid); and the
hub ends members whose hand-down it has not sequenced yet (its own change
set is sequenced as it commits), so the hand-down is refused not_active
and the node's later ops on the new record unknown_member. The two-party transfers (offer,
request, accept, decline, withdraw) are to join this schedule as further
county_op kinds next to `hand_down`, checked by (e) and (f).
Platform lists reach several counties: one list of fake drivers (40;
HUIJI_LONG=1: 300, and on every fifth seed also 2,500, so that 1000-op
change sets carry hundreds of rejections) of which two or three counties each import an
overlapping slice (`huiji import platform`, some `--approve`), each in a
round of its own, offline: the same people at several counties, so the
hub rejects every later import of a person duplicate_member.

The schedule is random too: at each step one county syncs or the hub runs;
counties drop offline for several rounds (they simply are not synced);
repeated syncs; small push chunks; syncs through a faultproxy that cuts the
connection after a random number of bytes (then a clean sync again); on the
git daemon seed, a `hub run` racing a county's push. Half of the hub's
turns, and most rounds' ends, are a `hub run` that is SIGKILLed: at a named
kill point (HUIJI_KILL_AT, node/killpoint.h: hub-before-commit,
hub-committed, hub-tip-written:1 and :2, outbox-appended:1, cycled in a
seeded order) or by the test after a random 1-120 ms, now and then while
a county syncs through the git daemon (that sync must succeed). The next
`hub run` must continue whatever the kill left, quarantining nothing;
every named point the schedule did not hit is swept at the end (two
counties' work pending, the run must die there). After every sync, the
county's order must be a prefix of the hub's order and its own change log
untouched; the hub's copy of its feed must be a prefix of its own feed.

At the end every county syncs, the hub runs, every county syncs twice, and:
  (a) every county's rows equal the hub's, row for row: the org and node
      tables, the memberships in its subtree and the person rows they
      reference; a further sync changes nothing;
  (b) every county's `followed` table (node, seq, hash, verdicts in order)
      equals the hub's, row for row;
  (c) `huiji verify` passes on every node, `huiji audit` passes (local path,
      and over git:// on the daemon seed); nothing is quarantined; the hub
      sequenced each county's change sets exactly once, in seq order;
  (d) no person holds two applied/active memberships at the hub; every
      application this test made is either in the hub's registry or was
      rejected `duplicate_member` naming a live membership of the same
      person sequenced before it, and the union holding it; each seed makes
      such a cross-county duplicate on purpose; every imported person holds
      a membership at the hub and the overlapping imports were rejected
      duplicate_member (at least one; the stats print how many);
  (e) in every registry (the hub's, and every node's for what it holds):
      each person holds at most one applied/active membership — also
      checked after every hub run (the hub's position then) and every
      sync; the hand-down chains hold together (Sim.chain_problems): every
      `transferred` record has exactly one transfer row naming it and so
      exactly one successor, except at a node whose subtree the successor
      left (xn-fr-ymm after the pool moved a record up or across: it keeps
      the old record and the transfer row only); every successor names its
      predecessor, starts on the hand-down date, keeps the first record's
      join date, is of the same person, and at the hub comes after it in
      the hub's order; the transfer rows are compared row for row with (a)
      (harness.county_rows: transfers out of or into the subtree); every
      hand-down this test made is in the hub's registry or was refused;
      the nested node built at least one record from a snapshot;
  (f) at every hub position each person holds at most one live membership:
      the statuses re-derived in Python from the signed change sets in the
      hub's order (the ops the hub applied), checked after every op, end
      equal to the hub's registry, record for record.

Two defects this found on the nested node, fixed in node/transfer_rows.c
(the snapshot carries the person row's last op, and an absent plate stays
absent) and guarded by the reproducers below: a person row built from a
snapshot carried the hand-down's op id as updated_op, and plate '' where
the hub has NULL.

Determinism: every choice comes from the seed (printed on failure with the
last steps; HUIJI_SEEDS=<it> replays the schedule). Where a random SIGKILL
lands inside a run, and how a race interleaves, is up to the machine; no
result depends on it, and nothing drawn from the rng depends on it.

Two focused cases pin down the causes of divergences the random runs hit
(see their docstrings); they failed until 1f4146f and now guard the fixes.
Two more guard the snapshot fixes above.
A third guards a fixed defect: a long union name in a duplicate_member
detail, cut mid-character, stopped every hub run.

Seeds: HUIJI_SEEDS=1,2,3 (default 1,2: the first seed of every three runs
over git daemon through per-county proxies, the others over local paths and
file:// with one county on a proxied git daemon link, so the default covers
both). HUIJI_LONG=1 runs 20 seeds, each with 25 rounds of up to 5 ops per
county instead of 8 rounds of up to 3 (the nested node: at most 1), and 8
shared people instead of 5.
HUIJI_KEEP=1 keeps the directories of failing seeds.

Run:  meson test -C build convergence
      (or HUIJI_BIN=build/tools/huiji python3 tests/integration/test_convergence.py)
"""

import datetime
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

LONG = H.LONG
KEEP = os.environ.get("HUIJI_KEEP") == "1"
COUNTIES = ["xn-cd", "xn-cz", "xn-cx", "xn-cb", "xn-dt"]
XINING_REGIONS = [P.REGION[c] for c in COUNTIES] + ["630123", "630106"]
REJECT_REASONS = ["材料不全", "非本辖区就业", "信息核实未通过", "本人撤回申请"]
LEAVE_REASONS = ["voluntary", "deceased", "lapsed"]
PARK_NAME = {"xn-cd": "城东区物流园区工会", "xn-cz": "城中区物流园区工会", "xn-cx": "城西区物流园区工会",
             "xn-cb": "城北区物流园区工会", "xn-dt": "大通县物流园区工会"}
# Unions the hub creates below the counties' unions, so that a county can
# hand members down (and back up, and across) inside its own subtree.
TOWNSHIP = {"xn-cd": ("qh-xn-cd-yjk", "韵家口镇总工会"), "xn-cz": ("qh-xn-cz-zz", "总寨镇总工会"),
            "xn-cx": ("qh-xn-cx-pjz", "彭家寨镇总工会"), "xn-cb": ("qh-xn-cb-dbz", "大堡子镇总工会"),
            "xn-dt": ("qh-xn-dt-qt", "桥头镇总工会")}
# The turnover pool (issue 8 #2): a city industry federation admitting
# drivers at once (node xn-fr) with two platform unions below it, one of
# them held by a node of its own (xn-fr-ymm, a nested node: it holds the
# records handed down to it only from the op's snapshot).
POOL, POOL_NODE, YMM, YMM_NODE, HLL = "qh-xn-fr", "xn-fr", "qh-xn-fr-ymm", "xn-fr-ymm", "qh-xn-fr-hll"
POOL_ORGS = [(POOL, "西宁市道路货运行业工会联合会", "industry", "qh-xn"),
             (YMM, "运满满西宁司机工会", "platform", POOL), (HLL, "货拉拉西宁司机工会", "platform", POOL)]
NODES = COUNTIES + [POOL_NODE, YMM_NODE]
UNION = dict(P.UNION, **{POOL_NODE: POOL, YMM_NODE: YMM})
REGION = dict(P.REGION, **{POOL_NODE: "630105", YMM_NODE: "630104"})  # where most of their people are from


# county_op's kinds and their weights; the pool mostly admits and hands down.
WEIGHTS = dict(apply=30, shared=8, approve=15, reject=8, update=12, leave=6, reapply=3, park=2, hand_down=10)
POOL_WEIGHTS = dict(WEIGHTS, apply=25, approve=4, reject=2, hand_down=30)


def later(day, n):
    """The date `n` days after YYYY-MM-DD `day`."""
    return (datetime.date.fromisoformat(day) + datetime.timedelta(days=n)).isoformat()


def seeds():
    env = os.environ.get("HUIJI_SEEDS")
    if env:
        return [int(s) for s in env.replace(",", " ").split()]
    return list(range(1, 21)) if LONG else [1, 2]


# The named kill points of a hub pass (node/killpoint.h), with the hit on
# which the run dies: hub-tip-written:2 needs two counties in the round,
# outbox-appended:1 a batch of the hub's own change sets reaching git.
KILL_POINTS = ["hub-before-commit", "hub-committed", "hub-tip-written:1", "hub-tip-written:2", "outbox-appended:1"]
HUB_RE = re.compile(r"^hub: (\d+) sequence entries, (\d+) change sets, .* (\d+) quarantined, ", re.M)


class Sim:
    """One seed: the province, the random ops, the random schedule."""

    def __init__(self, seed, index):
        self.seed = seed
        self.rng = random.Random(seed)
        self.fakes = H.Fakes(seed * 7919 + 1)
        self.transport = "daemon" if index % 3 == 0 else "local"
        self.rounds = 25 if LONG else 8
        self.max_ops = 5 if LONG else 3
        self.tmp = tempfile.mkdtemp(prefix="huiji-conv-%d-" % seed)
        self.pv = P.Province(self.tmp)
        self.applications = []  # (node, membership id, id_number)
        self.shared = []        # [Person, set of counties it applied in]
        self.protected = set()  # membership ids never rejected / left (the planted duplicate)
        self.parks = {}         # node -> park union id, once created
        self.handed = []        # (node, old membership id, new membership id): every hand-down recorded
        self.stats = dict(ops=0, syncs=0, cut_syncs=0, offline_outcomes=0, hub_runs=0, races=0, hub_rejects=0,
                          hand_downs=0, hub_leaves=0,
                          kills_named=0, kills_random=0, killed_named=0, killed_random=0, imports=0, import_rows=0)
        self.log = []
        self.imports = {}       # round -> [(node, rows of the list it imports then)]
        self.listed = {}        # id number -> Person: everyone some county imports
        self.imported = set()   # membership ids recorded by an import
        self.points_hit = set()  # named kill points a run died at
        self.after_kill = False  # the last hub run was killed: the next must continue

    def note(self, msg):
        self.log.append(msg)

    def fail(self, msg):
        raise AssertionError("seed %d (%s), %s\n  dir: %s\n  last steps:\n    %s" % (
            self.seed, self.transport, msg, self.tmp, "\n    ".join(self.log[-15:])))

    def check(self, what, fn, *args, **kw):
        """A Province check, failing with this seed's context."""
        try:
            return fn(*args, **kw)
        except AssertionError as e:
            self.fail("%s %s" % (what, e))

    # --- setting up -----------------------------------------------------------

    def setup(self):
        pv = self.pv
        pv.make_hub(COUNTIES)
        for c in COUNTIES:
            uid, name = TOWNSHIP[c]
            pv.ok("org", "create", "--id", uid, "--name", name, "--kind", "township", "--parent", P.UNION[c],
                  "--region", P.REGION[c], d=pv.hub)
        for uid, name, kind, parent in POOL_ORGS:
            pv.ok("org", "create", "--id", uid, "--name", name, "--kind", kind, "--parent", parent,
                  "--region", "6301", d=pv.hub)
        pv.start_daemon()
        if self.transport == "daemon":
            kinds = {c: "link" for c in COUNTIES}
        else:
            kinds = {c: ("path" if i % 2 else "file") for i, c in enumerate(COUNTIES)}
            kinds[self.rng.choice(COUNTIES)] = "link"
        # The pool and its nested node sync over local paths (cheap; the
        # cut links and races stay the counties').
        kinds.update({POOL_NODE: "path", YMM_NODE: "file"})
        for c in NODES:
            pv.add_county(c, kinds[c], union=UNION[c])
        self.kinds = kinds
        self.note("transports %s" % kinds)
        # People who will apply in two or three counties (the hub decides).
        for _ in range(8 if LONG else 5):
            p = self.fakes.person(region=self.rng.choice(XINING_REGIONS))
            self.shared.append([p, set()])
        # One planted duplicate: two counties admit the same person before
        # either has synced; both admissions are protected from reject/leave.
        p = self.fakes.person(region=self.rng.choice(XINING_REGIONS))
        for c in self.rng.sample(COUNTIES, 2):
            self.protected.add(self.apply(c, p, approve=True))
        # One planted hand-down: the pool admits a driver and hands him
        # down to the platform union before the nested node syncs, so the
        # nested node xn-fr-ymm builds at least one record from a snapshot
        # (the pool syncs first: its platform unions come from the hub).
        self.sync(POOL_NODE)
        self.apply(POOL_NODE, self.fakes.person(region=REGION[POOL_NODE]), approve=True)
        old = self.applications[-1][1]
        r = self.huiji_ok(POOL_NODE, "member", "hand-down", "--member", old, "--to", YMM, "--on", later(P.ON, 3))
        self.handed.append((POOL_NODE, old, r.out.split()[6]))
        self.stats["hand_downs"] += 1
        self.note("%s hand-down %s to %s as %s" % (POOL_NODE, old, YMM, self.handed[-1][2]))
        self.plan_imports()

    def plan_imports(self):
        """Platform lists that reach several counties: one list of `n`
        drivers of which two or three counties each import an overlapping
        slice (every slice holds the middle third), each in a round of its
        own drawing, offline. HUIJI_LONG=1, every fifth seed: also a list
        of 2,500 at two counties, so that the second county's 1000-op
        change sets carry hundreds of duplicate_member rejections."""
        rng = self.rng
        lists = [(300 if LONG else 40, 3 if LONG or rng.random() < 0.5 else 2)]
        if LONG and self.seed % 5 == 0:
            lists.append((2500, 2))
        for n, k in lists:
            people = [self.fakes.person(region=rng.choice(XINING_REGIONS)) for _ in range(n)]
            for c in rng.sample(COUNTIES, k):
                rows = people[rng.randint(0, n // 3):rng.randint(2 * n // 3, n)]
                rng.shuffle(rows)
                self.listed.update((p.id_number, p) for p in rows)
                self.imports.setdefault(rng.randrange(max(1, self.rounds - 1)), []).append((c, rows))

    # --- ops --------------------------------------------------------------------

    def q(self, node, sql, params=()):
        return H.query(self.pv.db(node), sql, params)

    def huiji_ok(self, node, *args):
        r = self.pv.run(*args, d=self.pv.dirs[node] if node != P.HUB else self.pv.hub)
        if r.rc != 0:
            self.fail("%s: a command on a valid local view failed: %r" % (node, r))
        self.stats["ops"] += 1
        return r

    def apply(self, node, person, approve=False, union=None):
        rng = self.rng
        args = H.apply_args(person, union=union, group=rng.choice(H.GROUPS), channel=rng.choice(H.CHANNELS),
                            platform=rng.choice(H.PLATFORMS + [None, None]), on=P.ON, approve=approve)
        r = self.huiji_ok(node, *args)
        m = re.fullmatch(r"(applied|admitted) (\S+) on %s\n" % P.ON, r.out)
        if not m:
            self.fail("unexpected member apply output: %r" % r)
        self.applications.append((node, m.group(2), person.id_number))
        self.note("%s %s %s%s" % (node, m.group(1), m.group(2), " (union %s)" % union if union else ""))
        return m.group(2)

    def import_list(self, node, rows):
        """`huiji import platform` of `rows` at `node` (offline work): every
        row is recorded, and its membership ids join self.applications."""
        rng, pv = self.rng, self.pv
        path = os.path.join(self.tmp, "list-%d-%s.csv" % (self.stats["imports"], node))
        with open(path, "w", encoding="utf-8") as f:
            f.write("name,id_number,phone,plate\n")
            for p in rows:
                f.write("%s,%s,%s,%s\n" % (p.name, p.id_number, p.phone, p.get("plate") or ""))
        approve = rng.random() < 0.5
        args = ["import", "platform", path, "--platform", rng.choice(H.PLATFORMS), "--group", rng.choice(H.GROUPS),
                "--on", P.ON] + (["--approve"] if approve else [])
        last = self.q(node, "SELECT coalesce(max(seq), 0) FROM changelog")[0][0]
        r = pv.run(*args, d=pv.dirs[node], timeout=H.scaled(300))
        if r.rc != 0 or "imported %d of %d rows" % (len(rows), len(rows)) not in r.out:
            self.fail("%s: importing a platform list of new people failed: %r" % (node, r))
        got = 0
        for mid, idno in self.q(node, "SELECT m.id, p.id_number FROM membership m JOIN person p "
                                      "ON p.person_key = m.person_key ORDER BY m.id"):
            n, s, _ = mid.rsplit(":", 2)
            if n == node and int(s) > last:
                self.applications.append((node, mid, idno))
                self.imported.add(mid)
                got += 1
        if got != len(rows):
            self.fail("%s: the import recorded %d memberships for %d rows" % (node, got, len(rows)))
        self.stats["imports"] += 1
        self.stats["import_rows"] += len(rows)
        self.note("%s imported a platform list of %d%s" % (node, len(rows), " (approved)" if approve else ""))

    def local_members(self, node, statuses):
        marks = ",".join("?" * len(statuses))
        return [m for m, in self.q(node, "SELECT id FROM membership WHERE status IN (%s) ORDER BY id" % marks,
                                   statuses) if m not in self.protected]

    def subtree(self, node):
        """The unions in `node`'s subtree, as its registry shows them now."""
        return H.subtree_unions(self.pv.db(node), UNION[node])

    def hand_down(self, node):
        """`huiji member hand-down` of an active member of this node's view
        to another union of its subtree (down, across, or back up to the
        node's own union; 40% of the time a record already moved), dated
        0-20 days after its admission. False when there is nothing to
        move or nowhere to move it."""
        rng = self.rng
        unions = self.subtree(node)
        rows = [r for r in self.q(node, "SELECT id, union_id, decided_on, from_member FROM membership "
                                        "WHERE status = 'active' ORDER BY id")
                if r[0] not in self.protected and r[1] in unions]
        if not rows or len(unions) < 2:
            return False
        moved = [r for r in rows if r[3]]
        mid, union, decided, _ = rng.choice(moved if moved and rng.random() < 0.4 else rows)
        to = rng.choice(sorted(unions - {union}))
        on = later(decided or P.ON, rng.randint(0, 20))
        r = self.huiji_ok(node, "member", "hand-down", "--member", mid, "--to", to, "--on", on)
        m = re.fullmatch(r"handed down (\S+) to (\S+) as (\S+) on (\S+)\n", r.out)
        if not m or (m.group(1), m.group(2), m.group(4)) != (mid, to, on):
            self.fail("unexpected member hand-down output: %r" % r)
        self.handed.append((node, mid, m.group(3)))
        self.stats["hand_downs"] += 1
        self.note("%s hand-down %s (%s) to %s as %s on %s" % (node, mid, union, to, m.group(3), on))
        return True

    def county_op(self, node):
        rng = self.rng
        weights = POOL_WEIGHTS if node == POOL_NODE else WEIGHTS
        kind = rng.choices(list(weights), list(weights.values()))[0]
        union = None
        if kind == "hand_down":
            if self.hand_down(node):
                return
            kind = "apply"
        if kind == "park":
            known = self.q(node, "SELECT count(*) FROM org WHERE id = ?", (UNION[node],))[0][0]
            if node in self.parks or node not in PARK_NAME or not known:
                kind = "apply"
            else:
                park = UNION[node] + "-wl"
                self.huiji_ok(node, "org", "create", "--id", park, "--name", PARK_NAME[node], "--kind", "park",
                              "--parent", P.UNION[node], "--region", P.REGION[node])
                self.parks[node] = park
                self.note("%s created %s" % (node, park))
                return
        if kind == "shared":
            # Not someone this node's view already holds live: the pool
            # sees the platform union's applications, the platform union
            # the records handed down to it (the CLI refuses those at once).
            pool = [s for s in self.shared if node not in s[1] and len(s[1]) < 3 and not self.q(
                node, "SELECT 1 FROM membership m JOIN person p ON p.person_key = m.person_key "
                      "WHERE p.id_number = ? AND m.status IN ('applied', 'active')", (s[0].id_number,))]
            if pool:
                person, used = rng.choice(pool)
                used.add(node)
                if rng.random() < 0.3:  # a new phone since the last application
                    person = H.Person(dict(person, phone=self.fakes.phone()))
                self.apply(node, person, approve=rng.random() < 0.4)
                return
            kind = "apply"
        if kind in ("approve", "reject"):
            cands = self.local_members(node, ["applied"])
            if cands:
                m = rng.choice(cands)
                if kind == "approve":
                    self.huiji_ok(node, "member", "approve", "--member", m, "--on", P.ON)
                else:
                    self.huiji_ok(node, "member", "reject", "--member", m, "--reason", rng.choice(REJECT_REASONS),
                                  "--on", P.ON)
                self.note("%s %s %s" % (node, kind, m))
                return
            kind = "apply"
        if kind == "update":
            cands = self.local_members(node, ["applied", "active"])
            if cands:
                m = rng.choice(cands)
                args = []
                while not args:
                    if rng.random() < 0.5:
                        args += ["--phone", self.fakes.phone()]
                    if rng.random() < 0.4:
                        args += ["--plate", self.fakes.plate()]
                    if rng.random() < 0.4:
                        args += ["--group", rng.choice(H.GROUPS)]
                self.huiji_ok(node, "member", "update", "--member", m, *args)
                self.note("%s update %s %s" % (node, m, " ".join(args[::2])))
                return
            kind = "apply"
        if kind == "leave":
            cands = self.local_members(node, ["active"])
            if cands:
                m = rng.choice(cands)
                self.huiji_ok(node, "member", "leave", "--member", m, "--reason", rng.choice(LEAVE_REASONS),
                              "--on", self.admitted(node, m))
                self.note("%s leave %s" % (node, m))
                return
            kind = "apply"
        if kind == "reapply":
            # Someone whose membership here was rejected or ended, with no
            # live membership in this county's view, applies again here.
            rows = self.q(node, "SELECT p.name, p.id_number, p.phone, p.plate FROM person p WHERE "
                                "NOT EXISTS (SELECT 1 FROM membership m WHERE m.person_key = p.person_key "
                                "AND m.status IN ('applied', 'active')) ORDER BY p.person_key")
            if rows:
                name, idno, phone, plate = rng.choice(rows)
                self.apply(node, H.Person(name=name, id_number=idno, phone=phone, plate=plate),
                           approve=rng.random() < 0.5)
                return
        if node in self.parks and rng.random() < 0.3:
            union = self.parks[node]
        region = REGION[node] if rng.random() < 0.7 else rng.choice(XINING_REGIONS)
        # The pool admits drivers at once (issue 8 #2).
        self.apply(node, self.fakes.person(region=region), approve=rng.random() < (0.9 if node == POOL_NODE else 0.4),
                   union=union)

    def admitted(self, node, mid):
        """A leave's date: the admission's (a handed-down record's is its
        hand-down date; a leave may not precede it, rules 2)."""
        return self.q(node, "SELECT decided_on FROM membership WHERE id = ?", (mid,))[0][0] or P.ON

    def hub_leave(self):
        """The hub ends the membership of a member some node has handed
        down that the hub has not sequenced yet (the hub may act anywhere):
        the hub's own change set is sequenced as it commits, before the
        hand-down, which the hub then rejects (not_active), and the node's
        later ops on the new record fail with it (unknown_member)."""
        olds = {old for _, old, _ in self.handed}
        cands = [m for m, in H.query(self.pv.hub_db, "SELECT id FROM membership WHERE status = 'active' "
                                                     "ORDER BY id") if m in olds and m not in self.protected]
        if cands:
            m = self.rng.choice(cands)
            self.huiji_ok(P.HUB, "member", "leave", "--member", m, "--reason", "lapsed",
                          "--on", self.admitted(P.HUB, m))
            self.stats["hub_leaves"] += 1
            self.note("hub leave %s (a hand-down of it pending)" % m)

    def hub_op(self):
        """The hub rejects an open application (it may act anywhere)."""
        cands = [m for m, in H.query(self.pv.hub_db, "SELECT id FROM membership WHERE status = 'applied' "
                                                     "ORDER BY id") if m not in self.protected]
        if cands:
            m = self.rng.choice(cands)
            self.huiji_ok(P.HUB, "member", "reject", "--member", m, "--reason", "省总工会核查未通过", "--on", P.ON)
            self.stats["hub_rejects"] += 1
            self.note("hub reject %s" % m)

    # --- syncing ----------------------------------------------------------------

    def sync_opts(self, retries=0):
        return ["--retries", str(retries), "--backoff-ms", "20", "--connect-timeout-ms", str(int(H.scaled(10000))),
                "--idle-timeout-ms", str(int(H.scaled(30000))), "--chunk", str(self.rng.choice([2, 7, 500]))]

    def check_after_sync(self, node, log_before, added=0):
        """Invariants that hold after any sync, finished or not. `added`:
        change sets the test recorded at that county meanwhile."""
        pv = self.pv
        log = pv.changelog(node)
        if log[:len(log_before)] != log_before or len(log) != len(log_before) + added:
            self.fail("%s: sync changed the county's own change log" % node)
        self.check("after a sync:", pv.check_followed, node, prefix=True)
        self.check_one_live(node, "after a sync")
        tip, _ = pv.remote_feed(node)
        if tip is not None and tip not in pv.own_feed_commits(node):
            self.fail("%s: the hub's feed ref %s is not a commit of the county's own feed" % (node, tip))

    def sync(self, node, expect_ok=True):
        before = self.pv.changelog(node)
        r = self.pv.sync(node, *self.sync_opts())
        self.stats["syncs"] += 1
        self.note("%s sync -> rc=%d %s" % (node, r.rc, r.out.strip()))
        if expect_ok and (r.rc != 0 or not r.out.startswith("synced: ")):
            self.fail("%s: sync on a good link failed: %r" % (node, r))
        self.check_after_sync(node, before)
        return r

    def cut_sync(self, node):
        """A sync through a link that drops after a random number of bytes
        (the first K connections, or all), then a clean sync."""
        pv, rng = self.pv, self.rng
        # Log-uniform: most cuts land inside the first exchanges (the ref
        # advertisement is a few hundred bytes), some deep inside a pack.
        nbytes, times = int(math.exp(rng.uniform(math.log(40), math.log(30000)))), rng.choice([0, 1, 2, 3])
        pv.link(node, "cut-after-bytes", nbytes=nbytes, times=times)
        before = pv.changelog(node)
        try:
            r = pv.sync(node, *self.sync_opts(retries=rng.choice([0, 0, 2])))
        finally:
            pv.link(node, "pass")
        self.stats["cut_syncs"] += 1
        self.note("%s sync cut after %d bytes x%s -> rc=%d %s" % (node, nbytes, times or "all", r.rc,
                                                                  r.out.strip()))
        # One outcome line: on stdout, or alone on stderr when not synced.
        if r.rc == 0:
            ok = len(r.out_lines) == 1 and r.out.startswith("synced: ")
        else:
            ok = r.rc > 0 and not r.out and len(r.err_lines) == 1 and r.err.startswith("huiji: offline: ")
            self.stats["offline_outcomes"] += ok
        if not ok:
            self.fail("%s: an interrupted sync must end 'synced:' (rc 0) or 'offline:' (rc > 0): %r" % (node, r))
        self.check_after_sync(node, before)
        self.sync(node)

    def hub_run(self):
        r = self.pv.hub_run()
        self.stats["hub_runs"] += 1
        self.note("hub run: %s" % r.out.strip())
        m = HUB_RE.search(r.out)
        if not m or m.group(3) != "0":
            self.fail("a hub run %squarantined something: %r" % ("after a killed one " if self.after_kill else "", r))
        self.after_kill = False
        self.check_one_live(P.HUB, "after a hub run")

    def check_one_live(self, node, when):
        """(e) Each person holds at most one applied/active membership in
        this registry (the hub's: at its current position)."""
        two = self.q(node, "SELECT person_key, group_concat(id) FROM membership WHERE status IN ('applied', 'active') "
                           "GROUP BY person_key HAVING count(*) > 1")
        if two:
            self.fail("(e) %s: %s, people with two live memberships: %s" % (node, when, [m for _, m in two]))

    def kill_hub_run(self, online, point=None):
        """A `hub run --once` SIGKILLed: at a named kill point (HUIJI_KILL_AT,
        node/killpoint.h; the points cycle in a seeded order), or by the
        test after a random delay of 1 .. 120 ms (log-uniform, scaled by
        HUIJI_TIME_SCALE), now and then while a county syncs through the
        git daemon. The delay decides only where the kill lands, never the
        result: a run that finished first must have succeeded, and
        whatever the kill left, the next `hub run` continues it (hub_run),
        every sync succeeds and the end state converges."""
        pv, rng = self.pv, self.rng
        if point is None and rng.random() < 0.5:
            point = self.kill_order[self.stats["kills_named"] % len(self.kill_order)]
        delay = None if point else math.exp(rng.uniform(math.log(0.001), math.log(0.12)))
        racers = [c for c in online if self.kinds[c] == "link"]
        racer = rng.choice(racers) if racers and rng.random() < 0.3 else None
        self.stats["kills_named" if point else "kills_random"] += 1
        env = H.child_env({"HUIJI_KILL_AT": point} if point else None)
        hub = subprocess.Popen([H.huiji_bin(), "hub", "run", "--once", "--dir", pv.hub], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        sync, before = None, None
        if racer:
            before = pv.changelog(racer)
            sync = subprocess.Popen([H.huiji_bin(), "sync", "--dir", pv.dirs[racer]] + self.sync_opts(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=H.child_env())
        if delay is not None:
            time.sleep(H.scaled(delay))
            hub.kill()
        out, err = hub.communicate(timeout=P.HANG)
        out = out.decode("utf-8", "replace")
        killed = hub.returncode == -9
        self.note("hub run %s -> %s%s" % ("killed at " + point if point else "SIGKILL after %.0f ms" % (delay * 1000),
                                          "killed" if killed else "rc=%d %s" % (hub.returncode, out.strip()),
                                          ", racing %s's sync" % racer if racer else ""))
        if not killed:
            m = HUB_RE.search(out)
            if hub.returncode != 0 or not m or m.group(3) != "0":
                self.fail("a hub run that was not killed failed or quarantined: rc=%d %s %s" % (
                    hub.returncode, out, err.decode("utf-8", "replace")))
            self.check_one_live(P.HUB, "after a hub run")
        else:
            self.stats["killed_named" if point else "killed_random"] += 1
            self.after_kill = True
            if point:
                self.points_hit.add(point)
        if sync:
            sout, serr = sync.communicate(timeout=P.HANG)
            r = H.Result(sync.args[1:], sync.returncode, sout.decode("utf-8", "replace"),
                         serr.decode("utf-8", "replace"))
            self.note("%s sync racing that hub run -> rc=%d %s" % (racer, r.rc, r.out.strip()))
            self.stats["syncs"] += 1
            if r.rc != 0 or not r.out.startswith("synced: "):
                self.fail("%s: a sync racing a hub run that was killed failed: %r" % (racer, r))
            self.check_after_sync(racer, before)
        return killed

    def sweep_kill_points(self):
        """Every named kill point the random schedule did not hit: two
        counties record an application each and sync, then a hub run must
        die at that point (rc -9); the next one continues. Its choices
        come from an rng of its own, so the schedule before it (and the
        final rounds after it) stay the seed's whatever it finds to do."""
        saved = self.rng, self.fakes
        self.rng, self.fakes = random.Random(self.seed * 104729 + 3), H.Fakes(self.seed * 7919 + 2)
        try:
            for point in self.kill_order:
                if point in self.points_hit:
                    continue
                for c in self.rng.sample(COUNTIES, 2):
                    self.apply(c, self.fakes.person(region=P.REGION[c]))
                    self.sync(c)
                if not self.kill_hub_run([], point):
                    self.fail("a hub run with two counties' work pending was not killed at %s" % point)
                self.hub_run()
        finally:
            self.rng, self.fakes = saved

    def race(self, node):
        """`hub run` while a county syncs (through git daemon), and now and
        then a clerk at that county recording a new application meanwhile."""
        pv = self.pv
        before = pv.changelog(node)
        hub = subprocess.Popen([H.huiji_bin(), "hub", "run", "--once", "--dir", pv.hub], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=H.child_env())
        sync = subprocess.Popen([H.huiji_bin(), "sync", "--dir", pv.dirs[node]] + self.sync_opts(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=H.child_env())
        extra = 0
        if self.rng.random() < 0.5:
            region = REGION[node]
            self.apply(node, self.fakes.person(region=region), approve=self.rng.random() < 0.5)
            extra = 1
        out, err = hub.communicate(timeout=P.HANG)
        sout, serr = sync.communicate(timeout=P.HANG)
        r = H.Result(sync.args[1:], sync.returncode, sout.decode("utf-8", "replace"), serr.decode("utf-8", "replace"))
        self.stats["races"] += 1
        self.note("%s sync racing hub run%s -> rc=%d %s / hub rc=%d" % (
            node, " and an apply" if extra else "", r.rc, r.out.strip(), hub.returncode))
        if hub.returncode != 0:
            self.fail("hub run racing a county's sync failed: rc=%d %s %s" % (hub.returncode, out, err))
        if r.rc != 0:
            self.fail("%s: sync racing a hub run failed: %r" % (node, r))
        self.check_after_sync(node, before, extra)

    # --- the run ----------------------------------------------------------------

    def run(self):
        rng = self.rng
        self.setup()
        self.kill_order = KILL_POINTS[:]
        rng.shuffle(self.kill_order)
        offline_until = {c: 0 for c in NODES}
        for rnd in range(self.rounds):
            for c in NODES:
                if rng.random() < 0.15:
                    offline_until[c] = rnd + rng.randint(2, 5)
                    self.note("round %d: %s offline until round %d" % (rnd, c, offline_until[c]))
            order = NODES[:]
            rng.shuffle(order)
            for node, rows in self.imports.get(rnd, []):
                self.import_list(node, rows)
            for c in order:
                for _ in range(rng.randint(0, 1 if c == YMM_NODE else self.max_ops)):
                    self.county_op(c)
            if rng.random() < 0.3:
                self.hub_op()
            if rng.random() < 0.5:
                self.hub_leave()
            online = [c for c in NODES if offline_until[c] <= rnd]
            for _ in range(rng.randint(2, 6)):
                x = rng.random()
                if x < 0.3 or not online:
                    if rng.random() < 0.5:
                        self.kill_hub_run(online)
                    else:
                        self.hub_run()
                    continue
                c = rng.choice(online)
                if self.kinds[c] == "link" and x > 0.75:
                    self.cut_sync(c)
                elif self.kinds[c] == "link" and x > 0.65:
                    self.race(c)
                else:
                    self.sync(c)
                    if rng.random() < 0.2:
                        self.sync(c)  # repeated at once: nothing new either way
            if rng.random() < 0.7:
                self.kill_hub_run(online)  # the round's work is pushed: a pass to kill
        self.sweep_kill_points()
        # Everyone back online: sync, hub run, sync twice.
        for c in NODES:
            self.sync(c)
        self.hub_run()
        for _ in range(2):
            for c in NODES:
                r = self.sync(c)
                if not re.search(r", 0 change sets pending$", r.out.strip()):
                    self.fail("%s: change sets still pending after the final round: %r" % (c, r))
        return self

    # --- the checks ---------------------------------------------------------------

    def check_rows(self):
        pv = self.pv
        diffs = []
        for c in NODES:
            try:
                pv.check_rows(c, UNION[c])
            except AssertionError as e:
                diffs.append(str(e))
        if diffs:
            self.fail("(a) county rows differ from the hub's:\n    " + "\n    ".join(diffs))
        # Idempotent: one more sync everywhere changes nothing.
        before = {c: H.state(pv.db(c)) for c in NODES}
        for c in NODES:
            r = self.sync(c)
            if not r.out.startswith("synced: pushed 0 change sets, received 0 hub entries"):
                self.fail("%s: a sync with nothing new did something: %r" % (c, r))
            if H.state(pv.db(c)) != before[c]:
                self.fail("%s: a sync with nothing new changed the registry" % c)

    def check_verdicts(self):
        for c in NODES:
            self.check("(b)", self.pv.check_followed, c)

    def check_verify_audit(self):
        pv = self.pv
        self.check("(c)", pv.check_verify, *NODES, P.HUB)
        for url in [None] + ([pv.daemon.url] if self.transport == "daemon" else []):
            r = self.check("(c)", pv.check_audit, url)
            # Every delivery the hub made was derived again and checked.
            m = re.search(r"\n  (\d+) inbox deliveries checked", r.out)
            made = H.query(pv.hub_db, "SELECT count(*) FROM inbox")[0][0]
            if int(m.group(1)) != made:
                self.fail("(c) the audit checked %s inbox deliveries, the hub made %d" % (m.group(1), made))
        self.check("(c)", pv.check_no_quarantine)
        for c in NODES:
            self.check("(c)", pv.check_sequenced_once, c)

    def check_duplicates(self):
        db = self.pv.hub_db
        two = H.query(db, "SELECT person_key, count(*) FROM membership WHERE status IN ('applied', 'active') "
                          "GROUP BY person_key HAVING count(*) > 1")
        if two:
            self.fail("(d) people with two live memberships at the hub: %s" % two)
        pos = {(n, s): p for p, n, s in H.query(db, "SELECT pos, node, seq FROM followed")}
        verdicts = {(n, s): v for n, s, v in H.query(db, "SELECT node, seq, verdicts FROM followed")}
        members = {m: (k, u) for m, k, u in H.query(db, "SELECT id, person_key, union_id FROM membership")}
        keys = dict(H.query(db, "SELECT id_number, person_key FROM person"))
        dups = 0
        for node, mid, idno in self.applications:
            if mid in members:
                continue
            n, s, i = mid.rsplit(":", 2)
            if (n, int(s)) not in verdicts:
                self.fail("(d) application %s was never sequenced" % mid)
            v = H.verdict_at(verdicts[(n, int(s))], int(i))
            if not v or v[0] != "duplicate_member":
                self.fail("(d) application %s is not in the hub's registry and its verdict is %r, "
                          "not duplicate_member" % (mid, v))
            # Entry v2 names the union holding the person: there must be a
            # membership of the same person in it, sequenced before.
            union = v[1]
            held = [h for h, mv in members.items() if mv[0] == keys.get(idno) and mv[1] == union]
            if not held:
                self.fail("(d) %s was rejected as a duplicate held by %s, where the hub has no membership of the "
                          "same person" % (mid, union))
            if all(pos[(h.rsplit(":", 2)[0], int(h.rsplit(":", 2)[1]))] >= pos[(n, int(s))] for h in held):
                self.fail("(d) %s was rejected as a duplicate held by %s, whose membership the hub sequenced "
                          "after it" % (mid, union))
            dups += 1
        if dups == 0:
            self.fail("(d) no application was rejected duplicate_member (the planted duplicate must be)")
        # The overlapping platform lists: every listed person is at the hub
        # (one county's import won), and imports of the same people at
        # other counties were rejected duplicate_member (checked above).
        held = {k for k, _ in members.values()}
        missing = [mask for mask, idno in ((H.mask_id(p.id_number), p.id_number) for p in self.listed.values())
                   if keys.get(idno) not in held]
        if missing:
            self.fail("(d) %d people of the platform lists hold no membership at the hub: %s" % (
                len(missing), missing[:5]))
        import_dups = sum(1 for mid in self.imported if mid not in members)
        if import_dups == 0:
            self.fail("(d) overlapping platform lists made no duplicate_member rejection")
        self.stats["duplicates_rejected"] = dups
        self.stats["import_duplicates"] = import_dups
        self.stats["applications"] = len(self.applications)

    def chain_problems(self, node):
        """(e) The hand-down chains in one registry, for what it holds
        (`held`: the node's subtree; everything at the hub). Every transfer
        row is an accepted hand_down naming the record it started; where
        the registry holds the old record it ended 'transferred' on the
        hand-down date, in the snapshot's union, and where it holds the
        receiving union it holds the new record: active from that date (or
        ended since, never 'applied'), naming the old one, with the join
        date of the snapshot — the old record's, where held. Every
        'transferred' record has exactly one transfer row naming it (never
        two: a record moves once), so exactly one successor — unless the
        successor's union is outside the subtree (the nested node xn-fr-ymm
        after the pool moved a record out of it: it keeps the old record and
        the transfer row, not the new one). A record naming a predecessor
        has its transfer row; an untransferred root's join date is its
        admission's. At the hub every chain also runs forward in the hub's
        order and stays with one person."""
        db = self.pv.db(node)
        held = (lambda u: True) if node == P.HUB else self.subtree(node).__contains__
        ms = {r[0]: r for r in H.query(db, "SELECT id, person_key, union_id, status, applied_on, decided_on, left_on, "
                                           "joined_on, from_member FROM membership")}
        pos = {(n, s): p for p, n, s in H.query(db, "SELECT pos, node, seq FROM followed")}

        def created(mid):
            n, s_, _ = mid.rsplit(":", 2)
            return pos.get((n, int(s_)))
        probs, naming, tids = [], {}, set()
        for tid, kind, pk, fm, fu, tu, st, opened, decided, tm, snap in H.query(
                db, "SELECT id, kind, person_key, from_member, from_union, to_union, status, opened_on, decided_on, "
                    "to_member, snapshot FROM transfer ORDER BY id"):
            tids.add(tid)
            naming.setdefault(fm, []).append(tid)
            sj = json.loads(snap)
            if (kind, st, tm, decided) != ("hand_down", "accepted", tid, opened):
                probs.append("transfer %s is %s/%s to_member %s decided %s" % (tid, kind, st, tm, decided))
            # A county's snapshot names no person key (op version 4): the
            # record it moved does (below), and the hub gave the new one.
            if sj.get("union") != fu or sj["person"].get("key", pk) != pk:
                probs.append("transfer %s: its snapshot is not of %s's union and person" % (tid, fm))
            old, new = ms.get(fm), ms.get(tid)
            if not held(fu) and not held(tu):
                probs.append("transfer %s (%s -> %s) is outside this node's subtree" % (tid, fu, tu))
            elif held(fu) != (old is not None) or held(tu) != (new is not None):
                probs.append("transfer %s (%s -> %s): holds the old record: %s, the new: %s" % (
                    tid, fu, tu, old is not None, new is not None))
            if old and (old[1], old[2], old[3], old[6]) != (pk, fu, "transferred", opened):
                probs.append("transfer %s: the old record %s is %s" % (tid, fm, old))
            if new and ((new[1], new[2], new[4], new[5], new[8]) != (pk, tu, opened, opened, fm) or
                        new[3] == "applied" or new[7] != sj.get("joined_on") or not new[7] or
                        (old and new[7] != old[7])):
                probs.append("transfer %s: the new record is %s (old %s, snapshot joined_on %s)" % (
                    tid, new, old, sj.get("joined_on")))
            if node == P.HUB and old and new and not (created(fm) is not None and created(tid) is not None
                                                      and created(fm) < created(tid)):
                probs.append("transfer %s: the record %s moved before it was created in the hub order" % (tid, fm))
        for mid, pk, union, st, applied, decided, left, joined, fm in ms.values():
            if st == "transferred" and len(naming.get(mid, [])) != 1:
                probs.append("%s is transferred and %d transfer rows name it: %s" % (mid, len(naming.get(mid, [])),
                                                                                    naming.get(mid)))
            if st != "transferred" and mid in naming:
                probs.append("%s is %s, and transfer rows %s moved it" % (mid, st, naming[mid]))
            if fm and mid not in tids:
                probs.append("%s continues %s without a transfer row" % (mid, fm))
            if not fm and st in ("active", "left", "transferred") and joined != decided:
                probs.append("%s: joined_on %s is not its admission date %s" % (mid, joined, decided))
        return probs

    def check_chains(self):
        probs = []
        for node in [P.HUB] + NODES:
            probs += ["%s: %s" % (node, p) for p in self.chain_problems(node)]
            self.check_one_live(node, "at the end")
        if probs:
            self.fail("(e) hand-down chains:\n    " + "\n    ".join(probs[:20]))
        db = self.pv.hub_db
        hub_ids = {m for m, in H.query(db, "SELECT id FROM membership")}
        verdicts = {(n, s): v for n, s, v in H.query(db, "SELECT node, seq, verdicts FROM followed")}
        refused = {}
        for node, old, new in self.handed:
            if new in hub_ids:
                continue
            n, s, i = new.rsplit(":", 2)
            v = H.verdict_at(verdicts[(n, int(s))], int(i))
            if not v:
                self.fail("(e) hand-down %s of %s is applied at the hub, which holds no record %s" % (new, old, new))
            refused[v[0]] = refused.get(v[0], 0) + 1
        self.stats["hand_downs_refused"] = refused
        self.stats["chains_moved"] = H.query(db, "SELECT count(*) FROM transfer")[0][0]
        # The nested node: records it holds whose predecessor it never held.
        self.stats["ymm_from_snapshot"] = H.query(self.pv.db(YMM_NODE), "SELECT count(*) FROM membership m WHERE "
                                                  "from_member IS NOT NULL AND NOT EXISTS (SELECT 1 FROM membership o "
                                                  "WHERE o.id = m.from_member)")[0][0]
        if not self.stats["ymm_from_snapshot"]:
            self.fail("(e) the nested node %s built no record from a hand-down's snapshot (one is planted)" % YMM_NODE)

    def check_positions(self):
        """(f) At every hub position each person holds at most one live
        membership: membership statuses re-derived from the signed change
        sets in the hub's order (the ops the hub applied: apply, approve,
        reject, leave, hand_down), checked after every op, and at the end
        equal to the hub's registry, record for record."""
        status, person, live = {}, {}, {}

        def put(mid, st, pk=None):
            pk = person.setdefault(mid, pk)
            live.setdefault(pk, set()).discard(mid)
            if st in ("applied", "active"):
                live[pk].add(mid)
            status[mid] = st
            return len(live[pk]) <= 1
        moves = {"member.approve": "active", "member.reject": "rejected", "member.leave": "left"}
        for p, node, seq, env, verdicts, keys in H.query(self.pv.hub_db, "SELECT pos, node, seq, envelope, "
                                                                         "verdicts, keys FROM followed ORDER BY pos"):
            for i, op in enumerate(H.parse_envelope(env)["payload"].get("ops", [])):
                name, oid = op.get("op"), "%s:%d:%d" % (node, seq, i)
                if H.verdict_at(verdicts, i) or not str(name).startswith("member."):
                    continue
                if name == "member.apply":
                    ok = put(oid, "applied", H.person_key_of(op["person"], keys, i))
                elif name in moves:
                    ok = put(op["member"], moves[name])
                elif name == "member.hand_down":
                    ok = put(op["member"], "transferred") and put(oid, "active",
                                                                  H.person_key_of(op["snapshot"]["person"], keys, i))
                else:
                    continue
                if not ok:
                    self.fail("(f) at hub position %d (%s seq %d op %d, %s) a person holds two live memberships: %s"
                              % (p, node, seq, i, name, sorted(live[person[op.get("member", oid)]])))
        hub = {m: (st, k) for m, st, k in H.query(self.pv.hub_db, "SELECT id, status, person_key FROM membership")}
        model = {m: (st, person[m]) for m, st in status.items()}
        if hub != model:
            diff = sorted(set(hub.items()) ^ set(model.items()))[:6]
            self.fail("(f) the hub's memberships are not what its order's applied ops make: %s" % diff)

    def close(self, ok):
        self.pv.close()
        if ok or not KEEP:
            shutil.rmtree(self.tmp, True)


class TestConvergence(unittest.TestCase):
    maxDiff = 8000

    def test_random_schedules_converge(self):
        for index, seed in enumerate(seeds()):
            with self.subTest(seed=seed):
                sim = Sim(seed, index)
                ok = False
                try:
                    sim.run()
                    failures = []
                    for check in (sim.check_rows, sim.check_verdicts, sim.check_verify_audit, sim.check_duplicates,
                                  sim.check_chains, sim.check_positions):
                        try:
                            check()
                        except AssertionError as e:
                            failures.append(str(e))
                    ok = not failures
                    sys.stderr.write("\nseed %d (%s): %s %s\n" % (seed, sim.transport, "ok" if ok else "FAILED",
                                                                 sim.stats))
                    if failures:
                        self.fail("\n\n".join(failures))
                finally:
                    sim.close(ok)


class TestKnownDivergences(unittest.TestCase):
    """Deterministic reproducers of divergences between a county and the hub
    that this suite found (fixed in 1f4146f); kept as regression tests."""
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="huiji-conv-")
        self.pv = P.Province(self.tmp)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(self.pv.close)
        self.fakes = H.Fakes(20240301)

    def round_trip(self, *nodes):
        for n in nodes:
            self.pv.ok("sync", d=self.pv.dirs[n])
        self.pv.hub_run()
        for n in nodes:
            self.pv.ok("sync", d=self.pv.dirs[n])

    def assertRowsEqual(self, node):
        self.pv.check_rows(node)

    def test_person_row_shared_with_another_county(self):
        """A person's row is shared by every membership of that person. At
        城中区 (xn-cz) her application is rejected; she then joins at 城北区
        (xn-cb) with a new phone, and xn-cb later updates her phone and
        plate; she leaves and applies at 城中区 again. Found by this suite
        (fixed in 1f4146f): xn-cz, which holds her rejected membership and
        so her person row, never folded xn-cb's ops (outside its subtree)
        and kept the old phone forever, while `verify` passed."""
        pv = self.pv
        cz, cb = "xn-cz", "xn-cb"
        pv.make_hub([cz, cb])
        pv.add_county(cz)
        pv.add_county(cb)
        p = self.fakes.person(region="630103")
        mid = pv.ok(*H.apply_args(p), d=pv.dirs[cz]).out.split()[1]
        self.round_trip(cz, cb)
        pv.ok("member", "reject", "--member", mid, "--reason", "材料不全", "--on", P.ON, d=pv.dirs[cz])
        self.round_trip(cz)
        mid2 = pv.ok(*H.apply_args(H.Person(dict(p, phone=self.fakes.phone())), approve=True),
                     d=pv.dirs[cb]).out.split()[1]
        self.round_trip(cz, cb)
        for n in (cz, cb):
            self.assertRowsEqual(n)
        pv.ok("member", "update", "--member", mid2, "--phone", self.fakes.phone(), "--plate", self.fakes.plate(),
              d=pv.dirs[cb])
        self.round_trip(cz, cb)
        for n in (cz, cb):
            self.assertRowsEqual(n)
        pv.ok("member", "leave", "--member", mid2, "--reason", "voluntary", "--on", P.ON, d=pv.dirs[cb])
        self.round_trip(cb)
        pv.ok(*H.apply_args(H.Person(dict(p, phone=self.fakes.phone()))), d=pv.dirs[cz])
        self.round_trip(cz, cb)
        for n in (cz, cb):
            self.assertEqual(pv.run("verify", d=pv.dirs[n]).rc, 0)
            self.assertRowsEqual(n)

    def test_org_move_keeps_counties_equal(self):
        """The hub moves a park union holding an active member from 城中区 to
        城北区 (org update --parent). Found by this suite: xn-cb's subtree
        then held that union, but xn-cb had never folded the memberships
        applied there before the move, and `verify` at xn-cb still passed.
        Since 1f4146f the move is refused (org_not_empty: members move by
        transfer). Either way, both counties' rows must equal the hub's;
        an empty park union may still move, and its later members follow."""
        pv = self.pv
        cz, cb = "xn-cz", "xn-cb"
        pv.make_hub([cz, cb])
        pv.add_county(cz)
        pv.add_county(cb)
        self.round_trip(cz, cb)
        for park in ("qh-xn-cz-wl", "qh-xn-cz-yq"):
            pv.ok("org", "create", "--id", park, "--name", "城中区物流园区工会", "--kind", "park",
                  "--parent", "qh-xn-cz", "--region", "630103", d=pv.dirs[cz])
        pv.ok(*H.apply_args(self.fakes.person(region="630103"), union="qh-xn-cz-wl", approve=True), d=pv.dirs[cz])
        self.round_trip(cz, cb)
        r = pv.run("org", "update", "--id", "qh-xn-cz-wl", "--parent", "qh-xn-cb", d=pv.hub)
        if r.rc != 0:
            self.assertIn("org_not_empty", r.err, r)
        # The empty one moves; 城北区 then admits a member there.
        pv.ok("org", "update", "--id", "qh-xn-cz-yq", "--parent", "qh-xn-cb", d=pv.hub)
        self.round_trip(cz, cb)
        pv.ok(*H.apply_args(self.fakes.person(region="630105"), union="qh-xn-cz-yq", approve=True), d=pv.dirs[cb])
        self.round_trip(cz, cb)
        for n in (cz, cb):
            self.assertEqual(pv.run("verify", d=pv.dirs[n]).rc, 0)
            self.assertRowsEqual(n)
        self.assertEqual(H.query(pv.db(cb), "SELECT count(*) FROM membership WHERE union_id = 'qh-xn-cz-yq' "
                                            "AND status = 'active'")[0][0], 1)

    def hand_down_to_nested_node(self, person):
        """The turnover pool (xn-fr, 西宁市道路货运行业工会联合会) admits
        `person` and hands him down to the 运满满 platform union, which a
        node of its own holds (xn-fr-ymm); everyone syncs; both verify."""
        pv = self.pv
        pv.make_hub([])
        for uid, name, kind, parent in POOL_ORGS:
            pv.ok("org", "create", "--id", uid, "--name", name, "--kind", kind, "--parent", parent,
                  "--region", "6301", d=pv.hub)
        pv.add_county(POOL_NODE, union=POOL)
        pv.add_county(YMM_NODE, union=YMM)
        self.round_trip(POOL_NODE, YMM_NODE)
        old = pv.ok(*H.apply_args(person, approve=True), d=pv.dirs[POOL_NODE]).out.split()[1]
        pv.ok("member", "hand-down", "--member", old, "--to", YMM, "--on", "2024-03-05", d=pv.dirs[POOL_NODE])
        self.round_trip(POOL_NODE, YMM_NODE)
        for n in (POOL_NODE, YMM_NODE):
            self.assertEqual(pv.run("verify", d=pv.dirs[n]).rc, 0)
        pv.check_rows(POOL_NODE, POOL)

    def test_snapshot_person_updated_op(self):
        """Found by this suite (the hand-downs, issue 8). The nested node
        built the driver's person row from the op's snapshot with
        updated_op = the hand-down's op id, while the hub (and the pool)
        keep the row the application wrote; the snapshot now carries it."""
        self.hand_down_to_nested_node(self.fakes.person(region="630105", plate=self.fakes.plate()))
        self.pv.check_rows(YMM_NODE, YMM)

    def test_snapshot_person_without_plate(self):
        """Found by this suite. A driver without a plate: the snapshot was
        signed with "plate": "" ("" for NULL), and the nested node stored ''
        where the hub has NULL; an absent plate now stays absent."""
        self.hand_down_to_nested_node(self.fakes.person(region="630105", plate=""))
        keys = {k for k, in H.query(self.pv.db(YMM_NODE), "SELECT person_key FROM person")}
        strip = lambda rows: dict(rows, person=[{k: v for k, v in r.items() if k != "updated_op"}  # noqa: E731
                                                for r in rows["person"]])
        diff = H.rows_diff(strip(self.pv.rows(YMM_NODE, YMM)), strip(H.county_rows(self.pv.hub_db, YMM)))
        self.assertTrue(keys)
        self.assertEqual(diff, [])

    def test_long_union_name_in_a_duplicate_verdict(self):
        """Found by huiji-bench section 7, fixed in node/fold.c (hj_reject
        cuts a detail at a character boundary). A duplicate_member detail names
        the holding union ("person already has open application <id> in
        <union name> (<union id>)") and is cut at 255 bytes; with a union
        name of 62 CJK characters (186 bytes, within the 200 allowed) and a
        county node id of 35 characters the cut falls inside a character,
        the entry encoder refuses the verdict as not UTF-8, and every
        `hub run` failed from then on: nobody was sequenced again. (Entry
        v2 no longer writes the detail; the cut is whole for every reader.)"""
        pv = self.pv
        pv.make_hub(["xn-cd"])
        name = ("青海省西宁市城中区新就业形态劳动者货车司机网约车司机快递员外卖配送员联合工会委员会"
                "物流园区快递分拨中心网约配送员工会联")
        pv.ok("org", "create", "--id", "qh-xn-cz", "--name", name, "--kind", "county", "--parent", "qh-xn",
              "--region", "630103", d=pv.hub)
        node = "xining-chengzhong-county-union-node"
        d, pk = pv.init_county(node, union="qh-xn-cz", url=pv.hub_repo)
        pv.enroll(node, pk, union="qh-xn-cz")
        pv.dirs[node] = d
        pv.add_county("xn-cd")
        people = [self.fakes.person(region="630103") for _ in range(3)]
        for n in (node, "xn-cd"):  # the hub takes the longer id first
            for p in people:
                pv.ok(*H.apply_args(p), d=pv.dirs[n])
        self.round_trip(node, "xn-cd")
        self.pv.hub_run()
        # Whatever the entry format says: the first county's three
        # applications stand, the second's were refused.
        self.assertEqual(dict(H.query(pv.hub_db, "SELECT union_id, count(*) FROM membership GROUP BY union_id")),
                         {"qh-xn-cz": 3})
        pv.check_rows("xn-cd")
        pv.check_audit()


if __name__ == "__main__":
    H.main()
