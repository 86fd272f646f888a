//! The console's chrome: the header (workspace, operator, runner, data age, dead letters), the
//! message line, the footer generated from the keymap, and the help and confirmation overlays.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::app::{App, Confirm, Mode, Tone};
use super::keymap::{self, KeyMode, Scope};

impl App {
    pub(super) fn render_header(
        &self,
        area: Rect,
        calendar: Option<&cutover_core::calendar::Calendar>,
        f: &mut Frame,
    ) {
        let th = &self.theme;
        let runner = self
            .snap
            .as_ref()
            .map(|s| s.status.runner.state.as_str())
            .unwrap_or("?");
        let runner_style = match runner {
            "running" => th.ok(),
            "paused" => th.warn(),
            "halted" => th.danger(),
            _ => th.muted(),
        };
        let age = self
            .data_age
            .map_or_else(|| "-".into(), cutover_core::clock::age);
        // Each part with its rank: when the line is wider than the terminal, the highest rank
        // goes first (the operator, then the workspace, the data age), so nothing is cut.
        let mut parts: Vec<(Span, u8)> = vec![
            (Span::styled(" cutover ", th.focus()), 0),
            (Span::raw(format!("{} · ", self.workspace)), 3),
            (
                Span::raw(match &self.role {
                    Some(r) => format!("{} ({r}) · ", self.operator),
                    None => format!("{} · ", self.operator),
                }),
                4,
            ),
            (Span::raw("runner "), 0),
            (Span::styled(runner.to_uppercase(), runner_style), 0),
        ];
        if self.snap.as_ref().is_some_and(|s| s.status.runner.stale) {
            // Running in the state database, but every worker stopped beating: one was killed.
            parts.push((Span::styled(" (no live worker)", th.warn()), 0));
        }
        parts.push((Span::raw(format!(" · data {age}")), 2));
        if let Some(c) = calendar {
            let behind = c
                .waves
                .iter()
                .filter(|w| w.state == cutover_core::calendar::WindowState::Behind)
                .count();
            parts.push((
                Span::styled(format!(" · day {} of {}", c.day, c.days), th.accent()),
                1,
            ));
            if behind > 0 {
                parts.push((Span::styled(format!(" ({behind} behind)"), th.danger()), 1));
            }
        }
        if self.readonly {
            parts.push((Span::styled(" · READ-ONLY", th.warn()), 0));
        }
        if let Some(dead) = self
            .snap
            .as_ref()
            .map(|s| s.status.notifications.dead)
            .filter(|n| *n > 0)
        {
            parts.push((
                Span::styled(
                    format!(" · {dead} dead letter{}", if dead == 1 { "" } else { "s" }),
                    th.danger(),
                ),
                0,
            ));
        }
        let width = |ps: &[(Span, u8)]| ps.iter().map(|(s, _)| s.width()).sum::<usize>();
        while width(&parts) > area.width as usize {
            let Some(i) = parts
                .iter()
                .enumerate()
                .filter(|(_, (_, r))| *r > 0)
                .max_by_key(|(i, (_, r))| (*r, *i))
                .map(|(i, _)| i)
            else {
                break;
            };
            parts.remove(i);
        }
        let spans: Vec<Span> = parts.into_iter().map(|(s, _)| s).collect();
        Line::from(spans).render(area, f.buffer_mut());
    }

    /// The message line; while the state database cannot be read it is a banner instead, so
    /// that the numbers above are not taken for current.
    pub(super) fn render_message(&self, area: Rect, f: &mut Frame) {
        if let Some((e, n)) = &self.poll_error {
            let age = self
                .data_age
                .map_or_else(|| "-".into(), cutover_core::clock::age);
            // The counts first: a narrow terminal cuts the error's tail, not them.
            Line::styled(
                format!(" ⚠ state database unreadable · {n} polls failed, retrying · data {age} old · {e}"),
                self.theme.danger().add_modifier(ratatui::style::Modifier::REVERSED),
            )
            .render(area, f.buffer_mut());
            return;
        }
        if let Some((m, tone)) = &self.message {
            let style = match tone {
                Tone::Ok => self.theme.ok(),
                Tone::Bad => self.theme.danger(),
                Tone::Info => self.theme.muted(),
            };
            Line::styled(format!(" {m}"), style).render(area, f.buffer_mut());
        }
    }

