#!/usr/bin/env python3
"""test_faults.py — interrupted transfers (DESIGN §6 "Intermittent connectivity").

What it proves: a sync interrupted at any point — the server killed or
silent, the client killed, the link cut — loses nothing, duplicates
nothing, leaves no process behind and never hangs; the next sync on a good
link resumes where the hub's ref stopped.

One province for the whole suite (recorded once, in parallel): the hub
qh-hub and its bare hub.git served by a real `git daemon` on loopback
(receive-pack on, so the hub's pre-receive hook checks every push), and
Xining counties, each reaching the daemon through its own faultproxy.py
link (pass / cut-after-bytes / stall, switched between syncs on the same
port, so the URL given at init holds):

  xn-cz 城中区  N change sets (400; HUIJI_LONG 3000): the SERVER dies
        mid-push — the link drops every connection after a random number
        of bytes inside a chunk's pack, or the git daemon (and its
        receive-pack) is SIGKILLed as soon as the hub's ref shows a chosen
        number of chunks landed; the daemon comes back on the same port;
  xn-cb 城北区  300 (1000) change sets: the CLIENT is SIGKILLed, several
        times — the huiji process alone (its transport child is orphaned)
        or its whole session (a power cut) — as soon as the hub's ref shows
        k more chunks, or after a random delay; then fresh nodes of 大通's
        union are killed while they fetch what the hub sequenced: as soon
        as the fetch's temporary pack appears, as soon as the fetched hub
        ref moved (following, rebasing), after a random delay (3 nodes;
        HUIJI_LONG 5);
  xn-hy 湟源县  a hub that accepts and never answers (stall): bounded,
        "offline: …" naming the limit, `status` answers while the sync
        waits, nothing changed locally; a hub that stops answering in the
        middle of a push (the daemon SIGSTOPped once the hub's ref shows
        two chunks landed): the limit ends it, the next sync resumes; a
        killed sync's orphaned transport child ends within its own limit;
  xn-cx 城西区  chunked push on a link whose first K connections drop after
        B bytes: small chunks pass, the chunk holding one big change set (a
        platform import of 1000 applications) is cut: the hub's ref stops
        at that chunk boundary (seq > 0), the next sync resumes there
        (pushes exactly what is missing), and everything arrives;
  xn-dt-*       a sync killed while it holds a ref lock in its replica
        (incoming or outgoing): the next sync finishes the job.

After every interruption: the county's own change log is unchanged, the
hub's feed ref is a commit of the county's own feed and never goes back,
the county's order is a prefix of the hub's, `huiji verify` passes and no
process of the interrupted sync is left running. At the end of each case:
the hub's ref holds exactly the county's feed (rev-list count == change log
rows), the hub's order holds each change set exactly once (seqs 1..N), the
county follows the hub with nothing pending and verifies; the hub verifies
and `huiji audit` passes.

Faults are event-driven: each kill or stop waits for its event (the hub's
ref moved, a temporary pack or ref lock appeared, the link accepted a
connection) under a generous bound (harness.HANG, scaled by
HUIJI_TIME_SCALE); a wait that runs out fails naming its event, and each
kind of fault must have landed at least once while the sync was running.
The limits given to huiji (connect / idle timeouts) are scaled the same
way. Nothing asserts how long anything took.

HUIJI_LONG=1 adds volume, not kinds of fault: xn-cz 3000 change sets in
chunks of 200 (short: 400 in 50), xn-cb 1000 in 50 (300 in 20), five
fetching nodes (three), 400 change sets for the stalled push (100), 30
attempts to catch a ref lock (10), and the hub's verify + audit after
every delivered node (once per case). HUIJI_FAULTS_N sets N; random
choices come from HUIJI_SEED (default 1, printed).

Run:  meson test -C build faults
      (or HUIJI_BIN=build/tools/huiji python3 tests/integration/test_faults.py)
"""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import gitserver as G  # noqa: E402
import province as P  # noqa: E402

