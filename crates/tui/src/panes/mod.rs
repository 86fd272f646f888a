//! The console's panes. Each renders from the polled snapshot and its own list state; none
//! queries anything.

pub mod alerts;
pub mod audit;
pub mod batches;
pub mod comms;
pub mod customer;
pub mod kpi;
pub mod migration;
pub mod plan;
pub mod plans;
pub mod quarantine;
pub mod segments;

use ratatui::widgets::Block;

use crate::snapshot::Snapshot;
use crate::theme::Theme;
use crate::widgets::table::ListState;

/// The panes, in focus order. The first four share the screen; the audit log, batches and
/// quarantine take it whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Migration,
    Segments,
    Alerts,
    Plans,
    Audit,
    Batches,
    Quarantine,
    Comms,
    Kpi,
}

impl PaneId {
    pub const ALL: [PaneId; 9] = [
        PaneId::Migration,
        PaneId::Segments,
        PaneId::Alerts,
        PaneId::Plans,
        PaneId::Audit,
        PaneId::Batches,
        PaneId::Quarantine,
        PaneId::Comms,
        PaneId::Kpi,
    ];

    /// The panes of the 2×2 grid.
    pub const GRID: [PaneId; 4] = [
        PaneId::Migration,
        PaneId::Segments,
        PaneId::Alerts,
        PaneId::Plans,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Migration => "1 Migration",
            PaneId::Segments => "2 Segments",
            PaneId::Alerts => "3 Alerts",
            PaneId::Plans => "4 Plans",
            PaneId::Audit => "5 Audit log",
            PaneId::Batches => "6 Batches",
            PaneId::Quarantine => "7 Quarantine",
            PaneId::Comms => "8 Communications",
            PaneId::Kpi => "9 KPIs",
        }
    }

    /// The views that take the whole screen and are read only while they show.
    pub fn is_view(self) -> bool {
        matches!(
            self,
            PaneId::Audit | PaneId::Batches | PaneId::Quarantine | PaneId::Comms | PaneId::Kpi
        )
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What every pane renders from.
pub struct PaneCtx<'a> {
    pub snap: &'a Snapshot,
    pub list: &'a ListState,
    pub filter: &'a str,
    pub focused: bool,
    pub zoomed: bool,
    pub theme: &'a Theme,
    /// The escalation ladder, for the alerts' countdowns.
    pub ladder: &'a [cutover_core::config::EscalationLevel],
    /// The alert rules whose alerts do not climb (`climbs = false`): no countdown.
    pub stays: &'a [String],
    /// The programme calendar of the snapshot's waves, when there is a programme.
    pub calendar: Option<&'a cutover_core::calendar::Calendar>,
}

/// The pane's frame: title, filter, focus.
pub fn frame<'a>(id: PaneId, cx: &PaneCtx, extra: String) -> Block<'a> {
    let mut title = format!(" {} ", id.title());
    if !extra.is_empty() {
        title.push_str(&format!("{extra} "));
    }
    if !cx.filter.is_empty() {
        title.push_str(&format!("/{} ", cx.filter));
    }
    let b = Block::bordered().title(title);
    if cx.focused {
        b.border_style(cx.theme.focus())
            .title_style(cx.theme.focus())
    } else {
        b.border_style(cx.theme.muted())
    }
}

/// A pane that is one list: its frame (title, filter, focus), then the table of `rows`.
pub fn list<R: crate::widgets::table::TableRow>(
    id: PaneId,
    cx: &PaneCtx,
    cols: &[crate::widgets::table::Column],
    rows: &[R],
    area: ratatui::layout::Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    use ratatui::widgets::Widget;
    let block = frame(id, cx, String::new());
    let inner = block.inner(area);
    block.render(area, buf);
    crate::widgets::table::render(inner, buf, cols, rows, cx.list, cx.focused, cx.theme);
}

/// A wave's `failed/quarantined/rolled back`, short `1.2k/3/0`, in the warning colour when any.
pub fn held(
    s: &cutover_core::engine::status::SegmentStatus,
    theme: &Theme,
) -> crate::widgets::table::Col {
    use crate::widgets::num::count;
    let n = s.failed + s.quarantined + s.rolled_back;
    crate::widgets::table::Col::new(format!("{}/{}/{}", s.failed, s.quarantined, s.rolled_back))
        .or_short(format!(
            "{}/{}/{}",
            count(s.failed),
            count(s.quarantined),
            count(s.rolled_back)
        ))
        .style(if n > 0 { theme.warn() } else { theme.muted() })
}

/// Truncates to `n` characters with an ellipsis.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "…"
    }
}

/// A compact age from an RFC 3339 time stored in the state database.
pub fn age_since(t: &str) -> String {
    cutover_core::clock::parse(t).map_or_else(
        || "-".into(),
        |t| cutover_core::clock::age((chrono::Utc::now() - t).num_seconds()),
    )
}
