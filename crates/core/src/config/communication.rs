//! `[[communication]]`: the notices a customer gets, each on a day relative to its wave's
//! window or to its own migration (brief section 2, "Customer communications").

use serde::Deserialize;

/// What a notice's offset counts from.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum From {
    /// The first day of the customer's wave's window (needs a `[programme]`).
    Window,
    /// The day the customer moved.
    Migration,
    /// A halt of the runner: the crisis notice, to every customer the halt stops (`offset_days`
    /// is ignored; it goes at once).
    Halt,
}

/// One notice.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Communication {
    /// Its name (`announcement`, `reminder`, …).
    pub name: String,
    /// Days from `from` (`-14`, `-1`, `0`, `3`).
    pub offset_days: i64,
    /// What the offset counts from.
    pub from: From,
    /// A shipped template's name (`announcement`, `guide`, `reminder`, `starts`, `moved`,
    /// `survey`, `moved_back`, `crisis`) or a file, relative to the config file.
    pub template: String,
    /// The `[notify.target.<name>]` it goes to; none, it is recorded only.
    pub target: Option<String>,
    /// Held for a customer in quarantine, for every customer while the runner is paused or
    /// halted, and dropped once the customer moved (the brief: quarantined and halted
    /// customers get no "starts tomorrow"). A held notice goes when the hold lifts, but not
    /// after the wave's window has closed.
    #[serde(default)]
    pub hold: bool,
    /// A window notice whose day falls before this programme day goes on it instead (the
    /// brief's announcement, 14 days before a wave on day 8, goes on day 1 with
    /// `earliest_day = 1`). Without it such an offset is refused at load.
    pub earliest_day: Option<i64>,
}

/// Names whose notices the engine sends itself: `moved` from the pipeline's `notify` step,
/// `moved_back` from a rollback. An entry with one of these names sets its template only.
pub const SENT_BY_ENGINE: [&str; 2] = ["moved", "moved_back"];

/// Checks every notice: a readable template with known placeholders, a target that exists,
/// a window-relative notice only with a `[programme]` and never before its day 1 for any wave.
/// Errors name the key.
pub fn check(cfg: &super::Config) -> Result<(), String> {
    let dir = cfg.path.parent().unwrap_or(std::path::Path::new("."));
    for (i, c) in cfg.communication.iter().enumerate() {
        let key = format!("communication[{i}]");
        let text = crate::comms::template::template_text(dir, &c.template)
            .map_err(|e| format!("key `{key}.template` of `{}`: {e}", c.name))?;
        if let Some(p) = crate::comms::template::unknown_placeholder(&text) {
            return Err(format!(
                "key `{key}.template` of `{}`: unknown placeholder {{{p}}} (known: {})",
                c.name,
                crate::comms::template::PLACEHOLDERS
                    .map(|p| format!("{{{p}}}"))
                    .join(", ")
            ));
        }
        if let Some(t) = &c.target
            && !cfg.notify.target.contains_key(t)
        {
            return Err(format!(
                "key `{key}.target` of `{}`: no `[notify.target.{t}]`",
                c.name
            ));
        }
        if c.from == From::Window {
            let Some(p) = &cfg.programme else {
                return Err(format!(
                    "key `{key}.from` of `{}`: \"window\" counts from a wave's window, which needs `[programme] start`",
                    c.name
                ));
            };
            if let Some(d) = c.earliest_day
                && !(1..=p.days).contains(&d)
            {
                return Err(format!(
                    "key `{key}.earliest_day` of `{}`: day {d} is outside the programme's days 1–{}",
                    c.name, p.days
                ));
            }
            for s in &cfg.segment {
                let day = s.window_days[0] + c.offset_days;
                if day < 1 && c.earliest_day.is_none() {
                    return Err(format!(
                        "key `{key}.offset_days` of `{}`: {} days from the window of wave `{}` (day {}) is day {day}, before the programme's day 1 ({}); start the programme earlier, shorten the offset, or send it on day 1 with `earliest_day = 1`",
                        c.name, c.offset_days, s.name, s.window_days[0], p.start
                    ));
                }
            }
        }
    }
    Ok(())
}
