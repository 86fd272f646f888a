-- Alerts: one open alert per dedup key (rule and customer), its lifecycle and escalation level.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    dedup_key       TEXT NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    rule            TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    -- Triage order, kept on the row so the open list reads from an index: severity (0 critical,
    -- 1 warning, 2 info), then the customer's segment priority when the alert opened.
    severity_rank   INTEGER NOT NULL,
    priority        INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    -- 1-based index into the escalation ladder, and since when the alert is at it.
    level           INTEGER NOT NULL DEFAULT 1,
    level_since     TEXT NOT NULL,
    score           REAL,
    previous_score  REAL,
    detail          TEXT NOT NULL,
    -- How many times a new breach updated this alert (its dedup key matched an open alert).
    updates         INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,
    snoozed_until   TEXT,
    snooze_reason   TEXT,
    opened_at       TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    resolved_at     TEXT,
    resolved_by     TEXT,
    resolution      TEXT
);
CREATE UNIQUE INDEX alerts_open ON alerts (dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_rule_open ON alerts (rule, status);
CREATE INDEX alerts_triage ON alerts (severity_rank, priority, opened_at, id) WHERE status <> 'resolved';

-- Alerts per status, kept by triggers, so the console's poll does not count open alerts.
CREATE TABLE alert_counts (
    status TEXT PRIMARY KEY,
    alerts INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER alert_counts_insert AFTER INSERT ON alerts BEGIN
    INSERT INTO alert_counts (status, alerts) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET alerts = alerts + 1;
END;
CREATE TRIGGER alert_counts_delete AFTER DELETE ON alerts BEGIN
    UPDATE alert_counts SET alerts = alerts - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER alert_counts_update AFTER UPDATE OF status ON alerts WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE alert_counts SET alerts = alerts - 1 WHERE status = OLD.status;
    INSERT INTO alert_counts (status, alerts) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET alerts = alerts + 1;
END;
