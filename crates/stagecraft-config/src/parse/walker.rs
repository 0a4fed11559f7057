//! The walker over toml's spanned tree: the [`Walker`] that collects every problem instead of
//! stopping at the first, and its shared checks (unknown keys with "did you mean", wrong types,
//! missing keys, the value rules). The tables themselves are walked in the sibling modules.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use miette::SourceSpan;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::variables::Declared;
use crate::Host;
use crate::error::{ConfigError, did_you_mean};
use crate::rules;
use crate::sources::Sources;

/// A value in toml's spanned tree.
pub(super) type Node<'i> = Spanned<DeValue<'i>>;

/// The resource a problem belongs to, as error messages name it. Built for every table walked
/// but written out only when there is an error to report.
#[derive(Debug, Clone, Copy)]
pub(super) enum Context<'a> {
    /// `[rest_apis.<key>]`
    RestApi(&'a str),
    /// A stage of a REST API.
    Stage { api: &'a str, name: &'a str },
    /// The canary of a stage.
    Canary { stage: &'a str },
    /// The rollout of a stage's canary.
    Rollout { stage: &'a str },
    /// `[amplify_apps.<key>]`
    AmplifyApp(&'a str),
    /// A branch of an Amplify app.
    Branch { app: &'a str, name: &'a str },
    /// `[rest_apis.<key>.defaults]`
    StageDefaults(&'a str),
    /// `[amplify_apps.<key>.defaults]`
    BranchDefaults(&'a str),
}

impl fmt::Display for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::RestApi(key) => write!(f, "[rest_apis.{key}]"),
            Context::Stage { api, name } => write!(f, "stage `{name}` of `{api}`"),
            Context::Canary { stage } => write!(f, "the canary of stage `{stage}`"),
            Context::Rollout { stage } => write!(f, "the canary rollout of stage `{stage}`"),
            Context::AmplifyApp(key) => write!(f, "[amplify_apps.{key}]"),
            Context::Branch { app, name } => write!(f, "branch `{name}` of `{app}`"),
            Context::StageDefaults(key) => write!(f, "[rest_apis.{key}.defaults]"),
            Context::BranchDefaults(key) => write!(f, "[amplify_apps.{key}.defaults]"),
        }
    }
}

/// Collects errors while walking.
pub(crate) struct Walker<'h> {
    /// Every problem found so far, in the order found.
    pub(crate) errors: Vec<ConfigError>,
    /// Answers the questions about files and the environment.
    pub(super) host: &'h dyn Host,
    /// The text of every file, end to end (spans index it).
    pub(super) source: &'h str,
    /// The files, for the folder of the file a path was written in.
    pub(super) sources: &'h Sources,
    /// The declared input variables and their values.
    pub(super) variables: BTreeMap<String, Declared>,
}

/// A byte range as a miette span.
pub(super) fn span(range: Range<usize>) -> SourceSpan {
    SourceSpan::from(range)
}

/// How an error names the type of a value found where another was expected.
pub(super) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The span a missing key's error points at: the table itself, shortened to its first line so
/// that the label sits on the table header rather than under the whole body.
pub(super) fn header_span(source: &str, range: Range<usize>) -> SourceSpan {
    let text = source.get(range.clone()).unwrap_or("");
    let first_line = text.find('\n').unwrap_or(text.len());
    span(range.start..range.start + first_line.max(1).min(text.len().max(1)))
}

impl<'h> Walker<'h> {
    pub(crate) fn new(host: &'h dyn Host, sources: &'h Sources) -> Walker<'h> {
        Walker {
            errors: Vec::new(),
            host,
            source: sources.text(),
            sources,
            variables: BTreeMap::new(),
        }
    }

    pub(super) fn error(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    pub(super) fn wrong_type(&mut self, node: &Node<'_>, what: impl fmt::Display, expected: &str) {
        let found = type_name(node.get_ref());
        self.error(ConfigError::new(
            "config::wrong_type",
            span(node.span()),
            format!("`{what}` must be {expected}, not {found}"),
            format!("expected {expected}"),
        ));
    }

    /// Reports keys not in `allowed`, with the closest allowed one as a hint.
    pub(super) fn check_keys(
        &mut self,
        table: &DeTable<'_>,
        allowed: &[&str],
        context: impl fmt::Display,
    ) {
        for key in table.keys() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let name = key.get_ref();
                let help = did_you_mean(name, allowed.iter().copied()).unwrap_or_else(|| {
                    format!("the keys allowed in {context} are: {}", allowed.join(", "))
                });
                self.error(
                    ConfigError::new(
                        "config::unknown_key",
                        span(key.span()),
                        format!("unknown key `{name}` in {context}"),
                        "not a known key",
                    )
                    .with_help(help),
                );
            }
        }
    }

    pub(super) fn table<'a, 'i>(
        &mut self,
        node: &'a Node<'i>,
        what: impl fmt::Display,
    ) -> Option<&'a DeTable<'i>> {
        match node.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => {
                self.wrong_type(node, what, "a table");
                None
            }
        }
    }

    pub(super) fn string(&mut self, node: &Node<'_>, what: &str) -> Option<String> {
        self.str(node, what).map(Cow::into_owned)
    }

    /// A string with its `${var.NAME}` substituted, borrowed from the document when it has
    /// none.
    pub(super) fn str<'a>(&mut self, node: &'a Node<'_>, what: &str) -> Option<Cow<'a, str>> {
        match node.get_ref() {
            DeValue::String(text) => self.interpolate(node.span(), text, what),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, table: &DeTable<'_>, key: &str, what: &str) -> bool {
        match table.get(key) {
            None => false,
            Some(node) => match node.get_ref() {
                DeValue::Boolean(value) => *value,
                _ => {
                    self.wrong_type(node, what, "a boolean (true or false)");
                    false
                }
            },
        }
    }

    pub(super) fn optional_string(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        what: &str,
    ) -> Option<String> {
        table.get(key).and_then(|node| self.string(node, what))
    }

    pub(super) fn required<'a, 'i>(
        &mut self,
        source: &str,
        table: &'a DeTable<'i>,
        table_span: Range<usize>,
        key: &str,
        context: impl fmt::Display,
    ) -> Option<&'a Node<'i>> {
        let found = table.get(key);
        if found.is_none() {
            self.error(ConfigError::new(
                "config::missing_key",
                header_span(source, table_span),
                format!("{context} is missing the required key `{key}`"),
                format!("`{key}` is required here"),
            ));
        }
        found
    }

    /// A relative `path` written at `at`, relative to the first configuration file's folder:
    /// prefixed with the folder of the file that wrote it (docs/configuration.md,
    /// "Environments").
    pub(super) fn path_from(&self, at: Range<usize>, path: String) -> String {
        let folder = self
            .sources
            .file_at(at.start)
            .map_or("", |file| file.folder.as_str());
        if folder.is_empty() || path.starts_with('/') {
            path
        } else {
            format!("{folder}/{path}")
        }
    }

    /// Checks `text` against a rule, reporting at `at`.
    pub(super) fn rule(
        &mut self,
        at: Range<usize>,
        what: &str,
        text: &str,
        rule: &rules::Rule,
    ) -> bool {
        match rule.check(text) {
            Ok(()) => true,
            Err(problem) => {
                self.error(
                    ConfigError::new(
                        rule.code,
                        span(at),
                        format!("{what} `{}` {problem}", rules::shorten(text)),
                        problem.to_string(),
                    )
                    .with_help(rule.help_for(&problem)),
                );
                false
            }
        }
    }
}
