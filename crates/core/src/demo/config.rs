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
    let days_ago = |n: i64| as_of - chrono::Duration::days(n);
    let (month_ago, quarter_ago, two_years_ago) = (days_ago(30), days_ago(90), days_ago(730));
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

# Health: one of the shipped models (assets/health/) gives the weights and levels; the
# components below give each its query. "success_plan": engagement 30, success 30,
# satisfaction 20, financial 20 (Excellent / Good / Fair / Poor). "playbook": usage 40,
# performance 30, business value 20, satisfaction 10 (Healthy / At risk / Critical).
# `success` reads migration outcomes from the state database, so failures lower health.
# Engagement: any contact in the last year counts 50, each message 15 more; none at all, 30.
# Financial: 40 for any paid revenue, plus 1 point per $50 (scores above 100 count as 100); none, 20.
# Usage: 40 for any message in the last year, 30 more each (the legacy system's activity
# stands in for the platform's). Performance: the share of the last year's repairs that were closed.
# Business value: 30 for any paid revenue in the last year, 1 point more per $20.
# The queries are plain SQL that SQLite, PostgreSQL and MySQL all run.
[health]
model = "success_plan"

[[health.component]]
name = "engagement"
database = "source"
default = 30
query = """
SELECT client_id AS legacy_id, CASE WHEN COUNT(*) > 3 THEN 100 ELSE 50 + COUNT(*) * 15 END AS value
FROM messages WHERE sent_at >= '{year_ago}' GROUP BY client_id"""

[[health.component]]
name = "success"
database = "state"
query = """
SELECT legacy_id, CASE status WHEN 'migrated' THEN 100 WHEN 'pending' THEN 75 WHEN 'running' THEN 75
  WHEN 'quarantined' THEN 50 WHEN 'rolled_back' THEN 30 WHEN 'rolling_back' THEN 30 ELSE 10 END AS value
FROM customers"""

[[health.component]]
name = "satisfaction"
database = "source"
default = 60
query = """
SELECT client_id AS legacy_id, (AVG(csat) - 1) * 25 AS value FROM messages
WHERE csat IS NOT NULL GROUP BY client_id"""

[[health.component]]
name = "financial"
database = "source"
default = 20
query = """
SELECT client_id AS legacy_id, 40 + SUM(amount_cents) / 5000.0 AS value FROM payments
WHERE paid_on >= '{year_ago}' AND status = 'PAID' GROUP BY client_id"""

[[health.component]]
name = "usage"
database = "source"
default = 20
query = """
SELECT client_id AS legacy_id, 40 + COUNT(*) * 30 AS value FROM messages
WHERE sent_at >= '{year_ago}' GROUP BY client_id"""

[[health.component]]
name = "performance"
database = "source"
default = 70
query = """
SELECT client_id AS legacy_id,
       100.0 * SUM(CASE WHEN closed IS NOT NULL THEN 1 ELSE 0 END) / COUNT(*) AS value
FROM repair_tickets WHERE opened >= '{year_ago}' GROUP BY client_id"""

[[health.component]]
name = "business_value"
database = "source"
default = 10
query = """
SELECT client_id AS legacy_id, 30 + SUM(amount_cents) / 2000.0 AS value FROM payments
WHERE paid_on >= '{year_ago}' AND status = 'PAID' GROUP BY client_id"""

[mapping.customers]
query = """
SELECT client_id AS legacy_id, full_name AS name, email_addr AS email, phone_no AS phone,
       CASE acct_type WHEN 'IND' THEN 'individual' WHEN 'BUS' THEN 'business'
                      WHEN 'ENT' THEN 'enterprise' ELSE acct_type END AS account_type,
       signup_ts AS created_at, country_code AS country, needs_assist AS special_needs,
       preferred_lang, loyalty_tier
FROM clients"""

# Each customer's owning CSM: the legacy export's account manager where it has one, else
# by tier (Trial customers are covered by the automated programme), else the shared pool.
[mapping.owner]
query = "SELECT client_id AS legacy_id, account_rep AS owner FROM clients WHERE account_rep IS NOT NULL"
tier = {{ Trial = "cs.automated" }}
default = "cs.pool"

# Customer tiers and their service levels. The brief's revenue bands ($100k, $25k, $5k) are
# the defaults (assets/default.toml); the demo's repair-shop customers spend far less, so its
# bands are scaled down and the account type counts too.
[[tier]]
name = "Enterprise"
coverage = "dedicated CSM"
onboarding_days = 90
rules = [
  {{ field = "account_type", op = "=", value = "enterprise" }},
  {{ field = "annual_revenue", op = ">=", value = 8000 }},
]
acknowledge_minutes = {{ critical = 120, warning = 120, info = 1440 }}
resolve_hours = {{ critical = 24, warning = 168, info = 336 }}
ladder_minutes = {{ L1 = 30, L2 = 60, L3 = 120 }}

