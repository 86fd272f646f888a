-- Which worker recorded each step (the batch's lease owner when it committed, `host:pid`;
-- `rollback:host:pid` for a rollback), so a customer's validation certificate names who did
-- what (issue 18). Steps recorded before this migration have none.
ALTER TABLE steps ADD COLUMN worker TEXT;
