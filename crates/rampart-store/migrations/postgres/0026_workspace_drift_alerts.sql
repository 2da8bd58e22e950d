-- The integration through which a workspace's drift arrives as an alert on an SRE
-- service (made when the workspace names the service; NULL: drift raises no alert).
ALTER TABLE workspaces ADD COLUMN drift_integration_id TEXT REFERENCES integrations (id) ON DELETE SET NULL;
CREATE INDEX workspaces_drift_integration ON workspaces (drift_integration_id);
