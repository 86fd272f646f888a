//! Where each canonical entity sits on the platform: cutover's own tables (managed), or a
//! schema another team built, mapped entity by entity under `[target.entity.<name>]` and
//! checked against the database before anything is written (brief 3.3).

use std::borrow::Cow;
use std::collections::HashMap;

use crate::config::{Platform, PlatformEntity};
use crate::db::Backend;
use crate::schema::{ColType, Entity, Row, Val};

/// What one written column of a platform row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The owning customer's platform id.
    Parent,
    /// The repair's device's platform id.
    Device,
    /// The canonical value at this index (index 0, the legacy id, goes to the key column).
    Value(usize),
    /// The row's attributes JSON.
    Attrs,
}

/// One platform column cutover writes and reads.
#[derive(Debug, Clone)]
pub struct Col {
    /// What it holds.
    pub slot: Slot,
    /// The platform column.
    pub name: String,
    /// The type an `UNNEST` array of it is cast to on PostgreSQL (`NUMERIC`, `numeric(12,2)`,
    /// `payment_state`).
    pub pg: String,
    /// The canonical type of what it holds (NULLs are bound typed).
    pub ty: ColType,
    /// An enum column's labels (PostgreSQL); empty for any other type.
    pub labels: Vec<String>,
}

/// One canonical entity's platform table.
#[derive(Debug, Clone)]
pub struct Table {
    /// The entity.
    pub entity: Entity,
    /// The table, as SQL names it; on an HTTP platform the collection path.
    pub name: String,
    /// The platform's own integer key.
    pub id: String,
    /// The external-id column holding the legacy id.
    pub key: String,
    /// `CAST(… AS type)` applied to a bound legacy id when the key column is not text
    /// (PostgreSQL compares an integer key with a text parameter only through a cast).
    pub key_cast: Option<String>,
    /// Children: the column holding the customer's platform id.
    pub parent: Option<String>,
    /// Repairs: the column holding the device's platform id.
    pub device: Option<String>,
    /// Every column written, in insert order: parent, device, key, mapped values, attributes.
    pub cols: Vec<Col>,
}

/// The platform's layout: a table per entity cutover writes.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Whether cutover owns (created, may alter) these tables.
    pub managed: bool,
    /// Whether the platform is an HTTP API ([`super::http`]): each table's `name` is then its
    /// collection path and its columns are JSON fields.
    pub http: bool,
    /// Whether the platform is PostgreSQL.
    pub backend: Backend,
    tables: HashMap<Entity, Table>,
}

impl Layout {
    /// The managed schema's layout ([`super::ddl`]): a table per entity named as the entity,
    /// `id`, `legacy_id` as the key, `customer_id` and `device_id` as references, every
    /// canonical column and `attributes`.
    pub fn managed(backend: Backend) -> Layout {
        let tables = Entity::ALL
            .into_iter()
            .map(|e| {
                let mut cols = Vec::new();
                let parent = (e != Entity::Customers).then(|| "customer_id".to_string());
                let device = (e == Entity::Repairs).then(|| "device_id".to_string());
                if let Some(p) = &parent {
                    cols.push(id_col(Slot::Parent, p));
                }
                if let Some(d) = &device {
                    cols.push(id_col(Slot::Device, d));
                }
                for (i, c) in e.columns().iter().enumerate() {
                    cols.push(Col {
                        slot: Slot::Value(i),
                        name: c.name.to_string(),
                        pg: pg_type(c.ty).to_string(),
                        ty: c.ty,
                        labels: Vec::new(),
                    });
                }
                cols.push(Col {
                    slot: Slot::Attrs,
                    name: "attributes".into(),
                    pg: "jsonb".into(),
                    ty: ColType::Text,
                    labels: Vec::new(),
                });
                let t = Table {
                    entity: e,
                    name: e.name().to_string(),
                    id: "id".into(),
                    key: "legacy_id".into(),
                    key_cast: None,
                    parent,
                    device,
                    cols,
                };
                (e, t)
            })
            .collect();
        Layout {
            managed: true,
            http: false,
            backend,
            tables,
        }
    }

