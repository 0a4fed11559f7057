//! The configuration walker's entry: toml's recoverable parse, then one walk over the spanned
//! tree that builds the model and collects every problem with its span.
//!
//! `walker` holds the walk's machinery and shared checks; `settings`, `rest_apis` and `amplify`
//! the tables; `template` the values, their `${...}` references and `depends_on`.

mod amplify;
mod rest_apis;
mod settings;
mod template;
mod walker;

use std::collections::BTreeMap;

use toml::Spanned;
use toml::de::DeTable;

use self::template::check_references;
use self::walker::{Walker, span};
use crate::Host;
use crate::error::ConfigError;
use crate::model::*;
use crate::rules;

/// What parsing found: the model as far as it could be built, and every problem.
///
/// The model is there whenever the document's required parts are, even when other parts are
/// broken (those are left out of it), so that later checks (the dependency graph, the
/// environment) can report their problems in the same report. It is `None` for a file that is
/// not UTF-8 or not TOML, or that lacks a required part.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The model built from what is valid.
    pub config: Option<Config>,
    /// Every problem found, in the order found.
    pub errors: Vec<ConfigError>,
}

impl Parsed {
    /// The model when nothing is wrong, else every problem.
    pub fn into_result(self) -> Result<Config, Vec<ConfigError>> {
        match self.config {
            Some(config) if self.errors.is_empty() => Ok(config),
            _ => Err(self.errors),
        }
    }
}

/// Parses and validates a configuration. On failure, every problem found, in file order.
pub fn parse(source: &str, host: &dyn Host) -> Result<Config, Vec<ConfigError>> {
    parse_recoverable(source, host).into_result()
}

/// Parses and validates a configuration read as bytes. Bytes that are not UTF-8 are one error,
/// pointing at the first bad byte (its line and column); spans of the other errors are byte
/// offsets into `bytes` as into the text.
pub fn parse_bytes(bytes: &[u8], host: &dyn Host) -> Parsed {
    match std::str::from_utf8(bytes) {
        Ok(source) => parse_recoverable(source, host),
        Err(error) => Parsed {
            config: None,
            errors: vec![not_utf8(bytes, &error)],
        },
    }
}

/// The error for the first byte that is not UTF-8. The span is empty, at that byte, so that it
/// points at the same line and column in the text with replacement characters that a report
/// shows ([`String::from_utf8_lossy`]).
fn not_utf8(bytes: &[u8], error: &std::str::Utf8Error) -> ConfigError {
    let at = error.valid_up_to();
    let byte = bytes.get(at).copied().unwrap_or_default();
    ConfigError::new(
        "config::not_utf8",
        at..at,
        format!("the file is not UTF-8: byte 0x{byte:02X} is not valid here"),
        "not UTF-8",
    )
    .with_help("save the file as UTF-8 (TOML files are UTF-8 text)")
}

/// Parses and validates a configuration, keeping the model built from its valid parts (see
/// [`Parsed`]).
pub fn parse_recoverable(source: &str, host: &dyn Host) -> Parsed {
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
        // missing-key errors caused by the syntax error would only add noise, and a model
        // built from a guess at the document would only mislead later checks.
        let mut walker = Walker::new(host);
        walker.document(source, &root);
        errors.extend(
            walker
                .errors
                .into_iter()
                .filter(|error| error.code != "config::missing_key"),
        );
        return Parsed {
            config: None,
            errors,
        };
    }
    let mut walker = Walker::new(host);
    let config = walker.document(source, &root);
    errors.extend(walker.errors);
    if let Some(config) = &config {
        check_references(config, &mut errors);
    }
    Parsed { config, errors }
}

impl Walker<'_> {
    /// Walks the whole document. `None` when a required part is missing or broken; the errors
    /// say why.
    pub(crate) fn document(&mut self, source: &str, root: &Spanned<DeTable<'_>>) -> Option<Config> {
        let table = root.get_ref();
        self.check_keys(
            table,
            &["project", "state", "aws", "rest_apis", "amplify_apps"],
            "the top level",
        );
        let project = match table.get("project") {
            Some(node) => self.project(source, node),
            None => {
                self.error(
                    ConfigError::new(
                        "config::missing_key",
                        span(0..0),
                        "the `[project]` table is required",
                        "add `[project]` here",
                    )
                    .with_help("start the file with:\n[project]\nname = \"my-service\""),
                );
                None
            }
        };
        let state = match table.get("state") {
            Some(node) => self.state(node),
            None => Some(StateSettings::Local {
                path: DEFAULT_STATE_PATH.to_string(),
            }),
        };
        let aws = match table.get("aws") {
            Some(node) => self.aws(node),
            None => Some(AwsSettings::default()),
        };
        let mut rest_apis = BTreeMap::new();
        if let Some(node) = table.get("rest_apis")
            && let Some(apis) = self.table(node, "rest_apis")
        {
            for (key, node) in apis {
                if self.rule(
                    key.span(),
                    "REST API key",
                    key.get_ref(),
                    &rules::RESOURCE_KEY,
                ) && let Some(api) = self.rest_api(source, key.get_ref(), node)
                {
                    rest_apis.insert(key.get_ref().to_string(), api);
                }
            }
        }
        let mut amplify_apps = BTreeMap::new();
        if let Some(node) = table.get("amplify_apps")
            && let Some(apps) = self.table(node, "amplify_apps")
        {
            for (key, node) in apps {
                if self.rule(
                    key.span(),
                    "Amplify app key",
                    key.get_ref(),
                    &rules::RESOURCE_KEY,
                ) && let Some(app) = self.amplify_app(source, key.get_ref(), node)
                {
                    amplify_apps.insert(key.get_ref().to_string(), app);
                }
            }
        }
        Some(Config {
            project: project?,
            state: state?,
            aws: aws?,
            rest_apis,
            amplify_apps,
        })
    }
}

#[cfg(test)]
mod tests;
