//! The config's own tests: defaults, the example file, errors that name the key.

use super::*;

const MIN: &str = r#"
[workspace]
name = "t"
[state]
url = "sqlite://state.db"
[source]
url = "sqlite:///abs/legacy.db"
[target]
url = "sqlite://platform.db"
[mapping.customers]
query = "SELECT 1 AS legacy_id"
"#;

#[test]
fn defaults_fill_in_and_relative_urls_resolve() {
    let c = Config::from_toml(MIN, Path::new("/ws/cutover.toml")).unwrap();
    assert_eq!(c.state.url, "sqlite:///ws/state.db");
    assert_eq!(c.source.url, "sqlite:///abs/legacy.db");
    assert_eq!(c.segment.len(), 4);
    assert_eq!(c.runner.batch_size, 25);
}

#[test]
fn the_example_config_documents_valid_keys() {
    let text = include_str!("../../../../config.example.toml");
    // Secrets come from the environment, which a unit test cannot set: the file as it
    // stands fails on the first one, naming it.
    let e = Config::from_toml(text, Path::new("/ws/config.example.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not set"), "{e}");
    let text = text
        .replace(
            "url_env = \"CUTOVER_SLACK_URL\"",
            "url = \"http://127.0.0.1:9/slack\"",
        )
        .replace(
            "routing_key_env = \"CUTOVER_PD_ROUTING_KEY\"",
            "routing_key = \"k\"",
        )
        .replace("secret_env = \"CUTOVER_CRM_SECRET\"", "secret = \"s\"");
    let c = Config::from_toml(&text, Path::new("/ws/config.example.toml")).unwrap();
    assert_eq!(c.notify.target.len(), 3);
    assert_eq!(c.escalation.level[1].targets, ["support-slack", "oncall"]);
    assert_eq!(c.segment.len(), 2);
    assert!(c.source.on_rollback.is_some());
    assert_eq!(c.audit.len(), 5);
    assert_eq!(c.health.component.len(), 2);
    assert_eq!(c.health.level(59.9), "Fair");
    assert_eq!(c.communication.len(), 4);
    assert_eq!(c.kpi.len(), 2);
    assert_eq!(c.report.daily_target.as_deref(), Some("support-slack"));
    assert_eq!(c.programme.as_ref().map(|p| p.days), Some(30));
}

#[test]
fn unknown_key_names_file_and_key() {
    let text = format!("{MIN}\n[runner]\nbatch_sizee = 3\n");
    let e = Config::from_toml(&text, Path::new("/ws/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/ws/c.toml"), "{e}");
    assert!(e.contains("batch_sizee"), "{e}");
}

#[test]
fn bad_operator_names_the_segment_rule() {
    let text = format!(
        "{MIN}\n[[segment]]\nname='x'\npriority=1\nwindow_days=[1,2]\nsupport='s'\ntarget_success_rate=90.0\nrules=[{{field='annual_revenue', op='=>', value=1}}]\n"
    );
    let e = Config::from_toml(&text, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("segment[0].rules[0].op"), "{e}");
}

#[test]
fn a_mapped_target_names_what_is_wrong_with_its_key() {
    let with = |extra: &str| {
        let text = MIN.replace(
            "url = \"sqlite://platform.db\"\n",
            &format!("url = \"sqlite://platform.db\"\n{extra}\n"),
        );
        Config::from_toml(&text, Path::new("/ws/cutover.toml"))
            .map(|c| c.target.on_existing())
            .map_err(|e| e.to_string())
    };
    assert_eq!(with(""), Ok(OnExisting::Replace));
    let e = with("[target.entity.customers]\ntable = 'a'\nkey = 'k'").unwrap_err();
    assert!(
        e.contains(
            "key `target.entity.customers`: entities are mapped only with `target.managed = false`"
        ),
        "{e}"
    );
    let e = with("managed = false").unwrap_err();
    assert!(e.contains("key `target.entity.customers`: missing"), "{e}");
    let ok =
        "managed = false\n[target.entity.customers]\ntable = 'crm.accounts'\nkey = 'external_ref'";
    assert_eq!(with(ok), Ok(OnExisting::Fail));
    assert_eq!(
        with(&format!("on_existing = 'merge'\n{ok}")),
        Ok(OnExisting::Merge)
    );
    let e = with(&format!("on_existing = 'replace'\n{ok}")).unwrap_err();
    assert!(
        e.contains("key `target.on_existing`: \"replace\" deletes the platform's own rows"),
        "{e}"
    );
    let e = with(&format!("{ok}\ncolumns = {{ nme = 'display_name' }}")).unwrap_err();
    assert!(
        e.contains("key `target.entity.customers.columns.nme`: not a canonical column"),
        "{e}"
    );
    let e = with(&format!("{ok}\ncolumns = {{ name = 'x; DROP TABLE y' }}")).unwrap_err();
    assert!(e.contains("is not a plain SQL identifier"), "{e}");
    let e = with(&format!(
        "{ok}\n[target.entity.payments]\ntable = 'p'\nkey = 'k'"
    ))
    .unwrap_err();
    assert!(
        e.contains("key `target.entity.payments.parent`: missing"),
        "{e}"
    );
}

