//! The audit log: every write action, newest first, with actor, role, action, scope, reason
//! and result. `/` filters on any of them.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Widget};

use super::{PaneCtx, PaneId, frame};
use crate::theme::Theme;
use crate::widgets::table::{self, TableRow};
use cutover_core::engine::status::AuditRow;

impl TableRow for AuditRow {
    fn cells(&self, theme: &Theme) -> Vec<Cell<'_>> {
        // `2026-11-21T07:50:00.123Z` → `11-21 07:50:00`.
        let at = self.at.get(5..19).unwrap_or(&self.at).replace('T', " ");
        let result = if self.outcome == "ok" {
            Cell::from("ok").style(theme.ok())
        } else {
            Cell::from(self.outcome.as_str()).style(theme.danger())
        };
        let why = match (self.reason.is_empty(), self.detail.as_deref()) {
            (false, Some(d)) if !d.is_empty() => format!("{} · {d}", self.reason),
            (false, _) => self.reason.clone(),
            (true, d) => d.unwrap_or("").to_string(),
        };
        vec![
            Cell::from(at).style(theme.muted()),
            Cell::from(self.actor.as_str()),
            Cell::from(self.role.as_str()).style(theme.muted()),
            Cell::from(self.action.as_str()),
            Cell::from(self.scope.as_str()),
            result,
            Cell::from(why),
        ]
    }
}

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        let block = frame(PaneId::Audit, cx, String::new());
        let inner = block.inner(area);
        block.render(area, buf);
        let wide = inner.width >= 90;
        table::render(
            inner,
            buf,
            &[
                "When",
                "Actor",
                "Role",
                "Action",
                "Scope",
                "Result",
                "Reason / detail",
            ],
            &[
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(if wide { 8 } else { 0 }),
                Constraint::Length(18),
                Constraint::Length(if wide { 22 } else { 14 }),
                Constraint::Length(6),
                Constraint::Fill(1),
            ],
            &cx.snap.audit,
            cx.list,
            cx.focused,
            cx.theme,
        );
    }
}
