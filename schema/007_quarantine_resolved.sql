-- 007_quarantine_resolved.sql — LOCAL (hub): quarantine rows are kept as
-- evidence after an operator resolves them (`huiji hub quarantine --reset`);
-- only unresolved rows hold a feed back.
ALTER TABLE quarantine ADD COLUMN resolved_at TEXT;  -- UTC, NULL = open
