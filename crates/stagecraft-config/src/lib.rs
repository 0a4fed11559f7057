//! Parsing and validation of stagecraft's `deploy.toml`: text in, a validated [`Config`] or every
//! problem out, each pointing at its span.
//!
//! This crate is pure: it reads no files, no environment and no clock. The two things validation
//! needs from the outside world (whether an artifact path exists, and the values of
//! `{ env = "..." }` variables) come through the [`Host`] trait, so tests can supply them.

mod address;
mod error;
mod model;
mod parse;
pub mod rules;

use std::collections::BTreeMap;

pub use address::{Address, AddressRef, Attribute, Reference, ResourceKind};
pub use error::{ConfigError, ConfigErrors, did_you_mean};
pub use miette::SourceSpan;
pub use model::*;

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

/// Parses and validates a configuration. On failure, every problem found, in file order.
pub fn parse(source: &str, host: &dyn Host) -> Result<Config, Vec<ConfigError>> {
    let (root, syntax_errors) = toml::de::DeTable::parse_recoverable(source);
    let mut errors: Vec<ConfigError> = syntax_errors
        .iter()
        .map(|error| {
            let at = error.span().unwrap_or(0..0);
            ConfigError::new(
                "config::syntax",
                at,
                format!("TOML syntax error: {}", error.message().trim_end()),
                "here",
            )
        })
        .collect();
    if !errors.is_empty() {
        // A broken document is walked anyway: the recovered parts still get their checks, but
        // missing-key errors caused by the syntax error would only add noise.
        let mut walker = parse::Walker::new(host);
        walker.document(source, &root);
        errors.extend(
            walker
                .errors
                .into_iter()
                .filter(|error| error.code != "config::missing_key"),
        );
        return Err(errors);
    }
    let mut walker = parse::Walker::new(host);
    let config = walker.document(source, &root);
    errors.extend(walker.errors);
    if let Some(config) = &config {
        parse::check_references(config, &mut errors);
    }
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => Err(errors),
    }
}

/// The values of a configuration's `{ env = "..." }` variables, by variable name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secrets {
    values: BTreeMap<String, Secret>,
}

impl Secrets {
    /// The value of one environment variable, if read.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.values.get(name)
    }

    /// Builds a set from pairs (tests and callers that already hold the values).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Secrets {
        Secrets {
            values: pairs
                .into_iter()
                .map(|(name, value)| (name, Secret::new(value)))
                .collect(),
        }
    }
}

/// Reads every `{ env = "..." }` value through the host. A missing variable is an error naming
/// it; a value that breaks the rule of the place it is used is an error that does not show it.
pub fn resolve_secrets(config: &Config, host: &dyn Host) -> Result<Secrets, Vec<ConfigError>> {
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    let mut check = |value: &Value, rule: &rules::Rule, what: &str| {
        let Value::Env { name, span } = value else {
            return;
        };
        match host.env_var(name) {
            None => errors.push(
                ConfigError::new(
                    "config::missing_env",
                    *span,
                    format!("the environment variable `{name}` is not set"),
                    "read from the environment",
                )
                .with_help(format!(
                    "set {name} before running stagecraft, e.g. `export {name}=...`"
                )),
            ),
            Some(text) => {
                if let Err(problem) = rule.check(&text) {
                    errors.push(
                        ConfigError::new(
                            rule.code,
                            *span,
                            format!("the value of `{name}` used as {what} {problem}"),
                            "invalid (sensitive) value",
                        )
                        .with_help(rule.help),
                    );
                }
                values.insert(name.clone(), Secret::new(text));
            }
        }
    };
    for (_, configured) in config.values() {
        let (rule, what) = match configured.slot {
            ValueSlot::StageVariable => (&rules::VARIABLE_VALUE, "a stage variable"),
            ValueSlot::CanaryOverride => (&rules::VARIABLE_VALUE, "a canary override"),
            ValueSlot::Environment => (&rules::AMPLIFY_ENV_VALUE, "an environment value"),
            ValueSlot::BasicAuthUsername => (&rules::BASIC_AUTH_PART, "a basic-auth user name"),
            ValueSlot::BasicAuthPassword => (&rules::BASIC_AUTH_PART, "a basic-auth password"),
        };
        check(configured.value, rule, what);
    }
    if errors.is_empty() {
        Ok(Secrets { values })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests;
