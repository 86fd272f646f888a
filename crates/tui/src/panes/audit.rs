//! The audit log: every write action, newest first, with actor, role, action, scope, reason
//! and result. `/` filters on any of them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, list};
use crate::theme::Theme;
use crate::widgets::table::{Col, Column, TableRow};
use cutover_core::engine::status::AuditRow;

impl TableRow for AuditRow {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        // `2026-11-21T07:50:00.123Z` → `11-21 07:50:00`.
        let at = self.at.get(5..19).unwrap_or(&self.at).replace('T', " ");
        let result = if self.outcome == "ok" {
            Col::new("ok").style(theme.ok())
        } else {
            Col::new(self.outcome.as_str()).style(theme.danger())
        };
        let why = match (self.reason.is_empty(), self.detail.as_deref()) {
            (false, Some(d)) if !d.is_empty() => format!("{} · {d}", self.reason),
            (false, _) => self.reason.clone(),
            (true, d) => d.unwrap_or("").to_string(),
        };
        vec![
            Col::new(at).style(theme.muted()),
            Col::new(self.actor.as_str()),
            Col::new(self.role.as_str()).style(theme.muted()),
            Col::new(self.action.as_str()),
            Col::new(self.scope.as_str()),
            result,
            Col::new(why),
        ]
    }
}

const COLUMNS: [Column; 7] = [
    Column::num("When"),
    Column::text("Actor").min(8),
    Column::text("Role").optional(),
    Column::text("Action").min(8),
    Column::text("Scope").min(10),
    Column::text("Result").min(6),
    Column::text("Reason / detail").fill(),
];

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        list(PaneId::Audit, cx, &COLUMNS, &cx.snap.audit, area, buf);
    }
}
