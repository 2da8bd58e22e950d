-- Integration rate limits shared by the replicas: each replica publishes, about once a
-- second, how many deliveries it accepted per integration in the current minute, and
-- adds the others' counts to its own before accepting more. Rows of past minutes are
-- deleted.
CREATE TABLE webhook_rate_counts (
    minute BIGINT NOT NULL,
    integration_id TEXT NOT NULL,
    replica_id TEXT NOT NULL,
    deliveries BIGINT NOT NULL,
    PRIMARY KEY (minute, integration_id, replica_id)
);
