-- 004_local.sql — LOCAL state of one node: never replicated, never part of
-- the projection digest.

-- Who this node is. Keys: node_id, union_id, role ('hub' for a root node,
-- 'union' for a county that follows a hub), pubkey (hex), hub_url, hub_key.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- This node's own feed: one row per change set, appended in the same
-- transaction that applied its ops (DESIGN §2). The envelope bytes are the
-- signed bytes, stored and sent exactly as signed.
CREATE TABLE changelog (
  seq        INTEGER PRIMARY KEY,    -- 1, 2, 3 ... no gaps
  hash       BLOB NOT NULL UNIQUE,   -- BLAKE2b-256 of envelope
  envelope   BLOB NOT NULL,
  created_at INTEGER NOT NULL        -- ms since epoch, author's clock
);
