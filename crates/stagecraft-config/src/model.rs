//! The validated desired state: what `deploy.toml` says, with every rule of docs/configuration.md
//! already checked. Spans point back into the source for later diagnostics (cycles, refusals).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use miette::SourceSpan;

use crate::address::{Address, AddressRef, Reference, ResourceKind};

mod rollout;
pub use rollout::*;

/// A validated `deploy.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[project]`
    pub project: Project,
    /// `[state]`
    pub state: StateSettings,
    /// `[aws]`
    pub aws: AwsSettings,
    /// `[rest_apis.*]` by key.
    pub rest_apis: BTreeMap<String, RestApi>,
    /// `[amplify_apps.*]` by key.
    pub amplify_apps: BTreeMap<String, AmplifyApp>,
    /// `[variables.*]` by name, with the values they were given.
    pub variables: BTreeMap<String, Variable>,
    /// `[[moved]]` blocks, in file order.
    pub moved: Vec<crate::refactor::Moved>,
    /// `[[removed]]` blocks, in file order.
    pub removed: Vec<crate::refactor::Removed>,
    /// `[[import]]` blocks, in file order.
    pub imports: Vec<crate::import::Import>,
    /// `[outputs]` by name.
    pub outputs: BTreeMap<String, crate::output::Output>,
}

/// `[variables.<name>]` and the value it resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// What it is for.
    pub description: Option<String>,
    /// A sensitive variable is masked in every output and digested in the state.
    pub sensitive: bool,
    /// Its value (`Debug` masks it, sensitive or not).
    pub value: Secret,
    /// Where the value came from.
    pub origin: VariableOrigin,
    /// The span of its declaration's header.
    pub span: SourceSpan,
}

/// Where a variable's value came from, lowest precedence first (docs/configuration.md,
/// "Input variables").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum VariableOrigin {
    /// Its `default`.
    Default,
    /// `STAGECRAFT_VAR_<NAME>`.
    Environment,
    /// A `--var-file`, by name.
    VarFile(String),
    /// A `--var` flag.
    Flag,
}

/// `[project]`
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Names the state lineage and PR comments.
    pub name: String,
    /// The AWS region; `None` lets the AWS configuration chain decide.
    pub region: Option<String>,
}

/// Where the state lives.
#[derive(Debug, Clone, PartialEq)]
pub enum StateSettings {
    /// A local JSON file, relative to the configuration file's folder.
    Local {
        /// The path as written.
        path: String,
    },
    /// An object in S3.
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The bucket's region, if not the project's.
        region: Option<String>,
    },
}

/// The default local state file name.
pub const DEFAULT_STATE_PATH: &str = "stagecraft.state.json";

/// `[aws]` tuning; the defaults are AWS's published quotas.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsSettings {
    /// At most one CreateDeployment per interval per account and region.
    pub create_deployment_interval: Duration,
    /// Attempts per API call, retries included.
    pub max_attempts: u32,
    /// API Gateway requests a second per account and region (every call, reads included).
    pub requests_per_second: u32,
    /// API Gateway requests that may go at once before the rate applies.
    pub request_burst: u32,
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            create_deployment_interval: Duration::from_secs(5),
            max_attempts: 8,
            requests_per_second: 10,
            request_burst: 40,
        }
    }
}

/// `[rest_apis.<key>]`
#[derive(Debug, Clone, PartialEq)]
pub struct RestApi {
    /// The REST API's id.
    pub id: String,
    /// Stages by AWS stage name.
    pub stages: BTreeMap<String, Stage>,
}

/// `[rest_apis.<api>.stages.<name>]`
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// A new value deploys the API anew to this stage.
    pub revision: String,
    /// The stage description.
    pub description: Option<String>,
    /// X-Ray tracing.
    pub tracing: bool,
    /// Stage variables.
    pub variables: BTreeMap<String, Value>,
    /// The cache cluster size; `None` means no cache.
    pub cache_size: Option<CacheSize>,
    /// The canary release, if any.
    pub canary: Option<Canary>,
    /// Explicit dependencies, with the span of each entry.
    pub depends_on: Vec<(Address, SourceSpan)>,
    /// A plan that would delete this stage fails.
    pub prevent_destroy: bool,
    /// The span of the stage's table header.
    pub span: SourceSpan,
}

