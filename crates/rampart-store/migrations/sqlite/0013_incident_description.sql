-- An incident's description, sealed like its title.
ALTER TABLE incidents ADD COLUMN description_sealed BLOB;