    /// The layout `[target]` describes: the managed one, or the mapped tables read from the
    /// platform's catalogue and checked: every table and column exists, each has a type its
    /// canonical column can be written as, no NOT NULL column without a default is left
    /// unwritten, the platform id is an integer, and the fence table exists.
    ///
    /// Errors: every problem found, one per line, each naming its config key.
    pub async fn resolve(pool: &crate::db::Pool, cfg: &Platform) -> eyre::Result<Layout> {
        let backend = Backend::of_pool(pool);
        if cfg.managed {
            return Ok(Layout::managed(backend));
        }
        let mut problems = Vec::new();
        let mut tables = HashMap::new();
        for e in Entity::ALL {
            let Some(m) = cfg.entity.get(e.name()) else {
                continue;
            };
            let found = catalogue(pool, backend, &m.table).await?;
            match table(e, m, &found, backend) {
                Ok(t) => {
                    tables.insert(e, t);
                }
                Err(p) => problems.extend(p),
            }
        }
        if catalogue(pool, backend, "cutover_fence").await?.is_empty() {
            problems.push(format!(
                "key `target.managed`: the platform has no table `cutover_fence`, which fences a \
                 stale worker in the platform's own transaction; cutover runs no DDL on a mapped \
                 platform: ask its owners to create it:\n{}",
                super::FENCE_DDL
            ));
        }
        if !problems.is_empty() {
            eyre::bail!("{}", problems.join("\n"));
        }
        Ok(Layout {
            managed: false,
            http: false,
            backend,
            tables,
        })
    }

    /// The layout of an HTTP platform (`target.kind = "http"`): per entity its `path`, the JSON
    /// fields of its key, id, parent and device, and a field per mapped canonical column. There
    /// is no catalogue to check against: the first request finds out.
    pub fn http(cfg: &Platform) -> Layout {
        let tables = Entity::ALL
            .into_iter()
            .filter_map(|e| {
                let m = cfg.entity.get(e.name())?;
                let mut cols = Vec::new();
                if let Some(p) = &m.parent {
                    cols.push(id_col(Slot::Parent, p));
                }
                if let Some(d) = &m.device {
                    cols.push(id_col(Slot::Device, d));
                }
                cols.push(Col {
                    slot: Slot::Value(0),
                    name: m.key.clone(),
                    pg: String::new(),
                    ty: ColType::Id,
                    labels: Vec::new(),
                });
                for (canon, field) in &m.columns {
                    let Some(i) = e.column_index(canon) else {
                        continue;
                    };
                    cols.push(Col {
                        slot: Slot::Value(i),
                        name: field.clone(),
                        pg: String::new(),
                        ty: e.columns()[i].ty,
                        labels: Vec::new(),
                    });
                }
                if let Some(a) = &m.attributes {
                    cols.push(Col {
                        slot: Slot::Attrs,
                        name: a.clone(),
                        pg: String::new(),
                        ty: ColType::Text,
                        labels: Vec::new(),
                    });
                }
                let t = Table {
                    entity: e,
                    name: m.path.clone().unwrap_or_default(),
                    id: m.id.clone(),
                    key: m.key.clone(),
                    key_cast: None,
                    parent: m.parent.clone(),
                    device: m.device.clone(),
                    cols,
                };
                Some((e, t))
            })
            .collect();
        Layout {
            managed: false,
            http: true,
            backend: Backend::Sqlite,
            tables,
        }
    }

    /// `entity`'s table, if the platform has one for it.
    pub fn table(&self, entity: Entity) -> Option<&Table> {
        self.tables.get(&entity)
    }

    /// The customers' table, which every layout has.
    pub fn customers(&self) -> &Table {
        &self.tables[&Entity::Customers]
    }

    /// `row` (of `entity`, as the source gave it) with only what the platform keeps: canonical
    /// columns the layout does not write become NULL and, without an attributes column, the
    /// attributes `{}`. Validation checksums the source through this, so that a mapped
    /// platform is compared on what it holds. On a managed platform the row itself, borrowed:
    /// the backup and validate steps call this for every source row.
    pub fn project<'a>(&self, entity: Entity, row: &'a Row) -> Cow<'a, Row> {
        if self.managed {
            return Cow::Borrowed(row);
        }
        let Some(t) = self.table(entity) else {
            return Cow::Borrowed(row);
        };
        let kept = |i: usize| {
            i == 0
                || (i == 1 && entity != Entity::Customers)
                || t.cols.iter().any(|c| c.slot == Slot::Value(i))
                || (t.device.is_some() && entity.columns()[i].name == "device_legacy_id")
        };
        Cow::Owned(Row {
            values: row
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| if kept(i) { v.clone() } else { Val::Null })
                .collect(),
            attributes: if t.cols.iter().any(|c| c.slot == Slot::Attrs) {
                row.attributes.clone()
            } else {
                "{}".into()
            },
        })
    }
}

