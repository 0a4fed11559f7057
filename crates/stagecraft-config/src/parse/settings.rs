//! The settings tables: `[project]`, `[state]` (the local or S3 backend) and `[aws]`.

use std::fmt;
use std::ops::{Range, RangeInclusive};

use toml::de::{DeTable, DeValue};

use super::walker::{Node, Walker, span};
use crate::error::{ConfigError, did_you_mean};
use crate::model::*;
use crate::rules::{self, MAX_ATTEMPTS, REQUEST_BURST, REQUESTS_PER_SECOND};

impl Walker<'_> {
    pub(super) fn project(&mut self, source: &str, node: &Node<'_>) -> Option<Project> {
        let table = self.table(node, "project")?;
        self.check_keys(table, &["name", "region"], "[project]");
        let name = self
            .required(source, table, node.span(), "name", "[project]")
            .and_then(|node| {
                let name = self.string(node, "project.name")?;
                self.rule(node.span(), "project name", &name, &rules::PROJECT_NAME)
                    .then_some(name)
            });
        let region = self.region(table, "project.region");
        Some(Project {
            name: name?,
            region,
        })
    }

    pub(super) fn region(&mut self, table: &DeTable<'_>, what: &str) -> Option<String> {
        let node = table.get("region")?;
        let region = self.string(node, what)?;
        self.rule(node.span(), "region", &region, &rules::REGION)
            .then_some(region)
    }

    pub(super) fn state(&mut self, node: &Node<'_>) -> Option<StateSettings> {
        let table = self.table(node, "state")?;
        let backend_node = table.get("backend");
        let backend = match backend_node {
            Some(node) => self.string(node, "state.backend")?,
            None => "local".to_string(),
        };
        match backend.as_str() {
            "local" => {
                self.check_keys(
                    table,
                    &["backend", "path"],
                    "[state] with the local backend",
                );
                let path = match table.get("path") {
                    Some(path) => self
                        .string(path, "state.path")
                        .map(|text| self.path_from(path.span(), text)),
                    None => Some(self.path_from(node.span(), DEFAULT_STATE_PATH.to_string())),
                }
                .unwrap_or_else(|| DEFAULT_STATE_PATH.to_string());
                Some(StateSettings::Local { path })
            }
            "s3" => {
                self.check_keys(
                    table,
                    &["backend", "bucket", "key", "region"],
                    "[state] with the s3 backend",
                );
                let bucket = self.required_string(table, node.span(), "bucket", "[state]");
                let key = self.required_string(table, node.span(), "key", "[state]");
                let region = self.region(table, "state.region");
                Some(StateSettings::S3 {
                    bucket: bucket?,
                    key: key?,
                    region,
                })
            }
            other => {
                let at = backend_node.map_or(node.span(), |node| node.span());
                self.error(
                    ConfigError::new(
                        "config::invalid_backend",
                        span(at),
                        format!("unknown state backend `{other}`"),
                        "expected \"local\" or \"s3\"",
                    )
                    .with_optional_help(did_you_mean(other, ["local", "s3"])),
                );
                None
            }
        }
    }

    /// A required non-empty string whose missing-key error points at the table's header. The
    /// source is not needed for the span here because the caller passes the table's own span.
    pub(super) fn required_string(
        &mut self,
        table: &DeTable<'_>,
        table_span: Range<usize>,
        key: &str,
        context: impl fmt::Display,
    ) -> Option<String> {
        match table.get(key) {
            Some(node) => {
                let text = self.string(node, key)?;
                if text.is_empty() {
                    self.error(ConfigError::new(
                        "config::empty_value",
                        span(node.span()),
                        format!("`{key}` in {context} must not be empty"),
                        "empty",
                    ));
                    return None;
                }
                Some(text)
            }
            None => {
                self.error(ConfigError::new(
                    "config::missing_key",
                    span(table_span.start..table_span.start + 1),
                    format!("{context} is missing the required key `{key}`"),
                    format!("`{key}` is required here"),
                ));
                None
            }
        }
    }

    pub(super) fn aws(&mut self, node: &Node<'_>) -> Option<AwsSettings> {
        let table = self.table(node, "aws")?;
        self.check_keys(
            table,
            &[
                "create_deployment_interval",
                "max_attempts",
                "requests_per_second",
                "request_burst",
            ],
            "[aws]",
        );
        let mut settings = AwsSettings::default();
        if let Some(node) = table.get("create_deployment_interval")
            && let Some(text) = self.string(node, "aws.create_deployment_interval")
        {
            match humantime::parse_duration(&text) {
                Ok(interval) => settings.create_deployment_interval = interval,
                Err(error) => self.error(
                    ConfigError::new(
                        "config::invalid_duration",
                        span(node.span()),
                        format!("`{text}` is not a duration: {error}"),
                        "not a duration",
                    )
                    .with_help("write a duration such as \"5s\" or \"1500ms\""),
                ),
            }
        }
        if let Some(n) = self.bounded_integer(table, "max_attempts", MAX_ATTEMPTS) {
            settings.max_attempts = n;
        }
        if let Some(n) = self.bounded_integer(table, "requests_per_second", REQUESTS_PER_SECOND) {
            settings.requests_per_second = n;
        }
        if let Some(n) = self.bounded_integer(table, "request_burst", REQUEST_BURST) {
            settings.request_burst = n;
        }
        Some(settings)
    }

    /// `[aws] key`, a decimal integer within `bounds`, if the table has one; else an error at
    /// its value.
    fn bounded_integer(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        bounds: RangeInclusive<u32>,
    ) -> Option<u32> {
        let node = table.get(key)?;
        let DeValue::Integer(integer) = node.get_ref() else {
            self.wrong_type(node, format!("aws.{key}"), "an integer");
            return None;
        };
        match integer.as_str().parse::<u32>() {
            Ok(n) if bounds.contains(&n) && integer.radix() == 10 => Some(n),
            _ => {
                self.error(ConfigError::new(
                    "config::out_of_range",
                    span(node.span()),
                    format!(
                        "`{key}` must be between {} and {}, not {integer}",
                        bounds.start(),
                        bounds.end()
                    ),
                    "out of range",
                ));
                None
            }
        }
    }
}
