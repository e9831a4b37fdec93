#!/usr/bin/env python3
"""test_provinces.py — two provinces over git daemon (issue 8 §3).

Two provincial hubs, 青海 (qh) and 安徽 (ah), each served by its own real
`git daemon` on loopback, share the national person key (`hub init
--person-key`) and enrol each other as peers (`huiji hub peer`). Each hub
pass fetches the other's hub repository, audits it with its key pinned,
and installs the re-folded registry only when clean (sync/peer.c).

What it proves: a driver approved in an Anhui county who applies in a
Qinghai county is refused by the qh hub `duplicate_province`, naming
province ah and the union holding him, and the qh county's sync says so;
a person not in ah is accepted; both hubs audit clean, the qh audit
saying it took that one verdict on the hub's word; the qh hub verifies.
A peer whose daemon is down, silent (SIGSTOP: `hub run --peer-timeout`
bounds the wait) or whose hub feed was tampered with, fails
nothing of the other hub's pass: its counties' work is sequenced, the
failure is reported (`hub run`, `hub peers`) and the last good registry
of the peer stays byte for byte (~15 s).

And a record that moves across (~8 s): a qh county offers a member to an
ah union (`--to-province`, refused for a province not enrolled); ah's
pass takes it in, ah's county sees it and accepts; ah's hub and county
hold the new active record (join date kept, from_member naming qh's,
the person readable at the receiving county), qh's hub and county the
old one `transferred`; both audit clean and verify; no plaintext of the
person in either hub repository. A decline there frees the record here.
A withdrawal in qh racing an acceptance in ah (qh's daemon down during
ah's pass) is an operator conflict both hubs report.
"""

import json
import os
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


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


class Prov(P.Province):
    """A province: hub (root union `pid`), one city, one county node."""

    def __init__(self, tmp, pid, name, region, city, county, national_key=None):
        super().__init__(os.path.join(tmp, pid))
        os.makedirs(self.tmp, exist_ok=True)
        self.pid, self.name, self.region = pid, name, region
        self.hub_node = pid + "-hub"
        self.city, self.county = city, county  # (id, name, region); (node, union, name, region)
        self.national_key = national_key

    def make(self):
        args = ["hub", "init", "--node", self.hub_node, "--union", self.pid, "--union-name", self.name,
                "--region", self.region]
        if self.national_key:
            args += ["--person-key", self.national_key]
        r = self.ok(*args, d=self.hub)
        self.hub_key = r.out.split("public key: ")[1].split()[0]
        cid, cname, creg = self.city
        self.ok("org", "create", "--id", cid, "--name", cname, "--kind", "city", "--parent", self.pid,
                "--region", creg, d=self.hub)
        node, union, uname, ureg = self.county
        self.ok("org", "create", "--id", union, "--name", uname, "--kind", "county", "--parent", cid,
                "--region", ureg, d=self.hub)
        self.start_daemon()
        self.add_county(node, "daemon", union=union)
        return self

    @property
    def cdir(self):
        return self.dirs[self.county[0]]

    def round(self):
        """The county syncs, the hub runs, the county syncs again."""
        self.ok("sync", d=self.cdir)
        hr = self.hub_run()
        s = self.run("sync", d=self.cdir)
        return hr, s

    def peers(self):
        r = self.ok("hub", "peers", "--json", d=self.hub)
        return {o["province"]: o for o in json.loads(r.out)}  # one JSON array

    def peer_db(self, pid):
        return os.path.join(self.hub, "peers", pid + ".db")


class ProvincesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hj-provinces-")
        self.qh = Prov(self.tmp, "qh", "青海省总工会", "63", ("qh-xn", "西宁市总工会", "6301"),
                       ("xn-cz", "qh-xn-cz", "城中区总工会", "630103")).make()
        # Anhui's hub is given the national key qh's hub made.
        self.ah = Prov(self.tmp, "ah", "安徽省总工会", "34", ("ah-hf", "合肥市总工会", "3401"),
                       ("hf-yh", "ah-hf-yh", "瑶海区总工会", "340102"), national_key=self.qh.person_key).make()
        self.fakes = H.Fakes(3463)

    def tearDown(self):
        self.qh.close()
        self.ah.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def enrol_peers(self):
        for a, b in ((self.qh, self.ah), (self.ah, self.qh)):
            r = a.ok("hub", "peer", "--province", b.pid, "--hub-node", b.hub_node, "--hub-key", b.hub_key,
                     "--url", b.daemon.url, "--name", b.name, d=a.hub)
            self.assertIn("enrolled province %s" % b.pid, r.out)
        r = self.qh.run("hub", "peer", "--province", "ah", "--hub-node", "ah-hub", "--hub-key", self.ah.hub_key,
                        "--url", self.ah.daemon.url, d=self.qh.hub)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("peer_exists", r.err)

    def hub_state(self, pid):
        return H.query(self.qh.hub_db if pid == "qh" else self.ah.hub_db,
                       "SELECT m.union_id, m.status FROM membership m ORDER BY m.id")

    def tamper_hub_feed(self, prov):
        """Append a commit to the hub feed, shaped as the hub writes them,
        whose change set is the last one with a byte flipped (its
        signature no longer verifies): what a lying server sends."""
        repo, ref = prov.hub_repo, "refs/huiji/hub/" + prov.hub_node
        tip = prov.git("--git-dir", repo, "rev-parse", ref, check=True).out.strip()
        tree = prov.git("--git-dir", repo, "ls-tree", tip, check=True).out.split()
        data = subprocess.run(["git", "--git-dir", repo, "cat-file", "blob", tree[2]], capture_output=True,
                              check=True, env=prov.git_env).stdout
        forged = bytearray(data)
        forged[-1] ^= 0xFF  # the signature no longer verifies
        h = subprocess.run(["git", "--git-dir", repo, "hash-object", "-w", "--stdin"], input=bytes(forged),
                           capture_output=True, check=True, env=prov.git_env).stdout.decode().strip()
        t = subprocess.run(["git", "--git-dir", repo, "mktree"], input=("%s blob %s\t%s\n" % (tree[0], h, tree[3])).encode(),
                           capture_output=True, check=True, env=prov.git_env).stdout.decode().strip()
        seq = int(prov.git("--git-dir", repo, "log", "-1", "--format=%s", tip, check=True).out.split()[2])
        c = prov.git("--git-dir", repo, "commit-tree", t, "-p", tip, "-m", "huiji %s %d" % (prov.hub_node, seq + 1),
                     check=True).out.strip()
        prov.git("--git-dir", repo, "update-ref", ref, c, tip, check=True)
        return tip

    def test_duplicate_across_provinces(self):
        qh, ah = self.qh, self.ah
        self.enrol_peers()
        # A driver admitted in Anhui.
        driver = self.fakes.person(region="340102")
        ah.ok(*H.apply_args(driver, approve=True), d=ah.cdir)
        ah.round()
        self.assertEqual(self.hub_state("ah"), [("ah-hf-yh", "active")])
        # qh's pass follows ah: audited clean, the registry installed.
        hr = qh.hub_run()
        self.assertNotIn("warning", hr.err)
        peer = qh.peers()["ah"]
        self.assertEqual(peer["problem"], "", peer)
        self.assertGreater(peer["hub_seq"], 0)
        self.assertEqual(len(peer["head"]), 64)
        self.assertTrue(os.path.exists(qh.peer_db("ah")))
        # He applies in Qinghai; someone new applies beside him.
        newcomer = self.fakes.person(region="630103")
        qh.ok(*H.apply_args(driver), d=qh.cdir)
        qh.ok(*H.apply_args(newcomer), d=qh.cdir)
        _, s = qh.round()
        self.assertEqual(s.rc, 0, s)
        # The county's sync names the province and the union holding him.
        self.assertIn("duplicate_province", s.err)
        self.assertIn("province ah (安徽省总工会), union ah-hf-yh", s.err)
        for secret in (driver.id_number, driver.phone, driver.name):
            self.assertNotIn(secret, s.err + s.out)
        r = qh.run("member", "show", "--member", "xn-cz:1:0", d=qh.cdir)
        self.assertEqual(r.rc, 3, r)  # not found (exit 3), saying why
        self.assertIn("xn-cz:1:0 was rejected by the hub: duplicate_province: held in province ah (安徽省总工会), "
                      "union ah-hf-yh", r.err)
        st = qh.ok("status", d=qh.cdir)
        self.assertRegex(st.out, r"(?m)^xn-cz:1:0 +duplicate_province +held in province ah \(安徽省总工会\), "
                                 r"union ah-hf-yh$")  # status's table of rejections
        # The hub: refused with province and union named, the newcomer taken.
        rows = H.query(qh.hub_db, "SELECT verdicts FROM followed WHERE node = 'xn-cz' AND verdicts LIKE "
                       "'%duplicate_province%'")
        self.assertEqual(len(rows), 1, rows)
        self.assertIn('"ah/ah-hf-yh"', rows[0][0])
        self.assertEqual(self.hub_state("qh"), [("qh-xn-cz", "applied")])
        pv = H.query(qh.hub_db, "SELECT province, peer_hub_seq FROM peer_verdict")
        self.assertEqual(pv, [("ah", peer["hub_seq"])])
        self.assertEqual(len(H.query(qh.db("xn-cz"), "SELECT id FROM membership")), 1)
        # Both audit clean; qh's audit took that verdict on the hub's word.
        for prov, word in ((qh, 1), (ah, 0)):
            r = prov.audit(prov.daemon.url)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("audit passed", r.out)
            if word:
                self.assertIn("%d duplicate_province verdicts taken on the hub's word" % word, r.out)
            else:
                self.assertNotIn("duplicate_province", r.out)
        qh.ok("verify", d=qh.hub)
        qh.ok("verify", d=qh.cdir)
        # ah follows qh too (the newcomer's province is nobody's duplicate).
        hr = ah.hub_run()
        self.assertNotIn("warning", hr.err)
        self.assertEqual(ah.peers()["qh"]["problem"], "")

        # A peer that is down: qh's pass goes on, says so, keeps the registry.
        good = slurp(qh.peer_db("ah"))
        late = self.fakes.person(region="630103")
        ah.ok(*H.apply_args(self.fakes.person(region="340102"), approve=True), d=ah.cdir)
        ah.round()  # ah moves on, so qh has something new to fetch
        port = ah.daemon.port
        ah.daemon.stop()
        qh.ok(*H.apply_args(late), d=qh.cdir)
        hr, s = qh.round()
        self.assertIn("warning: peer ah not followed", hr.err)
        self.assertEqual(s.rc, 0, s)
        self.assertEqual(self.hub_state("qh"), [("qh-xn-cz", "applied")] * 2)
        peer = qh.peers()["ah"]
        self.assertNotEqual(peer["problem"], "")
        self.assertEqual(slurp(qh.peer_db("ah")), good)
        qh.ok("hub", "peers", d=qh.hub)
        # Back up: followed again.
        ah.daemon.start(port)
        hr = qh.hub_run()
        self.assertNotIn("warning", hr.err)
        self.assertEqual(qh.peers()["ah"]["problem"], "")
        good = slurp(qh.peer_db("ah"))
        # A peer that answers nothing (its daemon stopped dead): the pass
        # waits no longer than --peer-timeout, and goes on.
        ah.daemon.pause()
        t0 = time.monotonic()
        hr = qh.ok("hub", "run", "--once", "--peer-timeout", "2", d=qh.hub)
        took = time.monotonic() - t0
        ah.daemon.resume()
        self.assertIn("warning: peer ah not followed", hr.err)
        self.assertLess(took, H.scaled(20), "a silent peer held the pass %.1f s" % took)
        self.assertEqual(slurp(qh.peer_db("ah")), good)
        # A tampered hub feed: refused, reported, the last good registry kept.
        self.tamper_hub_feed(ah)
        qh.ok(*H.apply_args(self.fakes.person(region="630103")), d=qh.cdir)
        hr, s = qh.round()
        self.assertIn("warning: peer ah not followed", hr.err)
        self.assertIn("discrepanc", qh.peers()["ah"]["problem"])
        self.assertEqual(s.rc, 0, s)
        self.assertEqual(len(self.hub_state("qh")), 3)
        self.assertEqual(slurp(qh.peer_db("ah")), good)
        r = qh.ok("hub", "peers", d=qh.hub)
        self.assertIn("FAILED", r.out)
        self.assertIn("1 provinces followed, 1 failing", qh.ok("status", d=qh.hub).out)
        if os.environ.get("HUIJI_SHOW"):
            print(hr.err, r.out)

    def one_active_per_position(self, prov):
        """Each person holds at most one active record in `prov`. At every
        hub position too: the registry's unique index membership_one_live
        refuses a second live record of a person in any fold (verify and
        the audit re-fold every position); here the end state."""
        rows = H.query(prov.hub_db, "SELECT person_key, count(*) FROM membership WHERE status = 'active' "
                       "GROUP BY person_key HAVING count(*) > 1")
        self.assertEqual(rows, [])

    def test_transfer_across_provinces(self):
        qh, ah = self.qh, self.ah
        self.enrol_peers()
        driver = self.fakes.person(region="630103")
        qh.ok(*H.apply_args(driver, approve=True), d=qh.cdir)
        qh.round()
        # ah's own member (and ah's first entry: transfers need rules 3).
        ah.ok(*H.apply_args(self.fakes.person(region="340102"), approve=True), d=ah.cdir)
        ah.round()
        ((member, joined),) = H.query(qh.hub_db, "SELECT id, joined_on FROM membership WHERE status = 'active'")
        ah.hub_run()  # ah holds qh's registry
        # Not a peer: refused at the command line.
        r = qh.run("member", "transfer", "--member", member, "--to", "ah-hf-yh", "--to-province", "zz",
                   "--on", "2024-06-01", d=qh.cdir)
        self.assertEqual(r.rc, 2, r)  # usage: not a peer
        self.assertIn("not an enrolled peer", r.err)
        r = qh.ok("member", "transfer", "--member", member, "--to", "ah-hf-yh", "--to-province", "ah",
                  "--on", "2024-06-01", d=qh.cdir)
        tid = r.out.split()[1]
        qh.round()
        self.assertEqual(H.query(qh.hub_db, "SELECT kind, to_union, status FROM transfer"),
                         [("province_out", "ah/ah-hf-yh", "open")])
        # ah's pass follows qh and takes the offer in; its county sees it.
        hr, _ = ah.round()
        self.assertNotIn("warning", hr.err)
        local = "qh/" + tid
        self.assertEqual(H.query(ah.hub_db, "SELECT id, kind, from_member, to_union, status FROM transfer"),
                         [(local, "province_in", "qh/" + member, "ah-hf-yh", "open")])
        self.assertIn(local, ah.ok("member", "transfers", d=ah.cdir).out)
        ah.ok("member", "accept", "--transfer", local, "--on", "2024-06-03", d=ah.cdir)
        ah.round()
        moved = "SELECT id, status, joined_on, from_member FROM membership WHERE from_member IS NOT NULL"
        ((new_id, status, kept, frm),) = H.query(ah.hub_db, moved)
        self.assertEqual((status, kept, frm), ("active", joined, "qh/" + member))
        self.assertEqual(H.query(ah.db(ah.county[0]), moved), [(new_id, "active", joined, "qh/" + member)])
        # The receiving county opens the fresh seal.
        names = [n for (n,) in H.query(ah.db(ah.county[0]), "SELECT name FROM person")]
        self.assertIn(driver.name, names)
        # qh's next pass sees the acceptance and closes its transfer.
        qh.round()
        for db in (qh.hub_db, qh.db(qh.county[0])):
            self.assertEqual(H.query(db, "SELECT id, status, left_on FROM membership"),
                             [(member, "transferred", "2024-06-03")])
            self.assertEqual(H.query(db, "SELECT status, to_member FROM transfer"), [("accepted", "ah/" + new_id)])
        for prov in (qh, ah):
            self.one_active_per_position(prov)
            r = prov.audit(prov.daemon.url)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("audit passed", r.out)
            prov.ok("verify", d=prov.hub)
            prov.ok("verify", d=prov.cdir)
            for blob in H.repo_blobs(prov.hub_repo):
                for secret in (driver.id_number, driver.phone, driver.name):
                    self.assertNotIn(secret.encode(), blob)
        # The record's history names where it came from.
        r = ah.ok("member", "show", "--member", new_id, d=ah.cdir)
        self.assertIn("qh/" + member, r.out)
        self.assertIn("in another province", r.out)
        self.assertIn("offered from another province, accepted", r.out)
        for prov in (qh, ah):
            self.assertNotIn("CONFLICT", prov.ok("hub", "peers", d=prov.hub).out)
            self.assertEqual(prov.peers()[{"qh": "ah", "ah": "qh"}[prov.pid]]["conflicts"], 0)
        # The same record cannot be offered twice: it is transferred now.
        r = qh.run("member", "transfer", "--member", member, "--to", "ah-hf-yh", "--to-province", "ah",
                   d=qh.cdir)
        self.assertNotEqual(r.rc, 0, r)
        # A decline there frees the record here.
        other = self.fakes.person(region="630103")
        qh.ok(*H.apply_args(other, approve=True), d=qh.cdir)
        qh.round()
        ((second,),) = H.query(qh.hub_db, "SELECT id FROM membership WHERE status = 'active'")
        tid2 = qh.ok("member", "transfer", "--member", second, "--to", "ah-hf-yh", "--to-province", "ah",
                     "--on", "2024-07-01", d=qh.cdir).out.split()[1]
        qh.round()
        ah.round()
        ah.ok("member", "decline", "--transfer", "qh/" + tid2, "--on", "2024-07-02", d=ah.cdir)
        ah.round()
        qh.round()
        for db in (qh.hub_db, qh.db(qh.county[0])):
            self.assertEqual(H.query(db, "SELECT status FROM transfer WHERE id = ?", (tid2,)), [("declined",)])
            self.assertEqual(H.query(db, "SELECT status FROM membership WHERE id = ?", (second,)), [("active",)])
        self.assertEqual(H.query(ah.hub_db, "SELECT count(*) FROM membership WHERE from_member = ?",
                                 ("qh/" + second,)), [(0,)])
        # A withdrawal here racing an acceptance there (qh's daemon down
        # while ah's pass runs, so ah does not see it in time): the person
        # is active in both provinces, and both hubs report the conflict.
        third = self.fakes.person(region="630103")
        qh.ok(*H.apply_args(third, approve=True), d=qh.cdir)
        qh.round()
        ((m3,),) = H.query(qh.hub_db, "SELECT id FROM membership WHERE status = 'active' AND id != ?", (second,))
        tid3 = qh.ok("member", "transfer", "--member", m3, "--to", "ah-hf-yh", "--to-province", "ah",
                     "--on", "2024-08-01", d=qh.cdir).out.split()[1]
        qh.round()
        ah.round()
        qh.ok("member", "transfer", "--withdraw", "--transfer", tid3, "--on", "2024-08-02", d=qh.cdir)
        qh.round()
        port = qh.daemon.port
        qh.daemon.stop()
        ah.ok("member", "accept", "--transfer", "qh/" + tid3, "--on", "2024-08-02", d=ah.cdir)
        hr, _ = ah.round()
        self.assertIn("warning: peer qh not followed", hr.err)
        qh.daemon.start(port)
        qh.round()
        hr, _ = ah.round()
        self.assertIn("warning: CONFLICT transfer %s with province qh (withdrawn_there" % tid3, hr.err)
        self.assertIn("CONFLICT transfer %s with province ah (decided_here" % tid3,
                      qh.ok("hub", "peers", d=qh.hub).out)
        if os.environ.get("HUIJI_SHOW"):
            print(hr.err, qh.ok("hub", "peers", d=qh.hub).out, ah.ok("status", d=ah.hub).out,
                  ah.ok("member", "show", "--member", new_id, d=ah.cdir).out)
        for prov in (qh, ah):
            self.assertIn("conflicts   1 transfers across provinces need the operator",
                          prov.ok("status", d=prov.hub).out)
            self.one_active_per_position(prov)
        self.assertEqual(H.query(qh.hub_db, "SELECT status FROM membership WHERE id = ?", (m3,)), [("active",)])
        self.assertEqual(H.query(ah.hub_db, "SELECT status FROM membership WHERE from_member = ?", ("qh/" + m3,)),
                         [("active",)])
        for prov in (qh, ah):
            r = prov.audit(prov.daemon.url)
            self.assertEqual(r.rc, 0, r)
            prov.ok("verify", d=prov.cdir)
            for blob in H.repo_blobs(prov.hub_repo):
                for who in (other, third):
                    for secret in (who.id_number, who.phone, who.name):
                        self.assertNotIn(secret.encode(), blob)

if __name__ == "__main__":
    H.main()
