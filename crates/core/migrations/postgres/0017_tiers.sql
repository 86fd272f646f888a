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
ALTER TABLE customer_counts ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE customer_counts DROP CONSTRAINT customer_counts_pkey;
ALTER TABLE customer_counts ADD PRIMARY KEY (segment, tier, status);

CREATE OR REPLACE FUNCTION customer_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each branch names only the transition tables its event has.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_counts AS k (segment, tier, status, customers, revenue_cents)
        SELECT segment, tier, status, SUM(v0), SUM(v1) FROM (SELECT segment, COALESCE(tier, ''), status, 1, annual_revenue_cents FROM new_rows) AS d (segment, tier, status, v0, v1)
        GROUP BY segment, tier, status HAVING SUM(v0) <> 0 OR SUM(v1) <> 0 ORDER BY segment, tier, status
        ON CONFLICT (segment, tier, status) DO UPDATE SET customers = k.customers + excluded.customers, revenue_cents = k.revenue_cents + excluded.revenue_cents;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO customer_counts AS k (segment, tier, status, customers, revenue_cents)
        SELECT segment, tier, status, SUM(v0), SUM(v1) FROM (SELECT segment, COALESCE(tier, ''), status, -1, -annual_revenue_cents FROM old_rows) AS d (segment, tier, status, v0, v1)
        GROUP BY segment, tier, status HAVING SUM(v0) <> 0 OR SUM(v1) <> 0 ORDER BY segment, tier, status
        ON CONFLICT (segment, tier, status) DO UPDATE SET customers = k.customers + excluded.customers, revenue_cents = k.revenue_cents + excluded.revenue_cents;
    ELSE
        INSERT INTO customer_counts AS k (segment, tier, status, customers, revenue_cents)
        SELECT segment, tier, status, SUM(v0), SUM(v1) FROM (SELECT segment, COALESCE(tier, ''), status, 1, annual_revenue_cents FROM new_rows UNION ALL SELECT segment, COALESCE(tier, ''), status, -1, -annual_revenue_cents FROM old_rows) AS d (segment, tier, status, v0, v1)
        GROUP BY segment, tier, status HAVING SUM(v0) <> 0 OR SUM(v1) <> 0 ORDER BY segment, tier, status
        ON CONFLICT (segment, tier, status) DO UPDATE SET customers = k.customers + excluded.customers, revenue_cents = k.revenue_cents + excluded.revenue_cents;
    END IF;
    RETURN NULL;
END $$;

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
