-- Single sign-on (OpenID Connect). Providers are account-wide: anyone in the account may
-- sign in through them. The configuration is not secret (the client secret lives in a
-- Rampart secret that the configuration names), so it is kept as JSON.
CREATE TABLE sso_providers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A login started and not yet finished: found by the hash of its `state`, bound to the
-- browser that started it by the hash of a cookie, taken (deleted) once by the callback.
-- Nothing here lets anyone finish a login: the PKCE verifier and the nonce are derived
-- from the state under the server's pepper, and only hashes are stored.
CREATE TABLE sso_logins (
    state_hash BYTEA PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    binder_hash BYTEA NOT NULL,
    redirect_to TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sso_logins_expiry ON sso_logins (expires_at);

-- Which user a provider's subject is. Linked at the first login (same verified email,
-- or a user created then); the email may change at the provider later, the link holds.
CREATE TABLE sso_identities (
    provider_id TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
-- One subject per user at a provider: a second subject with the same email cannot take
-- over a linked user, even when both first sign in at the same moment.
CREATE UNIQUE INDEX sso_identities_user ON sso_identities (provider_id, user_id);

-- How a session was authenticated: `password` or `oidc:<provider name>`.
ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password';

-- "Sign in through SSO" policies: the account's (`account`) and organisations' (their
-- id). A password session is refused where one applies, except for the named
-- break-glass users (space-separated user ids), whose use is audited loudly.
CREATE TABLE sso_policies (
    scope_key TEXT PRIMARY KEY,
    required BIGINT NOT NULL,
    break_glass TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
