-- Revenue in integer cents: a REAL kept by adding and subtracting each customer's revenue
-- drifted (522498.4100000008); integer cents are exact on both backends (issue: exact money).
DROP TRIGGER customer_counts_insert;
DROP TRIGGER customer_counts_delete;
DROP TRIGGER customer_counts_update;

ALTER TABLE customers ADD COLUMN annual_revenue_cents INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET annual_revenue_cents = CAST(ROUND(annual_revenue * 100) AS INTEGER);
ALTER TABLE customers DROP COLUMN annual_revenue;

ALTER TABLE customer_counts ADD COLUMN revenue_cents INTEGER NOT NULL DEFAULT 0;
UPDATE customer_counts SET revenue_cents = (
    SELECT COALESCE(SUM(c.annual_revenue_cents), 0) FROM customers c
    WHERE c.segment = customer_counts.segment AND c.status = customer_counts.status);
ALTER TABLE customer_counts DROP COLUMN revenue;

CREATE TRIGGER customer_counts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_counts (segment, status, customers, revenue_cents) VALUES (NEW.segment, NEW.status, 1, NEW.annual_revenue_cents)
    ON CONFLICT (segment, status) DO UPDATE SET customers = customers + 1, revenue_cents = revenue_cents + excluded.revenue_cents;
END;

CREATE TRIGGER customer_counts_delete AFTER DELETE ON customers BEGIN
    UPDATE customer_counts SET customers = customers - 1, revenue_cents = revenue_cents - OLD.annual_revenue_cents
    WHERE segment = OLD.segment AND status = OLD.status;
END;

CREATE TRIGGER customer_counts_update AFTER UPDATE OF segment, status, annual_revenue_cents ON customers
WHEN OLD.segment IS NOT NEW.segment OR OLD.status IS NOT NEW.status OR OLD.annual_revenue_cents IS NOT NEW.annual_revenue_cents
BEGIN
    UPDATE customer_counts SET customers = customers - 1, revenue_cents = revenue_cents - OLD.annual_revenue_cents
    WHERE segment = OLD.segment AND status = OLD.status;
    INSERT INTO customer_counts (segment, status, customers, revenue_cents) VALUES (NEW.segment, NEW.status, 1, NEW.annual_revenue_cents)
    ON CONFLICT (segment, status) DO UPDATE SET customers = customers + 1, revenue_cents = revenue_cents + excluded.revenue_cents;
END;
