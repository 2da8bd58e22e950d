-- A session's CSRF token is now derived from its secret (an HMAC under the pepper), so
-- that the web UI can put it in its forms. Sessions opened before hold the hash of a
-- random token no form can carry: they are ended, and their people sign in again once.
UPDATE sessions
SET revoked_at = (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT
WHERE revoked_at IS NULL;
