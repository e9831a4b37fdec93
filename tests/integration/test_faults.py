#!/usr/bin/env python3
"""test_faults.py — interrupted transfers (DESIGN §6 "Intermittent connectivity").

One province for the whole suite (made once, in parallel, because thousands
of change sets take a while to record): the hub qh-hub and its bare hub.git
served by a real `git daemon` on loopback (receive-pack on, so the hub's
pre-receive hook checks every push), and Xining counties, each reaching the
daemon through its own faultproxy.py link (pass / cut-after-bytes / stall,
switched between syncs on the same port, so the URL given at init holds):

  xn-cz 城中区  N change sets (default 3000): the SERVER dies mid-push —
        the link drops the connection after a random number of bytes inside
        a chunk's pack, or the git daemon (and its receive-pack) is
        SIGKILLed as soon as the hub's ref shows a chosen number of chunks
        landed; the daemon comes back on the same port;
  xn-cb 城北区  1000 change sets: the CLIENT is SIGKILLed after a random
        delay, several times — sometimes the huiji process alone (its
        transport child is orphaned), sometimes its whole session (a power
        cut) — then a clean sync; xn-dt 大通 (a few change sets) is killed
        the same way while it fetches the thousands the hub sequenced;
  xn-hy 湟源县  a hub that accepts and never answers (stall), and a hub
        that stops answering in the middle of a push (the daemon SIGSTOPped
        once the hub's ref shows a chunk landed): bounded, "offline: …"
        naming the limit, status still answers, nothing changed locally;
  xn-cx 城西区  chunked push on a link whose first K connections drop after
        B bytes: small chunks pass, the chunk holding one big change set (a
        platform import of 400 applications) is cut: the hub's ref stops at
        that chunk boundary (seq > 0), the next sync resumes there (pushes
        exactly what is missing), and everything arrives.

After every interruption: the county's own change log is unchanged, the
hub's feed ref is a commit of the county's own feed and never goes back,
the county's order is a prefix of the hub's, `huiji verify` passes and no
process of the interrupted sync is left running. At the end of each case:
the hub's ref holds exactly the county's feed (rev-list count == change log
rows), the hub's order holds each change set exactly once (seqs 1..N), the
county follows the hub with nothing pending and verifies; the hub verifies
and `huiji audit` passes.

Every subprocess has a generous timeout (HANG = 120 s) only as a hang
guard; nothing asserts how long anything took. Random choices come from
HUIJI_SEED (default 1, printed); HUIJI_FAULTS_N sets N.

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
import province as P  # noqa: E402

SEED = int(os.environ.get("HUIJI_SEED", "1"))
N_BIG = int(os.environ.get("HUIJI_FAULTS_N", "3000"))
N_CLIENT = 1000
CZ, CB, CX, DT, HY = "xn-cz", "xn-cb", "xn-cx", "xn-dt", "xn-hy"
COUNTIES = [CZ, CB, CX, DT, HY]
OFFLINE_RE = re.compile(r"^offline: .+; (\d+) change sets pushed, (\d+) not yet sequenced by the hub")
SYNCED_RE = re.compile(r"^synced: pushed (\d+) change sets, received (\d+) hub entries")


def say(msg):
    sys.stderr.write("  [faults] %s\n" % msg)
    sys.stderr.flush()


def group_procs(pgid):
    """Live (non-zombie) processes of process group `pgid`: [(pid, cmdline)]."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            state, pgrp = fields[0], int(fields[2])
            if pgrp != pgid or state in ("Z", "X"):
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                out.append((int(d), f.read().replace(b"\0", b" ").decode("utf-8", "replace")))
        except (OSError, ValueError):
            continue
    return out


