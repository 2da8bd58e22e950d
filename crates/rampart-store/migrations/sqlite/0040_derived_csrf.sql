-- A session's CSRF token is now derived from its secret (an HMAC under the pepper), so
-- that the web UI can put it in its forms. Sessions opened before hold the hash of a
-- random token no form can carry: they are ended, and their people sign in again once.
UPDATE sessions
SET revoked_at = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
WHERE revoked_at IS NULL;
