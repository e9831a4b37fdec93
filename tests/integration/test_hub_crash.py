#!/usr/bin/env python3
"""test_hub_crash.py — `huiji hub run` killed at any point (issue 7 item 1).

What it proves: a hub whose sequencer is SIGKILLed anywhere — between the
round's COMMIT and the refs/huiji/sequenced/<node> refs, between two of
those refs, after the hub feed reached git, inside a libgit2 write (a
stale ref lock) — is continued by the next `hub run`: nothing is
quarantined, every county keeps syncing (also the ones that did nothing),
every change set is sequenced exactly once, and the province converges
and audits clean.

One province for the suite: the hub qh-hub served by a real `git daemon`
on loopback (receive-pack on, so the pre-receive hook checks every push)
and three Xining counties syncing through it.

  named points  every HUIJI_KILL_AT point of a pass (node/killpoint.h:
                hub-before-commit, hub-committed, hub-tip-written:1 and :2,
                outbox-appended:1) is hit once, with work from every county
                pending; the run must die there (rc -9). After each: every
                county syncs, a clean `hub run --once` quarantines nothing
                and each county's rows equal the hub's. After hub-committed
                the hub's registry is ahead of its sequenced refs (the
                window is real), and a hub command (`org create`) run
                then publishes the killed pass's entry without leaving
                the hub feed ahead of the sequenced refs.
  random kills  the counties apply and sync in the background (one small
                change set each time) while `hub run --once` is started
                and SIGKILLed after a random delay drawn from 0 .. 1.25x
                the duration of a whole run (measured under the same
                load), each run started once a
                county pushed since the last one (so each has a round to
                commit), until 50 runs were killed mid-run (HUIJI_LONG=1:
                200). Every background sync must succeed. It reports
                how many kills left the registry ahead of a sequenced ref
                or of the hub feed in git (the windows a random kill can
                only sometimes hit; the named points hit them always).
  two runs      two `hub run --once` at the same time: the second waits
                for the first's pass (the sequencer lock); both succeed.

At the end: a clean `hub run --once`, a sync of every county, another
pass and sync; then nothing quarantined, each county's change sets
sequenced exactly once in order, each county's rows and `followed` table
equal the hub's, `huiji verify` passes on every node and `huiji audit`
passes over the local path and over git://. Random choices come from
HUIJI_SEED (default 1, printed); bounds are hang guards (HUIJI_TIME_SCALE),
nothing asserts how long anything took.

Run:  meson test -C build hub_crash
      (or HUIJI_BIN=build/tools/huiji python3 tests/integration/test_hub_crash.py)
"""

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

SEED = int(os.environ.get("HUIJI_SEED", "1"))
KILLS = 200 if H.LONG else 50
COUNTIES = ["xn-cd", "xn-cz", "xn-cx"]
POINTS = ["hub-before-commit", "hub-committed", "hub-tip-written:1", "hub-tip-written:2", "outbox-appended:1"]
HUB_RE = re.compile(r"^hub: (\d+) sequence entries, (\d+) change sets, .* (\d+) quarantined, ", re.M)


def say(msg):
    sys.stderr.write("  [hub_crash] %s\n" % msg)
    sys.stderr.flush()