    pub(super) fn render_footer(&self, area: Rect, f: &mut Frame) {
        let th = &self.theme;
        if let Mode::Input {
            prompt,
            text,
            error,
            ..
        } = &self.mode
        {
            let mut spans = vec![
                Span::styled(format!(" {prompt}: "), th.focus()),
                Span::raw(format!("{text}▏")),
            ];
            match error {
                Some(e) => spans.push(Span::styled(format!("  {e}"), th.danger())),
                None => spans.push(Span::styled(
                    format!("  {}", keymap::prompt_hints(KeyMode::Input)),
                    th.muted(),
                )),
            }
            Line::from(spans).render(area, f.buffer_mut());
            return;
        }
        if let Mode::Command { text, shown, error } = &self.mode {
            let mut spans = vec![
                Span::styled(" : ", th.focus()),
                Span::raw(format!("{text}▏")),
            ];
            match (error, shown.is_empty()) {
                (Some(e), _) => spans.push(Span::styled(format!("  {e}"), th.danger())),
                (None, false) => {
                    spans.push(Span::styled(format!("  {}", shown.join(" ")), th.accent()))
                }
                (None, true) => spans.push(Span::styled(
                    format!("  {}", keymap::prompt_hints(KeyMode::Command)),
                    th.muted(),
                )),
            }
            Line::from(spans).render(area, f.buffer_mut());
            return;
        }
        let scopes: &[Scope] = match self.mode {
            Mode::Filter => {
                let text = if self.plan_id.is_some() && self.plan.is_some() {
                    &self.plan_filter
                } else {
                    &self.filters[self.focus.index()]
                };
                let line = Line::from(vec![
                    Span::styled(" filter ", th.focus()),
                    Span::raw(format!(
                        "/{text}▏ {}",
                        keymap::prompt_hints(KeyMode::Filter)
                    )),
                ]);
                line.render(area, f.buffer_mut());
                return;
            }
            _ => keymap::footer_scopes(
                self.key_mode(),
                matches!(self.mode, Mode::Customer(_)),
                self.focus,
            ),
        };
        // Esc only matters when there is something to back out of.
        let backable = matches!(self.mode, Mode::Plan(_))
            || self.zoomed
            || matches!(self.mode, Mode::Customer(_))
            || !self.filters[self.focus.index()].is_empty();
        let mut spans = vec![Span::raw(" ")];
        let mut hints = keymap::hints(scopes, self.readonly);
        if !scopes.contains(&Scope::Global) {
            hints.extend(
                keymap::hints(&[Scope::Global], self.readonly)
                    .into_iter()
                    .filter(|(_, h)| *h == "help" || *h == "quit" || (*h == "back" && backable)),
            );
        }
        // Esc matters only with something to back out of; zoomed, Tab is room for Esc.
        hints.retain(|(_, h)| !((*h == "back" && !backable) || (*h == "pane" && self.zoomed)));
        // Too wide: the hints a user finds anyway go first (? lists them all), never quit,
        // help or the runner's safety keys.
        let width = |hs: &[(String, &str)]| -> usize {
            1 + hs
                .iter()
                .map(|(k, h)| Line::raw(k.as_str()).width() + h.len() + 2)
                .sum::<usize>()
        };
        for drop in ["open", "pane", "filter", "start", "cmd"] {
            if width(&hints) <= area.width as usize {
                break;
            }
            hints.retain(|(_, h)| *h != drop);
        }
        for (k, h) in hints {
            spans.push(Span::styled(k, th.focus()));
            spans.push(Span::raw(format!(" {h} ")));
        }
        Line::from(spans).render(area, f.buffer_mut());
    }

