-- 012_sealed_person.sql — REPLICATED. Personal fields travel sealed
-- (node/person_seal.h): a person row keeps the commitment of the sealed
-- op that last set it ("seal", hex; NULL for plaintext history), which
-- the state digest covers from rules 4 on instead of the fields, so a
-- county, the hub and an auditor without the audit key compute the same
-- digest. A node that holds the record but may not open the seal keeps
-- name and id_number '' and phone, plate NULL: not known here.
ALTER TABLE person ADD COLUMN seal TEXT;
