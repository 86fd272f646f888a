//! cutover: a terminal operations console for migrating customers from a legacy system onto a
//! new platform. The engine modules (`config`, `db`, `schema`, `source`, `target`, `engine`,
//! `demo`, `report`) never touch the terminal; `tui` and `cli` are their clients.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod engine;
pub mod fault;
pub mod files;
pub mod health;
pub mod notify;
pub mod paths;
pub mod plans;
pub mod report;
pub mod roles;
pub mod schema;
pub mod source;
pub mod target;
pub mod tui;
