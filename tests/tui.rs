//! The console rendered on ratatui's TestBackend: snapshots of every pane at 80×24 and 120×40,
//! no panic at any size, and key sequences driving the app as an operator would.

use std::sync::Arc;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use cutover_core::alerts::Act;
use cutover_core::engine::rollback::Scope;
use cutover_core::engine::status::*;
use cutover_tui::app::{App, Command, Mode};
use cutover_tui::panes::PaneId;
use cutover_tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

mod tui_fixture;

use tui_fixture::fixture;

fn app(readonly: bool) -> App {
    let mut a = App::new(
        "RevivaTech demo".into(),
        "ops".into(),
        readonly,
        Theme::plain(),
        "2026-11-21".into(),
    );
    let cfg = cutover_core::config::Config::from_toml(
        "[workspace]\nname='t'\n[state]\nurl='sqlite::memory:'\n[source]\nurl='sqlite::memory:'\n[target]\nurl='sqlite::memory:'\n[mapping.customers]\nquery='SELECT 1'\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    a.ladder = cfg.escalation.level;
    // Day 12 of a 30-day programme.
    a.programme = Some(cutover_core::config::Programme {
        start: "2026-11-10".into(),
        days: 30,
    });
    a.today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21);
    a.on_snapshot(Arc::new(fixture()));
    a
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.render(f)).unwrap();
    t
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn screen(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn grid_snapshots() {
    let a = app(false);
    insta::assert_snapshot!("grid_80x24", screen(&draw(&a, 80, 24)));
    insta::assert_snapshot!("grid_120x40", screen(&draw(&a, 120, 40)));
}

#[test]
fn each_pane_zoomed_at_both_sizes() {
    for (i, p) in PaneId::ALL.into_iter().enumerate() {
        let mut a = app(false);
        a.on_key(key(char::from(b'1' + i as u8)));
        a.on_key(code(KeyCode::Enter));
        assert!(a.zoomed || p.is_view());
        assert_eq!(a.focus, p);
        let name = format!("{:?}", p).to_lowercase();
        insta::assert_snapshot!(format!("{name}_80x24"), screen(&draw(&a, 80, 24)));
        insta::assert_snapshot!(format!("{name}_120x40"), screen(&draw(&a, 120, 40)));
    }
}

#[test]
fn no_panic_at_any_size_and_too_small_says_so() {
    let a = app(false);
    for w in (1..=200).step_by(7) {
        for h in (1..=60).step_by(5) {
            draw(&a, w, h);
        }
    }
    let s = screen(&draw(&a, 79, 24));
    assert!(s.contains("terminal too small"), "{s}");
    let mut small = app(false);
    draw(&small, 40, 10);
    assert_eq!(
        small.on_key(key('q')),
        vec![Command::Quit],
        "q still quits when too small"
    );
    assert!(small.on_key(key('s')).is_empty(), "nothing else does");
}

#[test]
fn rollback_asks_with_cancel_focused_and_a_batch_needs_its_id_typed() {
    let mut a = app(false);
    assert_eq!(
        a.on_key(key('r')),
        vec![Command::LoadBlast(vec![
            Scope::Customer("1100".into()),
            Scope::Batch("HIGH-VALUE-0003".into())
        ])],
        "the blast radius of each option is read before anything changes"
    );
    let Mode::Confirm(c) = &a.mode else {
        panic!("r opens a confirmation")
    };
    assert_eq!(c.focus, 0, "Cancel is focused");
    assert_eq!(c.options.len(), 3, "cancel, the customer, its batch");
    assert!(screen(&draw(&a, 80, 24)).contains("reading what it would touch"));
    a.on_blast(Scope::Customer("1100".into()), Ok(radius(1, 1).lines()));
    a.on_blast(
        Scope::Batch("HIGH-VALUE-0003".into()),
        Ok(radius(25, 2).lines()),
    );
    insta::assert_snapshot!("confirm_rollback_80x24", screen(&draw(&a, 80, 24)));
    a.on_key(code(KeyCode::Tab));
    a.on_key(code(KeyCode::Tab));
    let batch = screen(&draw(&a, 80, 24));
    assert!(
        batch.contains("25 customers (25 migrated) · 1,450 platform rows")
            || batch.contains("25 customers (25 migrated) · 1450 platform rows"),
        "{batch}"
    );
    a.on_key(code(KeyCode::Esc));
    assert!(
        a.on_key(code(KeyCode::Enter)).is_empty(),
        "Enter on Cancel does nothing"
    );
    assert_eq!(a.mode, Mode::Normal);

    a.on_key(key('r'));
    a.on_key(code(KeyCode::Tab));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::Rollback(Scope::Customer("1100".into()))]
    );

    a.on_key(key('r'));
    a.on_key(code(KeyCode::Tab));
    a.on_key(code(KeyCode::Tab));
    assert!(
        a.on_key(code(KeyCode::Enter)).is_empty(),
        "the batch needs its id typed"
    );
    for ch in "HIGH-VALUE-0003".chars() {
        a.on_key(key(ch));
    }
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::Rollback(Scope::Batch("HIGH-VALUE-0003".into()))]
    );
}

