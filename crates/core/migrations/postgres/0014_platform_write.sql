-- What cutover did on the platform for each customer (issue 23: a customer already on the
-- platform): 'created', 'merged', 'skipped' or 'replaced', set by the backup step; and the
-- platform ids of the rows a backup saw, so a rollback removes only the rows cutover created.
ALTER TABLE customers ADD COLUMN platform_write TEXT;
ALTER TABLE backups ADD COLUMN target_ids TEXT;
