-- Runbooks of a project and their versions. A definition (inputs, secrets it uses,
-- steps with their scripts, URLs and bodies, triggers) is sealed with the project's
-- key; a new definition is a new version, the old ones stay readable. The identifier
-- and name stay plaintext (they are how people find a runbook).
CREATE TABLE runbooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

CREATE TABLE runbook_versions (
    runbook_id TEXT NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    definition_sealed BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (runbook_id, version)
);
