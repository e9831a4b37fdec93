"""harness.py — drive the real `huiji` binary against real node directories.

Standard library only. What the integration suites share:

- huiji_bin(): the binary under test ($HUIJI_BIN, else `--huiji PATH` on the
  command line, else build/tools/huiji of this checkout);
- run() / Node: run a huiji command with --dir and capture rc, stdout, stderr;
- Fakes: generated, VALID but FAKE personal data (GB 11643 ID numbers with a
  correct ISO 7064 MOD 11-2 check character, Chinese names, mobile numbers,
  vehicle plates). Fixtures never hold real people's data;
- dump(db) and friends: the canonical rows of the replicated tables, the
  change log, and a decoder of the change-set envelope (DESIGN §3) so a test
  can check the stored bytes independently of huiji's own reader;
- make_root(): a root node qh-hub for 青海省总工会 with a small org tree;
- county_rows() / rows_diff() / followed(): what a county holds and the
  hub's order with its verdicts, read from any registry, and a readable
  account of where two such readings differ;
- time: HUIJI_TIME_SCALE (default 1; tools/run-tests sets it higher for
  the sanitizer build) multiplies every bound a test waits for (scaled(),
  HANG, wait_until(), run()'s timeout). Bounds are hang guards, never speed
  checks: a wait that runs out fails with what it waited for;
- HUIJI_LONG=1: the suites' long variants (LONG);
- main(): the entry point every suite ends with.
"""

import datetime
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import sqlite3
import struct
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

_bin = None

LONG = os.environ.get("HUIJI_LONG") == "1"
TIME_SCALE = max(1.0, float(os.environ.get("HUIJI_TIME_SCALE") or "1"))


def scaled(seconds):
    """A time bound for this machine and build (HUIJI_TIME_SCALE)."""
    return seconds * TIME_SCALE


# Hang guard (never a speed check): no single command may take longer.
HANG = scaled(120)


def wait_until(pred, what, timeout=HANG, interval=0.01):
    """Poll pred() until it is true (returns its value); after `timeout`
    seconds fail with AssertionError naming `what` (a wait that runs out is
    a failure, never a pass)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s (HUIJI_TIME_SCALE=%g) waiting for: %s"
                                 % (timeout, TIME_SCALE, what))
        time.sleep(interval)


def take_bin_arg(argv):
    """Remove `--huiji PATH` from argv (so unittest does not see it) and
    remember PATH. Returns the cleaned argv."""
    global _bin
    out = []
    i = 0
    while i < len(argv):
        if argv[i] == "--huiji" and i + 1 < len(argv):
            _bin = os.path.abspath(argv[i + 1])
            i += 2
            continue
        if argv[i].startswith("--huiji="):
            _bin = os.path.abspath(argv[i].split("=", 1)[1])
            i += 1
            continue
        out.append(argv[i])
        i += 1
    return out


def huiji_bin():
    """The huiji binary under test."""
    global _bin
    if _bin:
        return _bin
    env = os.environ.get("HUIJI_BIN")
    if env:
        _bin = env
        return _bin
    for build in ("build", "build-asan"):
        p = os.path.join(TOP, build, "tools", "huiji")
        if os.access(p, os.X_OK):
            _bin = p
            return _bin
    raise RuntimeError("huiji binary not found: set HUIJI_BIN or pass --huiji PATH")


def child_env(extra=None):
    env = dict(os.environ)
    env.pop("HUIJI_DIR", None)  # a test always names its directory
    env.setdefault("LC_ALL", "C.UTF-8")
    if extra:
        env.update(extra)
    return env


class Result:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    @property
    def err_lines(self):
        return self.err.splitlines()

    @property
    def out_lines(self):
        return self.out.splitlines()

    def __repr__(self):
        return "huiji %s -> rc=%s\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(shlex.quote(a) for a in self.args), self.rc, self.out, self.err)


def run(args, d=None, timeout=120, env=None, exe=None):
    """Run `huiji ARGS [--dir D]` (or another test tool `exe`) and capture
    everything (text, UTF-8). `timeout` is scaled (HUIJI_TIME_SCALE)."""
    args = [str(a) for a in args]
    if d is not None:
        args = args + ["--dir", str(d)]
    p = subprocess.run([exe or huiji_bin()] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=scaled(timeout), env=child_env(env))
    return Result(([os.path.basename(exe)] if exe else []) + args, p.returncode,
                  p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def tool_bin(env_name, *rel):
    """A test-only executable: $env_name, else build*/REL of this checkout
    (None if not built)."""
    p = os.environ.get(env_name)
    if p:
        return p
    for build in ("build", "build-asan"):
        c = os.path.join(TOP, build, *rel)
        if os.access(c, os.X_OK):
            return c
    return None


class Case(unittest.TestCase):
    """A test with a temporary directory of its own (removed after it) and
    fake people seeded by the test's id (the same people on every run)."""
    prefix = "huiji-it-"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=self.prefix)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.fakes = Fakes(zlib.crc32(self.id().encode()))

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)


