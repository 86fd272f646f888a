//! Validation (brief section 2, `validate`): a migrated customer's canonical rows as read
//! from the source equal, per entity, in count and checksum, those stored on the platform, and
//! its repairs point at the right devices. Also the checks that the platform holds nothing it
//! should not: after a restore, exactly the backup; for a customer the state does not call
//! migrated, nothing but its backup (an orphan otherwise).

use std::collections::HashMap;

use crate::ctx::Ctx;
use crate::db::{Backend, Builder, JsonCol};
use crate::engine::preimage::{self, Kept, PreImage};
use crate::schema::{Checksum, Entity, Row, checksum};
use crate::source::{CHUNK, SourceRows};
use crate::target;

/// One entity of one customer compared source against target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntityCheck {
    /// The canonical entity.
    pub entity: &'static str,
    /// Rows on the source.
    pub source_count: i64,
    /// Rows on the platform.
    pub target_count: i64,
    /// Checksum of the source's rows.
    pub source_checksum: String,
    /// Checksum of the platform's rows.
    pub target_checksum: String,
    /// Repairs only: rows whose `device_id` does not point at the device its
    /// `device_legacy_id` names on the platform.
    pub broken_links: i64,
}

impl EntityCheck {
    /// Whether counts and checksums agree (and, for repairs, every device link holds).
    pub fn ok(&self) -> bool {
        self.source_count == self.target_count
            && self.source_checksum == self.target_checksum
            && self.broken_links == 0
    }

    /// "repairs: count 5 ≠ 4, checksum 1a2b… ≠ 3c4d…"
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.source_count != self.target_count {
            parts.push(format!(
                "count source {} ≠ target {}",
                self.source_count, self.target_count
            ));
        }
        if self.source_checksum != self.target_checksum {
            parts.push(format!(
                "checksum source {} ≠ target {}",
                &self.source_checksum[..12],
                &self.target_checksum[..12]
            ));
        }
        if self.broken_links > 0 {
            parts.push(format!(
                "{} repairs point at the wrong device",
                self.broken_links
            ));
        }
        format!("{}: {}", self.entity, parts.join(", "))
    }
}

/// The validation of one customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomerCheck {
    /// The customer's legacy id (the source's).
    pub legacy_id: String,
    /// Per entity.
    pub entities: Vec<EntityCheck>,
    /// A source row that no longer normalises.
    pub error: Option<String>,
}