/// A blast radius as `blast_radius` would read it for `n` customers.
fn radius(n: i64, told: i64) -> cutover_core::engine::rollback::BlastRadius {
    use cutover_core::engine::rollback::{BlastRadius, EntityRows};
    BlastRadius {
        scope: "batch HIGH-VALUE-0003".into(),
        customers: n,
        migrated: n,
        rows: [
            "customers",
            "devices",
            "repairs",
            "payments",
            "communications",
        ]
        .iter()
        .zip([1, 2, 25, 17, 13])
        .map(|(e, k)| EntityRows {
            entity: e.to_string(),
            rows: n * k,
        })
        .collect(),
        batches: vec!["HIGH-VALUE-0003".into()],
        waves: vec!["High-value".into()],
        told_moved: told,
        estimate_seconds: Some(n as f64 / 120.0),
        measured_per_second: Some(120.0),
    }
}

#[test]
fn the_segments_pane_offers_a_wave_rollback_with_the_wave_typed() {
    let mut a = app(false);
    a.on_key(key('2'));
    assert_eq!(
        a.on_key(key('r')),
        vec![Command::LoadBlast(vec![Scope::Segment("VIP".into())])]
    );
    a.on_blast(Scope::Segment("VIP".into()), Ok(radius(89, 89).lines()));
    a.on_key(code(KeyCode::Tab));
    insta::assert_snapshot!("confirm_wave_rollback_80x24", screen(&draw(&a, 80, 24)));
    assert!(
        a.on_key(code(KeyCode::Enter)).is_empty(),
        "the wave's name first"
    );
    for ch in "VIP".chars() {
        a.on_key(key(ch));
    }
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::Rollback(Scope::Segment("VIP".into()))]
    );
}

#[test]
fn halt_needs_halt_typed() {
    let mut a = app(false);
    a.on_key(key('X'));
    a.on_key(code(KeyCode::Tab));
    assert!(a.on_key(code(KeyCode::Enter)).is_empty());
    let Mode::Confirm(c) = &a.mode else {
        panic!("still confirming")
    };
    assert!(c.error.as_deref().unwrap_or("").contains("type HALT"));
    for ch in "HALT".chars() {
        a.on_key(key(ch));
    }
    assert_eq!(a.on_key(code(KeyCode::Enter)), vec![Command::Halt]);
}

#[test]
fn readonly_hides_and_refuses_writes() {
    let mut a = app(true);
    let s = screen(&draw(&a, 160, 48));
    assert!(!s.contains("rollback") && !s.contains("halt"), "{s}");
    assert!(s.contains("READ-ONLY"));
    for c in ['s', 'p', 'r', 'X'] {
        assert!(a.on_key(key(c)).is_empty(), "{c} refused");
        assert_eq!(a.mode, Mode::Normal);
    }
}

/// Every write key of the Alerts pane too: refused with a clear message, no input opened, and
/// none of them in the footer.
#[test]
fn readonly_refuses_every_alert_and_plan_action() {
    let mut a = app(true);
    a.on_key(key('3'));
    assert_eq!(a.focus, PaneId::Alerts);
    let s = screen(&draw(&a, 160, 48));
    // The footer: the Service column's "ack 1h" is a deadline, not a key.
    let footer = s.lines().last().unwrap_or_default();
    for hint in ["ack", "escalate", "resolve", "snooze", "own", "plan"] {
        assert!(!footer.contains(&format!(" {hint} ")), "{hint} shown: {s}");
    }
    for c in ['a', 'e', 'x', 'z', 'o', 'n', 'd', 'i', 'w'] {
        assert!(a.on_key(key(c)).is_empty(), "{c} refused");
        assert_eq!(a.mode, Mode::Normal, "{c} opened nothing");
        let s = screen(&draw(&a, 160, 48));
        assert!(s.contains("read-only console"), "{c}: {s}");
        assert!(!s.contains("readonly database"), "{c}: {s}");
    }
}

