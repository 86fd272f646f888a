-- Customer success at programme scale (issue 20). Each customer's tier (its service level)
-- and owning CSM, set by the plan.
ALTER TABLE customers ADD COLUMN tier TEXT;
ALTER TABLE customers ADD COLUMN owner TEXT;
CREATE INDEX customers_owner ON customers (owner);
-- An alert's tier when it opened and the deadlines its tier's service level gives it for its
-- severity; when each deadline was found passed (a breach climbs the ladder once).
ALTER TABLE alerts ADD COLUMN tier TEXT;
ALTER TABLE alerts ADD COLUMN ack_due TEXT;
ALTER TABLE alerts ADD COLUMN resolve_due TEXT;
ALTER TABLE alerts ADD COLUMN ack_breached_at TEXT;
ALTER TABLE alerts ADD COLUMN resolve_breached_at TEXT;
CREATE INDEX alerts_ack_due ON alerts (ack_due) WHERE status = 'triggered' AND ack_breached_at IS NULL;
CREATE INDEX alerts_resolve_due ON alerts (resolve_due) WHERE status <> 'resolved' AND resolve_breached_at IS NULL;
CREATE INDEX alerts_owner ON alerts (owner) WHERE status <> 'resolved';
-- A milestone bound to an engine fact completes by itself when the fact holds
-- (`wave_done`, `customer_migrated`, `health_above:80`).
ALTER TABLE milestones ADD COLUMN completes_when TEXT;
-- When a plan's status last changed (the Plans pane's age of a plan on hold).
ALTER TABLE success_plans ADD COLUMN updated_at TEXT;

-- Customers per tier too: the counters (migration 0003) keyed by segment, tier and status, so
-- `status --json` and the console read customers per tier from a few rows, and no second
-- trigger runs on every customer change.
DROP TRIGGER customer_counts_insert;
DROP TRIGGER customer_counts_delete;
DROP TRIGGER customer_counts_update;
CREATE TABLE customer_counts_by_tier (
    segment       TEXT NOT NULL,
    tier          TEXT NOT NULL,
    status        TEXT NOT NULL,
    customers     INTEGER NOT NULL DEFAULT 0,
    revenue_cents INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (segment, tier, status)
);
INSERT INTO customer_counts_by_tier (segment, tier, status, customers, revenue_cents)
    SELECT segment, COALESCE(tier, ''), status, COUNT(*), COALESCE(SUM(annual_revenue_cents), 0)
    FROM customers GROUP BY segment, COALESCE(tier, ''), status;
DROP TABLE customer_counts;
ALTER TABLE customer_counts_by_tier RENAME TO customer_counts;

CREATE TRIGGER customer_counts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_counts (segment, tier, status, customers, revenue_cents)
    VALUES (NEW.segment, COALESCE(NEW.tier, ''), NEW.status, 1, NEW.annual_revenue_cents)
    ON CONFLICT (segment, tier, status) DO UPDATE SET customers = customers + 1, revenue_cents = revenue_cents + excluded.revenue_cents;
END;

CREATE TRIGGER customer_counts_delete AFTER DELETE ON customers BEGIN
    UPDATE customer_counts SET customers = customers - 1, revenue_cents = revenue_cents - OLD.annual_revenue_cents
    WHERE segment = OLD.segment AND tier = COALESCE(OLD.tier, '') AND status = OLD.status;
END;

CREATE TRIGGER customer_counts_update AFTER UPDATE OF segment, tier, status, annual_revenue_cents ON customers
WHEN OLD.segment IS NOT NEW.segment OR OLD.tier IS NOT NEW.tier OR OLD.status IS NOT NEW.status
  OR OLD.annual_revenue_cents IS NOT NEW.annual_revenue_cents
BEGIN
    UPDATE customer_counts SET customers = customers - 1, revenue_cents = revenue_cents - OLD.annual_revenue_cents
    WHERE segment = OLD.segment AND tier = COALESCE(OLD.tier, '') AND status = OLD.status;
    INSERT INTO customer_counts (segment, tier, status, customers, revenue_cents)
    VALUES (NEW.segment, COALESCE(NEW.tier, ''), NEW.status, 1, NEW.annual_revenue_cents)
    ON CONFLICT (segment, tier, status) DO UPDATE SET customers = customers + 1, revenue_cents = revenue_cents + excluded.revenue_cents;
END;

-- The milestones bound to an engine fact and still open: what the programme's tick checks.
CREATE INDEX milestones_bound ON milestones (completes_when)
    WHERE completes_when IS NOT NULL AND status IN ('pending', 'in_progress', 'overdue');
-- The Plans pane sorts by overdue: open milestones by due date.
CREATE INDEX milestones_open_due ON milestones (due_on, plan_id)
    WHERE status IN ('pending', 'in_progress', 'overdue');

-- Customers per health level as a full scoring run left them (JSON `[["Excellent", 412], …]`),
-- so the Alerts pane shows the distribution and its move since the run before without
-- counting every customer's score.
ALTER TABLE health_runs ADD COLUMN levels TEXT;