impl CustomerCheck {
    /// Whether counts and checksums agree (and, for repairs, every device link holds).
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.entities.iter().all(EntityCheck::ok)
    }

    /// Why.
    pub fn reason(&self) -> String {
        if let Some(e) = &self.error {
            return e.clone();
        }
        self.entities
            .iter()
            .filter(|e| !e.ok())
            .map(EntityCheck::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Re-reads the source and the platform for `ids` and compares every entity by count and
/// checksum, and repairs' device links. For a customer the platform had before cutover
/// (merged or skipped) the expected rows are the source's plus the platform's own from the
/// pre-image (its customer row too, when skipped); `source_*` then describe those.
pub async fn validate(ctx: &Ctx, ids: &[String]) -> eyre::Result<Vec<CustomerCheck>> {
    validate_with(ctx, ids, SourceSide::Read).await
}

/// Where [`validate_with`] takes the source's side from. Issue 21: "validated" means the
/// canonical rows as read from the source equal, per entity, those stored on the platform;
/// how the source's side is computed is free.
pub enum SourceSide {
    /// Read from the source again, a chunk of customers at a time (`cutover validate`).
    Read,
    /// The counts and checksums each customer's backup took of its source rows, as they were
    /// read for the copy, from the state in one read: the pipeline's validate step, which
    /// then reads no source row and checksums none again. The rows of a customer the platform
    /// had are read again: its expected rows include the platform's own.
    Backup,
}

/// [`validate`] with the source's side from `source`; the platform's side is always read back.
pub async fn validate_with(
    ctx: &Ctx,
    ids: &[String],
    source: SourceSide,
) -> eyre::Result<Vec<CustomerCheck>> {
    let kept = preimage::load(ctx, ids).await?;
    let sums = match source {
        SourceSide::Backup => backup_sums(ctx, ids).await?,
        _ => HashMap::new(),
    };
    let mut out = Vec::with_capacity(ids.len());
    // Both sides' rows a chunk of customers at a time, dropped once compared: a batch's
    // memory does not grow with its size.
    for chunk in ids.chunks(CHUNK) {
        let read;
        let src = match &source {
            SourceSide::Read => {
                read = crate::source::read(&ctx.source, &ctx.cfg.mapping, chunk).await?;
                &read
            }
            SourceSide::Backup => {
                let had: Vec<String> = chunk
                    .iter()
                    .filter(|id| kept.contains_key(*id))
                    .cloned()
                    .collect();
                read = crate::source::read(&ctx.source, &ctx.cfg.mapping, &had).await?;
                &read
            }
        };
        let tgt = ctx.platform_rows(chunk).await?;
        for id in chunk {
            let sums =
                (matches!(source, SourceSide::Backup) && !kept.contains_key(id)).then_some(&sums);
            out.push(check_one(ctx, id, src, sums, &tgt, &kept));
        }
    }
    Ok(out)
}

/// The source counts and checksums the backups of the customers `ids` (legacy ids) took, per
/// customer and entity.
async fn backup_sums(
    ctx: &Ctx,
    ids: &[String],
) -> eyre::Result<HashMap<(String, Entity), Checksum>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = Backend::of_pool(&ctx.state);
    let mut b = Builder::on(
        backend,
        "SELECT c.legacy_id, b.entity, b.source_count, b.source_checksum FROM backups b \
         JOIN customers c ON c.id = b.customer_id WHERE c.legacy_id ",
    );
    b.push_json_in(backend, JsonCol::Text, ids);
    let rows = b
        .build_query_as::<(String, String, i64, String)>()
        .fetch_all(&ctx.state)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, e, count, sha256)| {
            Entity::parse(&e).map(|e| ((id, e), Checksum { count, sha256 }))
        })
        .collect())
}

/// One customer's [`CustomerCheck`] from its source rows in `src` (or, with `sums`, the
/// counts and checksums its backup took of them), its platform rows in `tgt` and, when the
/// platform had it, its pre-image in `kept`.
fn check_one(
    ctx: &Ctx,
    id: &str,
    src: &SourceRows,
    sums: Option<&HashMap<(String, Entity), Checksum>>,
    tgt: &HashMap<Entity, HashMap<String, Vec<target::TargetRow>>>,
    kept: &HashMap<String, (Kept, PreImage)>,
) -> CustomerCheck {
    let mut entities = Vec::with_capacity(Entity::ALL.len());
    for e in Entity::ALL {
        if ctx.cfg.mapping.get(e).is_none() {
            continue;
        }
        let s = src.of(e, id);
        let all_rows: &[target::TargetRow] = tgt
            .get(&e)
            .and_then(|m| m.get(id))
            .map_or(&[], Vec::as_slice);
        // A kept customer's rows that are neither the platform's from the backup nor
        // cutover's were added by the platform since: not this validation's business.
        let covered: Vec<target::TargetRow>;
        let t: &[target::TargetRow] = match kept.get(id) {
            Some((_, image)) => {
                covered = all_rows
                    .iter()
                    .filter(|r| image.covers(e, r.id, r.row.legacy_id()))
                    .cloned()
                    .collect();
                &covered
            }
            None => all_rows,
        };
        let projected: Vec<_> = s.iter().map(|r| ctx.layout.project(e, r)).collect();
        let mut want: Vec<&Row> = projected.iter().map(|r| r.as_ref()).collect();
        // A customer the platform had keeps its own rows next to the migrated ones, and
        // a skipped one its own customer row instead of the source's.
        if let Some((how, image)) = kept.get(id) {
            let own = image.rows.get(&e).map_or(&[][..], Vec::as_slice);
            if e == Entity::Customers {
                if *how == Kept::Skipped {
                    want = own.iter().collect();
                }
            } else {
                want.extend(own);
            }
        }
        let sc = match sums {
            // A customer whose backup is missing an entity had no rows of it.
            Some(m) => m
                .get(&(id.to_string(), e))
                .cloned()
                .unwrap_or_else(Checksum::empty),
            None => checksum(&mut want),
        };
        let tc = checksum(&mut t.iter().map(|r| &r.row).collect::<Vec<_>>());
        let broken_links = if e == Entity::Repairs {
            broken_links(tgt, id, t)
        } else {
            0
        };
        entities.push(EntityCheck {
            entity: e.name(),
            source_count: sc.count,
            target_count: tc.count,
            source_checksum: sc.sha256,
            target_checksum: tc.sha256,
            broken_links,
        });
    }
    CustomerCheck {
        legacy_id: id.to_string(),
        entities,
        error: src.bad.get(id).cloned(),
    }
}

