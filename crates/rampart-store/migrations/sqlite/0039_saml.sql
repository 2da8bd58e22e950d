-- SAML 2.0 sign-in. Providers of kind `saml` keep their configuration (the identity
-- provider's metadata, the attribute names) in sso_providers.config like OpenID Connect
-- ones; their sessions' method is `saml:<provider name>`.

-- Assertions already used to sign in, each until it would be refused anyway (its
-- NotOnOrAfter plus the clock skew): a captured response posted again finds its
-- assertion here and is refused, on every replica. Only a digest of the ID is kept.
CREATE TABLE saml_assertions (
    provider_id TEXT NOT NULL REFERENCES sso_providers (id) ON DELETE CASCADE,
    assertion_hash BLOB NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (provider_id, assertion_hash)
);
CREATE INDEX saml_assertions_expiry ON saml_assertions (expires_at);

-- What a SAML session's single logout names at the identity provider: the NameID and
-- SessionIndex of the assertion that signed it in (or last re-authenticated it).
-- Identifiers the provider issued, not secrets; removed when the session is logged out
-- (after the IdP answers, for a single logout).
CREATE TABLE saml_sessions (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    name_id TEXT NOT NULL,
    name_id_format TEXT,
    session_index TEXT,
    -- The LogoutRequest sent at this session's logout: the LogoutResponse that comes
    -- back must answer it (and takes this row).
    logout_request_id TEXT
);
CREATE INDEX saml_sessions_logout ON saml_sessions (logout_request_id);
