-- 001_registry.sql — the registry projection.
--
-- REPLICATED: every table here is a pure function of the ordered ops
-- (node/fold.c); no column is ever written from a clock, a random number or
-- local state. Two nodes folding the same ops hold byte-identical rows, and
-- `huiji verify` / `huiji audit` re-fold from nothing to prove it.
-- Keys are globally unique text (ids minted offline as '<node>:<seq>:<n>'),
-- never rowid, so rows mean the same thing on every machine.

-- Administrative divisions (GB/T 2260), seed data from 002_regions.sql.
CREATE TABLE region (
  code    TEXT PRIMARY KEY,          -- 2, 4 or 6 digits
  name    TEXT NOT NULL,             -- UTF-8 Chinese name
  level   INTEGER NOT NULL,          -- 1 province, 2 city, 3 county
  parent  TEXT                       -- enclosing code; NULL for provinces
) WITHOUT ROWID;

-- Vocabularies (seed data, 003_vocab.sql): one table each, so reports and
-- validation read the same list.
CREATE TABLE worker_group (
  code    TEXT PRIMARY KEY,          -- stable identifier used in ops
  name_zh TEXT NOT NULL,
  name_en TEXT NOT NULL,
  core4   INTEGER NOT NULL,          -- 1 for the ACFTU's "4 groups"
  sort    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE channel (               -- entrance through which one applied
  code    TEXT PRIMARY KEY,
  name_zh TEXT NOT NULL,
  name_en TEXT NOT NULL,
  sort    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE platform (              -- freight / gig platforms
  code    TEXT PRIMARY KEY,
  name_zh TEXT NOT NULL,
  name_en TEXT NOT NULL,
  sort    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE org_kind (
  code    TEXT PRIMARY KEY,
  name_zh TEXT NOT NULL,
  sort    INTEGER NOT NULL
) WITHOUT ROWID;

-- The union tree: regional federations plus industry, platform and
-- logistics-park unions hanging under a regional body.
CREATE TABLE org (
  id         TEXT PRIMARY KEY,       -- chosen by the creator, [a-z0-9._-]
  name       TEXT NOT NULL,          -- e.g. 城中区总工会
  kind       TEXT NOT NULL REFERENCES org_kind(code),
  region     TEXT,                   -- region code (not enforced: codes change)
  parent     TEXT REFERENCES org(id),-- NULL only for the root
  created_op TEXT NOT NULL,          -- '<node>:<seq>:<n>' of org.create
  updated_op TEXT                    -- last org.update
) WITHOUT ROWID;
CREATE INDEX org_parent ON org(parent);

-- Nodes enrolled by the hub: who may sign, for which union, in what role.
CREATE TABLE node (
  id          TEXT PRIMARY KEY,
  pubkey      TEXT NOT NULL,         -- Ed25519 public key, 64 hex chars
  union_id    TEXT NOT NULL REFERENCES org(id),
  role        TEXT NOT NULL CHECK (role IN ('hub', 'union', 'auditor')),
  enrolled_op TEXT NOT NULL
) WITHOUT ROWID;

-- Personal data lives apart from the membership graph (PIPL: it can later
-- travel sealed to the hub key). person_key is a keyed BLAKE2b-256 of the
-- normalised ID number, so de-duplication never needs the number itself.
CREATE TABLE person (
  person_key TEXT PRIMARY KEY,       -- 64 hex chars
  name       TEXT NOT NULL,
  id_number  TEXT NOT NULL,          -- 18 chars, normalised (upper-case X)
  phone      TEXT,                   -- 11 digits
  plate      TEXT,                   -- vehicle plate, e.g. 青A12345
  updated_op TEXT NOT NULL
) WITHOUT ROWID;

-- One row per application; approval turns it into the membership record
-- (会籍). History is kept: rejected and left rows stay.
CREATE TABLE membership (
  id         TEXT PRIMARY KEY,       -- '<node>:<seq>:<n>' of member.apply
  person_key TEXT NOT NULL REFERENCES person(person_key),
  union_id   TEXT NOT NULL,          -- the base union holding the record
  grp        TEXT NOT NULL REFERENCES worker_group(code),
  channel    TEXT NOT NULL REFERENCES channel(code),
  platform   TEXT REFERENCES platform(code),
  status     TEXT NOT NULL CHECK (status IN ('applied', 'active', 'rejected', 'left')),
  applied_on TEXT NOT NULL,          -- YYYY-MM-DD, from the op
  applied_by TEXT NOT NULL,          -- node that recorded the application
  decided_on TEXT,
  decided_by TEXT,                   -- node that approved or rejected
  reason     TEXT,                   -- rejection reason or leave kind
  left_on    TEXT
) WITHOUT ROWID;
-- The rule "one live membership or open application per person", enforced
-- by the fold with a clear message and here as a last line of defence.
CREATE UNIQUE INDEX membership_one_live ON membership(person_key)
  WHERE status IN ('applied', 'active');
CREATE INDEX membership_union ON membership(union_id, status);