def main():
    """unittest.main for a suite run as a script (`--huiji PATH` allowed).
    SIGTERM (meson's timeout) unwinds like Ctrl-C, so clean-ups and the
    servers' exit handlers run."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.argv = take_bin_arg(sys.argv)
    unittest.main(verbosity=2)


def popen(args, d):
    """Start `huiji ARGS --dir D` without waiting (for the crash tests)."""
    args = [str(a) for a in args] + ["--dir", str(d)]
    return subprocess.Popen([huiji_bin()] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=child_env())


class HuijiError(AssertionError):
    pass


# --------------------------------------------------------------------------
# Fake people (generated; never real data)

# Real county-level region codes; 632123 (the former 乐都县) is an older
# code no longer in the 2022 list: still a genuine prefix, huiji warns.
REGIONS_CURRENT = ["630102", "630103", "630104", "630105", "630121", "340104", "320102"]
REGIONS_OLD = ["632123"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
         "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "海燕", "志强", "文博", "晓东",
         "德才", "卓玛", "才让", "拉毛", "永福", "玉兰", "国庆", "红梅"]
PLATE_PROVINCES = "青皖苏"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECKS = "10X98765432"


def id_check_char(first17):
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    assert len(first17) == 17 and first17.isdigit(), first17
    return ID_CHECKS[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def make_id(region, birth, seqno):
    """A GB 11643 ID number: region(6) + YYYYMMDD + order(3) + check."""
    first17 = "%s%04d%02d%02d%03d" % (region, birth.year, birth.month, birth.day, seqno)
    return first17 + id_check_char(first17)


def id_with_bad_check(idno):
    """The same number with a wrong (but well-formed) check character."""
    good = idno[17]
    for c in "0123456789X":
        if c != good:
            return idno[:17] + c
    raise AssertionError("unreachable")


def mask_id(idno):
    return idno[:4] + "*" * 10 + idno[-4:]


def mask_phone(phone):
    return phone[:3] + "****" + phone[-4:]


def mask_name(name):
    return name[0] + "*" * (len(name) - 1)


def mask_plate(plate):
    if len(plate) <= 3:
        return plate[0] + "*" * (len(plate) - 1)
    return plate[:2] + "*" * (len(plate) - 3) + plate[-1]


class Person(dict):
    """name, id_number, phone, plate, birth (datetime.date)."""
    __getattr__ = dict.__getitem__


class Fakes:
    """Deterministic generator of unique fake people for one test."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.ids, self.phones, self.plates = set(), set(), set()

    def name(self):
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

    def phone(self):
        while True:
            p = "1" + self.rng.choice("358") + "".join(self.rng.choice("0123456789") for _ in range(9))
            if p not in self.phones:
                self.phones.add(p)
                return p

    def plate(self):
        while True:
            p = (self.rng.choice(PLATE_PROVINCES) + self.rng.choice(PLATE_LETTERS) +
                 "".join(self.rng.choice("0123456789") for _ in range(5)))
            if p not in self.plates:
                self.plates.add(p)
                return p

    def birth(self, first=datetime.date(1962, 1, 1), last=datetime.date(2006, 12, 31)):
        return datetime.date.fromordinal(self.rng.randint(first.toordinal(), last.toordinal()))

    def id_number(self, region=None, birth=None, old_regions=False):
        while True:
            r = region or self.rng.choice(REGIONS_CURRENT + (REGIONS_OLD if old_regions else []))
            b = birth or self.birth()
            idno = make_id(r, b, self.rng.randint(1, 999))
            if idno not in self.ids:
                self.ids.add(idno)
                return idno

    def person(self, region=None, birth=None, plate=None, old_regions=False):
        b = birth or self.birth()
        return Person(name=self.name(), id_number=self.id_number(region, b, old_regions), phone=self.phone(),
                      plate=self.plate() if plate is None and self.rng.random() < 0.5 else plate,
                      birth=b)


