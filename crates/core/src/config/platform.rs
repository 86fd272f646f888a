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
    /// A sqlx URL. A relative `sqlite://` path is relative to the config file's directory.
    pub url: String,
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

/// `target.on_existing`: a customer who is already on the platform when its batch reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExisting {
    /// The customer is quarantined with a reason naming the platform row; nothing is written.
    /// The default on a mapped platform: cutover never overwrites what it did not create.
    Fail,
    /// The platform's rows are backed up, replaced by the source's, and restored by a
    /// rollback. Columns the layout does not write are reset to their defaults, so this is the
    /// default only where cutover owns the tables.
    Replace,
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
    /// The table (optionally `schema.table`).
    pub table: String,
    /// The platform's own key, an integer column the platform fills. Default: `id`.
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
            let names = [
                ("table", Some(&t.table)),
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
