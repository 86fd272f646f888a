//! One file per command; each takes the parsed command line and its own arguments and returns
//! the exit status.

pub mod alerts;
pub mod bench;
pub mod calendar;
pub mod certificate;
pub mod console;
pub mod demo;
pub mod health;
pub mod import;
pub mod lists;
pub mod plan;
pub mod plans;
pub mod programme;
pub mod report;
pub mod rollback;
pub mod run;
pub mod runner;
pub mod ship;
pub mod status;
pub mod validate;
