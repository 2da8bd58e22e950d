-- Executions of runbooks and their steps. An execution keeps the runbook's identifier
-- and version it ran (it outlives the runbook); its bound inputs are what a person
-- chose and are sealed with the project's key. A delegate step points at the task that
-- runs it, whose result (sealed) is the step's output.
CREATE TABLE runbook_executions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    runbook_id TEXT NOT NULL,
    runbook_identifier TEXT NOT NULL,
    runbook_version BIGINT NOT NULL,
    incident_id TEXT,
    trigger_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    inputs_sealed BYTEA NOT NULL,
    started_by TEXT NOT NULL,
    approved_by TEXT,
    canceled_by TEXT,
    current_step BIGINT NOT NULL,
    error_code TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX runbook_executions_by_project ON runbook_executions (project_id, id);
CREATE INDEX runbook_executions_by_runbook ON runbook_executions (runbook_id, id);

CREATE TABLE runbook_execution_steps (
    execution_id TEXT NOT NULL REFERENCES runbook_executions (id) ON DELETE CASCADE,
    step_index BIGINT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    task_id TEXT,
    error_code TEXT,
    started_at BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (execution_id, step_index)
);
CREATE INDEX runbook_execution_steps_by_task ON runbook_execution_steps (task_id);

-- Incident changes waiting to start the runbooks whose triggers they match: written in
-- the transaction of the change, taken once (deleted in the transaction that starts
-- the executions), so a trigger is neither lost nor fired twice.
CREATE TABLE runbook_trigger_events (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    incident_id TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
