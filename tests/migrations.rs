//! The state schema is written twice, once per engine (`crates/core/migrations/sqlite/` and
//! `…/postgres/`): applied, both give the same tables with the same columns, so they cannot
//! drift. SQLite always; PostgreSQL when the suite has a server (`CUTOVER_TEST_POSTGRES_URL`).

mod common;

use std::collections::BTreeSet;

use cutover_core::db;

/// (table, column) pairs of the state schema on SQLite, from a fresh file.
async fn sqlite_columns() -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    let pool = db::open_state(&url, true, false).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().collect()
}

#[tokio::test]
async fn both_engines_migrations_give_the_same_tables_and_columns() {
    let sqlite = sqlite_columns().await;
    let tables: BTreeSet<&str> = sqlite.iter().map(|(t, _)| t.as_str()).collect();
    for t in [
        "customers",
        "batches",
        "steps",
        "backups",
        "alerts",
        "audit_log",
        "runner",
    ] {
        assert!(tables.contains(t), "the SQLite state has {t}");
    }
    assert!(
        sqlite.contains(&("batches".into(), "scoring_owed".into())),
        "the latest migration applied"
    );
    if common::postgres_url().is_none() {
        return common::skip(
            "both_engines_migrations_give_the_same_tables_and_columns (PostgreSQL half)",
            "CUTOVER_TEST_POSTGRES_URL",
        );
    }
    let schema = common::pg_schema("migrations");
    let pool = db::open_state(&schema.url, false, false).await.unwrap();
    let pg: BTreeSet<(String, String)> = sqlx::query_as::<_, (String, String)>(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    pool.close().await;
    let only_sqlite: Vec<_> = sqlite.difference(&pg).collect();
    let only_pg: Vec<_> = pg.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "the engines' state schemas differ:\n only on SQLite: {only_sqlite:?}\n only on PostgreSQL: {only_pg:?}"
    );
    println!(
        "migrations: {} tables, {} columns, the same on SQLite and PostgreSQL",
        tables.len(),
        sqlite.len()
    );
}
