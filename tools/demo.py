#!/usr/bin/env python3
"""demo.py — a demo province, end to end, with the real huiji binary.

Qinghai: the provincial hub (青海省总工会) and four county unions of Xining
(城东区, 城中区, 城西区, 大通回族土族自治县), a real `git daemon` on
loopback serving the hub repository. The counties go offline, enrol
generated (fake but valid) truck drivers, couriers and riders -- one driver
applies in two counties, one county imports a platform's list saved by
Excel in GB18030 with a broken row -- then sync in turns; the hub is killed
mid-round once and the next run goes on; the hub merges; a mistyped future
date is refused, and a county whose clock runs a year ahead (libfaketime)
is judged by the hub's time and told so; a driver's record moves from one
county to another and keeps its join date; a coverage table is printed, and
an auditor checks the whole history over git://, once more with the person
key to recompute every person-key check, and then the audit committee,
whose auditor node the hub enrolled before the first application (so every
seal is wrapped to it), with its audit key too: every sealed real-name
check recomputed, none taken on the hub's word. Each county is given,
through its inbox, only the change sets that touch its unions, and holds
no person key: the hub keys its applications and publishes the keys.
A second province (安徽) peers with Qinghai: each hub audits the other's
repository before it trusts it, and a driver admitted in Qinghai who
applies in Anhui is refused there, the province and union named; then
his record moves to an Anhui union, carried by the two hubs, its join date
kept. Then the union's work (tools/demo_work.py): an accident insurance the
province funds within a budget, delivered offline at two counties, the
delivery over the budget rejected by the hub and listed at its county; a
driver home; surveys and dated targets recorded as ops and seen offline;
the coverage, monthly progress and services reports, and all three as one
HTML page with charts (report.html in the demo directory); a transport
department's driver list compared against the roll.

Run via tools/demo (which builds first). Leaves everything in a directory
it prints at the end, so you can keep exploring with huiji.
"""

import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import Fakes  # noqa: E402  (fake people: valid ID numbers, never real ones)
from demo_peer import second_province  # noqa: E402  (the second province, 安徽)
from demo_work import union_work  # noqa: E402  (services, targets, reports, roster comparison)

HUIJI = os.environ.get("HUIJI_BIN", os.path.join(TOP, "build", "tools", "huiji"))
COUNTIES = [  # node id, org id, name, region code (GB/T 2260, 2022)
    ("xn-cd", "qh-xn-cd", "城东区总工会", "630102"),
    ("xn-cz", "qh-xn-cz", "城中区总工会", "630103"),
    ("xn-cx", "qh-xn-cx", "城西区总工会", "630104"),
    ("xn-dt", "qh-xn-dt", "大通回族土族自治县总工会", "630121"),
]
GROUPS = [("truck_driver", "yunmanman"), ("truck_driver", "kayoudidai"), ("courier", "sf_express"),
          ("food_delivery", "meituan"), ("ride_hailing", "didi"), ("security_guard", None)]
CHANNELS = ["platform_app", "qr_oneclick", "mobile_window", "inspection", "outreach"]


LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def huiji(*args, check=True, quiet=False, env=None):
    p = subprocess.run([HUIJI, *args], capture_output=True, text=True,
                       env=dict(os.environ, **env) if env else None)
    if not quiet:
        for line in p.stdout.splitlines():
            print("    " + line)
    for line in p.stderr.splitlines():
        print("    ! " + line)
    if check and p.returncode != 0:
        sys.exit("demo: huiji %s failed (exit %d)" % (" ".join(args[:2]), p.returncode))
    return p


def step(title):
    print("\n== " + title)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(hub_dir):
    port = free_port()
    d = subprocess.Popen(["git", "daemon", "--reuseaddr", "--base-path=" + hub_dir, "--export-all",
                          "--enable=receive-pack", "--listen=127.0.0.1", "--port=%d" % port, hub_dir],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):  # wait (bounded) until it accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return d, port
        except OSError:
            time.sleep(0.05)
    d.kill()
    sys.exit("demo: git daemon did not start")


