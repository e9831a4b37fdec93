-- 013_rewrap.sql — SYNC/LOCAL tables: the hub's re-wraps (node/rewrap.h).
-- A seal names the nodes its author knew to hold the record; the hub
-- delivers the change set to nodes the author did not know (one enrolled
-- later, a backfill, the receiver of a transfer enrolled after the offer)
-- and gives each the data key wrapped to it. A wrap needs no signature:
-- it opens only to the plaintext the signed commitment names, or fails.
--
-- Hub: what it gave each node, in order (refs/huiji/wraps/<node> is
-- rebuilt from it after a crash, as the inbox is). `body`: JSON
-- [[commitment hex, wrap hex], ...] for one delivery; `at`: its commit's
-- time, the entry's, as recent as what it opens (git's negotiation offers
-- the newest commits first: a chain dated 1970 was never offered, and
-- every fetch brought the whole ref again).
CREATE TABLE rewrap (
  node      TEXT NOT NULL,
  n         INTEGER NOT NULL,        -- 1, 2, 3 ... per node
  hub_seq   INTEGER NOT NULL,        -- the entry whose deliveries needed it
  at        INTEGER NOT NULL,        -- that entry's time, ms
  body      TEXT NOT NULL,
  PRIMARY KEY (node, n)
) WITHOUT ROWID;

-- Hub: the auditor nodes whose history it has re-wrapped (every sealed
-- change set sequenced before the round it first saw them in; after, each
-- round's). An auditor is given no inbox: it reads every feed, and its
-- wraps ref, for `huiji audit --audit-key`.
CREATE TABLE rewrap_node (
  node      TEXT PRIMARY KEY,
  since     INTEGER NOT NULL         -- the hub entry of that backfill
) WITHOUT ROWID;

-- County: the wraps taken from its refs/huiji/wraps/<self>, by seal
-- commitment; the fold tries them where the seal has no wrap for it. A
-- wrap that does not open is tried and passed over, never believed.
CREATE TABLE seal_wrap (
  seal      TEXT NOT NULL,           -- the commitment (hex)
  wrap      TEXT NOT NULL,           -- 160 hex digits
  PRIMARY KEY (seal, wrap)
) WITHOUT ROWID;
