-- No query reads customers by `updated_at` alone: the lists and the quarantine read it within a
-- status, through `customers_status_updated`. Every step rewrites each customer of a batch and
-- every index takes a new entry each time (issue 21: a quarter to a third of the server's time
-- per batch on PostgreSQL was these rewrites).
DROP INDEX IF EXISTS customers_updated;
