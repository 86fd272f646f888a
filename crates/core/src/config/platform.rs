//! `[target]`: the platform database, managed by cutover or mapped onto a schema another team
//! owns (brief 3.3).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Mappings;
use crate::schema::Entity;

/// `[target]`: where the platform is, and whether cutover owns its tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// How the platform is reached: `sql` (a database, the default) or `http` (its API).
    #[serde(default)]
    pub kind: Kind,
    /// A sqlx URL (a relative `sqlite://` path is relative to the config file's directory);
    /// with `kind = "http"`, the API's base URL (`https://platform.example/api/v1`).
    pub url: String,
    /// `kind = "http"`: the bearer token sent as `Authorization`, given as the value, `token_env`
    /// (an environment variable's name) or `token_file` (an owner-only file).
    pub token: Option<String>,
    /// The environment variable holding the token.
    pub token_env: Option<String>,
    /// An owner-only file holding the token.
    pub token_file: Option<std::path::PathBuf>,
    /// `kind = "http"`: requests started per second, at most. Default: 50.
    #[serde(default = "rate_default")]
    pub requests_per_second: u32,
    /// `kind = "http"`: requests in flight at once, at most. Default: 4.
    #[serde(default = "concurrency_default")]
    pub concurrency: usize,
    /// `kind = "http"`: tries per request; 429, 5xx and connection failures are retried after
    /// the server's `Retry-After` or a doubling backoff (the outbox's rule). Default: 6.
    #[serde(default = "attempts_default")]
    pub max_attempts: u32,
    /// Whether cutover creates and types the platform's tables itself (the demo, a new
    /// workspace). With `false` it never runs DDL there: every mapped entity's table is
    /// described under `[target.entity.<name>]` and checked before anything is written, and
    /// the fence table (see [`crate::target::FENCE_DDL`]) must already exist. Default: true.
    #[serde(default = "managed_default")]
    pub managed: bool,
    /// `[target.entity.<name>]`: how each canonical entity sits on an existing schema; only
    /// read when `managed = false`.
    #[serde(default)]
    pub entity: BTreeMap<String, PlatformEntity>,
    /// What to do with a customer the platform already holds (signed up before their wave).
    /// Default: `replace` on a managed platform, `fail` on a mapped one.
    pub on_existing: Option<OnExisting>,
}

/// `target.kind`: how the platform is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A database cutover connects to (`target.url` is a sqlx URL).
    #[default]
    Sql,
    /// The platform's HTTP API (`target.url` is its base URL); each entity is described by its
    /// `path` under `[target.entity.<name>]`. See [`crate::target::http`].
    Http,
}

fn rate_default() -> u32 {
    50
}

fn concurrency_default() -> usize {
    4
}

fn attempts_default() -> u32 {
    6
}

/// `target.on_existing`: a customer who is already on the platform when its batch reaches it
/// (signed up on the new platform before their wave). Whatever the choice, the backup step
/// records the platform's rows of that customer (the pre-image, with their platform ids) and
/// `customers.platform_write` records what cutover did: `created`, `merged`, `skipped` or
/// `replaced`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExisting {
    /// The customer is quarantined with a reason naming the platform row; nothing is written.
    /// The default on a mapped platform.
    Fail,
    /// The platform's customer row is kept as it is (not updated); the customer's devices,
    /// repairs, payments and communications are added under it. Validation expects the
    /// platform's own row and its own children next to the migrated ones; a rollback removes
    /// only the rows cutover created.
    Skip,
    /// The platform's customer row gets the mapped columns from the source (only those; the
    /// others stay as the platform had them) and the children are added under it. A rollback
    /// writes the pre-image back into the same row (same platform id) and removes only the rows
    /// cutover created.
    Merge,
    /// The platform's rows are backed up, deleted, replaced by the source's, and re-inserted
    /// by a rollback. Only where cutover owns the tables (the default there): on a mapped
    /// platform it would delete rows cutover did not create, and is refused at load.
    Replace,
}

impl OnExisting {
    /// The word `customers.platform_write` records for a customer the platform already held.
    pub fn recorded(self) -> &'static str {
        match self {
            OnExisting::Fail => "refused",
            OnExisting::Skip => "skipped",
            OnExisting::Merge => "merged",
            OnExisting::Replace => "replaced",
        }
    }
}

impl Platform {
    /// [`Platform::on_existing`] with its default applied.
    pub fn on_existing(&self) -> OnExisting {
        self.on_existing.unwrap_or(if self.managed {
            OnExisting::Replace
        } else {
            OnExisting::Fail
        })
    }
}

fn managed_default() -> bool {
    true
}

