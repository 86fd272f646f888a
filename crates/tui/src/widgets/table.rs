//! The one list widget every pane uses. Columns are sized from their content: a number is
//! shown whole, or by its short form with a unit (`11.9k`) when the whole does not fit, and
//! is never cut; text is cut with `…`; when even that does not fit, optional columns go first,
//! then columns from the right, whole. Only the rows in view are turned into cells, and the
//! columns are sized from them.

use std::cell::Cell as StdCell;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::num;
use crate::theme::Theme;

/// How a column gives way when space runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text: cut with `…`, down to `min` columns (or its content, if narrower).
    Text { min: u16 },
    /// A number (a count, rate, amount, age, ratio): whole, else its short form; never cut.
    Num,
}

/// One column of a [`render`] table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    /// A shorter header, used when the column is narrower than `header`.
    pub short_header: Option<&'static str>,
    pub kind: Kind,
    /// Dropped first (from the right) when the columns' minimums do not fit.
    pub optional: bool,
    /// Takes the width left once every column has what its content asks for.
    pub fill: bool,
}

impl Column {
    /// A text column that can be cut down to 6 columns.
    pub const fn text(header: &'static str) -> Self {
        Self {
            header,
            short_header: None,
            kind: Kind::Text { min: 6 },
            optional: false,
            fill: false,
        }
    }

    /// A number column.
    pub const fn num(header: &'static str) -> Self {
        Self {
            kind: Kind::Num,
            ..Self::text(header)
        }
    }

    /// The narrowest a text column is cut to.
    pub const fn min(mut self, min: u16) -> Self {
        self.kind = Kind::Text { min };
        self
    }

    /// Dropped before the others when space runs out.
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Takes the width left over.
    pub const fn fill(mut self) -> Self {
        self.fill = true;
        self
    }

    /// The header used when the full one does not fit.
    pub const fn short(mut self, h: &'static str) -> Self {
        self.short_header = Some(h);
        self
    }
}

/// One cell: its text, the short form of a number, and its style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Col {
    pub text: String,
    /// What a [`Kind::Num`] column shows when `text` does not fit (`11.9k` for `11908`).
    pub short: Option<String>,
    pub style: Style,
}

impl Col {
    /// A cell showing `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Default::default()
        }
    }

    /// A count: whole, short form `11.9k`.
    pub fn count(n: i64) -> Self {
        Self::new(n.to_string()).or_short(num::count(n))
    }

    /// `text`, with `short` as its short form when it differs.
    pub fn or_short(mut self, short: String) -> Self {
        if short != self.text {
            self.short = Some(short);
        }
        self
    }

    pub fn style(mut self, s: Style) -> Self {
        self.style = s;
        self
    }
}

/// A row a [`render`] table can show.
pub trait TableRow {
    /// The row's cells, one per column.
    fn cols(&self, theme: &Theme) -> Vec<Col>;
}

impl<T: TableRow> TableRow for &T {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        (*self).cols(theme)
    }
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

fn width(s: &str) -> u16 {
    unicode_width::UnicodeWidthStr::width(s).min(u16::MAX as usize) as u16
}

