-- The last sample taken of each series Prometheus' remote write sent for an SLO's
-- indicator: a counter's next sample adds its increase since this one, and a sample at
-- or before it (a retried write) is skipped. A series is named by the blind index of
-- its role (good, bad, total, threshold) and labels — label values are hostnames,
-- paths, customer names — so the labels themselves are never stored. Rows of series
-- not sent for a week are removed by the engine.
CREATE TABLE slo_series (
    slo_id TEXT NOT NULL REFERENCES slos (id) ON DELETE CASCADE,
    series_index TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (slo_id, series_index)
);

CREATE INDEX slo_series_at ON slo_series (at_ms);
CREATE INDEX slo_minutes_minute ON slo_minutes (minute);
