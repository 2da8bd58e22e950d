-- Incident response: services, their webhook integrations, alerts and incidents.
CREATE TABLE services (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    auto_resolve BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

-- A webhook endpoint of a service. Credentials are sealed with the project key (bearer:
-- only the token's blind index is kept; basic and HMAC secrets sealed as JSON).
CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    auth_mode TEXT NOT NULL,
    token_hmac BYTEA,
    credentials_sealed BYTEA,
    source_cidrs TEXT NOT NULL,
    rate_limit_per_minute BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Alerts: open_key is the dedup key while the alert is open and NULL once resolved, so
-- the unique index makes concurrent identical triggers one alert and lets a trigger
-- after a resolve open a new one.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    dedup_key TEXT NOT NULL,
    open_key TEXT,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    group_key TEXT NOT NULL,
    payload_sealed BYTEA NOT NULL,
    incident_id TEXT,
    event_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE UNIQUE INDEX alerts_open ON alerts (integration_id, open_key);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE incident_counters (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    last_number BIGINT NOT NULL
);

-- Incidents; the title is sealed. open_group is the alert group while the incident is
-- open (NULL once resolved), so one group opens one incident.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    service_id TEXT REFERENCES services (id) ON DELETE SET NULL,
    open_group TEXT,
    title_sealed BYTEA NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    resolved_at BIGINT,
    UNIQUE (project_id, number)
);
CREATE UNIQUE INDEX incidents_open_group ON incidents (service_id, open_group);

-- The incident's timeline: every change, note and status update, sealed.
CREATE TABLE incident_events (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    body_sealed BYTEA NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
