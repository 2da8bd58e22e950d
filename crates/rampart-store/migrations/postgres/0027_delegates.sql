-- Delegates: agents a customer runs inside their network that pull signed tasks from
-- a project (the server itself connects out to nothing). A delegate starts as a
-- registration (status pending) with a one-time registration token (kept as a blind
-- index, cleared when used or once expired); registering exchanges it for the
-- delegate's own rmp_dlg_ credential (blind index) and makes it active. A revoked
-- delegate keeps its row (history, audit) and is refused on its next request.
CREATE TABLE delegates (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- JSON array of "key=value" tags, sorted; tasks select delegates by them.
    tags TEXT NOT NULL,
    status TEXT NOT NULL,
    registration_hmac BYTEA UNIQUE,
    registration_expires_at BIGINT,
    credential_hmac BYTEA UNIQUE,
    version TEXT,
    last_heartbeat_at BIGINT,
    last_ip TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    registered_at BIGINT,
    revoked_at BIGINT,
    UNIQUE (project_id, name)
);

-- Tasks for a project's delegates. A task is claimed by one delegate at a time with a
-- conditional update (status queued → running, or a running task whose lease ran out),
-- so it runs once however many server replicas hand out tasks. Arguments and results
-- are sealed with the project's key. A failed attempt goes back to queued with
-- not_before pushed out (backoff) until max_attempts; expires_at bounds the whole task.
CREATE TABLE delegate_tasks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    -- JSON array of "key=value" tags a delegate must all have.
    selector TEXT NOT NULL,
    -- Set when the task is for this one delegate only (a connectivity check).
    target_delegate_id TEXT REFERENCES delegates (id) ON DELETE CASCADE,
    arguments_sealed BYTEA NOT NULL,
    status TEXT NOT NULL,
    delegate_id TEXT REFERENCES delegates (id) ON DELETE SET NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    lease_until BIGINT,
    expires_at BIGINT NOT NULL,
    result_sealed BYTEA,
    error_code TEXT,
    -- What the task is for (a notification's id, a runbook step's), for its producer.
    subject TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX delegate_tasks_ready ON delegate_tasks (project_id, status, not_before);
CREATE INDEX delegate_tasks_subject ON delegate_tasks (subject);
