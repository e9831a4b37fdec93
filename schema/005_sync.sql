-- 005_sync.sql — LOCAL replication state (never part of the projection).

-- The hub order as this node knows it: every change set the hub has
-- sequenced, in order, with the hub's verdict on each of its ops. At the
-- hub it is written by the sequencer (and by the hub's own commands, which
-- are sequenced as they commit); at a county it is copied from the hub feed
-- by `huiji sync`. The registry is a pure function of this table followed
-- by the node's own change sets the hub has not sequenced yet (pending):
--   projection = fold(followed ORDER BY pos) + fold(own pending)
-- which is what `verify` re-computes and what a county rebuilds after sync.
CREATE TABLE followed (
  pos       INTEGER PRIMARY KEY,     -- 1, 2, 3 ... hub order
  hub_seq   INTEGER NOT NULL,        -- hub change set that sequenced it
  node      TEXT NOT NULL,           -- author of the change set
  seq       INTEGER NOT NULL,        -- its seq in the author's feed
  hash      BLOB NOT NULL,           -- BLAKE2b-256 of envelope
  envelope  BLOB NOT NULL,           -- the signed bytes, unchanged
  verdicts  TEXT,                    -- JSON array, one per op: "ok" or
                                     -- [reason, detail]; NULL = all ok
  UNIQUE (node, seq)
);

-- County: the hub feed entries already followed (chain check on the next
-- sync) — hub_seq -> hash.
CREATE TABLE hub_feed (
  seq  INTEGER PRIMARY KEY,
  hash BLOB NOT NULL
);

-- Hub: change sets that failed verification or forked a feed. The evidence
-- is kept; that node's feed waits at `seq` until an operator resolves it.
CREATE TABLE quarantine (
  node      TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  hash      BLOB,                    -- of the offending envelope, if any
  reason    TEXT NOT NULL,           -- bad_signature, fork, broken_chain ...
  detail    TEXT NOT NULL,
  evidence  BLOB,                    -- the offending envelope bytes
  commit_id TEXT,                    -- the git commit that carried it
  PRIMARY KEY (node, seq)
);
