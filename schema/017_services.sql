-- 017_services.sql — the services ledger (issue 9 §1; node/ops_service.c).
-- What members receive for their membership: a service a union funds, the
-- service points (司机之家, driver homes) where it is handed out, and each
-- delivery. REPLICATED (state digest v6, projection.c): services and
-- points reach every node; a delivery reaches the nodes holding its
-- record's union (node/deliver.c). Budgets and per-member limits are
-- judged in hub order by the hub and the auditor, which hold every
-- delivery; a county takes the hub's verdict on the sums it cannot make.
-- No personal data: a delivery names the membership record and its
-- person key, never a name or number.
-- Money is integer fen (1 yuan = 100 fen) everywhere in ops and rows.

CREATE TABLE service_kind (
  code    TEXT PRIMARY KEY,
  name_zh TEXT NOT NULL,
  name_en TEXT NOT NULL,
  sort    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO service_kind(code, name_zh, name_en, sort) VALUES
  ('accident_insurance', '意外伤害保险',   'accident insurance',        1),
  ('cancer_insurance',   '防癌保险',       'cancer insurance',          2),
  ('driver_medical',     '司机医疗互助',   'drivers'' medical insurance', 3),
  ('health_check',       '健康体检',       'health check',              4),
  ('gift_pack',          '季节慰问品',     'seasonal gift pack',        5),
  ('legal_aid',          '法律援助',       'legal aid',                 6),
  ('hardship_aid',       '困难帮扶',       'hardship aid',              7),
  ('skills_training',    '技能培训',       'skills training',           8),
  ('counselling',        '心理疏导',       'counselling',               9),
  ('job_referral',       '就业推荐',       'job referral',             10);

-- A service, defined by the node with authority for the funding union.
-- Budget and limits hold per period (the calendar year, quarter or month
-- holding a delivery's own date, `on`). NULL = no such bound.
CREATE TABLE service (
  id            TEXT PRIMARY KEY,      -- chosen by the definer, [a-z0-9._-]
  name          TEXT NOT NULL,         -- e.g. 2027年货车司机意外险
  kind          TEXT NOT NULL REFERENCES service_kind(code),
  provider      TEXT NOT NULL,         -- insurer, clinic, law firm ...
  union_id      TEXT NOT NULL,         -- the union that funds it; its members (subtree) may receive it
  period        TEXT NOT NULL CHECK (period IN ('year', 'quarter', 'month')),
  budget_fen    INTEGER,               -- spend allowed per period
  unit_fen      INTEGER NOT NULL,      -- what one delivery costs when it names no amount
  member_count  INTEGER,               -- deliveries per member per period
  member_fen    INTEGER,               -- spend per member per period
  created_op    TEXT NOT NULL,
  updated_op    TEXT
) WITHOUT ROWID;

-- A service point: a driver home (司机之家) or another place deliveries
-- are made, kept by a union.
CREATE TABLE service_point (
  id          TEXT PRIMARY KEY,        -- chosen by the creator, [a-z0-9._-]
  name        TEXT NOT NULL,           -- e.g. 城中区司机之家(八一路)
  kind        TEXT NOT NULL CHECK (kind IN ('driver_home', 'service_station', 'office')),
  union_id    TEXT NOT NULL,           -- the union that runs it
  created_op  TEXT NOT NULL
) WITHOUT ROWID;

-- One delivery the fold applied (a refused one is a verdict, not a row).
CREATE TABLE service_delivery (
  id          TEXT PRIMARY KEY,        -- '<node>:<seq>:<n>' of service.deliver
  service     TEXT NOT NULL REFERENCES service(id),
  member      TEXT NOT NULL,           -- membership record id, active at the op's position
  person_key  TEXT NOT NULL,           -- the member's; limits count per person
  union_id    TEXT NOT NULL,           -- the union holding the record then
  point       TEXT REFERENCES service_point(id),
  on_date     TEXT NOT NULL,           -- YYYY-MM-DD, the op's own date
  period      TEXT NOT NULL,           -- '2027', '2027-Q1' or '2027-03': of on_date in the service's period
  amount_fen  INTEGER NOT NULL,
  by_node     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX service_delivery_period ON service_delivery(service, period);
CREATE INDEX service_delivery_person ON service_delivery(person_key, service, period);