/// The width of each column in `room` terminal columns (`None`: dropped), from the cells of
/// the rows in view. Numbers are given their
/// whole width before text grows past its minimum; one column of space between columns.
pub fn widths(cols: &[Column], cells: &[Vec<Col>], room: u16) -> Vec<Option<u16>> {
    let n = cols.len();
    // One pass over the cells, no copies: this runs every frame.
    let (mut full, mut short) = (vec![0u16; n], vec![0u16; n]);
    for r in cells {
        for (i, c) in r.iter().enumerate().take(n) {
            full[i] = full[i].max(width(&c.text));
            short[i] = short[i].max(width(c.short.as_deref().unwrap_or(&c.text)));
        }
    }
    // What a column asks for: its content and the header it can show (the short one first;
    // the full header only once every column has that).
    let want_short: Vec<u16> = (0..n)
        .map(|i| {
            full[i]
                .max(width(cols[i].short_header.unwrap_or(cols[i].header)))
                .max(1)
        })
        .collect();
    let want: Vec<u16> = (0..n)
        .map(|i| full[i].max(width(cols[i].header)).max(1))
        .collect();
    // A number's column is never narrower than its header's short form: a count under a
    // header cut to `Cu…` is a number nobody can read.
    let min: Vec<u16> = (0..n)
        .map(|i| match cols[i].kind {
            Kind::Num => short[i]
                .max(width(cols[i].short_header.unwrap_or(cols[i].header)))
                .max(1),
            Kind::Text { min } => want[i].min(min).max(1),
        })
        .collect();
    let mut active: Vec<bool> = vec![true; n];
    let need = |active: &[bool]| -> u32 {
        let k = active.iter().filter(|a| **a).count() as u32;
        (0..n)
            .filter(|i| active[*i])
            .map(|i| min[i] as u32)
            .sum::<u32>()
            + k.saturating_sub(1)
    };
    while need(&active) > room as u32 {
        let drop = (0..n)
            .rev()
            .find(|i| active[*i] && cols[*i].optional)
            .or_else(|| (1..n).rev().find(|i| active[*i]));
        match drop {
            Some(i) => active[i] = false,
            None => break,
        }
    }
    let mut w: Vec<u16> = min.clone();
    let mut rem = (room as u32).saturating_sub(need(&active));
    // Numbers whole first, left to right.
    for i in (0..n).filter(|i| active[*i] && cols[*i].kind == Kind::Num) {
        let more = (full[i].max(min[i]) - min[i]) as u32;
        if more <= rem {
            w[i] += more as u16;
            rem -= more;
        }
    }
    // Then every column toward what it wants, a column at a time, so the space is shared;
    // a number that did not get its whole width gains nothing from a part of it.
    let mut grew;
    let growing: Vec<usize> = (0..n)
        .filter(|i| active[*i] && (cols[*i].kind != Kind::Num || w[*i] >= full[*i]))
        .collect();
    for goal in [&want_short, &want] {
        grew = true;
        while rem > 0 && grew {
            grew = false;
            for &i in &growing {
                if rem > 0 && w[i] < goal[i] {
                    w[i] += 1;
                    rem -= 1;
                    grew = true;
                }
            }
        }
    }
    // What is left goes to the fill column, or the last one.
    if let Some(i) = (0..n)
        .rfind(|i| active[*i] && cols[*i].fill)
        .or_else(|| (0..n).rev().find(|i| active[*i]))
    {
        w[i] = w[i].saturating_add(rem as u16);
    }
    (0..n).map(|i| active[i].then_some(w[i])).collect()
}

