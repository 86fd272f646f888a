//! The pipeline's writes on an HTTP platform ([`crate::target::http`]): the same steps as on a
//! database, made of idempotent requests instead of one fenced transaction.

use std::collections::HashMap;

use super::Member;
use crate::ctx::Ctx;
use crate::db::Builder;
use crate::engine::lease::{self, Lease};
use crate::engine::preimage::{Kept, PreImage};
use crate::schema::{Entity, Row};
use crate::source::CHUNK;
use crate::target::TargetRow;
use crate::target::http::{self, Api, Create};

/// The idempotency key of one row: the entity, the customer, the row and the customer's
/// attempt (a re-migration after a rollback is a new create, a resumed step is not).
fn key(e: Entity, customer: &str, row: &str, attempt: i64) -> String {
    format!("cutover:{}:{customer}:{row}:{attempt}", e.name())
}

/// Each customer's attempt, by legacy id, for its idempotency keys.
fn attempts<'a>(members: &[&'a Member]) -> HashMap<&'a str, i64> {
    members
        .iter()
        .map(|m| (m.legacy_id.as_str(), m.attempts))
        .collect()
}

/// `create_account` on an HTTP platform: each new customer created (`POST`), each merged one
/// written into its own object (`PATCH`), a skipped one left. Returns each customer's platform
/// id.
///
/// Errors: [`lease::LeaseLost`] before any request when the batch has a newer token; a request
/// failing after its retries.
pub(super) async fn create_accounts(
    ctx: &Ctx,
    api: &Api,
    lease: &Lease,
    members: &[&Member],
    rows: &[&Row],
    kept: &HashMap<String, (Kept, PreImage)>,
) -> eyre::Result<HashMap<String, i64>> {
    lease::still_held(ctx, lease).await?;
    let attempt = attempts(members);
    let mut pids: HashMap<String, i64> = HashMap::new();
    let mut merge: Vec<(&Row, i64)> = Vec::new();
    let mut fresh: Vec<Create<'_>> = Vec::new();
    for r in rows {
        let l = r.legacy_id();
        match kept.get(l) {
            Some((how, image)) => {
                let Some(id) = image.ids.get(&Entity::Customers).and_then(|v| v.first()) else {
                    continue;
                };
                pids.insert(l.to_string(), *id);
                if *how == Kept::Merged {
                    merge.push((r, *id));
                }
            }
            None => fresh.push(Create {
                row: r,
                ids: [None; 2],
                key: key(
                    Entity::Customers,
                    l,
                    l,
                    attempt.get(l).copied().unwrap_or(0),
                ),
            }),
        }
    }
    let created = http::create(api, &ctx.layout, Entity::Customers, &fresh).await?;
    for (c, id) in fresh.iter().zip(created) {
        pids.insert(c.row.legacy_id().to_string(), id);
    }
    http::update(api, &ctx.layout, Entity::Customers, &merge).await?;
    Ok(pids)
}

/// `migrate_data` on an HTTP platform: devices first (a repair needs its device's id), then
/// repairs, payments and communications, each created under its customer's platform id (as
/// `create_account` recorded it in the state).
///
/// Errors: as [`create_accounts`]; a customer without a recorded platform id.
pub(super) async fn migrate_data(
    ctx: &Ctx,
    api: &Api,
    lease: &Lease,
    members: &[&Member],
    rows: &HashMap<Entity, Vec<&Row>>,
) -> eyre::Result<()> {
    lease::still_held(ctx, lease).await?;
    let attempt = attempts(members);
    let mut pids: HashMap<String, i64> = HashMap::new();
    for chunk in members.chunks(CHUNK) {
        let mut b = Builder::new(
            "SELECT legacy_id, platform_id FROM customers WHERE platform_id IS NOT NULL AND id IN ",
        );
        b.push_list(chunk.iter().map(|m| m.id));
        pids.extend(
            b.build_query_as::<(String, i64)>()
                .fetch_all(&ctx.state)
                .await?,
        );
    }
    let mut devices: HashMap<(String, String), i64> = HashMap::new();
    for e in [
        Entity::Devices,
        Entity::Repairs,
        Entity::Payments,
        Entity::Communications,
    ] {
        let Some(of) = rows.get(&e) else { continue };
        let dev_col = e.column_index("device_legacy_id");
        let mut todo = Vec::with_capacity(of.len());
        for r in of {
            let c = r.customer(e);
            let Some(pid) = pids.get(c) else {
                eyre::bail!(
                    "{} row {}: customer {c} has no platform id",
                    e.name(),
                    r.legacy_id()
                );
            };
            let device = dev_col.and_then(|i| {
                let d = r.values[i].as_str()?;
                devices.get(&(c.to_string(), d.to_string())).copied()
            });
            todo.push(Create {
                row: r,
                ids: [Some(*pid), device],
                key: key(e, c, r.legacy_id(), attempt.get(c).copied().unwrap_or(0)),
            });
        }
        let ids = http::create(api, &ctx.layout, e, &todo).await?;
        if e == Entity::Devices {
            for (c, id) in todo.iter().zip(ids) {
                devices.insert(
                    (c.row.customer(e).to_string(), c.row.legacy_id().to_string()),
                    id,
                );
            }
        }
    }
    Ok(())
}

/// A restore on an HTTP platform: every object of these customers that their pre-images do not
/// name is deleted (children first, then the customer unless the platform had it), and a
/// merged customer's pre-image is written back into its own object.
///
/// Errors: [`lease::LeaseLost`] when one of `fences` has a newer token; a request failing.
pub(super) async fn restore(
    ctx: &Ctx,
    api: &Api,
    fences: &[Lease],
    ids: &[String],
    in_place: &HashMap<String, PreImage>,
    merged: &[&Row],
) -> eyre::Result<()> {
    for l in fences {
        lease::still_held(ctx, l).await?;
    }
    let now = http::read_all(api, &ctx.layout, ids).await?;
    let owner: HashMap<&str, i64> = now
        .get(&Entity::Customers)
        .into_iter()
        .flatten()
        .filter_map(|(l, v)| Some((l.as_str(), v.first()?.id)))
        .collect();
    for e in [
        Entity::Repairs,
        Entity::Payments,
        Entity::Communications,
        Entity::Devices,
        Entity::Customers,
    ] {
        let Some(of) = now.get(&e) else { continue };
        let mut gone: Vec<(Option<i64>, i64)> = Vec::new();
        for (cust, rows) in of {
            let image = in_place.get(cust);
            let parent = (e != Entity::Customers)
                .then(|| owner.get(cust.as_str()).copied())
                .flatten();
            gone.extend(
                rows.iter()
                    // A kept customer loses only what cutover wrote: never a row its
                    // backup saw, nor one the platform added since.
                    .filter(|r: &&TargetRow| match image {
                        None => true,
                        Some(p) => {
                            e != Entity::Customers
                                && !p.ids.get(&e).is_some_and(|k| k.contains(&r.id))
                                && p.keys
                                    .get(&e)
                                    .is_some_and(|k| k.iter().any(|x| x == r.row.legacy_id()))
                        }
                    })
                    .map(|r| (parent, r.id)),
            );
        }
        http::delete(api, &ctx.layout, e, &gone).await?;
    }
    let back: Vec<(&Row, i64)> = merged
        .iter()
        .filter_map(|r| Some((*r, *owner.get(r.legacy_id())?)))
        .collect();
    http::update(api, &ctx.layout, Entity::Customers, &back).await?;
    Ok(())
}
