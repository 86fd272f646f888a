//! The console's test snapshot: every pane populated as a mid-migration state database would
//! have it, with long and non-Latin names, for `tests/tui.rs`.

use chrono::Utc;
use cutover_core::alerts::AlertView;
use cutover_core::clock;
use cutover_core::config::Comparison;
use cutover_core::engine::RunnerState;
use cutover_core::engine::status::*;
use cutover_core::kpi::{KpiValue, Standing};
use cutover_tui::snapshot::Snapshot;

fn ago(mins: i64) -> String {
    clock::fmt(Utc::now() - chrono::Duration::minutes(mins))
}

#[allow(clippy::too_many_arguments)]
fn seg(
    name: &str,
    p: i64,
    customers: i64,
    migrated: i64,
    failed: i64,
    quar: i64,
    running: i64,
    target: f64,
) -> SegmentStatus {
    SegmentStatus {
        name: name.into(),
        priority: p,
        customers,
        pending: customers - migrated - failed - quar - running,
        running,
        migrated,
        failed,
        quarantined: quar,
        rolled_back: 0,
        revenue_cents: customers * 123_450,
        target_success_rate: target,
        window_days: [8 + p * 3, 10 + p * 3],
        rate_per_min: if running > 0 { 12.5 } else { 0.0 },
    }
}

