//! Communications (view 8): per wave and notice, when it goes and how many customers it is due
//! to, sent, delivered, failed and held, with its reach; read only while the view shows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::{PaneCtx, PaneId, list};
use crate::theme::Theme;
use crate::widgets::table::{Col, Column, TableRow};
use cutover_core::comms::NoticeStatus;

impl TableRow for NoticeStatus {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let reach = self.reach();
        let reach_style = match reach {
            Some(r) if r < 99.0 => theme.warn(),
            Some(_) => theme.ok(),
            None => theme.muted(),
        };
        let warn_if = |n: i64| if n > 0 { theme.warn() } else { theme.muted() };
        vec![
            Col::new(self.wave.as_str()),
            Col::new(self.notice.as_str()),
            Col::new(self.when.as_str()).style(theme.muted()),
            Col::count(self.due),
            Col::count(self.sent),
            Col::count(self.delivered),
            Col::count(self.failed).style(warn_if(self.failed)),
            Col::count(self.held).style(warn_if(self.held)),
            Col::new(reach.map_or_else(|| "-".into(), |r| format!("{r:.1}%")))
                .or_short(reach.map_or_else(|| "-".into(), |r| format!("{r:.0}%")))
                .style(reach_style),
        ]
    }
}

const COLUMNS: [Column; 9] = [
    Column::text("Wave").min(6),
    Column::text("Notice").min(6),
    Column::text("When").min(6).optional(),
    Column::num("Due"),
    Column::num("Sent"),
    Column::num("Delivered").short("Deliv"),
    Column::num("Failed").short("Fail"),
    Column::num("Held"),
    Column::num("Reach"),
];

pub struct View<'a>(pub PaneCtx<'a>);

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cx = &self.0;
        list(PaneId::Comms, cx, &COLUMNS, &cx.snap.comms, area, buf);
    }
}
