//! One function per pipeline [`Step`], run for the batch's customers that have reached it.
//! Each ends in one fenced state transaction recording what it did; the platform's writes, if
//! any, commit first in their own fenced transaction.

use std::collections::HashMap;

use tracing::Instrument;

use super::platform::write_target;
use super::record::{Also, By, Outcome, from_values, record_step, set_outcome};
use super::{Member, Step, StepOutcome, read_source};
use crate::config::OnExisting;
use crate::ctx::Ctx;
use crate::db::{Backend, Builder, InDb, JsonCol, Scope, write_tx};
use crate::engine::lease::{self, Lease, fence};
use crate::engine::preimage::{self, Kept};
use crate::engine::validate::{EntityCheck, SourceSide, validate_with};
use crate::schema::{Checksum, Entity, Row, checksum};
use crate::source::{self, SourceRows};
use crate::{clock, target};

/// One step's run: the batch's lease, the customers it runs for, and when it started.
pub(super) struct Run<'a> {
    pub ctx: &'a Ctx,
    pub lease: &'a Lease,
    pub todo: &'a [&'a Member],
    pub started: &'a str,
}

impl Run<'_> {
    fn ids(&self) -> Vec<String> {
        legacy_ids(self.todo)
    }

    /// The customers not in `out`.
    fn except<'m>(&self, out: &HashMap<i64, String>) -> Vec<&'m Member>
    where
        Self: 'm,
    {
        self.todo
            .iter()
            .copied()
            .filter(|m| !out.contains_key(&m.id))
            .collect()
    }

    /// `backup`: the source rows and the platform's current rows of each customer, with their
    /// checksums, stored as the customer's backup. A customer whose source rows do not
    /// normalise is quarantined here. When the batch is one chunk, its source rows are kept in
    /// `source` for the copies ([`held`]).
    pub async fn backup(&self, source: &mut Option<SourceRows>) -> eyre::Result<StepOutcome> {
        let (ctx, lease) = (self.ctx, self.lease);
        let mut out = StepOutcome::default();
        let mut backups = Vec::with_capacity(self.todo.len() * Entity::ALL.len());
        let mut writes: HashMap<i64, &'static str> = HashMap::new();
        // Source and platform rows a chunk of customers at a time: the batch's memory is one
        // chunk's rows and the backups' checksums, whatever the batch's size.
        for chunk in self.todo.chunks(ctx.cfg.runner.step_chunk) {
            let ids = legacy_ids(chunk);
            let src = read_source(ctx, &ids).await?;
            let pre = ctx.platform_rows(&ids).await?;
            for m in chunk {
                self.back_up(m, &src, &pre, &mut backups, &mut writes, &mut out)?;
            }
            *source = held(self.todo, ctx.cfg.runner.step_chunk, src);
        }
        let mut tx = write_tx(&ctx.state).await?;
        fence(ctx, &mut tx, lease).await?;
        // Decided here, before any platform write, so that a step re-run after a crash (when
        // the platform already holds what cutover created) still knows what was there first.
        let backend = Backend::of_pool(&ctx.state);
        let q: Vec<&Member> = self
            .todo
            .iter()
            .copied()
            .filter(|m| out.quarantined.contains_key(&m.id))
            .collect();
        // The word of a quarantined customer the platform had (`on_existing = "fail"`): the
        // others' is written with their step.
        let quarantined_words: Vec<(i64, &str)> = q
            .iter()
            .filter_map(|m| writes.get(&m.id).map(|w| (m.id, *w)))
            .collect();
        if !quarantined_words.is_empty() {
            let mut b = Builder::on(backend, "UPDATE customers SET platform_write = r.v");
            from_values(&mut b, backend, JsonCol::Text, &quarantined_words);
            b.build().execute(&mut *tx).await?;
        }
        // A resumed backup step replaces the snapshot it took before the crash.
        upsert_backups(
            &mut tx,
            backend,
            &backups,
            self.started,
            ctx.cfg.runner.step_chunk,
        )
        .await?;
        let ok = self.except(&out.quarantined);
        record_step(
            &mut tx,
            &ok,
            By {
                batch: &lease.batch,
                worker: &ctx.worker,
            },
            Step::Backup,
            self.started,
            Outcome::Ok(Also::PlatformWrite(&writes)),
        )
        .await?;
        record_step(
            &mut tx,
            &q,
            By {
                batch: &lease.batch,
                worker: &ctx.worker,
            },
            Step::Backup,
            self.started,
            Outcome::Not("quarantined", &out.quarantined),
        )
        .await?;
        set_outcome(&mut tx, &q, "quarantined", &out.quarantined).await?;
        crate::fault::point("commit.state");
        tx.commit().await?;
        Ok(out)
    }

    /// One customer's backup from its chunk's source rows `src` and platform rows `pre`:
    /// its rows in `backups`, what cutover will write for it in `writes`, and a quarantine in
    /// `out` when its rows do not normalise or the platform already has it and
    /// `target.on_existing` is `fail`.
    fn back_up(
        &self,
        m: &Member,
        src: &SourceRows,
        pre: &HashMap<Entity, HashMap<String, Vec<target::TargetRow>>>,
        backups: &mut Vec<Backup>,
        writes: &mut HashMap<i64, &'static str>,
        out: &mut StepOutcome,
    ) -> eyre::Result<()> {
        let ctx = self.ctx;
        let on_existing = ctx.cfg.target.on_existing();
        if let Some(why) = src.bad.get(&m.legacy_id) {
            out.quarantined.insert(m.id, why.clone());
            return Ok(());
        }
        let existing = pre
            .get(&Entity::Customers)
            .is_some_and(|c| c.contains_key(&m.legacy_id));
        for e in Entity::ALL {
            // What the platform will hold of these rows: all of them on a managed platform,
            // the mapped columns on another team's.
            let kept: Vec<_> = src
                .of(e, &m.legacy_id)
                .iter()
                .map(|r| ctx.layout.project(e, r))
                .collect();
            let s = checksum(&mut kept.iter().map(|r| r.as_ref()).collect::<Vec<_>>());
            let t_rows: &[target::TargetRow] = pre
                .get(&e)
                .and_then(|x| x.get(&m.legacy_id))
                .map_or(&[], Vec::as_slice);
            let refs: Vec<&Row> = t_rows.iter().map(|t| &t.row).collect();
            let t = checksum(&mut refs.clone());
            let pids: Vec<i64> = t_rows.iter().map(|t| t.id).collect();
            // For a customer the platform had: which of its rows will be cutover's.
            let keys = existing
                .then(|| {
                    let k: Vec<&str> = src
                        .of(e, &m.legacy_id)
                        .iter()
                        .map(|r| r.legacy_id())
                        .collect();
                    serde_json::to_string(&k)
                })
                .transpose()?;
            backups.push(Backup {
                customer: m.id,
                entity: e,
                source: s,
                target: t,
                rows: serde_json::to_string(&refs)?,
                ids: serde_json::to_string(&pids)?,
                keys,
            });
        }
        if !existing {
            writes.insert(m.id, "created");
            return Ok(());
        }
        writes.insert(m.id, on_existing.recorded());
        // Its backup is kept: `validate` then knows the platform row as its own, not an
        // orphan, and a rollback leaves it as it is.
        if on_existing == OnExisting::Fail {
            let t = ctx.layout.customers();
            out.quarantined.insert(
                m.id,
                format!(
                    "already on the platform: {}.{} = '{}' exists and cutover did not create \
                     it (target.on_existing = \"fail\"); resolve it with the platform's owners",
                    t.name,
                    t.key,
                    crate::schema::shown(&m.legacy_id)
                ),
            );
        }
        Ok(())
    }

    /// `create_account` (the customer rows) or `migrate_data` (every child row): the
    /// customers' rows replaced on the platform in one fenced transaction, a chunk of
    /// customers at a time; `create_account` then records each customer's platform id. A
    /// customer whose source rows no longer normalise fails.
    pub async fn copy(
        &self,
        step: Step,
        source: &mut Option<SourceRows>,
    ) -> eyre::Result<StepOutcome> {
        let (ctx, lease) = (self.ctx, self.lease);
        let mut out = StepOutcome::default();
        // What the platform had of the batch's customers: one state read for the batch.
        let kept = preimage::load(ctx, &self.ids()).await?;
        let mut platform = match ctx.api {
            Some(_) => None,
            None => Some(self.platform_tx().await?),
        };
        let mut http_ids: HashMap<String, i64> = HashMap::new();
        let mut bytes = 0u64;
        // Only create_account's rows feed a next step (migrate_data): validate takes the
        // backup's checksums, not rows.
        let feeds_next = step == Step::CreateAccount;
        for chunk in self.todo.chunks(ctx.cfg.runner.step_chunk) {
            let src = match source.take() {
                Some(s) => s,
                // Every entity when the rows will be held for migrate_data; otherwise what this
                // step writes: the customer rows, or every child row.
                None => {
                    let entities: Vec<Entity> = Entity::ALL
                        .into_iter()
                        .filter(|e| {
                            (feeds_next && self.todo.len() <= ctx.cfg.runner.step_chunk)
                                || (*e == Entity::Customers) == feeds_next
                        })
                        .collect();
                    source::read_entities(
                        &ctx.source,
                        &ctx.cfg.mapping,
                        &legacy_ids(chunk),
                        &entities,
                    )
                    .await?
                }
            };
            for m in chunk {
                if let Some(why) = src.bad.get(&m.legacy_id) {
                    out.failed.insert(m.id, why.clone());
                }
            }
            let ok: Vec<&Member> = chunk
                .iter()
                .copied()
                .filter(|m| !out.failed.contains_key(&m.id))
                .collect();
            let go = legacy_ids(&ok);
            let mut rows: HashMap<Entity, Vec<&Row>> = HashMap::new();
            for e in Entity::ALL {
                rows.insert(e, go.iter().flat_map(|c| src.of(e, c)).collect());
            }
            match (&ctx.api, platform.as_mut()) {
                (Some(api), _) if step == Step::CreateAccount => {
                    let cs = rows.get(&Entity::Customers).cloned().unwrap_or_default();
                    http_ids.extend(
                        super::http::create_accounts(ctx, api, lease, &ok, &cs, &kept).await?,
                    );
                }
                (Some(api), _) => super::http::migrate_data(ctx, api, lease, &ok, &rows).await?,
                (None, Some(tx)) => self.write_sql(tx, step, &go, &rows, &kept).await?,
                (None, None) => unreachable!("a database platform has its transaction"),
            }
            // What this step wrote, for the throughput KPI.
            bytes += rows
                .iter()
                .filter(|(e, _)| (**e == Entity::Customers) == (step == Step::CreateAccount))
                .flat_map(|(_, rs)| rs.iter().map(|r| r.bytes()))
                .sum::<u64>();
            drop(rows);
            if feeds_next {
                *source = held(self.todo, ctx.cfg.runner.step_chunk, src);
            }
        }
        if let Some(tx) = platform {
            tx.commit()
                .instrument(Scope::Platform.span())
                .await
                .in_db("platform")?;
        }
        let ok = self.except(&out.failed);
        let go = legacy_ids(&ok);
        crate::fault::point("commit.target");
        let mut tx = write_tx(&ctx.state).await?;
        fence(ctx, &mut tx, lease).await?;
        let mut pids: HashMap<i64, Option<i64>> = HashMap::new();
        if step == Step::CreateAccount {
            let ids_by_legacy = match ctx.api {
                Some(_) => http_ids,
                None => async {
                    let mut conn = ctx.target.acquire().await?;
                    target::customer_ids(&mut conn, &ctx.layout, &go).await
                }
                .instrument(Scope::Platform.span())
                .await
                .in_db("platform")?,
            };
            // Written with the step: one statement for the batch, not one per customer.
            pids = ok
                .iter()
                .map(|m| (m.id, ids_by_legacy.get(&m.legacy_id).copied()))
                .collect();
        }
        let also = if step == Step::CreateAccount {
            Also::PlatformId(&pids)
        } else {
            Also::Nothing
        };
        record_step(
            &mut tx,
            &ok,
            By {
                batch: &lease.batch,
                worker: &ctx.worker,
            },
            step,
            self.started,
            Outcome::Ok(also),
        )
        .await?;
        // In the state commit, so a step redone after a kill before it counts once.
        sqlx::query("UPDATE batches SET bytes = bytes + $1 WHERE id = $2")
            .bind(bytes as i64)
            .bind(lease.batch.clone())
            .execute(&mut *tx)
            .await?;
        crate::fault::point("commit.state");
        tx.commit().await?;
        Ok(out)
    }

    /// The copy's platform transaction, fenced in the platform.
    async fn platform_tx(&self) -> eyre::Result<crate::db::Tx> {
        async {
            let mut tx = write_tx(&self.ctx.target).await?;
            lease::fence_platform(&mut tx, self.lease).await?;
            Ok::<_, eyre::Report>(tx)
        }
        .instrument(Scope::Platform.span())
        .await
        .in_db("platform")
    }

    /// The copy's platform writes on a database for the customers `go`, in `tx`.
    async fn write_sql(
        &self,
        tx: &mut crate::db::Tx,
        step: Step,
        go: &[String],
        rows: &HashMap<Entity, Vec<&Row>>,
        kept: &HashMap<String, (Kept, preimage::PreImage)>,
    ) -> eyre::Result<()> {
        let ctx = self.ctx;
        async {
            if step == Step::CreateAccount {
                // A customer the platform had keeps its row: merged into, or left alone.
                let (fresh, _) = preimage::split(go, kept);
                target::delete_customers(tx, &ctx.layout, &fresh).await?;
                let (cs, merge): (Vec<&Row>, Vec<&Row>) = rows
                    .get(&Entity::Customers)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| {
                        kept.get(r.legacy_id())
                            .is_none_or(|(k, _)| *k == Kept::Merged)
                    })
                    .partition(|r| !kept.contains_key(r.legacy_id()));
                target::insert(
                    tx,
                    &ctx.layout,
                    Entity::Customers,
                    &cs,
                    &HashMap::new(),
                    &HashMap::new(),
                )
                .await?;
                target::update(tx, &ctx.layout, Entity::Customers, &merge).await?;
            } else {
                let images = go
                    .iter()
                    .filter_map(|g| kept.get(g).map(|(_, p)| (g.clone(), p.clone())))
                    .collect();
                write_target(tx, &ctx.layout, go, rows, false, &images).await?;
            }
            Ok::<_, eyre::Report>(())
        }
        .instrument(Scope::Platform.span())
        .await
        .in_db("platform")?;
        Ok(())
    }

    /// `validate`: each customer's entities, source against platform, stored; a customer
    /// whose counts, checksums or device links differ fails (and is restored by the caller).
    pub async fn validate(&self) -> eyre::Result<StepOutcome> {
        let (ctx, lease) = (self.ctx, self.lease);
        // The source side is the checksums the backup took of the rows it read, which are the
        // rows the copies wrote: computing them again from rows held since backup took about 7%
        // of this step, and holding them through it about 5 MB of peak memory at 1,000
        // customers. Only a customer the platform had is read again, its expected rows
        // including the platform's own.
        let checks = validate_with(ctx, &self.ids(), SourceSide::Backup).await?;
        let mut tx = write_tx(&ctx.state).await?;
        fence(ctx, &mut tx, lease).await?;
        let rows: Vec<(i64, &EntityCheck)> = self
            .todo
            .iter()
            .zip(&checks)
            .flat_map(|(m, c)| c.entities.iter().map(move |e| (m.id, e)))
            .collect();
        upsert_validations(
            &mut tx,
            Backend::of_pool(&ctx.state),
            &rows,
            self.started,
            ctx.cfg.runner.step_chunk,
        )
        .await?;
        let mut out = StepOutcome::default();
        for (m, c) in self.todo.iter().zip(&checks) {
            if !c.ok() {
                out.failed.insert(m.id, format!("validate: {}", c.reason()));
            }
        }
        let ok = self.except(&out.failed);
        record_step(
            &mut tx,
            &ok,
            By {
                batch: &lease.batch,
                worker: &ctx.worker,
            },
            Step::Validate,
            self.started,
            Outcome::Ok(Also::Nothing),
        )
        .await?;
        crate::fault::point("commit.state");
        tx.commit().await?;
        Ok(out)
    }

    /// `notify`: the source's `on_migrated` hook, the "moved" notice per customer into the
    /// outbox (its dedup key makes a resumed step record it once), and the customers migrated.
    pub async fn notify(&self) -> eyre::Result<StepOutcome> {
        let (ctx, lease) = (self.ctx, self.lease);
        if let Some(sql) = &ctx.cfg.source.on_migrated {
            source::run_hook(
                &ctx.source,
                &ctx.cfg.mapping,
                "on_migrated",
                sql,
                &self.ids(),
            )
            .await?;
        }
        let mut tx = write_tx(&ctx.state).await?;
        fence(ctx, &mut tx, lease).await?;
        let now = clock::now();
        // The welcome the customer reads: the "moved" notice's template, one read for the batch.
        let (template, target) = crate::comms::engine_notice(ctx, "moved");
        let mut who: HashMap<i64, (String, String, Option<String>)> = HashMap::new();
        let backend = Backend::of_pool(&ctx.state);
        let ids = || self.todo.iter().map(|m| m.id);
        if !self.todo.is_empty() {
            let mut b = Builder::on(
                backend,
                "SELECT c.id, c.name, c.segment, s.support FROM customers c \
                 LEFT JOIN segments s ON s.name = c.segment WHERE c.id ",
            );
            b.push_json_in(backend, JsonCol::Int, ids());
            who.extend(
                b.build_query_as::<(i64, String, String, Option<String>)>()
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|(id, n, w, s)| (id, (n, w, s))),
            );
        }
        let moved: Vec<(String, Option<i64>, String)> = self
            .todo
            .iter()
            .map(|m| {
                let message = who.get(&m.id).map(|(name, wave, support)| {
                    crate::comms::render(
                        &template,
                        &crate::comms::Vars {
                            name: name.clone(),
                            customer_id: m.legacy_id.clone(),
                            wave: wave.clone(),
                            migration_date: now.get(..10).unwrap_or(&now).to_string(),
                            support: support.clone().unwrap_or_else(|| "customer".into()),
                        },
                    )
                });
                let payload = serde_json::json!({
                    "event": "customer.moved", "at": now, "customer": { "legacy_id": m.legacy_id },
                    "attempt": m.attempts, "message": message,
                });
                (
                    format!("moved:{}:{}", m.legacy_id, m.attempts),
                    Some(m.id),
                    payload.to_string(),
                )
            })
            .collect();
        crate::notify::enqueue_many(&mut tx, "moved", target.as_deref(), &moved).await?;
        record_step(
            &mut tx,
            self.todo,
            By {
                batch: &lease.batch,
                worker: &ctx.worker,
            },
            Step::Notify,
            self.started,
            Outcome::Ok(Also::Migrated(&now)),
        )
        .await?;
        crate::fault::point("commit.state");
        tx.commit().await?;
        Ok(StepOutcome {
            migrated: self.todo.len(),
            ..Default::default()
        })
    }
}

