//! Segments: each priority wave's customers, revenue and outcome against its success target.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, frame, held};
use crate::theme::Theme;
use crate::widgets::num;
use crate::widgets::table::{self, Col, Column, TableRow};
use cutover_core::engine::status::SegmentStatus;

/// The segments the filter lets through.
pub fn rows<'a>(cx_snap: &'a crate::snapshot::Snapshot, filter: &str) -> Vec<&'a SegmentStatus> {
    let f = filter.to_lowercase();
    cx_snap
        .status
        .segments
        .iter()
        .filter(|s| f.is_empty() || s.name.to_lowercase().contains(&f))
        .collect()
}

fn success(s: &SegmentStatus, theme: &Theme, with_target: bool) -> Col {
    let target = if with_target {
        format!("/{:.0}%", s.target_success_rate)
    } else {
        "%".into()
    };
    match s.success_rate() {
        Some(r) => {
            let style = if r + 1e-9 >= s.target_success_rate {
                theme.ok()
            } else {
                theme.danger()
            };
            Col::new(format!("{r:.0}{target}")).style(style)
        }
        None if with_target => Col::new(format!("-{target}")).style(theme.muted()),
        None => Col::new("-").style(theme.muted()),
    }
}

/// A segment row; `wide` shows every column, narrow combines failed/quarantined/rolled back.
struct SegRow<'a> {
    s: &'a SegmentStatus,
    wide: bool,
    /// Its place on the programme calendar, when there is one.
    window: Option<&'a cutover_core::calendar::WaveWindow>,
}

/// `on time · 20/day`, `behind · 4/day`, `early`, `done`, `upcoming`.
fn standing(w: Option<&cutover_core::calendar::WaveWindow>, theme: &Theme) -> Col {
    use cutover_core::calendar::WindowState;
    let Some(w) = w else {
        return Col::new("-").style(theme.muted());
    };
    let text = match w.per_day_needed {
        Some(n) if matches!(w.state, WindowState::Open | WindowState::Behind) => {
            // Customers a day, rounded up: what it takes, not less.
            format!("{} · {}/day", w.state.as_str(), n.ceil() as i64)
        }
        _ => w.state.as_str().to_string(),
    };
    let style = match w.state {
        WindowState::Behind => theme.danger(),
        WindowState::Done => theme.ok(),
        WindowState::Early | WindowState::Open => theme.accent(),
        WindowState::Upcoming => theme.muted(),
    };
    Col::new(text).style(style)
}

impl TableRow for SegRow<'_> {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let s = self.s;
        let bad = |n: i64, style| if n > 0 { style } else { theme.muted() };
        let revenue =
            Col::new(num::money(s.revenue_cents)).or_short(num::money_short(s.revenue_cents));
        if !self.wide {
            return vec![
                Col::new(format!("{} {}", s.priority, s.name)),
                Col::count(s.customers),
                revenue,
                Col::count(s.migrated).style(theme.ok()),
                held(s, theme),
                success(s, theme, false),
                standing(self.window, theme),
            ];
        }
        vec![
            Col::new(s.priority.to_string()),
            Col::new(s.name.as_str()),
            Col::new(match self.window {
                // Month-day: the year is the programme's.
                Some(w) => format!("{}–{}", &w.dates[0][5..], &w.dates[1][5..]),
                None => format!("d{}–{}", s.window_days[0], s.window_days[1]),
            })
            .style(theme.muted()),
            Col::count(s.customers),
            revenue,
            Col::count(s.migrated).style(theme.ok()),
            Col::count(s.failed).style(bad(s.failed, theme.danger())),
            Col::count(s.quarantined).style(bad(s.quarantined, theme.warn())),
            Col::count(s.rolled_back).style(bad(s.rolled_back, theme.warn())),
            Col::count(s.running),
            success(s, theme, true),
            standing(self.window, theme),
        ]
    }
}

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        let block = frame(PaneId::Segments, cx, String::new());
        let inner = block.inner(area);
        block.render(area, buf);
        let wide = inner.width >= 100;
        let rows: Vec<SegRow> = rows(cx.snap, cx.filter)
            .into_iter()
            .map(|s| SegRow {
                s,
                wide,
                window: cx
                    .calendar
                    .and_then(|c| c.waves.iter().find(|w| w.wave == s.name)),
            })
            .collect();
        let cols: &[Column] = if wide {
            &[
                Column::num("P"),
                Column::text("Segment").fill(),
                Column::num("Window").optional(),
                Column::num("Customers").short("Cust"),
                Column::num("Revenue").short("Rev"),
                Column::num("Migrated").short("Migr"),
                Column::num("Failed").short("F"),
                Column::num("Quarant.").short("Q"),
                Column::num("Rolled back").short("RB"),
                Column::num("Running").short("Run"),
                Column::num("Success/target").short("Succ"),
                Column::text("Calendar").min(6).optional(),
            ]
        } else {
            &[
                Column::text("Segment").fill(),
                Column::num("Cust"),
                Column::num("Rev"),
                Column::num("Migr"),
                Column::num("F/Q/RB"),
                Column::num("Succ"),
                Column::text("Window").min(6).optional(),
            ]
        };
        table::render(inner, buf, cols, &rows, cx.list, cx.focused, cx.theme);
    }
}
