-- 011_inbox.sql — SYNC tables, the hub's side of the inbox. What the hub
-- delivers to each node (refs/huiji/inbox/<node>): the change sets of
-- other nodes that touch the rows the node holds, in hub order. The hub
-- entry that sequenced a delivery signs the node's count after it, so a
-- node knows what it must have been given; the git refs are rebuilt from
-- this table after a crash (sync/inbox.c). A county keeps what it has
-- taken from its inbox in meta ('inbox_n').
CREATE TABLE inbox (
  node      TEXT NOT NULL,           -- recipient
  n         INTEGER NOT NULL,        -- 1, 2, 3 ... per recipient
  src_node  TEXT NOT NULL,           -- the delivered change set's author
  src_seq   INTEGER NOT NULL,        -- and its seq (followed holds the bytes)
  hub_seq   INTEGER NOT NULL,        -- the entry that sequenced it
  PRIMARY KEY (node, n)
) WITHOUT ROWID;
