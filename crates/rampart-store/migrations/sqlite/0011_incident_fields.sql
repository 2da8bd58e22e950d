-- Incident fields people set while responding: a commander, assignees, the services
-- affected, custom fields (JSON objects of short strings), and action items.
ALTER TABLE incidents ADD COLUMN commander TEXT;
ALTER TABLE incidents ADD COLUMN assignees TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN linked_services TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';

CREATE TABLE incident_action_items (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    text TEXT NOT NULL,
    assignee TEXT,
    done BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
