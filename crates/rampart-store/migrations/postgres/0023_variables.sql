-- Variables a run hands to Terraform: each workspace's own, and variable sets of an
-- organisation or a project that apply to some of their workspaces (all, by tag, by
-- identifier). A holder's variables are one sealed JSON document (keys, values, flags,
-- descriptions: everything a person wrote), sealed with the key of its scope (AAD:
-- owner, "workspace_variables" or "variable_set", the holder's id, "variables",
-- version); `version` counts every change, so two changes at once cannot both land.
CREATE TABLE variable_sets (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    attach_kind TEXT NOT NULL,
    attach_values TEXT NOT NULL,
    version BIGINT NOT NULL,
    variable_count BIGINT NOT NULL,
    variables_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

CREATE INDEX variable_sets_by_org ON variable_sets (org_id, project_id);

CREATE TABLE workspace_variables (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    variable_count BIGINT NOT NULL,
    variables_sealed BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

-- What Terraform printed during a run's plan and apply, as the wrapper uploaded it
-- (sensitive variable values masked again here), sealed with the workspace's project
-- key (AAD: owner, "run_log", "{workspace}/{run}", the phase, 0); one log a phase.
CREATE TABLE run_logs (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    log_sealed BYTEA NOT NULL,
    UNIQUE (run_id, phase)
);
