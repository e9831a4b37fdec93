-- 019_rejection_ack.sql — LOCAL: rejections of this node's own ops a clerk
-- has acknowledged (`huiji status --ack OP`), so `status` stops listing
-- them. Never replicated, never digested: it changes no registry row
-- (issue 9 §5).
CREATE TABLE rejection_ack (
  op       TEXT PRIMARY KEY,           -- '<node>:<seq>:<n>' of the rejected op
  acked_at INTEGER NOT NULL            -- ms, this computer's clock (shown, never decides)
) WITHOUT ROWID;
