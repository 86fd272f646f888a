//! `cutover certificate`: one customer's validation certificate, as text or JSON, and the
//! check of an archived one.

use std::process::ExitCode;

use crate::args::{CertificateArgs, Cli};
use crate::table::{Align, Table};
use crate::workspace::open;
use crate::{Usage, outln};
use cutover_core::engine::status;

/// Prints the certificate of `--customer`, or checks the archived `--verify FILE`.
///
/// Errors: an unknown customer, an unreadable file, the state database failing.
pub async fn run(cli: &Cli, a: &CertificateArgs) -> eyre::Result<ExitCode> {
    if let Some(path) = &a.verify {
        let text =
            std::fs::read_to_string(path).map_err(|e| eyre::eyre!("{}: {e}", path.display()))?;
        return Ok(if status::verify(&text)? {
            outln!("{}: the digest matches its content", path.display());
            ExitCode::SUCCESS
        } else {
            outln!(
                "{}: the digest does NOT match its content: it was changed after it was issued",
                path.display()
            );
            ExitCode::from(1)
        });
    }
    let Some(id) = &a.customer else {
        return Err(Usage("certificate takes --customer ID, or --verify FILE".into()).into());
    };
    let ctx = open(cli).await?;
    let Some(c) = status::certificate(&ctx.state, id).await? else {
        eyre::bail!("customer {id}: no such legacy id in the plan");
    };
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Validation certificate — customer {} {} (wave {}, batch {})",
        c.customer,
        cutover_core::schema::shown(&c.name),
        c.wave,
        c.batch.as_deref().unwrap_or("-")
    );
    outln!(
        "status {}; {}",
        c.status,
        if c.validated {
            "validated: every entity's source and platform counts and checksums matched"
        } else {
            "NOT validated now (see the status, the entities and the steps)"
        }
    );
    let mut t = Table::new(&[
        ("entity", Align::Left),
        ("source", Align::Right),
        ("platform", Align::Right),
        ("before", Align::Right),
        ("source sha256", Align::Left),
        ("platform sha256", Align::Left),
        ("match", Align::Left),
        ("validated at", Align::Left),
    ]);
    for e in &c.entities {
        t.push(vec![
            e.entity.clone(),
            e.source_count.to_string(),
            e.platform_count.to_string(),
            e.platform_before
                .map_or_else(|| "-".into(), |n| n.to_string()),
            e.source_checksum.clone(),
            e.platform_checksum.clone(),
            if e.matched { "yes" } else { "NO" }.into(),
            e.validated_at.clone(),
        ]);
    }
    outln!();
    for l in t.lines() {
        outln!("{l}");
    }
    let mut t = Table::new(&[
        ("step", Align::Left),
        ("started", Align::Left),
        ("finished", Align::Left),
        ("worker", Align::Left),
        ("outcome", Align::Left),
        ("detail", Align::Left),
    ]);
    for s in &c.steps {
        t.push(vec![
            s.step.clone(),
            s.started_at.clone(),
            s.finished_at.clone(),
            s.worker.clone().unwrap_or_else(|| "-".into()),
            s.outcome.clone(),
            s.detail.clone().unwrap_or_default(),
        ]);
    }
    outln!();
    for l in t.lines() {
        outln!("{l}");
    }
    if c.rollbacks.is_empty() {
        outln!("\nno rollback has touched this customer");
    } else {
        outln!("\nrollbacks:");
        for r in &c.rollbacks {
            outln!(
                "  {} {} ({}) rolled back {}: {}, {}{}",
                r.at,
                r.actor,
                r.role,
                r.scope,
                r.outcome,
                r.reason,
                r.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
        }
    }
    outln!(
        "\nissued {} · sha256 {}\n(`cutover certificate --customer {} --json > file` archives it; `cutover certificate --verify file` checks it)",
        c.issued_at,
        c.sha256,
        c.customer
    );
    Ok(ExitCode::SUCCESS)
}