#[test]
fn navigation_filter_and_customer_view() {
    let mut a = app(false);
    a.on_key(code(KeyCode::Tab));
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.focus, PaneId::Alerts);
    a.on_key(key('j'));
    a.on_key(code(KeyCode::Enter)); // zoom
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::LoadCustomer("1694".into())]
    );
    assert_eq!(a.mode, Mode::Customer("1694".into()));
    a.on_detail(Some(CustomerDetail {
        legacy_id: "1694".into(),
        name: "Zoë Jørgensen".into(),
        segment: "Inactive".into(),
        tier: Some("Trial".into()),
        owner: Some("li.wei".into()),
        status: "quarantined".into(),
        reason: Some("non_negative:payments.amount: payments 812: amount = -12.5".into()),
        findings: vec![Finding {
            rule: "non_negative:payments.amount".into(),
            severity: "block".into(),
            detail: "payments 812: amount = -12.5".into(),
        }],
        steps: vec![StepRow {
            step: "backup".into(),
            started_at: "2026-11-21T08:00:00.000Z".into(),
            finished_at: "2026-11-21T08:00:00.100Z".into(),
            outcome: "ok".into(),
            detail: None,
            worker: Some("jump1:4242".into()),
        }],
        validations: vec![Validation {
            entity: "customers".into(),
            source_count: 1,
            target_count: 1,
            source_checksum: "a".repeat(64),
            target_checksum: "a".repeat(64),
            ok: 1,
        }],
        ..Default::default()
    }));
    insta::assert_snapshot!("customer_80x24", screen(&draw(&a, 80, 24)));
    insta::assert_snapshot!("customer_120x40", screen(&draw(&a, 120, 40)));
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.mode, Mode::Normal);
    a.on_key(code(KeyCode::Esc));
    assert!(!a.zoomed);
    a.on_key(key('/'));
    let cmds: Vec<Command> = "zoë".chars().flat_map(|c| a.on_key(key(c))).collect();
    let Some(Command::SetView(v)) = cmds.last() else {
        panic!("filtering asks for a new view")
    };
    assert_eq!(v.alerts_filter, "zoë");
    a.on_key(code(KeyCode::Enter));
    a.on_key(key('?'));
    assert!(
        screen(&draw(&a, 80, 24)).contains("halt everything"),
        "help lists the keymap"
    );
}

#[test]
fn triage_keys_act_on_the_selected_alert() {
    let mut a = app(false);
    a.on_key(key('3'));
    assert_eq!(
        a.on_key(key('a')),
        vec![Command::AlertAct(7, Act::Acknowledge)]
    );
    a.on_key(key('j'));
    assert_eq!(
        a.on_key(key('o')),
        vec![Command::AlertAct(3, Act::TakeOwnership)]
    );
    a.on_key(key('e'));
    assert!(
        a.on_key(code(KeyCode::Enter)).is_empty(),
        "an escalation needs a note"
    );
    let Mode::Input { error, .. } = &a.mode else {
        panic!("still asking")
    };
    assert_eq!(error.as_deref(), Some("a note is required"));
    for c in "customer called twice".chars() {
        a.on_key(key(c));
    }
    insta::assert_snapshot!("escalate_note_80x24", screen(&draw(&a, 80, 24)));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::AlertAct(
            3,
            Act::Escalate("customer called twice".into())
        )]
    );
    a.on_key(key('z'));
    for c in "soon".chars() {
        a.on_key(key(c));
    }
    assert!(
        a.on_key(code(KeyCode::Enter)).is_empty(),
        "a snooze needs a duration and a reason"
    );
    for _ in 0..4 {
        a.on_key(code(KeyCode::Backspace));
    }
    for c in "4h waiting on the customer".chars() {
        a.on_key(key(c));
    }
    let cmds = a.on_key(code(KeyCode::Enter));
    let [Command::AlertAct(3, Act::Snooze(until, reason))] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(reason, "waiting on the customer");
    let hours = (*until - Utc::now()).num_minutes();
    assert!((239..=240).contains(&hours), "{hours}");
    a.on_key(key('1'));
    assert!(
        a.on_key(key('a')).is_empty(),
        "triage keys need the Alerts pane"
    );
}

