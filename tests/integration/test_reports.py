#!/usr/bin/env python3
"""test_reports.py — surveys and dated targets as ops, and the reports
(issue 9 §2, §3), with the real binary, a real hub repository and audit.

A small province: 城中区 (with a township union below it) and 城东区
under 西宁市, and a city industry federation beside the regional tree.
Members apply, are admitted and leave across the months of 2026; one is
handed down to the township, one moves from 城中区 to 城东区 by offer and
acceptance. The hub and the county record surveys and targets; the county
sees them offline after a sync. Then, at the hub:

- `report coverage`, `report progress` and `report services` (two
  services defined at the hub, delivered at 城中区 across three quarters)
  are checked cell for cell against an
  independent computation in this file from the registry's rows (sqlite3);
- the CSV, JSON and HTML of each give the same figures;
- the text table aligns by display width (a Chinese character is two
  columns: unicodedata.east_asian_width);
- the HTML page is rendered by Debian's chromium headless: the screenshot
  is not blank (PNG decoded here with zlib, its pixels vary) and the
  figures in the dumped DOM equal the CSV's.
"""

import csv
import datetime
import html.parser
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import unicodedata
import unittest
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import province as P  # noqa: E402

CZ, CD = "xn-cz", "xn-cd"
TOWN, FED = "qh-xn-cz-a", "qh-xn-freight"
ON = "2026-11-30"
REGIONAL = {"province", "city", "county", "township", "community"}


# --------------------------------------------------------------------------
# The independent computation, from the registry's rows.

def natkey(s):
    return [(0, int(t), t) if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s)]


class Rows:
    def __init__(self, db):
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        self.orgs = {r["id"]: dict(r) for r in con.execute("SELECT id, name, kind, parent FROM org")}
        self.members = [dict(r) for r in con.execute("SELECT * FROM membership")]
        self.surveys = [dict(r) for r in con.execute("SELECT * FROM survey")]
        self.targets = [dict(r) for r in con.execute("SELECT * FROM target")]
        self.groups = [r[0] for r in con.execute("SELECT code FROM worker_group ORDER BY sort")]
        self.services = [dict(r) for r in con.execute("SELECT * FROM service ORDER BY id")]
        self.deliveries = [dict(r) for r in con.execute("SELECT * FROM service_delivery")]
        con.close()
        self.children = {}
        for o in sorted(self.orgs.values(), key=lambda o: natkey(o["id"])):
            self.children.setdefault(o["parent"], []).append(o["id"])
        self.order = []

        def walk(parent, depth):
            for c in self.children.get(parent, []):
                self.order.append((c, depth))
                walk(c, depth + 1)
        walk(None, 0)
        self.by_id = {m["id"]: m for m in self.members}

    def counted(self, u):
        """The unions whose members a row of u counts: u and the regional
        unions below it through regional ones."""
        out, stack = {u}, [u]
        while stack:
            for c in self.children.get(stack.pop(), []):
                if self.orgs[c]["kind"] in REGIONAL:
                    out.add(c)
                    stack.append(c)
        return out

    @staticmethod
    def start(m):
        return (m["decided_on"] or m["joined_on"]) if m["status"] in ("active", "left", "transferred") else None

    def active(self, unions, grp, d):
        return sum(1 for m in self.members if m["union_id"] in unions and (grp is None or m["grp"] == grp)
                   and self.start(m) and self.start(m) <= d and (m["left_on"] is None or m["left_on"] > d))

    def open(self, unions, grp, d):
        return sum(1 for m in self.members if m["union_id"] in unions and m["grp"] == grp
                   and m["from_member"] is None and m["applied_on"] <= d
                   and (m["decided_on"] is None or m["decided_on"] > d) and (m["left_on"] is None or m["left_on"] > d))

    def survey(self, u, grp, d):
        s = [x for x in self.surveys if x["union_id"] == u and x["grp"] == grp and x["on_date"] <= d]
        return max(s, key=lambda x: x["on_date"]) if s else None


