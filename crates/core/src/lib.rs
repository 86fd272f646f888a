//! cutover-core: the engine of cutover, a terminal operations console for migrating customers
//! from a legacy system onto a new platform. Nothing here touches a terminal (this crate does
//! not depend on ratatui or crossterm); the console (`cutover-tui`) and the command line
//! (`cutover-cli`) are its clients.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod bench;
pub mod clock;
pub mod config;
pub mod ctx;
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
