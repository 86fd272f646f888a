-- Revenue in integer cents: a DOUBLE PRECISION kept by adding and subtracting each customer's
-- revenue drifted (522498.4100000008); integer cents are exact on both backends.
ALTER TABLE customers ADD COLUMN annual_revenue_cents BIGINT NOT NULL DEFAULT 0;
UPDATE customers SET annual_revenue_cents = CAST(ROUND(CAST(annual_revenue AS NUMERIC) * 100) AS BIGINT);
ALTER TABLE customers DROP COLUMN annual_revenue;

ALTER TABLE customer_counts ADD COLUMN revenue_cents BIGINT NOT NULL DEFAULT 0;
UPDATE customer_counts k SET revenue_cents = (
    SELECT COALESCE(SUM(c.annual_revenue_cents), 0) FROM customers c
    WHERE c.segment = k.segment AND c.status = k.status);
ALTER TABLE customer_counts DROP COLUMN revenue;

CREATE OR REPLACE FUNCTION customer_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each branch names only the transition tables its event has.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_counts AS k (segment, status, customers, revenue_cents)
        SELECT segment, status, SUM(v0), SUM(v1) FROM (SELECT segment, status, 1, annual_revenue_cents FROM new_rows) AS d (segment, status, v0, v1)
        GROUP BY segment, status HAVING SUM(v0) <> 0 OR SUM(v1) <> 0 ORDER BY segment, status
        ON CONFLICT (segment, status) DO UPDATE SET customers = k.customers + excluded.customers, revenue_cents = k.revenue_cents + excluded.revenue_cents;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO customer_counts AS k (segment, status, customers, revenue_cents)
        SELECT segment, status, SUM(v0), SUM(v1) FROM (SELECT segment, status, -1, -annual_revenue_cents FROM old_rows) AS d (segment, status, v0, v1)
        GROUP BY segment, status HAVING SUM(v0) <> 0 OR SUM(v1) <> 0 ORDER BY segment, status
        ON CONFLICT (segment, status) DO UPDATE SET customers = k.customers + excluded.customers, revenue_cents = k.revenue_cents + excluded.revenue_cents;
    ELSE
        INSERT INTO customer_counts AS k (segment, status, customers, revenue_cents)
        SELECT segment, status, SUM(v0), SUM(v1) FROM (SELECT segment, status, 1, annual_revenue_cents FROM new_rows UNION ALL SELECT segment, status, -1, -annual_revenue_cents FROM old_rows) AS d (segment, status, v0, v1)
        GROUP BY segment, status HAVING SUM(v0) <> 0 OR SUM(v1) <> 0 ORDER BY segment, status
        ON CONFLICT (segment, status) DO UPDATE SET customers = k.customers + excluded.customers, revenue_cents = k.revenue_cents + excluded.revenue_cents;
    END IF;
    RETURN NULL;
END $$;
