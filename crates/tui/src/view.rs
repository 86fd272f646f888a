//! Drawing the console: the grid of panes (or a zoomed pane, the customer or plan view), the
//! header, the message line, the footer and overlays.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::app::{App, InputFor, MIN_SIZE, Mode};
use crate::panes::{self, PaneCtx, PaneId};
use crate::snapshot::Snapshot;

impl App {
    /// Draws the whole console.
    pub fn render(&self, f: &mut Frame) {
        self.draw(f);
        // Data from the source is drawn as it is; whatever it holds that could reorder or
        // control the terminal is taken out of the frame here, once, for every pane.
        crate::widgets::scrub(f.buffer_mut());
    }

    fn draw(&self, f: &mut Frame) {
        let area = f.area();
        let small = area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1;
        self.too_small.set(small);
        if small {
            let msg = format!(
                "terminal too small: {}×{}, cutover needs {}×{}. Enlarge it, or press q to quit.",
                area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
            );
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .render(area, f.buffer_mut());
            return;
        }
        let [header, body, message, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        // Read once a frame, for the header and the Segments pane.
        let calendar = self.calendar();
        self.render_header(header, calendar.as_ref(), f);
        // The plan view stays under what is typed or shown over it while a plan is open.
        let in_plan = matches!(
            self.mode,
            Mode::Plan(_)
                | Mode::Input {
                    purpose: InputFor::Reassign(_),
                    ..
                }
        ) || (self.plan_id.is_some()
            && self.plan.is_some()
            && matches!(self.mode, Mode::Filter | Mode::Help | Mode::Command { .. }));
        match (&self.snap, &self.mode) {
            _ if in_plan => panes::plan::View {
                plan: self.plan.as_ref(),
                milestones: self.visible_milestones(),
                filter: &self.plan_filter,
                selected: self.plan_sel,
                theme: &self.theme,
            }
            .render(body, f.buffer_mut()),
            (_, Mode::Customer(id)) => panes::customer::View {
                detail: self.detail.as_ref(),
                loading: id,
                scroll: self.detail_scroll,
                theme: &self.theme,
            }
            .render(body, f.buffer_mut()),
            (None, _) => Paragraph::new("reading the state database …")
                .block(Block::bordered())
                .render(body, f.buffer_mut()),
            (Some(snap), _) if self.zoomed || self.focus.is_view() => {
                self.render_pane(self.focus, snap, calendar.as_ref(), body, f)
            }
            (Some(snap), _) => {
                let [top, bottom] =
                    Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(body);
                let [a, b] =
                    Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(top);
                let [c, d] =
                    Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom);
                for (p, r) in PaneId::GRID.into_iter().zip([a, b, c, d]) {
                    self.render_pane(p, snap, calendar.as_ref(), r, f);
                }
            }
        }
        self.render_message(message, f);
        self.render_footer(footer, f);
        match &self.mode {
            Mode::Help => self.render_help(area, f),
            Mode::Confirm(c) => self.render_confirm(c, body, f),
            _ => {}
        }
    }

    fn render_pane(
        &self,
        p: PaneId,
        snap: &Snapshot,
        calendar: Option<&cutover_core::calendar::Calendar>,
        area: Rect,
        f: &mut Frame,
    ) {
        let cx = PaneCtx {
            calendar,
            snap,
            list: &self.lists[p.index()],
            filter: &self.filters[p.index()],
            focused: self.focus == p,
            zoomed: self.zoomed,
            theme: &self.theme,
            ladder: &self.ladder,
            stays: &self.stays,
        };
        let buf = f.buffer_mut();
        match p {
            PaneId::Migration => panes::migration::View(cx).render(area, buf),
            PaneId::Segments => panes::segments::View(cx).render(area, buf),
            PaneId::Alerts => panes::alerts::View(cx).render(area, buf),
            PaneId::Plans => panes::plans::View(cx).render(area, buf),
            PaneId::Audit => panes::audit::View(cx).render(area, buf),
            PaneId::Batches => panes::batches::View(cx).render(area, buf),
            PaneId::Quarantine => panes::quarantine::View(cx).render(area, buf),
            PaneId::Comms => panes::comms::View(cx).render(area, buf),
            PaneId::Kpi => panes::kpi::View(cx).render(area, buf),
        }
    }
}
