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
        let mut walker = Walker::new(host);
        walker.document(source, &root);
        errors.extend(
            walker
                .errors
                .into_iter()
                .filter(|error| error.code != "config::missing_key"),
        );
        return Err(errors);
    }
    let mut walker = Walker::new(host);
    let config = walker.document(source, &root);
    errors.extend(walker.errors);
    if let Some(config) = &config {
        check_references(config, &mut errors);
    }
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => Err(errors),
    }
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
