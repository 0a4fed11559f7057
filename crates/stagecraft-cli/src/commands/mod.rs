//! The commands, one file each: each takes the resolved [`Settings`](crate::settings::Settings)
//! and its own arguments, and returns the exit code or the error report `main` prints.

pub mod apply;
pub mod completions;
pub mod fmt;
pub mod generate;
pub mod graph;
pub mod import;
pub mod man;
pub mod output;
pub mod plan;
pub mod rollout;
pub mod schema;
pub mod show;
pub mod state;
pub mod validate;
