//! Migration: overall gauge, one row per wave (segment) with rate and ETA, a throughput
//! sparkline from step timestamps, the running batches by step, and the customers in flight or
//! recently settled (the selection `r` acts on).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Gauge, Sparkline, Widget};

use super::{PaneCtx, PaneId, age_since, clip, frame};
use crate::theme::Theme;
use crate::widgets::table::{self, TableRow};
use cutover_core::engine::status::{RecentRow, SegmentStatus};

impl TableRow for RecentRow {
    fn cells(&self, theme: &Theme) -> Vec<Cell<'_>> {
        vec![
            Cell::from(self.legacy_id.as_str()),
            Cell::from(self.name.as_str()),
            Cell::from(self.batch_id.clone().unwrap_or_default()).style(theme.muted()),
            Cell::from(self.status.as_str()).style(theme.status(&self.status)),
            Cell::from(self.step.clone().unwrap_or_default()),
            Cell::from(age_since(&self.updated_at)).style(theme.muted()),
        ]
    }
}

struct Wave<'a>(&'a SegmentStatus, bool);

/// "12m", "3h", or "-" when nothing remains or nothing moved recently.
fn eta(s: &SegmentStatus) -> String {
    match s.eta_minutes() {
        Some(m) if m < 1.0 => "<1m".into(),
        Some(m) => cutover_core::clock::age((m * 60.0) as i64),
        None if s.pending + s.running == 0 && s.customers > 0 => "done".into(),
        None => "-".into(),
    }
}

impl TableRow for Wave<'_> {
    fn cells(&self, theme: &Theme) -> Vec<Cell<'_>> {
        let s = self.0;
        if !self.1 {
            return vec![
                Cell::from(s.name.as_str()),
                Cell::from(format!("{}/{}", s.migrated, s.customers)).style(theme.ok()),
                Cell::from(format!("{}/{}/{}", s.failed, s.quarantined, s.running)).style(
                    if s.failed > 0 {
                        theme.danger()
                    } else {
                        theme.muted()
                    },
                ),
                Cell::from(format!("{:.1}", s.rate_per_min)),
                Cell::from(eta(s)),
            ];
        }
        vec![
            Cell::from(s.name.as_str()),
            Cell::from(format!("{}/{}", s.migrated, s.customers)).style(theme.ok()),
            Cell::from(s.failed.to_string()).style(if s.failed > 0 {
                theme.danger()
            } else {
                theme.muted()
            }),
            Cell::from(s.quarantined.to_string()).style(if s.quarantined > 0 {
                theme.warn()
            } else {
                theme.muted()
            }),
            Cell::from(s.running.to_string()),
            Cell::from(format!("{:.1}", s.rate_per_min)),
            Cell::from(eta(s)),
        ]
    }
}

/// The newest `width` points: a sparkline cuts what does not fit from the end, which is now.
fn newest(points: &[u64], width: u16) -> &[u64] {
    &points[points.len().saturating_sub(width as usize)..]
}

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        let c = &cx.snap.status.customers;
        let block = frame(PaneId::Migration, cx, String::new());
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height == 0 {
            return;
        }
        let waves = cx.snap.status.segments.len() as u16 + 1;
        let batches = cx.snap.running.len().max(1) as u16;
        // The sparkline gets a labelled three rows when there is room, one bare row otherwise.
        let spark = match inner.height {
            16.. => 3,
            8.. => 1,
            _ => 0,
        };
        let [gauge, wave_area, spark_area, batch_area, list_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(waves),
            Constraint::Length(spark),
            Constraint::Length(batches),
            Constraint::Fill(1),
        ])
        .areas(inner);
        let pct = c.settled_pct();
        let label = format!(
            "{}/{} migrated · {} failed · {} quar · {:.0}% settled",
            c.migrated, c.total, c.failed, c.quarantined, pct
        );
        Gauge::default()
            .ratio((pct / 100.0).clamp(0.0, 1.0))
            .label(clip(&label, gauge.width as usize))
            .gauge_style(cx.theme.ok())
            .render(gauge, buf);
        let wide = wave_area.width >= 60;
        let rows: Vec<Wave> = cx
            .snap
            .status
            .segments
            .iter()
            .map(|s| Wave(s, wide))
            .collect();
        let (header, widths): (&[&'static str], Vec<Constraint>) = if wide {
            (
                &[
                    "Wave", "Done", "Failed", "Quarant.", "Running", "Rate/min", "ETA",
                ],
                vec![
                    Constraint::Fill(1),
                    Constraint::Length(15),
                    Constraint::Length(6),
                    Constraint::Length(8),
                    Constraint::Length(7),
                    Constraint::Length(8),
                    Constraint::Length(5),
                ],
            )
        } else {
            (
                &["Wave", "Done", "F/Q/Run", "/min", "ETA"],
                vec![
                    Constraint::Fill(1),
                    Constraint::Length(9),
                    Constraint::Length(8),
                    Constraint::Length(5),
                    Constraint::Length(4),
                ],
            )
        };
        table::render(
            wave_area,
            buf,
            header,
            &widths,
            &rows,
            &Default::default(),
            false,
            cx.theme,
        );
        if spark > 1 {
            let [label, bars] =
                Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(spark_area);
            let total: u64 = cx.snap.throughput.iter().sum();
            Line::styled(
                format!("migrated per minute, last 30 min ({total})"),
                cx.theme.muted(),
            )
            .render(label, buf);
            Sparkline::default()
                .data(newest(&cx.snap.throughput, bars.width))
                .style(cx.theme.accent())
                .render(bars, buf);
        } else if spark == 1 {
            let [label, bars] =
                Layout::horizontal([Constraint::Length(9), Constraint::Fill(1)]).areas(spark_area);
            Line::styled("per min ▕", cx.theme.muted()).render(label, buf);
            Sparkline::default()
                .data(newest(&cx.snap.throughput, bars.width))
                .style(cx.theme.accent())
                .render(bars, buf);
        }
        let mut lines = Vec::new();
        for b in &cx.snap.running {
            let mut spans = vec![Span::styled(format!("▶ {} ", b.id), cx.theme.accent())];
            let steps: Vec<String> = b.steps.iter().map(|(s, n)| format!("{s} {n}")).collect();
            spans.push(Span::raw(steps.join(" · ")));
            lines.push(Line::from(spans));
        }
        if lines.is_empty() {
            lines.push(Line::styled(
                format!(
                    "no batch running · runner {}",
                    cx.snap.status.runner.state.as_str()
                ),
                cx.theme.muted(),
            ));
        }
        for (i, l) in lines
            .into_iter()
            .enumerate()
            .take(batch_area.height as usize)
        {
            l.render(
                Rect {
                    y: batch_area.y + i as u16,
                    height: 1,
                    ..batch_area
                },
                buf,
            );
        }
        if list_area.height >= 2 {
            table::render(
                list_area,
                buf,
                &["Id", "Customer", "Batch", "Status", "Step", "Age"],
                &[
                    Constraint::Length(7),
                    Constraint::Fill(1),
                    Constraint::Length(if cx.zoomed { 15 } else { 0 }),
                    Constraint::Length(11),
                    Constraint::Length(if list_area.width >= 60 { 14 } else { 0 }),
                    Constraint::Length(4),
                ],
                &cx.snap.recent,
                cx.list,
                cx.focused,
                cx.theme,
            );
        }
    }
}
