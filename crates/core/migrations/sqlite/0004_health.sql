-- Health scoring: one row per run, the score history, and each customer's latest score.
CREATE TABLE health_runs (
    id          INTEGER PRIMARY KEY,
    trigger     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    customers   INTEGER NOT NULL DEFAULT 0
);

-- `components` is a JSON object {"name": [value, weight], …} as scored. Keyed by run first, so
-- a run appends instead of inserting into the middle of the tree (10^6 rows per run).
CREATE TABLE health_scores (
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    run_id      INTEGER NOT NULL REFERENCES health_runs (id),
    score       REAL NOT NULL,
    level       TEXT NOT NULL,
    components  TEXT NOT NULL,
    PRIMARY KEY (run_id, customer_id)
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
