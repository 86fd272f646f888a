//! Writing judged customers to the state: one upsert per chunk that leaves migrated and
//! in-flight customers alone and rewrites only those whose judged columns changed.

use crate::clock;
use crate::db::write_tx;
use crate::source::audit;

use super::judge::Planned;

/// Customers written to the state database per statement.
pub(super) const UPSERT_ROWS: usize = 500;

/// The columns a plan sets from what it judges; a customer is rewritten when one differs.
pub(super) const CHANGED_COLUMNS: [&str; 12] = [
    "name",
    "email",
    "account_type",
    "special_needs",
    "country",
    "annual_revenue_cents",
    "repairs_12m",
    "segment",
    "priority",
    "status",
    "reason",
    "warnings",
];

/// Writes one chunk's customers (the upsert that leaves migrated and in-flight ones alone),
/// findings and rejected rows, in one state transaction.
pub(super) async fn write_chunk(
    state: &crate::db::Pool,
    planned: &[Planned],
    findings: &[audit::Finding],
    rejected: &[audit::Rejected],
) -> eyre::Result<()> {
    let now = clock::now();
    let mut tx = write_tx(state).await?;
    for chunk in planned.chunks(UPSERT_ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(state),
            "INSERT INTO customers (legacy_id, name, email, account_type, special_needs, country, \
             annual_revenue_cents, repairs_12m, segment, priority, status, reason, warnings, planned_at, updated_at, \
             tier, owner) ",
        );
        qb.push_values(chunk, |mut b, p| {
            b.push_bind(p.legacy_id.clone())
                .push_bind(p.name.clone())
                .push_bind(p.email.clone())
                .push_bind(p.account_type.clone())
                .push_bind(i64::from(p.special_needs))
                .push_bind(p.country.clone())
                .push_bind(p.revenue_cents)
                .push_bind(p.repairs)
                .push_bind(p.segment.clone())
                .push_bind(p.priority)
                .push_bind(p.status)
                .push_bind(p.reason.clone())
                .push_bind(p.warnings.clone())
                .push_bind(now.clone())
                .push_bind(now.clone())
                .push_bind(p.tier.clone())
                .push_bind(p.owner.clone());
        });
        // Every judged column is set, and a customer the plan judges as before is not written
        // at all (its `planned_at` is when the plan last changed it): a re-plan of 10^6
        // unchanged customers otherwise rewrites every row and its six index entries. A
        // migrated or in-flight customer keeps what it was judged by and takes only a new tier
        // or owner (a CSM who left hands over migrated customers too).
        let open = "customers.status IN ('pending', 'quarantined', 'failed', 'rolled_back')";
        let set: Vec<String> = CHANGED_COLUMNS
            .iter()
            .map(|c| format!("{c} = CASE WHEN {open} THEN excluded.{c} ELSE customers.{c} END"))
            .collect();
        let changed: Vec<String> = CHANGED_COLUMNS
            .iter()
            .map(|c| format!("customers.{c} IS DISTINCT FROM excluded.{c}"))
            .collect();
        qb.push(format!(
            " ON CONFLICT (legacy_id) DO UPDATE SET {}, \
             planned_at = CASE WHEN {open} THEN excluded.planned_at ELSE customers.planned_at END, \
             updated_at = CASE WHEN customers.status = excluded.status OR NOT {open} THEN customers.updated_at \
                          ELSE excluded.updated_at END, \
             tier = excluded.tier, owner = excluded.owner \
             WHERE ({open} AND ({})) \
               OR customers.tier IS DISTINCT FROM excluded.tier OR customers.owner IS DISTINCT FROM excluded.owner",
            set.join(", "),
            changed.join(" OR ")
        ));
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in findings.chunks(UPSERT_ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(state),
            "INSERT INTO findings (customer_legacy_id, rule, severity, detail) ",
        );
        qb.push_values(chunk, |mut b, f| {
            b.push_bind(f.customer.clone())
                .push_bind(f.rule.clone())
                .push_bind(f.severity.as_str())
                .push_bind(f.detail.clone());
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in rejected.chunks(UPSERT_ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(state),
            "INSERT INTO rejected_rows (entity, legacy_id, rule, detail) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.entity)
                .push_bind(r.legacy_id.clone())
                .push_bind(r.rule.clone())
                .push_bind(r.detail.clone());
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
