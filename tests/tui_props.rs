//! Property: the console never panics, whatever the terminal size (1×1 to 400×150), however it
//! is resized, and whatever keys arrive in between.

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
    }
}

fn keys() -> impl Strategy<Value = KeyEvent> {
    prop_oneof![
        prop::sample::select(vec![
            'j', 'k', 'g', 'G', '1', '2', '3', '4', '5', '/', 'x', '?', 'r', 'X', 'a', 'e', 'z',
            'n'
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