/// `text` cut to `w` columns with `…` when longer.
pub fn clip(text: &str, w: u16) -> String {
    if width(text) <= w {
        return text.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0u16;
    for ch in text.chars() {
        let cw = width(ch.encode_utf8(&mut [0; 4]));
        if used + cw > w - 1 {
            break;
        }
        out.push(ch);
        used += cw;
    }
    out.push('…');
    out
}

/// What a cell shows in a column `w` wide: the whole text, else a number's short form, else
/// the text cut with `…` (never a number: [`widths`] gives a number column its short width).
fn fit(c: &Col, kind: Kind, w: u16) -> String {
    if width(&c.text) <= w {
        return c.text.clone();
    }
    match (&c.short, kind) {
        (Some(s), _) if width(s) <= w => s.clone(),
        (_, Kind::Num) => c.short.clone().unwrap_or_else(|| c.text.clone()),
        _ => clip(&c.text, w),
    }
}

fn header(c: &Column, w: u16) -> String {
    match c.short_header {
        _ if width(c.header) <= w => c.header.to_string(),
        Some(s) if width(s) <= w => s.to_string(),
        _ => clip(c.header, w),
    }
}

/// Renders `rows` under the `cols` headers into `area`, keeping the selection in view.
#[allow(clippy::too_many_arguments)]
pub fn render<R: TableRow>(
    area: Rect,
    buf: &mut Buffer,
    cols: &[Column],
    rows: &[R],
    state: &ListState,
    focused: bool,
    theme: &Theme,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let visible = area.height.saturating_sub(1) as usize;
    // The window of rows in view first: only they are turned into cells, and the columns are
    // sized from them (a column may widen as longer values scroll into view).
    let (off, end, sel) = if rows.is_empty() {
        (0, 0, 0)
    } else {
        let sel = state.selected.min(rows.len() - 1);
        let mut off = state.offset.get().min(rows.len().saturating_sub(1));
        if sel < off {
            off = sel;
        } else if visible > 0 && sel >= off + visible {
            off = sel + 1 - visible;
        }
        state.offset.set(off);
        (off, (off + visible).min(rows.len()), sel)
    };
    let cells: Vec<Vec<Col>> = rows[off..end].iter().map(|r| r.cols(theme)).collect();
    let ws = widths(cols, &cells, area.width);
    let shown: Vec<usize> = (0..cols.len()).filter(|i| ws[*i].is_some()).collect();
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|i| Constraint::Length(ws[*i].unwrap_or(0)))
        .collect();
    let head = Row::new(
        shown
            .iter()
            .map(|i| Cell::from(header(&cols[*i], ws[*i].unwrap_or(0)))),
    )
    .style(theme.header());
    if rows.is_empty() {
        Table::new(Vec::<Row>::new(), constraints)
            .header(head)
            .column_spacing(1)
            .render(area, buf);
        if area.height > 1 {
            Line::styled(" nothing here", theme.muted()).render(
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
    let built = cells.iter().enumerate().map(|(k, r)| {
        let row = Row::new(shown.iter().map(|i| {
            let c = r.get(*i).cloned().unwrap_or_default();
            Cell::from(fit(&c, cols[*i].kind, ws[*i].unwrap_or(0))).style(c.style)
        }));
        if focused && off + k == sel {
            row.style(theme.selected())
        } else {
            row
        }
    });
    Table::new(built, constraints)
        .header(head)
        .column_spacing(1)
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[&[&str]]) -> Vec<Vec<Col>> {
        v.iter()
            .map(|r| r.iter().map(|s| Col::new(*s)).collect())
            .collect()
    }

    #[test]
    fn numbers_whole_when_they_fit_short_when_not_never_cut() {
        let cols = [Column::text("Wave").fill(), Column::num("Done")];
        let cells = vec![vec![
            Col::new("REST-OF-WORLD"),
            Col::new("1234567/1234567").or_short("1.2M/1.2M".into()),
        ]];
        assert_eq!(widths(&cols, &cells, 40), vec![Some(24), Some(15)]);
        // The number keeps its whole 15 and the wave is cut to its minimum.
        assert_eq!(widths(&cols, &cells, 22), vec![Some(6), Some(15)]);
        // Two columns short: the number takes its short form, the wave gets the rest.
        let w = widths(&cols, &cells, 20);
        assert_eq!(w, vec![Some(10), Some(9)]);
        assert_eq!(fit(&cells[0][1], Kind::Num, 9), "1.2M/1.2M");
        assert_eq!(fit(&cells[0][0], Kind::Text { min: 6 }, 10), "REST-OF-W…");
        // Not even that: the number's column goes, whole.
        assert_eq!(widths(&cols, &cells, 15), vec![Some(15), None]);
    }

    #[test]
    fn text_columns_share_by_content_and_optional_ones_go_first() {
        let cols = [
            Column::text("Customer"),
            Column::text("Rule"),
            Column::text("Segment").optional(),
        ];
        let cells = rows(&[&["1381 José Álvarez", "health_below", "Regular"]]);
        let w = widths(&cols, &cells, 80);
        assert_eq!(w[1], Some(12), "the rule column is as wide as its content");
        assert_eq!(
            widths(&cols, &cells, 13)[2],
            None,
            "the optional column is dropped"
        );
    }
}
