//! Outgoing notifications' configuration: the outbox's retries and the targets, with their
//! secrets read from the value, the environment or an owner-only file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// Outgoing notifications: an outbox in the state database, delivered over HTTP with retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Delivery attempts before a message is dead-lettered.
    pub max_attempts: i64,
    /// The first retry's delay in ms; it doubles each attempt, plus random jitter up to as much.
    pub backoff_ms: u64,
    /// The target that receives the customers' "your account has moved" notifications.
    pub moved: Option<String>,
    /// `[notify.target.<name>]`: the targets, by name.
    #[serde(default)]
    pub target: BTreeMap<String, Target>,
}

/// How a notification target is spoken to.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A Slack incoming webhook (`text` and `blocks`).
    Slack,
    /// PagerDuty Events API v2 (needs a routing key).
    Pagerduty,
    /// A JSON webhook signed with HMAC-SHA256 (needs a secret).
    Webhook,
}

/// One notification target. Each secret (the URL, a PagerDuty routing key, an HMAC secret) is
/// given as the value itself, `*_env` (an environment variable's name) or `*_file` (a file
/// readable only by its owner; a relative path is relative to the config file's directory).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Its kind.
    pub kind: TargetKind,
    /// The URL.
    pub url: Option<String>,
    /// The environment variable holding the URL.
    pub url_env: Option<String>,
    /// An owner-only file holding the URL.
    pub url_file: Option<PathBuf>,
    /// The PagerDuty routing key.
    pub routing_key: Option<String>,
    /// The environment variable holding the routing key.
    pub routing_key_env: Option<String>,
    /// An owner-only file holding the routing key.
    pub routing_key_file: Option<PathBuf>,
    /// The webhook's HMAC secret.
    pub secret: Option<String>,
    /// The environment variable holding the secret.
    pub secret_env: Option<String>,
    /// An owner-only file holding the secret.
    pub secret_file: Option<PathBuf>,
}

/// A target with its secrets read.
#[derive(Clone)]
pub struct ResolvedTarget {
    /// Its kind.
    pub kind: TargetKind,
    /// The URL.
    pub url: String,
    /// The PagerDuty routing key.
    pub routing_key: Option<String>,
    /// The webhook's HMAC secret.
    pub secret: Option<String>,
}

impl std::fmt::Debug for ResolvedTarget {
    // Secrets never reach a log, even through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedTarget")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Reads one secret from its value, environment variable or owner-only file.
pub(crate) fn secret(
    key: &str,
    value: &Option<String>,
    env: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, String> {
    if let Some(v) = value {
        return Ok(Some(v.clone()));
    }
    if let Some(e) = env {
        return std::env::var(e)
            .map(Some)
            .map_err(|_| format!("key `{key}_env`: environment variable {e} is not set"));
    }
    if let Some(f) = file {
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(f).map_err(|e| format!("key `{key}_file`: {}: {e}", f.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "key `{key}_file`: {} is readable by group or others; run `chmod 600 {}`",
                f.display(),
                f.display()
            ));
        }
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("key `{key}_file`: {}: {e}", f.display()))?;
        return Ok(Some(text.trim().to_string()));
    }
    Ok(None)
}

impl Target {
    /// Reads the target's secrets. Errors name the key and, for files, the fix.
    pub fn resolve(&self, name: &str) -> Result<ResolvedTarget, String> {
        let k = |s: &str| format!("notify.target.{name}.{s}");
        let url = secret(&k("url"), &self.url, &self.url_env, &self.url_file)?
            .ok_or_else(|| format!("key `{}`: give url, url_env or url_file", k("url")))?;
        match url::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            // The URL is a secret: the message names the key, never the value.
            Ok(u) => {
                return Err(format!(
                    "key `{}`: not an http:// or https:// URL with a host (scheme `{}`)",
                    k("url"),
                    u.scheme()
                ));
            }
            Err(e) => return Err(format!("key `{}`: not a URL ({e})", k("url"))),
        }
        let routing_key = secret(
            &k("routing_key"),
            &self.routing_key,
            &self.routing_key_env,
            &self.routing_key_file,
        )?;
        let secret = secret(
            &k("secret"),
            &self.secret,
            &self.secret_env,
            &self.secret_file,
        )?;
        if self.kind == TargetKind::Pagerduty && routing_key.is_none() {
            return Err(format!(
                "key `{}`: a pagerduty target needs a routing key",
                k("routing_key")
            ));
        }
        if self.kind == TargetKind::Webhook && secret.is_none() {
            return Err(format!(
                "key `{}`: a webhook target needs an HMAC secret",
                k("secret")
            ));
        }
        Ok(ResolvedTarget {
            kind: self.kind,
            url,
            routing_key,
            secret,
        })
    }
}

/// Checks the notify section at load: every target resolves (its secrets are there, its URL is
/// one), and `notify.moved` names a target. Errors name the key.
pub fn check(n: &Notify) -> Result<(), String> {
    for (name, t) in &n.target {
        t.resolve(name)?;
    }
    if let Some(t) = n.moved.as_ref().filter(|t| !n.target.contains_key(*t)) {
        return Err(format!("key `notify.moved`: no [notify.target.{t}]"));
    }
    Ok(())
}
