//! `[programme]`: the migration as a programme of days from a start date (brief section 2,
//! "Programme calendar").

use chrono::NaiveDate;
use serde::Deserialize;

/// `[programme]`: day 1 is `start`; the waves' `window_days` count from it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// Day 1, `YYYY-MM-DD`.
    pub start: String,
    /// Its length in days (the brief's programme: 30).
    #[serde(default = "thirty")]
    pub days: i64,
}

fn thirty() -> i64 {
    30
}

impl Programme {
    /// Day 1 (checked at load).
    pub fn start_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.start, "%Y-%m-%d").unwrap_or_default()
    }

    /// The programme day of `date` (day 1 is the start; below 1 before it).
    pub fn day_of(&self, date: NaiveDate) -> i64 {
        (date - self.start_date()).num_days() + 1
    }

    /// The date of programme day `day`.
    pub fn date_of(&self, day: i64) -> NaiveDate {
        self.start_date() + chrono::Duration::days(day - 1)
    }

    /// Whether a wave with `window_days` may have its batches claimed on `today` under
    /// `runner.respect_windows`: from its window's first day on (a wave behind keeps going).
    pub fn window_open(&self, window_days: [i64; 2], today: NaiveDate) -> bool {
        self.day_of(today) >= window_days[0]
    }
}

/// Checks the section against the waves: a start that is a date, a positive length, and every
/// wave's window inside the programme. Errors name the key.
pub fn check(p: &Option<Programme>, segments: &[super::SegmentRule]) -> Result<(), String> {
    let Some(p) = p else { return Ok(()) };
    if NaiveDate::parse_from_str(&p.start, "%Y-%m-%d").is_err() {
        return Err(format!(
            "key `programme.start`: `{}` is not a date (YYYY-MM-DD)",
            p.start
        ));
    }
    if p.days < 1 {
        return Err(format!(
            "key `programme.days`: {} is not a number of days (at least 1)",
            p.days
        ));
    }
    for (i, s) in segments.iter().enumerate() {
        let [a, b] = s.window_days;
        if a < 1 || b > p.days {
            return Err(format!(
                "key `segment[{i}].window_days` of `{}`: days {a}–{b} fall outside the programme's days 1–{}",
                s.name, p.days
            ));
        }
    }
    Ok(())
}
