-- Alerts: one open alert per dedup key (rule and customer), its lifecycle and escalation level.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    dedup_key       TEXT NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    rule            TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
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
CREATE INDEX alerts_status ON alerts (status, severity, opened_at);
