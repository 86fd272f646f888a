//! `cutover doctor`: what a migration night needs, checked without writing anything. Each
//! database opened read-only (the state without its migrations), every mapping, owner, health
//! and KPI query prepared on its own database (a prepared statement runs nothing), the audit
//! rules that apply and those that cannot, the notify targets' secrets (resolved when the
//! config loaded), the operator's role and, on request, each notify target reached.

use serde::Serialize;

use crate::config::{Config, Db};
use crate::db;
use crate::schema::Entity;
use crate::source::Source;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Fine.
    Pass,
    /// Works, with something to know (an optional column missing, a rule left out).
    Warn,
    /// Will fail on the night.
    Fail,
    /// Not checked (a database that did not open, a network check not asked for).
    Skip,
}

impl Outcome {
    /// The word shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "ok",
            Outcome::Warn => "warn",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        }
    }
}

/// One line of the report: what was checked, how it came out, and what was found.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked, by its config key where it has one (`mapping.payments.query`).
    pub check: String,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found, or why it failed.
    pub detail: String,
}

fn check(check: impl Into<String>, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        check: check.into(),
        outcome,
        detail: detail.into(),
    }
}

/// Runs every check on `cfg` (already loaded, so its own rules hold). `network`: reach each
/// notify target with a HEAD request too.
pub async fn run(cfg: &Config, network: bool) -> Vec<Check> {
    let mut out = Vec::new();
    let source = match Source::open(&cfg.source.url, true).await {
        Ok(s) => {
            out.push(check("source.url", Outcome::Pass, opened(&cfg.source.url)));
            Some(s)
        }
        Err(e) => {
            out.push(check("source.url", Outcome::Fail, format!("{e:#}")));
            None
        }
    };
    let state = match db::open_state(&cfg.state.url, false, true).await {
        Ok(p) => {
            out.push(check("state.url", Outcome::Pass, opened(&cfg.state.url)));
            Some(p)
        }
        Err(e) => {
            let new = crate::ctx::Ctx::is_new(cfg);
            out.push(check(
                "state.url",
                if new { Outcome::Warn } else { Outcome::Fail },
                if new {
                    "not created yet: the first `cutover plan` creates it".to_string()
                } else {
                    format!("{e:#}")
                },
            ));
            None
        }
    };
    let target = if cfg.target.kind == crate::config::PlatformKind::Http {
        out.push(check(
            "target",
            Outcome::Pass,
            format!("an HTTP platform at {}", db::redact(&cfg.target.url)),
        ));
        None
    } else {
        match Source::open_with(&cfg.target.url, true, 1).await {
            Ok(t) => {
                out.push(check("target.url", Outcome::Pass, opened(&cfg.target.url)));
                Some(t)
            }
            Err(e) => {
                out.push(check("target.url", Outcome::Fail, format!("{e:#}")));
                None
            }
        }
    };
    // The mappings: what each returns of its entity's canonical columns, and what it lacks.
    for e in Entity::ALL {
        let Some(q) = cfg.mapping.get(e) else {
            continue;
        };
        let key = format!("mapping.{}.query", e.name());
        let Some(src) = &source else {
            out.push(check(key, Outcome::Skip, "the source did not open"));
            continue;
        };
        out.push(match src.columns(q).await {
            Err(err) => check(key, Outcome::Fail, format!("the source refuses it: {err}")),
            Ok(cols) => {
                let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
                let (has, lacks): (Vec<&crate::schema::Column>, Vec<&crate::schema::Column>) =
                    e.columns().iter().partition(|c| names.contains(&c.name));
                let required: Vec<&str> = lacks
                    .iter()
                    .filter(|c| c.required)
                    .map(|c| c.name)
                    .collect();
                let lacks: Vec<&str> = lacks.iter().map(|c| c.name).collect();
                let extra = names
                    .iter()
                    .filter(|n| !e.columns().iter().any(|c| c.name == **n))
                    .count();
                let detail = format!(
                    "returns {} of {} canonical columns{}{}",
                    has.len(),
                    e.columns().len(),
                    if lacks.is_empty() {
                        String::new()
                    } else {
                        format!("; lacks {}", lacks.join(", "))
                    },
                    if extra > 0 {
                        format!("; {extra} more kept in attributes")
                    } else {
                        String::new()
                    }
                );
                if required.is_empty() {
                    check(key, Outcome::Pass, detail)
                } else {
                    check(
                        key,
                        Outcome::Fail,
                        format!("{detail} (required: {})", required.join(", ")),
                    )
                }
            }
        });
    }
    if let (Some(q), Some(src)) = (&cfg.mapping.owner.query, &source) {
        out.push(returns(src, "mapping.owner.query", q, &["legacy_id", "owner"]).await);
    }
    // The audit rules: those the mappings let run, and the defaults left out.
    if let Some(src) = &source {
        match crate::source::audit::applicable(src, &cfg.mapping, &cfg.audit).await {
            Ok((rules, notes)) => {
                out.push(check(
                    "audit",
                    if notes.is_empty() {
                        Outcome::Pass
                    } else {
                        Outcome::Warn
                    },
                    format!("{} of {} rules apply", rules.len(), cfg.audit.len()),
                ));
                for n in notes {
                    out.push(check("audit", Outcome::Warn, n));
                }
            }
            Err(e) => out.push(check("audit", Outcome::Fail, format!("{e:#}"))),
        }
    }
    // Health components and KPI queries, each on its own database.
    let on = |db: Db| -> Option<Source> {
        match db {
            Db::Source => source.clone(),
            Db::State => state.clone().map(Source::any),
            Db::Target => target.clone(),
        }
    };
    for (i, c) in cfg.health.component.iter().enumerate() {
        let key = format!("health.component[{i}] {}", c.name);
        match on(c.database) {
            Some(db) => out.push(returns(&db, &key, &c.query, &["legacy_id", "value"]).await),
            None => out.push(check(key, Outcome::Skip, "its database did not open")),
        }
    }
    for (i, k) in cfg.kpi.iter().enumerate() {
        let Some(q) = &k.query else { continue };
        let key = format!("kpi[{i}] {}", k.name);
        match on(k.database.unwrap_or(Db::State)) {
            Some(db) => out.push(returns(&db, &key, q, &[]).await),
            None => out.push(check(key, Outcome::Skip, "its database did not open")),
        }
    }
    // Secrets resolved when the config loaded; say so per target.
    for (name, t) in &cfg.notify.target {
        let key = format!("notify.target.{name}");
        match t.resolve(name) {
            Ok(r) => {
                let reach = if network {
                    reach(&r.url).await
                } else {
                    (
                        Outcome::Pass,
                        "secrets resolve (--network reaches it)".into(),
                    )
                };
                out.push(check(key, reach.0, reach.1));
            }
            Err(e) => out.push(check(key, Outcome::Fail, e)),
        }
    }
    // Who the operator is, and what they may do.
    let os_user = crate::ctx::operator();
    let who = match &state {
        Some(p) => crate::ctx::identity(p, &os_user).await.unwrap_or(os_user),
        None => os_user,
    };
    let role = cfg.roles.role_of(&who);
    out.push(check("operator", Outcome::Pass, {
        let may: Vec<&str> = crate::roles::Action::ALL
            .into_iter()
            .filter(|a| role.may(*a))
            .map(crate::roles::Action::describe)
            .collect();
        format!(
            "{who}: {} (may {})",
            role.as_str(),
            if may.is_empty() {
                "only look".to_string()
            } else {
                may.join(", ")
            }
        )
    }));
    out
}