/// The PostgreSQL type of a managed platform column of canonical type `t`, spelled as the
/// catalogue prints it (`format_type`), so that the in-place upgrade compares it as it is.
pub(super) fn pg_type(t: ColType) -> &'static str {
    match t {
        ColType::Int => "bigint",
        ColType::Bool => "boolean",
        ColType::Money => "numeric",
        ColType::Timestamp => "timestamp with time zone",
        ColType::Date => "date",
        ColType::Id | ColType::Text => "text",
    }
}

fn id_col(slot: Slot, name: &str) -> Col {
    Col {
        slot,
        name: name.to_string(),
        pg: "bigint".into(),
        ty: ColType::Int,
        labels: Vec::new(),
    }
}

impl Table {
    /// The column holding the owning customer's platform id: a child's parent reference (the
    /// config check requires one, the managed layout names it), the customers' own id.
    pub fn owner_id(&self) -> &str {
        self.parent.as_deref().unwrap_or(&self.id)
    }

    /// `expr` (a bound legacy id) compared with this table's key column.
    pub fn key_param(&self, expr: &str) -> String {
        match &self.key_cast {
            Some(t) => format!("CAST({expr} AS {t})"),
            None => expr.to_string(),
        }
    }

    /// The key column of alias `t`, as text.
    pub fn key_text(&self, alias: &str) -> String {
        match &self.key_cast {
            Some(_) => format!("CAST({alias}.{} AS TEXT)", self.key),
            None => format!("{alias}.{}", self.key),
        }
    }
}

/// One platform column as the catalogue describes it.
#[derive(Debug, Clone)]
pub(super) struct Found {
    /// Its type as the database names it (`numeric(12,2)`, `timestamp with time zone`).
    pub(super) ty: String,
    not_null: bool,
    has_default: bool,
    labels: Vec<String>,
}

/// The columns of `table` on the platform; empty when there is no such table.
pub(super) async fn catalogue(
    pool: &crate::db::Pool,
    backend: Backend,
    table: &str,
) -> eyre::Result<HashMap<String, Found>> {
    let rows: Vec<(String, String, bool, bool, String)> = match backend {
        Backend::Postgres => {
            sqlx::query_as(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                        (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''), \
                        COALESCE((SELECT string_agg(e.enumlabel::text, E'\\x1f' ORDER BY e.enumsortorder) \
                                  FROM pg_enum e WHERE e.enumtypid = a.atttypid), '') \
                 FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            )
            .bind(table.to_string())
            .fetch_all(pool)
            .await?
        }
        _ => {
            // An INTEGER PRIMARY KEY is the rowid: SQLite fills it.
            let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
                "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info($1)",
            )
            .bind(table.to_string())
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(n, t, nn, d, pk)| {
                    let rowid = pk == 1 && t.eq_ignore_ascii_case("integer");
                    (n, t, nn != 0, d != 0 || rowid, String::new())
                })
                .collect()
        }
    };
    Ok(rows
        .into_iter()
        .map(|(n, ty, not_null, has_default, labels)| {
            let labels = if labels.is_empty() {
                Vec::new()
            } else {
                labels.split('\u{1f}').map(str::to_string).collect()
            };
            (
                n,
                Found {
                    ty,
                    not_null,
                    has_default,
                    labels,
                },
            )
        })
        .collect())
}

/// Whether a platform column of type `ty` (as the catalogue names it, lower case) can hold a
/// canonical value of type `canon` exactly. `None` is the attributes column. SQLite declares
/// types loosely and converts by affinity, so only PostgreSQL is checked.
fn compatible(backend: Backend, canon: Option<ColType>, ty: &str, labels: &[String]) -> bool {
    if backend != Backend::Postgres {
        return true;
    }
    let ty = ty.to_ascii_lowercase();
    let text = ty == "text" || ty.starts_with("character");
    let int = matches!(ty.as_str(), "smallint" | "integer" | "bigint");
    match canon {
        None => text || ty == "json" || ty == "jsonb",
        Some(ColType::Id) => text || int || !labels.is_empty(),
        Some(ColType::Text) => text || !labels.is_empty(),
        Some(ColType::Int) => int || ty.starts_with("numeric"),
        Some(ColType::Bool) => ty == "boolean" || int,
        Some(ColType::Money) => ty.starts_with("numeric") || text,
        Some(ColType::Timestamp) => ty.starts_with("timestamp") || text,
        Some(ColType::Date) => ty == "date" || ty.starts_with("timestamp") || text,
    }
}

