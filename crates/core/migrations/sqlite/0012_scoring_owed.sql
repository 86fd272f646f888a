-- A batch marked done owes the health scoring and alert refresh of its customers until they
-- ran: set in the transaction that marks the batch done, cleared after them, so a process
-- killed in between leaves the debt for the next run or console to pay (issue 16).
ALTER TABLE batches ADD COLUMN scoring_owed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX batches_scoring_owed ON batches (id) WHERE scoring_owed = 1;
