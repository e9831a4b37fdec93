"""test_audit_net.py — `huiji audit git://...` against a stock git daemon.

Thousands of refs (issue 7 item 4): a real province (hub, one county syncing through a stock git daemon, one
hub round), then N feeds under refs/huiji/feeds/ added with stock
`git fast-import` (what anyone who can push to the hub can leave there;
they are not huiji feeds, so each is a discrepancy). The audit over git://
must finish: after the download, libgit2 writes every fetched ref (a file
and an fsync each, no byte on the wire), which used to look like a
stalled connection to the transport's idle watchdog (3,000 refs:
"connection stalled"). The audit is run with a short idle timeout so that
a silent ref-writing phase fails every run, not only on a slow disk.
N = 3,000 (HUIJI_LONG=1: 20,000).

A damaged object (issue 7 item 8): over git:// the hub's git sends one
pack, and a damaged object fails the whole fetch; the audit cannot run
(exit 2) and says so, pointing at the local audit that names the record.
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gitserver as G  # noqa: E402
import harness as H  # noqa: E402
import province as P  # noqa: E402

CZ = "xn-cz"
NREFS = 20000 if H.LONG else 3000


class AuditOverGitDaemon(H.Case):
    prefix = "huiji-auditnet-"

    def setUp(self):
        super().setUp()
        self.pv = P.Province(self.tmp)
        self.addCleanup(self.pv.close)

    def add_junk_feeds(self, n):
        """n refs refs/huiji/feeds/zz-NNNNN, each its own commit and blob,
        in one stock fast-import."""
        parts = []
        for i in range(n):
            msg = "huiji zz-%05d 1\n" % i
            parts.append("blob\nmark :%d\ndata %d\n%s\n" % (i + 1, len(msg), msg))
            parts.append("commit refs/huiji/feeds/zz-%05d\ncommitter t <t@example.invalid> 0 +0000\n"
                         "data %d\n%s\nM 100644 :%d changeset\n\n" % (i, len(msg), msg, i + 1))
        p = subprocess.run([G.GIT, "--git-dir", self.pv.hub_repo, "fast-import", "--quiet"],
                           input="".join(parts).encode(), env=self.pv.git_env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=H.scaled(120))
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))

    def province(self):
        self.pv.make_hub([CZ])
        daemon = self.pv.start_daemon()
        d = self.pv.add_county(CZ, transport="daemon")
        self.assertEqual(self.pv.sync(CZ).rc, 0)  # learns its union from the hub
        fakes = H.Fakes(seed=7)
        for _ in range(2):
            r = self.pv.run(*H.apply_args(fakes.person(region=P.REGION[CZ])), d=d)
            self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.pv.sync(CZ).rc, 0)
        self.pv.hub_run()
        return daemon

    def test_audit_over_git_daemon_with_thousands_of_refs(self):
        daemon = self.province()
        self.add_junk_feeds(NREFS)

        t0 = time.monotonic()
        idle = str(int(H.scaled(1000)))
        r = self.pv.run("audit", daemon.url, "--hub-key", self.pv.hub_key, "--idle-timeout-ms", idle,
                        timeout=300)
        took = time.monotonic() - t0
        sys.stderr.write("audit of %d refs over git://: %.1f s\n" % (NREFS + 3, took))
        self.assertNotIn("stalled", r.err, r)
        # Ran (exit 1, not 2): the junk feeds are named, the county's
        # change sets were checked, everything was fetched.
        self.assertEqual(r.rc, 1, r)
        self.assertIn("DISCREPANCY: refs/huiji/feeds/zz-00000: cannot be read", r.out)
        self.assertIn("%d feeds" % (NREFS + 1), r.out)
        self.assertIn("2 change sets sequenced", r.out)

    def test_damaged_pack_fails_the_fetch_and_says_so(self):
        daemon = self.province()
        packdir = os.path.join(self.pv.hub_repo, "objects", "pack")
        packs = sorted((os.path.getsize(os.path.join(packdir, f)), f) for f in os.listdir(packdir)
                       if f.endswith(".pack"))
        self.assertTrue(packs, "the hub repository holds no pack")
        path = os.path.join(packdir, packs[-1][1])
        os.chmod(path, 0o644)
        with open(path, "r+b") as fh:  # a byte in the middle: inside an object
            fh.seek(packs[-1][0] // 2)
            b = fh.read(1)
            fh.seek(packs[-1][0] // 2)
            fh.write(bytes([b[0] ^ 0x10]))
        r = self.pv.run("audit", daemon.url, "--hub-key", self.pv.hub_key, timeout=120)
        self.assertEqual(r.rc, 5, r)  # the fetch failed: the network's exit code (README)
        self.assertIn("failed as a whole", r.err, r)
        self.assertIn("audit a copy of its directory", r.err, r)
        # The local audit of the same repository names what is damaged.
        r = self.pv.audit()
        self.assertEqual(r.rc, 1, r)
        self.assertIn("DISCREPANCY: objects/pack/" + packs[-1][1] + ": corrupt", r.out)


if __name__ == "__main__":
    H.main()
