"""demo_work.py — the demo's part on the union's work (issue 9), for
tools/demo.py.

What the roll is for: services that reach members only, within budgets
the hub enforces in its order; surveys and dated targets recorded as ops,
so a county sees its own targets offline; the coverage, monthly progress
and services reports, written as one self-contained HTML page with charts;
and a transport department's driver list compared against the roll, the
drivers not yet reached written out for outreach (masked).
"""

import json
import os


def _records(out):
    """Membership records from `member list --json` (one JSON document,
    or, from older builds, one object a line)."""
    text = out.strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        return [json.loads(l) for l in text.splitlines() if l.strip()]
    if isinstance(doc, dict):
        for k in ("members", "records", "rows"):
            if k in doc:
                return doc[k]
    return doc


def active_records(huiji, d):
    return _records(huiji("member", "list", "--dir", d, "--status", "active", "--json", quiet=True).stdout)


def union_work(work, huiji, step, hub, fakes, enrolled):
    """Run the union's-work part of the demo in the demo province (the hub
    and its counties have synced at least once); enrolled: node -> the
    people the demo had it enrol."""
    cz, cd = os.path.join(work, "xn-cz"), os.path.join(work, "xn-cd")

    step("Services for members (会员服务): the province insures drivers within a budget; 城中区 runs a driver home")
    huiji("service", "define", "--dir", hub, "--id", "acc-2026", "--name", "2026年货车司机意外伤害保险",
          "--kind", "accident_insurance", "--provider", "人保财险青海分公司", "--union", "qh", "--period", "year",
          "--unit", "120", "--budget", "600", "--member-count", "1")
    huiji("service", "point", "--dir", hub, "--id", "cz-home", "--name", "城中区司机之家(八一路)",
          "--kind", "driver_home", "--union", "qh-xn-cz")
    huiji("hub", "run", "--dir", hub, "--once", quiet=True)
    for d in (cz, cd):
        huiji("sync", "--dir", d, quiet=True)
    huiji("service", "list", "--dir", cz)
    print("    offline, 城中区 and 城东区 each insure three members: six deliveries for a budget of five")
    for d, at in ((cz, "cz-home"), (cd, None)):
        for rec in active_records(huiji, d)[:3]:
            args = ["service", "deliver", "--dir", d, "--member", rec["id"], "--service", "acc-2026",
                    "--on", "2026-11-28"]
            if at:
                args += ["--point", at]
            huiji(*args, quiet=True)
    applicant = [r for r in _records(huiji("member", "list", "--dir", cz, "--status", "applied", "--json",
                                            quiet=True).stdout)]
    if applicant:
        print("    an applicant is not yet a member: the service is refused before anything is signed")
        huiji("service", "deliver", "--dir", cz, "--member", applicant[0]["id"], "--service", "acc-2026",
              "--on", "2026-11-28", check=False)
    for d in (cz, cd):
        huiji("sync", "--dir", d, quiet=True)
    huiji("hub", "run", "--dir", hub, "--once", quiet=True)
    for d in (cz, cd):
        huiji("sync", "--dir", d, quiet=True)
    print("    the hub took them in its order (城东区's change sets first); the sixth is over the budget, and "
          "城中区 is told:")
    huiji("status", "--dir", cz)
    huiji("service", "deliveries", "--dir", hub, "--service", "acc-2026")

    step("Surveys and dated targets (入会率目标), recorded as ops: 城中区 sees its own offline")
    huiji("survey", "record", "--dir", hub, "--union", "qh-xn-cz", "--group", "truck_driver", "--estimated", "12",
          "--on", "2026-10-01", "--source", "transport_dept")
    huiji("survey", "record", "--dir", hub, "--union", "qh-xn-cd", "--group", "truck_driver", "--estimated", "10",
          "--on", "2026-10-01", "--source", "platform")
    huiji("target", "set", "--dir", hub, "--union", "qh-xn-cz", "--group", "truck_driver", "--rate", "40",
          "--by", "2026-11-30")
    huiji("target", "set", "--dir", hub, "--union", "qh-xn-cz", "--group", "truck_driver", "--rate", "80",
          "--by", "2027-06-30")
    huiji("target", "set", "--dir", hub, "--union", "qh-xn-cd", "--group", "truck_driver", "--rate", "60",
          "--by", "2027-06-30")
    huiji("hub", "run", "--dir", hub, "--once", quiet=True)
    huiji("sync", "--dir", cz, quiet=True)
    huiji("target", "list", "--dir", cz)

    step("Reports at the hub: coverage rolled up the union tree on a date, monthly progress, services spend")
    huiji("report", "coverage", "--dir", hub, "--on", "2026-11-30")
    huiji("report", "progress", "--dir", hub)
    huiji("report", "services", "--dir", hub)
    page = os.path.join(work, "report.html")
    huiji("report", "all", "--dir", hub, "--on", "2026-11-30", "--format", "html", "--out", page, quiet=True)
    print("    the three as one self-contained page with charts (no network needed to open it):")
    print("      %s" % page)
    print("      open it with:  xdg-open %s   (or chromium %s)" % (page, page))

    step("A transport department's driver list compared against the roll: who is a member, where, who is not reached")
    listing = os.path.join(work, "transport-dept-drivers.csv")
    # Four drivers the counties enrolled (three at 城中区, one at 城东区),
    # and five the roll has never seen.
    rows = ["id_number,name,phone"]
    for p in enrolled["xn-cz"][-3:] + enrolled["xn-cd"][:1]:
        rows.append("%s,%s,%s" % (p.id_number, p.name, p.phone))
    for _ in range(5):
        p = fakes.person(region="630103")
        rows.append("%s,%s,%s" % (p.id_number, p.name, p.phone))
    with open(listing, "w", encoding="utf-8", newline="") as f:
        f.write("\r\n".join(rows) + "\r\n")
    outreach = os.path.join(work, "outreach.csv")
    print("    at the hub (it holds the person key: it can say where else a driver is a member):")
    huiji("compare", "roster", listing, "--dir", hub, "--union", "qh-xn-cz", "--out", outreach, check=False)
    print("    at 城中区 (member here / not here only); the drivers to reach, masked, are in %s"
          % os.path.basename(outreach))
    huiji("compare", "roster", listing, "--dir", cz, "--out", outreach, check=False)
