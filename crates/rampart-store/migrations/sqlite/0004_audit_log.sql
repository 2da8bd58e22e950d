-- The audit log as a Merkle tree (RFC 6962). Each event is a leaf: leaf_index is its
-- position, assigned under the lock on audit_log_head in the same transaction as the
-- event, so indexes are gap-free and in commit order on both engines; leaf_hash is
-- SHA-256(0x00 || canonical bytes). Pruning (retention) drops an event's body and keeps
-- its leaf_hash, so the tree stays verifiable.
ALTER TABLE audit_events ADD COLUMN leaf_index BIGINT;
ALTER TABLE audit_events ADD COLUMN leaf_hash BLOB;
ALTER TABLE audit_events ADD COLUMN pruned BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX audit_events_leaf_index ON audit_events (leaf_index);

CREATE TABLE audit_log_head (
    id BIGINT PRIMARY KEY,
    next_index BIGINT NOT NULL
);
INSERT INTO audit_log_head (id, next_index) VALUES (1, 0);

-- Signed tree heads. frontier is the right edge of the tree at tree_size, so the next
-- checkpoint is computed from it plus the newer leaves only: rewriting older rows cannot
-- change what later checkpoints sign.
CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root_hash BLOB NOT NULL,
    signed_at BIGINT NOT NULL,
    previous_hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    frontier BLOB NOT NULL
);

-- Audit retention per organisation, in days; NULL keeps events for ever.
ALTER TABLE organizations ADD COLUMN audit_retention_days BIGINT;
