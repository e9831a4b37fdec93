#!/usr/bin/env python3
"""test_privacy.py — a county holds only its own people (issue 8 item 4).

What it proves: after a province of four counties syncs (over git daemon,
and again with the hub a path on the same machine,
each county several rounds, one county's person applying at another and
refused as a duplicate, the hub deciding), every object of every county's
replica — inflated by git, and every change-set envelope inflated again —
and every byte of its registry file (SQLite, with its WAL) holds none of
another county's people: no ID number, phone or name of a person only
another county enrolled. And the county still holds all of its own: its
rows equal the hub's, it verifies. Before the inbox (refs/huiji/inbox/)
each county fetched every node's sequenced feed, and this test found every
other county's people in every replica.

And the hub repository holds nobody in plaintext: the counties' change
sets carry the personal fields sealed (node/person_seal.h), the person
inside a transfer's snapshot too (node/transfer_seal.h): one of xn-cd's
members moves to xn-cz by offer and acceptance, and is then xn-cz's own
(opened there from the sealed snapshot) and still nobody else's. A second
node of xn-cz's union, enrolled last, is given the union's history sealed
before anyone knew of it and reads those people through the hub's
re-wraps (refs/huiji/wraps/): it holds them all, and nobody else; the
audit holds those re-wraps to what the hub delivered it.
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

COUNTIES = ["xn-cd", "xn-cz", "xn-cx", "xn-cb"]
PER_COUNTY = 6


def needles(person):
    """What must not appear of a person: ID number, phone, name (UTF-8)."""
    return [person.id_number.encode(), person.phone.encode(), person.name.encode("utf-8")]


class PrivacyTest(unittest.TestCase):
    TRANSPORT = "daemon"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-privacy-")
        self.p = P.Province(self.tmp).make_hub(COUNTIES)
        if self.TRANSPORT == "daemon":
            self.p.start_daemon()
        for c in COUNTIES:
            self.p.add_county(c, self.TRANSPORT)
        self.fakes = H.Fakes(8008)

    def tearDown(self):
        self.p.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def round(self):
        for c in COUNTIES:
            self.p.sync(c)
        self.p.hub_run()
        for c in COUNTIES:
            self.p.sync(c)

    def files(self, d):
        """Every file of a node directory but its replica (the registry,
        its WAL, logs, keys)."""
        for root, dirs, names in os.walk(d):
            dirs[:] = [x for x in dirs if not x.endswith(".git")]
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    yield os.path.join(root, name), f.read()

    def test_no_county_holds_another_countys_people(self):
        p, people = self.p, {c: [] for c in COUNTIES}
        for rnd in range(2):
            for c in COUNTIES:
                for _ in range(PER_COUNTY // 2):
                    who = self.fakes.person(region=P.REGION[c])
                    people[c].append(who)
                    p.ok(*H.apply_args(who, approve=True), d=p.dirs[c])
            self.round()
        # One of xn-cb's members applies at xn-cz too: refused by the hub
        # (duplicate_member), so no record of her at xn-cz; xn-cz typed her
        # number (its own change log keeps it), so she is left out of the
        # needles below.
        shared = people["xn-cb"][0]
        p.ok(*H.apply_args(shared), d=p.dirs["xn-cz"])
        self.round()
        v = H.query(p.hub_db, "SELECT count(*) FROM followed WHERE verdicts LIKE '%duplicate_member%'")[0][0]
        self.assertEqual(v, 1)
        # One of xn-cd's members moves to xn-cz: offered, accepted.
        moved = people["xn-cd"][1]
        cd_db = os.path.join(p.dirs["xn-cd"], "registry.db")
        (member,), = H.query(cd_db, "SELECT m.id FROM membership m JOIN person p ON p.person_key = m.person_key "
                                    "WHERE p.id_number = ?", (moved.id_number,))
        out = p.ok("member", "transfer", "--member", member, "--to", P.UNION["xn-cz"], d=p.dirs["xn-cd"]).out
        t = re.match(r"transfer (\S+) opened: ", out).group(1)
        self.round()
        p.ok("member", "accept", "--transfer", t, d=p.dirs["xn-cz"])
        self.round()
        people["xn-cz"].append(moved)  # xn-cz's own now, xn-cd's still (its record ended 'transferred')
        # A second node of xn-cz's union, enrolled now: given the union's
        # history (its backfill), sealed before anyone knew it; the hub
        # re-wraps the keys for it (refs/huiji/wraps/), so it reads its
        # union's people, and nobody else's.
        late = "xn-cz-2"
        p.add_county(late, self.TRANSPORT, union=P.UNION["xn-cz"])
        p.sync(late)
        self.round()
        p.sync(late)
        people[late] = list(people["xn-cz"])
        counties = COUNTIES + [late]
        cz_db = os.path.join(p.dirs["xn-cz"], "registry.db")
        self.assertEqual(H.query(cz_db, "SELECT p.name FROM membership m JOIN person p ON p.person_key = m.person_key "
                                        "WHERE m.union_id = ? AND m.status = 'active' AND p.id_number = ?",
                                 (P.UNION["xn-cz"], moved.id_number)), [(moved.name,)])

        for c in counties:
            d = p.dirs[c]
            p.check_rows(c, union=P.UNION.get(c, P.UNION["xn-cz"]))  # the late node: xn-cz's union
            p.ok("verify", d=d)
            theirs = [(o, who) for o in counties if o != c for who in people[o]
                      if who is not shared and who not in people[c]]
            self.assertGreater(len(theirs), 0)
            repo = os.path.join(d, "replica.git")
            haystacks = [("replica object", b) for b in H.repo_blobs(repo)]
            haystacks += [(path, b) for path, b in self.files(d)]
            found = []
            for where, hay in haystacks:
                for o, who in theirs:
                    for needle in needles(who):
                        if needle in hay:
                            found.append("%s: %s's person (%s) in %s" % (c, o, H.mask_id(who.id_number), where))
            self.assertEqual(found[:5], [], "%d finds" % len(found))
            # And it holds its own: every own person's number is in its registry.
            with open(os.path.join(d, "registry.db"), "rb") as f:
                reg = f.read()
            own = H.query(os.path.join(d, "registry.db"), "SELECT id_number FROM person")
            self.assertEqual(sorted(x for x, in own), sorted(w.id_number for w in people[c]))
            self.assertTrue(reg)
        # The hub holds everyone (and sees the duplicate) in its registry ...
        self.assertEqual(H.query(p.hub_db, "SELECT count(*) FROM person")[0][0],
                         len({who.id_number for v in people.values() for who in v}))
        # ... and nobody in plaintext in its repository, which every county
        # and anyone who can reach the hub may fetch: the fields travel
        # sealed (node/person_seal.h).
        everyone = [who for c in COUNTIES for who in people[c]]
        self.assertIn(moved, everyone)
        found = ["%s in the hub repository" % H.mask_id(who.id_number)
                 for hay in H.repo_blobs(p.hub_repo) for who in everyone for needle in needles(who) if needle in hay]
        self.assertEqual(found[:5], [], "%d finds" % len(found))
        # The audit holds the re-wraps the late node was given to what the
        # hub delivered it (sync/audit_wraps.c): none withheld, none extra.
        r = p.check_audit()
        checked = re.search(r"\n  (\d+) re-wraps checked", r.out)
        self.assertTrue(checked and int(checked.group(1)) > 0, r.out)


class PrivacyOverPathTest(PrivacyTest):
    """The hub on this machine (a path): libgit2's local transport would
    copy every object the hub holds, whatever the refspecs; the local
    fetch reads only the refs the sync names (sync/localfetch.c)."""
    TRANSPORT = "path"


if __name__ == "__main__":
    H.main()
