-- Run credentials: the short-lived token a run's apply hands to Terraform. It is an
-- ordinary token of the run's executor (kind `pat` or `sat`, narrowed to the
-- workspace's project) that is also bound to one run of one workspace: it may only read
-- and write that workspace's state, and only while the run applies (it is revoked when
-- the run stops applying), and revoked with the token that started the apply
-- (`run_parent_token_id`; NULL when a session started it). Unbound tokens have all three
-- columns NULL.
ALTER TABLE api_tokens ADD COLUMN run_id TEXT REFERENCES runs (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN run_workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN run_parent_token_id TEXT REFERENCES api_tokens (id) ON DELETE CASCADE;
CREATE INDEX api_tokens_run ON api_tokens (run_id);
CREATE INDEX api_tokens_run_workspace ON api_tokens (run_workspace_id);
CREATE INDEX api_tokens_run_parent ON api_tokens (run_parent_token_id);
