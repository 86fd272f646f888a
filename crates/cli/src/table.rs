//! Text tables for the commands' output: each column as wide as its longest cell (by display
//! width, so accented and CJK names align), numbers to the right.

use unicode_width::UnicodeWidthStr;

/// A column's alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table: headers with their alignment, then rows of cells.
pub struct Table {
    head: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(head: &[(&'static str, Align)]) -> Self {
        Self {
            head: head.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The lines, headers first, columns two spaces apart, no trailing spaces.
    pub fn lines(&self) -> Vec<String> {
        let n = self.head.len();
        let width = |s: &str| UnicodeWidthStr::width(s);
        let widths: Vec<usize> = (0..n)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| width(c))
                    .chain([width(self.head[i].0)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, c) in cells.into_iter().enumerate() {
                let pad = " ".repeat(widths[i].saturating_sub(width(c)));
                if i > 0 {
                    out.push_str("  ");
                }
                match self.head[i].1 {
                    Align::Left => {
                        out.push_str(c);
                        out.push_str(&pad);
                    }
                    Align::Right => {
                        out.push_str(&pad);
                        out.push_str(c);
                    }
                }
            }
            out.trim_end().to_string()
        };
        let mut out = vec![line(self.head.iter().map(|h| h.0).collect())];
        for r in &self.rows {
            out.push(line(
                (0..n)
                    .map(|i| r.get(i).map_or("", String::as_str))
                    .collect(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_longest_cell_by_display_width() {
        let mut t = Table::new(&[("wave", Align::Left), ("customers", Align::Right)]);
        t.push(vec!["REST-OF-WORLD".into(), "11908".into()]);
        t.push(vec!["王伟".into(), "7".into()]);
        assert_eq!(
            t.lines(),
            vec![
                "wave           customers",
                "REST-OF-WORLD      11908",
                "王伟                   7",
            ]
        );
    }
}
