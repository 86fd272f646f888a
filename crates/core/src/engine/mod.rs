//! The migration engine: planner, batch runner, pipeline steps, validation and rollback. It
//! never imports a terminal; the console and the headless CLI are both its clients.
//!
//! The modules, bottom up: [`lease`] (claims, fencing tokens), [`runner`] (the shared runner
//! state and the gate at step boundaries), [`validate`] (source against platform, orphans),
//! [`pipeline`] (one batch through its steps), [`run`] (the claim loop), [`rollback`],
//! [`plan`] (metrics, audit, segments, batches) and [`status`] (read models).

pub mod lease;
pub mod pipeline;
pub mod plan;
pub mod preimage;
pub mod rollback;
pub mod run;
pub mod runner;
pub mod status;
pub mod validate;

pub use crate::ctx::{Ctx, Notice, identity, operator};
pub use runner::{RunnerState, runner_action, runner_state, set_runner_state};
