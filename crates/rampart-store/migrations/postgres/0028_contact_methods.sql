-- Contact methods: where a user wants to be told about pages, per organisation (an
-- email address, a Slack-compatible incoming webhook, a generic signed webhook). The
-- address — and a generic webhook's signing secret — are sealed with the
-- organisation's key; only the label and kind stay plaintext.
CREATE TABLE contact_methods (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    address_sealed BYTEA NOT NULL,
    secret_sealed BYTEA,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, user_id, label)
);

-- One delivery of a notification to one contact method: the delegate task that
-- carries it (task_id) and how it ended, mirrored here so that a user and an incident
-- see delivery status without reading tasks. notification_tasks is the outbox the
-- dispatcher drains (status queued -> dispatched).
CREATE TABLE notification_deliveries (
    task_id TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    contact_method_id TEXT REFERENCES contact_methods (id) ON DELETE SET NULL,
    incident_id TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notification_deliveries_notification ON notification_deliveries (notification_id);

-- The dispatcher fails tasks whose time ran out even when no delegate polls.
CREATE INDEX delegate_tasks_overdue ON delegate_tasks (status, expires_at);
