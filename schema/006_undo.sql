-- 006_undo.sql — LOCAL: the inverse of each own change set not yet
-- sequenced by the hub, as an SQLite session changeset. The rebase applies
-- them newest first to take the pending ops back out, folds the hub's new
-- decisions, and replays the pending ops on top (DESIGN §4), so its cost is
-- proportional to what is pending, not to the registry. Rows are dropped
-- once the hub has sequenced their change set. Losing this table loses
-- nothing: the rebase then rebuilds from the hub order (node/replay.c).
CREATE TABLE undo (
  seq     INTEGER PRIMARY KEY,      -- own change set
  inverse BLOB NOT NULL             -- sqlite3changeset_invert of its effect
);