GROUPS = ["truck_driver", "ride_hailing", "courier", "food_delivery", "carer", "domestic",
          "mall_staff", "estate_agent", "security_guard"]
CHANNELS = ["platform_app", "qr_oneclick", "mobile_window", "outreach", "inspection"]
PLATFORMS = ["yunmanman", "kayoudidai", "zhongchu", "huilong", "huolala", "didi", "meituan", "eleme",
             "sf_express", "other"]


def apply_args(p, union=None, group="truck_driver", channel="outreach", platform=None, on="2024-03-01",
               approve=False):
    a = ["member", "apply", "--name", p.name, "--id-number", p.id_number, "--phone", p.phone,
         "--group", group, "--channel", channel, "--on", on]
    if p.get("plate"):
        a += ["--plate", p.plate]
    if platform:
        a += ["--platform", platform]
    if union:
        a += ["--union", union]
    if approve:
        a.append("--approve")
    return a


# --------------------------------------------------------------------------
# Reading a registry directly

PROJECTION = ("org", "node", "person", "membership")


def connect(db_path):
    con = sqlite3.connect(db_path, timeout=30)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def query(db_path, sql, params=()):
    con = connect(db_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def execute(db_path, sql, params=()):
    con = connect(db_path)
    try:
        con.execute(sql, params)
        con.commit()
    finally:
        con.close()


def dump(db_path, tables=PROJECTION):
    """Canonical rows of the replicated tables, ordered by primary key (the
    first column of each): {table: [(col=value, ...), ...]}."""
    con = connect(db_path)
    try:
        out = {}
        for t in tables:
            cur = con.execute("SELECT * FROM %s ORDER BY 1" % t)
            cols = [c[0] for c in cur.description]
            out[t] = [tuple(zip(cols, row)) for row in cur.fetchall()]
        return out
    finally:
        con.close()


def subtree_unions(db_path, union):
    """`union` and every org below it in that registry's org tree."""
    orgs = query(db_path, "SELECT id, parent FROM org")
    out, grew = {union}, True
    while grew:
        grew = False
        for oid, parent in orgs:
            if parent in out and oid not in out:
                out.add(oid)
                grew = True
    return out


def has_table(con, name):
    return con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()[0]


def county_rows(db_path, union):
    """The rows a county of `union` holds, read from any registry (a
    county's or the hub's): the whole org and node tables, the memberships
    in its subtree and the person rows they reference, and (schema 010 on)
    the transfers out of or into its subtree, each ordered by primary key,
    each row a dict (column order kept)."""
    unions = sorted(subtree_unions(db_path, union))
    marks = ",".join("?" * len(unions))
    con = connect(db_path)
    try:
        def q(sql, params=()):
            cur = con.execute(sql, params)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]
        rows = {
            "org": q("SELECT * FROM org ORDER BY id"),
            "node": q("SELECT * FROM node ORDER BY id"),
            "membership": q("SELECT * FROM membership WHERE union_id IN (%s) ORDER BY id" % marks, unions),
            "person": q("SELECT * FROM person WHERE person_key IN (SELECT person_key FROM membership "
                        "WHERE union_id IN (%s)) ORDER BY person_key" % marks, unions),
            # Transfers touching the subtree: into or out of it, or a
            # request (no from_union yet) for a person whose live record
            # is in it.
            "transfer": q("SELECT * FROM transfer WHERE to_union IN (%s) OR from_union IN (%s) OR "
                          "(from_union IS NULL AND person_key IN (SELECT person_key FROM membership WHERE "
                          "status = 'active' AND union_id IN (%s))) ORDER BY id" % (marks, marks, marks),
                          unions * 3) if has_table(con, "transfer") else [],
        }
        return rows
    finally:
        con.close()


