//! Quarantine: customers the audit or the pipeline held, with the rule, its detail and since
//! when; Enter opens the customer.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, age_since, list};
use crate::theme::Theme;
use crate::widgets::table::{Col, Column, TableRow};
use cutover_core::engine::status::QuarantineRow;

impl TableRow for QuarantineRow {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        vec![
            Col::new(format!("{} {}", self.customer, self.name)),
            Col::new(self.wave.as_str()).style(theme.muted()),
            Col::new(self.rule.as_str()).style(theme.warn()),
            Col::new(age_since(&self.since)).style(theme.muted()),
            Col::new(self.detail.as_str()),
        ]
    }
}

const COLUMNS: [Column; 5] = [
    Column::text("Customer").min(12),
    Column::text("Wave").optional(),
    Column::text("Rule").min(12),
    Column::num("Since"),
    Column::text("Detail").min(12).fill(),
];

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        list(
            PaneId::Quarantine,
            cx,
            &COLUMNS,
            &cx.snap.quarantine,
            area,
            buf,
        );
    }
}
