-- A batch's `seq` was read back from the last four characters of its id, so past batch 9,999
-- of a segment (a segment of 250,000 customers in batches of 25) `REGULAR-10001` got seq 1:
-- claimed in the same place as `REGULAR-0001`, and a re-plan could number new batches into
-- the ids of claimed ones. Each batch's seq is now the number after its segment's slug; an id
-- not of that form keeps its seq.
UPDATE batches
SET seq = CAST(substr(id, length(upper(replace(segment, ' ', '-'))) + 2) AS INTEGER)
WHERE substr(id, 1, length(upper(replace(segment, ' ', '-'))) + 1) = upper(replace(segment, ' ', '-')) || '-'
  AND substr(id, length(upper(replace(segment, ' ', '-'))) + 2) <> ''
  AND substr(id, length(upper(replace(segment, ' ', '-'))) + 2) NOT GLOB '*[^0-9]*';