def main():
    work = tempfile.mkdtemp(prefix="huiji-demo.")
    hub = os.path.join(work, "hub")
    rng = random.Random(2021)
    fakes = Fakes(2021)

    step("The provincial hub: 青海省总工会, its union tree, its served repository")
    out = huiji("hub", "init", "--dir", hub, "--node", "qh-hub", "--union", "qh", "--union-name",
                "青海省总工会", "--region", "63").stdout
    hub_key = [l.split()[-1] for l in out.splitlines() if l.startswith("public key")][0]
    huiji("org", "create", "--dir", hub, "--id", "qh-xn", "--name", "西宁市总工会", "--kind", "city",
          "--parent", "qh", "--region", "6301")
    for _, org, name, region in COUNTIES:
        huiji("org", "create", "--dir", hub, "--id", org, "--name", name, "--kind", "county",
              "--parent", "qh-xn", "--region", region)
    huiji("org", "create", "--dir", hub, "--id", "qh-xn-freight", "--name", "西宁市道路货运行业工会联合会",
          "--kind", "industry", "--parent", "qh-xn", "--region", "6301")
    daemon, port = start_daemon(hub)
    url = "git://127.0.0.1:%d/hub.git" % port
    ah_daemon = None
    try:
        print("    hub repository served by git daemon at " + url)

        step("The audit committee's node (审计委员会): its key, enrolled as an auditor before any application")
        audit_dir = os.path.join(work, "audit")
        out = huiji("init", "--dir", audit_dir, "--node", "qh-audit", "--union", "qh", "--hub", url,
                    "--hub-key", hub_key, quiet=True).stdout
        pk = [l.split()[-1] for l in out.splitlines() if l.startswith("public key")][0]
        huiji("node", "enroll", "--dir", hub, "--node", "qh-audit", "--pubkey", pk, "--union", "qh",
              "--role", "auditor")
        print("    every seal made from now on is wrapped to it too (its secret key is the audit key)")

        step("Four county nodes: init, enrolment at the hub, a first sync while the link is up")
        for node, org, name, _ in COUNTIES:
            out = huiji("init", "--dir", os.path.join(work, node), "--node", node, "--union", org, "--hub", url,
                        "--hub-key", hub_key, quiet=True).stdout
            pk = [l.split()[-1] for l in out.splitlines() if l.startswith("public key")][0]
            huiji("node", "enroll", "--dir", hub, "--node", node, "--pubkey", pk, "--union", org)
        for node, *_ in COUNTIES:
            huiji("sync", "--dir", os.path.join(work, node))
        held = [n for n, *_ in COUNTIES if os.path.exists(os.path.join(work, n, "person.key"))]
        print("    no county holds the national person key (%d of %d do): the hub keys every application"
              % (len(held), len(COUNTIES)))

        step("Offline: each county enrols drivers and riders at windows, platforms and inspection stations")
        twice = fakes.person(region="630121")  # applies in 大通 and again in 城中
        enrolled = {}  # node -> the people it enrolled (the roster comparison reuses some)
        for i, (node, org, name, region) in enumerate(COUNTIES):
            d = os.path.join(work, node)
            n_people = 6 + 2 * i
            for k in range(n_people):
                p = fakes.person(region=rng.choice([region, "630102", "632123", "340104", "320102"]))
                enrolled.setdefault(node, []).append(p)
                grp, plat = rng.choice(GROUPS)
                args = ["member", "apply", "--dir", d, "--name", p.name, "--id-number", p.id_number,
                        "--phone", p.phone, "--group", grp, "--channel", rng.choice(CHANNELS),
                        "--on", "2026-11-%02d" % (2 + k)]
                if plat:
                    args += ["--platform", plat]
                if p.get("plate"):
                    args += ["--plate", p.plate]
                if rng.random() < 0.7:
                    args.append("--approve")
                huiji(*args, quiet=True)
            if node in ("xn-dt", "xn-cz"):
                huiji("member", "apply", "--dir", d, "--name", twice.name, "--id-number", twice.id_number,
                      "--phone", twice.phone, "--group", "truck_driver", "--channel", "mobile_window",
                      "--platform", "yunmanman", "--on", "2026-11-20", "--approve")
            print("    %s: %d applications recorded offline" % (node, n_people + (node in ("xn-dt", "xn-cz"))))
        huiji("member", "list", "--dir", os.path.join(work, "xn-dt"), "--status", "active")
        late = fakes.person(region="630121")
        print("    a clerk types the year wrong (2028): refused before anything is signed")
        huiji("member", "apply", "--dir", os.path.join(work, "xn-dt"), "--name", late.name, "--id-number",
              late.id_number, "--phone", late.phone, "--group", "courier", "--channel", "outreach",
              "--on", "2028-11-20", check=False)

        step("城西区 imports a platform's driver list saved by Excel (GB18030), one row broken")
        rows = ["name,id_number,phone,group,platform"]
        for k in range(8):
            p = fakes.person(region="630104")
            rows.append("%s,%s,%s,truck_driver,yunmanman" % (p.name, p.id_number, p.phone))
        broken = fakes.person(region="630104")
        rows.insert(4, '%s"x,%s,%s,truck_driver,yunmanman' % (broken.name, broken.id_number, broken.phone))
        listing = os.path.join(work, "platform-list.csv")
        with open(listing, "w", encoding="gb18030", newline="") as f:
            f.write("\r\n".join(rows) + "\r\n")
        rejects = os.path.join(work, "platform-list.rejects.csv")
        huiji("import", "platform", listing, "--dir", os.path.join(work, "xn-cx"), "--rejects", rejects, check=False)
        print("    the broken row is in %s, for a clerk to fix and import again" % os.path.basename(rejects))

        step("Back online, in turns: 大通 syncs first, the hub merges, then the others")
        order = ["xn-dt", "xn-cd", "xn-cz", "xn-cx"]
        for node in order:
            huiji("sync", "--dir", os.path.join(work, node))
            if node == "xn-dt":
                # A power cut at the worst moment: after the round's COMMIT,
                # before its git refs (a test hook kills the process there).
                p = huiji("hub", "run", "--dir", hub, "--once", check=False, env={"HUIJI_KILL_AT": "hub-committed"})
                print("    hub run killed after its COMMIT (exit %d); the next run repairs the refs and goes on"
                      % p.returncode)
            huiji("hub", "run", "--dir", hub, "--once")
        for node in order:
            huiji("sync", "--dir", os.path.join(work, node), check=False)

        step("城中区 sees the hub's verdict on its duplicate admission")
        huiji("status", "--dir", os.path.join(work, "xn-cz"))

        if os.path.exists(LIBFAKETIME):
            step("城东区's computer clock runs a year ahead: the hub judges its dates by the hub's time")
            ahead = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": "+365d", "DONT_FAKE_MONOTONIC": "1"}
            d = os.path.join(work, "xn-cd")
            p = fakes.person(region="630102")
            huiji("member", "apply", "--dir", d, "--name", p.name, "--id-number", p.id_number, "--phone", p.phone,
                  "--group", "food_delivery", "--channel", "platform_app", env=ahead)
            huiji("sync", "--dir", d, env=ahead)
            huiji("hub", "run", "--dir", hub, "--once")
            huiji("sync", "--dir", d, env=ahead, check=False)
            huiji("status", "--dir", d)

        step("A driver moves: 城中区 offers his record to 城东区, which accepts; the record keeps its join date")
        cz, cd = os.path.join(work, "xn-cz"), os.path.join(work, "xn-cd")
        mover = json.loads(huiji("member", "list", "--dir", cz, "--status", "active", "--json",
                                 quiet=True).stdout)[0]["id"]
        out = huiji("member", "transfer", "--dir", cz, "--member", mover, "--to", "qh-xn-cd", "--on",
                    "2026-11-25").stdout
        transfer = out.split()[1]
        huiji("sync", "--dir", cz, quiet=True)
        huiji("hub", "run", "--dir", hub, "--once", quiet=True)
        huiji("sync", "--dir", cd, quiet=True)
        huiji("member", "transfers", "--dir", cd)
        out = huiji("member", "accept", "--dir", cd, "--transfer", transfer, "--on", "2026-11-26").stdout
        moved = out.split("continues as ")[1].split()[0]
        huiji("sync", "--dir", cd, quiet=True)
        huiji("hub", "run", "--dir", hub, "--once", quiet=True)
        for d in (cz, cd):
            huiji("sync", "--dir", d, quiet=True)
        huiji("member", "show", "--dir", hub, "--member", moved)

        step("Each county holds its own people: the hub delivers only what touches its unions (its inbox)")
        hubdb = sqlite3.connect(os.path.join(hub, "registry.db"))
        province = hubdb.execute("SELECT count(*) FROM person").fetchone()[0]
        for node, _, _, _ in COUNTIES:
            db = sqlite3.connect(os.path.join(work, node, "registry.db"))
            people = db.execute("SELECT count(*) FROM person").fetchone()[0]
            given = db.execute("SELECT count(*) FROM followed WHERE node NOT IN (?, 'qh-hub')", (node,)).fetchone()[0]
            sent = hubdb.execute("SELECT count(*) FROM inbox WHERE node = ?", (node,)).fetchone()[0]
            print("    %s holds %d of the province's %d people; of other nodes' change sets, the %d its inbox "
                  "delivered (the hub delivered %d)" % (node, people, province, given, sent))
            keyed = db.execute("SELECT count(*) FROM followed WHERE node = ? AND keys IS NOT NULL", (node,)).fetchone()[0]
            mine = db.execute("SELECT count(*) FROM followed WHERE node = ?", (node,)).fetchone()[0]
            print("      its records carry the keys the hub's entries gave them (%d of its %d sequenced change sets "
                  "keyed by the hub)" % (keyed, mine))
            db.close()
        hubdb.close()

        step("A new laptop for 城中区's mobile joining window, enrolled now: given its union's history, sealed "
             "before it existed, and the keys to read it (the hub re-wraps them: refs/huiji/wraps/)")
        window = os.path.join(work, "xn-cz-window")
        out = huiji("init", "--dir", window, "--node", "xn-cz-window", "--union", "qh-xn-cz", "--hub", url,
                    "--hub-key", hub_key, quiet=True).stdout
        pk = [l.split()[-1] for l in out.splitlines() if l.startswith("public key")][0]
        huiji("node", "enroll", "--dir", hub, "--node", "xn-cz-window", "--pubkey", pk, "--union", "qh-xn-cz",
              quiet=True)
        huiji("sync", "--dir", window, quiet=True)
        huiji("hub", "run", "--dir", hub, "--once", quiet=True)
        huiji("sync", "--dir", window, quiet=True)
        db = sqlite3.connect(os.path.join(window, "registry.db"))
        held, read = db.execute("SELECT count(*), count(nullif(name, '')) FROM person").fetchone()
        db.close()
        print("    it holds %d people of 城中区 and reads %d of them (masked below)" % (held, read))
        huiji("member", "list", "--dir", window)

        ah_daemon = second_province(work, huiji, step, start_daemon, hub, hub_key, url, fakes)

        union_work(work, huiji, step, hub, fakes, enrolled)

        step("Coverage from a survey's CSV (report coverage --targets): members by county and worker group")
        targets = os.path.join(work, "targets.csv")
        with open(targets, "w") as f:
            f.write("org_id,group,estimated_workers,target_percent\n")
            for _, org, _, _ in COUNTIES:
                for grp in ("truck_driver", "courier", "food_delivery", "ride_hailing"):
                    f.write("%s,%s,%d,80\n" % (org, grp, rng.randint(4, 12)))
        huiji("report", "coverage", "--dir", hub, "--targets", targets)
        huiji("org", "list", "--dir", hub)

        step("Every node proves its registry; an auditor checks the hub over git://")
        for node in ["hub"] + [c[0] for c in COUNTIES]:
            huiji("verify", "--dir", os.path.join(work, node))
        huiji("audit", url, "--hub-key", hub_key)
        print("    and with the province's person key (the sealed fields still need the audit key):")
        huiji("audit", url, "--hub-key", hub_key, "--person-key", os.path.join(hub, "person.key"))
        print("    and by the audit committee with its audit key: every sealed real-name check recomputed:")
        huiji("audit", url, "--hub-key", hub_key, "--person-key", os.path.join(hub, "person.key"),
              "--audit-key", os.path.join(audit_dir, "secret.key"))
    finally:
        for d in (daemon, ah_daemon):
            if d:
                d.terminate()
                d.wait(timeout=10)

    print("\nThe demo province is in %s:" % work)
    print("  hub/ (hub.git is the served repository), %s, audit/ (the audit committee's key)"
          % ", ".join(c[0] + "/" for c in COUNTIES))
    print("Keep exploring, e.g.:")
    print("  %s member list --dir %s/xn-cz" % (HUIJI, work))
    print("  %s log --dir %s/hub --json | head" % (HUIJI, work))
    print("  %s audit %s/hub/hub.git --audit-key %s/audit" % (HUIJI, work, work))
    print("  git daemon --base-path=%s/hub --export-all --enable=receive-pack --listen=127.0.0.1 --port=9418 %s/hub"
          % (work, work))


if __name__ == "__main__":
    main()
