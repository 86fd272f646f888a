//! The demo workspace's config: the mapping from the legacy schema to the canonical one.

use chrono::NaiveDate;

/// The demo workspace's config: the mapping from the legacy schema to the canonical one.
pub fn config_text(
    as_of: NaiveDate,
    step_delay_ms: u64,
    state_url: Option<&str>,
    target_url: Option<&str>,
) -> String {
    let state_url = state_url.unwrap_or("sqlite://state.db");
    let year_ago = as_of - chrono::Duration::days(365);
    // Day 12 of 30 on the day it is made: the High-value wave's window (days 11–14) is open.
    let start = as_of - chrono::Duration::days(11);
    let target_url = target_url.unwrap_or("sqlite://platform.db");
    format!(
        r#"# The demo workspace, written by `cutover demo`. See config.example.toml for every key.
[workspace]
name = "RevivaTech demo"
as_of = "{as_of}"

[state]
url = "{state_url}"

# The programme calendar: day 1 and its length. `cutover calendar` prints it; the console's
# header says which day it is.
[programme]
start = "{start}"
days = 30

[source]
url = "sqlite://legacy.db"
on_migrated = "UPDATE clients SET migrated_flag = 1 WHERE client_id = ?"
on_rollback = "UPDATE clients SET migrated_flag = 0 WHERE client_id = ?"

[target]
url = "{target_url}"

[runner]
batch_size = 25
step_delay_ms = {step_delay_ms}

# Roles (viewer, csm, migrator, oncall, admin) per OS user. The demo runs on one machine for
# one person, so everyone is admin; a shared workspace lists its operators and keeps the
# default at viewer, e.g. `oncall = ["kofi"]`, `csm = ["amara"]`.
[roles]
default = "admin"

# Health: the success plan's model (engagement 30, success 30, satisfaction 20, financial 20).
# `success` reads migration outcomes from the state database, so failures lower health.
# Engagement: any contact in the last year counts 50, each message 15 more; none at all, 30.
# Financial: 40 for any paid revenue, plus 1 point per $50 (scores above 100 count as 100); none, 20.
# The queries are plain SQL that SQLite, PostgreSQL and MySQL all run.
[[health.component]]
name = "engagement"
weight = 30
database = "source"
default = 30
query = """
SELECT client_id AS legacy_id, CASE WHEN COUNT(*) > 3 THEN 100 ELSE 50 + COUNT(*) * 15 END AS value
FROM messages WHERE sent_at >= '{year_ago}' GROUP BY client_id"""

[[health.component]]
name = "success"
weight = 30
database = "state"
query = """
SELECT legacy_id, CASE status WHEN 'migrated' THEN 100 WHEN 'pending' THEN 75 WHEN 'running' THEN 75
  WHEN 'quarantined' THEN 50 WHEN 'rolled_back' THEN 30 WHEN 'rolling_back' THEN 30 ELSE 10 END AS value
FROM customers"""

[[health.component]]
name = "satisfaction"
weight = 20
database = "source"
default = 60
query = """
SELECT client_id AS legacy_id, (AVG(csat) - 1) * 25 AS value FROM messages
WHERE csat IS NOT NULL GROUP BY client_id"""

[[health.component]]
name = "financial"
weight = 20
database = "source"
default = 20
query = """
SELECT client_id AS legacy_id, 40 + SUM(amount_cents) / 5000.0 AS value FROM payments
WHERE paid_on >= '{year_ago}' AND status = 'PAID' GROUP BY client_id"""

[mapping.customers]
query = """
SELECT client_id AS legacy_id, full_name AS name, email_addr AS email, phone_no AS phone,
       CASE acct_type WHEN 'IND' THEN 'individual' WHEN 'BUS' THEN 'business'
                      WHEN 'ENT' THEN 'enterprise' ELSE acct_type END AS account_type,
       signup_ts AS created_at, country_code AS country, needs_assist AS special_needs,
       preferred_lang, loyalty_tier
FROM clients"""

[mapping.devices]
query = """
SELECT device_id AS legacy_id, client_id AS customer_legacy_id, device_type AS kind, make AS brand,
       model_name AS model, serial_no AS serial, warranty_end AS warranty_until
FROM devices"""

[mapping.repairs]
query = """
SELECT ticket_id AS legacy_id, client_id AS customer_legacy_id, device_id AS device_legacy_id,
       opened AS opened_at, closed AS closed_at, state AS status, notes AS description,
       cost_cents / 100.0 AS amount, technician
FROM repair_tickets"""

[mapping.payments]
query = """
SELECT payment_id AS legacy_id, client_id AS customer_legacy_id, amount_cents / 100.0 AS amount,
       currency, paid_on AS paid_at, method, status, invoice_ref
FROM payments"""

[mapping.communications]
query = """
SELECT msg_id AS legacy_id, client_id AS customer_legacy_id, sent_at AS occurred_at, channel,
       dir AS direction, subject, body, csat AS satisfaction
FROM messages"""
"#
    )
}
