//! The audit log's one writer: every action's row commits in the action's own transaction.

use super::Conn;

/// One audit-log entry: who did what to which scope, in which role, why, and how it ended.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    /// Who did it (the operator, or `cutover` for the system).
    pub actor: &'a str,
    /// The role.
    pub role: &'a str,
    /// What was done.
    pub action: &'a str,
    /// What it was done to.
    pub scope: &'a str,
    /// The operator's reason (a note, a typed confirmation); empty when none was asked.
    pub reason: &'a str,
    /// `ok`, or what went wrong for an action that is recorded although it failed.
    pub result: &'a str,
    /// What happened, in words.
    pub detail: &'a str,
}

/// Appends one row to the audit log on `conn`, which must be the action's own transaction, so
/// that the row commits or rolls back with the action it records.
pub async fn audit(conn: &mut Conn, e: AuditEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, role, action, scope, reason, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::clock::now())
    .bind(e.actor.to_string())
    .bind(e.role.to_string())
    .bind(e.action.to_string())
    .bind(e.scope.to_string())
    .bind(e.reason.to_string())
    .bind(e.result.to_string())
    .bind(e.detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Rows of `table` audited at once, as the system (`actor`, role `system`), for changes that
/// touch many rows in one statement (a rule opening 10^6 alerts, a fact completing 10^5
/// milestones): one insert per chunk of `ids`, read from the table itself.
#[derive(Debug, Clone, Copy)]
pub struct Many<'a> {
    /// The table the ids are of (`alerts`, `milestones`, `success_plans`).
    pub table: &'a str,
    /// Who did it.
    pub actor: &'a str,
    /// What was done.
    pub action: &'a str,
    /// Why (a rule, an engine fact); empty for none.
    pub reason: &'a str,
    /// The scope, as an SQL expression over the table's columns (`'alert ' || id`).
    pub scope: &'a str,
    /// What happened, as an SQL expression over the table's columns.
    pub detail: &'a str,
}

/// Ids written into one statement.
const MANY_CHUNK: usize = 500;

/// Appends an audit row for each of `ids` (integers from the state database, so written into
/// the SQL as they are) on `conn`, the change's own transaction, in id order.
pub async fn audit_many(conn: &mut Conn, ids: &[i64], m: Many<'_>) -> sqlx::Result<()> {
    for chunk in ids.chunks(MANY_CHUNK) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO audit_log (at, actor, role, action, scope, reason, outcome, detail)
             SELECT $1, $2, 'system', $3, {}, $4, 'ok', {} FROM {} WHERE id IN ({list}) ORDER BY id",
            m.scope, m.detail, m.table
        );
        // Not kept in the connection's statement cache: every list makes a new text.
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .bind(crate::clock::now())
            .bind(m.actor.to_string())
            .bind(m.action.to_string())
            .bind(m.reason.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
