-- 010_transfer.sql — REPLICATED tables. "Join once, transfer dynamically"
-- (DOMAIN, the member's life §4): a membership record moves between base
-- unions without a lapse. A transfer is offered by the union holding the
-- member or requested by the one receiving them, and accepted, declined or
-- withdrawn (node/ops_transfer.c); at the acceptance's hub position the old
-- membership ends 'transferred' and a new one starts, keeping the join date
-- and naming the record it continues. SQLite cannot change a CHECK, so the
-- membership table is rebuilt with the same rows.
CREATE TABLE membership_v3 (
  id          TEXT PRIMARY KEY,      -- op id of the member.apply or the transfer's acceptance
  person_key  TEXT NOT NULL REFERENCES person(person_key),
  union_id    TEXT NOT NULL,
  grp         TEXT NOT NULL REFERENCES worker_group(code),
  channel     TEXT NOT NULL REFERENCES channel(code),
  platform    TEXT REFERENCES platform(code),
  status      TEXT NOT NULL CHECK (status IN ('applied', 'active', 'rejected', 'left', 'transferred')),
  applied_on  TEXT NOT NULL,
  applied_by  TEXT NOT NULL,
  decided_on  TEXT,
  decided_by  TEXT,
  reason      TEXT,
  left_on     TEXT,                  -- left, or transferred away, on
  joined_on   TEXT,                  -- when the membership record began (kept across transfers)
  from_member TEXT                   -- the record this one continues (a transfer), else NULL
) WITHOUT ROWID;
INSERT INTO membership_v3
  SELECT id, person_key, union_id, grp, channel, platform, status, applied_on, applied_by, decided_on,
         decided_by, reason, left_on, CASE WHEN status IN ('active', 'left') THEN decided_on END, NULL
  FROM membership;
DROP TABLE membership;
ALTER TABLE membership_v3 RENAME TO membership;
CREATE UNIQUE INDEX membership_one_live ON membership(person_key) WHERE status IN ('applied', 'active');
CREATE INDEX membership_union ON membership(union_id, status);
CREATE INDEX membership_person ON membership(person_key);

CREATE TABLE transfer (
  id          TEXT PRIMARY KEY,      -- op id of the offer, request or hand-down
  kind        TEXT NOT NULL CHECK (kind IN ('offer', 'request', 'hand_down')),
  person_key  TEXT NOT NULL,
  from_member TEXT,                  -- the record moved; a request's is named by its acceptance
  from_union  TEXT,
  to_union    TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'ended')),
  opened_on   TEXT NOT NULL,
  opened_by   TEXT NOT NULL,         -- node
  decided_on  TEXT,
  decided_by  TEXT,                  -- node
  by_hub      INTEGER NOT NULL DEFAULT 0, -- decided by the hub operator for a side that never answered
  to_member   TEXT,                  -- the membership the acceptance started
  snapshot    TEXT                   -- what the holding side signed for the receiving side (JSON)
) WITHOUT ROWID;
CREATE INDEX transfer_open ON transfer(person_key) WHERE status = 'open';
