-- What cutover did on the platform for each customer (issue 23: a customer already on the
-- platform): 'created', 'merged', 'skipped' or 'replaced', set by the backup step; and the
-- platform ids of the rows a backup saw and, for a customer the platform had, the keys of the rows
-- cutover writes: a rollback removes only those, never the platform's own (then or since).
ALTER TABLE customers ADD COLUMN platform_write TEXT;
ALTER TABLE backups ADD COLUMN target_ids TEXT;
ALTER TABLE backups ADD COLUMN source_keys TEXT;
