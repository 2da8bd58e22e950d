-- IaCM workspaces and their Terraform/OpenTofu state.
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    provisioner TEXT NOT NULL,
    provisioner_version TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

-- Every accepted state write is a version. The body is sealed with the project's key
-- (AAD: workspace id, version, serial, lineage); chain_hash commits to this version's
-- fields, its body's SHA-256 and the previous version's chain_hash, so a version row,
-- a body or a link changed behind the server's back is detected on read.
CREATE TABLE state_versions (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    serial BIGINT NOT NULL,
    lineage TEXT NOT NULL,
    sha256 BYTEA NOT NULL,
    size_bytes BIGINT NOT NULL,
    resource_count BIGINT NOT NULL,
    lock_id TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    reason TEXT,
    body_sealed BYTEA NOT NULL,
    chain_hash BYTEA NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

-- The held lock of a workspace, with the client's lock info stored verbatim.
CREATE TABLE workspace_locks (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    lock_id TEXT NOT NULL,
    info TEXT NOT NULL,
    operation TEXT NOT NULL,
    locked_by TEXT NOT NULL,
    locked_at BIGINT NOT NULL
);