/// `entity`'s table from its mapping `m` and the catalogue's `found` columns.
///
/// Errors: every problem, each naming its key.
fn table(
    e: Entity,
    m: &PlatformEntity,
    found: &HashMap<String, Found>,
    backend: Backend,
) -> Result<Table, Vec<String>> {
    let key = format!("target.entity.{}", e.name());
    if found.is_empty() {
        return Err(vec![format!(
            "key `{key}.table`: table `{}` does not exist on the platform",
            m.table
        )]);
    }
    let mut problems = Vec::new();
    let mut have: Vec<&String> = found.keys().collect();
    have.sort();
    let list = have
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut look = |k: &str, col: &str, canon: Option<Option<ColType>>| -> Option<Found> {
        let Some(f) = found.get(col) else {
            problems.push(format!(
                "key `{key}.{k}`: column `{}.{col}` does not exist (it has: {list})",
                m.table
            ));
            return None;
        };
        if let Some(c) = canon
            && !compatible(backend, c, &f.ty, &f.labels)
        {
            let want = c.map_or("JSON or text".to_string(), |t| {
                format!("{t:?}").to_lowercase()
            });
            problems.push(format!(
                "key `{key}.{k}`: column `{}.{col}` is {}, which cannot hold {want} values exactly",
                m.table, f.ty
            ));
        }
        Some(f.clone())
    };
    look("id", &m.id, Some(Some(ColType::Int)));
    let key_found = look("key", &m.key, Some(Some(ColType::Id)));
    let mut cols = Vec::new();
    if let Some(p) = &m.parent {
        look("parent", p, Some(Some(ColType::Int)));
        cols.push(id_col(Slot::Parent, p));
    }
    if let Some(d) = &m.device {
        look("device", d, Some(Some(ColType::Int)));
        cols.push(id_col(Slot::Device, d));
    }
    let typed = |f: &Option<Found>, fallback: &str| {
        f.as_ref().map_or(fallback.to_string(), |f| f.ty.clone())
    };
    cols.push(Col {
        slot: Slot::Value(0),
        name: m.key.clone(),
        pg: typed(&key_found, "TEXT"),
        ty: ColType::Id,
        labels: key_found
            .as_ref()
            .map(|f| f.labels.clone())
            .unwrap_or_default(),
    });
    for (canon, col) in &m.columns {
        let Some(i) = e.column_index(canon) else {
            continue;
        };
        let ty = e.columns()[i].ty;
        let f = look(&format!("columns.{canon}"), col, Some(Some(ty)));
        cols.push(Col {
            slot: Slot::Value(i),
            name: col.clone(),
            pg: typed(&f, pg_type(ty)),
            ty,
            labels: f.map(|f| f.labels).unwrap_or_default(),
        });
    }
    if let Some(a) = &m.attributes {
        let f = look("attributes", a, Some(None));
        cols.push(Col {
            slot: Slot::Attrs,
            name: a.clone(),
            pg: typed(&f, "TEXT"),
            ty: ColType::Text,
            labels: Vec::new(),
        });
    }
    for (name, f) in found {
        if f.not_null && !f.has_default && name != &m.id && !cols.iter().any(|c| &c.name == name) {
            problems.push(format!(
                "key `{key}.columns`: column `{}.{name}` is NOT NULL with no default and nothing \
                 maps to it",
                m.table
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let key_cast = key_found
        .filter(|f| {
            backend == Backend::Postgres && !(f.ty == "text" || f.ty.starts_with("character"))
        })
        .map(|f| f.ty);
    Ok(Table {
        entity: e,
        name: m.table.clone(),
        id: m.id.clone(),
        key: m.key.clone(),
        key_cast,
        parent: m.parent.clone(),
        device: m.device.clone(),
        cols,
    })
}
