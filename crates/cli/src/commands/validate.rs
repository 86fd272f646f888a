//! `cutover validate`: migrated customers against the source; orphans on the platform.

use std::process::ExitCode;

use crate::args::Cli;
use crate::workspace::open;
use crate::{Usage, outln};
use cutover_core::engine;

/// Validates every migrated customer, or `customer`; exit 1 on any mismatch or orphan.
///
/// Errors: an unknown customer (bad usage), a database failing.
pub async fn run(cli: &Cli, customer: Option<&str>) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let ids: Vec<String> = match customer {
        Some(c) => {
            match engine::validate::status_of(&ctx.state, c).await?.as_deref() {
                None => {
                    return Err(
                        Usage(format!("customer {c}: no such legacy id in the plan")).into(),
                    );
                }
                Some("migrated") => vec![c.to_string()],
                // Not migrated: all there is to check is that the platform holds
                // nothing of it beyond its backup (the orphan check below).
                Some(_) => Vec::new(),
            }
        }
        None => engine::validate::migrated(&ctx.state).await?,
    };
    let mut bad = 0;
    for chunk in ids.chunks(500) {
        for c in engine::validate::validate(&ctx, chunk).await? {
            if !c.ok() {
                bad += 1;
                outln!("customer {}: {}", c.legacy_id, c.reason());
            }
        }
    }
    let orphans = engine::validate::orphans(&ctx, customer).await?;
    for o in &orphans {
        outln!(
            "customer {}: {} on the state, yet the platform holds rows for it (orphan): {}",
            o.legacy_id,
            o.status.as_deref().unwrap_or("not in the plan"),
            o.reason
        );
    }
    outln!(
        "validated {} migrated customers: {} mismatched; {} orphaned on the platform",
        ids.len(),
        bad,
        orphans.len()
    );
    if bad > 0 || !orphans.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