PERSONAL_FIELDS = ("name", "id_number", "phone", "plate")


def shut_view(rows, shut_keys):
    """Person rows as a node that may not open their seals holds them
    (node/person_seal.h): name and id_number '', phone and plate NULL."""
    out = []
    for r in rows:
        if r.get("person_key") in shut_keys:
            r = dict(r, name="", id_number="", phone=None, plate=None)
        out.append(r)
    return out


def rows_diff(mine, theirs, label="county", other="hub"):
    """Where two county_rows() readings differ: [] if equal, else one line
    per table that differs, with a few rows found only on each side. A
    person row `mine` holds shut (sealed, not to it: name '' and a seal) is
    compared by its key, seal and updated_op only."""
    out = []
    shut = {r["person_key"] for r in mine.get("person", []) if r.get("seal") and r.get("name") == ""}
    if shut:
        theirs = dict(theirs, person=shut_view(theirs.get("person", []), shut))
    for table in mine.keys() | theirs.keys():
        a = [tuple(r.items()) for r in mine.get(table, [])]
        b = [tuple(r.items()) for r in theirs.get(table, [])]
        if a != b:
            only_a, only_b = set(a) - set(b), set(b) - set(a)
            out.append("%s: %d rows only at the %s, %d only at the %s%s:\n      %s %s\n      %s %s" % (
                table, len(only_a), label, len(only_b), other, "" if only_a or only_b else " (order differs)",
                label, sorted(only_a, key=repr)[:3], other, sorted(only_b, key=repr)[:3]))
    return sorted(out)


def repo_blobs(repo):
    """Every object of a git repository, inflated; change-set envelopes
    also with their payload inflated (the bytes anyone could read with zlib
    alone): what the privacy checks search for personal data."""
    r = subprocess.run(["git", "--git-dir", repo, "cat-file", "--batch-all-objects", "--batch"],
                       capture_output=True, check=True, timeout=scaled(120))
    out, data, i = [], r.stdout, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        _, kind, size = data[i:nl].split()
        body = data[nl + 1:nl + 1 + int(size)]
        i = nl + 1 + int(size) + 1
        out.append(body)
        if kind == b"blob" and body[:4] == b"HJCS":
            n = body[6]
            plen = int.from_bytes(body[7 + n + 56:7 + n + 60], "little")
            payload = body[7 + n + 60:7 + n + 60 + plen]
            out.append(zlib.decompress(payload) if body[5] & 1 else payload)
    return out


def person_key_of(person, keys, i):
    """The person key op i gave its person: the one it names (a hub's op,
    or one from before op version 4), else the one the hub's entry
    published for it (a followed row's keys text, hub_entry_keys.c)."""
    if person and person.get("key"):
        return person["key"]
    for idx, key in (json.loads(keys) if keys else []):
        if idx == i:
            return key
    return None


def verdict_at(verdicts, i):
    """The hub's verdict of op i from a followed row's verdict text (either
    form, hub_entry.c): None when applied, else (reason, detail) — v1's
    detail is a sentence, v2's the holder (the union already holding the
    person for duplicate_member, else "")."""
    vd = json.loads(verdicts) if verdicts else None
    if not vd:
        return None
    if isinstance(vd[0], list) and vd[0] and isinstance(vd[0][0], int):
        for idx, reason, holder in vd:
            if idx == i:
                return reason, holder
        return None
    v = vd[i]
    return None if v == "ok" else (v[0], v[1])


