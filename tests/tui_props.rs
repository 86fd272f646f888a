//! Properties: the console never panics, whatever the terminal size (1×1 to 400×150), however
//! it is resized, and whatever keys arrive in between; and no number is ever cut: on random
//! snapshots at random sizes from 80×24 to 400×150, every number on screen is one of the
//! snapshot's numbers, whole or abbreviated with its unit.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use cutover_core::engine::RunnerState;
use cutover_core::engine::status::*;
use cutover_tui::app::App;
use cutover_tui::snapshot::Snapshot;
use cutover_tui::theme::Theme;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn snapshot() -> Snapshot {
    let seg = |name: &str, p: i64| SegmentStatus {
        name: name.into(),
        priority: p,
        customers: 100,
        pending: 90,
        migrated: 10,
        ..Default::default()
    };
    Snapshot {
        status: Status {
            customers: Counts {
                total: 400,
                pending: 360,
                migrated: 40,
                ..Default::default()
            },
            tiers: Vec::new(),
            segments: vec![
                seg("VIP", 1),
                seg("High-value", 2),
                seg("Regular", 3),
                seg("Inactive", 4),
            ],
            runner: RunnerStatus {
                state: RunnerState::Running,
                changed_by: None,
                changed_at: String::new(),
                reason: None,
                heartbeat_at: None,
                stale: false,
            },
            alerts: Alerts { open: 0 },
            batches: Batches::default(),
            notifications: Outbox::default(),
        },
        throughput: vec![3; 30],
        running: vec![],
        recent: (0..40)
            .map(|i| RecentRow {
                legacy_id: i.to_string(),
                name: ["Zoë", "王伟", "محمد", "अर्जुन पटेल"][i % 4].into(),
                batch_id: Some("VIP-0001".into()),
                status: "migrated".into(),
                step: Some("notify".into()),
                updated_at: "2026-11-21T08:00:00.000Z".into(),
            })
            .collect(),
        alerts: vec![],
        plans: vec![],
        audit: vec![cutover_core::engine::status::AuditRow {
            id: 1,
            at: "2026-11-21T07:50:00.123Z".into(),
            actor: "ʕ•ᴥ•ʔ".into(),
            role: "oncall".into(),
            action: "rollback".into(),
            scope: "batch VIP-0001".into(),
            reason: "confirmed in the console".into(),
            outcome: "ok".into(),
            detail: Some("25 rolled back, 0 unverified, 0.31s".into()),
        }],
        batches: vec![],
        quarantine: vec![],
        comms: vec![],
        kpis: vec![],
        health: None,
    }
}

fn keys() -> impl Strategy<Value = KeyEvent> {
    prop_oneof![
        prop::sample::select(vec![
            'j', 'k', 'g', 'G', '1', '2', '3', '4', '5', '6', '7', '/', 'x', '?', 'r', 'X', 'a',
            'e', 'z', 'n', ':'
        ])
        .prop_map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        prop::sample::select(vec![
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Backspace,
            KeyCode::PageDown
        ])
        .prop_map(|c| KeyEvent::new(c, KeyModifiers::NONE)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_across_sizes_resizes_and_keys(
        steps in prop::collection::vec(((1u16..=400, 1u16..=150), prop::collection::vec(keys(), 0..4)), 1..12)
    ) {
        let mut app = App::new("t".into(), "ops".into(), false, Theme::plain(), "2026-11-21".into());
        app.on_snapshot(Arc::new(snapshot()));
        let mut term = Terminal::new(TestBackend::new(1, 1)).unwrap();
        for ((w, h), ks) in steps {
            term.backend_mut().resize(w, h);
            term.autoresize().unwrap();
            term.draw(|f| app.render(f)).unwrap();
            for k in ks {
                app.on_key(k);
                term.draw(|f| app.render(f)).unwrap();
            }
        }
    }
}

/// A snapshot of waves only (the lists empty, so every number on screen is a wave's, a
/// total's or the chrome's), from random counts: up to 2·10^7 customers a wave.
fn waves() -> impl Strategy<Value = Snapshot> {
    let wave = (
        prop::sample::select(vec![
            "VIP",
            "High-value",
            "REST-OF-WORLD",
            "Regular customers",
        ]),
        [
            0i64..20_000_000,
            0..20_000_000,
            0..2_000_000,
            0..2_000_000,
            0..2_000_000,
            0..50_000,
        ],
        0f64..100_000.0,
        0i64..10_000_000_000,
    );
    prop::collection::vec(wave, 1..6).prop_map(|ws| {
        let mut s = snapshot();
        s.recent.clear();
        s.audit.clear();
        s.throughput = vec![0; 30];
        s.status.customers = Counts::default();
        s.status.segments = ws
            .into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    (
                        name,
                        [pending, migrated, failed, quarantined, rolled_back, running],
                        rate,
                        cents,
                    ),
                )| {
                    SegmentStatus {
                        name: format!("{name}-{i}"),
                        priority: i as i64 + 1,
                        customers: pending
                            + migrated
                            + failed
                            + quarantined
                            + rolled_back
                            + running,
                        pending,
                        running,
                        migrated,
                        failed,
                        quarantined,
                        rolled_back,
                        revenue_cents: cents,
                        target_success_rate: 90.0,
                        window_days: [1000 + i as i64, 2000 + i as i64],
                        rate_per_min: rate,
                    }
                },
            )
            .collect();
        let c = &mut s.status.customers;
        for g in &s.status.segments {
            c.total += g.customers;
            c.pending += g.pending;
            c.running += g.running;
            c.migrated += g.migrated;
            c.failed += g.failed;
            c.quarantined += g.quarantined;
            c.rolled_back += g.rolled_back;
        }
        s
    })
}

