-- What senders and people write into alerts and incidents is sealed with the project's
-- key, or kept only as a blind index (a keyed HMAC, hex) where equality lookup needs it.
--
-- Alerts: the dedup key's blind index (dedup_index; open_key holds the same while the
-- alert is open), the group key's blind index (group_index), the dedup key sealed for
-- display. Rows from before this migration have dedup_key_sealed NULL and their keys in
-- clear in dedup_index, group_index and open_key until the server's first start seals
-- and indexes them (rampart-app sre::legacy), in one transaction.
ALTER TABLE alerts RENAME COLUMN dedup_key TO dedup_index;
ALTER TABLE alerts RENAME COLUMN group_key TO group_index;
ALTER TABLE alerts ADD COLUMN dedup_key_sealed BLOB;

-- Incidents: open_group becomes the group key's blind index, custom fields are sealed.
-- The values from before wait in legacy_* columns for the first start, which empties
-- them ('{}', NULL, '').
ALTER TABLE incidents RENAME COLUMN custom_fields TO legacy_custom_fields;
ALTER TABLE incidents ADD COLUMN custom_fields_sealed BLOB;
ALTER TABLE incidents ADD COLUMN legacy_open_group TEXT;
UPDATE incidents SET legacy_open_group = open_group, open_group = NULL
    WHERE open_group IS NOT NULL;

-- Action items: the text is sealed (AAD: project, incident, item number).
ALTER TABLE incident_action_items RENAME COLUMN text TO legacy_text;
ALTER TABLE incident_action_items ADD COLUMN text_sealed BLOB;
