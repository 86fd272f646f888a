//! Migration: overall gauge, one row per wave (segment) with rate and ETA, a throughput
//! sparkline from step timestamps, the running batches by step, and the customers in flight or
//! recently settled (the selection `r` acts on).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Sparkline, Widget};

use super::{PaneCtx, PaneId, age_since, frame, held};
use crate::theme::Theme;
use crate::widgets::num;
use crate::widgets::table::{self, Col, Column, TableRow};
use cutover_core::engine::RunnerState;
use cutover_core::engine::status::{Eta, RecentRow, SegmentStatus};

impl TableRow for RecentRow {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        vec![
            Col::new(self.legacy_id.as_str()),
            Col::new(self.name.as_str()),
            Col::new(self.batch_id.clone().unwrap_or_default()).style(theme.muted()),
            Col::new(self.status.as_str()).style(theme.status(&self.status)),
            Col::new(self.step.clone().unwrap_or_default()),
            Col::new(age_since(&self.updated_at)).style(theme.muted()),
        ]
    }
}

/// The customer list's columns: ids and batch ids are never cut (batches would look alike),
/// the batch and step go first when space runs out.
const RECENT: [Column; 6] = [
    Column::num("Id"),
    Column::text("Customer").fill(),
    Column::num("Batch").optional(),
    Column::text("Status").min(8),
    Column::text("Step").optional(),
    Column::num("Age"),
];

struct Wave<'a> {
    s: &'a SegmentStatus,
    wide: bool,
    runner: RunnerState,
}

/// `migrated/customers`, short `11.9k/11.9k`.
fn done(s: &SegmentStatus) -> Col {
    Col::new(format!("{}/{}", s.migrated, s.customers)).or_short(format!(
        "{}/{}",
        num::count(s.migrated),
        num::count(s.customers)
    ))
}

impl TableRow for Wave<'_> {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let s = self.s;
        let eta = s.eta(self.runner);
        let eta_style = match eta {
            Eta::Done => theme.ok(),
            Eta::Paused | Eta::Held => theme.warn(),
            Eta::Halted => theme.danger(),
            _ => Style::new(),
        };
        let rate = Col::new(num::rate(s.rate_per_min)).or_short(num::rate_short(s.rate_per_min));
        let bad = |n: i64, style| if n > 0 { style } else { theme.muted() };
        if !self.wide {
            return vec![
                Col::new(s.name.as_str()),
                done(s).style(theme.ok()),
                held(s, theme),
                rate,
                Col::new(eta.to_string()).style(eta_style),
            ];
        }
        vec![
            Col::new(s.name.as_str()),
            done(s).style(theme.ok()),
            Col::count(s.failed).style(bad(s.failed, theme.danger())),
            Col::count(s.quarantined).style(bad(s.quarantined, theme.warn())),
            Col::count(s.rolled_back).style(bad(s.rolled_back, theme.warn())),
            Col::count(s.running),
            rate,
            Col::new(eta.to_string()).style(eta_style),
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
        // The most that fits: words first, then letters for the counts, then short forms
        // with their units; never a number cut.
        let n = |x: i64| x.to_string();
        let k = |x: i64| num::count(x);
        let labels = [
            format!(
                "{}/{} migrated · {} failed · {} quarantined · {} rolled back · {pct:.0}% settled",
                c.migrated, c.total, c.failed, c.quarantined, c.rolled_back
            ),
            format!(
                "{}/{} migrated · {}F {}Q {}RB · {pct:.0}%",
                n(c.migrated),
                n(c.total),
                n(c.failed),
                n(c.quarantined),
                n(c.rolled_back)
            ),
            format!(
                "{}/{} migrated · {}F {}Q {}RB · {pct:.0}%",
                k(c.migrated),
                k(c.total),
                k(c.failed),
                k(c.quarantined),
                k(c.rolled_back)
            ),
            format!(
                "{}/{} · {}F {}Q {}RB",
                k(c.migrated),
                k(c.total),
                k(c.failed),
                k(c.quarantined),
                k(c.rolled_back)
            ),
            format!("{}/{}", k(c.migrated), k(c.total)),
        ];
        let label = labels
            .iter()
            .find(|l| Line::raw(l.as_str()).width() <= gauge.width as usize)
            .cloned()
            .unwrap_or_default();
        Gauge::default()
            .ratio((pct / 100.0).clamp(0.0, 1.0))
            .label(label)
            .gauge_style(cx.theme.ok())
            .render(gauge, buf);
        let wide = wave_area.width >= 60;
        let runner = cx.snap.status.runner.state;
        let rows: Vec<Wave> = cx
            .snap
            .status
            .segments
            .iter()
            .map(|s| Wave { s, wide, runner })
            .collect();
        let cols: &[Column] = if wide {
            &[
                Column::text("Wave").fill(),
                Column::num("Done"),
                Column::num("Failed"),
                Column::num("Quarant.").short("Q"),
                Column::num("Rolled back").short("RB"),
                Column::num("Running").short("Run"),
                Column::num("Rate/min").short("/min"),
                Column::num("ETA"),
            ]
        } else {
            &[
                Column::text("Wave").fill(),
                Column::num("Done"),
                Column::num("F/Q/RB"),
                Column::num("/min"),
                Column::num("ETA"),
            ]
        };
        table::render(
            wave_area,
            buf,
            cols,
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
                &RECENT,
                &cx.snap.recent,
                cx.list,
                cx.focused,
                cx.theme,
            );
        }
    }
}
