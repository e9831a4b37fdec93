-- 008_membership_person_index.sql — REPLICATED tables, index only.
-- membership.person_key REFERENCES person: SQLite checks that foreign key
-- on every DELETE FROM person, and the partial index membership_one_live
-- cannot serve it, so each check scanned the whole table and the county
-- rebase went quadratic (measured by huiji-bench: 1.68 ms per person
-- delete on a 10,000-member registry, 12.5 us with this index).
CREATE INDEX membership_person ON membership(person_key);