/// The legacy ids of `members`.
fn legacy_ids(members: &[&Member]) -> Vec<String> {
    members.iter().map(|m| m.legacy_id.clone()).collect()
}

/// What a step keeps of the source rows `src` it read, for the next step: all of them when
/// the batch `todo` is one chunk of `chunk` (`runner.step_chunk`: it then reads the source
/// once, for backup and the copies; the last copy keeps nothing, since validate takes the
/// backup's checksums), nothing otherwise (each step then reads its chunks again, and a
/// worker's memory does not grow with the batch; issue 21, goal 7).
fn held(todo: &[&Member], chunk: usize, src: SourceRows) -> Option<SourceRows> {
    (todo.len() <= chunk).then_some(src)
}

/// A backup row: what the source had of one customer's entity and what the platform had.
struct Backup {
    customer: i64,
    entity: Entity,
    source: Checksum,
    target: Checksum,
    /// The platform's rows, canonical, as JSON.
    rows: String,
    /// Their platform ids, as a JSON array.
    ids: String,
    /// For a customer the platform had: the keys of the source's rows, as a JSON array.
    keys: Option<String>,
}

/// Upserts backups, `chunk` customers' rows a statement (a resumed step replaces its
/// snapshot).
async fn upsert_backups(
    tx: &mut crate::db::Tx,
    backend: Backend,
    backups: &[Backup],
    started: &str,
    chunk: usize,
) -> sqlx::Result<()> {
    // Tuples, not `json!` trees: a batch of 5,000 customers has 25,000 of these rows.
    let rows: Vec<_> = backups
        .iter()
        .map(|r| {
            (
                r.customer,
                r.entity.name(),
                r.source.count,
                &r.source.sha256,
                r.target.count,
                &r.target.sha256,
                &r.rows,
                &r.ids,
                &r.keys,
            )
        })
        .collect();
    let cols = [
        ("customer_id", JsonCol::Int),
        ("entity", JsonCol::Text),
        ("source_count", JsonCol::Int),
        ("source_checksum", JsonCol::Text),
        ("target_count", JsonCol::Int),
        ("target_checksum", JsonCol::Text),
        ("target_rows", JsonCol::Text),
        ("target_ids", JsonCol::Text),
        ("source_keys", JsonCol::Text),
    ];
    upsert_per_entity(
        tx,
        backend,
        ("backups", "taken_at", started),
        &cols,
        &rows,
        chunk,
    )
    .await
}

