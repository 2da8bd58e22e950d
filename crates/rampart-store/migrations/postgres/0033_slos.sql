-- Service level objectives of a project and their per-minute data. The definition
-- (description, service, target, window, budgeting) is sealed with the project's key;
-- the identifier and name stay plaintext (they are how people find an SLO), and the
-- service it is about is a reference, like an incident's. A minute's counts are numbers
-- a monitoring system sent, not words a person wrote. The engine raises the SLO's
-- burn-rate alerts through an integration of its service (made at the first alert) and
-- keeps which are open (`page,ticket,budget_exhausted`, changed by compare-and-swap so
-- one replica sends each change).
CREATE TABLE slos (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    service_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    integration_id TEXT,
    alerts_open TEXT NOT NULL DEFAULT '',
    definition_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

-- Good and total events of one minute (its first instant, Unix microseconds), replaced
-- when the minute is sent again.
CREATE TABLE slo_minutes (
    slo_id TEXT NOT NULL REFERENCES slos (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    good DOUBLE PRECISION NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (slo_id, minute)
);
