//! Alerts: failed and quarantined customers with the reason, newest first. (Health alerts
//! join them with the health work.)

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Widget};

use super::{PaneCtx, PaneId, age_since, frame};
use crate::engine::status::AlertRow;
use crate::tui::theme::Theme;
use crate::tui::widgets::table::{self, TableRow};

impl TableRow for AlertRow {
    fn cells(&self, theme: &Theme) -> Vec<Cell<'_>> {
        let status = if self.status == "quarantined" {
            "quar"
        } else {
            "fail"
        };
        vec![
            Cell::from(age_since(&self.since)).style(theme.muted()),
            Cell::from(status).style(theme.status(&self.status)),
            Cell::from(format!("{} {}", self.legacy_id, self.name)),
            Cell::from(self.segment.as_str()).style(theme.muted()),
            Cell::from(self.reason.as_str()),
        ]
    }
}

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        let open = cx.snap.status.alerts.open;
        let block = frame(PaneId::Alerts, cx, format!("{open} open"));
        let inner = block.inner(area);
        block.render(area, buf);
        let wide = inner.width >= 100;
        table::render(
            inner,
            buf,
            &["Age", "", "Customer", "Segment", "Reason"],
            &[
                Constraint::Length(4),
                Constraint::Length(4),
                Constraint::Length(if wide { 28 } else { 16 }),
                Constraint::Length(if wide { 10 } else { 0 }),
                Constraint::Fill(1),
            ],
            &cx.snap.alerts,
            cx.list,
            cx.focused,
            cx.theme,
        );
    }
}
