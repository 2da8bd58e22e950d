-- Step-up re-authentication: when the session's user last proved who they are (at
-- sign-in, or again since). Sensitive routes need this to be recent.
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET authenticated_at = created_at;

-- A single sign-on round trip may re-authenticate an existing session instead of
-- opening a new one: the session it proves again.
ALTER TABLE sso_logins ADD COLUMN reauthenticates TEXT REFERENCES sessions (id) ON DELETE CASCADE;
