//! A customer's validation certificate: what an auditor or the customer's CSM needs to trust
//! the move, read from the state database — per entity the source's and the platform's counts
//! and checksums at the last validation, every step with its time, worker and outcome, and
//! every rollback that touched the customer with its operator and role — and a SHA-256 over
//! the record, so an archived copy can be checked later ([`verify`]).

use serde::Serialize;
use sha2::{Digest, Sha256};

/// One entity's proof.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityProof {
    /// The canonical entity.
    pub entity: String,
    /// Rows the mapping returned for the customer at validation.
    pub source_count: i64,
    /// Order-independent SHA-256 of those rows in canonical form.
    pub source_checksum: String,
    /// Rows on the platform at validation.
    pub platform_count: i64,
    /// The same checksum over the platform's rows.
    pub platform_checksum: String,
    /// Counts and checksums agreed.
    pub matched: bool,
    /// When it was validated (UTC, RFC 3339).
    pub validated_at: String,
    /// Rows the platform held for the customer before the migration (its backup).
    pub platform_before: Option<i64>,
}

/// One rollback that touched the customer (its audit row).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RollbackEntry {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// The operator.
    pub actor: String,
    /// Their role when they did it.
    pub role: String,
    /// `customer 1053`, `batch VIP-0002`, `wave VIP`, `all`.
    pub scope: String,
    /// How it was confirmed.
    pub reason: String,
    /// `ok`, `unverified`, `refused`.
    pub outcome: String,
    /// Customers rolled back, unverified, seconds.
    pub detail: Option<String>,
}

/// A customer's validation certificate. `sha256` covers every other field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    /// The customer's legacy id.
    pub customer: String,
    /// Its name.
    pub name: String,
    /// Its wave.
    pub wave: String,
    /// Its status now.
    pub status: String,
    /// Its batch.
    pub batch: Option<String>,
    /// Migrated, and every entity's last validation matched.
    pub validated: bool,
    /// Per entity.
    pub entities: Vec<EntityProof>,
    /// Every step recorded for it, oldest first.
    pub steps: Vec<super::StepRow>,
    /// Every rollback that touched it, oldest first.
    pub rollbacks: Vec<RollbackEntry>,
    /// When this certificate was read (UTC, RFC 3339).
    pub issued_at: String,
    /// Hex SHA-256 of the certificate's JSON without this field, keys in the order the JSON
    /// library keeps them (see [`digest`]).
    pub sha256: String,
}

#[derive(sqlx::FromRow)]
struct Profile {
    id: i64,
    legacy_id: String,
    name: String,
    segment: String,
    status: String,
    batch_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Proof {
    entity: String,
    source_count: i64,
    source_checksum: String,
    target_count: i64,
    target_checksum: String,
    ok: i64,
    checked_at: String,
    platform_before: Option<i64>,
}

/// The digest of a certificate's JSON value with its `sha256` field removed.
pub fn digest(v: &serde_json::Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("sha256");
    }
    hex(&Sha256::digest(v.to_string().as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether an archived certificate (its JSON) still carries the digest of its content.
///
/// Errors: the text is not a certificate's JSON.
pub fn verify(json: &str) -> eyre::Result<bool> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let Some(claimed) = v.get("sha256").and_then(|s| s.as_str()) else {
        eyre::bail!("not a certificate: no sha256 field");
    };
    Ok(digest(&v) == claimed)
}

/// The certificate of customer `legacy_id`; `None` when the plan has no such customer.
///
/// Errors: the state database failing.
pub async fn certificate(
    state: &crate::db::Pool,
    legacy_id: &str,
) -> eyre::Result<Option<Certificate>> {
    // The profile only: the customer view's read (health, findings, the last 50 steps) would
    // be read and thrown away, and the steps are read whole below.
    let Some(d) = sqlx::query_as::<_, Profile>(
        "SELECT id, legacy_id, name, segment, status, batch_id FROM customers WHERE legacy_id = $1",
    )
    .bind(legacy_id.to_string())
    .fetch_optional(state)
    .await?
    else {
        return Ok(None);
    };
    let id = d.id;
    let proofs: Vec<Proof> = sqlx::query_as(
        "SELECT v.entity, v.source_count, v.source_checksum, v.target_count, v.target_checksum, v.ok,
                v.checked_at, b.target_count AS platform_before
         FROM validations v LEFT JOIN backups b ON b.customer_id = v.customer_id AND b.entity = v.entity
         WHERE v.customer_id = $1",
    )
    .bind(id)
    .fetch_all(state)
    .await?;
    let mut entities: Vec<EntityProof> = proofs
        .into_iter()
        .map(|p| EntityProof {
            matched: p.ok != 0
                && p.source_count == p.target_count
                && p.source_checksum == p.target_checksum,
            entity: p.entity,
            source_count: p.source_count,
            source_checksum: p.source_checksum,
            platform_count: p.target_count,
            platform_checksum: p.target_checksum,
            validated_at: p.checked_at,
            platform_before: p.platform_before,
        })
        .collect();
    entities.sort_by_key(|e| crate::schema::Entity::parse(&e.entity).map(|x| x as usize));
    let steps: Vec<super::StepRow> = sqlx::query_as(
        "SELECT step, started_at, finished_at, outcome, detail, worker FROM steps
         WHERE customer_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(state)
    .await?;
    // Every batch it was ever in: a rollback requeues a customer into a new batch.
    let rollbacks: Vec<RollbackEntry> = sqlx::query_as(
        "SELECT at, actor, role, scope, reason, outcome, detail FROM audit_log
         WHERE action = 'rollback' AND (scope IN ($1, $2, $3, 'all')
           OR scope IN (SELECT 'batch ' || batch_id FROM steps WHERE customer_id = $4 AND batch_id IS NOT NULL))
         ORDER BY id",
    )
    .bind(format!("customer {legacy_id}"))
    .bind(format!("batch {}", d.batch_id.clone().unwrap_or_default()))
    .bind(format!("wave {}", d.segment))
    .bind(id)
    .fetch_all(state)
    .await?;
    let validated =
        d.status == "migrated" && !entities.is_empty() && entities.iter().all(|e| e.matched);
    let mut c = Certificate {
        customer: d.legacy_id,
        name: d.name,
        wave: d.segment,
        status: d.status,
        batch: d.batch_id,
        validated,
        entities,
        steps,
        rollbacks,
        issued_at: crate::clock::now(),
        sha256: String::new(),
    };
    c.sha256 = digest(&serde_json::to_value(&c)?);
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_changed_field_breaks_the_digest() {
        let v = serde_json::json!({"customer": "1053", "entities": [{"source_count": 6}], "sha256": ""});
        let mut c = v.clone();
        c["sha256"] = super::digest(&v).into();
        assert!(super::verify(&c.to_string()).unwrap());
        c["entities"][0]["source_count"] = 7.into();
        assert!(!super::verify(&c.to_string()).unwrap());
    }
}
