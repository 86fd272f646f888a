//! The plan view: a success plan and its milestones, one selected for `d`, `i` and `w`.

use cutover_core::plans::MilestoneStatus;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use crate::theme::Theme;
use crate::widgets::table::{self, Col, Column, ListState, TableRow};
use cutover_core::plans::{Milestone, PlanDetail};

impl TableRow for Milestone {
    fn cols(&self, theme: &Theme) -> Vec<Col> {
        let prio = if self.priority == "critical" {
            theme.danger()
        } else {
            theme.muted()
        };
        vec![
            Col::new(self.seq.to_string()),
            Col::new(self.title.as_str()),
            Col::new(self.owner.as_str()),
            Col::new(self.priority.as_str()).style(prio),
            Col::new(self.due_on.as_str()),
            Col::new(self.status.as_str().replace('_', " "))
                .style(theme.status(self.status.as_str())),
        ]
    }
}

/// The milestone's title takes what the others leave: it is what the row is about.
const COLUMNS: [Column; 6] = [
    Column::num("#"),
    Column::text("Milestone").min(16).fill(),
    Column::text("Owner").min(8),
    Column::text("Priority").short("Prio").optional(),
    Column::num("Due"),
    Column::text("Status").min(7),
];

pub struct View<'a> {
    pub plan: Option<&'a PlanDetail>,
    /// The milestones shown: the filter's, overdue first.
    pub milestones: Vec<&'a Milestone>,
    /// The milestone filter, shown in the title.
    pub filter: &'a str,
    pub selected: usize,
    pub theme: &'a Theme,
}

impl Widget for View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let th = self.theme;
        let Some(p) = self.plan else {
            Paragraph::new("loading the plan …")
                .block(Block::bordered().title(" Plan "))
                .render(area, buf);
            return;
        };
        let filter = if self.filter.is_empty() {
            String::new()
        } else {
            format!("/{} ", self.filter)
        };
        let block = Block::bordered()
            .title(format!(" Plan {} · {} {filter}", p.id, p.title))
            .border_style(th.focus());
        let inner = block.inner(area);
        block.render(area, buf);
        let [head, list] =
            Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(inner);
        let done = p
            .milestones
            .iter()
            .filter(|m| m.status == MilestoneStatus::Completed)
            .count();
        let late = p
            .milestones
            .iter()
            .filter(|m| m.status == MilestoneStatus::Overdue)
            .count();
        Paragraph::new(vec![
            Line::from(vec![
                Span::raw(format!("{} · {} · owner {} · ", p.subject, p.kind, p.owner)),
                Span::styled(p.status.as_str(), th.status(p.status.as_str())),
            ]),
            Line::from(vec![
                Span::raw(format!(
                    "{done} of {} milestones completed",
                    p.milestones.len()
                )),
                if late > 0 {
                    Span::styled(format!(" · {late} overdue"), th.danger())
                } else {
                    Span::raw("")
                },
            ]),
        ])
        .render(head, buf);
        let state = ListState::at(self.selected);
        table::render(list, buf, &COLUMNS, &self.milestones, &state, true, th);
    }
}
