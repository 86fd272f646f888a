//! Plans: success plans with milestone progress, the next milestone due and overdue counts.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, list};
use crate::theme::Theme;
use crate::widgets::table::{Col, Column, TableRow};
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
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let overdue = if self.overdue > 0 {
            Col::new(format!("{} late", self.overdue)).style(theme.danger())
        } else {
            Col::new("")
        };
        vec![
            Col::new(format!("{} {}", self.customer, self.name)),
            Col::new(self.kind.as_str()),
            Col::new(self.status.replace('_', " ")).style(theme.status(&self.status)),
            Col::new(self.owner.as_str()).style(theme.muted()),
            Col::new(progress(self.completed, self.milestones))
                .or_short(format!("{}/{}", self.completed, self.milestones))
                .style(theme.status(&self.status)),
            Col::new(self.next_due.clone().unwrap_or_else(|| "-".into())),
            overdue,
        ]
    }
}

/// Customer and plan type first: a plan is read by whose it is and what it is for.
const COLUMNS: [Column; 7] = [
    Column::text("Customer").min(10).fill(),
    Column::text("Type").min(8),
    Column::text("Status").min(6),
    Column::text("Owner").optional(),
    Column::num("Progress").short("Done"),
    Column::num("Next due").short("Due").optional(),
    Column::num("Late"),
];

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        // No total in the title: the snapshot holds only the first rows, not every plan.
        list(PaneId::Plans, cx, &COLUMNS, &cx.snap.plans, area, buf);
    }
}
