//! Walks the spanned TOML tree into the model, collecting every problem instead of stopping at
//! the first: unknown keys (with "did you mean"), wrong types, missing keys, and the value rules.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use miette::SourceSpan;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::address::{Address, Attribute, Reference, split_reference};
use crate::error::{ConfigError, did_you_mean};
use crate::model::*;
use crate::rules;
use crate::{Host, PathInfo};

type Node<'i> = Spanned<DeValue<'i>>;

/// The resource a problem belongs to, as error messages name it. Built for every table walked
/// but written out only when there is an error to report.
#[derive(Debug, Clone, Copy)]
enum Context<'a> {
    /// `[rest_apis.<key>]`
    RestApi(&'a str),
    /// A stage of a REST API.
    Stage { api: &'a str, name: &'a str },
    /// The canary of a stage.
    Canary { stage: &'a str },
    /// `[amplify_apps.<key>]`
    AmplifyApp(&'a str),
    /// A branch of an Amplify app.
    Branch { app: &'a str, name: &'a str },
}

impl fmt::Display for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::RestApi(key) => write!(f, "[rest_apis.{key}]"),
            Context::Stage { api, name } => write!(f, "stage `{name}` of `{api}`"),
            Context::Canary { stage } => write!(f, "the canary of stage `{stage}`"),
            Context::AmplifyApp(key) => write!(f, "[amplify_apps.{key}]"),
            Context::Branch { app, name } => write!(f, "branch `{name}` of `{app}`"),
        }
    }
}

/// Collects errors while walking.
pub(crate) struct Walker<'h> {
    pub errors: Vec<ConfigError>,
    host: &'h dyn Host,
}

fn span(range: Range<usize>) -> SourceSpan {
    SourceSpan::from(range)
}

