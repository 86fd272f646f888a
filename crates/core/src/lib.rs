//! cutover-core: the engine of cutover, a terminal operations console for migrating customers
//! from a legacy system onto a new platform. Nothing here touches a terminal (this crate does
//! not depend on ratatui or crossterm); the console (`cutover-tui`) and the command line
//! (`cutover-cli`) are its clients.
//!
//! The modules, bottom up:
//!
//! - [`clock`], [`paths`], [`fault`], [`files`], [`roles`]: time as the state stores it, where
//!   things live, fault points for the crash harness, private workspace files, who may do what.
//! - [`schema`]: the canonical entities, normalisation and checksums (brief 3.3).
//! - [`config`]: the workspace TOML, one file per section, each checked at load.
//! - [`db`]: pools, dialects ([`db::Backend`]), the statement builder, migrations, the audit row.
//! - [`source`] and [`target`]: the legacy database read through the mapping, and the platform.
//! - [`ctx`]: the workspace context every part below takes.
//! - [`notify`], [`health`], [`alerts`], [`plans`]: the outbox, health scores, alerts and their
//!   escalation, success plans.
//! - [`engine`]: leases, the runner, the pipeline, validation, runs, rollback, the plan, status.
//! - [`report`], [`demo`], [`bench`]: the end-of-run report, the demo workspace, measurements.
//! - [`doctor`]: a workspace checked read-only before a migration night.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod bench;
pub mod calendar;
pub mod clock;
pub mod comms;
pub mod config;
pub mod ctx;
pub mod db;
pub mod demo;
pub mod doctor;
pub mod engine;
pub mod fault;
pub mod files;
pub mod health;
pub mod kpi;
pub mod metrics;
pub mod notify;
pub mod paths;
pub mod plans;
pub mod programme;
pub mod report;
pub mod roles;
pub mod schema;
pub mod source;
pub mod target;