/// `[rest_apis.<api>.stages.<name>.canary]`
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    /// The revision that takes canary traffic.
    pub revision: String,
    /// Percentage of traffic, 0.0 to 100.0 (a rollout's first step when it has one).
    pub percent_traffic: f64,
    /// Stage variable overrides for canary traffic.
    pub variable_overrides: BTreeMap<String, Value>,
    /// Whether canary requests use the stage cache.
    pub use_stage_cache: bool,
    /// A plan that would delete (not promote) this canary fails.
    pub prevent_destroy: bool,
    /// The progressive rollout that drives `percent_traffic` (its first step), if any.
    pub rollout: Option<Rollout>,
    /// The span of the canary's table header.
    pub span: SourceSpan,
}

/// The eight API Gateway cache cluster sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CacheSize {
    /// 0.5 GB
    Gb0_5,
    /// 1.6 GB
    Gb1_6,
    /// 6.1 GB
    Gb6_1,
    /// 13.5 GB
    Gb13_5,
    /// 28.4 GB
    Gb28_4,
    /// 58.2 GB
    Gb58_2,
    /// 118 GB
    Gb118,
    /// 237 GB
    Gb237,
}

impl CacheSize {
    /// Every size with its AWS spelling.
    pub const ALL: [(CacheSize, &'static str); 8] = [
        (CacheSize::Gb0_5, "0.5"),
        (CacheSize::Gb1_6, "1.6"),
        (CacheSize::Gb6_1, "6.1"),
        (CacheSize::Gb13_5, "13.5"),
        (CacheSize::Gb28_4, "28.4"),
        (CacheSize::Gb58_2, "58.2"),
        (CacheSize::Gb118, "118"),
        (CacheSize::Gb237, "237"),
    ];

    /// The AWS spelling (`"0.5"`, `"118"`).
    pub fn as_str(self) -> &'static str {
        CacheSize::ALL
            .iter()
            .find(|(size, _)| *size == self)
            .map_or("", |(_, text)| text)
    }

    /// The size AWS spells exactly so (`"6.1"`, `"118"`; not `"6.10"` or `"118.0"`).
    pub fn from_spelling(text: &str) -> Option<CacheSize> {
        CacheSize::ALL
            .iter()
            .find(|(_, spelling)| *spelling == text)
            .map(|(size, _)| *size)
    }

    /// Parses an AWS spelling or an equal number (`"6.1"`, `6.1`, `118.0`, `118`).
    pub fn parse(text: &str) -> Option<CacheSize> {
        let number: f64 = text.trim().parse().ok()?;
        CacheSize::ALL.iter().find_map(|(size, spelling)| {
            let exact: f64 = spelling.parse().ok()?;
            ((exact - number).abs() < 1e-9).then_some(*size)
        })
    }
}

impl fmt::Display for CacheSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[amplify_apps.<key>]`
#[derive(Debug, Clone, PartialEq)]
pub struct AmplifyApp {
    /// The Amplify app id.
    pub id: String,
    /// Branches by name.
    pub branches: BTreeMap<String, Branch>,
}

/// `[amplify_apps.<app>.branches.<name>]`
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The Amplify stage.
    pub stage: Option<AmplifyStage>,
    /// The branch description.
    pub description: Option<String>,
    /// The framework label.
    pub framework: Option<String>,
    /// Environment variables.
    pub environment: BTreeMap<String, Value>,
    /// Basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// The build output, relative to the configuration file: a folder or a `.zip`.
    pub artifact: Option<Artifact>,
    /// Explicit dependencies, with the span of each entry.
    pub depends_on: Vec<(Address, SourceSpan)>,
    /// A plan that would delete this branch fails.
    pub prevent_destroy: bool,
    /// The span of the branch's table header.
    pub span: SourceSpan,
}

/// `basic_auth = { username = "...", password = ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct BasicAuth {
    /// The user name.
    pub username: Value,
    /// The password; sensitive whatever its source.
    pub password: Value,
}

/// The build output to deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// The path as written, relative to the configuration file's folder.
    pub path: String,
    /// Whether it is a folder (zipped on deploy) or a zip file.
    pub kind: ArtifactKind,
}

/// What an artifact path points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    /// A folder, zipped with its contents at the root.
    Directory,
    /// A `.zip` file, uploaded as it is.
    Zip,
}

