-- Encryption at rest. Each organisation and project owns a ring of versioned 256-bit
-- keys, stored wrapped by the root key (AAD: owner and version). One version is
-- primary (seals); older ones only open until the rewrap job has moved their data.
-- Destroying a ring (crypto-shredding) clears wrapped: what it sealed is gone for good.
CREATE TABLE key_versions (
    owner_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    wrapped BYTEA,
    status TEXT NOT NULL,
    is_primary BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    destroyed_at BIGINT,
    PRIMARY KEY (owner_id, version)
);

-- Secrets of an organisation or a project. The value is write-only through the API and
-- stored sealed per version (AAD: owner, "secret", secret id, "value", version).
CREATE TABLE secrets (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

CREATE TABLE secret_versions (
    secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    value_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (secret_id, version)
);