/// Upserts validations, `chunk` customers' rows a statement.
async fn upsert_validations(
    tx: &mut crate::db::Tx,
    backend: Backend,
    checks: &[(i64, &EntityCheck)],
    started: &str,
    chunk: usize,
) -> sqlx::Result<()> {
    let rows: Vec<_> = checks
        .iter()
        .map(|(id, e)| {
            (
                id,
                e.entity,
                e.source_count,
                e.target_count,
                &e.source_checksum,
                &e.target_checksum,
                i64::from(e.ok()),
            )
        })
        .collect();
    let cols = [
        ("customer_id", JsonCol::Int),
        ("entity", JsonCol::Text),
        ("source_count", JsonCol::Int),
        ("target_count", JsonCol::Int),
        ("source_checksum", JsonCol::Text),
        ("target_checksum", JsonCol::Text),
        ("ok", JsonCol::Int),
    ];
    upsert_per_entity(
        tx,
        backend,
        ("validations", "checked_at", started),
        &cols,
        &rows,
        chunk,
    )
    .await
}

/// Upserts `rows` (each serialising to a JSON array in `cols`' order; the key `customer_id, entity` among them)
/// into `table`, with `stamp` set to `at`: a row already there for the customer and entity
/// takes every new value. One statement per `chunk` × 5 rows, a row per customer and entity
/// (`runner.step_chunk` customers; one statement for a batch no larger): these rows carry two
/// checksums each, and one statement for a batch of 5,000 held its JSON parameter five times
/// at once (ours, sqlx's `Any` copy, SQLite's bound copy, its text and its parse), 20 MB of
/// the batch's 53 MB peak heap.
async fn upsert_per_entity(
    tx: &mut crate::db::Tx,
    backend: Backend,
    (table, stamp, at): (&str, &str, &str),
    cols: &[(&str, JsonCol)],
    rows: &[impl serde::Serialize],
    chunk: usize,
) -> sqlx::Result<()> {
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    let picked: Vec<String> = names.iter().map(|n| format!("r.{n}")).collect();
    let set: Vec<String> = std::iter::once(stamp)
        .chain(names.iter().copied())
        .filter(|n| !matches!(*n, "customer_id" | "entity"))
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    let head = format!(
        "INSERT INTO {table} ({stamp}, {}) SELECT ",
        names.join(", ")
    );
    let (picked, set) = (picked.join(", "), set.join(", "));
    for part in rows.chunks(chunk.max(1) * Entity::ALL.len()) {
        let mut b = Builder::on(backend, head.as_str());
        b.push_bind(at.to_string())
            .push(format!(", {picked} FROM "))
            .push_json_rows(backend, cols, part, "r")
            // `WHERE true`: SQLite would read `ON CONFLICT` as the join's `ON` otherwise.
            .push(format!(
                " WHERE true ON CONFLICT (customer_id, entity) DO UPDATE SET {set}"
            ));
        b.build().execute(&mut **tx).await?;
    }
    Ok(())
}
