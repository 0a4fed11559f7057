//! Parsing and validation of stagecraft's `deploy.toml`: text (or bytes, [`parse_bytes`]) in, a
//! validated [`Config`] or every problem out, each pointing at its span; [`parse_recoverable`]
//! also keeps the model of the valid parts, so that later checks join the same report.
//! [`ConfigErrors`] renders a report in time linear in the file and the errors.
//!
//! This crate is pure: it reads no files, no environment and no clock. The two things validation
//! needs from the outside world (whether an artifact path exists, and the values of
//! `{ env = "..." }` variables) come through the [`Host`] trait, so tests can supply them.

mod address;
mod edit;
mod error;
mod format;
mod generate;
mod import;
mod indexed_source;
mod model;
mod output;
mod parse;
mod refactor;
pub mod rules;
mod schema;
mod secrets;
mod sources;

pub use address::{Address, AddressError, AddressRef, Attribute, Reference, ResourceKind};
pub use edit::{ConfigText, EditError, Edited, promote_in_config};
pub use error::{ConfigError, ConfigErrors, SHOWN_IN_FULL, SpanRange, did_you_mean};
pub use format::format;
pub use generate::{
    Adopted, AdoptedApi, AdoptedApp, AdoptedBranch, AdoptedCanary, AdoptedStage, generate,
    revision_label,
};
pub use import::{Import, import_id};
pub use miette::SourceSpan;
pub use model::*;
pub use output::Output;
pub use parse::{
    ENV_PREFIX, Input, InputFile, Parsed, parse, parse_bytes, parse_input, parse_recoverable,
};
pub use refactor::{Moved, RefactorKind, RefactorTarget, Removed};
pub use schema::schema;
pub use secrets::{Secrets, resolve_secrets};
pub use sources::{Position, SourceFile, SourceRole, Sources};

/// What a path relative to the configuration file points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathInfo {
    /// Nothing there.
    Missing,
    /// A folder.
    Directory,
    /// A regular file.
    File,
}

/// The outside world as validation sees it.
pub trait Host {
    /// What `path`, relative to the configuration file's folder, points at.
    fn inspect_path(&self, path: &str) -> PathInfo;
    /// The value of an environment variable.
    fn env_var(&self, name: &str) -> Option<String>;
}