[[tier]]
name = "Mid-market"
coverage = "shared CSM"
onboarding_days = 60
rules = [
  {{ field = "account_type", op = "=", value = "business" }},
  {{ field = "annual_revenue", op = ">=", value = 3000 }},
]
acknowledge_minutes = {{ critical = 240, warning = 240, info = 2880 }}
resolve_hours = {{ critical = 48, warning = 168, info = 336 }}

[[tier]]
name = "Small business"
coverage = "grouped CSM"
onboarding_days = 45
rules = [{{ field = "annual_revenue", op = ">=", value = 500 }}]
acknowledge_minutes = {{ critical = 1440, warning = 1440, info = 4320 }}
resolve_hours = {{ critical = 48, warning = 168, info = 336 }}

[[tier]]
name = "Trial"
coverage = "automated"
onboarding_days = 30
acknowledge_minutes = {{ critical = 2880, warning = 2880, info = 10080 }}
resolve_hours = {{ critical = 96, warning = 336, info = 336 }}

# Plans that open by themselves: an onboarding for every Enterprise customer once migrated
# (the VIP wave's onboardings are seeded), a recovery plan for a customer in the red zone.
[[plans.auto]]
on = "migrated"
tier = "Enterprise"
template = "onboarding"

[[plans.auto]]
on = "alert"
rule = "red_zone"
template = "recovery"

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

# The customers' notices on the brief's timeline, from each wave's window (day 8 for VIP): an
# announcement 14 days before and a guide 7 before (both on day 1 at the earliest), a reminder
# the day before and a notice on the day (held for quarantined customers and while the runner
# is paused or halted), a survey 3 days after moving, and a crisis notice on a halt. "moved"
# and "moved back" go from the pipeline and a rollback. No target: each is recorded in the
# outbox; add `target = "<[notify.target.*] name>"` to send one.
[[communication]]
name = "announcement"
offset_days = -14
from = "window"
template = "announcement"
earliest_day = 1

[[communication]]
name = "guide"
offset_days = -7
from = "window"
template = "guide"
earliest_day = 1

[[communication]]
name = "reminder"
offset_days = -1
from = "window"
template = "reminder"
hold = true

[[communication]]
name = "starts"
offset_days = 0
from = "window"
template = "starts"
hold = true

[[communication]]
name = "survey"
offset_days = 3
from = "migration"
template = "survey"

[[communication]]
name = "crisis"
offset_days = 0
from = "halt"
template = "crisis"

# KPIs from the legacy data (the six built in come from the state: `cutover kpi`). The demo's
# legacy system stands in for the platform's activity: adoption is the share of customers with
# a message in the last 30 days. Dates are the workspace's as-of date, so the queries run on
# SQLite, PostgreSQL and MySQL alike.
[[kpi]]
name = "satisfaction"
description = "mean satisfaction score of the last 90 days' messages"
query = "SELECT AVG(csat * 1.0) FROM messages WHERE csat IS NOT NULL AND sent_at >= '{quarter_ago}'"
database = "source"
target = 4.5
comparison = ">"
unit = "of 5"

[[kpi]]
name = "adoption"
description = "customers with a message in the last 30 days"
query = "SELECT 100.0 * COUNT(DISTINCT client_id) / (SELECT COUNT(*) FROM clients) FROM messages WHERE sent_at >= '{month_ago}'"
database = "source"
target = 75
comparison = ">"
unit = "%"

[[kpi]]
name = "ticket_volume"
description = "repair tickets of the last 30 days against the monthly mean of the 11 months before, change"
query = """
SELECT 100.0 * (11.0 * SUM(CASE WHEN opened >= '{month_ago}' THEN 1 ELSE 0 END)
       / NULLIF(SUM(CASE WHEN opened >= '{year_ago}' AND opened < '{month_ago}' THEN 1 ELSE 0 END), 0) - 1)
FROM repair_tickets"""
database = "source"
target = 15
comparison = "<"
unit = "%"

[[kpi]]
name = "retention"
description = "customers who paid in the year before last and paid again in the last year"
query = """
SELECT 100.0 * COUNT(DISTINCT client_id) / NULLIF((SELECT COUNT(DISTINCT client_id) FROM payments
       WHERE paid_on >= '{two_years_ago}' AND paid_on < '{year_ago}'), 0)
FROM payments WHERE paid_on >= '{year_ago}' AND client_id IN
     (SELECT client_id FROM payments WHERE paid_on >= '{two_years_ago}' AND paid_on < '{year_ago}')"""
database = "source"
target = 95
comparison = ">"
unit = "%"
"#
    )
}
