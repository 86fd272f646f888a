-- Health scoring: one row per run, the score history, and each customer's latest score.
CREATE TABLE health_runs (
    id          INTEGER PRIMARY KEY,
    trigger     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    customers   INTEGER NOT NULL DEFAULT 0
);

-- `components` is a JSON object {"name": [value, weight], …} as scored.
CREATE TABLE health_scores (
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    run_id      INTEGER NOT NULL REFERENCES health_runs (id),
    score       REAL NOT NULL,
    level       TEXT NOT NULL,
    components  TEXT NOT NULL,
    PRIMARY KEY (customer_id, run_id)
) WITHOUT ROWID;

CREATE TABLE health_latest (
    customer_id         INTEGER PRIMARY KEY REFERENCES customers (id),
    run_id              INTEGER NOT NULL,
    scored_at           TEXT NOT NULL,
    score               REAL NOT NULL,
    level               TEXT NOT NULL,
    trend               TEXT NOT NULL CHECK (trend IN ('new', 'improving', 'stable', 'declining')),
    components          TEXT NOT NULL,
    previous            REAL,
    previous_components TEXT
);
CREATE INDEX health_latest_score ON health_latest (score);
