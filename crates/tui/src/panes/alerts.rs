//! Alerts: open alerts in triage order (severity, segment priority, age) with the score's move,
//! the escalation level and the time until it climbs, the time left against the tier's service
//! level (or how late it is), the owner, and the age.

use chrono::Utc;
use cutover_core::config::AlertSeverity;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, age_since, frame};
use crate::theme::Theme;
use crate::widgets::table::{self, Col, Column, TableRow};
use cutover_core::alerts::AlertView;
use cutover_core::config::EscalationLevel;

/// "80→65↓", "65", or "-".
pub fn score_move(a: &AlertView) -> String {
    match (a.previous_score, a.score) {
        (Some(p), Some(s)) => {
            let arrow = if s < p - 0.05 {
                "↓"
            } else if s > p + 0.05 {
                "↑"
            } else {
                "→"
            };
            format!("{p:.0}→{s:.0}{arrow}")
        }
        (None, Some(s)) => format!("{s:.0}"),
        _ => "-".into(),
    }
}

/// "L1 42m" (climbs in 42 minutes), "L2 ack", "L1 zz" (snoozed), "L4" (top, no timeout, or a
/// rule whose alerts do not climb: `climbs`).
pub fn level_cell(a: &AlertView, ladder: &[EscalationLevel], climbs: bool) -> String {
    let idx = (a.level.max(1) - 1) as usize;
    let name = ladder
        .get(idx)
        .map_or_else(|| format!("L{}", a.level), |l| l.name.clone());
    let now = Utc::now();
    if a.status == "acknowledged" {
        return format!("{name} ack");
    }
    if a.snoozed_until
        .as_deref()
        .and_then(cutover_core::clock::parse)
        .is_some_and(|u| u > now)
    {
        return format!("{name} zz");
    }
    match (ladder.get(idx), cutover_core::clock::parse(&a.level_since)) {
        (Some(l), Some(since)) if climbs && l.timeout_minutes > 0 && idx + 1 < ladder.len() => {
            let left = since + chrono::Duration::minutes(l.timeout_minutes as i64) - now;
            format!(
                "{name} {}",
                cutover_core::clock::age(left.num_seconds().max(0))
            )
        }
        _ => name,
    }
}

struct Row<'a> {
    a: &'a AlertView,
    ladder: &'a [EscalationLevel],
    /// The alert's rule climbs the ladder.
    climbs: bool,
    wide: bool,
    now: chrono::DateTime<Utc>,
}

impl TableRow for Row<'_> {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let a = self.a;
        let sev = match a.severity {
            AlertSeverity::Critical => theme.danger(),
            AlertSeverity::Warning => theme.warn(),
            AlertSeverity::Info => theme.muted(),
        };
        let customer = Col::new(format!("{} {}", a.legacy_id, a.name));
        let sl = a.service_level(self.now);
        let sl = Col::new(sl.cell()).style(if sl.breached() {
            theme.danger()
        } else {
            theme.muted()
        });
        let owner = Col::new(a.owner.clone().unwrap_or_default());
        if !self.wide {
            return vec![
                Col::new(level_cell(a, self.ladder, self.climbs)).style(sev),
                sl,
                customer,
                Col::new(a.rule.as_str()),
                owner,
                Col::new(score_move(a)),
            ];
        }
        vec![
            Col::new(a.severity.as_str()).style(sev),
            customer,
            Col::new(a.segment.as_str()).style(theme.muted()),
            Col::new(a.tier.clone().unwrap_or_default()).style(theme.muted()),
            Col::new(a.rule.as_str()),
            Col::new(score_move(a)),
            Col::new(level_cell(a, self.ladder, self.climbs)),
            sl,
            owner,
            Col::new(age_since(&a.opened_at)).style(theme.muted()),
            Col::new(a.detail.as_str()).style(theme.muted()),
        ]
    }
}

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        let open = cx.snap.status.alerts.open;
        let block = frame(PaneId::Alerts, cx, format!("{open} open"));
        let mut inner = block.inner(area);
        block.render(area, buf);
        // Zoomed: the customers over health levels first, with the move since the run before.
        if inner.height >= 10
            && let Some(d) = &cx.snap.health
        {
            // Whole numbers or none: the moves go first, then the levels from the last.
            let at = d.at.get(5..16).unwrap_or(&d.at).replace('T', " ");
            let fit = |moves: bool, keep: usize| {
                let parts: Vec<String> = d
                    .levels
                    .iter()
                    .take(keep)
                    .map(|(l, n)| match d.change(l) {
                        Some(c) if moves && c != 0 => format!("{l} {n} ({c:+})"),
                        _ => format!("{l} {n}"),
                    })
                    .collect();
                format!("health {at}: {}", parts.join(" · "))
            };
            let width = usize::from(inner.width);
            let n = d.levels.len();
            let line = std::iter::once(fit(true, n))
                .chain((0..=n).rev().map(|k| fit(false, k)))
                .find(|l| unicode_width::UnicodeWidthStr::width(l.as_str()) <= width)
                .unwrap_or_default();
            ratatui::widgets::Paragraph::new(line)
                .style(cx.theme.muted())
                .render(Rect { height: 1, ..inner }, buf);
            inner.y += 1;
            inner.height -= 1;
        }
        let wide = inner.width >= 100;
        let now = Utc::now();
        let rows: Vec<Row> = cx
            .snap
            .alerts
            .iter()
            .map(|a| Row {
                a,
                ladder: cx.ladder,
                climbs: !cx.stays.contains(&a.rule),
                wide,
                now,
            })
            .collect();
        // The level's countdown, the service level and the score are numbers: never cut. The
        // rule is as wide as the longest rule shown, the customer takes the rest.
        let cols: &[Column] = if wide {
            &[
                Column::text("Severity").min(4),
                Column::text("Customer").min(12),
                Column::text("Segment").optional(),
                Column::text("Tier").optional(),
                Column::text("Rule").min(10),
                Column::num("Score"),
                Column::num("Level"),
                Column::num("Service"),
                Column::text("Owner").min(12).optional(),
                Column::num("Age"),
                Column::text("Detail").fill().optional(),
            ]
        } else {
            &[
                Column::num("Level"),
                Column::num("Service"),
                Column::text("Customer").min(8).fill(),
                Column::text("Rule").min(8),
                Column::text("Owner").optional(),
                Column::num("Score").optional(),
            ]
        };
        table::render(inner, buf, cols, &rows, cx.list, cx.focused, cx.theme);
    }
}