class FaultsCase(unittest.TestCase):
    maxDiff = 6000
    pv = None

    @classmethod
    def setUpClass(cls):
        cls.rng = random.Random(SEED)
        t0 = time.monotonic()
        say("seed %d (HUIJI_SEED), N=%d (HUIJI_FAULTS_N)" % (SEED, N_BIG))
        cls.tmp = tempfile.mkdtemp(prefix="huiji-faults-")
        pv = cls.pv = P.Province(cls.tmp)
        try:
            pv.make_hub(COUNTIES)
            pv.start_daemon()
            for c in COUNTIES:
                pv.add_county(c, "daemon")
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
                "--connect-timeout-ms", "10000", "--idle-timeout-ms", "20000", "--chunk", str(chunk)] + list(extra)

    def start_sync(self, node, **kw):
        return subprocess.Popen([H.huiji_bin()] + self.sync_args(node, **kw), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=H.child_env(),
                                start_new_session=True)

    def finish(self, proc):
        """Wait for a started huiji (hang guard), then for every process of
        its session; returns a Result."""
        try:
            out, err = proc.communicate(timeout=P.HANG)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            self.fail("huiji sync hung for more than %d s" % P.HANG)
        self.assertNoneLeft(proc.pid)
        return H.Result(proc.args[1:], proc.returncode, out.decode("utf-8", "replace"),
                        err.decode("utf-8", "replace"))

    def assertNoneLeft(self, pgid):
        """No process of that sync's session may outlive it for long: an
        orphaned transport child that never ends is a hang."""
        deadline = time.monotonic() + P.HANG
        left = group_procs(pgid)
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = group_procs(pgid)
        if left:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.fail("processes of an interrupted sync still running after %d s: %s" % (P.HANG, left))

    def sync_ok(self, node, **kw):
        r = self.pv.run(*self.sync_args(node, **kw))
        self.assertEqual(r.rc, 0, "a sync on a good link failed: %r" % r)
        self.assertRegex(r.out, SYNCED_RE)
        return r

    def assertOutcome(self, r):
        """Exactly one outcome line: 'synced:' with rc 0, or 'offline:' with
        rc > 0 (an exit, never a signal or another error)."""
        lines = r.out_lines
        self.assertEqual(len(lines), 1, "expected one outcome line: %r" % r)
        if r.rc == 0:
            self.assertRegex(lines[0], SYNCED_RE, r)
        else:
            self.assertGreater(r.rc, 0, "sync died from a signal: %r" % r)
            self.assertRegex(lines[0], OFFLINE_RE, "expected an 'offline:' outcome: %r" % r)
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
        mine, hub = pv.followed(node), pv.followed(P.HUB)
        self.assertEqual(mine, hub[:len(mine)], "the county's order is not a prefix of the hub's")
        r = pv.run("verify", d=pv.dirs[node])
        self.assertEqual(r.rc, 0, "verify failed after an interruption: %r" % r)
        r = pv.run("status", d=pv.dirs[node])
        self.assertEqual(r.rc, 0, "status failed after an interruption: %r" % r)
        return seq

    def assertDelivered(self, node):
        """The end state: the hub holds exactly the county's feed and
        sequenced each change set exactly once; the county follows it."""
        pv = self.pv
        n = len(pv.changelog(node))
        tip, count = pv.remote_feed(node)
        self.assertEqual(tip, pv.own_feed_commits(node)[-1], "the hub's feed ref is not the county's tip")
        self.assertEqual(count, n, "git rev-list count of the hub's feed != the county's change log rows")
        pv.hub_run()
        self.assertEqual(pv.hub_seqs(node), list(range(1, n + 1)),
                         "the hub's order does not hold %s's change sets 1..%d exactly once" % (node, n))
        r = self.sync_ok(node)
        self.assertIn(", 0 change sets pending", r.out)
        self.assertEqual(pv.followed(node), pv.followed(P.HUB))
        for d in (pv.dirs[node], pv.hub):
            r = pv.run("verify", d=d)
            self.assertEqual(r.rc, 0, "verify failed: %r" % r)
        q = pv.run("hub", "quarantine", "--json", d=pv.hub)
        self.assertEqual((q.rc, q.out.strip()), (0, ""), "the hub quarantined something: %r" % q)
        r = pv.audit()
        self.assertEqual(r.rc, 0, "audit failed: %r" % r)
        self.assertIn("audit passed", r.out)

    def wait_remote(self, node, proc, at_least):
        """Poll the hub repository until its feed ref for `node` holds at
        least `at_least` change sets or the sync ended; True if reached."""
        deadline = time.monotonic() + P.HANG
        while time.monotonic() < deadline and proc.poll() is None:
            tip = self.pv.hub_feed_tip(node)
            if tip is not None and tip in self._own_index and self._own_index[tip] >= at_least:
                return True
            time.sleep(0.002)
        return False

    def wait_daemon_idle(self):
        """Until the daemon serves no connection (a receive-pack that was
        stopped may still finish its ref update after SIGCONT)."""
        pgid = self.pv.daemon.proc.pid

        def serving():  # `git daemon` itself is two processes; the rest serve
            return [c for _, c in group_procs(pgid) if "--serve" in c or "--port=" not in c]
        deadline = time.monotonic() + P.HANG
        while serving() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(serving(), [], "git daemon still serving a dead connection")

    def own_index(self, node):
        self._own_index = {c: i + 1 for i, c in enumerate(self.pv.own_feed_commits(node))}