def followed(db_path):
    """The hub's order as this registry holds it, with the verdicts:
    [(node, seq, hash hex, verdicts JSON)] by hub position (a backfill
    is given after rows it precedes)."""
    return [(n, s, bytes(h).hex(), v) for n, s, h, v in
            query(db_path, "SELECT node, seq, hash, verdicts FROM followed ORDER BY hub_seq, idx, pos")]


def changelog(db_path):
    """[(seq, hash bytes, envelope bytes, created_at)] ordered by seq."""
    return query(db_path, "SELECT seq, hash, envelope, created_at FROM changelog ORDER BY seq")


def state(db_path):
    """Projection dump plus the change log: equal before and after a command
    means the command changed nothing."""
    return dump(db_path), [(s, bytes(h), bytes(e)) for s, h, e, _ in changelog(db_path)]


def parse_envelope(b):
    """Decode a change-set envelope (DESIGN §3, format v1) without huiji."""
    b = bytes(b)
    if len(b) < 7 + 60 + 64 or b[:4] != b"HJCS":
        raise ValueError("not an envelope")
    version, flags, n = b[4], b[5], b[6]
    node = b[7:7 + n].decode("ascii")
    o = 7 + n
    seq, = struct.unpack_from("<Q", b, o)
    prev = b[o + 8:o + 40]
    created_at, = struct.unpack_from("<q", b, o + 40)
    key_id = b[o + 48:o + 56]
    plen, = struct.unpack_from("<I", b, o + 56)
    payload = b[o + 60:o + 60 + plen]
    sig = b[o + 60 + plen:]
    if len(sig) != 64:
        raise ValueError("envelope: %d bytes after the payload, expected a 64-byte signature" % len(sig))
    if flags & 1:
        payload = zlib.decompress(payload)
    return dict(version=version, flags=flags, node=node, seq=seq, prev=prev, created_at=created_at,
                key_id=key_id, payload=json.loads(payload.decode("utf-8")), sig=sig,
                hash=hashlib.blake2b(b, digest_size=32).digest(), header_len=o + 60, payload_stored=plen)


# --------------------------------------------------------------------------
# Nodes

class Node:
    def __init__(self, d):
        self.dir = d
        self.db = os.path.join(d, "registry.db")
        self.secret = os.path.join(d, "secret.key")
        self.person_key = os.path.join(d, "person.key")
        self.id = None

    def run(self, *args, **kw):
        return run(list(args), self.dir, **kw)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        if r.rc != 0:
            raise HuijiError("command failed: %r" % r)
        return r

    def apply(self, p, **kw):
        """member apply; returns the membership id it printed."""
        r = self.ok(*apply_args(p, **kw))
        m = re.fullmatch(r"(applied|admitted) (\S+) on \S+( \(today by this computer's clock; --on to change\))?\n",
                         r.out)
        if not m:
            raise HuijiError("unexpected member apply output: %r" % r)
        return m.group(2)

    def dump(self):
        return dump(self.db)

    def state(self):
        return state(self.db)

    def changelog(self):
        return changelog(self.db)

    def log(self, reveal=False):
        args = ["log", "--json"] + (["--reveal"] if reveal else [])
        r = self.ok(*args)
        return json.loads(r.out)  # one JSON array, a change set an element

    def verify(self):
        return self.run("verify")

    def pubkey(self):
        return query(self.db, "SELECT value FROM meta WHERE key = 'pubkey'")[0][0]


ORG_TREE = [  # id, name, kind, parent, region
    ("qh-xn", "西宁市总工会", "city", "qh", "6301"),
    ("qh-xn-cz", "城中区总工会", "county", "qh-xn", "630103"),
    ("qh-xn-cb", "城北区总工会", "county", "qh-xn", "630105"),
]


