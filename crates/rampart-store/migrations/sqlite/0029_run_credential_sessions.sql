-- A run credential started from a session (the web UI) is revoked with that session:
-- at logout, and when every session of its user is revoked (a password or role change).
-- NULL when a token started the apply (run_parent_token_id says which).
ALTER TABLE api_tokens ADD COLUMN run_parent_session_id TEXT REFERENCES sessions (id) ON DELETE CASCADE;
CREATE INDEX api_tokens_run_parent_session ON api_tokens (run_parent_session_id);
