//! Hostile legacy rows. Each one ends in quarantine, a warning or a rejected row with its rule
//! named; none aborts a batch or touches another customer; names with SQL metacharacters
//! migrate byte for byte; terminal escape sequences never reach a terminal raw.

mod common;

use std::sync::Arc;

use common::{Ws, platform_dump, state_rows};
use cutover_core::engine::status;
use cutover_tui::app::App;
use cutover_tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Hostile customers get ids 77700xx; their rows are left out when the platform is compared.
const HOSTILE: &str = "77700";
const SQL_NAME: &str = "Robert'); DROP TABLE customers;-- \"x\" \\ %_ $1 ?";
const ESC_NAME: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mEve\u{9b}1m Mallory";
/// A right-to-left override and an isolate: shown as "Trudy invoice.pdf" it is not.
const BIDI_NAME: &str = "Trudy \u{2066}invoice\u{202e}fdp.exe\u{2069}";

/// The hostile rows, written into the demo's legacy database (a SQLite file in both legs).
/// The customers and payments mappings read views that add rows without a primary key, so
/// that a legacy id can repeat, as it does in real exports.
fn hostile_sql() -> Vec<String> {
    let client = |id: &str, name: &str, signup: &str| {
        format!(
            "INSERT INTO clients (client_id, full_name, email_addr, phone_no, acct_type, signup_ts, country_code, needs_assist) \
             VALUES ({id}, {name}, 'h{id}@example.com', '+44 20 7946 0000', 'IND', {signup}, 'GB', 0)"
        )
    };
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    vec![
        "CREATE TABLE clients_extra AS SELECT * FROM clients WHERE 0".into(),
        "CREATE VIEW clients_all AS SELECT * FROM clients UNION ALL SELECT * FROM clients_extra"
            .into(),
        "CREATE TABLE payments_extra AS SELECT * FROM payments WHERE 0".into(),
        "CREATE VIEW payments_all AS SELECT * FROM payments UNION ALL SELECT * FROM payments_extra"
            .into(),
        // 1: NULL in a required column.
        client("7770001", "NULL", "'2020-01-01'"),
        // 2: a 1 MB name.
        client("7770002", "'A' || hex(zeroblob(524288))", "'2020-01-01'"),
        // 3: a name that is not UTF-8.
        client("7770003", "X'FFFE41'", "'2020-01-01'"),
        // 4: MySQL's zero date.
        client("7770004", "'Zero Date'", "'0000-00-00'"),
        // 5: a legacy id two rows share.
        client("7770005", "'Twin One'", "'2020-01-01'"),
        client("7770005", "'Twin Two'", "'2020-01-01'").replace("INTO clients ", "INTO clients_extra "),
        // 6: two payments sharing a legacy id.
        client("7770006", "'Double Payer'", "'2020-01-01'"),
        "INSERT INTO payments VALUES (8880001, 7770006, 1000, 'GBP', '2026-01-01', 'card', 'PAID', 'INV-1')".into(),
        "INSERT INTO payments_extra VALUES (8880001, 7770006, 1000, 'GBP', '2026-01-01', 'card', 'PAID', 'INV-1')".into(),
        // 7: a payment whose customer does not exist.
        "INSERT INTO payments VALUES (8880002, 7779999, 500, 'GBP', '2026-01-01', 'card', 'PAID', 'INV-2')".into(),
        // 8: SQL metacharacters.
        client("7770007", &q(SQL_NAME), "'2020-01-01'"),
        // 9: terminal escape sequences.
        client("7770008", &q(ESC_NAME), "'2020-01-01'"),
        // 10: a payment with no legacy id (NULL in a child's required column).
        client("7770009", "'Null Payment'", "'2020-01-01'"),
        "INSERT INTO payments_extra VALUES (NULL, 7770009, 700, 'GBP', '2026-01-01', 'card', 'PAID', 'INV-3')".into(),
        // 11: a negative payment.
        client("7770010", "'Negative Payer'", "'2020-01-01'"),
        "INSERT INTO payments VALUES (8880004, 7770010, -500, 'GBP', '2026-01-01', 'card', 'PAID', 'INV-4')".into(),
        // 12: bidirectional overrides.
        client("7770011", &q(BIDI_NAME), "'2020-01-01'"),
    ]
}

/// (legacy id, the status it must end in, text its reason or warnings must hold)
const EXPECTED: [(&str, &str, &str); 11] = [
    ("7770001", "quarantined", "required:customers.name"),
    ("7770002", "quarantined", "max_length:customers.name"),
    ("7770003", "quarantined", "valid UTF-8"),
    ("7770004", "quarantined", "transform:customers.created_at"),
    ("7770005", "quarantined", "duplicate_legacy_id"),
    ("7770006", "migrated", "duplicate_legacy_id"),
    ("7770007", "migrated", ""),
    ("7770008", "migrated", "printable:customers.name"),
    ("7770009", "quarantined", "legacy_id"),
    ("7770010", "quarantined", "non_negative:payments.amount"),
    ("7770011", "migrated", "printable:customers.name"),
];

fn others(dump: &str) -> String {
    dump.lines()
        .filter(|l| !l.contains(HOSTILE) && !l.contains("7779999"))
        .map(|l| format!("{l}\n"))
        .collect()
}

