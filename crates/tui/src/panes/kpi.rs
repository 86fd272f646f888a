//! KPIs (view 9): each KPI's value against its target, met / at risk / missed, completion's
//! projection, and the trend from the daily snapshots; read only while the view shows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, list};
use crate::theme::Theme;
use crate::widgets::table::{Col, Column, TableRow};
use cutover_core::kpi::{KpiValue, Standing, shown};

impl TableRow for KpiValue {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let style = match self.standing {
            Standing::Met => theme.ok(),
            Standing::AtRisk => theme.warn(),
            Standing::Missed => theme.danger(),
            Standing::NoData => theme.muted(),
        };
        let trend = self
            .trend
            .iter()
            .rev()
            .take(4)
            .rev()
            .map(|(_, v)| shown(Some(*v), &self.unit))
            .collect::<Vec<_>>()
            .join(" → ");
        vec![
            Col::new(self.name.as_str()),
            Col::new(shown(self.value, &self.unit)).style(style),
            Col::new(format!(
                "{} {}",
                self.comparison.as_str(),
                shown(Some(self.target), &self.unit)
            )),
            Col::new(self.standing.as_str()).style(style),
            Col::new(shown(self.projection, &self.unit)).style(theme.muted()),
            Col::new(if trend.is_empty() { "-".into() } else { trend }).style(theme.muted()),
        ]
    }
}

const COLUMNS: [Column; 6] = [
    Column::text("KPI").min(8),
    Column::num("Value"),
    Column::num("Target"),
    Column::num("Standing"),
    Column::num("Projected").short("Proj").optional(),
    Column::text("Trend").fill().optional(),
];

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        list(PaneId::Kpi, cx, &COLUMNS, &cx.snap.kpis, area, buf);
    }
}