fn opened(url: &str) -> String {
    format!("{} opens read-only", db::redact(url))
}

/// Prepares `sql` on `db` and checks it returns the columns `needs`.
async fn returns(db: &Source, key: &str, sql: &str, needs: &[&str]) -> Check {
    match db.columns(sql).await {
        Err(e) => check(key, Outcome::Fail, format!("refused: {e}")),
        Ok(cols) => {
            let names: Vec<String> = cols.iter().map(|(n, _)| n.to_lowercase()).collect();
            let missing: Vec<&str> = needs
                .iter()
                .copied()
                .filter(|n| !names.iter().any(|x| x == n))
                .collect();
            if needs.is_empty() {
                check(
                    key,
                    Outcome::Pass,
                    format!("prepares; returns {} column(s)", names.len()),
                )
            } else if missing.is_empty() {
                check(
                    key,
                    Outcome::Pass,
                    format!("prepares; returns {}", names.join(", ")),
                )
            } else {
                check(
                    key,
                    Outcome::Fail,
                    format!(
                        "returns no column {} (returns {})",
                        missing.join(", "),
                        names.join(", ")
                    ),
                )
            }
        }
    }
}

/// A HEAD request to `url` (a webhook's or an API's address): any HTTP answer means it is
/// reachable; the secret URL itself is never shown.
async fn reach(url: &str) -> (Outcome, String) {
    let Ok(client) = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
    else {
        return (Outcome::Fail, "no HTTP client".into());
    };
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    match client.head(url).send().await {
        Ok(r) => (
            Outcome::Pass,
            format!("{host} answers (HTTP {})", r.status().as_u16()),
        ),
        Err(e) => (Outcome::Fail, format!("{host} does not answer: {e}")),
    }
}
