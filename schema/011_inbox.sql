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

-- Hub: the unions each sequenced change set touched ('*': every node, an
-- op on the org tree or the nodes), so a node enrolled later is given the
-- history of its subtree (its backfill) — and the nodes whose inbox has
-- begun. Nodes enrolled before the inbox hold that history from every
-- node's feed already (entries v1, v2), so they count as begun.
CREATE TABLE touch (
  pos       INTEGER NOT NULL,        -- followed.pos of the change set
  union_id  TEXT NOT NULL,
  PRIMARY KEY (pos, union_id)
) WITHOUT ROWID;
CREATE INDEX touch_union ON touch(union_id);
CREATE TABLE inbox_node (
  node      TEXT PRIMARY KEY,
  since     INTEGER NOT NULL         -- hub entry of its backfill (0: before the inbox)
) WITHOUT ROWID;
INSERT INTO inbox_node(node, since) SELECT id, 0 FROM node WHERE role = 'union';

-- County: a change set of the hub order is folded at its hub position,
-- (hub entry, index in the entry); a backfill delivers ones older than
-- what was followed last, so the position is not the row's insertion.
ALTER TABLE followed ADD COLUMN idx INTEGER NOT NULL DEFAULT 0;
CREATE INDEX followed_order ON followed(hub_seq, idx, pos);