#[test]
fn an_http_target_names_what_is_wrong_with_its_key() {
    let with = |target: &str| {
        let text = MIN.replace("url = \"sqlite://platform.db\"\n", &format!("{target}\n"));
        Config::from_toml(&text, Path::new("/ws/cutover.toml"))
            .map(|c| c.target.kind)
            .map_err(|e| e.to_string())
    };
    let ok = "kind = 'http'\nurl = 'https://api.example/v1'\nmanaged = false\n\
              [target.entity.customers]\npath = '/accounts'\nkey = 'external_id'";
    assert_eq!(with(ok), Ok(crate::config::PlatformKind::Http));
    let e = with(&ok.replace("managed = false\n", "")).unwrap_err();
    assert!(
        e.contains("key `target.managed`: an HTTP platform is never managed"),
        "{e}"
    );
    let e = with(&ok.replace("https://api.example/v1", "sqlite://x.db")).unwrap_err();
    assert!(
        e.contains("key `target.url`: with `kind = \"http\"` the API's base URL"),
        "{e}"
    );
    let e = with(&ok.replace("path = '/accounts'\n", "")).unwrap_err();
    assert!(
        e.contains("key `target.entity.customers.path`: missing"),
        "{e}"
    );
    let e = with(&ok.replace("kind = 'http'\n", "")).unwrap_err();
    assert!(
        e.contains("key `target.entity.customers.path`: only with"),
        "{e}"
    );
    let e = with(&ok.replace("managed = false", "managed = false\nconcurrency = 0")).unwrap_err();
    assert!(e.contains("`target.concurrency`"), "{e}");
}

#[test]
fn an_alert_rule_starts_at_a_ladder_level_that_exists() {
    let rule = |level: &str| {
        format!(
            "{MIN}\n[[alerts.rule]]\nname = 'corrupt'\nkind = 'validation_failed'\nseverity = 'critical'\nstart_level = '{level}'\n"
        )
    };
    let c = Config::from_toml(&rule("L3"), Path::new("/ws/c.toml")).unwrap();
    assert_eq!(c.alerts.rule[0].start_index(&c.escalation), 3);
    let e = Config::from_toml(&rule("L9"), Path::new("/ws/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("key `alerts.rule[0].start_level` of `corrupt`: no ladder level `L9` (there are L1, L2, L3, L4)"),
        "{e}"
    );
}

#[test]
fn a_health_model_gives_the_weights_and_levels_and_names_a_missing_component() {
    let comp = |name: &str| {
        format!(
            "[[health.component]]\nname = '{name}'\ndatabase = 'state'\nquery = 'SELECT legacy_id, 50 AS value FROM customers'\n"
        )
    };
    let all: String = [
        "usage",
        "performance",
        "business_value",
        "satisfaction",
        "engagement",
    ]
    .map(comp)
    .concat();
    let text = format!("{MIN}\n[health]\nmodel = 'playbook'\n{all}");
    let c = Config::from_toml(&text, Path::new("/ws/c.toml")).unwrap();
    let weights: Vec<(String, f64)> = c
        .health
        .component
        .iter()
        .map(|c| (c.name.clone(), c.weight))
        .collect();
    assert_eq!(
        weights,
        [
            ("usage".to_string(), 40.0),
            ("performance".into(), 30.0),
            ("business_value".into(), 20.0),
            ("satisfaction".into(), 10.0)
        ],
        "the model's weights, and only its components"
    );
    assert_eq!(c.health.level(80.0), "Healthy");
    assert_eq!(c.health.level(79.9), "At risk");
    assert_eq!(c.health.level(10.0), "Critical");
    let text = format!("{MIN}\n[health]\nmodel = 'success_plan'\n{all}");
    let c = Config::from_toml(&text, Path::new("/ws/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        c.contains("key `health.model`: the `success_plan` model weighs `success` (30%), and no [[health.component]] is named `success`"),
        "{c}"
    );
    let text = format!("{MIN}\n[health]\nmodel = 'gut_feeling'\n{all}");
    let c = Config::from_toml(&text, Path::new("/ws/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        c.contains("no model `gut_feeling` (there are success_plan, playbook)"),
        "{c}"
    );
}
