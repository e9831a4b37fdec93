-- 009_followed_rules.sql — SYNC tables. Each change set of the hub order
-- is re-folded under the rules the hub decided it by (node/rules.h): the
-- rules version and the "now" of its date rules, from the hub entry that
-- sequenced it (v1 entries: rules 1, time unknown). A hub's own change
-- sets take the rules of the last entry before them, their time is their
-- own signed created_at (hub_at 0 here).
ALTER TABLE followed ADD COLUMN rules INTEGER NOT NULL DEFAULT 1;
ALTER TABLE followed ADD COLUMN hub_at INTEGER NOT NULL DEFAULT 0;