/// `[target.entity.<name>]`: one canonical entity on an existing platform table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformEntity {
    /// The table (optionally `schema.table`); not for `kind = "http"`.
    #[serde(default)]
    pub table: String,
    /// `kind = "http"`: the entity's collection path under the base URL. `{customer}` is
    /// replaced by the owning customer's platform id (`/accounts/{customer}/payments`). A row
    /// is created by `POST path`, read back by `GET path` (customers: `GET path?key=…`),
    /// updated by `PATCH path/{id}` and deleted by `DELETE path/{id}`.
    pub path: Option<String>,
    /// The platform's own key, an integer column (or JSON field) the platform fills. Default: `id`.
    #[serde(default = "id_default")]
    pub id: String,
    /// The external-id column holding the legacy id: how cutover finds its rows again (idempotency).
    pub key: String,
    /// Child entities: the column holding the owning customer's platform id.
    pub parent: Option<String>,
    /// Repairs: the column holding the device's platform id (NULL where the device is unknown).
    pub device: Option<String>,
    /// Canonical column → platform column. Canonical columns not named here are not written,
    /// and validation compares only the ones that are.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// A JSON (or text) column for the source's other columns; without one they are not kept.
    pub attributes: Option<String>,
}

fn id_default() -> String {
    "id".into()
}

/// Whether `s` is a plain SQL identifier, optionally schema-qualified (`crm.accounts`): mapped
/// names go into SQL as they are, so nothing else is accepted.
fn identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').count() <= 2
        && s.split('.').all(|p| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

impl Platform {
    /// Checks `[target]` against the mappings: with `managed = false`, every mapped entity has
    /// a `[target.entity.<name>]` naming real canonical columns with plain identifiers, and
    /// child entities name their parent column.
    ///
    /// Errors: the first problem, naming its key.
    pub fn check(&self, mapping: &Mappings) -> Result<(), String> {
        if self.kind == Kind::Http {
            if self.managed {
                return Err(
                    "key `target.managed`: an HTTP platform is never managed by cutover; \
                            set `managed = false` and describe each entity's `path`"
                        .into(),
                );
            }
            if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
                return Err(
                    "key `target.url`: with `kind = \"http\"` the API's base URL, \
                            http:// or https://"
                        .into(),
                );
            }
            if self.requests_per_second == 0 || self.concurrency == 0 || self.max_attempts == 0 {
                return Err("keys `target.requests_per_second`, `target.concurrency`, \
                            `target.max_attempts`: at least 1"
                    .into());
            }
            for (name, t) in &self.entity {
                match &t.path {
                    Some(p) if p.starts_with('/') => {}
                    _ => {
                        return Err(format!(
                            "key `target.entity.{name}.path`: missing or not starting with `/`"
                        ));
                    }
                }
            }
        } else if let Some((name, _)) = self.entity.iter().find(|(_, t)| t.path.is_some()) {
            return Err(format!(
                "key `target.entity.{name}.path`: only with `target.kind = \"http\"`"
            ));
        } else if let Some((name, _)) = self.entity.iter().find(|(_, t)| t.table.is_empty()) {
            return Err(format!("key `target.entity.{name}.table`: missing"));
        }
        if !self.managed && self.on_existing == Some(OnExisting::Replace) {
            return Err(
                "key `target.on_existing`: \"replace\" deletes the platform's own rows, \
                        so it is only for a managed platform; on a mapped one use \"merge\", \
                        \"skip\" or \"fail\""
                    .into(),
            );
        }
        if self.managed {
            if let Some(name) = self.entity.keys().next() {
                return Err(format!(
                    "key `target.entity.{name}`: entities are mapped only with `target.managed = false`"
                ));
            }
            return Ok(());
        }
        for name in self.entity.keys() {
            if Entity::parse(name).is_none() {
                return Err(format!(
                    "key `target.entity.{name}`: not an entity (customers, devices, repairs, payments, communications)"
                ));
            }
        }
        for e in Entity::ALL {
            let key = format!("target.entity.{}", e.name());
            let Some(t) = self.entity.get(e.name()) else {
                if mapping.get(e).is_some() {
                    return Err(format!(
                        "key `{key}`: missing; `mapping.{0}` reads {0} but `target.managed = false` \
                         says where they go only through `[{key}]`",
                        e.name()
                    ));
                }
                continue;
            };
            let table = (self.kind == Kind::Sql).then_some(&t.table);
            let names = [
                ("table", table),
                ("id", Some(&t.id)),
                ("key", Some(&t.key)),
                ("parent", t.parent.as_ref()),
                ("device", t.device.as_ref()),
                ("attributes", t.attributes.as_ref()),
            ];
            for (k, v) in names {
                if let Some(v) = v
                    && !identifier(v)
                {
                    return Err(format!(
                        "key `{key}.{k}`: `{v}` is not a plain SQL identifier"
                    ));
                }
            }
            if e != Entity::Customers && t.parent.is_none() {
                return Err(format!(
                    "key `{key}.parent`: missing; name the column that holds the customer's platform id"
                ));
            }
            if e != Entity::Repairs && t.device.is_some() {
                return Err(format!(
                    "key `{key}.device`: only repairs point at a device"
                ));
            }
            for (canon, col) in &t.columns {
                if e.column_index(canon).is_none() || canon == "legacy_id" {
                    return Err(format!(
                        "key `{key}.columns.{canon}`: not a canonical column of {} other than \
                         legacy_id (which goes to `key`)",
                        e.name()
                    ));
                }
                if !identifier(col) {
                    return Err(format!(
                        "key `{key}.columns.{canon}`: `{col}` is not a plain SQL identifier"
                    ));
                }
            }
        }
        Ok(())
    }
}
