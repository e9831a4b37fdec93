-- 018_coverage.sql — surveys and dated targets (issue 9 §2;
-- node/ops_coverage.c). REPLICATED (state digest v6), so a county sees its
-- own targets offline. The membership rate (入会率) of a union and worker
-- group on a date is its active members over the estimate of the latest
-- survey on or before that date; a target says what rate is due by when.

-- A survey's estimate of the workers of one group in one union's area.
-- One per (union, group, date): a later survey of the same day, in hub
-- order, replaces it.
CREATE TABLE survey (
  id         TEXT PRIMARY KEY,         -- '<union>/<group>/<on_date>' (the digest orders by it)
  union_id   TEXT NOT NULL,
  grp        TEXT NOT NULL REFERENCES worker_group(code),
  on_date    TEXT NOT NULL,            -- YYYY-MM-DD the estimate holds from
  estimated  INTEGER NOT NULL CHECK (estimated >= 0),
  source     TEXT NOT NULL CHECK (source IN ('transport_dept', 'platform', 'outreach')),
  op         TEXT NOT NULL             -- the survey.record op that set it
) WITHOUT ROWID;
CREATE INDEX survey_of ON survey(union_id, grp, on_date);

-- A dated target: the rate due by a date. One per (union, group, date);
-- a later target.set of the same date replaces the rate.
CREATE TABLE target (
  id         TEXT PRIMARY KEY,         -- '<union>/<group>/<by_date>'
  union_id   TEXT NOT NULL,
  grp        TEXT NOT NULL REFERENCES worker_group(code),
  by_date    TEXT NOT NULL,            -- YYYY-MM-DD
  rate_bp    INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000), -- basis points: 62.5% = 6250
  op         TEXT NOT NULL             -- the target.set op that set it
) WITHOUT ROWID;
CREATE INDEX target_of ON target(union_id, grp, by_date);
