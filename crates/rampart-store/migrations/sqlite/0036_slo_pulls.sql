-- When a delegate next pulls the indicator series of an SLO whose definition names a
-- pull (microseconds); NULL for an SLO without one. Set when a definition is written
-- (due at once), moved on by compare-and-swap in the transaction that queues the pull's
-- task, so one replica queues each pull and a restart neither repeats nor forgets one;
-- the engine finds the due ones through the index, without reading every SLO.
ALTER TABLE slos ADD COLUMN pull_due_at BIGINT;
CREATE INDEX slos_pull_due ON slos (pull_due_at) WHERE pull_due_at IS NOT NULL;
