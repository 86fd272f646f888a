//! One customer in full: profile, per-entity source and target counts and checksums, the step
//! timeline with times, audit findings and audit-log entries.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::theme::Theme;
use cutover_core::engine::status::CustomerDetail;

pub struct View<'a> {
    pub detail: Option<&'a CustomerDetail>,
    pub loading: &'a str,
    pub scroll: u16,
    pub theme: &'a Theme,
}

fn short(s: &str) -> &str {
    &s[..12.min(s.len())]
}

/// The stored scores as a dated sparkline: `11-20 ▁▃▅▇█ 12-02 · 12 scores, 41–88`.
fn history(h: &[cutover_core::engine::status::HealthPoint]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let bars: String = h
        .iter()
        .map(|p| BARS[((p.score.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect();
    let lo = h.iter().map(|p| p.score).fold(f64::INFINITY, f64::min);
    let hi = h.iter().map(|p| p.score).fold(f64::NEG_INFINITY, f64::max);
    let day = |t: &str| t.get(5..10).unwrap_or(t).to_string();
    format!(
        "{} {bars} {} · {} scores, {lo:.0}–{hi:.0}",
        day(&h[0].at),
        day(&h[h.len() - 1].at),
        h.len()
    )
}

fn time(t: &str) -> &str {
    // "2026-11-21T07:52:37.811Z" → "11-21 07:52:37"
    t.get(5..19).unwrap_or(t)
}

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let Some(d) = self.detail else {
            Paragraph::new(format!("loading customer {} …", self.loading))
                .block(Block::bordered().title(" Customer "))
                .render(area, buf);
            return;
        };
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!("{} {}", d.legacy_id, d.name), th.header()),
                Span::raw("  "),
                Span::styled(d.status.clone(), th.status(&d.status)),
            ]),
            Line::raw(format!(
                "segment {} · batch {} · step {} · {} · {} · {}",
                d.segment,
                d.batch_id.as_deref().unwrap_or("-"),
                d.step.as_deref().unwrap_or("-"),
                d.account_type.as_deref().unwrap_or("-"),
                d.country.as_deref().unwrap_or("-"),
                d.email.as_deref().unwrap_or("no email"),
            )),
            Line::raw(format!(
                "tier {} · owner {} · revenue 12m {} · repairs 12m {}",
                d.tier.as_deref().unwrap_or("-"),
                d.owner.as_deref().unwrap_or("-"),
                cutover_core::schema::cents_text(d.annual_revenue_cents),
                d.repairs_12m
            )),
        ];
        if let Some(r) = &d.reason {
            lines.push(Line::styled(format!("reason: {r}"), th.danger()));
        }
        if let Some(w) = &d.warnings {
            lines.push(Line::styled(format!("warnings: {w}"), th.warn()));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "entity          source  target  source sha    target sha    ",
            th.header(),
        ));
        // Rolled back: the platform holds what its backup saw before the migration (verified
        // by the rollback), so the last validation no longer describes it.
        let rolled_back = matches!(d.status.as_str(), "rolled_back" | "rolling_back");
        if rolled_back {
            lines.push(Line::styled(
                "rolled back: the platform holds what it had before the migration (the backup's rows); \
                 the last validation is in the step timeline",
                th.warn(),
            ));
        }
        if d.validations.is_empty() || rolled_back {
            for b in &d.backups {
                lines.push(Line::raw(format!(
                    "{:<15} {:>6}  {:>6}  {:<12}  (backup: platform had {})",
                    b.entity,
                    b.source_count,
                    if rolled_back {
                        b.target_count.to_string()
                    } else {
                        "-".into()
                    },
                    short(&b.source_checksum),
                    b.target_count
                )));
            }
            if d.backups.is_empty() {
                lines.push(Line::styled("not backed up or validated yet", th.muted()));
            }
        }
        for v in d.validations.iter().filter(|_| !rolled_back) {
            lines.push(Line::from(vec![
                Span::raw(format!(
                    "{:<15} {:>6}  {:>6}  {:<12}  {:<12}  ",
                    v.entity,
                    v.source_count,
                    v.target_count,
                    short(&v.source_checksum),
                    short(&v.target_checksum)
                )),
                if v.ok != 0 {
                    Span::styled("ok", th.ok())
                } else {
                    Span::styled("MISMATCH", th.danger())
                },
            ]));
        }
        if let Some(h) = &d.health {
            lines.push(Line::raw(""));
            let prev = h
                .previous
                .map_or_else(|| "first score".into(), |p| format!("was {p:.1}"));
            lines.push(Line::from(vec![
                Span::styled("health ", th.header()),
                Span::raw(format!(
                    "{:.1} {} · {} ({prev}) · scored {}",
                    h.score,
                    h.level,
                    h.trend,
                    time(&h.scored_at)
                )),
            ]));
            if d.health_history.len() > 1 {
                lines.push(Line::from(vec![
                    Span::styled("history ", th.header()),
                    Span::styled(history(&d.health_history), th.accent()),
                ]));
            }
            lines.push(Line::styled(
                "component      value  weight  points  previous  moved",
                th.header(),
            ));
            for p in &h.parts {
                let most = h.moved_most.as_deref() == Some(p.name.as_str());
                let moved = p.moved();
                let style = if moved < 0.0 {
                    th.danger()
                } else if moved > 0.0 {
                    th.ok()
                } else {
                    th.muted()
                };
                let previous = p
                    .previous_contribution
                    .map_or_else(|| "-".into(), |c| format!("{c:.2}"));
                lines.push(Line::from(vec![
                    Span::raw(format!(
                        "{:<13} {:>6.1}  {:>5.0}%  {:>6.2}  {previous:>8}  ",
                        p.name, p.value, p.weight, p.contribution
                    )),
                    Span::styled(
                        format!("{moved:+.2}{}", if most { "  ◀ moved most" } else { "" }),
                        style,
                    ),
                ]));
            }
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "step timeline · signed copy: cutover certificate --customer {}",
                d.legacy_id
            ),
            th.header(),
        ));
        for s in &d.steps {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{} → {}  ", time(&s.started_at), time(&s.finished_at)),
                    th.muted(),
                ),
                Span::raw(format!("{:<15}", s.step)),
                Span::styled(
                    s.worker
                        .as_deref()
                        .map(|w| format!("{w}  "))
                        .unwrap_or_default(),
                    th.muted(),
                ),
                Span::styled(
                    s.outcome.clone(),
                    if s.outcome == "ok" {
                        th.ok()
                    } else {
                        th.danger()
                    },
                ),
                Span::raw(
                    s.detail
                        .as_ref()
                        .map(|d| format!("  {d}"))
                        .unwrap_or_default(),
                ),
            ]));
        }
        if !d.findings.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled("audit findings", th.header()));
            for f in &d.findings {
                let (rule, sev, detail) = (&f.rule, &f.severity, &f.detail);
                let style = if sev == "block" {
                    th.danger()
                } else {
                    th.warn()
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{sev:<5} "), style),
                    Span::raw(format!("{rule}: {detail}")),
                ]));
            }
        }
        if !d.audit.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled("audit log", th.header()));
            for a in &d.audit {
                lines.push(Line::raw(format!(
                    "{}  {}  {}  {}",
                    time(&a.at),
                    a.actor,
                    a.action,
                    a.outcome
                )));
            }
        }
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((self.scroll, 0))
            .block(
                Block::bordered()
                    .title(format!(" Customer {} ", d.legacy_id))
                    .border_style(th.focus()),
            )
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use cutover_core::engine::status::HealthPoint;

    #[test]
    fn the_health_history_is_a_dated_sparkline() {
        let h: Vec<HealthPoint> = [(20, 41.0), (25, 60.0), (30, 88.0)]
            .iter()
            .map(|(d, s)| HealthPoint {
                at: format!("2026-11-{d}T08:00:00.000Z"),
                score: *s,
            })
            .collect();
        assert_eq!(super::history(&h), "11-20 ▄▅▇ 11-30 · 3 scores, 41–88");
    }
}
