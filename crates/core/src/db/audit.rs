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