class HubCrashCase(unittest.TestCase):
    maxDiff = 6000
    pv = None

    @classmethod
    def setUpClass(cls):
        cls.rng = random.Random(SEED)
        cls.fakes = H.Fakes(SEED)
        cls.lock = threading.Lock()  # Fakes and rng are not thread-safe
        say("seed %d (HUIJI_SEED), %d kills, %s form, HUIJI_TIME_SCALE=%g"
            % (SEED, KILLS, "long" if H.LONG else "short", H.TIME_SCALE))
        cls.tmp = tempfile.mkdtemp(prefix="huiji-hubcrash-")
        pv = cls.pv = P.Province(cls.tmp)
        try:
            pv.make_hub(COUNTIES)
            pv.start_daemon()
            for c in COUNTIES:
                pv.add_county(c, "daemon")
                cls.apply(c)
                cls.sync_ok(c)
            pv.hub_run()
            for c in COUNTIES:
                cls.sync_ok(c)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.pv:
            cls.pv.close()
        shutil.rmtree(cls.tmp, True)

    # --- helpers --------------------------------------------------------------

    @classmethod
    def apply(cls, node):
        with cls.lock:
            person = cls.fakes.person(region=P.REGION[node])
        cls.pv.ok(*H.apply_args(person, on=P.ON), d=cls.pv.dirs[node])

    @classmethod
    def sync_ok(cls, node):
        r = cls.pv.sync(node, "--retries", "0", "--connect-timeout-ms", str(int(H.scaled(10000))),
                        "--idle-timeout-ms", str(int(H.scaled(30000))))
        if r.rc != 0 or not r.out.startswith("synced: "):
            raise AssertionError("%s: sync failed after a hub crash: %r" % (node, r))
        return r

    def hub_once(self, env=None):
        return H.run(["hub", "run", "--once"], self.pv.hub, env=env)

    def clean_pass(self):
        """A whole `hub run --once`: must succeed and quarantine nothing."""
        r = self.hub_once()
        m = HUB_RE.search(r.out)
        if r.rc != 0 or not m or m.group(3) != "0":
            self.fail("the hub run after a crash failed or quarantined: %r" % r)
        self.pv.check_no_quarantine()
        return r

    def sequenced_count(self, node):
        """How many change sets refs/huiji/sequenced/<node> reaches."""
        r = self.pv.git("--git-dir", self.pv.hub_repo, "rev-list", "--count", "refs/huiji/sequenced/" + node)
        return int(r.out.strip()) if r.rc == 0 else 0

    def converge(self):
        """Pass, sync everywhere, pass, sync everywhere: then every check."""
        pv = self.pv
        self.clean_pass()
        for c in COUNTIES:
            self.sync_ok(c)
        self.clean_pass()
        for c in COUNTIES:
            self.sync_ok(c)
        pv.check_no_quarantine()
        for c in COUNTIES:
            pv.check_sequenced_once(c)
            pv.check_rows(c)
            pv.check_followed(c)
        pv.check_verify(P.HUB, *COUNTIES)
        pv.check_audit()

    # --- the tests --------------------------------------------------------------

    def test_1_named_points(self):
        pv = self.pv
        for point in POINTS:
            for c in COUNTIES:
                self.apply(c)
                self.sync_ok(c)
            before = {c: pv.hub_included(c) for c in COUNTIES}
            r = self.hub_once(env={"HUIJI_KILL_AT": point})
            if r.rc != -9:
                self.fail("hub run was not killed at %s: %r" % (point, r))
            if point == "hub-committed":
                for c in COUNTIES:
                    self.assertGreater(pv.hub_included(c), before[c], "%s: the round was committed" % c)
                    self.assertLess(self.sequenced_count(c), pv.hub_included(c),
                                    "%s: killed before its sequenced ref moved" % c)
                # A hub command now publishes the killed pass's entry: the
                # sequenced refs must move first, or no county can sync.
                pv.ok("org", "create", "--id", "qh-xn-t1", "--name", "测试工会", "--kind", "township",
                      "--parent", P.UNION[COUNTIES[0]], "--region", P.REGION[COUNTIES[0]], d=pv.hub)
            for c in COUNTIES:  # nobody is stopped by the crash
                self.sync_ok(c)
            self.clean_pass()
            for c in COUNTIES:
                self.assertEqual(self.sequenced_count(c), pv.hub_included(c), c)
                self.sync_ok(c)
                pv.check_rows(c)
            say("killed at %s: continued" % point)
        self.converge()

    def hub_feed_count(self):
        r = self.pv.git("--git-dir", self.pv.hub_repo, "rev-list", "--count", "refs/huiji/hub/" + P.HUB)
        return int(r.out.strip()) if r.rc == 0 else 0

    def window(self):
        """Where the last kill left the hub: 'refs' if its registry is
        ahead of a sequenced ref (killed after a COMMIT, before the refs),
        'feed' if only ahead of the hub feed in git, else ''."""
        pv = self.pv
        if any(self.sequenced_count(c) < pv.hub_included(c) for c in COUNTIES):
            return "refs"
        last = H.query(pv.hub_db, "SELECT coalesce(max(seq), 0) FROM changelog")[0][0]
        return "feed" if self.hub_feed_count() < last else ""

    def test_2_random_kills(self):
        pv = self.pv
        stop = threading.Event()
        errors, syncs = [], [0]

        def county(node):
            try:
                while not stop.is_set():
                    self.apply(node)
                    self.sync_ok(node)
                    syncs[0] += 1
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append("%s: %s" % (node, e))
                stop.set()

        def feeds():
            return [pv.hub_feed_tip(c) for c in COUNTIES]

        def start_after_a_push():
            """`hub run --once` once some county pushed since the last
            run, so that each run has a round to commit."""
            seen = feeds()
            H.wait_until(lambda: feeds() != seen or stop.is_set(), "a county push between hub runs")
            return subprocess.Popen([H.huiji_bin(), "hub", "run", "--once", "--dir", pv.hub],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=H.child_env())

        def finished_ok(p, out, err):
            if p.returncode != 0 or b" 0 quarantined" not in out:
                self.fail("a hub run between kills failed: rc=%s\n%s%s" % (
                    p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")))

        workers = [threading.Thread(target=county, args=(c,), daemon=True) for c in COUNTIES]
        for w in workers:
            w.start()
        kills = tries = finished = 0
        landed = {"refs": 0, "feed": 0, "": 0}
        try:
            # How long a whole run takes here, under the same load.
            times = []
            for _ in range(3):
                p = start_after_a_push()
                t0 = time.monotonic()
                out, err = p.communicate(timeout=H.HANG)
                times.append(time.monotonic() - t0)
                finished_ok(p, out, err)
            span = 1.25 * sorted(times)[1]
            say("a whole hub run takes %.3f s here: kills land in 0 .. %.3f s" % (sorted(times)[1], span))
            while kills < KILLS and tries < 6 * KILLS and not stop.is_set():
                tries += 1
                p = start_after_a_push()
                time.sleep(self.rng.uniform(0, span))
                p.kill()
                out, err = p.communicate(timeout=H.HANG)
                if p.returncode == -9:
                    kills += 1
                    landed[self.window()] += 1
                else:
                    finished_ok(p, out, err)
                    finished += 1
        finally:
            stop.set()
            for w in workers:
                w.join(H.HANG)
        if errors:
            self.fail("a county's sync failed while the hub was being killed:\n    " + "\n    ".join(errors))
        say("%d hub runs killed mid-run (%d left the registry ahead of a sequenced ref, %d ahead of the hub "
            "feed only), %d finished first; %d county syncs meanwhile"
            % (kills, landed["refs"], landed["feed"], finished, syncs[0]))
        self.assertGreaterEqual(kills, KILLS, "too few runs were killed mid-run")
        self.converge()

    def test_3_two_runs_at_once(self):
        pv = self.pv
        for c in COUNTIES:
            self.apply(c)
            self.sync_ok(c)
        cmd = [H.huiji_bin(), "hub", "run", "--once", "--dir", pv.hub]
        procs = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=H.child_env()) for _ in range(2)]
        for p in procs:
            out, err = p.communicate(timeout=H.HANG)
            if p.returncode != 0 or b" 0 quarantined" not in out:
                self.fail("two hub runs at once: rc=%s\n%s%s" % (p.returncode, out.decode(), err.decode()))
        self.converge()
        pv.check_audit(pv.daemon.url)


if __name__ == "__main__":
    H.main()
