-- Room on each page of `customers` for the new version of a row, so that a step moving a batch's
-- customers forward (which changes only `step`, `platform_write` or `platform_id`, none of them
-- indexed) is a heap-only update: no new entry in any of the table's indexes (issue 21: with
-- full pages every step's update took one in each). Applies to pages written from now on.
ALTER TABLE customers SET (fillfactor = 80);
