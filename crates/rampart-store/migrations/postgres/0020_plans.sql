-- Plans uploaded to a workspace (`terraform show -json PLANFILE`, and optionally the
-- binary plan file). Everything a plan holds is sealed with the project's key (AAD:
-- workspace id and plan id, and the field): the JSON, the summary (which also carries
-- the JSON's SHA-256, so that the digest of a body is not in clear for anyone to
-- confirm a guess against), the binary file and its SHA-256. In clear: ids, versions,
-- sizes, the counts of the summary, times, and the state version the plan was made
-- against (serial, lineage and digest are in clear in state_versions already).
CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    format_version TEXT NOT NULL,
    terraform_version TEXT NOT NULL,
    json_size_bytes BIGINT NOT NULL,
    json_sealed BYTEA NOT NULL,
    summary_sealed BYTEA NOT NULL,
    add_count BIGINT NOT NULL,
    change_count BIGINT NOT NULL,
    replace_count BIGINT NOT NULL,
    destroy_count BIGINT NOT NULL,
    read_count BIGINT NOT NULL,
    no_op_count BIGINT NOT NULL,
    forget_count BIGINT NOT NULL,
    state_version BIGINT,
    state_serial BIGINT,
    state_lineage TEXT,
    state_sha256 BYTEA,
    file_size_bytes BIGINT,
    file_sealed BYTEA,
    file_sha256_sealed BYTEA,
    file_uploaded_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX plans_by_workspace ON plans (workspace_id, id);