#[test]
fn plan_view_marks_and_reassigns_milestones_and_n_opens_a_recovery_plan() {
    let mut a = app(false);
    a.on_key(key('4'));
    a.on_key(code(KeyCode::Enter));
    a.on_key(key('j'));
    assert_eq!(a.on_key(code(KeyCode::Enter)), vec![Command::LoadPlan(1)]);
    let ms = |i: i64, status: &str| cutover_core::plans::Milestone {
        id: 10 + i,
        seq: i,
        title: ["Discovery and planning", "Technical setup", "Go-live"][(i - 1) as usize].into(),
        owner: "li.wei".into(),
        priority: if i == 3 {
            "critical".into()
        } else {
            "high".into()
        },
        due_on: format!("2026-11-{:02}", 10 + i * 5),
        status: cutover_core::plans::MilestoneStatus::parse(status).unwrap(),
    };
    a.on_plan(Some(cutover_core::plans::PlanDetail {
        id: 1,
        subject: "1007".into(),
        title: "Onboarding 1007".into(),
        kind: "onboarding".into(),
        status: cutover_core::plans::PlanStatus::Active,
        owner: "li.wei".into(),
        milestones: vec![ms(1, "completed"), ms(2, "overdue"), ms(3, "pending")],
    }));
    insta::assert_snapshot!("plan_80x24", screen(&draw(&a, 80, 24)));
    insta::assert_snapshot!("plan_120x40", screen(&draw(&a, 120, 40)));
    // The overdue milestone sorts first and is selected.
    assert_eq!(
        a.on_key(key('d')),
        vec![Command::Milestone(12, Some("completed".into()), None)]
    );
    assert_eq!(
        a.on_key(key('i')),
        vec![Command::Milestone(12, Some("in_progress".into()), None)]
    );
    a.on_key(key('w'));
    for c in "sofia.rossi".chars() {
        a.on_key(key(c));
    }
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::Milestone(12, None, Some("sofia.rossi".into()))]
    );
    assert_eq!(a.mode, Mode::Plan(1), "back in the plan view");
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.mode, Mode::Normal);
    a.on_key(key('3'));
    assert_eq!(
        a.on_key(key('n')),
        vec![Command::OpenRecovery("1412".into())]
    );
    // On an expansion opportunity's alert, `n` opens a growth plan instead.
    let rule = a.snap.as_ref().unwrap().alerts[0].rule.clone();
    a.opportunities = vec![rule.clone()];
    assert_eq!(a.on_key(key('n')), vec![Command::OpenGrowth("1412".into())]);
    // An alert whose rule does not climb shows its level without a countdown.
    let first = a.snap.as_ref().unwrap().alerts[0].clone();
    let climbing = cutover_tui::panes::alerts::level_cell(&first, &a.ladder, true);
    assert!(
        climbing.starts_with("L1 ") && climbing.len() > 3,
        "{climbing}"
    );
    assert_eq!(
        cutover_tui::panes::alerts::level_cell(&first, &a.ladder, false),
        "L1"
    );
    a.stays = vec![rule];
    let shown = screen(&draw(&a, 80, 24));
    assert!(!shown.contains(&climbing), "{shown}");
}

/// `n` on a customer offers the templates, Cancel focused; the one chosen opens its plan.
#[test]
fn n_on_a_customer_picks_a_plan_template() {
    let mut a = app(false);
    a.on_key(key('3'));
    a.on_key(code(KeyCode::Enter));
    a.on_key(code(KeyCode::Enter));
    assert_eq!(a.mode, Mode::Customer("1412".into()));
    assert!(a.on_key(key('n')).is_empty());
    let s = screen(&draw(&a, 80, 24));
    for t in ["Cancel", "Onboarding", "Recovery", "Growth"] {
        assert!(s.contains(t), "{t}: {s}");
    }
    a.on_key(code(KeyCode::Right));
    a.on_key(code(KeyCode::Right));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::OpenPlan("1412".into(), "recovery")]
    );
}

#[test]
fn an_unreadable_state_database_shows_a_banner_with_retries_and_data_age() {
    let mut a = app(false);
    a.on_poll_error(
        "state database: error communicating with database: Connection refused (os error 111)"
            .into(),
        3,
        42,
    );
    let s = screen(&draw(&a, 80, 24));
    assert!(
        s.contains("⚠ state database unreadable · 3 polls failed, retrying · data 42s old"),
        "{s}"
    );
    // The next good poll takes the banner down.
    a.on_snapshot(Arc::new(fixture()));
    let s = screen(&draw(&a, 80, 24));
    assert!(!s.contains("unreadable"), "{s}");
}

