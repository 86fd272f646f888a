-- Customers and revenue per (segment, status), kept by triggers in the same transaction as each
-- change, so the console's poll reads a few rows instead of counting every customer.
CREATE TABLE customer_counts (
    segment   TEXT NOT NULL,
    status    TEXT NOT NULL,
    customers INTEGER NOT NULL DEFAULT 0,
    revenue   REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (segment, status)
);
INSERT INTO customer_counts (segment, status, customers, revenue)
    SELECT segment, status, COUNT(*), COALESCE(SUM(annual_revenue), 0) FROM customers GROUP BY segment, status;

CREATE TRIGGER customer_counts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_counts (segment, status, customers, revenue) VALUES (NEW.segment, NEW.status, 1, NEW.annual_revenue)
    ON CONFLICT (segment, status) DO UPDATE SET customers = customers + 1, revenue = revenue + excluded.revenue;
END;

CREATE TRIGGER customer_counts_delete AFTER DELETE ON customers BEGIN
    UPDATE customer_counts SET customers = customers - 1, revenue = revenue - OLD.annual_revenue
    WHERE segment = OLD.segment AND status = OLD.status;
END;

CREATE TRIGGER customer_counts_update AFTER UPDATE OF segment, status, annual_revenue ON customers
WHEN OLD.segment IS NOT NEW.segment OR OLD.status IS NOT NEW.status OR OLD.annual_revenue IS NOT NEW.annual_revenue
BEGIN
    UPDATE customer_counts SET customers = customers - 1, revenue = revenue - OLD.annual_revenue
    WHERE segment = OLD.segment AND status = OLD.status;
    INSERT INTO customer_counts (segment, status, customers, revenue) VALUES (NEW.segment, NEW.status, 1, NEW.annual_revenue)
    ON CONFLICT (segment, status) DO UPDATE SET customers = customers + 1, revenue = revenue + excluded.revenue;
END;

-- The Alerts pane: failed and quarantined customers, newest first.
CREATE INDEX customers_status_updated ON customers (status, updated_at);
