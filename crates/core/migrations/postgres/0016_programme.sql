-- The programme (issue 19). A daily snapshot of what the console shows (each wave's progress
-- and window, every KPI's value) so a past day's report and a KPI's trend read what was true
-- then, not what is true now; rewritten through the day, so a past day keeps its last one.
CREATE TABLE daily_snapshots (
    day      TEXT PRIMARY KEY,
    taken_at TEXT NOT NULL,
    body     TEXT NOT NULL
);
-- Platform data written per batch, in bytes of canonical values (the throughput KPI).
ALTER TABLE batches ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
-- When a milestone was completed (the period reports count milestones done).
ALTER TABLE milestones ADD COLUMN completed_at TEXT;
-- The notices a customer got, by kind (the Communications view counts them per wave).
CREATE INDEX notifications_customer ON notifications (customer_id, kind);
