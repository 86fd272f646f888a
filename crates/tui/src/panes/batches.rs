//! Batches: every batch with its wave, state, customers, rows, times and worker, running first;
//! `r` rolls the selected one back (after its blast radius).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, list};
use crate::theme::Theme;
use crate::widgets::table::{Col, Column, TableRow};
use cutover_core::engine::status::BatchRow;

/// `2026-11-21T07:50:00.123Z` → `11-21 07:50:00`.
pub fn when(t: &Option<String>) -> String {
    t.as_deref().map_or_else(
        || "-".into(),
        |t| t.get(5..19).unwrap_or(t).replace('T', " "),
    )
}

impl TableRow for BatchRow {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let state = match self.state.as_str() {
            "done" => "migrated",
            s => s,
        };
        vec![
            Col::new(self.id.as_str()),
            Col::new(self.wave.as_str()).style(theme.muted()),
            Col::new(self.state.replace('_', " ")).style(theme.status(state)),
            Col::new(format!("{}/{}", self.migrated, self.customers)),
            Col::count(self.rows),
            Col::new(when(&self.started)).style(theme.muted()),
            Col::new(when(&self.finished)).style(theme.muted()),
            Col::new(self.worker.clone().unwrap_or_default()),
        ]
    }
}

const COLUMNS: [Column; 8] = [
    Column::num("Batch"),
    Column::text("Wave").min(6),
    Column::num("State"),
    Column::num("Migrated/customers").short("Migr"),
    Column::num("Rows"),
    Column::num("Started").optional(),
    Column::num("Finished").optional(),
    Column::text("Worker").fill(),
];

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        list(PaneId::Batches, cx, &COLUMNS, &cx.snap.batches, area, buf);
    }
}