#[test]
fn the_command_line_completes_remembers_and_names_what_it_cannot_run() {
    let mut a = app(false);
    a.on_key(key(':'));
    assert!(matches!(a.mode, Mode::Command { .. }));
    for c in "al".chars() {
        a.on_key(key(c));
    }
    a.on_key(code(KeyCode::Tab));
    let Mode::Command { text, .. } = &a.mode else {
        panic!("still typing")
    };
    assert_eq!(text, "alerts ");
    assert!(a.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        (a.focus, a.zoomed, &a.mode),
        (PaneId::Alerts, true, &Mode::Normal)
    );

    // Typed text never runs a key's command: `q`, `r`, `s` are letters here.
    a.on_key(key(':'));
    for c in "qrs".chars() {
        assert!(a.on_key(key(c)).is_empty());
    }
    assert_eq!(a.on_key(code(KeyCode::Enter)), vec![]);
    let shown = screen(&draw(&a, 80, 24));
    assert!(shown.contains(":qrs: no such command"), "{shown}");
    a.on_key(code(KeyCode::Esc));

    a.on_key(key(':'));
    for c in "rollback batch VIP-0002".chars() {
        a.on_key(key(c));
    }
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::LoadBlast(vec![Scope::Batch("VIP-0002".into())])]
    );
    assert!(matches!(a.mode, Mode::Confirm(_)), "a command asks too");
    a.on_key(code(KeyCode::Esc));

    // ↑ brings back the last line run.
    a.on_key(key(':'));
    a.on_key(code(KeyCode::Up));
    let Mode::Command { text, .. } = &a.mode else {
        panic!("still typing")
    };
    assert_eq!(text, "rollback batch VIP-0002");
    a.on_key(code(KeyCode::Up));
    let Mode::Command { text, .. } = &a.mode else {
        panic!("still typing")
    };
    assert_eq!(text, "alerts");
    a.on_key(code(KeyCode::Esc));

    a.on_key(key(':'));
    for c in "customer 1053".chars() {
        a.on_key(key(c));
    }
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::LoadCustomer("1053".into())]
    );
    assert_eq!(a.mode, Mode::Customer("1053".into()));
    a.on_key(key(':'));
    a.on_key(key('q'));
    assert_eq!(a.on_key(code(KeyCode::Enter)), vec![Command::Quit]);
}

#[test]
fn a_filter_starts_fresh_esc_clears_it_and_the_title_shows_it() {
    let mut a = app(false);
    a.on_key(key('1'));
    a.on_key(key('/'));
    for c in "Zoë".chars() {
        a.on_key(key(c));
    }
    a.on_key(code(KeyCode::Enter));
    assert_eq!(a.filters[0], "Zoë");
    assert!(
        screen(&draw(&a, 80, 24)).contains("/Zoë"),
        "the title shows it"
    );
    // A second `/` starts a new filter instead of appending to the old one.
    let cmds = a.on_key(key('/'));
    assert_eq!(a.filters[0], "");
    assert!(matches!(cmds.last(), Some(Command::SetView(v)) if v.recent_filter.is_empty()));
    a.on_key(key('x'));
    assert_eq!(a.filters[0], "x");
    // Esc while typing clears it.
    let cmds = a.on_key(code(KeyCode::Esc));
    assert_eq!((a.filters[0].as_str(), &a.mode), ("", &Mode::Normal));
    assert!(matches!(cmds.last(), Some(Command::SetView(v)) if v.recent_filter.is_empty()));
}

#[test]
fn typing_in_the_plan_view_filters_milestones_and_runs_nothing() {
    let mut a = app(false);
    a.on_key(key('4'));
    a.on_key(code(KeyCode::Enter));
    a.on_key(code(KeyCode::Enter));
    let ms = |i: i64, status: &str| cutover_core::plans::Milestone {
        id: 10 + i,
        seq: i,
        title: ["Discovery", "Technical setup", "Go-live"][(i - 1) as usize].into(),
        owner: "li.wei".into(),
        priority: "high".into(),
        due_on: format!("2026-11-{:02}", 10 + i * 5),
        status: cutover_core::plans::MilestoneStatus::parse(status).unwrap(),
    };
    a.on_plan(Some(cutover_core::plans::PlanDetail {
        id: 0,
        subject: "1002".into(),
        title: "Onboarding 1002".into(),
        kind: "onboarding".into(),
        status: cutover_core::plans::PlanStatus::Active,
        owner: "li.wei".into(),
        milestones: vec![ms(1, "pending"), ms(2, "overdue"), ms(3, "pending")],
    }));
    let typed: Vec<Command> = "/mine".chars().flat_map(|c| a.on_key(key(c))).collect();
    assert!(typed.is_empty(), "nothing runs while typing: {typed:?}");
    assert_eq!(a.plan_filter, "mine");
    a.on_key(code(KeyCode::Esc));
    a.on_key(key('/'));
    for c in "overdue".chars() {
        a.on_key(key(c));
    }
    a.on_key(code(KeyCode::Enter));
    assert_eq!(a.mode, Mode::Plan(0));
    let shown: Vec<i64> = a.visible_milestones().iter().map(|m| m.id).collect();
    assert_eq!(shown, vec![12]);
    let s = screen(&draw(&a, 80, 24));
    assert!(s.contains("/overdue"), "{s}");
    // Esc clears the filter first, then leaves the plan.
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.visible_milestones().len(), 3);
    assert_eq!(a.mode, Mode::Plan(0));
}

