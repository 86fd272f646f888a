-- The planner numbers a segment's new batches after its last one.
CREATE INDEX batches_segment ON batches (segment, seq);
