-- Runs: one plan → policy checks → approval → apply (or destroy) cycle on a workspace.
-- The status moves only through the transitions of `rampart_domain::iacm::runs`;
-- `version` counts them, so a transition applies only to the run it read. Every
-- transition is kept (run_transitions) with who made it and when; approvals name what
-- they approved (a keyed digest of the plan, its file, the policy results and the cost)
-- and when they expire. Nothing here is a person's text: no column is sealed.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    is_destroy BIGINT NOT NULL,
    status TEXT NOT NULL,
    plan_id TEXT REFERENCES plans (id) ON DELETE CASCADE,
    lock_id TEXT NOT NULL,
    applied_state_version BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);

CREATE INDEX runs_by_workspace ON runs (workspace_id, id);
-- At most one run of a workspace applies at a time.
CREATE UNIQUE INDEX runs_one_applying ON runs (workspace_id) WHERE status = 'applying';

CREATE TABLE run_transitions (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    event TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL,
    detail TEXT,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE run_approvals (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    approver TEXT NOT NULL,
    binding TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, approver, approved_at)
);

-- How a workspace's runs are approved: auto-apply (off), whether the author may
-- approve (no), how many approvals (1) and how long one lasts (a day); and whether it
-- is governed (its state changes only through runs; off for workspaces that existed
-- before runs, on by default for new ones made through the API).
ALTER TABLE workspaces ADD COLUMN auto_apply BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN allow_self_approval BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN approvals_required BIGINT NOT NULL DEFAULT 1;
ALTER TABLE workspaces ADD COLUMN approval_ttl_seconds BIGINT NOT NULL DEFAULT 86400;
ALTER TABLE workspaces ADD COLUMN governed BIGINT NOT NULL DEFAULT 0;