fn broken_links(
    tgt: &HashMap<Entity, HashMap<String, Vec<target::TargetRow>>>,
    cust: &str,
    repairs: &[target::TargetRow],
) -> i64 {
    let devices: HashMap<&str, i64> = tgt
        .get(&Entity::Devices)
        .and_then(|m| m.get(cust))
        .map(|v| v.iter().map(|d| (d.row.legacy_id(), d.id)).collect())
        .unwrap_or_default();
    let dev_col = Entity::Repairs
        .column_index("device_legacy_id")
        .unwrap_or(2);
    repairs
        .iter()
        .filter(|r| {
            let want = r.row.values[dev_col]
                .as_str()
                .and_then(|d| devices.get(d).copied());
            want != r.device_id
        })
        .count() as i64
}

/// Compares the platform's rows of the customers `all` (legacy ids) with `expected`, the
/// checksums their backups took of the platform before migration (a customer or entity
/// missing from it is expected to have no rows). For a customer in `kept` (the platform had it)
/// only its pre-image's rows and the ones cutover wrote are compared: what the platform added
/// since is its own. Returns the customers that differ, with the
/// first entity that does.
///
/// Errors: a database failing, or a platform row that no longer normalises.
pub async fn against_backup(
    ctx: &Ctx,
    all: &[String],
    expected: &HashMap<(String, Entity), Checksum>,
    kept: &HashMap<String, PreImage>,
) -> eyre::Result<HashMap<String, String>> {
    let mut now_all = ctx.platform_rows(all).await?;
    let mut bad = HashMap::new();
    for e in Entity::ALL {
        let now = now_all.remove(&e).unwrap_or_default();
        for id in all {
            let image = kept.get(id);
            let mut rows: Vec<&Row> = now
                .get(id)
                .map(|v| {
                    v.iter()
                        .filter(|t| image.is_none_or(|p| p.covers(e, t.id, t.row.legacy_id())))
                        .map(|t| &t.row)
                        .collect()
                })
                .unwrap_or_default();
            let got = checksum(&mut rows);
            let want = expected
                .get(&(id.clone(), e))
                .cloned()
                .unwrap_or_else(Checksum::empty);
            if got != want {
                bad.entry(id.clone()).or_insert_with(|| {
                    format!(
                        "{}: the platform has {} rows ({}), the backup had {} ({})",
                        e.name(),
                        got.count,
                        got.short(),
                        want.count,
                        want.short()
                    )
                });
            }
        }
    }
    Ok(bad)
}

/// The status of customer `legacy_id` on the state; `None` when the plan does not know it.
///
/// Errors: the state database failing.
pub async fn status_of(state: &crate::db::Pool, legacy_id: &str) -> eyre::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT status FROM customers WHERE legacy_id = $1")
            .bind(legacy_id.to_string())
            .fetch_optional(state)
            .await?,
    )
}

/// The legacy ids of every migrated customer, in plan order.
///
/// Errors: the state database failing.
pub async fn migrated(state: &crate::db::Pool) -> eyre::Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT legacy_id FROM customers WHERE status = 'migrated' ORDER BY id")
            .fetch_all(state)
            .await?,
    )
}

/// A customer the platform holds rows for although the state does not call it migrated (nor
/// in flight), and whose rows are not what its backup found on the platform before migration.
/// A stale writer or a hand edit put them there; `validate` reports each as a mismatch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Orphan {
    /// The customer's legacy id (the source's).
    pub legacy_id: String,
    /// The customer's status on the state; `None` when the plan does not know the customer.
    pub status: Option<String>,
    /// The first entity that differs from the backup, with counts and checksums.
    pub reason: String,
}