/// Amplify's branch stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AmplifyStage {
    /// PRODUCTION
    Production,
    /// BETA
    Beta,
    /// DEVELOPMENT
    Development,
    /// EXPERIMENTAL
    Experimental,
    /// PULL_REQUEST
    PullRequest,
}

impl AmplifyStage {
    /// Every stage with its AWS spelling.
    pub const ALL: [(AmplifyStage, &'static str); 5] = [
        (AmplifyStage::Production, "PRODUCTION"),
        (AmplifyStage::Beta, "BETA"),
        (AmplifyStage::Development, "DEVELOPMENT"),
        (AmplifyStage::Experimental, "EXPERIMENTAL"),
        (AmplifyStage::PullRequest, "PULL_REQUEST"),
    ];

    /// The AWS spelling.
    pub fn as_str(self) -> &'static str {
        AmplifyStage::ALL
            .iter()
            .find(|(stage, _)| *stage == self)
            .map_or("", |(_, text)| text)
    }

    /// Parses the AWS spelling.
    pub fn parse(text: &str) -> Option<AmplifyStage> {
        AmplifyStage::ALL
            .iter()
            .find(|(_, spelling)| *spelling == text)
            .map(|(stage, _)| *stage)
    }
}

/// A configured string value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, possibly with `${...}` references.
    Text(Template),
    /// `{ env = "NAME" }`: read from the environment at plan time; sensitive.
    Env {
        /// The environment variable's name.
        name: String,
        /// Where it was written, for errors about its value.
        span: SourceSpan,
    },
    /// `"${var.NAME}"` of a sensitive variable, as the whole value; its value is in
    /// [`crate::Secrets`] under [`Value::secret_key`].
    Var {
        /// The variable's name.
        name: String,
        /// Where it was written.
        span: SourceSpan,
    },
}

impl Value {
    /// A plain literal value.
    pub fn literal(text: impl Into<String>) -> Value {
        Value::Text(Template {
            parts: vec![Part::Literal(text.into())],
            span: SourceSpan::from(0..0),
        })
    }

    /// The key of a sensitive value in [`crate::Secrets`] (and in a plan's sensitive values):
    /// `NAME` for `{ env = "NAME" }`, `var.NAME` for a sensitive variable. `None` for text.
    pub fn secret_key(&self) -> Option<String> {
        match self {
            Value::Text(_) => None,
            Value::Env { name, .. } => Some(name.clone()),
            Value::Var { name, .. } => Some(format!("var.{name}")),
        }
    }

    /// The references this value makes.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        let parts: &[Part] = match self {
            Value::Text(template) => &template.parts,
            Value::Env { .. } | Value::Var { .. } => &[],
        };
        parts.iter().filter_map(|part| match part {
            Part::Ref(reference) => Some(reference),
            Part::Literal(_) => None,
        })
    }
}

/// A string with `${...}` references, split into parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Literal text and references, in order.
    pub parts: Vec<Part>,
    /// Where the string was written.
    pub span: SourceSpan,
}

impl Template {
    /// The text when it has no references.
    pub fn as_literal(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(literal) => text.push_str(literal),
                Part::Ref(_) => return None,
            }
        }
        Some(text)
    }
}

/// One part of a [`Template`].
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text (with `$${` already unescaped to `${`).
    Literal(String),
    /// A reference to another resource's attribute.
    Ref(Reference),
}

/// A sensitive value (read from the environment, or a variable's). Its `Debug` and `Display`
/// never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a sensitive value.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value itself: call only to send it to AWS or to digest it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive value)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive value)")
    }
}

/// Where a configured value sits; decides which rule its value obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSlot {
    /// A stage variable.
    StageVariable,
    /// A canary's variable override.
    CanaryOverride,
    /// An Amplify environment variable.
    Environment,
    /// A basic-auth user name.
    BasicAuthUsername,
    /// A basic-auth password.
    BasicAuthPassword,
}

/// One configured value with the resource it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ConfiguredValue<'a> {
    /// Where it sits.
    pub slot: ValueSlot,
    /// The value.
    pub value: &'a Value,
}

