#!/usr/bin/env python3
"""test_badlink.py — a link that drops more often than one push chunk
still makes progress (issue 7 item 10).

What it proves: a county whose every connection to the hub is cut after B
bytes — B well below its whole backlog and below one default push chunk
(256 KiB of change sets), but a few times what a small chunk needs — gets
everything to the hub in a bounded number of `huiji sync`s with the
default options: each attempt starts by asking the hub what it holds,
a dropped push halves the chunk, a landed one doubles it back, so each
attempt lands something. Before (chunks of 500 change sets, whatever
their bytes) the backlog was one chunk that never fit: nothing was
pushed, ever. At the end the hub holds exactly the county's feed,
sequenced each change set once, and the county's rows equal the hub's.

One province: the hub served by a real `git daemon` (its pre-receive hook
checks every push), the county xn-cz behind a faultproxy.py Link.

Run:  meson test -C build badlink
      (or HUIJI_BIN=build/tools/huiji python3 tests/integration/test_badlink.py)
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

CZ = "xn-cz"
N = 300          # change sets of one application each (~750 bytes of pack)
CUT = 40 * 1024  # bytes per connection: < the backlog, < 256 KiB, ~3 x a 14 KiB chunk
MAX_SYNCS = 6    # bounded: each attempt lands a chunk
# A sync that did not complete says so in its one line, on stderr.
OFFLINE_RE = re.compile(r"^huiji: offline: .+; (\d+) change sets pushed, (\d+) not yet sequenced by the hub")
SYNCED_RE = re.compile(r"^synced: pushed (\d+) change sets, received (\d+) hub entries")


def say(msg):
    sys.stderr.write("  [badlink] %s\n" % msg)
    sys.stderr.flush()


class TestBadLink(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="huiji-badlink-")
        self.pv = P.Province(self.tmp)

    def tearDown(self):
        self.pv.close()
        if os.environ.get("HUIJI_KEEP") != "1":
            shutil.rmtree(self.tmp, True)

    def remote_seq(self):
        tip = self.pv.hub_feed_tip(CZ)
        own = self.pv.own_feed_commits(CZ)
        if tip is None:
            return 0
        self.assertIn(tip, own, "the hub's feed ref is not a commit of the county's own feed")
        return own.index(tip) + 1

    def test_a_link_cut_below_one_chunk_still_delivers(self):
        pv = self.pv
        pv.make_hub([CZ])
        pv.start_daemon()
        pv.add_county(CZ, "link")
        pv.fill(CZ, N, H.Fakes(7))
        log = pv.changelog(CZ)
        backlog = sum(len(e) for _, _, e in log)
        say("%d change sets, %d bytes of envelopes; every connection cut after %d bytes" % (N, backlog, CUT))
        self.assertGreater(backlog, CUT, "the backlog must not fit through the link in one push")

        pv.link(CZ, "cut-after-bytes", nbytes=CUT)
        timeouts = ["--connect-timeout-ms", str(int(H.scaled(10000))), "--idle-timeout-ms",
                    str(int(H.scaled(20000)))]
        remote, history = 0, []
        for i in range(MAX_SYNCS):
            # Default chunking and retries; a short back-off keeps it quick.
            r = pv.sync(CZ, "--backoff-ms", "50", *timeouts)
            lines = r.out_lines if r.rc == 0 else r.out_lines + r.err_lines
            self.assertEqual(len(lines), 1, "expected one outcome line: %r" % r)
            m = SYNCED_RE.match(r.out) if r.rc == 0 else OFFLINE_RE.match(r.err)
            self.assertTrue(m, "neither synced nor offline: %r" % r)
            self.assertEqual(pv.changelog(CZ), log, "the county's change log changed")
            seq = self.remote_seq()
            self.assertGreaterEqual(seq, remote, "the hub's feed ref went back")
            self.assertEqual(int(m.group(1)), seq - remote, "pushed != what the hub's ref gained: %r" % r)
            history.append((r.rc, seq))
            remote = seq
            if remote == N:
                break
        say("syncs on the cut link (rc, hub seq after): %s" % history)
        self.assertEqual(remote, N, "after %d syncs the hub holds %d of %d change sets: %s"
                         % (len(history), remote, N, history))

        # The hub holds exactly the county's feed and sequences it once;
        # the county follows (a good link now: the hub's order is big).
        pv.link(CZ, "pass")
        tip, count = pv.remote_feed(CZ)
        self.assertEqual(tip, pv.own_feed_commits(CZ)[-1])
        self.assertEqual(count, N)
        pv.hub_run()
        pv.check_sequenced_once(CZ)
        r = pv.sync(CZ, *timeouts)
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"^synced: pushed 0 change sets, .*, 0 change sets pending")
        pv.check_followed(CZ)
        pv.check_rows(CZ)
        pv.check_verify(CZ, P.HUB)


if __name__ == "__main__":
    H.main()
