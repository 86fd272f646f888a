//! Segments: each priority wave's customers, revenue and outcome against its success target.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Widget};

use super::{PaneCtx, PaneId, frame};
use crate::theme::Theme;
use crate::widgets::table::{self, TableRow};
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

/// Revenue abbreviated with its unit: `1.2M`, `35k`, `812`, from exact cents.
fn money(cents: i64) -> String {
    let x = cents as f64 / 100.0;
    if x >= 1_000_000.0 {
        format!("{:.1}M", x / 1_000_000.0)
    } else if x >= 1_000.0 {
        format!("{:.0}k", x / 1_000.0)
    } else {
        format!("{x:.0}")
    }
}

fn success(s: &SegmentStatus, theme: &Theme, with_target: bool) -> Cell<'static> {
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
            Cell::from(format!("{r:.0}{target}")).style(style)
        }
        None => Cell::from(format!("-{target}")).style(theme.muted()),
    }
}

/// A segment row; `wide` shows every column, narrow combines failed/quarantined.
struct SegRow<'a> {
    s: &'a SegmentStatus,
    wide: bool,
}

impl TableRow for SegRow<'_> {
    fn cells(&self, theme: &Theme) -> Vec<Cell<'_>> {
        let s = self.s;
        let bad = |n: i64, style| if n > 0 { style } else { theme.muted() };
        if !self.wide {
            return vec![
                Cell::from(format!("{} {}", s.priority, s.name)),
                Cell::from(s.customers.to_string()),
                Cell::from(money(s.revenue_cents)),
                Cell::from(s.migrated.to_string()).style(theme.ok()),
                Cell::from(format!("{}/{}", s.failed, s.quarantined))
                    .style(bad(s.failed + s.quarantined, theme.warn())),
                success(s, theme, false),
            ];
        }
        vec![
            Cell::from(s.priority.to_string()),
            Cell::from(s.name.as_str()),
            Cell::from(format!("d{}–{}", s.window_days[0], s.window_days[1])).style(theme.muted()),
            Cell::from(s.customers.to_string()),
            Cell::from(money(s.revenue_cents)),
            Cell::from(s.migrated.to_string()).style(theme.ok()),
            Cell::from(s.failed.to_string()).style(bad(s.failed, theme.danger())),
            Cell::from(s.quarantined.to_string()).style(bad(s.quarantined, theme.warn())),
            Cell::from(s.running.to_string()),
            success(s, theme, true),
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
            .map(|s| SegRow { s, wide })
            .collect();
        let (header, widths): (&[&'static str], Vec<Constraint>) = if wide {
            (
                &[
                    "P",
                    "Segment",
                    "Window",
                    "Customers",
                    "Revenue",
                    "Migrated",
                    "Failed",
                    "Quarant.",
                    "Running",
                    "Success/target",
                ],
                vec![
                    Constraint::Length(1),
                    Constraint::Fill(1),
                    Constraint::Length(7),
                    Constraint::Length(9),
                    Constraint::Length(7),
                    Constraint::Length(8),
                    Constraint::Length(6),
                    Constraint::Length(8),
                    Constraint::Length(7),
                    Constraint::Length(14),
                ],
            )
        } else {
            (
                &["Segment", "Cust", "Rev", "Migr", "F/Q", "Succ"],
                vec![
                    Constraint::Fill(1),
                    Constraint::Length(5),
                    Constraint::Length(5),
                    Constraint::Length(5),
                    Constraint::Length(5),
                    Constraint::Length(4),
                ],
            )
        };
        table::render(
            inner, buf, header, &widths, &rows, cx.list, cx.focused, cx.theme,
        );
    }
}