/// Platform customers read per page while looking for orphans.
const ORPHAN_PAGE: i64 = 5000;

/// Finds the platform's orphans ([`Orphan`]): every platform customer row, or only the one of
/// `only` (a legacy id), compared with the state. On an HTTP platform, which cannot be listed,
/// every customer of the plan cutover wrote for and does not call migrated. Customers `running` (their batch will
/// rewrite or restore them) are not judged. Reads the platform's customers by pages of
/// legacy ids (its unique index), so memory stays bounded at any size.
///
/// Errors: a database failing, or a platform row that no longer normalises.
pub async fn orphans(ctx: &Ctx, only: Option<&str>) -> eyre::Result<Vec<Orphan>> {
    let mut out = Vec::new();
    let mut after = String::new();
    let c = ctx.layout.customers();
    // Pages in the key's text order: on a managed platform that is its unique index.
    let key = c.key_text("t");
    let sql = format!(
        "SELECT {key} FROM {} t WHERE {key} > $1 AND ($2 IS NULL OR {key} = $2) ORDER BY {key} LIMIT $3",
        c.name
    );
    // An HTTP platform cannot be listed: the candidates are the customers cutover wrote for
    // (they have a backup) that the state does not call migrated or in flight.
    let (sql, pool) = match ctx.api {
        Some(_) => (
            "SELECT c.legacy_id FROM customers c WHERE c.legacy_id > $1 AND ($2 IS NULL OR c.legacy_id = $2) \
             AND c.status NOT IN ('migrated', 'running') \
             AND EXISTS (SELECT 1 FROM backups b WHERE b.customer_id = c.id) ORDER BY c.legacy_id LIMIT $3"
                .to_string(),
            &ctx.state,
        ),
        None => (sql, &ctx.target),
    };
    loop {
        let page: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(after.clone())
            .bind(only.map(str::to_string))
            .bind(ORPHAN_PAGE)
            .fetch_all(pool)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.clone();
        for chunk in page.chunks(CHUNK) {
            out.extend(orphans_among(ctx, chunk).await?);
        }
        if (page.len() as i64) < ORPHAN_PAGE {
            break;
        }
    }
    Ok(out)
}

/// [`orphans`] among the platform customers `ids` (legacy ids, at most [`CHUNK`]).
async fn orphans_among(ctx: &Ctx, ids: &[String]) -> eyre::Result<Vec<Orphan>> {
    let mut b =
        crate::db::Builder::new("SELECT legacy_id, status FROM customers WHERE legacy_id IN ");
    b.push_list(ids.iter().cloned());
    let known: HashMap<String, String> = b
        .build_query_as::<(String, String)>()
        .fetch_all(&ctx.state)
        .await?
        .into_iter()
        .collect();
    let suspects: Vec<String> = ids
        .iter()
        .filter(|id| {
            known
                .get(*id)
                .is_none_or(|s| s != "migrated" && s != "running")
        })
        .cloned()
        .collect();
    if suspects.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = crate::db::Builder::new(
        "SELECT c.legacy_id, b.entity, b.target_count, b.target_checksum
         FROM backups b JOIN customers c ON c.id = b.customer_id WHERE c.legacy_id IN ",
    );
    b.push_list(suspects.iter().cloned());
    let mut expected = HashMap::new();
    for (cust, entity, count, sha256) in b
        .build_query_as::<(String, String, i64, String)>()
        .fetch_all(&ctx.state)
        .await?
    {
        if let Some(e) = Entity::parse(&entity) {
            expected.insert((cust, e), Checksum { count, sha256 });
        }
    }
    let kept: HashMap<String, PreImage> = preimage::load(ctx, &suspects)
        .await?
        .into_iter()
        .map(|(k, (_, p))| (k, p))
        .collect();
    let differ = against_backup(ctx, &suspects, &expected, &kept).await?;
    let mut out: Vec<Orphan> = differ
        .into_iter()
        .map(|(legacy_id, reason)| Orphan {
            status: known.get(&legacy_id).cloned(),
            legacy_id,
            reason,
        })
        .collect();
    out.sort_by(|a, b| a.legacy_id.cmp(&b.legacy_id));
    Ok(out)
}
