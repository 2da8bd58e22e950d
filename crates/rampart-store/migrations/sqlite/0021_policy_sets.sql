-- Policy sets of an organisation or a project: what they check (entity), how strictly
-- (enforcement), in which Rego syntax and input shape, and which workspaces of their
-- scope they apply to. Their modules are one sealed JSON document per set, sealed with
-- the scope's key (AAD: owner, "policy_set", set id, "modules", version), so the Rego
-- people wrote is not in clear; the version counts every change, and results name it.
CREATE TABLE policy_sets (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    scope_key TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    entity TEXT NOT NULL,
    enforcement TEXT NOT NULL,
    rego_syntax TEXT NOT NULL,
    input_shape TEXT NOT NULL,
    attach_kind TEXT NOT NULL,
    attach_values TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    version BIGINT NOT NULL,
    module_count BIGINT NOT NULL,
    modules_sealed BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope_key, identifier)
);

CREATE INDEX policy_sets_by_entity ON policy_sets (org_id, entity);

-- What each policy set decided about a plan at upload, in evaluation order (seq). The
-- set is named by id, identifier and version, not referenced: a result outlives a
-- deleted or changed set. The messages (which quote the plan) and an override's reason
-- are sealed with the plan's project key (AAD: owner, "plan_policy_result",
-- "{workspace}/{plan}", the field, seq).
CREATE TABLE plan_policy_results (
    plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    workspace_id TEXT NOT NULL,
    policy_set_id TEXT NOT NULL,
    policy_set_identifier TEXT NOT NULL,
    policy_set_scope TEXT NOT NULL,
    policy_set_version BIGINT NOT NULL,
    enforcement TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration_us BIGINT NOT NULL,
    modules_sealed BLOB NOT NULL,
    evaluated_at BIGINT NOT NULL,
    overridden_by TEXT,
    override_reason_sealed BLOB,
    overridden_at BIGINT,
    PRIMARY KEY (plan_id, seq),
    UNIQUE (plan_id, policy_set_id)
);

-- What the results of a plan add up to (none, passed, passed_with_warnings,
-- needs_override, blocked); plans uploaded before policy sets existed had none apply.
ALTER TABLE plans ADD COLUMN policy_status TEXT NOT NULL DEFAULT 'none';