def rate_bp(m, e):
    return (m * 20000 + e) // (2 * e) if e > 0 else None


def bp(v):
    return "" if v is None else "%d.%02d" % (v // 100, v % 100)


def days(d):
    return datetime.date.fromisoformat(d).toordinal()


def coverage_expected(R, on):
    rows = []
    for u, depth in R.order:
        org, units = R.orgs[u], R.counted(u)
        for g in R.groups:
            nrows = sum(1 for m in R.members if m["union_id"] in units and m["grp"] == g)
            act, opn = R.active(units, g, on), R.open(units, g, on)
            s = R.survey(u, g, on)
            est = s["estimated"] if s else None
            rate = rate_bp(act, est) if s else None
            ts = sorted((t for t in R.targets if t["union_id"] == u and t["grp"] == g), key=lambda t: t["by_date"])
            nxt = next((t for t in ts if t["by_date"] >= on), None)
            last = ([t for t in ts if t["by_date"] < on] or [None])[-1]
            if not nrows and not s and not nxt and not last:
                continue
            ns = ls = ""
            if nxt:
                if not est:
                    ns = "no_survey"
                elif rate >= nxt["rate_bp"]:
                    ns = "met"
                else:
                    before = datetime.date.fromordinal(days(on) - 30).isoformat()
                    m30 = R.active(units, g, before)
                    proj30 = act * 30 + (act - m30) * (days(nxt["by_date"]) - days(on))
                    ns = "on_track" if proj30 * 10000 >= nxt["rate_bp"] * est * 30 else "behind"
            if last:
                s_then = R.survey(u, g, last["by_date"])
                if not s_then or s_then["estimated"] <= 0:
                    ls = "no_survey"
                else:
                    r_then = rate_bp(R.active(units, g, last["by_date"]), s_then["estimated"])
                    ls = "met" if r_then >= last["rate_bp"] else "missed"
            rows.append([u, org["name"], g, str(act), str(opn), "" if est is None else str(est), bp(rate),
                         bp(nxt["rate_bp"]) if nxt else "", nxt["by_date"] if nxt else "", ns,
                         bp(last["rate_bp"]) if last else "", last["by_date"] if last else "", ls,
                         s["on_date"] if s else "", s["source"] if s else "", org["kind"], org["parent"] or "",
                         str(depth)])
    return rows


def month_end(y, m):
    return (datetime.date(y + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1)).isoformat()


def progress_expected(R, frm, to):
    months = []
    y, m = int(frm[:4]), int(frm[5:])
    while "%04d-%02d" % (y, m) <= to:
        months.append(("%04d-%02d" % (y, m), month_end(y, m)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    nxt = {m["from_member"]: m for m in R.members if m["from_member"]}
    rows = []
    for u, depth in R.order:
        units = R.counted(u)
        mine = [m for m in R.members if m["union_id"] in units]
        if not mine and not any(s["union_id"] == u for s in R.surveys):
            continue
        for mon, end in months:
            new = sum(1 for m in mine if R.start(m) and R.start(m)[:7] == mon and not m["from_member"])
            tin = sum(1 for m in mine if R.start(m) and R.start(m)[:7] == mon and m["from_member"]
                      and (m["from_member"] not in R.by_id or R.by_id[m["from_member"]]["union_id"] not in units))
            left = sum(1 for m in mine if R.start(m) and m["status"] == "left" and (m["left_on"] or "")[:7] == mon)
            tout = sum(1 for m in mine if R.start(m) and m["status"] == "transferred"
                       and (m["left_on"] or "")[:7] == mon
                       and (m["id"] not in nxt or nxt[m["id"]]["union_id"] not in units))
            total = R.active(units, None, end)
            est = members = 0
            anys = False
            for g in R.groups:
                s = R.survey(u, g, end)
                if s:
                    anys = True
                    est += s["estimated"]
                    members += R.active(units, g, end)
            rows.append([u, R.orgs[u]["name"], mon, str(new), str(left), str(tin), str(tout),
                         str(new + tin - left - tout), str(total), str(est) if anys else "",
                         bp(rate_bp(members, est)) if anys and est > 0 else "", str(depth)])
    return rows


def yuan(fen):
    return "%s%d.%02d" % ("-" if fen < 0 else "", abs(fen) // 100, abs(fen) % 100)


def period_of(kind, d):
    return d[:4] if kind == "year" else "%s-Q%d" % (d[:4], (int(d[5:7]) - 1) // 3 + 1) if kind == "quarter" else d[:7]


def services_expected(R, on):
    rows = []
    for s in R.services:
        ds = [d for d in R.deliveries if d["service"] == s["id"] and d["on_date"] <= on]
        periods = sorted(set(d["period"] for d in ds) | {period_of(s["period"], on)})
        for p in periods:
            pd = [d for d in ds if d["period"] == p]
            fen = sum(d["amount_fen"] for d in pd)
            b = s["budget_fen"]
            rows.append([s["id"], s["name"], s["kind"], s["union_id"], p, str(len(pd)),
                         str(len(set(d["person_key"] for d in pd))), yuan(fen), "" if b is None else yuan(b),
                         "" if b is None else yuan(b - fen), bp(rate_bp(fen, b)) if b else ""])
    return rows


# --------------------------------------------------------------------------
# Reading the outputs back.

class Tables(html.parser.HTMLParser):
    """The <table id=...> of a page: {id: [[cell text, ...], ...]} (header first)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.cur, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self.cur = self.tables.setdefault(a["id"], [])
        elif tag == "tr" and self.cur is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.cur.append(self.row)
            self.row = None
        elif tag == "table":
            self.cur = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse_tables(text):
    t = Tables()
    t.feed(text)
    return t.tables


def png_pixels(path):
    """(width, height, rows of bytes) of an 8-bit RGB/RGBA PNG: chunks read,
    IDAT inflated with zlib, each scanline unfiltered (PNG spec §9)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("not a PNG: %s" % path)
    o, idat, hdr = 8, b"", None
    while o < len(data):
        n, kind = struct.unpack(">I4s", data[o:o + 8])
        body = data[o + 8:o + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        o += 12 + n
    w, h, depth, ctype = hdr[0], hdr[1], hdr[2], hdr[3]
    if depth != 8 or ctype not in (2, 6):
        raise AssertionError("unexpected PNG format depth %d type %d" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), [], 0
    for _ in range(h):
        ft, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def display_width(s):
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


class ReportsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hj-reports-")
        cls.p = p = P.Province(cls.tmp)
        p.make_hub([CZ, CD])
        p.ok("org", "create", "--id", TOWN, "--name", "南川东路街道工会", "--kind", "township", "--parent",
             P.UNION[CZ], d=p.hub)
        p.ok("org", "create", "--id", FED, "--name", "西宁市道路货运行业工会联合会", "--kind", "industry",
             "--parent", "qh-xn", d=p.hub)
        for node in (CZ, CD):
            p.add_county(node)
            p.ok("sync", d=p.dirs[node])
        cls.fakes = H.Fakes(19)
        cls.build()

    @classmethod
    def tearDownClass(cls):
        cls.p.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def admit(cls, node, on, group="truck_driver", union=None, approve_on=None):
        p = cls.p
        r = p.ok(*H.apply_args(cls.fakes.person(region=P.REGION[node]), on=on, group=group, union=union,
                               approve=approve_on is None), d=p.dirs[node])
        mid = r.out.split()[1]
        if approve_on and approve_on != "never":
            p.ok("member", "approve", "--member", mid, "--on", approve_on, d=p.dirs[node])
        return mid

    @classmethod
    def round(cls):
        p = cls.p
        for node in (CZ, CD):
            p.ok("sync", d=p.dirs[node])
        p.hub_run()
        for node in (CZ, CD):
            p.ok("sync", d=p.dirs[node])

    @classmethod
    def build(cls):
        p = cls.p
        cz, cd = p.dirs[CZ], p.dirs[CD]
        ms = [cls.admit(CZ, "2026-%02d-%02d" % (5 + i % 6, 3 + i)) for i in range(9)]
        cls.admit(CZ, "2026-09-20", approve_on="2026-10-08")          # open in September
        cls.admit(CZ, "2026-11-25", approve_on="never")               # open now
        cls.admit(CZ, "2026-07-02", group="courier", union=TOWN)
        cls.admit(CD, "2026-06-15")
        cls.admit(CD, "2026-08-15", group="courier")
        cls.admit(CD, "2026-11-10")
        p.ok("member", "leave", "--member", ms[0], "--reason", "voluntary", "--on", "2026-08-20", d=cz)
        p.ok("member", "leave", "--member", ms[1], "--reason", "lapsed", "--on", "2026-10-31", d=cz)
        p.ok("member", "hand-down", "--member", ms[2], "--to", TOWN, "--on", "2026-09-05", d=cz)
        r = p.ok("member", "transfer", "--member", ms[3], "--to", P.UNION[CD], "--on", "2026-10-10", d=cz)
        tid = re.match(r"transfer (\S+) opened: ", r.out).group(1)
        # A survey and target recorded offline by the county itself.
        p.ok("survey", "record", "--union", P.UNION[CZ], "--group", "courier", "--estimated", "8", "--on",
             "2026-06-01", "--source", "outreach", d=cz)
        cls.round()
        p.ok("member", "accept", "--transfer", tid, "--on", "2026-10-12", d=cd)
        for args in (["survey", "record", "--union", P.UNION[CZ], "--group", "truck_driver", "--estimated", "30",
                      "--on", "2026-06-01", "--source", "transport_dept"],
                     ["survey", "record", "--union", P.UNION[CZ], "--group", "truck_driver", "--estimated", "24",
                      "--on", "2026-09-01", "--source", "platform"],
                     ["survey", "record", "--union", "qh-xn", "--group", "truck_driver", "--estimated", "60",
                      "--on", "2026-06-01", "--source", "transport_dept"],
                     ["survey", "record", "--union", P.UNION[CD], "--group", "truck_driver", "--estimated", "5",
                      "--on", "2026-05-01", "--source", "outreach"],
                     ["target", "set", "--union", P.UNION[CZ], "--group", "truck_driver", "--rate", "30", "--by",
                      "2026-08-31"],
                     ["target", "set", "--union", P.UNION[CZ], "--group", "truck_driver", "--rate", "62.5", "--by",
                      "2027-06-30"],
                     ["target", "set", "--union", "qh-xn", "--group", "truck_driver", "--rate", "10", "--by",
                      "2026-12-31"],
                     ["target", "set", "--union", P.UNION[CD], "--group", "truck_driver", "--rate", "80", "--by",
                      "2026-12-31"],
                     ["target", "set", "--union", P.UNION[CZ], "--group", "courier", "--rate", "50", "--by",
                      "2026-09-30"]):
            p.ok(*args, d=p.hub)
        cls.round()
        # Services (real ops): 城中区's insurance by the year within a budget,
        # the city's gift pack by the quarter; delivered at 城中区 on or after
        # each member's join date (ms[6] joined 05-09, ms[7] 06-10, ms[8]
        # 07-11, ms[4] 09-07), one after ON.
        for args in (["--id", "acc-2026", "--name", "2026年货车司机意外险", "--kind", "accident_insurance",
                      "--union", P.UNION[CZ], "--period", "year", "--unit", "30", "--budget", "1000"],
                     ["--id", "gift", "--name", "季节慰问品", "--kind", "gift_pack", "--union", "qh-xn",
                      "--period", "quarter", "--unit", "50.50"]):
            p.ok("service", "define", "--provider", "p", *args, d=p.hub)
        cls.round()
        for svc, m, on, amount in (("acc-2026", 6, "2026-06-10", None), ("acc-2026", 7, "2026-07-01", None),
                                   ("acc-2026", 7, "2026-07-02", None), ("gift", 8, "2026-08-01", None),
                                   ("gift", 8, "2026-09-30", None), ("gift", 6, "2026-06-30", "0.01"),
                                   ("acc-2026", 4, "2026-12-01", None)):
            p.ok("service", "deliver", "--service", svc, "--member", ms[m], "--on", on,
                 *(["--amount", amount] if amount else []), d=cz)
        cls.round()

    # --- surveys and targets as ops ---------------------------------------

    def test_county_sees_its_targets(self):
        p = self.p
        r = p.ok("target", "list", "--union", P.UNION[CZ], "--json", d=p.dirs[CZ])
        got = sorted((o["group"], o["by"], o["rate_bp"]) for o in json.loads(r.out))
        self.assertEqual(got, [("courier", "2026-09-30", 5000), ("truck_driver", "2026-08-31", 3000),
                               ("truck_driver", "2027-06-30", 6250)])
        # The other county holds them too (they name no person), and the city's.
        self.assertEqual(len(H.query(p.db(CD), "SELECT id FROM target")), 5)
        self.assertEqual(H.query(p.db(CZ), "SELECT estimated, source FROM survey WHERE id = ?",
                                 ("qh-xn-cz/truck_driver/2026-09-01",)), [(24, "platform")])
        self.assertIn("qh-xn-cz", p.ok("survey", "list", d=p.dirs[CZ]).out)
        # Refused before anything is signed, naming the valid values.
        r = p.run("survey", "record", "--union", P.UNION[CZ], "--group", "truck_driver", "--estimated", "3",
                  "--on", "2026-06-01", "--source", "census", d=p.dirs[CZ])
        self.assertEqual((r.rc, r.err.strip()),
                         (2, "huiji: unknown source 'census': one of transport_dept, platform, outreach"))
        r = p.run("target", "set", "--union", P.UNION[CZ], "--group", "pilot", "--rate", "3", "--by",
                  "2026-06-01", d=p.dirs[CZ])
        self.assertEqual(r.rc, 2, r)
        self.assertIn("unknown group 'pilot': one of truck_driver, ride_hailing, courier", r.err)
        r = p.run("target", "set", "--union", P.UNION[CZ], "--group", "courier", "--rate", "62.555", "--by",
                  "2026-06-01", d=p.dirs[CZ])
        self.assertEqual(r.rc, 2, r)
        # Another city's union: a rejection (exit 1), nothing signed.
        n = len(p.changelog(CZ))
        r = p.run("target", "set", "--union", "qh-xn", "--group", "courier", "--rate", "3", "--by", "2026-06-01",
                  d=p.dirs[CZ])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("no_authority", r.err)
        self.assertEqual(len(p.changelog(CZ)), n)
        for cmd in (["survey", "record"], ["target", "set"], ["survey", "list"], ["target", "list"]):
            r = p.ok(*cmd, "--help")
            self.assertIn("example:\n  huiji " + cmd[0], r.out)
        p.check_verify(P.HUB, CZ, CD)
        p.check_audit()

    # --- the reports ------------------------------------------------------

    def report(self, *args, d=None):
        return self.p.ok("report", *args, d=d or self.p.hub).out

    def csv_rows(self, text):
        return list(csv.reader(io.StringIO(text, newline="")))

    def agree(self, name, args, expected, d=None):
        """The CSV equals `expected`; JSON and HTML give the same cells."""
        rows = self.csv_rows(self.report(name, *args, "--format", "csv", d=d))
        self.assertEqual(rows[1:], expected, "%s: the report differs from the rows' computation" % name)
        head = rows[0]
        doc = json.loads(self.report(name, *args, "--json", d=d))
        self.assertEqual(doc["report"], name)
        self.assertEqual(len(doc["rows"]), len(expected))
        for want, got in zip(expected, doc["rows"]):
            self.assertEqual(list(got), head)
            for k, v in zip(head, want):
                j = got[k]
                self.assertEqual("" if j is None else j if isinstance(j, str) else float(j),
                                 float(v) if v and not isinstance(j, str) else v, (name, k))
        out = os.path.join(self.tmp, "%s.html" % name)
        self.assertEqual(self.report(name, *args, "--format", "html", "--out", out, d=d), "wrote %s\n" % out)
        with open(out, encoding="utf-8") as f:
            page = f.read()
        self.assertEqual(parse_tables(page)[name], rows)
        return rows, page

    def test_coverage(self):
        R = Rows(self.p.hub_db)
        exp = coverage_expected(R, ON)
        rows, page = self.agree("coverage", ["--on", ON], exp)
        by = {(r[0], r[2]): dict(zip(rows[0], r)) for r in rows[1:]}
        cz = by[(P.UNION[CZ], "truck_driver")]
        # Spelled out, so the computation above is not the only witness:
        # 城中区 admitted 9 drivers at once and a tenth in October; one left
        # in August, one in October, one was handed down to its township
        # (still counted here), one moved to 城东区: 7 active, over the
        # September survey's 24; one application open.
        self.assertEqual((cz["active_members"], cz["open_applications"], cz["estimated_workers"],
                          cz["rate_percent"]), ("7", "1", "24", "29.17"))
        self.assertEqual((cz["target_percent"], cz["target_by"], cz["target_status"]), ("62.50", "2027-06-30", "behind"))
        self.assertEqual((cz["last_target_percent"], cz["last_target_by"]), ("30.00", "2026-08-31"))
        self.assertEqual(by[("qh-xn", "truck_driver")]["target_status"], "met")
        # 城东区: 3 of 5 (60%), one gained in the last 30 days; at that pace
        # 80% is reached by the end of December.
        self.assertEqual(by[(P.UNION[CD], "truck_driver")]["target_status"], "on_track")
        self.assertEqual(by[(P.UNION[CZ], "courier")]["last_target_status"], "missed")
        self.assertEqual(by[(TOWN, "truck_driver")]["active_members"], "1")
        self.assertNotIn((FED, "truck_driver"), by)  # no members, no survey: no row
        self.assertIn("<svg id=\"chart-coverage\"", page)
        self.assertNotRegex(page, r"(?i)<script|<link|src=|url\(|https?://(?!www\.w3\.org/2000/svg)")
        # On an earlier date the same rows count by their dates.
        self.agree("coverage", ["--on", "2026-08-31"], coverage_expected(R, "2026-08-31"))
        # The other cuts.
        plat = self.csv_rows(self.report("coverage", "--on", ON, "--by", "channel", "--format", "csv"))
        self.assertEqual(plat[0][:5], ["union_id", "union", "channel", "active_members", "open_applications"])
        r = self.p.run("report", "coverage", "--by", "county", d=self.p.hub)
        self.assertEqual(r.err.strip(), "huiji: unknown --by 'county': one of union, group, platform, channel")

    def test_text_aligns_by_display_width(self):
        out = self.report("coverage", "--on", ON)
        lines = out.splitlines()[1:]
        self.assertTrue(any("城中区总工会" in x for x in lines), out)
        starts = set()
        for line in lines:
            m = re.search(r"\s(group|truck_driver|courier)\s", line)
            self.assertTrue(m, line)
            starts.add(display_width(line[:m.start(1)]))
        self.assertEqual(len(starts), 1, "the group column starts at different display columns:\n" + out)

    def test_progress(self):
        R = Rows(self.p.hub_db)
        rows, page = self.agree("progress", ["--from", "2026-05", "--to", "2026-11"],
                                progress_expected(R, "2026-05", "2026-11"))
        by = {(r[0], r[2]): dict(zip(rows[0], r)) for r in rows[1:]}
        oct_cz, oct_cd = by[(P.UNION[CZ], "2026-10")], by[(P.UNION[CD], "2026-10")]
        self.assertEqual((oct_cz["transfers_out"], oct_cz["leaves"], oct_cz["new_members"]), ("1", "1", "2"))
        self.assertEqual(oct_cd["transfers_in"], "1")
        self.assertEqual(by[("qh-xn", "2026-10")]["transfers_in"], "0")  # inside the city
        self.assertEqual(by[(TOWN, "2026-09")]["transfers_in"], "1")
        self.assertEqual(by[(P.UNION[CZ], "2026-09")]["transfers_in"], "0")
        # Each month's net is the change of its end count.
        for u in {r[0] for r in rows[1:]}:
            prev = None
            for r in (x for x in rows[1:] if x[0] == u):
                d = dict(zip(rows[0], r))
                if prev is not None:
                    self.assertEqual(int(d["active_members"]) - prev, int(d["net"]), (u, d["month"]))
                prev = int(d["active_members"])
        self.assertIn("<svg id=\"chart-progress\"", page)

    def test_services(self):
        R = Rows(self.p.hub_db)
        rows, page = self.agree("services", ["--on", ON], services_expected(R, ON))
        by = {(r[0], r[4]): dict(zip(rows[0], r)) for r in rows[1:]}
        self.assertEqual(by[("acc-2026", "2026")]["spend_yuan"], "90.00")   # the December one not yet
        self.assertEqual(by[("acc-2026", "2026")]["members_served"], "2")
        self.assertEqual(by[("acc-2026", "2026")]["left_yuan"], "910.00")
        self.assertEqual(by[("gift", "2026-Q4")]["deliveries"], "0")        # the period of --on, empty
        self.assertIn("<svg id=\"chart-services\"", page)

    def test_html_in_chromium(self):
        exe = shutil.which("chromium")
        # Not a skip: tools/setup-deps installs it, so a missing browser is
        # a broken set-up, and a page nobody rendered is not tested.
        self.assertTrue(exe, "chromium is not installed (tools/setup-deps installs it)")
        out = os.path.join(self.tmp, "all.html")
        self.report("all", "--on", ON, "--from", "2026-05", "--to", "2026-11", "--format", "html", "--out", out)
        shot = os.path.join(self.tmp, "shot.png")
        profile = os.path.join(self.tmp, "chromium-profile")
        base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=" + profile, "--window-size=1200,2000"]
        dom = self.chromium(base + ["--dump-dom", "file://" + out])
        self.chromium(base + ["--screenshot=" + shot, "file://" + out])
        w, h, bpp, px = png_pixels(shot)
        self.assertEqual((w, h), (1200, 2000))
        values = [row[i] for row in px[::20] for i in range(0, w * bpp, bpp * 20)]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / len(values)
        self.assertGreater(var, 50, "the screenshot is blank (pixel variance %.1f)" % var)
        self.assertGreater(len(set(values)), 8, "the screenshot has almost no colours")
        tables = parse_tables(dom)
        for name, args in (("coverage", ["--on", ON]), ("progress", ["--from", "2026-05", "--to", "2026-11"]),
                           ("services", ["--on", ON])):
            want = self.csv_rows(self.report(name, *args, "--format", "csv"))
            self.assertEqual(tables[name], want, "the page's %s figures are not the CSV's" % name)
        self.assertIn("城中区总工会", dom)
        self.assertEqual(dom.count("<svg"), 3)

    def chromium(self, args):
        """Run chromium bounded by a (scaled) timeout; its whole process
        group is killed after, so no renderer outlives the test."""
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=H.scaled(60))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError("chromium did not finish in %.0f s" % H.scaled(60))
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.assertEqual(proc.returncode, 0, err.decode("utf-8", "replace")[-2000:])
        return out.decode("utf-8")


if __name__ == "__main__":
    unittest.main()