impl Config {
    /// Every configured string value (variables, overrides, environment, basic auth), each with
    /// the address of the resource it belongs to. The one traversal that reference checks,
    /// secret resolution and the dependency graph share; the owners are borrowed, since most
    /// callers never look at them.
    pub fn values(&self) -> Vec<(AddressRef<'_>, ConfiguredValue<'_>)> {
        let mut out = Vec::new();
        fn push<'a>(
            out: &mut Vec<(AddressRef<'a>, ConfiguredValue<'a>)>,
            owner: AddressRef<'a>,
            slot: ValueSlot,
            values: impl Iterator<Item = &'a Value>,
        ) {
            out.extend(values.map(|value| (owner, ConfiguredValue { slot, value })));
        }
        for (api, rest_api) in &self.rest_apis {
            for (name, stage) in &rest_api.stages {
                push(
                    &mut out,
                    AddressRef::new(ResourceKind::Stage, api, name),
                    ValueSlot::StageVariable,
                    stage.variables.values(),
                );
                if let Some(canary) = &stage.canary {
                    push(
                        &mut out,
                        AddressRef::new(ResourceKind::Canary, api, name),
                        ValueSlot::CanaryOverride,
                        canary.variable_overrides.values(),
                    );
                }
            }
        }
        for (app, amplify_app) in &self.amplify_apps {
            for (name, branch) in &amplify_app.branches {
                let owner = AddressRef::new(ResourceKind::Branch, app, name);
                push(
                    &mut out,
                    owner,
                    ValueSlot::Environment,
                    branch.environment.values(),
                );
                if let Some(auth) = &branch.basic_auth {
                    push(
                        &mut out,
                        owner,
                        ValueSlot::BasicAuthUsername,
                        std::iter::once(&auth.username),
                    );
                    push(
                        &mut out,
                        owner,
                        ValueSlot::BasicAuthPassword,
                        std::iter::once(&auth.password),
                    );
                }
            }
        }
        out
    }

    /// Every `depends_on` entry: the resource that declares it, the address it names, and
    /// where it was written.
    pub fn depends_on_entries(&self) -> Vec<(AddressRef<'_>, &Address, SourceSpan)> {
        let mut out = Vec::new();
        for (api, rest_api) in &self.rest_apis {
            for (name, stage) in &rest_api.stages {
                let owner = AddressRef::new(ResourceKind::Stage, api, name);
                out.extend(stage.depends_on.iter().map(|(to, at)| (owner, to, *at)));
            }
        }
        for (app, amplify_app) in &self.amplify_apps {
            for (name, branch) in &amplify_app.branches {
                let owner = AddressRef::new(ResourceKind::Branch, app, name);
                out.extend(branch.depends_on.iter().map(|(to, at)| (owner, to, *at)));
            }
        }
        out
    }

    /// Every resource address the configuration declares, in a stable order.
    pub fn addresses(&self) -> Vec<Address> {
        self.address_refs()
            .into_iter()
            .map(AddressRef::to_address)
            .collect()
    }

    /// [`Config::addresses`], borrowed from the configuration.
    pub fn address_refs(&self) -> Vec<AddressRef<'_>> {
        let mut out = Vec::new();
        for (api, rest_api) in &self.rest_apis {
            for (stage, settings) in &rest_api.stages {
                out.push(AddressRef::new(ResourceKind::Stage, api, stage));
                if settings.canary.is_some() {
                    out.push(AddressRef::new(ResourceKind::Canary, api, stage));
                }
            }
        }
        for (app, amplify_app) in &self.amplify_apps {
            for branch in amplify_app.branches.keys() {
                out.push(AddressRef::new(ResourceKind::Branch, app, branch));
            }
        }
        out
    }

    /// The stage at an address, if declared.
    pub fn stage(&self, api: &str, stage: &str) -> Option<&Stage> {
        self.rest_apis.get(api)?.stages.get(stage)
    }

    /// The branch at an address, if declared.
    pub fn branch(&self, app: &str, branch: &str) -> Option<&Branch> {
        self.amplify_apps.get(app)?.branches.get(branch)
    }

    /// Whether an address names a declared resource.
    pub fn contains(&self, address: &Address) -> bool {
        self.declared_at(address).is_some()
    }

    /// Where the resource at an address is declared (its table's header), if it is.
    pub fn declared_at(&self, address: &Address) -> Option<SourceSpan> {
        match address {
            Address::Stage { api, stage } => self.stage(api, stage).map(|stage| stage.span),
            Address::Canary { api, stage } => self
                .stage(api, stage)
                .and_then(|stage| stage.canary.as_ref())
                .map(|canary| canary.span),
            Address::Branch { app, branch } => self.branch(app, branch).map(|branch| branch.span),
        }
    }
}
