//! The one list widget every pane uses: it builds cells only for the rows in view.

use std::cell::Cell as StdCell;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, Widget};

use crate::theme::Theme;

/// A row a [`render`] table can show.
pub trait TableRow {
    /// The row's cells; called only for rows in view.
    fn cells(&self, theme: &Theme) -> Vec<Cell<'_>>;
}

/// Selection and scroll position of a list. The offset is adjusted while rendering, hence the
/// `Cell`, so panes can render through `&self`.
#[derive(Debug, Default)]
pub struct ListState {
    pub selected: usize,
    offset: StdCell<usize>,
}

impl ListState {
    /// A state with `selected` chosen and the offset found while rendering.
    pub fn at(selected: usize) -> Self {
        Self {
            selected,
            ..Default::default()
        }
    }

    /// Moves the selection by `delta`, clamped to `len` rows.
    pub fn step(&mut self, delta: isize, len: usize) {
        if len == 0 {
            self.selected = 0;
            return;
        }
        let s = self.selected as isize + delta;
        self.selected = s.clamp(0, len as isize - 1) as usize;
    }

    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    pub fn offset(&self) -> usize {
        self.offset.get()
    }
}

/// Renders `rows` with `header` into `area`, keeping the selection in view. Only the visible
/// window of rows is turned into cells.
#[allow(clippy::too_many_arguments)]
pub fn render<R: TableRow>(
    area: Rect,
    buf: &mut Buffer,
    header: &[&'static str],
    widths: &[Constraint],
    rows: &[R],
    state: &ListState,
    focused: bool,
    theme: &Theme,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let visible = area.height.saturating_sub(1) as usize;
    if rows.is_empty() {
        let empty = Line::styled(" nothing here", theme.muted());
        Table::new(Vec::<Row>::new(), widths.to_vec())
            .header(Row::new(header.iter().map(|h| Cell::from(*h))).style(theme.header()))
            .render(area, buf);
        if area.height > 1 {
            empty.render(
                Rect {
                    y: area.y + 1,
                    height: 1,
                    ..area
                },
                buf,
            );
        }
        return;
    }
    let sel = state.selected.min(rows.len() - 1);
    let mut off = state.offset.get().min(rows.len().saturating_sub(1));
    if sel < off {
        off = sel;
    } else if visible > 0 && sel >= off + visible {
        off = sel + 1 - visible;
    }
    state.offset.set(off);
    let end = (off + visible).min(rows.len());
    let built = rows[off..end].iter().enumerate().map(|(i, r)| {
        let row = Row::new(r.cells(theme));
        if focused && off + i == sel {
            row.style(theme.selected())
        } else {
            row
        }
    });
    Table::new(built, widths.to_vec())
        .header(Row::new(header.iter().map(|h| Cell::from(*h))).style(theme.header()))
        .column_spacing(1)
        .render(area, buf);
}
