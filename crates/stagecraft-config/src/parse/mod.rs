//! The configuration walker's entry: toml's recoverable parse, then one walk over the spanned
//! tree that builds the model and collects every problem with its span.
//!
//! `walker` holds the walk's machinery and shared checks; `settings`, `rest_apis` and `amplify`
//! the tables; `template` the values, their `${...}` references and `depends_on`.

mod amplify;
mod defaults;
mod import;
mod merge;
mod outputs;
mod refactor;
mod rest_apis;
mod rollout;
mod settings;
mod template;
mod variables;
mod walker;

use std::collections::BTreeMap;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use self::import::check_imports;
use self::outputs::check_output_references;
use self::refactor::check_refactors;
use self::template::check_references;
pub use self::variables::ENV_PREFIX;
use self::variables::Given;
use self::walker::{Walker, span};
use crate::Host;
use crate::error::ConfigError;
use crate::model::*;
use crate::rules;
use crate::sources::{SourceRole, Sources};

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

/// One file as read from disk, for [`parse_input`].
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Its name in diagnostics (the path as given).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The folder its relative paths resolve in, relative to the first configuration file's
    /// folder (`""` for the same folder, `/` separators) or absolute.
    pub folder: String,
}

/// Everything a configuration is read from: the `--config` files in order (later ones
/// override earlier ones), the `--var-file`s in order, and the `--var NAME=VALUE` flags in
/// order.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The configuration files; at least one.
    pub configs: Vec<InputFile>,
    /// The var files.
    pub var_files: Vec<InputFile>,
    /// The `--var` flags.
    pub vars: Vec<(String, String)>,
}

/// Parses and validates a configuration. On failure, every problem found, in file order.
pub fn parse(source: &str, host: &dyn Host) -> Result<Config, Vec<ConfigError>> {
    parse_recoverable(source, host).into_result()
}

/// Parses and validates a configuration read as bytes. Bytes that are not UTF-8 are one error,
/// pointing at the first bad byte (its line and column); spans of the other errors are byte
/// offsets into `bytes` as into the text.
pub fn parse_bytes(bytes: &[u8], host: &dyn Host) -> Parsed {
    parse_input(
        Input {
            configs: vec![InputFile {
                name: String::new(),
                bytes: bytes.to_vec(),
                folder: String::new(),
            }],
            ..Input::default()
        },
        host,
    )
    .0
}

/// The error for the first byte that is not UTF-8. The span is empty, at that byte, so that it
/// points at the same line and column in the text with replacement characters that a report
/// shows ([`String::from_utf8_lossy`]).
fn not_utf8(bytes: &[u8], error: &std::str::Utf8Error, start: usize) -> ConfigError {
    let at = error.valid_up_to();
    let byte = bytes.get(at).copied().unwrap_or_default();
    ConfigError::new(
        "config::not_utf8",
        start + at..start + at,
        format!("the file is not UTF-8: byte 0x{byte:02X} is not valid here"),
        "not UTF-8",
    )
    .with_help("save the file as UTF-8 (TOML files are UTF-8 text)")
}

/// Parses and validates a configuration, keeping the model built from its valid parts (see
/// [`Parsed`]).
pub fn parse_recoverable(source: &str, host: &dyn Host) -> Parsed {
    parse_bytes(source.as_bytes(), host)
}

/// A file's bytes as text: the text itself, or (not UTF-8) the text with replacement
/// characters and the error at the first bad byte.
fn decode(bytes: Vec<u8>, start: usize, errors: &mut Vec<ConfigError>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            errors.push(not_utf8(error.as_bytes(), &error.utf8_error(), start));
            String::from_utf8_lossy(error.as_bytes()).into_owned()
        }
    }
}

/// TOML syntax errors of the file starting at `start`, as configuration errors.
fn syntax_errors(errors: &[toml::de::Error], start: usize) -> impl Iterator<Item = ConfigError> {
    errors.iter().map(move |error| {
        let at = error.span().unwrap_or(0..0);
        ConfigError::new(
            "config::syntax",
            at.start + start..at.end + start,
            format!("TOML syntax error: {}", error.message().trim_end()),
            "here",
        )
    })
}

