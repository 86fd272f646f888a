//! The programme calendar (brief section 2): day N of the programme, each wave's window as
//! dates, and whether the wave is early, on time or behind, with the customers a day it needs
//! to finish. `today` is a parameter, so a whole programme can be simulated day by day; the
//! counts come from the state ([`crate::engine::status`]).

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Programme;
use crate::engine::status::SegmentStatus;

/// Where a wave stands against its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// Before its window, nothing started.
    Upcoming,
    /// Before its window, some customers already started.
    Early,
    /// Inside its window, customers left.
    Open,
    /// Nothing left to move (every customer migrated, or held by failure or quarantine).
    Done,
    /// Its window closed with customers left.
    Behind,
}

impl WindowState {
    /// How operators read it: `upcoming`, `early`, `on time`, `done`, `behind`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowState::Upcoming => "upcoming",
            WindowState::Early => "early",
            WindowState::Open => "on time",
            WindowState::Done => "done",
            WindowState::Behind => "behind",
        }
    }
}

/// One wave on the calendar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaveWindow {
    /// The wave (segment).
    pub wave: String,
    /// Its window's first and last day (programme days, 1-based).
    pub days: [i64; 2],
    /// The same as dates (`YYYY-MM-DD`).
    pub dates: [String; 2],
    /// Where it stands today.
    pub state: WindowState,
    /// Customers still to move (pending, in flight, rolled back).
    pub left: i64,
    /// Customers a day it needs from today to finish by its window's end (or, once behind, by
    /// the programme's end); `None` when nothing is left or no day is left.
    pub per_day_needed: Option<f64>,
}

/// The calendar on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calendar {
    /// Day 1 (`YYYY-MM-DD`).
    pub start: String,
    /// The programme's length in days.
    pub days: i64,
    /// The date the calendar is read for.
    pub today: String,
    /// Today's programme day: below 1 before the start, above `days` after the end.
    pub day: i64,
    /// Per wave, in priority order.
    pub waves: Vec<WaveWindow>,
}

/// Programme day of `date` (day 1 is the start).
pub fn day_of(p: &Programme, date: NaiveDate) -> i64 {
    p.day_of(date)
}

/// The date of programme day `day`.
pub fn date_of(p: &Programme, day: i64) -> NaiveDate {
    p.date_of(day)
}

/// The calendar of `segments` on `today`.
pub fn calendar(p: &Programme, segments: &[SegmentStatus], today: NaiveDate) -> Calendar {
    let day = day_of(p, today);
    let waves = segments
        .iter()
        .map(|s| {
            let [a, b] = s.window_days;
            let left = s.to_move();
            let started = s.migrated + s.running + s.failed + s.rolled_back > 0;
            let state = match () {
                _ if left == 0 && s.customers > 0 && started => WindowState::Done,
                _ if day < a && started => WindowState::Early,
                _ if day < a => WindowState::Upcoming,
                _ if day <= b => WindowState::Open,
                _ if left > 0 => WindowState::Behind,
                _ => WindowState::Done,
            };
            // Days from today to the deadline, today included.
            let deadline = if day <= b { b } else { p.days };
            let days_left = deadline - day.max(a) + 1;
            let per_day_needed =
                (left > 0 && days_left > 0).then(|| left as f64 / days_left as f64);
            WaveWindow {
                wave: s.name.clone(),
                days: [a, b],
                dates: [date_of(p, a).to_string(), date_of(p, b).to_string()],
                state,
                left,
                per_day_needed,
            }
        })
        .collect();
    Calendar {
        start: p.start.clone(),
        days: p.days,
        today: today.to_string(),
        day,
        waves,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(name: &str, window: [i64; 2], pending: i64, migrated: i64) -> SegmentStatus {
        SegmentStatus {
            name: name.into(),
            customers: pending + migrated,
            pending,
            migrated,
            window_days: window,
            ..Default::default()
        }
    }

    #[test]
    fn waves_are_upcoming_early_on_time_behind_or_done() {
        let p = Programme {
            start: "2026-12-01".into(),
            days: 30,
        };
        let d = |n: i64| date_of(&p, n);
        assert_eq!(day_of(&p, d(12)), 12);
        let segs = [
            wave("VIP", [8, 10], 0, 100),
            wave("High-value", [11, 14], 60, 40),
            wave("Regular", [15, 21], 200, 0),
            wave("Inactive", [22, 28], 10, 5),
        ];
        let c = calendar(&p, &segs, d(12));
        assert_eq!(c.day, 12);
        let states: Vec<&str> = c.waves.iter().map(|w| w.state.as_str()).collect();
        assert_eq!(states, ["done", "on time", "upcoming", "early"]);
        // 60 left over days 12, 13, 14.
        assert_eq!(c.waves[1].per_day_needed, Some(20.0));
        assert_eq!(
            c.waves[1].dates,
            ["2026-12-11".to_string(), "2026-12-14".into()]
        );
        // Day 16: High-value is behind, with days 16–30 to catch up.
        let c = calendar(&p, &segs, d(16));
        assert_eq!(c.waves[1].state, WindowState::Behind);
        assert_eq!(c.waves[1].per_day_needed, Some(4.0));
        assert!(p.window_open([11, 14], d(16)));
        assert!(!p.window_open([15, 21], d(14)));
    }
}
