//! End-to-end tests of the built `stagecraft` binary: one test binary, modules inside.
#![allow(clippy::unwrap_used)]

mod alarms;
mod amplify;
mod apply;
mod aws;
mod crash;
mod credentials;
mod faults;
mod flags;
mod fleet;
mod generate;
mod import;
mod integrity;
mod interrupt;
mod json_ui;
mod logs;
mod outputs;
mod plan;
mod refactor;
mod region;
mod rollout;
mod s3_state;
mod schedule;
mod snapshots;
mod support;
mod tools;
mod validate;
mod variables;