/// Parses and validates a configuration read from several files (see [`Input`]): the files'
/// trees merged in order, variables given their values, every problem reported with a span
/// in [`Sources`] (which names the file and line it points into). The sources are returned
/// for the report ([`crate::ConfigErrors::in_sources`]) and the configuration digest.
pub fn parse_input(input: Input, host: &dyn Host) -> (Parsed, Sources) {
    let mut sources = Sources::new();
    let mut errors = Vec::new();
    let mut config_starts = Vec::new();
    let mut unreadable = false;
    for file in input.configs {
        let start = sources.next_start();
        let before = errors.len();
        let text = decode(file.bytes, start, &mut errors);
        unreadable |= errors.len() > before;
        sources.push(file.name, SourceRole::Config, file.folder, text);
        config_starts.push(start);
    }
    let mut var_file_starts = Vec::new();
    for file in input.var_files {
        let start = sources.next_start();
        let before = errors.len();
        let text = decode(file.bytes, start, &mut errors);
        unreadable |= errors.len() > before;
        var_file_starts.push((start, file.name.clone()));
        sources.push(file.name, SourceRole::VarFile, file.folder, text);
    }
    let mut flag_spans = Vec::new();
    if !input.vars.is_empty() {
        let start = sources.next_start();
        let mut text = String::new();
        for (name, _) in &input.vars {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str("--var ");
            let at = start + text.len();
            text.push_str(name);
            flag_spans.push(at..at + name.len());
        }
        sources.push("command line", SourceRole::Flags, String::new(), text);
    }
    if unreadable {
        return (
            Parsed {
                config: None,
                errors,
            },
            sources,
        );
    }
    let mut masks = Vec::new();
    let parsed = {
        let mut root: Option<Spanned<DeTable<'_>>> = None;
        for (file, start) in sources.files().iter().zip(&config_starts) {
            let (tree, syntax) = DeTable::parse_recoverable(sources.file_text(file));
            errors.extend(syntax_errors(&syntax, *start));
            let tree = if *start == 0 {
                tree
            } else {
                let span = tree.span();
                Spanned::new(
                    span.start + start..span.end + start,
                    merge::shift_table(tree.into_inner(), *start),
                )
            };
            match &mut root {
                None => root = Some(tree),
                Some(root) => merge::merge_document(root.get_mut(), tree.into_inner()),
            }
        }
        let mut given = Vec::new();
        for (start, name) in &var_file_starts {
            let file = sources
                .file_at(*start)
                .map_or("", |file| sources.file_text(file));
            let (tree, syntax) = DeTable::parse_recoverable(file);
            errors.extend(syntax_errors(&syntax, *start));
            // Every value is masked in reports (a snippet shows neighbouring lines too); a
            // file that does not parse is masked whole.
            if !syntax.is_empty() {
                masks.push(*start..*start + file.len());
            }
            for (key, value) in merge::shift_table(tree.into_inner(), *start) {
                masks.push(value.span());
                match value.get_ref() {
                    DeValue::String(text) => given.push(Given {
                        name: key.get_ref().to_string(),
                        span: key.span(),
                        value: text.to_string(),
                        origin: VariableOrigin::VarFile(name.clone()),
                    }),
                    _ => errors.push(
                        ConfigError::new(
                            "config::wrong_type",
                            span(key.span()),
                            format!("the value of `{}` must be a string", key.get_ref()),
                            "not a string",
                        )
                        .with_help("variables hold text: write the value in quotes"),
                    ),
                }
            }
        }
        for ((name, value), at) in input.vars.into_iter().zip(flag_spans) {
            given.push(Given {
                name,
                span: at,
                value,
                origin: VariableOrigin::Flag,
            });
        }
        let root = root.unwrap_or_else(|| Spanned::new(0..0, DeTable::new()));
        walk(&sources, &root, &given, errors, host)
    };
    for mask in masks {
        sources.mask(mask);
    }
    (parsed, sources)
}

/// The walk over a merged document, and the reference checks when it built a model.
fn walk(
    sources: &Sources,
    root: &Spanned<DeTable<'_>>,
    given: &[Given],
    mut errors: Vec<ConfigError>,
    host: &dyn Host,
) -> Parsed {
    if !errors.is_empty() {
        // A broken document is walked anyway: the recovered parts still get their checks, but
        // missing-key errors caused by the syntax error would only add noise, and a model
        // built from a guess at the document would only mislead later checks.
        let mut walker = Walker::new(host, sources);
        walker.document(sources.text(), root, given);
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
    let mut walker = Walker::new(host, sources);
    let config = walker.document(sources.text(), root, given);
    errors.extend(walker.errors);
    if let Some(config) = &config {
        check_references(config, &mut errors);
        check_refactors(config, &mut errors);
        check_imports(config, &mut errors);
        check_output_references(config, &mut errors);
    }
    Parsed { config, errors }
}

impl Walker<'_> {
    /// Walks the whole document. `None` when a required part is missing or broken; the errors
    /// say why.
    pub(crate) fn document(
        &mut self,
        source: &str,
        root: &Spanned<DeTable<'_>>,
        given: &[Given],
    ) -> Option<Config> {
        let table = root.get_ref();
        self.check_keys(
            table,
            &[
                "project",
                "variables",
                "state",
                "aws",
                "rest_apis",
                "amplify_apps",
                "moved",
                "removed",
                "import",
                "outputs",
            ],
            "the top level",
        );
        self.declare_variables(table.get("variables"), given);
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
        // Before the variables are finished: outputs use them too.
        let outputs = table
            .get("outputs")
            .map(|node| self.outputs(node))
            .unwrap_or_default();
        let variables = self.finish_variables();
        let moved = table
            .get("moved")
            .map(|node| self.moved(source, node))
            .unwrap_or_default();
        let removed = table
            .get("removed")
            .map(|node| self.removed(source, node))
            .unwrap_or_default();
        let imports = table
            .get("import")
            .map(|node| self.imports(source, node))
            .unwrap_or_default();
        Some(Config {
            imports,
            outputs,
            variables,
            moved,
            removed,
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