def init_root(d, node="qh-hub", person_key=None):
    args = ["init", "--node", node, "--union", "qh", "--union-name", "青海省总工会", "--region", "63"]
    if person_key:
        args += ["--person-key", person_key]
    r = run(args, d)
    if r.rc != 0:
        raise HuijiError("init failed: %r" % r)
    n = Node(d)
    n.id = node
    return n


def make_root(d, node="qh-hub", person_key=None, tree=True):
    """A root node for 青海省总工会 (qh) with the city qh-xn and its
    counties qh-xn-cz and qh-xn-cb: 4 change sets."""
    n = init_root(d, node, person_key)
    if tree:
        for oid, name, kind, parent, region in ORG_TREE:
            n.ok("org", "create", "--id", oid, "--name", name, "--kind", kind, "--parent", parent,
                 "--region", region)
    return n


def write_person_key(path, seed):
    """A 0600 file with 64 hex digits (a province person key, fake)."""
    rng = random.Random(seed)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(rng.choice("0123456789abcdef") for _ in range(64)) + "\n")
    return path


# A well-formed Ed25519 public key (the curve's base point) for counties
# whose hub the test never runs: sealing needs the hub's key to be a point.
FAKE_HUB_KEY = "58" + "66" * 31


def make_county(d, node, union, person_key=None, hub_key=FAKE_HUB_KEY, hub="/nonexistent/hub.git"):
    """`huiji init` of a county. person_key is ignored: a county holds none
    (the hub keys its applications); the argument stays for the callers
    that still name the province's file."""
    r = run(["init", "--node", node, "--union", union, "--hub", hub, "--hub-key", hub_key], d)
    if r.rc != 0:
        raise HuijiError("county init failed: %r" % r)
    n = Node(d)
    n.id = node
    return n, r


def dir_snapshot(d):
    """{relative path: (mode, bytes)} of every file under d."""
    snap = {}
    for root, _dirs, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                snap[os.path.relpath(p, d)] = (os.stat(p).st_mode, fh.read())
    return snap


def git_feed(d, node_id):
    """The change sets of node `node_id`'s git feed in the node directory d
    (whichever bare repository there holds refs/huiji/*/<node_id>), oldest
    first, as envelope bytes. Uses stock git (tools/setup-deps installs
    it), so it also checks that what huiji wrote is an ordinary repository;
    without git it fails rather than let the checks on the feed pass."""
    git = shutil.which("git")
    if not git:
        raise AssertionError("stock git is needed to read a node's git feed (tools/setup-deps installs it)")
    for repo in sorted(os.listdir(d)):
        rp = os.path.join(d, repo)
        if not repo.endswith(".git") or not os.path.isdir(rp):
            continue
        refs = subprocess.run([git, "--git-dir", rp, "for-each-ref", "--format=%(refname)", "refs/huiji/"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode().split()
        mine = [r for r in refs if r.split("/")[-1] == node_id and r.split("/")[2] in ("feeds", "hub")]
        if not mine:
            continue
        commits = subprocess.run([git, "--git-dir", rp, "rev-list", "--reverse", "--first-parent", mine[0]],
                                 stdout=subprocess.PIPE, check=True).stdout.decode().split()
        if not commits:
            return []
        out = subprocess.run([git, "--git-dir", rp, "cat-file", "--batch"],
                             input="".join("%s:changeset\n" % c for c in commits).encode(),
                             stdout=subprocess.PIPE, check=True).stdout
        envs, i = [], 0
        while i < len(out):
            nl = out.index(b"\n", i)
            head = out[i:nl].split()
            if len(head) != 3 or head[1] != b"blob":
                raise AssertionError("git feed: unexpected object %r" % out[i:nl])
            size = int(head[2])
            envs.append(out[nl + 1:nl + 1 + size])
            i = nl + 1 + size + 1
        return envs
    return []