SEED = int(os.environ.get("HUIJI_SEED", "1"))
# Under the sanitizers (HUIJI_SANITIZED, set by tools/run-tests) half the
# volume in chunks half as big: as many chunks, so the same faults land on
# the same code paths, in half the time.
SAN = 2 if os.environ.get("HUIJI_SANITIZED") and not H.LONG else 1
N_BIG = int(os.environ.get("HUIJI_FAULTS_N") or (3000 if H.LONG else 400 // SAN))
N_CLIENT = 1000 if H.LONG else 300 // SAN
CHUNK_BIG = 200 if H.LONG else 50 // SAN    # xn-cz's chunks (~750 bytes of pack a change set)
CHUNK_CLIENT = 50 if H.LONG else 20 // SAN  # xn-cb's and the fetchers' chunks
N_STALL = 400 if H.LONG else 100            # xn-hy's change sets pushed while the daemon stops
FETCHERS = 5 if H.LONG else 3        # fresh nodes killed while fetching
CZ, CB, CX, DT, HY = "xn-cz", "xn-cb", "xn-cx", "xn-dt", "xn-hy"
COUNTIES = [CZ, CB, CX, DT, HY]
# A sync that did not complete says so in its one line, on stderr.
OFFLINE_RE = re.compile(r"^huiji: offline: .+; (\d+) change sets pushed, (\d+) not yet sequenced by the hub")
SYNCED_RE = re.compile(r"^synced: pushed (\d+) change sets, received (\d+) hub entries")
group_procs = G.group_procs


def say(msg):
    sys.stderr.write("  [faults] %s\n" % msg)
    sys.stderr.flush()


def ms(seconds):
    """A limit for huiji, scaled for this build: its --*-ms value and the
    way huiji prints it ("1.5 s", as C's %g)."""
    v = int(H.scaled(seconds) * 1000)
    return str(v), "%g s" % (v / 1000.0)


class FaultsCase(unittest.TestCase):
    maxDiff = 6000
    pv = None

    @classmethod
    def setUpClass(cls):
        cls.rng = random.Random(SEED)
        t0 = time.monotonic()
        say("seed %d (HUIJI_SEED), N=%d (HUIJI_FAULTS_N), %s form, HUIJI_TIME_SCALE=%g"
            % (SEED, N_BIG, "long" if H.LONG else "short", H.TIME_SCALE))
        cls.tmp = tempfile.mkdtemp(prefix="huiji-faults-")
        pv = cls.pv = P.Province(cls.tmp)
        try:
            pv.make_hub(COUNTIES)
            pv.start_daemon()
            for c in COUNTIES:
                pv.add_county(c, "link")
            # The counties record offline, in parallel (one writer each).
            work = {CZ: N_BIG, CB: N_CLIENT, DT: 5, HY: 5}
            errors = []

            def fill(node, n, seed):
                try:
                    pv.fill(node, n, H.Fakes(seed))
                except Exception as e:  # noqa: BLE001 (reported below)
                    errors.append("%s: %s" % (node, e))
            threads = [threading.Thread(target=fill, args=(c, n, SEED * 100 + i))
                       for i, (c, n) in enumerate(work.items())]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise AssertionError("recording change sets failed: %s" % errors)
            say("province recorded in %.0f s (information only)" % (time.monotonic() - t0))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.pv:
            cls.pv.close()
        if os.environ.get("HUIJI_KEEP") != "1":
            shutil.rmtree(cls.tmp, True)

    # --- helpers --------------------------------------------------------------

    def sync_args(self, node, retries=0, chunk=200, extra=()):
        return ["sync", "--dir", self.pv.dirs[node], "--retries", str(retries), "--backoff-ms", "50",
                "--connect-timeout-ms", ms(10)[0], "--idle-timeout-ms", ms(20)[0], "--chunk", str(chunk)] + list(extra)

    def start_sync(self, node, **kw):
        return subprocess.Popen([H.huiji_bin()] + self.sync_args(node, **kw), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=H.child_env(),
                                start_new_session=True)

    def finish(self, proc, settle=True):
        """Wait for a started huiji (hang guard), then for every process of
        its session and (settle) for the daemon to end the connections it
        served; returns a Result."""
        try:
            out, err = proc.communicate(timeout=P.HANG)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            self.fail("huiji sync hung for more than %.0f s" % P.HANG)
        self.assertNoneLeft(proc.pid)
        if settle:
            self.settle()
        return H.Result(proc.args[1:], proc.returncode, out.decode("utf-8", "replace"),
                        err.decode("utf-8", "replace"))

    def settle(self):
        """Until the daemon serves no connection. A receive-pack whose client
        was killed or cut may still run the hook and move the hub's ref;
        the next sync must not race it: the hook then refuses a valid push
        made against the ref as advertised (test_sync_security.py,
        test_hook_judges_a_push_against_its_own_base)."""
        if self.pv.daemon.proc is not None:
            self.pv.daemon.wait_idle("the git daemon to finish the connections of an interrupted sync")

    def assertNoneLeft(self, pgid):
        """No process of that sync's session may outlive it for long: an
        orphaned transport child that never ends is a hang."""
        try:
            H.wait_until(lambda: not group_procs(pgid), "the processes of an interrupted sync to end",
                         interval=0.05)
        except AssertionError as e:
            left = group_procs(pgid)
            G.killpg(pgid)
            self.fail("%s; still running: %s" % (e, left))

    def sync_ok(self, node, **kw):
        r = self.pv.run(*self.sync_args(node, **kw))
        self.assertEqual(r.rc, 0, "a sync on a good link failed: %r" % r)
        self.assertRegex(r.out, SYNCED_RE)
        return r

    def assertOutcome(self, r):
        """Exactly one outcome line: 'synced:' on stdout with rc 0, or
        'huiji: offline:' on stderr with rc > 0 (an exit, never a signal or
        another error), and nothing else."""
        lines = r.out_lines if r.rc == 0 else r.out_lines + r.err_lines
        self.assertEqual(len(lines), 1, "expected one outcome line: %r" % r)
        if r.rc == 0:
            self.assertRegex(r.out, SYNCED_RE, r)
        else:
            self.assertGreater(r.rc, 0, "sync died from a signal: %r" % r)
            self.assertRegex(r.err, OFFLINE_RE, "expected an 'offline:' outcome: %r" % r)
        return lines[0]

    def remote_seq(self, node):
        """How many of the county's change sets the hub's feed ref holds,
        checking the ref is a commit of the county's own feed."""
        tip = self.pv.hub_feed_tip(node)
        if tip is None:
            return 0
        own = self.pv.own_feed_commits(node)
        self.assertIn(tip, own, "the hub's feed ref for %s is not a commit of the county's own feed" % node)
        return own.index(tip) + 1

    def assertConsistent(self, node, log_before, remote_before):
        """What must hold after any interruption; returns the remote seq."""
        pv = self.pv
        self.assertEqual(pv.changelog(node), log_before, "the county's change log changed")
        seq = self.remote_seq(node)
        self.assertGreaterEqual(seq, remote_before, "the hub's feed ref went back")
        mine, hub = pv.followed(node), pv.hub_followed_for(node)
        self.assertEqual(mine, hub[:len(mine)], "the county's order is not a prefix of the hub's")
        r = pv.run("verify", d=pv.dirs[node])
        self.assertEqual(r.rc, 0, "verify failed after an interruption: %r" % r)
        r = pv.run("status", d=pv.dirs[node])
        self.assertEqual(r.rc, 0, "status failed after an interruption: %r" % r)
        return seq

    def assertDelivered(self, node, hub_too=True):
        """The end state: the hub holds exactly the county's feed and
        sequenced each change set exactly once; the county follows it and
        verifies. hub_too: the hub also verifies, quarantined nothing and
        passes the audit (each a walk of the whole hub: once per case,
        after every node only with HUIJI_LONG)."""
        pv = self.pv
        n = len(pv.changelog(node))
        tip, count = pv.remote_feed(node)
        self.assertEqual(tip, pv.own_feed_commits(node)[-1], "the hub's feed ref is not the county's tip")
        self.assertEqual(count, n, "git rev-list count of the hub's feed != the county's change log rows")
        pv.hub_run()
        pv.check_sequenced_once(node)
        r = self.sync_ok(node)
        self.assertIn(", 0 change sets pending", r.out)
        pv.check_followed(node)
        pv.check_verify(node)
        if hub_too or H.LONG:
            pv.check_verify(P.HUB)
            pv.check_no_quarantine()
            pv.check_audit()

    def wait_event(self, proc, seen, what, interval=0.002):
        """Poll seen() while the sync `proc` runs: True once seen (the sync
        still running when it was), False if the sync ended first. Fails
        after HANG seconds: an event that never comes is not a pass."""
        def look():
            alive = proc.poll() is None
            if seen():
                return "seen" if alive else "ended"
            return None if alive else "ended"
        return H.wait_until(look, what, interval=interval) == "seen"

    def wait_remote(self, node, proc, at_least):
        """Until the hub's feed ref for `node` holds at least `at_least`
        change sets (True) or the sync ended (False)."""
        def seen():
            tip = self.pv.hub_feed_tip(node)
            return tip is not None and self._own_index.get(tip, 0) >= at_least
        return self.wait_event(proc, seen, "the hub's ref for %s to hold %d change sets" % (node, at_least))

    def own_index(self, node):
        self._own_index = {c: i + 1 for i, c in enumerate(self.pv.own_feed_commits(node))}


class TestFaults(FaultsCase):

    def setUp(self):
        self.t0 = time.monotonic()

    def tearDown(self):
        say("%s: %.0f s (information only)" % (self.id().split(".")[-1], time.monotonic() - self.t0))

    def test_1_server_dies_mid_push(self):
        """xn-cz pushes N change sets in chunks (50; HUIJI_LONG 200); the
        server side dies in the middle: first the link drops inside a
        chunk's pack, then the git daemon is SIGKILLed once the hub shows k
        chunks landed (at least one such kill must hit a running push)."""
        pv, rng, node, chunk = self.pv, self.rng, CZ, CHUNK_BIG
        n = len(pv.changelog(node))
        self.assertEqual(n, N_BIG)
        self.own_index(node)
        log = pv.changelog(node)
        remote, seen = 0, []
        # 1. The link drops inside a pack (a chunk of 200 is ~150 KB here,
        # ~750 bytes a change set): every connection of this sync is cut
        # after B bytes, retries too.
        for _ in range(2):
            b = rng.randint(2000, 300 * chunk)
            pv.link(node, "cut-after-bytes", nbytes=b)
            r = self.finish(self.start_sync(node, retries=1, chunk=chunk))
            pv.link(node, "pass")
            self.assertOutcome(r)
            self.assertNotEqual(r.rc, 0, "a sync whose every connection is cut after %d bytes succeeded: %r" % (b, r))
            remote = self.assertConsistent(node, log, remote)
            seen.append(("cut", b, remote))
        # 2. The daemon is killed once the hub holds k more chunks.
        kills = mid_push = 0
        while remote < n and kills < 4:
            target = min(n - chunk, remote + chunk * rng.randint(1, 4))
            proc = self.start_sync(node, retries=0, chunk=chunk)
            reached = self.wait_remote(node, proc, target)
            pv.daemon.kill()
            r = self.finish(proc)
            pv.daemon.start(port=pv.daemon.port)
            self.assertOutcome(r)
            before = remote
            remote = self.assertConsistent(node, log, remote)
            self.assertTrue(remote % chunk == 0 or remote == n,
                            "the hub's ref stopped at seq %d, not at a chunk boundary" % remote)
            seen.append(("daemon killed", target if reached else "after the sync", before, remote, r.rc))
            kills += 1
            mid_push += reached and r.rc != 0
        say("server deaths (kind, bytes/target, hub seq after): %s" % seen)
        self.assertGreater(mid_push, 0, "no daemon kill landed while the push was running: %s" % seen)
        # 3. A clean sync sends exactly what is missing.
        r = self.sync_ok(node, chunk=chunk)
        self.assertEqual(int(SYNCED_RE.match(r.out).group(1)), n - remote,
                         "the resuming sync did not push exactly what the hub lacked: %r" % r)
        self.assertDelivered(node)

    def test_2_client_killed_mid_push_and_mid_fetch(self):
        """SIGKILL `huiji sync`, several times: the huiji process alone (its
        transport child is orphaned and may still be at work when the
        clerk runs sync again at once) or its whole session (a power cut).
        When: as soon as the hub's ref shows k more chunks of xn-cb's
        landed (mid-push), as soon as a fetch's temporary pack appears in a
        fresh node's replica (mid-fetch), as soon as the fetched hub ref
        moved (while following and rebasing), or after a random delay.
        Each event-driven kind must land at least once on a running sync."""
        pv, rng, chunk = self.pv, self.rng, CHUNK_CLIENT
        outcomes, stale = [], []
        landed = {"mid-push": 0, "temporary pack": 0, "hub ref fetched": 0}  # kills of a running sync after the event

        def clean_sync(node, **kw):
            """A sync on a good link after the kills. A ref lock left by a
            killed sync (test_6) is recorded, removed as an operator
            would, and the sync retried, so the rest is still checked."""
            for _ in range(5):
                r = pv.run(*self.sync_args(node, **kw))
                m = re.search(r"failed to lock file '([^']*/refs/huiji/[^']*\.lock)'", r.out + r.err)
                if r.rc == 0 or not m:
                    break
                stale.append((node, m.group(1).split("replica.git/")[-1]))
                os.unlink(m.group(1))
            self.assertEqual(r.rc, 0, "a sync on a good link failed after the kills: %r" % r)
            return r

        def kill(node, proc, when, event=None):
            """event: the kind of event seen while the sync ran (counted in
            `landed` if the kill then hit the running huiji)."""
            whole = rng.random() < 0.5
            try:
                if whole:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except ProcessLookupError:
                pass
            self.reap(proc)
            outcomes.append((node, when, "session" if whole else "process", proc.returncode,
                             len(group_procs(proc.pid))))
            if event and proc.returncode == -signal.SIGKILL:
                landed[event] += 1
            # An orphaned transport child (process kill) finishes its
            # fetch or push on this good link; wait for it (bounded) so
            # the next sync does not race it (test_7 covers a stalled one),
            # nor the daemon's side of the connection.
            self.assertNoneLeft(proc.pid)
            self.settle()

        triggers = ["temporary pack", "hub ref fetched", "random delay", "temporary pack", "hub ref fetched"]
        for i in range(FETCHERS):
            node = "xn-f%d" % i
            pv.add_county(node, "link", union="qh-xn")
            pv.fill(node, 3, H.Fakes(SEED * 100 + 90 + i), repack_every=0)
        pv.hub_run()  # their enrolments precede what they are to be given

        # Mid-push: xn-cb.
        self.own_index(CB)
        log = pv.changelog(CB)
        self.assertEqual(len(log), N_CLIENT)
        remote = self.remote_seq(CB)
        for i in range(6):
            proc = self.start_sync(CB, retries=0, chunk=chunk)
            event = None
            if i % 2 == 0 and remote < N_CLIENT - chunk:
                target = min(N_CLIENT - chunk, remote + chunk * rng.randint(1, 4))
                event = "mid-push" if self.wait_remote(CB, proc, target) else None
                when = "hub at >= %d" % target
            else:
                time.sleep(rng.uniform(0.0, 0.8))
                when = "random delay"
            kill(CB, proc, when, event)
            remote = self.assertConsistent(CB, log, remote)
            outcomes[-1] += (remote,)
        clean_sync(CB, chunk=chunk)
        self.assertDelivered(CB, hub_too=False)  # the hub sequences CB's change sets
        # Mid-fetch and mid-rebase: fresh nodes of the city (enrolled before
        # xn-cb's change sets were sequenced), each first fetching every
        # change set the hub delivered to it (thousands: xn-cb's).
        for i, trig in enumerate(triggers[:FETCHERS]):
            node = "xn-f%d" % i
            log = pv.changelog(node)
            for attempt in range(2):
                proc = self.start_sync(node, retries=0, chunk=chunk)
                when = trig if attempt == 0 else "random delay"
                seen = self.wait_for(node, proc, when)
                kill(node, proc, when, when if seen else None)
                self.assertConsistent(node, log, 0)
                outcomes[-1] += (len(pv.followed(node)),)
            clean_sync(node)
            self.assertDelivered(node, hub_too=i == FETCHERS - 1)
            self.assertGreaterEqual(len(pv.followed(node)), N_CLIENT)
        say("client kills (node, when, killed, rc, processes left just after, hub seq | followed rows): %s"
            % outcomes)
        self.assertEqual(pv.followed(CB), pv.hub_followed_for(CB)[:len(pv.followed(CB))])
        self.assertEqual(stale, [], "killed syncs left ref locks that made every later sync fail until removed "
                                    "by hand (see test_6)")
        self.assertEqual([k for k, v in landed.items() if not v], [],
                         "kinds of kill that never hit a running sync after their event: %s" % outcomes)

    def wait_for(self, node, proc, trigger):
        """Until `trigger` is seen in the node's replica while the sync
        runs (True) or the sync ended (False); "random delay" sleeps."""
        if trigger == "random delay":
            time.sleep(self.rng.uniform(0.0, 0.3))
            return False
        packs = os.path.join(self.pv.replica(node), "objects", "pack")
        hubref = os.path.join(self.pv.replica(node), "refs", "huiji", "incoming", "hub", P.HUB)

        def seen():
            if trigger == "hub ref fetched":
                return os.path.exists(hubref)
            try:
                return any(f.startswith("pack_git2_") for f in os.listdir(packs))
            except OSError:
                return False
        return self.wait_event(proc, seen, "%s in %s's replica" % (trigger, node), interval=0.001)

    def test_3_hub_that_never_answers(self):
        """faultproxy --mode stall: the sync gives up within its limits with
        an 'offline:' line naming the timeout; status answers; nothing
        changed locally."""
        pv, node = self.pv, HY
        limit, shown = ms(1.5)
        link = pv.link(node, "stall")
        try:
            before = H.state(pv.db(node))
            files = self.replica_refs(node)
            proc = subprocess.Popen([H.huiji_bin(), "sync", "--dir", pv.dirs[node], "--retries", "1", "--backoff-ms",
                                     "100", "--connect-timeout-ms", limit, "--idle-timeout-ms", limit],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=H.child_env(), start_new_session=True)
            # While the sync waits on the silent hub (the link accepted its
            # connection and holds it), the node answers.
            link.wait_accepted(1, alive=proc, what="a sync to a stalled hub")
            during = pv.run("status", d=pv.dirs[node])
            still_running = proc.poll() is None
            r = self.finish(proc)
            self.assertEqual(during.rc, 0, "status while a sync waits on a silent hub: %r" % during)
            self.assertRegex(during.out, r"pending\s+5 change sets", during)
            self.assertTrue(still_running, "status returned only after the stalled sync gave up (two attempts of %s "
                                           "each): it waited for the sync instead of answering: %r" % (shown, r))
            line = self.assertOutcome(r)
            self.assertNotEqual(r.rc, 0, r)
            self.assertIn("connect timeout %s" % shown, line, "the outcome should name the timeout: %r" % r)
            self.assertRegex(line, r"; 0 change sets pushed, 5 not yet sequenced", r)
            self.assertEqual(H.state(pv.db(node)), before, "a sync that never reached the hub changed the node")
            self.assertEqual(self.replica_refs(node), files, "a sync that never reached the hub moved refs")
            st = pv.run("status", d=pv.dirs[node])
            self.assertEqual(st.rc, 0, st)
            self.assertRegex(st.out, r"pending\s+5 change sets", st)
        finally:
            pv.link(node, "pass")
        self.sync_ok(node)
        self.assertDelivered(node)

    def test_4_hub_stops_answering_mid_push(self):
        """The git daemon is SIGSTOPped once the hub shows two chunks of
        xn-hy's landed: the connection stays open and silent; the idle (or,
        between chunks, the connect) limit ends the attempt; the next sync
        resumes at the chunk boundary."""
        pv, node = self.pv, HY
        # 3 s: long enough that a healthy chunk (its hook included) never
        # trips it before the stop, even on a loaded machine.
        limit, shown = ms(3)
        pv.fill(node, N_STALL, H.Fakes(SEED * 100 + 77))
        self.own_index(node)
        log = pv.changelog(node)
        remote = self.remote_seq(node)
        proc = self.start_sync(node, retries=0, chunk=20,
                               extra=["--connect-timeout-ms", limit, "--idle-timeout-ms", limit])
        reached = self.wait_remote(node, proc, remote + 40)
        pv.daemon.pause()
        try:
            r = self.finish(proc, settle=False)  # a stopped daemon serves on
        finally:
            pv.daemon.resume()
        pv.daemon.wait_idle()
        line = self.assertOutcome(r)
        self.assertTrue(reached, "the sync ended before the hub showed two of its chunks: %r" % r)
        self.assertNotEqual(r.rc, 0, "a sync whose hub stopped answering mid-push succeeded: %r" % r)
        self.assertTrue("no progress for %s" % shown in line or "connect timeout %s" % shown in line,
                        "the outcome should name the limit (%s): %r" % (shown, r))
        remote = self.assertConsistent(node, log, remote)
        say("stopped mid-push: rc=%d, hub seq %d of %d: %s" % (r.rc, remote, len(log), line))
        r = self.sync_ok(node, chunk=20)
        self.assertEqual(int(SYNCED_RE.match(r.out).group(1)), len(log) - remote, r)
        self.assertDelivered(node)

    def test_5_chunked_push_on_a_dropping_link(self):
        """xn-cx: 40 small change sets, one platform import of 1000
        applications (one big change set), 40 small ones; --chunk 10. The
        link cuts each of its first K connections after B bytes: more than
        a small chunk's push, less than the big one's."""
        pv, node, chunk = self.pv, CX, 10
        fakes = H.Fakes(SEED * 100 + 55)
        pv.fill(node, 40, fakes, repack_every=0)
        rows = ["name,id_number,phone,plate,group,platform"]
        for _ in range(1000):
            p = fakes.person(region=P.REGION[node])
            rows.append("%s,%s,%s,%s,truck_driver,yunmanman" % (p.name, p.id_number, p.phone, p.get("plate") or ""))
        csv = os.path.join(self.tmp, "platform.csv")
        with open(csv, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
        pv.ok("import", "platform", csv, "--on", P.ON, d=pv.dirs[node])
        pv.fill(node, 40, fakes, repack_every=0)
        log = pv.changelog(node)
        n = len(log)
        self.assertEqual(n, 81)
        big = max(range(n), key=lambda i: len(log[i][2])) + 1
        self.assertEqual(big, 41)
        self.own_index(node)
        # B: above what a small chunk's push needs, far below the big one's.
        small = max(len(e) for s, h, e in log if s != big) * chunk
        b = max(3 * small, 20000)
        self.assertLess(b, len(log[big - 1][2]) // 2, "the import change set is not big enough for this test")
        k = 8
        pv.link(node, "cut-after-bytes", nbytes=b, times=k)
        try:
            r1 = self.finish(self.start_sync(node, retries=0, chunk=chunk))
            self.assertOutcome(r1)
            self.assertNotEqual(r1.rc, 0, "the push of the big chunk should have been cut: %r" % r1)
            # What the hub advertises now: an intermediate commit, seq > 0.
            ls = pv.git("ls-remote", pv.urls[node], "refs/huiji/feeds/" + node)
            self.assertEqual(ls.rc, 0, ls)
            tip = ls.out.split()[0]
            first = self._own_index[tip]
            self.assertEqual(first, (big - 1) // chunk * chunk,
                             "the hub should hold every chunk before the big change set's: %r" % r1)
            self.assertGreater(first, 0)
            self.assertEqual(int(OFFLINE_RE.match(r1.err).group(1)), first, r1)
            remote = self.assertConsistent(node, log, first)
            # Syncs go on until the link's K cut connections are used up;
            # none of them re-sends a chunk the hub has (pushed == new).
            outcomes = [(r1.out + r1.err).strip()]
            for _ in range(k):
                r = self.finish(self.start_sync(node, retries=0, chunk=chunk))
                self.assertOutcome(r)
                outcomes.append((r.out + r.err).strip())
                m = SYNCED_RE.match(r.out) if r.rc == 0 else OFFLINE_RE.match(r.err)
                before = remote
                remote = self.assertConsistent(node, log, remote)
                self.assertEqual(int(m.group(1)), remote - before,
                                 "a sync reported pushing change sets the hub already had: %r" % r)
                self.assertTrue(remote % chunk == 0 or remote == n)
                if r.rc == 0:
                    break
            say("chunked push, B=%d K=%d: %s" % (b, k, outcomes))
            self.assertEqual(remote, n, "not everything arrived once the link stopped cutting: %s" % outcomes)
        finally:
            pv.link(node, "pass")
        self.assertDelivered(node)

    def test_6_sync_killed_while_moving_refs(self):
        """A sync SIGKILLed (whole session: a power cut) while it holds a
        ref lock in its replica: refs/huiji/incoming/* (moving what it
        fetched) or refs/huiji/outgoing/<node> (the chunk it pushes). The
        next sync on a good link must finish the job (DESIGN §6: safe to
        interrupt at any byte). Each attempt watches for the lock file and
        kills the session while it exists. The lock lives for microseconds:
        if no attempt (10; HUIJI_LONG 30) catches it, the lock a killed
        sync leaves is staged by hand in the last node, so the check still
        runs (and says so)."""
        pv = self.pv
        for kind in ("incoming", "outgoing"):
            with self.subTest(lock=kind):
                hit = None
                for attempt in range(30 if H.LONG else 10):
                    node = "xn-dt-%s%d" % (kind[:2], attempt)
                    pv.add_county(node, "link", union=P.UNION[DT])
                    pv.fill(node, (60 if H.LONG else 30) if kind == "outgoing" else 1, H.Fakes(SEED * 1000 + attempt),
                            repack_every=0)
                    log = pv.changelog(node)
                    proc = self.start_sync(node, retries=0, chunk=1)
                    hit = self.wait_lock(node, proc, kind)
                    G.killpg(proc.pid)
                    self.reap(proc)
                    self.assertNoneLeft(proc.pid)
                    self.settle()
                    if hit:
                        break
                if hit:
                    say("%s lock caught at attempt %d: %s" % (kind, attempt + 1, hit))
                else:
                    hit = ("refs/huiji/incoming/hub/%s.lock" % P.HUB if kind == "incoming"
                           else "refs/huiji/outgoing/%s.lock" % node)
                    os.makedirs(os.path.dirname(os.path.join(pv.replica(node), hit)), exist_ok=True)
                    with open(os.path.join(pv.replica(node), hit), "w"):
                        pass  # what a sync killed between lock and rename leaves
                    say("%s lock never caught in %d attempts: staged %s by hand" % (kind, attempt + 1, hit))
                self.assertConsistent(node, log, 0)
                left = [f for f in self.lock_files(node)]
                r = pv.run(*self.sync_args(node))
                self.assertEqual(r.rc, 0, "killed while %s existed (left behind: %s); the next sync on a good link "
                                          "fails: %r" % (hit, left, r))
                self.assertDelivered(node, hub_too=kind == "outgoing")

    def test_7_orphaned_transport_child_is_bounded(self):
        """`huiji sync` (the process, not its session: kill -9 PID, the OOM
        killer) is SIGKILLed while its transport child waits on a hub that
        never answers. The child's watchdog was its parent: it must not
        outlive it unbounded (transport.h: every call returns within its
        limits). Limit 2 s; guard 60 s (both scaled)."""
        pv, node = self.pv, HY
        limit, shown = ms(2)
        link = pv.link(node, "stall")
        try:
            proc = subprocess.Popen([H.huiji_bin(), "sync", "--dir", pv.dirs[node], "--retries", "0",
                                     "--connect-timeout-ms", limit, "--idle-timeout-ms", limit],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=H.child_env(), start_new_session=True)
            # The transport child connects: once the link holds its
            # connection, the child exists and waits on the silent hub.
            link.wait_accepted(1, alive=proc, what="a sync to a stalled hub")
            self.assertEqual(len(group_procs(proc.pid)), 2, "no transport child seen: %s" % group_procs(proc.pid))
            proc.kill()
            self.reap(proc)
            try:
                H.wait_until(lambda: not group_procs(proc.pid), "the orphaned transport child of a killed sync to "
                             "end (its limit was %s)" % shown, timeout=H.scaled(60), interval=0.1)
            finally:
                G.killpg(proc.pid)
        finally:
            pv.link(node, "pass")

    def reap(self, proc):
        """Wait for a killed huiji itself (not for EOF on its pipes: an
        orphaned child may hold them)."""
        proc.wait(timeout=P.HANG)
        proc.stdout.close()
        proc.stderr.close()

    def lock_files(self, node):
        base = os.path.join(self.pv.replica(node), "refs", "huiji")
        return sorted(os.path.relpath(os.path.join(r, f), self.pv.replica(node))
                      for r, _, fs in os.walk(base) for f in fs if f.endswith(".lock"))

    def wait_lock(self, node, proc, kind):
        """Until a *.lock exists under refs/huiji/<kind>/ while the sync
        runs (returns its path) or the sync ended (None). No sleep: the
        lock lives for microseconds."""
        base = os.path.join(self.pv.replica(node), "refs", "huiji", kind)
        found = []

        def seen():
            for r, _, fs in os.walk(base):
                for f in fs:
                    if f.endswith(".lock"):
                        found.append(os.path.relpath(os.path.join(r, f), self.pv.replica(node)))
                        return True
            return False
        return found[0] if self.wait_event(proc, seen, "the sync of %s to end" % node, interval=0) else None

    def replica_refs(self, node):
        r = self.pv.git("--git-dir", self.pv.replica(node), "for-each-ref", "--format=%(objectname) %(refname)")
        self.assertEqual(r.rc, 0, r)
        return r.out


if __name__ == "__main__":
    H.main()
