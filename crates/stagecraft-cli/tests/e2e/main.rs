//! End-to-end tests of the built `stagecraft` binary: one test binary, modules inside.
#![allow(clippy::unwrap_used)]

mod amplify;
mod apply;
mod aws;
mod plan;
mod s3_state;
mod support;
mod validate;
