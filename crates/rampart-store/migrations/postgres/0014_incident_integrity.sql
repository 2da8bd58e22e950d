-- When an incident's sealed data was first found not to open (tampered or damaged):
-- set once, so the integrity violation is audited once per incident, whichever
-- request or replica meets it first.
ALTER TABLE incidents ADD COLUMN integrity_violation_at BIGINT;
