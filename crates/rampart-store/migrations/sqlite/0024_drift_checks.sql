-- Drift checks of workspaces (`rampart tf drift`): which plan the check made (its JSON
-- sealed with the plans: the drifted resources and their values are read from it), how
-- it looked (a full plan or refresh-only), how many resources drifted, who checked and
-- when. Kept as history; the latest decides the workspace's drift status.
CREATE TABLE drift_checks (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    drifted BIGINT NOT NULL,
    checked_by TEXT NOT NULL,
    checked_at BIGINT NOT NULL
);

CREATE INDEX drift_checks_by_workspace ON drift_checks (workspace_id, id);
