-- 014_peer.sql — provinces that follow each other (issue 8 §3; node/ops_peer.c,
-- sync/peer.c, node/peer_dup.c).
--
-- REPLICATED: the peers a hub enrolled (op province.peer, the hub's own
-- feed), so every node of the province knows each peer hub's key.
CREATE TABLE peer (
  province    TEXT PRIMARY KEY,      -- the peer province's id (its root union), as node ids
  hub_node    TEXT NOT NULL,         -- its hub's node id (refs/huiji/hub/<hub_node> there)
  key         TEXT NOT NULL,         -- its hub's Ed25519 public key, 64 hex: pinned, never read from its feed
  url         TEXT NOT NULL,         -- where its hub repository is served (git://...)
  name        TEXT,                  -- e.g. 安徽省总工会; NULL: its root union's name is used
  enrolled_op TEXT NOT NULL          -- the op id of the province.peer
) WITHOUT ROWID;

-- LOCAL (hub): how following each peer went. The registry the hub holds
-- of a peer is <hub>/peers/<province>.db, the peer's whole hub order
-- re-folded and audited with its key pinned; it is replaced (temp file,
-- fsync, rename) only by an audit that found nothing wrong, and carries
-- its own position (meta peer_hub_seq, peer_head). This row says what the
-- last good one reflects and why the last attempt failed, if it did.
CREATE TABLE peer_state (
  province    TEXT PRIMARY KEY,
  hub_seq     INTEGER,               -- the peer hub change set the installed registry ends at
  head        TEXT,                  -- its hash (hex)
  head_commit TEXT,                  -- its git commit: a pass that finds the peer there skips the audit
  checked_at  INTEGER,               -- ms, the last attempt that succeeded
  failed_at   INTEGER,               -- ms, the last attempt, when it failed; NULL: it succeeded
  problem     TEXT                   -- that failure, one line (never personal data)
) WITHOUT ROWID;

-- LOCAL (hub): which peer position each duplicate_province verdict was
-- judged against, so an auditor holding that peer's repository can check
-- it later (a re-fold takes these verdicts on the hub's word).
CREATE TABLE peer_verdict (
  op          TEXT PRIMARY KEY,      -- the member.apply refused
  province    TEXT NOT NULL,
  peer_hub_seq INTEGER NOT NULL      -- the peer registry's position (peer_state.hub_seq then)
) WITHOUT ROWID;
