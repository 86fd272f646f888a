//! The pipeline's writes to the platform: a batch's rows replaced in one transaction, and a
//! restore from the backups, verified.

use std::collections::HashMap;

use crate::ctx::Ctx;
use crate::db::{Builder, InDb, write_tx};
use crate::engine::lease::{self, Lease};
use crate::schema::{Checksum, Entity, Row};
use crate::source::CHUNK;
use crate::target;

/// Writes `rows` (all of these customers' rows, every entity) to the platform, replacing
/// whatever the platform had for them. With `customers_too` unset only child rows are replaced.
pub async fn write_target(
    conn: &mut crate::db::Conn,
    layout: &target::Layout,
    ids: &[String],
    rows: &HashMap<Entity, Vec<&Row>>,
    customers_too: bool,
) -> eyre::Result<()> {
    let empty = Vec::new();
    if customers_too {
        target::delete_customers(conn, layout, ids).await?;
        let cs = rows.get(&Entity::Customers).unwrap_or(&empty);
        target::insert(
            conn,
            layout,
            Entity::Customers,
            cs,
            &HashMap::new(),
            &HashMap::new(),
        )
        .await?;
    } else {
        target::delete_children(conn, layout, ids).await?;
    }
    let platform = target::customer_ids(conn, layout, ids).await?;
    let devs = rows.get(&Entity::Devices).unwrap_or(&empty);
    target::insert(
        conn,
        layout,
        Entity::Devices,
        devs,
        &platform,
        &HashMap::new(),
    )
    .await?;
    let device_ids = target::device_ids(conn, layout, ids).await?;
    for e in [Entity::Repairs, Entity::Payments, Entity::Communications] {
        target::insert(
            conn,
            layout,
            e,
            rows.get(&e).unwrap_or(&empty),
            &platform,
            &device_ids,
        )
        .await?;
    }
    Ok(())
}

/// One entity of a customer's backup: what the platform held before migration.
#[derive(sqlx::FromRow)]
struct BackupOf {
    legacy_id: String,
    entity: String,
    /// The platform's rows, canonical, as JSON.
    target_rows: String,
    target_count: i64,
    target_checksum: String,
}

/// Restores the platform to the customers' backups (nothing, for a customer that had nothing)
/// and verifies the target checksums against the backup. Returns the customers whose
/// verification failed, with the reason.
///
/// `fences` are the leases of the batches these customers belong to: the restore's platform
/// transaction checks and advances each ([`lease::fence_platform`]).
///
/// Errors: [`lease::LeaseLost`] when the platform saw a newer token for one of the batches
/// (nothing was written), or a database failing.
pub async fn restore(
    ctx: &Ctx,
    ids: &[(i64, String)],
    fences: &[Lease],
) -> eyre::Result<HashMap<String, String>> {
    let mut backups: HashMap<Entity, Vec<Row>> = HashMap::new();
    let mut expected: HashMap<(String, Entity), Checksum> = HashMap::new();
    let mut with_backup: Vec<String> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut b = Builder::new(
            "SELECT c.legacy_id, b.entity, b.target_rows, b.target_count, b.target_checksum
             FROM backups b JOIN customers c ON c.id = b.customer_id WHERE b.customer_id IN ",
        );
        b.push_list(chunk.iter().map(|(id, _)| *id));
        for r in b.build_query_as::<BackupOf>().fetch_all(&ctx.state).await? {
            let Some(e) = Entity::parse(&r.entity) else {
                continue;
            };
            let rows: Vec<Row> = serde_json::from_str(&r.target_rows)?;
            backups.entry(e).or_default().extend(rows);
            expected.insert(
                (r.legacy_id.clone(), e),
                Checksum {
                    count: r.target_count,
                    sha256: r.target_checksum,
                },
            );
            if e == Entity::Customers {
                with_backup.push(r.legacy_id);
            }
        }
    }
    // A customer without a backup never reached create_account: the platform has nothing of it.
    let all: Vec<String> = ids.iter().map(|(_, l)| l.clone()).collect();
    let refs: HashMap<Entity, Vec<&Row>> = backups
        .iter()
        .map(|(e, v)| (*e, v.iter().collect()))
        .collect();
    async {
        let mut tx = write_tx(&ctx.target).await?;
        for l in fences {
            lease::fence_platform(&mut tx, l).await?;
        }
        write_target(&mut tx, &ctx.layout, &with_backup, &refs, true).await?;
        tx.commit().await?;
        Ok::<_, eyre::Report>(())
    }
    .await
    .in_db("platform")?;
    crate::fault::point("commit.target");
    crate::engine::validate::against_backup(ctx, &all, &expected).await
}
