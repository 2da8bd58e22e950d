-- A service's alert rules (validated JSON): which new alerts open incidents.
ALTER TABLE services ADD COLUMN alert_rules TEXT NOT NULL DEFAULT '[]';
