-- Root-key rotation with several replicas (see ARCHITECTURE.md, "Root key and replicas").
-- root_key_state names the root key that every wrapped key in the database is wrapped
-- under (its public key id, never the key). A transaction that wraps reads it (shared
-- lock) and wraps with the matching key; a rotation locks it, rewraps everything and
-- changes it in one transaction. Absent on installations from before this migration
-- until their next start records it.
CREATE TABLE root_key_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    key_id TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);

-- Every running server replica, refreshed by its heartbeat: an online root-key rotation
-- goes ahead only when every live replica reports the new key staged.
CREATE TABLE server_replicas (
    replica_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    root_key_id TEXT NOT NULL,
    staged_root_key_id TEXT
);
