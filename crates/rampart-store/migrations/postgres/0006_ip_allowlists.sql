-- Source-address allowlists of the account ('account') and of organisations (their id):
-- space-separated CIDRs. No row, or an empty list, allows every address.
CREATE TABLE ip_allowlists (
    scope_key TEXT PRIMARY KEY,
    cidrs TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