/// Every way the console may write a number of `s`: whole, or abbreviated with its unit.
fn renderings(s: &Snapshot) -> std::collections::HashSet<String> {
    use cutover_tui::widgets::num;
    let mut out = std::collections::HashSet::new();
    let count = |out: &mut std::collections::HashSet<String>, n: i64| {
        out.insert(n.to_string());
        out.insert(num::count(n));
    };
    let c = &s.status.customers;
    for n in [
        c.total,
        c.pending,
        c.running,
        c.migrated,
        c.failed,
        c.quarantined,
        c.rolled_back,
    ] {
        count(&mut out, n);
    }
    for g in &s.status.segments {
        for n in [
            g.priority,
            g.customers,
            g.pending,
            g.running,
            g.migrated,
            g.failed,
            g.quarantined,
            g.rolled_back,
            g.window_days[0],
            g.window_days[1],
        ] {
            count(&mut out, n);
        }
        out.insert(num::rate(g.rate_per_min));
        out.insert(num::rate_short(g.rate_per_min));
        out.insert(num::money(g.revenue_cents));
        out.insert(num::money_short(g.revenue_cents));
    }
    // The sparkline's label: its window and its total.
    out.insert("30".into());
    out.insert(s.throughput.iter().sum::<u64>().to_string());
    out
}

/// The numbers on screen: runs of digits (with `.` `,` and a unit suffix) standing alone,
/// split at `/`. Digits touching a letter are labels (`L1`, `d8`, `0s`, `4m`), a run before
/// `%` is a ratio, and a pane's number in its title is its key.
fn numbers_on(screen: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for line in screen.lines() {
        let cs: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < cs.len() {
            let part = |c: char| c.is_ascii_digit() || ".,kMG/".contains(c);
            if !part(cs[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < cs.len() && part(cs[i]) {
                i += 1;
            }
            let run: String = cs[start..i].iter().collect();
            let before = start.checked_sub(1).map(|k| cs[k]);
            let after = cs.get(i).copied();
            let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let title = start >= 2 && cs[start - 1] == ' ' && "┌─".contains(cs[start - 2]);
            if !run.chars().any(|c| c.is_ascii_digit())
                || glued(before)
                || (glued(after) && after != Some('…'))
                || after == Some('%')
                || title
            {
                continue;
            }
            for t in run.split('/').filter(|t| !t.is_empty()) {
                out.push((t.to_string(), after == Some('…')));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_number_is_ever_cut(
        snap in waves(),
        (w, h) in (80u16..=400, 24u16..=150),
        view in 0usize..3,
    ) {
        let allowed = renderings(&snap);
        let mut app = App::new("t".into(), "ops".into(), false, Theme::plain(), "2026-11-21".into());
        app.on_snapshot(Arc::new(snap));
        match view {
            1 => { app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)); }
            2 => {
                app.on_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE));
                app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
            }
            _ => {}
        }
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| app.render(f)).unwrap();
        let b = term.backend().buffer();
        let screen: String = (0..b.area.height)
            .map(|y| (0..b.area.width).map(|x| b[(x, y)].symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n");
        for (n, cut) in numbers_on(&screen) {
            prop_assert!(!cut, "{n}… is a number cut at {w}×{h}:\n{screen}");
            prop_assert!(allowed.contains(&n), "{n} is no number of the snapshot, whole or abbreviated, at {w}×{h}:\n{screen}");
        }
    }
}

#[test]
fn the_checker_sees_a_cut_number() {
    let found = numbers_on("│REST-OF-WO… 11908/119  2511. │\n│Wave 12.6k/3…│");
    assert!(found.contains(&("119".to_string(), false)));
    assert!(found.contains(&("2511.".to_string(), false)));
    assert!(found.contains(&("3".to_string(), true)));
    assert!(!found.iter().any(|(n, _)| n == "0"), "{found:?}");
}
