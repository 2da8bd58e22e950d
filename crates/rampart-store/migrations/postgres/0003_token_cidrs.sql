-- Per-token source address allowlists: space-separated CIDRs; empty = anywhere.
ALTER TABLE api_tokens ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '';
