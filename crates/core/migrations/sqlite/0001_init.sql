-- State database: what the console polls and the engine drives.
-- Times are UTC RFC 3339 text with milliseconds ("2026-11-21T07:50:00.123Z"): they sort as text.

CREATE TABLE runner (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    state       TEXT NOT NULL CHECK (state IN ('idle', 'running', 'paused', 'halted')),
    reason      TEXT,
    changed_by  TEXT,
    changed_at  TEXT NOT NULL,
    heartbeat_at TEXT
);
INSERT INTO runner (id, state, changed_at) VALUES (1, 'idle', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE segments (
    name                TEXT PRIMARY KEY,
    priority            INTEGER NOT NULL,
    window_start_day    INTEGER NOT NULL,
    window_end_day      INTEGER NOT NULL,
    support             TEXT NOT NULL,
    target_success_rate REAL NOT NULL
);

CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    segment      TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'rolled_back')),
    size         INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  TEXT,
    lease_token  INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX batches_claim ON batches (status, priority, seq);

CREATE TABLE customers (
    id              INTEGER PRIMARY KEY,
    legacy_id       TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    email           TEXT,
    account_type    TEXT,
    special_needs   INTEGER NOT NULL DEFAULT 0,
    country         TEXT,
    annual_revenue  REAL NOT NULL DEFAULT 0,
    repairs_12m     INTEGER NOT NULL DEFAULT 0,
    segment         TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
                      ('pending', 'running', 'migrated', 'failed', 'rolling_back', 'rolled_back', 'quarantined')),
    step            TEXT,
    batch_id        TEXT,
    platform_id     INTEGER,
    reason          TEXT,
    warnings        TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    planned_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    migrated_at     TEXT
);
CREATE INDEX customers_status ON customers (status, segment);
CREATE INDEX customers_batch ON customers (batch_id);
CREATE INDEX customers_updated ON customers (updated_at);
CREATE INDEX customers_segment ON customers (segment, status);

-- Audit findings from the last plan: one row per customer and rule.
CREATE TABLE findings (
    customer_legacy_id TEXT NOT NULL,
    rule               TEXT NOT NULL,
    severity           TEXT NOT NULL CHECK (severity IN ('block', 'warn')),
    detail             TEXT NOT NULL,
    PRIMARY KEY (customer_legacy_id, rule, detail)
);

-- Source rows the plan rejected because no customer owns them (orphans): reported, never migrated.
CREATE TABLE rejected_rows (
    entity    TEXT NOT NULL,
    legacy_id TEXT NOT NULL,
    rule      TEXT NOT NULL,
    detail    TEXT NOT NULL,
    PRIMARY KEY (entity, legacy_id, rule)
);

-- Every pipeline and rollback step a customer went through.
CREATE TABLE steps (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    batch_id    TEXT,
    step        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'quarantined')),
    detail      TEXT
);
CREATE INDEX steps_customer ON steps (customer_id, id);
CREATE INDEX steps_finished ON steps (step, finished_at);

-- The pre-migration snapshot of one customer, per entity.
CREATE TABLE backups (
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    entity          TEXT NOT NULL,
    taken_at        TEXT NOT NULL,
    source_count    INTEGER NOT NULL,
    source_checksum TEXT NOT NULL,
    target_count    INTEGER NOT NULL,
    target_checksum TEXT NOT NULL,
    -- JSON array of the target's rows for this customer before migration (usually empty).
    target_rows     TEXT NOT NULL,
    PRIMARY KEY (customer_id, entity)
);

-- Last validation of one customer, per entity.
CREATE TABLE validations (
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    entity          TEXT NOT NULL,
    checked_at      TEXT NOT NULL,
    source_count    INTEGER NOT NULL,
    target_count    INTEGER NOT NULL,
    source_checksum TEXT NOT NULL,
    target_checksum TEXT NOT NULL,
    ok              INTEGER NOT NULL,
    PRIMARY KEY (customer_id, entity)
);

-- Outbox of notifications; delivery over HTTP arrives with the notifications work.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    dedup_key   TEXT NOT NULL UNIQUE,
    customer_id INTEGER REFERENCES customers (id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    scope   TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT
);
CREATE INDEX audit_scope ON audit_log (scope, id);

CREATE TABLE success_plans (
    id          INTEGER PRIMARY KEY,
    customer_legacy_id TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('onboarding', 'quarterly', 'annual', 'expansion', 'recovery')),
    status      TEXT NOT NULL CHECK (status IN ('draft', 'active', 'completed', 'on_hold', 'cancelled')),
    owner       TEXT NOT NULL,
    title       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (customer_legacy_id, kind, title)
);

CREATE TABLE milestones (
    id        INTEGER PRIMARY KEY,
    plan_id   INTEGER NOT NULL REFERENCES success_plans (id),
    seq       INTEGER NOT NULL,
    title     TEXT NOT NULL,
    owner     TEXT NOT NULL,
    priority  TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    due_on    TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'overdue', 'cancelled')),
    UNIQUE (plan_id, seq)
);
CREATE INDEX milestones_plan ON milestones (plan_id);
