-- Services: an owner team (a user group), subscribers (users and groups told about the
-- service's incidents) and tags. Organisations may rename the SEV levels.
ALTER TABLE services ADD COLUMN owner_group TEXT;
ALTER TABLE services ADD COLUMN subscribers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE services ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE organizations ADD COLUMN severity_labels TEXT NOT NULL DEFAULT '{}';