/// A snapshot as the poller would read it mid-migration: a wave with a rolled-back batch, one
/// with failures, quarantined customers everywhere, and a wave of 11,908 customers moving at
/// 2,511 a minute (the numbers a cut column once showed as `11908/119` and `2511.`).
pub fn fixture() -> Snapshot {
    let mut segments = vec![
        seg("VIP", 1, 116, 89, 0, 2, 0, 100.0),
        seg("High-value", 2, 123, 60, 2, 2, 25, 95.0),
        seg("Regular", 3, 274, 0, 0, 3, 0, 90.0),
        seg("Inactive", 4, 187, 0, 0, 14, 0, 85.0),
        seg("REST-OF-WORLD", 5, 11_908, 9_397, 0, 0, 0, 85.0),
    ];
    segments[0].pending = 0;
    segments[0].rolled_back = 25;
    segments[4].rate_per_min = 2511.4;
    let customers = Counts {
        total: 12_608,
        pending: 2_961,
        running: 25,
        migrated: 9_546,
        failed: 2,
        rolled_back: 25,
        quarantined: 21,
        rolling_back: 0,
    };
    let recent = (0..30)
        .map(|i| RecentRow {
            legacy_id: format!("{}", 1100 + i),
            name: ["Zoë Müller", "王伟", "محمد العلي", "Alice Smith"][i % 4].into(),
            batch_id: Some(if i < 25 {
                "HIGH-VALUE-0003".into()
            } else {
                "REST-OF-WORLD-0001".into()
            }),
            status: if i < 25 {
                "running".into()
            } else {
                "migrated".into()
            },
            step: Some(
                [
                    "backup",
                    "create_account",
                    "migrate_data",
                    "validate",
                    "notify",
                ][i % 5]
                    .into(),
            ),
            updated_at: ago(i as i64 + 1),
        })
        .collect();
    let alert = |id: i64,
                 legacy: &str,
                 name: &str,
                 segment: &str,
                 rule: &str,
                 severity: &str,
                 score: Option<(f64, f64)>,
                 detail: &str,
                 mins: i64| AlertView {
        id,
        legacy_id: legacy.into(),
        name: name.into(),
        segment: segment.into(),
        priority: 2,
        rule: rule.into(),
        severity: severity.to_string().try_into().unwrap(),
        status: "triggered".into(),
        level: 1,
        level_since: ago(mins),
        score: score.map(|s| s.1),
        previous_score: score.map(|s| s.0),
        detail: detail.into(),
        // One customer of each tier, one of them past its acknowledge deadline.
        owner: match id {
            7 => Some("amara.okafor".into()),
            3 => Some("li.wei".into()),
            _ => None,
        },
        snoozed_until: None,
        opened_at: ago(mins),
        tier: Some(
            match id {
                7 => "Enterprise",
                3 => "Mid-market",
                _ => "Small business",
            }
            .into(),
        ),
        ack_due: Some(match id {
            7 => ago(mins - 120),
            3 => ago(mins - 240),
            _ => ago(30),
        }),
        resolve_due: Some(ago(mins - 24 * 60)),
    };
    let alerts = vec![
        alert(
            7,
            "1412",
            "Ben Jones",
            "High-value",
            "migration_failed",
            "critical",
            Some((75.0, 55.5)),
            "migration failed: validate: repairs: checksum source 1a2b3c4d5e6f ≠ target 0f9e8d7c6b5a",
            3,
        ),
        alert(
            3,
            "1694",
            "Zoë Jørgensen",
            "Inactive",
            "health_drop",
            "warning",
            Some((58.0, 41.0)),
            "score fell 17.0 points (58.0 → 41.0)",
            40,
        ),
        alert(
            2,
            "1630",
            "Alice Davies",
            "Regular",
            "quarantined",
            "warning",
            None,
            "quarantined: email_format:customers.email: email \"c1630.example.com\" is not an email address",
            41,
        ),
    ];
    let plans = (0..12)
        .map(|i| PlanRow {
            id: i,
            customer: format!("{}", 1002 + i * 5),
            name: ["Zoë Müller", "王伟", "محمد العلي", "Alice Smith"][i as usize % 4].into(),
            title: format!("Onboarding {}", 1002 + i * 5),
            kind: "onboarding".into(),
            status: "active".into(),
            owner: ["amara.okafor", "li.wei"][i as usize % 2].into(),
            milestones: 5,
            completed: i % 6,
            overdue: if i % 4 == 0 { 1 } else { 0 },
            next_due: Some(format!("2026-12-{:02}", 1 + i)),
        })
        .collect();
    Snapshot {
        status: Status {
            customers,
            segments,
            tiers: Vec::new(),
            runner: RunnerStatus {
                state: RunnerState::Running,
                changed_by: Some("ops".into()),
                changed_at: ago(5),
                reason: None,
                heartbeat_at: Some(ago(0)),
                stale: false,
            },
            alerts: Alerts { open: 23 },
            batches: Batches {
                pending: 20,
                running: 1,
                done: 7,
                rolled_back: 0,
            },
            notifications: Outbox::default(),
        },
        throughput: (0..30)
            .map(|i| if i < 20 { 0 } else { (i as u64 - 19) * 3 })
            .collect(),
        running: vec![RunningBatch {
            id: "HIGH-VALUE-0003".into(),
            segment: "High-value".into(),
            owner: Some("jump1:4242".into()),
            size: 25,
            steps: vec![("create_account".into(), 10), ("migrate_data".into(), 15)],
        }],
        recent,
        alerts,
        plans,
        audit: vec![
            cutover_core::engine::status::AuditRow {
                id: 2,
                at: "2026-11-21T07:52:10.000Z".into(),
                actor: "kofi".into(),
                role: "oncall".into(),
                action: "rollback".into(),
                scope: "batch VIP-0001".into(),
                reason: "confirmed in the console".into(),
                outcome: "ok".into(),
                detail: Some("25 rolled back, 0 unverified, 0.31s".into()),
            },
            cutover_core::engine::status::AuditRow {
                id: 1,
                at: "2026-11-21T07:50:00.123Z".into(),
                actor: "amara".into(),
                role: "csm".into(),
                action: "alert escalated".into(),
                scope: "alert 17".into(),
                reason: "customer called twice".into(),
                outcome: "ok".into(),
                detail: Some("to L2 (Team lead): customer called twice".into()),
            },
        ],
        batches: vec![
            BatchRow {
                id: "HIGH-VALUE-0003".into(),
                wave: "High-value".into(),
                state: "running".into(),
                customers: 25,
                migrated: 0,
                rows: 1_204,
                started: Some("2026-11-21T07:58:01.000Z".into()),
                finished: None,
                worker: Some("jump1:4242".into()),
            },
            BatchRow {
                id: "VIP-0002".into(),
                wave: "VIP".into(),
                state: "rolled_back".into(),
                customers: 25,
                migrated: 0,
                rows: 408,
                started: Some("2026-11-21T07:40:11.000Z".into()),
                finished: Some("2026-11-21T07:52:10.000Z".into()),
                worker: Some("rollback:jump1:4300".into()),
            },
            BatchRow {
                id: "REST-OF-WORLD-0001".into(),
                wave: "REST-OF-WORLD".into(),
                state: "done".into(),
                customers: 5_000,
                migrated: 5_000,
                rows: 1_234_567,
                started: Some("2026-11-21T06:00:00.000Z".into()),
                finished: Some("2026-11-21T06:02:03.000Z".into()),
                worker: Some("jump2:77".into()),
            },
        ],
        quarantine: vec![
            QuarantineRow {
                customer: "1630".into(),
                name: "Alice Davies".into(),
                wave: "Regular".into(),
                rule: "email_format:customers.email".into(),
                detail: "email \"c1630.example.com\" is not an email address".into(),
                since: ago(41),
            },
            QuarantineRow {
                customer: "1043".into(),
                name: "राहुल गुप्ता".into(),
                wave: "Inactive".into(),
                rule: "pipeline".into(),
                detail: "validate: payments: checksum source 1a2b ≠ target 0f9e".into(),
                since: ago(90),
            },
        ],
        comms: vec![
            notice("VIP", "announcement", "2026-11-21", [116, 116, 116, 0, 0]),
            notice("VIP", "reminder", "2026-11-27", [114, 114, 112, 2, 2]),
            notice("VIP", "moved", "on moving", [89, 89, 89, 0, 0]),
            notice(
                "REST-OF-WORLD-0001",
                "starts",
                "2026-12-05",
                [0, 0, 0, 0, 0],
            ),
            notice(
                "Regular",
                "survey",
                "+3d after moving",
                [11_908, 11_908, 11_850, 58, 0],
            ),
        ],
        health: Some(cutover_core::health::Distribution {
            at: "2026-11-21T07:45:02.118Z".into(),
            levels: vec![
                ("Excellent".into(), 412),
                ("Good".into(), 180),
                ("Fair".into(), 40),
                ("Poor".into(), 5),
            ],
            previous: Some(vec![
                ("Excellent".into(), 409),
                ("Good".into(), 182),
                ("Fair".into(), 41),
                ("Poor".into(), 5),
            ]),
        }),
        kpis: vec![
            kpi(
                "completion",
                Some(93.43),
                90.0,
                Comparison::Above,
                "%",
                Standing::Met,
                Some(100.0),
                &[41.0, 67.5, 88.2],
            ),
            kpi(
                "integrity",
                Some(99.97),
                99.9,
                Comparison::AtLeast,
                "%",
                Standing::Met,
                None,
                &[100.0, 99.97],
            ),
            kpi(
                "rollback_time",
                None,
                14_400.0,
                Comparison::Below,
                "s",
                Standing::NoData,
                None,
                &[],
            ),
            kpi(
                "throughput",
                Some(0.62),
                1.0,
                Comparison::Above,
                "GB/h",
                Standing::AtRisk,
                None,
                &[0.4, 0.55],
            ),
            kpi(
                "satisfaction",
                Some(2.97),
                4.5,
                Comparison::Above,
                "of 5",
                Standing::Missed,
                None,
                &[3.01, 2.99],
            ),
        ],
    }
}

/// One wave's notice: `[due, sent, delivered, failed, held]`.
fn notice(wave: &str, notice: &str, when: &str, n: [i64; 5]) -> cutover_core::comms::NoticeStatus {
    cutover_core::comms::NoticeStatus {
        wave: wave.into(),
        notice: notice.into(),
        when: when.into(),
        due: n[0],
        sent: n[1],
        delivered: n[2],
        failed: n[3],
        held: n[4],
    }
}

#[allow(clippy::too_many_arguments)]
fn kpi(
    name: &str,
    value: Option<f64>,
    target: f64,
    comparison: Comparison,
    unit: &str,
    standing: Standing,
    projection: Option<f64>,
    trend: &[f64],
) -> KpiValue {
    KpiValue {
        name: name.into(),
        description: String::new(),
        value,
        target,
        comparison,
        unit: unit.into(),
        standing,
        projection,
        trend: trend
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("2026-11-{:02}", 25 + i), *v))
            .collect(),
    }
}