    /// The keys grouped by where they apply, then the commands; scrolled by `help_scroll`
    /// (clamped here, where the height is known) and sized to the terminal, 80×24 included.
    pub(super) fn render_help(&self, area: Rect, f: &mut Frame) {
        let th = &self.theme;
        let mut lines: Vec<Line> = Vec::new();
        for (scope, title) in keymap::HELP_GROUPS {
            let keys = keymap::help(scope, self.readonly);
            if keys.is_empty() {
                continue;
            }
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(title, th.header()));
            for (k, h) in keys {
                lines.push(Line::from(vec![
                    Span::styled(format!("{k:>13}  "), th.focus()),
                    Span::raw(h),
                ]));
            }
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Commands (: then Enter; Tab completes)",
            th.header(),
        ));
        for c in crate::command::COMMANDS {
            if self.readonly && c.word == "rollback" {
                continue;
            }
            lines.push(Line::from(vec![
                Span::styled(format!("{:>13}  ", format!(":{}", c.word)), th.focus()),
                Span::raw(if c.args.is_empty() {
                    c.help.to_string()
                } else {
                    format!("{} — {}", c.args, c.help)
                }),
            ]));
        }
        let width = area.width.min(100);
        let para = Paragraph::new(lines).wrap(Wrap { trim: false });
        let total = para.line_count(width.saturating_sub(2)) as u16;
        let height = (total + 2).min(area.height);
        let room = height.saturating_sub(2);
        let scroll = self.help_scroll.min(total.saturating_sub(room));
        let more = if total > room {
            format!(
                " lines {}–{} of {total} · ↑↓ PgUp PgDn ",
                scroll + 1,
                (scroll + room).min(total)
            )
        } else {
            String::new()
        };
        let r = area.centered(Constraint::Length(width), Constraint::Length(height));
        Clear.render(r, f.buffer_mut());
        para.scroll((scroll, 0))
            .block(
                Block::bordered()
                    .title(" Keys — Esc ? q close ")
                    .title_bottom(Line::from(more).right_aligned()),
            )
            .render(r, f.buffer_mut());
    }

    pub(super) fn render_confirm(&self, c: &Confirm, area: Rect, f: &mut Frame) {
        let th = &self.theme;
        let mut buttons = Vec::new();
        for (i, (label, _, _)) in c.options.iter().enumerate() {
            let style = if i == c.focus {
                th.selected()
            } else {
                Style::new()
            };
            buttons.push(Span::styled(format!("[ {label} ]"), style));
            buttons.push(Span::raw("  "));
        }
        let mut lines = vec![
            Line::raw(c.title.clone()),
            Line::raw(""),
            Line::from(buttons),
        ];
        // What the focused option would touch, read before anything changes; with Cancel
        // focused, the first rollback's.
        let shown = if c.focus == 0 { 1 } else { c.focus };
        match c.radius.get(shown) {
            Some(Some(Ok(radius))) => {
                lines.push(Line::styled(
                    format!("{} would touch:", c.options[shown].0),
                    th.warn(),
                ));
                lines.extend(radius.iter().map(|l| Line::raw(format!(" {l}"))));
            }
            Some(Some(Err(e))) => lines.push(Line::styled(e.clone(), th.danger())),
            Some(None) if matches!(c.options[shown].1, super::app::Command::Rollback(_)) => {
                lines.push(Line::styled("reading what it would touch …", th.muted()))
            }
            _ => {}
        }
        if let Some(want) = c.options.get(c.focus).and_then(|o| o.2.clone()) {
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::raw(format!("type {want}: ")),
                Span::styled(format!("{}▏", c.typed), th.focus()),
            ]));
        }
        if let Some(e) = &c.error {
            lines.push(Line::styled(e.clone(), th.danger()));
        }
        let width = area.width.min(78);
        let para = Paragraph::new(lines).wrap(Wrap { trim: true });
        let height = (para.line_count(width.saturating_sub(2)) as u16 + 2).min(area.height);
        let r = area.centered(Constraint::Length(width), Constraint::Length(height));
        Clear.render(r, f.buffer_mut());
        para.block(
            Block::bordered()
                .title(" Confirm — Tab to choose, Enter, Esc cancels ")
                .border_style(th.danger()),
        )
        .render(r, f.buffer_mut());
    }
}
