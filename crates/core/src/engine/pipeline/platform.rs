//! The pipeline's writes to the platform: a batch's rows replaced in one transaction, and a
//! restore from the backups, verified.

use std::collections::HashMap;

use crate::ctx::Ctx;
use crate::db::{Builder, InDb, write_tx};
use crate::engine::lease::{self, Lease};
use crate::engine::preimage::{self, PreImage};
use crate::schema::{Checksum, Entity, Row};
use crate::source::CHUNK;
use crate::target;

/// Writes `rows` (all of these customers' rows, every entity) to the platform, replacing
/// whatever cutover wrote for them before. With `customers_too` unset only child rows are
/// replaced. A customer in `kept` (the platform had it before cutover) keeps its platform row
/// and the rows its pre-image names: only the other children are deleted, and its customer
/// row is never deleted or inserted here.
pub async fn write_target(
    conn: &mut crate::db::Conn,
    layout: &target::Layout,
    ids: &[String],
    rows: &HashMap<Entity, Vec<&Row>>,
    customers_too: bool,
    kept: &HashMap<String, PreImage>,
) -> eyre::Result<()> {
    let empty = Vec::new();
    let (fresh, in_place) = preimage::split(ids, kept);
    if customers_too {
        target::delete_customers(conn, layout, &fresh).await?;
        let cs: Vec<&Row> = rows
            .get(&Entity::Customers)
            .unwrap_or(&empty)
            .iter()
            .copied()
            .filter(|r| !kept.contains_key(r.legacy_id()))
            .collect();
        target::insert(
            conn,
            layout,
            Entity::Customers,
            &cs,
            &HashMap::new(),
            &HashMap::new(),
        )
        .await?;
    } else {
        target::delete_children(conn, layout, &fresh, &target::Keep::default()).await?;
    }
    if !in_place.is_empty() {
        target::delete_children(conn, layout, &in_place, &preimage::keep(kept.values())).await?;
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
    platform_write: Option<String>,
    entity: String,
    /// The platform's rows, canonical, as JSON.
    target_rows: String,
    target_count: i64,
    target_checksum: String,
    target_ids: Option<String>,
    source_keys: Option<String>,
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
    let mut backups: HashMap<String, (Option<String>, PreImage)> = HashMap::new();
    let mut expected: HashMap<(String, Entity), Checksum> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut b = Builder::new(
            "SELECT c.legacy_id, c.platform_write, b.entity, b.target_rows, b.target_count,
                    b.target_checksum, b.target_ids, b.source_keys FROM backups b JOIN customers c ON c.id = b.customer_id WHERE b.customer_id IN ",
        );
        b.push_list(chunk.iter().map(|(id, _)| *id));
        for r in b.build_query_as::<BackupOf>().fetch_all(&ctx.state).await? {
            let Some(e) = Entity::parse(&r.entity) else {
                continue;
            };
            expected.insert(
                (r.legacy_id.clone(), e),
                Checksum {
                    count: r.target_count,
                    sha256: r.target_checksum,
                },
            );
            let (_, image) = backups
                .entry(r.legacy_id)
                .or_insert_with(|| (r.platform_write, PreImage::default()));
            image.rows.insert(e, serde_json::from_str(&r.target_rows)?);
            image
                .ids
                .insert(e, preimage::parse_ids(r.target_ids.as_deref())?);
            image
                .keys
                .insert(e, preimage::parse_keys(r.source_keys.as_deref())?);
        }
    }
    // A customer without a backup never reached create_account: the platform has nothing of it.
    let all: Vec<String> = ids.iter().map(|(_, l)| l.clone()).collect();
    let with_backup: Vec<String> = backups.keys().cloned().collect();
    // A customer the platform had before is restored in place: cutover deletes only what it
    // created and writes a merged row back; a replaced one (cutover's own tables) is
    // re-inserted from the backup. A backup from before `platform_write` existed was
    // replaced on a managed platform and refused on a mapped one.
    let (in_place, replaced): (HashMap<_, _>, HashMap<_, _>) =
        backups.into_iter().partition(|(_, (write, image))| {
            let had = image
                .rows
                .get(&Entity::Customers)
                .is_some_and(|r| !r.is_empty());
            had && match write.as_deref() {
                Some("replaced") => false,
                Some(_) => true,
                None => !ctx.layout.managed,
            }
        });
    let mut refs: HashMap<Entity, Vec<&Row>> = HashMap::new();
    for (_, image) in replaced.values() {
        for (e, rows) in &image.rows {
            refs.entry(*e).or_default().extend(rows);
        }
    }
    let merged: Vec<Row> = in_place
        .values()
        .filter(|(w, _)| w.as_deref() == Some("merged"))
        .flat_map(|(_, image)| image.rows.get(&Entity::Customers).into_iter().flatten())
        .cloned()
        .collect();
    let in_place: HashMap<String, PreImage> = in_place
        .into_iter()
        .map(|(k, (_, image))| (k, image))
        .collect();
    if let Some(api) = &ctx.api {
        if refs.values().any(|r| !r.is_empty()) {
            eyre::bail!(
                "an HTTP platform cannot re-insert replaced rows (on_existing = \"replace\")"
            );
        }
        let merged: Vec<&Row> = merged.iter().collect();
        super::http::restore(ctx, api, fences, &with_backup, &in_place, &merged).await?;
        crate::fault::point("commit.target");
        return crate::engine::validate::against_backup(ctx, &all, &expected, &in_place).await;
    }
    async {
        let mut tx = write_tx(&ctx.target).await?;
        for l in fences {
            lease::fence_platform(&mut tx, l).await?;
        }
        write_target(&mut tx, &ctx.layout, &with_backup, &refs, true, &in_place).await?;
        let merged: Vec<&Row> = merged.iter().collect();
        target::update(&mut tx, &ctx.layout, Entity::Customers, &merged).await?;
        tx.commit().await?;
        Ok::<_, eyre::Report>(())
    }
    .await
    .in_db("platform")?;
    crate::fault::point("commit.target");
    crate::engine::validate::against_backup(ctx, &all, &expected, &in_place).await
}