class TestFaults(FaultsCase):

    def setUp(self):
        self.t0 = time.monotonic()

    def tearDown(self):
        say("%s: %.0f s (information only)" % (self.id().split(".")[-1], time.monotonic() - self.t0))

    def test_1_server_dies_mid_push(self):
        """xn-cz pushes N change sets in chunks of 200; the server side dies
        in the middle: first the link drops inside a chunk's pack, then the
        git daemon is SIGKILLed once the hub shows k chunks landed."""
        pv, rng, node, chunk = self.pv, self.rng, CZ, 200
        n = len(pv.changelog(node))
        self.assertEqual(n, N_BIG)
        self.own_index(node)
        log = pv.changelog(node)
        remote, seen = 0, []
        # 1. The link drops inside a pack (a chunk of 200 is ~150 KB here):
        # every connection of this sync is cut after B bytes, retries too.
        for _ in range(2):
            b = rng.randint(2000, 60000)
            pv.link(node, "cut-after-bytes", nbytes=b)
            r = self.finish(self.start_sync(node, retries=1, chunk=chunk))
            pv.link(node, "pass")
            self.assertOutcome(r)
            self.assertNotEqual(r.rc, 0, "a sync whose every connection is cut after %d bytes succeeded: %r" % (b, r))
            remote = self.assertConsistent(node, log, remote)
            seen.append(("cut", b, remote))
        # 2. The daemon is killed once the hub holds k more chunks.
        kills = 0
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
        say("server deaths (kind, bytes/target, hub seq after): %s" % seen)
        # 3. A clean sync sends exactly what is missing.
        r = self.sync_ok(node, chunk=chunk)
        self.assertEqual(int(SYNCED_RE.match(r.out).group(1)), n - remote,
                         "the resuming sync did not push exactly what the hub lacked: %r" % r)
        self.assertDelivered(node)

    def test_2_client_killed_mid_push_and_mid_fetch(self):
        """SIGKILL `huiji sync`, several times: the huiji process alone (its
        transport child is orphaned and may still be at work when the
        clerk runs sync again at once) or its whole session (a power cut).
        When: as soon as the hub's ref shows k more chunks of xn-cb's 1000
        landed (mid-push), as soon as a fetch's temporary pack appears in a
        fresh node's replica (mid-fetch), as soon as the fetched hub ref
        moved (while following and rebasing), or after a random delay."""
        pv, rng, chunk = self.pv, self.rng, 50
        outcomes, stale = [], []

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

        def kill(node, proc, when):
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
            # An orphaned transport child (process kill) finishes its
            # fetch or push on this good link; wait for it (bounded) so
            # the next sync does not race it (test_7 covers a stalled one).
            self.assertNoneLeft(proc.pid)

        # Mid-push: xn-cb.
        self.own_index(CB)
        log = pv.changelog(CB)
        self.assertEqual(len(log), N_CLIENT)
        remote = self.remote_seq(CB)
        for i in range(6):
            proc = self.start_sync(CB, retries=0, chunk=chunk)
            if i % 2 == 0 and remote < N_CLIENT - chunk:
                target = min(N_CLIENT - chunk, remote + chunk * rng.randint(1, 4))
                self.wait_remote(CB, proc, target)
                when = "hub at >= %d" % target
            else:
                time.sleep(rng.uniform(0.0, 0.8))
                when = "random delay"
            kill(CB, proc, when)
            remote = self.assertConsistent(CB, log, remote)
            outcomes[-1] += (remote,)
        clean_sync(CB, chunk=chunk)
        self.assertDelivered(CB)  # the hub sequences CB's change sets
        # Mid-fetch and mid-rebase: fresh nodes of 大通's union, each first
        # fetching every change set the hub sequenced (thousands).
        triggers = ["temporary pack", "hub ref fetched", "random delay", "temporary pack", "hub ref fetched"]
        for i, trig in enumerate(triggers):
            node = "xn-dt-f%d" % i
            pv.add_county(node, "daemon", union=P.UNION[DT])
            pv.fill(node, 3, H.Fakes(SEED * 100 + 90 + i), repack_every=0)
            log = pv.changelog(node)
            for attempt in range(2):
                proc = self.start_sync(node, retries=0, chunk=chunk)
                self.wait_for(node, proc, trig if attempt == 0 else "random delay")
                kill(node, proc, trig if attempt == 0 else "random delay")
                self.assertConsistent(node, log, 0)
                outcomes[-1] += (len(pv.followed(node)),)
            clean_sync(node)
            self.assertDelivered(node)
            self.assertGreaterEqual(len(pv.followed(node)), N_CLIENT)
        say("client kills (node, when, killed, rc, processes left just after, hub seq | followed rows): %s"
            % outcomes)
        self.assertEqual(pv.followed(CB), pv.followed(P.HUB)[:len(pv.followed(CB))])
        self.assertEqual(stale, [], "killed syncs left ref locks that made every later sync fail until removed "
                                    "by hand (see test_6)")

    def wait_for(self, node, proc, trigger):
        """Return when `trigger` is seen in the node's replica (or the sync
        ended, or after a random delay)."""
        if trigger == "random delay":
            time.sleep(self.rng.uniform(0.0, 0.3))
            return
        packs = os.path.join(self.pv.replica(node), "objects", "pack")
        hubref = os.path.join(self.pv.replica(node), "refs", "huiji", "incoming", "hub", P.HUB)
        deadline = time.monotonic() + P.HANG
        while proc.poll() is None and time.monotonic() < deadline:
            if trigger == "temporary pack":
                try:
                    if any(f.startswith("pack_git2_") for f in os.listdir(packs)):
                        return
                except OSError:
                    pass
            elif os.path.exists(hubref):
                return
            time.sleep(0.001)

    def test_3_hub_that_never_answers(self):
        """faultproxy --mode stall: the sync gives up within its limits with
        an 'offline:' line naming the timeout; status answers; nothing
        changed locally."""
        pv, node = self.pv, HY
        pv.link(node, "stall")
        try:
            before = H.state(pv.db(node))
            files = self.replica_refs(node)
            proc = subprocess.Popen([H.huiji_bin(), "sync", "--dir", pv.dirs[node], "--retries", "1", "--backoff-ms",
                                     "100", "--connect-timeout-ms", "1500", "--idle-timeout-ms", "1500"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=H.child_env(), start_new_session=True)
            # While the sync waits on the silent hub, the node answers.
            deadline = time.monotonic() + 10
            while len(group_procs(proc.pid)) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)  # until the transport child exists
            during = pv.run("status", d=pv.dirs[node])
            still_running = proc.poll() is None
            r = self.finish(proc)
            self.assertEqual(during.rc, 0, "status while a sync waits on a silent hub: %r" % during)
            self.assertRegex(during.out, r"pending\s+5 change sets", during)
            say("status answered while the stalled sync was %s" % ("still waiting" if still_running else "over"))
            line = self.assertOutcome(r)
            self.assertNotEqual(r.rc, 0, r)
            self.assertRegex(line, r"connect timeout 1\.5 ?s", "the outcome should name the timeout: %r" % r)
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
        """The git daemon is SIGSTOPped once the hub shows a chunk of xn-hy's
        landed: the connection stays open and silent; the idle limit ends
        the attempt; the next sync resumes at the chunk boundary."""
        pv, node = self.pv, HY
        pv.fill(node, 400, H.Fakes(SEED * 100 + 77))
        self.own_index(node)
        log = pv.changelog(node)
        remote = self.remote_seq(node)
        proc = self.start_sync(node, retries=0, chunk=20,
                               extra=["--connect-timeout-ms", "1500", "--idle-timeout-ms", "1500"])
        reached = self.wait_remote(node, proc, remote + 40)
        os.killpg(pv.daemon.proc.pid, signal.SIGSTOP)
        try:
            r = self.finish(proc)
        finally:
            os.killpg(pv.daemon.proc.pid, signal.SIGCONT)
        self.wait_daemon_idle()
        line = self.assertOutcome(r)
        if reached and r.rc:
            self.assertRegex(line, r"no progress for 1\.5 ?s|connect timeout 1\.5 ?s",
                             "the outcome should name the limit: %r" % r)
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
            ls = P.git(pv.git_env, "ls-remote", pv.urls[node], "refs/huiji/feeds/" + node)
            self.assertEqual(ls.rc, 0, ls)
            tip = ls.out.split()[0]
            first = self._own_index[tip]
            self.assertEqual(first, (big - 1) // chunk * chunk,
                             "the hub should hold every chunk before the big change set's: %r" % r1)
            self.assertGreater(first, 0)
            self.assertEqual(int(OFFLINE_RE.match(r1.out).group(1)), first, r1)
            remote = self.assertConsistent(node, log, first)
            # Syncs go on until the link's K cut connections are used up;
            # none of them re-sends a chunk the hub has (pushed == new).
            outcomes = [r1.out.strip()]
            for _ in range(k):
                r = self.finish(self.start_sync(node, retries=0, chunk=chunk))
                self.assertOutcome(r)
                outcomes.append(r.out.strip())
                m = SYNCED_RE.match(r.out) or OFFLINE_RE.match(r.out)
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
        kills the session while it exists."""
        pv = self.pv
        for kind in ("incoming", "outgoing"):
            with self.subTest(lock=kind):
                hit = None
                for attempt in range(30):
                    node = "xn-dt-%s%d" % (kind[:2], attempt)
                    pv.add_county(node, "daemon", union=P.UNION[DT])
                    pv.fill(node, 60 if kind == "outgoing" else 1, H.Fakes(SEED * 1000 + attempt), repack_every=0)
                    log = pv.changelog(node)
                    proc = self.start_sync(node, retries=0, chunk=1)
                    hit = self.wait_lock(node, proc, kind)
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.reap(proc)
                    self.assertNoneLeft(proc.pid)
                    if hit:
                        break
                if not hit:
                    self.skipTest("never caught a sync holding a %s ref lock in 30 attempts" % kind)
                self.assertConsistent(node, log, 0)
                left = [f for f in self.lock_files(node)]
                r = pv.run(*self.sync_args(node))
                self.assertEqual(r.rc, 0, "killed while %s existed (left behind: %s); the next sync on a good link "
                                          "fails: %r" % (hit, left, r))
                self.assertDelivered(node)

    def test_7_orphaned_transport_child_is_bounded(self):
        """`huiji sync` (the process, not its session: kill -9 PID, the OOM
        killer) is SIGKILLed while its transport child waits on a hub that
        never answers. The child's watchdog was its parent: it must not
        outlive it unbounded (transport.h: every call returns within its
        limits). Limit 2 s; guard 60 s."""
        pv, node = self.pv, HY
        pv.link(node, "stall")
        try:
            proc = subprocess.Popen([H.huiji_bin(), "sync", "--dir", pv.dirs[node], "--retries", "0",
                                     "--connect-timeout-ms", "2000", "--idle-timeout-ms", "2000"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=H.child_env(), start_new_session=True)
            deadline = time.monotonic() + 10
            while len(group_procs(proc.pid)) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.01)  # until the transport child exists
            self.assertEqual(len(group_procs(proc.pid)), 2, "no transport child seen")
            proc.kill()
            self.reap(proc)
            deadline = time.monotonic() + 60
            left = group_procs(proc.pid)
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = group_procs(proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.assertEqual(left, [], "the orphaned transport child of a killed sync is still waiting on the "
                                       "stalled hub 60 s later (its limit was 2 s)")
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
        """Poll until a *.lock exists under refs/huiji/<kind>/ (returns its
        path) or the sync ended (None)."""
        base = os.path.join(self.pv.replica(node), "refs", "huiji", kind)
        deadline = time.monotonic() + P.HANG
        while proc.poll() is None and time.monotonic() < deadline:
            for r, _, fs in os.walk(base):
                for f in fs:
                    if f.endswith(".lock"):
                        return os.path.relpath(os.path.join(r, f), self.pv.replica(node))
        return None

    def replica_refs(self, node):
        r = P.git(self.pv.git_env, "--git-dir", self.pv.replica(node), "for-each-ref",
                  "--format=%(objectname) %(refname)")
        self.assertEqual(r.rc, 0, r)
        return r.out


if __name__ == "__main__":
    sys.argv = H.take_bin_arg(sys.argv)
    unittest.main(verbosity=2)
