//! The state schema's migrations, embedded per engine: `migrations/sqlite/` and
//! `migrations/postgres/` (a test applies both and compares the tables and columns they make).

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::Backend;

/// The state schema for `backend`, embedded in the binary. PostgreSQL's first migration is
/// SQLite's first seven in one, written in its dialect (identity columns, statement-level
/// counter triggers); later ones share their version numbers.
pub fn migrator(backend: Backend) -> Migrator {
    let m = |version, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            false,
        )
    };
    match backend {
        Backend::Postgres => Migrator::with_migrations(vec![
            m(
                1,
                "init",
                include_str!("../../migrations/postgres/0001_init.sql"),
            ),
            m(
                8,
                "roles",
                include_str!("../../migrations/postgres/0008_roles.sql"),
            ),
            m(
                9,
                "notify",
                include_str!("../../migrations/postgres/0009_notify.sql"),
            ),
            m(
                10,
                "alerts_climb",
                include_str!("../../migrations/postgres/0010_alerts_climb.sql"),
            ),
            m(
                11,
                "migrated_minutes",
                include_str!("../../migrations/postgres/0011_migrated_minutes.sql"),
            ),
            m(
                12,
                "scoring_owed",
                include_str!("../../migrations/postgres/0012_scoring_owed.sql"),
            ),
            m(
                13,
                "revenue_cents",
                include_str!("../../migrations/postgres/0013_revenue_cents.sql"),
            ),
            m(
                14,
                "platform_write",
                include_str!("../../migrations/postgres/0014_platform_write.sql"),
            ),
            m(
                15,
                "step_worker",
                include_str!("../../migrations/postgres/0015_step_worker.sql"),
            ),
            m(
                16,
                "programme",
                include_str!("../../migrations/postgres/0016_programme.sql"),
            ),
            m(
                17,
                "tiers",
                include_str!("../../migrations/postgres/0017_tiers.sql"),
            ),
        ]),
        _ => Migrator::with_migrations(vec![
            m(
                1,
                "init",
                include_str!("../../migrations/sqlite/0001_init.sql"),
            ),
            m(
                2,
                "batches_segment",
                include_str!("../../migrations/sqlite/0002_batches_segment.sql"),
            ),
            m(
                3,
                "customer_counts",
                include_str!("../../migrations/sqlite/0003_customer_counts.sql"),
            ),
            m(
                4,
                "health",
                include_str!("../../migrations/sqlite/0004_health.sql"),
            ),
            m(
                5,
                "alerts",
                include_str!("../../migrations/sqlite/0005_alerts.sql"),
            ),
            m(
                6,
                "outbox",
                include_str!("../../migrations/sqlite/0006_outbox.sql"),
            ),
            m(
                7,
                "batch_counts",
                include_str!("../../migrations/sqlite/0007_batch_counts.sql"),
            ),
            m(
                8,
                "roles",
                include_str!("../../migrations/sqlite/0008_roles.sql"),
            ),
            m(
                10,
                "alerts_climb",
                include_str!("../../migrations/sqlite/0010_alerts_climb.sql"),
            ),
            m(
                11,
                "migrated_minutes",
                include_str!("../../migrations/sqlite/0011_migrated_minutes.sql"),
            ),
            m(
                12,
                "scoring_owed",
                include_str!("../../migrations/sqlite/0012_scoring_owed.sql"),
            ),
            m(
                13,
                "revenue_cents",
                include_str!("../../migrations/sqlite/0013_revenue_cents.sql"),
            ),
            m(
                14,
                "platform_write",
                include_str!("../../migrations/sqlite/0014_platform_write.sql"),
            ),
            m(
                15,
                "step_worker",
                include_str!("../../migrations/sqlite/0015_step_worker.sql"),
            ),
            m(
                16,
                "programme",
                include_str!("../../migrations/sqlite/0016_programme.sql"),
            ),
            m(
                17,
                "tiers",
                include_str!("../../migrations/sqlite/0017_tiers.sql"),
            ),
        ]),
    }
}
