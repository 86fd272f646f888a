//! Plans: success plans with milestone progress, the next milestone due and overdue counts.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Widget};

use super::{PaneCtx, PaneId, frame};
use crate::theme::Theme;
use crate::widgets::table::{self, TableRow};
use cutover_core::engine::status::PlanRow;

/// `■■■□□ 3/5`: completed of total milestones.
fn progress(done: i64, total: i64) -> String {
    let w = 5usize;
    let filled = if total > 0 {
        ((done as f64 / total as f64) * w as f64).round() as usize
    } else {
        0
    };
    format!(
        "{}{} {done}/{total}",
        "■".repeat(filled.min(w)),
        "□".repeat(w - filled.min(w))
    )
}

impl TableRow for PlanRow {
    fn cells(&self, theme: &Theme) -> Vec<Cell<'_>> {
        let overdue = if self.overdue > 0 {
            Cell::from(format!("{} late", self.overdue)).style(theme.danger())
        } else {
            Cell::from("")
        };
        vec![
            Cell::from(self.customer.as_str()),
            Cell::from(Line::from(vec![Span::raw(self.kind.as_str())])),
            Cell::from(self.owner.as_str()).style(theme.muted()),
            Cell::from(self.status.replace('_', " ")).style(theme.status(&self.status)),
            Cell::from(progress(self.completed, self.milestones)).style(theme.status(&self.status)),
            Cell::from(self.next_due.clone().unwrap_or_else(|| "-".into())),
            overdue,
        ]
    }
}

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        // No total in the title: the snapshot holds only the first rows, not every plan.
        let block = frame(PaneId::Plans, cx, String::new());
        let inner = block.inner(area);
        block.render(area, buf);
        let wide = inner.width >= 70;
        table::render(
            inner,
            buf,
            &[
                "Plan for", "Type", "Owner", "Status", "Progress", "Next due", "Late",
            ],
            &[
                Constraint::Length(if wide { 16 } else { 6 }),
                Constraint::Length(if wide { 10 } else { 0 }),
                Constraint::Length(if wide { 14 } else { 0 }),
                Constraint::Length(if wide { 9 } else { 0 }),
                Constraint::Length(9),
                Constraint::Length(10),
                Constraint::Fill(1),
            ],
            &cx.snap.plans,
            cx.list,
            cx.focused,
            cx.theme,
        );
    }
}