fn type_name(value: &DeValue<'_>) -> &'static str {
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
fn header_span(source: &str, range: Range<usize>) -> SourceSpan {
    let text = source.get(range.clone()).unwrap_or("");
    let first_line = text.find('\n').unwrap_or(text.len());
    span(range.start..range.start + first_line.max(1).min(text.len().max(1)))
}

impl<'h> Walker<'h> {
    pub(crate) fn new(host: &'h dyn Host) -> Walker<'h> {
        Walker {
            errors: Vec::new(),
            host,
        }
    }

    fn error(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    fn wrong_type(&mut self, node: &Node<'_>, what: impl fmt::Display, expected: &str) {
        let found = type_name(node.get_ref());
        self.error(ConfigError::new(
            "config::wrong_type",
            span(node.span()),
            format!("`{what}` must be {expected}, not {found}"),
            format!("expected {expected}"),
        ));
    }

    /// Reports keys not in `allowed`, with the closest allowed one as a hint.
    fn check_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], context: impl fmt::Display) {
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

    fn table<'a, 'i>(
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

    fn string(&mut self, node: &Node<'_>, what: &str) -> Option<String> {
        self.str(node, what).map(str::to_string)
    }

    /// A string borrowed from the document, for values that are only looked at.
    fn str<'a>(&mut self, node: &'a Node<'_>, what: &str) -> Option<&'a str> {
        match node.get_ref() {
            DeValue::String(text) => Some(text),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, table: &DeTable<'_>, key: &str, what: &str) -> bool {
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

    fn optional_string(&mut self, table: &DeTable<'_>, key: &str, what: &str) -> Option<String> {
        table.get(key).and_then(|node| self.string(node, what))
    }

    fn required<'a, 'i>(
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

    /// Checks `text` against a rule, reporting at `at`.
    fn rule(&mut self, at: Range<usize>, what: &str, text: &str, rule: &rules::Rule) -> bool {
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
                    .with_help(rule.help),
                );
                false
            }
        }
    }

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

    fn project(&mut self, source: &str, node: &Node<'_>) -> Option<Project> {
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

    fn region(&mut self, table: &DeTable<'_>, what: &str) -> Option<String> {
        let node = table.get("region")?;
        let region = self.string(node, what)?;
        self.rule(node.span(), "region", &region, &rules::REGION)
            .then_some(region)
    }

    fn state(&mut self, node: &Node<'_>) -> Option<StateSettings> {
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
                let path = self
                    .optional_string(table, "path", "state.path")
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
    fn required_string(
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

    fn aws(&mut self, node: &Node<'_>) -> Option<AwsSettings> {
        let table = self.table(node, "aws")?;
        self.check_keys(
            table,
            &["create_deployment_interval", "max_attempts"],
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
        if let Some(node) = table.get("max_attempts") {
            match node.get_ref() {
                DeValue::Integer(integer) => match integer.as_str().parse::<u32>() {
                    Ok(n) if (1..=100).contains(&n) && integer.radix() == 10 => {
                        settings.max_attempts = n
                    }
                    _ => self.error(ConfigError::new(
                        "config::out_of_range",
                        span(node.span()),
                        format!("`max_attempts` must be between 1 and 100, not {integer}"),
                        "out of range",
                    )),
                },
                _ => self.wrong_type(node, "aws.max_attempts", "an integer"),
            }
        }
        Some(settings)
    }

    fn rest_api(&mut self, source: &str, key: &str, node: &Node<'_>) -> Option<RestApi> {
        let context = Context::RestApi(key);
        let table = self.table(node, format_args!("rest_apis.{key}"))?;
        self.check_keys(table, &["id", "stages"], context);
        let id = self
            .required(source, table, node.span(), "id", context)
            .and_then(|node| {
                let id = self.string(node, "id")?;
                self.rule(node.span(), "REST API id", &id, &rules::REST_API_ID)
                    .then_some(id)
            });
        let mut stages = BTreeMap::new();
        if let Some(stages_node) = table.get("stages")
            && let Some(stage_tables) =
                self.table(stages_node, format_args!("rest_apis.{key}.stages"))
        {
            for (index, (name, node)) in stage_tables.iter().enumerate() {
                if index == rules::MAX_STAGES_PER_API {
                    self.error(
                        ConfigError::new(
                            "config::too_many_stages",
                            span(name.span()),
                            format!(
                                "REST API `{key}` has {} stages; API Gateway allows {} per API",
                                stage_tables.len(),
                                rules::MAX_STAGES_PER_API
                            ),
                            "one stage too many",
                        )
                        .with_help("the quota is adjustable in AWS Service Quotas, but stagecraft keeps to the default"),
                    );
                }
                let name_ok = self.rule(
                    name.span(),
                    "stage name",
                    name.get_ref(),
                    &rules::STAGE_NAME,
                );
                if let Some(stage) = self.stage(source, key, name.get_ref(), node)
                    && name_ok
                {
                    stages.insert(name.get_ref().to_string(), stage);
                }
            }
        }
        Some(RestApi { id: id?, stages })
    }

    fn stage(&mut self, source: &str, api: &str, name: &str, node: &Node<'_>) -> Option<Stage> {
        let context = Context::Stage { api, name };
        let table = self.table(node, format_args!("rest_apis.{api}.stages.{name}"))?;
        self.check_keys(
            table,
            &[
                "revision",
                "description",
                "tracing",
                "variables",
                "cache_size",
                "canary",
                "depends_on",
                "prevent_destroy",
            ],
            context,
        );
        let revision = self.revision(source, table, node.span(), context);
        let description = self.optional_string(table, "description", "description");
        let tracing = self.boolean(table, "tracing", "tracing");
        let variables = self.variables(table.get("variables"), "variables", context);
        let cache_size = table
            .get("cache_size")
            .and_then(|node| self.cache_size(node));
        let canary = table
            .get("canary")
            .and_then(|node| self.canary(source, name, node));
        let depends_on = self.depends_on(table);
        let prevent_destroy = self.boolean(table, "prevent_destroy", "prevent_destroy");
        Some(Stage {
            revision: revision?,
            description,
            tracing,
            variables,
            cache_size,
            canary,
            depends_on,
            prevent_destroy,
            span: header_span(source, node.span()),
        })
    }

    fn revision(
        &mut self,
        source: &str,
        table: &DeTable<'_>,
        table_span: Range<usize>,
        context: Context<'_>,
    ) -> Option<String> {
        let node = self.required(source, table, table_span, "revision", context)?;
        let revision = self.string(node, "revision")?;
        self.rule(node.span(), "revision", &revision, &rules::REVISION)
            .then_some(revision)
    }

    fn cache_size(&mut self, node: &Node<'_>) -> Option<CacheSize> {
        let text = match node.get_ref() {
            DeValue::String(text) => text.to_string(),
            DeValue::Float(float) => float.as_str().to_string(),
            DeValue::Integer(integer) if integer.radix() == 10 => integer.as_str().to_string(),
            _ => {
                self.wrong_type(node, "cache_size", "a size in GB (string or number)");
                return None;
            }
        };
        let size = CacheSize::parse(&text);
        if size.is_none() {
            let sizes: Vec<&str> = CacheSize::ALL.iter().map(|(_, text)| *text).collect();
            self.error(
                ConfigError::new(
                    "config::invalid_cache_size",
                    span(node.span()),
                    format!("`{text}` is not an API Gateway cache size"),
                    "not one of the eight sizes",
                )
                .with_help(format!("cache sizes (GB): {}", sizes.join(", "))),
            );
        }
        size
    }

    fn canary(&mut self, source: &str, stage: &str, node: &Node<'_>) -> Option<Canary> {
        let context = Context::Canary { stage };
        let table = self.table(node, "canary")?;
        self.check_keys(
            table,
            &[
                "revision",
                "percent_traffic",
                "variable_overrides",
                "use_stage_cache",
                "prevent_destroy",
            ],
            context,
        );
        let revision = self.revision(source, table, node.span(), context);
        let percent_traffic = match table.get("percent_traffic") {
            None => Some(0.0),
            Some(node) => {
                let value = match node.get_ref() {
                    DeValue::Float(float) => float.as_str().parse::<f64>().ok(),
                    DeValue::Integer(integer) if integer.radix() == 10 => {
                        integer.as_str().parse::<f64>().ok()
                    }
                    _ => {
                        self.wrong_type(node, "percent_traffic", "a number");
                        return None;
                    }
                };
                match value {
                    Some(percent) if (0.0..=100.0).contains(&percent) => Some(percent),
                    _ => {
                        self.error(ConfigError::new(
                            "config::out_of_range",
                            span(node.span()),
                            "`percent_traffic` must be between 0.0 and 100.0",
                            "out of range",
                        ));
                        None
                    }
                }
            }
        };
        let variable_overrides = self.variables(
            table.get("variable_overrides"),
            "variable_overrides",
            context,
        );
        let use_stage_cache = self.boolean(table, "use_stage_cache", "use_stage_cache");
        let prevent_destroy = self.boolean(table, "prevent_destroy", "prevent_destroy");
        Some(Canary {
            revision: revision?,
            percent_traffic: percent_traffic?,
            variable_overrides,
            use_stage_cache,
            prevent_destroy,
            span: header_span(source, node.span()),
        })
    }

    fn variables(
        &mut self,
        node: Option<&Node<'_>>,
        what: &str,
        context: Context<'_>,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let Some(node) = node else { return out };
        let Some(table) = self.table(node, what) else {
            return out;
        };
        if table.len() > rules::MAX_VARIABLES {
            self.error(ConfigError::new(
                "config::too_many_variables",
                span(node.span()),
                format!(
                    "{context} has {} {what}; API Gateway allows {}",
                    table.len(),
                    rules::MAX_VARIABLES
                ),
                "too many",
            ));
        }
        for (key, node) in table {
            let key_ok = self.rule(
                key.span(),
                "variable name",
                key.get_ref(),
                &rules::VARIABLE_NAME,
            );
            if let Some(value) = self.value(node, key.get_ref(), Some(&rules::VARIABLE_VALUE))
                && key_ok
            {
                out.insert(key.get_ref().to_string(), value);
            }
        }
        out
    }

    /// A string (possibly with references) or `{ env = "NAME" }`; literal parts are checked
    /// against `rule` now, env values when they are read.
    fn value(&mut self, node: &Node<'_>, what: &str, rule: Option<&rules::Rule>) -> Option<Value> {
        match node.get_ref() {
            DeValue::String(text) => {
                let template = self.template(node.span(), text)?;
                if let (Some(rule), Some(literal)) = (rule, single_literal(&template)) {
                    if let Err(problem) = rule.check(literal) {
                        self.error(
                            ConfigError::new(
                                rule.code,
                                span(node.span()),
                                format!("the value of `{what}` {problem}"),
                                problem,
                            )
                            .with_help(rule.help),
                        );
                    }
                } else if let Some(rule) = rule {
                    for part in &template.parts {
                        if let Part::Literal(literal) = part
                            && let Some(bad) = literal.chars().find(|c| !(rule.allowed)(*c))
                        {
                            self.error(
                                ConfigError::new(
                                    rule.code,
                                    span(node.span()),
                                    format!("the value of `{what}` contains `{bad}`, which is not allowed"),
                                    "character not allowed",
                                )
                                .with_help(rule.help),
                            );
                            break;
                        }
                    }
                }
                Some(Value::Text(template))
            }
            DeValue::Table(table) => {
                let Some(env) = table.get("env") else {
                    self.wrong_type(node, what, "a string or `{ env = \"NAME\" }`");
                    return None;
                };
                self.check_keys(table, &["env"], "an environment reference");
                let name = self.string(env, "env")?;
                self.rule(
                    env.span(),
                    "environment variable name",
                    &name,
                    &rules::ENV_NAME,
                )
                .then_some(Value::Env {
                    name,
                    span: span(node.span()),
                })
            }
            _ => {
                self.wrong_type(node, what, "a string or `{ env = \"NAME\" }`");
                None
            }
        }
    }

    /// Splits `${...}` references out of a string; `$${` is a literal `${`.
    fn template(&mut self, at: Range<usize>, text: &str) -> Option<Template> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let errors_before = self.errors.len();
        while let Some(index) = rest.find("${") {
            if rest[..index].ends_with('$') {
                literal.push_str(&rest[..index - 1]);
                literal.push_str("${");
                rest = &rest[index + 2..];
                continue;
            }
            literal.push_str(&rest[..index]);
            let after = &rest[index + 2..];
            let Some(end) = after.find('}') else {
                self.error(
                    ConfigError::new(
                        "config::invalid_reference",
                        span(at),
                        "unterminated `${` in a string",
                        "missing `}`",
                    )
                    .with_help("close the reference with `}`, or write `$${` for a literal `${`"),
                );
                return None;
            };
            let inner = &after[..end];
            match split_reference(inner.trim()) {
                Ok((address, attribute)) => {
                    let offered = Attribute::offered_by(address.kind());
                    match offered.iter().find(|(name, _)| *name == attribute) {
                        Some((_, attribute)) => {
                            if !literal.is_empty() {
                                parts.push(Part::Literal(std::mem::take(&mut literal)));
                            }
                            parts.push(Part::Ref(Reference {
                                address,
                                attribute: *attribute,
                            }));
                        }
                        None => {
                            let names: Vec<&str> = offered.iter().map(|(name, _)| *name).collect();
                            self.error(
                                ConfigError::new(
                                    "config::unknown_attribute",
                                    span(at.clone()),
                                    format!("`{address}` has no attribute `{attribute}`"),
                                    "unknown attribute",
                                )
                                .with_help(
                                    did_you_mean(&attribute, names.iter().copied()).unwrap_or_else(
                                        || format!("its attributes are: {}", names.join(", ")),
                                    ),
                                ),
                            );
                        }
                    }
                }
                Err(message) => self.error(ConfigError::new(
                    "config::invalid_reference",
                    span(at.clone()),
                    message,
                    "not a reference",
                )),
            }
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if self.errors.len() > errors_before {
            return None;
        }
        if !literal.is_empty() || parts.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Some(Template {
            parts,
            span: span(at),
        })
    }

    fn depends_on(&mut self, table: &DeTable<'_>) -> Vec<(Address, SourceSpan)> {
        let mut out = Vec::new();
        let Some(node) = table.get("depends_on") else {
            return out;
        };
        let DeValue::Array(items) = node.get_ref() else {
            self.wrong_type(node, "depends_on", "an array of resource addresses");
            return out;
        };
        for item in items.iter() {
            let Some(text) = self.str(item, "depends_on entry") else {
                continue;
            };
            match Address::parse(text) {
                Ok(address) => out.push((address, span(item.span()))),
                Err(message) => self.error(ConfigError::new(
                    "config::invalid_address",
                    span(item.span()),
                    message,
                    "not an address",
                )),
            }
        }
        out
    }

    fn amplify_app(&mut self, source: &str, key: &str, node: &Node<'_>) -> Option<AmplifyApp> {
        let context = Context::AmplifyApp(key);
        let table = self.table(node, format_args!("amplify_apps.{key}"))?;
        self.check_keys(table, &["id", "branches"], context);
        let id = self
            .required(source, table, node.span(), "id", context)
            .and_then(|node| {
                let id = self.string(node, "id")?;
                self.rule(node.span(), "Amplify app id", &id, &rules::AMPLIFY_APP_ID)
                    .then_some(id)
            });
        let mut branches = BTreeMap::new();
        if let Some(branches_node) = table.get("branches")
            && let Some(branch_tables) =
                self.table(branches_node, format_args!("amplify_apps.{key}.branches"))
        {
            for (name, node) in branch_tables {
                let name_ok = self.rule(
                    name.span(),
                    "branch name",
                    name.get_ref(),
                    &rules::BRANCH_NAME,
                );
                if let Some(branch) = self.branch(source, key, name.get_ref(), node)
                    && name_ok
                {
                    branches.insert(name.get_ref().to_string(), branch);
                }
            }
        }
        Some(AmplifyApp { id: id?, branches })
    }

    fn branch(&mut self, source: &str, app: &str, name: &str, node: &Node<'_>) -> Option<Branch> {
        let context = Context::Branch { app, name };
        let table = self.table(node, format_args!("amplify_apps.{app}.branches.{name}"))?;
        self.check_keys(
            table,
            &[
                "stage",
                "description",
                "framework",
                "environment",
                "basic_auth",
                "artifact",
                "depends_on",
                "prevent_destroy",
            ],
            context,
        );
        let stage = table.get("stage").and_then(|node| {
            let text = self.string(node, "stage")?;
            let stage = AmplifyStage::parse(&text);
            if stage.is_none() {
                let names: Vec<&str> = AmplifyStage::ALL.iter().map(|(_, name)| *name).collect();
                self.error(
                    ConfigError::new(
                        "config::invalid_amplify_stage",
                        span(node.span()),
                        format!("`{text}` is not an Amplify stage"),
                        "unknown stage",
                    )
                    .with_help(
                        did_you_mean(&text.to_uppercase(), names.iter().copied())
                            .unwrap_or_else(|| format!("Amplify stages: {}", names.join(", "))),
                    ),
                );
            }
            stage
        });
        let description = table.get("description").and_then(|node| {
            let text = self.string(node, "description")?;
            self.rule(
                node.span(),
                "description",
                &text,
                &rules::BRANCH_DESCRIPTION,
            )
            .then_some(text)
        });
        let framework = table.get("framework").and_then(|node| {
            let text = self.string(node, "framework")?;
            self.rule(node.span(), "framework", &text, &rules::FRAMEWORK)
                .then_some(text)
        });
        let mut environment = BTreeMap::new();
        if let Some(node) = table.get("environment")
            && let Some(env_table) = self.table(node, "environment")
        {
            for (key, node) in env_table {
                let key_ok = self.rule(
                    key.span(),
                    "environment variable name",
                    key.get_ref(),
                    &rules::AMPLIFY_ENV_NAME,
                );
                if let Some(value) =
                    self.value(node, key.get_ref(), Some(&rules::AMPLIFY_ENV_VALUE))
                    && key_ok
                {
                    environment.insert(key.get_ref().to_string(), value);
                }
            }
        }
        let basic_auth = table
            .get("basic_auth")
            .and_then(|node| self.basic_auth(source, node));
        let artifact = table.get("artifact").and_then(|node| self.artifact(node));
        let depends_on = self.depends_on(table);
        let prevent_destroy = self.boolean(table, "prevent_destroy", "prevent_destroy");
        Some(Branch {
            stage,
            description,
            framework,
            environment,
            basic_auth,
            artifact,
            depends_on,
            prevent_destroy,
            span: header_span(source, node.span()),
        })
    }

    fn basic_auth(&mut self, source: &str, node: &Node<'_>) -> Option<BasicAuth> {
        let table = self.table(node, "basic_auth")?;
        self.check_keys(table, &["username", "password"], "basic_auth");
        let username = self
            .required(source, table, node.span(), "username", "basic_auth")
            .and_then(|node| self.value(node, "username", Some(&rules::BASIC_AUTH_PART)));
        let password = self
            .required(source, table, node.span(), "password", "basic_auth")
            .and_then(|node| self.value(node, "password", Some(&rules::BASIC_AUTH_PART)));
        Some(BasicAuth {
            username: username?,
            password: password?,
        })
    }

    fn artifact(&mut self, node: &Node<'_>) -> Option<Artifact> {
        let path = self.string(node, "artifact")?;
        let problem = match self.host.inspect_path(&path) {
            PathInfo::Directory => {
                return Some(Artifact {
                    path,
                    kind: ArtifactKind::Directory,
                });
            }
            PathInfo::File if path.to_ascii_lowercase().ends_with(".zip") => {
                return Some(Artifact {
                    path,
                    kind: ArtifactKind::Zip,
                });
            }
            PathInfo::File => "is a file but not a .zip archive",
            PathInfo::Missing => "does not exist",
        };
        self.error(
            ConfigError::new(
                "config::invalid_artifact",
                span(node.span()),
                format!("artifact `{path}` {problem}"),
                problem,
            )
            .with_help(
                "`artifact` is a folder (zipped with its contents at the root) or a .zip file, \
                 relative to the configuration file",
            ),
        );
        None
    }
}

/// The text of a template without references, borrowed. [`Walker::template`] gathers such a
/// string into a single literal part, so this agrees with [`Template::as_literal`] without
/// copying the text.
fn single_literal(template: &Template) -> Option<&str> {
    match template.parts.as_slice() {
        [Part::Literal(text)] => Some(text),
        _ => None,
    }
}

/// Checks what the model refers to: `depends_on` entries and `${...}` references name declared
/// resources. Cycles are the graph's business (stagecraft-core), which reports whole cycles.
pub(crate) fn check_references(config: &Config, errors: &mut Vec<ConfigError>) {
    // The list of declared resources only feeds the hint of an error, so it is made on the
    // first error rather than for every valid configuration.
    let mut known: Option<Vec<String>> = None;
    let mut check = |address: &Address, at: SourceSpan| {
        if !config.contains(address) {
            let known = known.get_or_insert_with(|| {
                config.addresses().iter().map(ToString::to_string).collect()
            });
            errors.push(unknown_address(address, at, known));
        }
    };
    for (_, to, at) in config.depends_on_entries() {
        check(to, at);
    }
    for (_, configured) in config.values() {
        if let Value::Text(template) = configured.value {
            for reference in configured.value.references() {
                check(&reference.address, template.span);
            }
        }
    }
}

fn unknown_address(address: &Address, at: SourceSpan, known: &[String]) -> ConfigError {
    let text = address.to_string();
    let help = did_you_mean(&text, known.iter().map(String::as_str)).unwrap_or_else(|| {
        if known.is_empty() {
            "the file declares no resources".to_string()
        } else {
            format!("declared resources: {}", known.join(", "))
        }
    });
    ConfigError::new(
        "config::unknown_address",
        at,
        format!("`{text}` is not declared in this file"),
        "unknown resource",
    )
    .with_help(help)
}