#[test]
fn help_is_grouped_scrolls_and_closes_only_on_esc_question_mark_or_q() {
    let mut a = app(false);
    a.on_key(key('?'));
    let first = screen(&draw(&a, 80, 24));
    assert!(first.contains("Everywhere"), "{first}");
    insta::assert_snapshot!("help_80x24", first);
    insta::assert_snapshot!("help_120x40", screen(&draw(&a, 120, 40)));
    a.on_key(key('x'));
    assert_eq!(a.mode, Mode::Help, "a stray key does not close it");
    for _ in 0..60 {
        a.on_key(key('j'));
    }
    let end = screen(&draw(&a, 80, 24));
    for want in ["in progress", "reassign", ":rollback", ":quarantine"] {
        assert!(end.contains(want), "{want} reachable by scrolling: {end}");
    }
    assert!(end.lines().all(|l| l.chars().count() <= 80));
    a.on_key(code(KeyCode::Esc));
    for close in [code(KeyCode::Esc), key('?'), key('q')] {
        a.on_key(key('?'));
        assert_eq!(a.mode, Mode::Help);
        assert!(a.on_key(close).is_empty(), "closing is not quitting");
        assert_eq!(a.mode, Mode::Normal);
    }
}

#[test]
fn batches_and_quarantine_views_list_and_act() {
    let mut a = app(false);
    for (k, name) in [
        ('6', "batches"),
        ('7', "quarantine"),
        ('8', "communications"),
        ('9', "kpis"),
    ] {
        let cmds = a.on_key(key(k));
        let Some(Command::SetView(v)) = cmds.last() else {
            panic!("the view is read only while it shows")
        };
        assert_eq!(v.batches_filter.is_some(), k == '6');
        assert_eq!(v.quarantine_filter.is_some(), k == '7');
        assert_eq!(v.comms_filter.is_some(), k == '8');
        assert_eq!(v.kpi_filter.is_some(), k == '9');
        let shown = screen(&draw(&a, 80, 24));
        assert!(shown.to_lowercase().contains(name), "{shown}");
    }
    a.on_key(key('6'));
    a.on_key(key('j'));
    assert_eq!(
        a.on_key(key('r')),
        vec![Command::LoadBlast(vec![Scope::Batch("VIP-0002".into())])]
    );
    a.on_key(code(KeyCode::Esc));
    a.on_key(key('7'));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        vec![Command::LoadCustomer("1630".into())],
        "a view takes the screen already: Enter opens the customer"
    );
}

#[test]
fn the_header_says_the_programme_day_and_segments_say_where_each_wave_stands() {
    let mut a = app(false);
    a.on_key(key('2'));
    a.on_key(code(KeyCode::Enter));
    let s = screen(&draw(&a, 120, 40));
    assert!(s.contains("day 12 of 30"), "{s}");
    // VIP (days 11–13) has its 25 rolled-back customers left: 12.5 a day over days 12 and 13.
    assert!(s.contains("on time · 13/day"), "{s}");
    let mut late = app(false);
    late.today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30);
    let s = screen(&draw(&late, 120, 40));
    assert!(s.contains("day 21 of 30"), "{s}");
    assert!(
        s.contains(" behind)"),
        "the header counts waves behind: {s}"
    );
    // At 80 columns the header gives up the operator and the workspace, never a number.
    let narrow = screen(&draw(&late, 80, 24));
    let top = narrow.lines().next().unwrap();
    assert!(
        top.contains("day 21 of 30 (") && top.trim_end().ends_with("behind)"),
        "{top}"
    );
    assert!(!top.contains("amara"), "{top}");
}