async fn workspace() -> Ws {
    let ws = Ws::demo(60, 131).await;
    ws.edit_config(|t| {
        t.replace("FROM clients\"\"\"", "FROM clients_all\"\"\"")
            .replace(
                "currency, paid_on AS paid_at, method, status, invoice_ref\nFROM payments\"\"\"",
                "currency, paid_on AS paid_at, method, status, invoice_ref\nFROM payments_all\"\"\"",
            )
    });
    write_hostile_rows(&ws.path().join("legacy.db")).await;
    ws
}

async fn write_hostile_rows(db: &std::path::Path) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for s in hostile_sql() {
        sqlx::query(sqlx::AssertSqlSafe(s.clone()))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

#[tokio::test]
async fn hostile_rows_end_in_quarantine_or_a_named_warning_and_touch_no_one_else() {
    // The reference: the same demo and mappings, without the hostile rows.
    let reference = Ws::demo(60, 131).await;
    let out = reference.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));

    let ws = workspace().await;
    let out = ws.cli(&["plan"]);
    assert!(out.status.success(), "plan: {}", common::stderr(&out));
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "run: {}", common::stderr(&out));

    // No batch aborted, and every other customer came out as in the reference.
    assert_eq!(
        state_rows(&ws, "SELECT COUNT(*) FROM batches WHERE status <> 'done'").await,
        "0\n"
    );
    assert_eq!(
        others(&platform_dump(&ws).await),
        others(&platform_dump(&reference).await)
    );
    let status_of =
        "SELECT status FROM customers WHERE legacy_id NOT LIKE '77700%' ORDER BY legacy_id";
    assert_eq!(
        state_rows(&ws, status_of).await,
        state_rows(&reference, status_of).await
    );

    for (id, status, rule) in EXPECTED {
        let row = state_rows(
            &ws,
            &format!(
                "SELECT status, COALESCE(reason, ''), COALESCE(warnings, '') FROM customers WHERE legacy_id = '{id}'"
            ),
        )
        .await;
        println!(
            "hostile {id}: {}",
            row.trim_end().chars().take(160).collect::<String>()
        );
        assert_eq!(
            row.lines().count(),
            1,
            "customer {id} planned once: {row:?}"
        );
        assert!(
            row.starts_with(&format!("{status}|")),
            "customer {id}: {row:?}"
        );
        assert!(
            row.contains(rule),
            "customer {id}: rule {rule:?} not named in {row:?}"
        );
    }
    // The orphan payment is rejected with its rule.
    let rejected = state_rows(
        &ws,
        "SELECT entity, legacy_id, rule, detail FROM rejected_rows WHERE legacy_id = '8880002'",
    )
    .await;
    assert!(
        rejected.starts_with("payments|8880002|orphan|customer 7779999"),
        "{rejected:?}"
    );
    // Both payments sharing an id migrated: nothing is lost.
    let dump = platform_dump(&ws).await;
    assert_eq!(
        dump.lines().filter(|l| l.starts_with("Text(\"p\")|Text(\"8880001\")") || l.contains("Int(8880001)")).count(),
        2,
        "{}",
        dump.lines().filter(|l| l.contains("8880001")).collect::<Vec<_>>().join("\n")
    );
    // The metacharacters and the escape sequences are data, kept byte for byte.
    assert!(dump.contains(&format!("{SQL_NAME:?}")), "SQL name changed");
    assert!(
        dump.contains(&format!("{ESC_NAME:?}")),
        "escaped name changed"
    );
    let out = ws.cli(&["validate"]);
    assert!(out.status.success(), "{}", common::stdout(&out));

    // Nothing the command line prints carries a raw escape or control byte.
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["plan", "--json"],
        &["report"],
        &["report", "--format", "csv"],
        &["validate"],
    ] {
        let out = ws.cli(args);
        for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !bytes.iter().any(|b| *b == 0x1b || *b == 0x07 || *b == 0x9b),
                "{args:?} {what} holds a raw control byte"
            );
        }
    }

    // Nor does the console: the customer's detail, drawn, holds no control character.
    let ctx = ws.ctx().await;
    let detail = status::customer(&ctx.state, "7770008")
        .await
        .unwrap()
        .unwrap();
    let mut app = App::new(
        "t".into(),
        "ops".into(),
        true,
        Theme::plain(),
        "2026-11-21".into(),
    );
    // The customers a step finished share its `updated_at`, and the list shows them in the
    // database's order: the list's filter is what puts this one on the first page.
    let mut view = app.view.clone();
    view.recent_filter = "mallory".into();
    let snap = cutover_tui::snapshot::snapshot(&ctx.state, &view)
        .await
        .unwrap();
    app.on_snapshot(Arc::new(snap));
    app.on_detail(Some(detail));
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| app.render(f)).unwrap();
    let cells: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(cells.contains("Mallory"), "the customer is on screen");
    assert!(
        !cells.chars().any(char::is_control),
        "a control character reached the screen"
    );
    // Nor a bidirectional override, in the migration list that shows the customer's name.
    let trudy = status::customer(&ctx.state, "7770011")
        .await
        .unwrap()
        .unwrap();
    view.recent_filter = "trudy".into();
    let snap = cutover_tui::snapshot::snapshot(&ctx.state, &view)
        .await
        .unwrap();
    app.on_snapshot(Arc::new(snap));
    app.on_detail(Some(trudy));
    term.draw(|f| app.render(f)).unwrap();
    let cells: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(cells.contains("Trudy"), "the customer is on screen");
    assert!(
        !cells.chars().any(cutover_core::schema::unsafe_char),
        "a bidirectional override reached the screen"
    );
}
