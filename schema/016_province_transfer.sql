-- 016_province_transfer.sql — transfers across provinces (issue 8 §3;
-- node/ops_province_transfer.c, sync/province_transfer.c).
--
-- REPLICATED: two kinds of transfer. 'province_out': this province's
-- offer of a record to a union of an enrolled peer, its to_union
-- "<province>/<union>" (that union is not in this org tree). 'province_in':
-- a record a peer offered, taken in by this province's hub, its id
-- "<province>/<the peer's transfer id>" and its from_union and
-- from_member "<province>/<...>". The other province is named inside
-- columns the state digests already cover, so no digest version changes
-- (a column of its own would need one: tests/unit/test_projection.c holds
-- every column to the digest). SQLite cannot change a CHECK, so the table
-- is rebuilt with the same rows.
CREATE TABLE transfer_v2 (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('offer', 'request', 'hand_down', 'province_out', 'province_in')),
  person_key  TEXT NOT NULL,
  from_member TEXT,
  from_union  TEXT,
  to_union    TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'ended')),
  opened_on   TEXT NOT NULL,
  opened_by   TEXT NOT NULL,
  decided_on  TEXT,
  decided_by  TEXT,
  by_hub      INTEGER NOT NULL DEFAULT 0,
  to_member   TEXT,
  snapshot    TEXT
) WITHOUT ROWID;
INSERT INTO transfer_v2
  SELECT id, kind, person_key, from_member, from_union, to_union, status, opened_on, opened_by, decided_on,
         decided_by, by_hub, to_member, snapshot
  FROM transfer;
DROP TABLE transfer;
ALTER TABLE transfer_v2 RENAME TO transfer;
CREATE INDEX transfer_open ON transfer(person_key) WHERE status = 'open';

-- LOCAL (hub): operator conflicts between provinces, which no fold
-- decides (each province's order is its own): a person a peer offered
-- who is already active here, or a record of ours a peer accepted after
-- it was decided here, or one active in a third province too. One row
-- each; `hub peers` and `status` list them; the operator settles them.
CREATE TABLE province_conflict (
  province    TEXT NOT NULL,         -- the peer the transfer is with
  transfer    TEXT NOT NULL,         -- the offering province's transfer id
  kind        TEXT NOT NULL,         -- active_here | decided_here | active_elsewhere
  detail      TEXT NOT NULL,         -- one line, never personal data
  peer_hub_seq INTEGER NOT NULL,     -- the peer registry's position when found
  found_at    INTEGER NOT NULL,      -- ms
  PRIMARY KEY (province, transfer, kind)
) WITHOUT ROWID;
