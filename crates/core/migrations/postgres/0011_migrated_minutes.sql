-- Customers migrated per segment and minute, kept by a statement-level trigger on the step
-- history, so the console's rate, ETA and per-minute chart read at most 30 rows per segment
-- instead of every step finished in the last 30 minutes. See the SQLite migration.
CREATE TABLE migrated_minutes (
    segment       TEXT NOT NULL,
    minute        TEXT NOT NULL,
    customers     BIGINT NOT NULL,
    first_started TEXT NOT NULL,
    PRIMARY KEY (segment, minute)
);
CREATE INDEX migrated_minutes_minute ON migrated_minutes (minute);
INSERT INTO migrated_minutes (segment, minute, customers, first_started)
SELECT COALESCE(c.segment, ''), substr(s.finished_at, 1, 16), COUNT(*), MIN(s.started_at)
FROM steps s JOIN customers c ON c.id = s.customer_id
WHERE s.step = 'notify' AND s.outcome = 'ok'
GROUP BY 1, 2;

CREATE FUNCTION migrated_minutes_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO migrated_minutes AS k (segment, minute, customers, first_started)
    SELECT COALESCE(c.segment, ''), substr(n.finished_at, 1, 16), COUNT(*), MIN(n.started_at)
    FROM new_rows n JOIN customers c ON c.id = n.customer_id
    WHERE n.step = 'notify' AND n.outcome = 'ok'
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (segment, minute) DO UPDATE SET customers = k.customers + excluded.customers,
        first_started = LEAST(k.first_started, excluded.first_started);
    RETURN NULL;
END $$;
CREATE TRIGGER steps_minutes_insert AFTER INSERT ON steps REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION migrated_minutes_apply();
