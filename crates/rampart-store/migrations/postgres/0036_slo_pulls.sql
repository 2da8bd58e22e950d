-- When a delegate next pulls an SLO's indicator series from the Prometheus its
-- definition names (microseconds; NULL: at the next tick). The engine moves it on by
-- compare-and-swap in the transaction that queues the pull's task, so one replica
-- queues each pull, and a restart neither repeats nor forgets one.
ALTER TABLE slos ADD COLUMN pull_due_at BIGINT;
