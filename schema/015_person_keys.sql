-- 015_person_keys.sql — SYNC/LOCAL: the person keys the hub publishes
-- (node/fold_key.c, hub entry v4). From op version 4 a county's ops name
-- no person key and county laptops hold no person secret: the hub derives
-- each key and its entry publishes it per op; a node keeps an include's
-- list beside its verdicts, so a re-fold of the hub order gives every
-- record the hub's key.
ALTER TABLE followed ADD COLUMN keys TEXT;  -- JSON [[index, key], ...], NULL: none

-- A county's own applications, before the hub has keyed them, are
-- de-duplicated by the ID numbers it holds in plaintext (ops_member.c).
CREATE INDEX person_id_number ON person(id_number);
