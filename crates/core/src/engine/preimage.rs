//! Customers the platform held before cutover reached them (signed up on the new platform
//! before their wave), kept in place by `target.on_existing = "merge"` or `"skip"`: what their
//! backup saw (the pre-image: canonical rows and their platform ids) and what cutover did,
//! as the backup step recorded it in `customers.platform_write`.
//!
//! The pre-image is what makes these customers safe: the rows it names are the platform's own,
//! so a re-run or a rollback deletes every other row of the customer and never those, and a
//! merged customer row is written back from it.

use std::collections::{HashMap, HashSet};

use crate::ctx::Ctx;
use crate::db::{Backend, Builder, JsonCol};
use crate::schema::{Entity, Row};
use crate::target::Keep;

/// How a customer the platform already held was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Its mapped columns were written into the platform's row.
    Merged,
    /// Its platform row was left as it was.
    Skipped,
}

impl Kept {
    /// `customers.platform_write` as the backup step wrote it.
    pub fn parse(s: &str) -> Option<Kept> {
        match s {
            "merged" => Some(Kept::Merged),
            "skipped" => Some(Kept::Skipped),
            _ => None,
        }
    }
}

/// One customer's pre-image.
#[derive(Debug, Clone, Default)]
pub struct PreImage {
    /// The platform's rows of the customer when the backup was taken, canonical, per entity.
    pub rows: HashMap<Entity, Vec<Row>>,
    /// Their platform ids, per entity.
    pub ids: HashMap<Entity, Vec<i64>>,
    /// The keys of the rows cutover writes for the customer (the source's legacy ids), per
    /// entity: the rows that are cutover's and no one else's.
    pub keys: HashMap<Entity, Vec<String>>,
}

impl PreImage {
    /// Whether `row` (of `entity`, with platform id `id`) is one validation and a restore look
    /// at: the platform's own from the backup, or one cutover wrote. A row the platform added
    /// since is neither.
    pub fn covers(&self, entity: Entity, id: i64, key: &str) -> bool {
        entity == Entity::Customers
            || self.ids.get(&entity).is_some_and(|v| v.contains(&id))
            || self
                .keys
                .get(&entity)
                .is_some_and(|v| v.iter().any(|k| k == key))
    }
}

/// The kept customers among `ids` (legacy ids), with how and their pre-images. Empty, after
/// one indexed query, for a batch of customers the platform did not have.
///
/// Errors: the state failing, or a backup that does not parse.
pub async fn load(ctx: &Ctx, ids: &[String]) -> eyre::Result<HashMap<String, (Kept, PreImage)>> {
    let mut out: HashMap<String, (Kept, PreImage)> = HashMap::new();
    if !ids.is_empty() {
        let backend = Backend::of_pool(&ctx.state);
        let mut b = Builder::on(
            backend,
            "SELECT c.legacy_id, c.platform_write, b.entity, b.target_rows, b.target_ids, \
             b.source_keys FROM customers c JOIN backups b ON b.customer_id = c.id \
             WHERE c.platform_write IN ('merged', 'skipped') AND c.legacy_id ",
        );
        b.push_json_in(backend, JsonCol::Text, ids);
        let rows = b
            .build_query_as::<(
                String,
                String,
                String,
                String,
                Option<String>,
                Option<String>,
            )>()
            .fetch_all(&ctx.state)
            .await?;
        for (legacy, write, entity, rows, pids, keys) in rows {
            let (Some(kept), Some(e)) = (Kept::parse(&write), Entity::parse(&entity)) else {
                continue;
            };
            let slot = out
                .entry(legacy)
                .or_insert_with(|| (kept, PreImage::default()));
            slot.1.rows.insert(e, serde_json::from_str(&rows)?);
            slot.1.ids.insert(e, parse_ids(pids.as_deref())?);
            slot.1.keys.insert(e, parse_keys(keys.as_deref())?);
        }
    }
    Ok(out)
}

/// `backups.target_ids`: a JSON array of platform ids; NULL (a backup taken before the column
/// existed) is none.
pub fn parse_ids(s: Option<&str>) -> eyre::Result<Vec<i64>> {
    Ok(match s {
        Some(s) => serde_json::from_str(s)?,
        None => Vec::new(),
    })
}

/// `backups.source_keys`: a JSON array of legacy ids; NULL (a customer the platform did not
/// have, or a backup from before the column) is none.
pub fn parse_keys(s: Option<&str>) -> eyre::Result<Vec<String>> {
    Ok(match s {
        Some(s) => serde_json::from_str(s)?,
        None => Vec::new(),
    })
}

/// What a delete of these kept customers' children may touch: only the rows cutover wrote, and
/// never one the backup saw.
pub fn keep<'a>(images: impl IntoIterator<Item = &'a PreImage>) -> Keep {
    let mut ids: HashMap<Entity, Vec<i64>> = HashMap::new();
    let mut only: HashMap<Entity, Vec<String>> = HashMap::new();
    for p in images {
        for (e, v) in &p.ids {
            ids.entry(*e).or_default().extend(v);
        }
        for (e, v) in &p.keys {
            only.entry(*e).or_default().extend(v.iter().cloned());
        }
    }
    Keep {
        ids,
        only: Some(only),
    }
}

/// The legacy ids of `ids` that are kept, and the rest.
pub fn split<'a, T>(ids: &'a [String], kept: &HashMap<String, T>) -> (Vec<String>, Vec<String>) {
    let set: HashSet<&String> = kept.keys().collect();
    let (k, fresh): (Vec<&'a String>, Vec<&'a String>) = ids.iter().partition(|i| set.contains(i));
    (
        fresh.into_iter().cloned().collect(),
        k.into_iter().cloned().collect(),
    )
}
