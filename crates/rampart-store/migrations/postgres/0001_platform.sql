-- Platform: account, tenancy, identity, audit. Timestamps are microseconds since the
-- Unix epoch (UTC); ids are UUIDv7 text; flags are 0/1 integers (the same on both engines).
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Installation-wide secrets (the token pepper), wrapped by the root key.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, identifier)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    is_account_owner BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE service_accounts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    owner_service_account_id TEXT REFERENCES service_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hmac BYTEA NOT NULL UNIQUE,
    last_four TEXT NOT NULL,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT
);
CREATE INDEX api_tokens_owner_user ON api_tokens (owner_user_id);
CREATE INDEX api_tokens_owner_service_account ON api_tokens (owner_service_account_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash BYTEA NOT NULL UNIQUE,
    csrf_hash BYTEA NOT NULL,
    client_ip TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One row per audited action, authentication attempt and denial. No foreign keys: the
-- record outlives what it describes.
CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    occurred_at BIGINT NOT NULL,
    actor TEXT,
    auth_method TEXT,
    token_id TEXT,
    client_ip TEXT,
    org_id TEXT,
    project_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    outcome TEXT NOT NULL,
    request_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
