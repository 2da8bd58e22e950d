-- Which write last changed an SLO's minutes. Every write of minutes takes the SLO's
-- next data version (its row locked until the write commits, so versions commit in
-- order) and stamps the minutes it writes with it; the engine keeps each SLO's minutes
-- between ticks and reads only those stamped after the version it last saw, instead of
-- every minute of every window on every tick.
ALTER TABLE slos ADD COLUMN data_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE slo_minutes ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX slo_minutes_version ON slo_minutes (slo_id, version);
