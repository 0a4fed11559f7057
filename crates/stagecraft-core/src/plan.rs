//! The plan: a value computed from the configuration and the state, listing each resource's
//! change with its SPEC section 3 actions and its attributes before and after. Apply executes
//! the plan, not the configuration; renderings (text, JSON, Markdown) read it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stagecraft_config::{
    Address, Attribute, Config, Part, Reference, ResourceKind, Secrets, Value,
};

use crate::graph::Graph;
use crate::state::{
    BasicAuthState, BranchState, CanaryState, ResourceState, StageState, State, StoredValue,
    sensitive_digest,
};

/// The version of the saved-plan and JSON-plan format.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What a change does, in SPEC section 3's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new stage (`CreateDeployment` with `stageName`), branch or canary.
    Create,
    /// Settings changed in place (`UpdateStage`, `UpdateBranch`, canary settings).
    Update,
    /// A new revision: a fresh snapshot, then the stage re-pointed to it.
    Redeploy,
    /// A revision seen before: the stage re-pointed to its recorded deployment.
    Rollback,
    /// A canary on a new revision: `CreateDeployment` with `canarySettings`.
    CanaryDeploy,
    /// A canary on a recorded revision: `UpdateStage` of its deployment id.
    CanaryRepoint,
    /// The canary's deployment becomes the stage's; overrides merge; the canary goes.
    Promote,
    /// A new build output uploaded to an Amplify branch.
    ArtifactDeploy,
    /// The resource is removed.
    Delete,
}

/// Whether the plan converges on the configuration or destroys everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    /// Make AWS match the configuration.
    #[default]
    Normal,
    /// Destroy every resource in the state (`--destroy`).
    Destroy,
}

/// A value in a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlannedValue {
    /// Known now.
    Known {
        /// The value.
        value: String,
    },
    /// Read from the environment variable `env`; only its digest is kept.
    Sensitive {
        /// The environment variable.
        env: String,
        /// Its salted digest.
        digest: String,
    },
    /// Depends on something only known after apply (a new deployment id).
    Deferred {
        /// The template, resolved during apply.
        parts: Vec<PlannedPart>,
    },
}

/// A part of a [`PlannedValue::Deferred`] template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlannedPart {
    /// Literal text.
    Literal {
        /// The text.
        text: String,
    },
    /// A reference resolved during apply.
    Reference {
        /// The resource's address.
        address: String,
        /// The attribute name.
        attribute: String,
    },
}

impl PlannedValue {
    /// Whether this value equals what the state recorded.
    pub fn matches(&self, stored: &StoredValue) -> bool {
        match (self, stored) {
            (PlannedValue::Known { value }, StoredValue::Plain(old)) => value == old,
            (PlannedValue::Sensitive { digest, .. }, StoredValue::Sensitive { sensitive }) => {
                digest == sensitive
            }
            _ => false,
        }
    }

    /// What the state records once this value is applied (`None` while deferred).
    pub fn to_stored(&self) -> Option<StoredValue> {
        match self {
            PlannedValue::Known { value } => Some(StoredValue::Plain(value.clone())),
            PlannedValue::Sensitive { digest, .. } => Some(StoredValue::Sensitive {
                sensitive: digest.clone(),
            }),
            PlannedValue::Deferred { .. } => None,
        }
    }

    /// Whether the value must be masked in output.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, PlannedValue::Sensitive { .. })
    }
}

/// Looks up `(address, attribute)` during apply, for deferred values.
pub type AttributeLookup<'a> = dyn Fn(&str, &str) -> Option<String> + 'a;

impl PlannedValue {
    /// Turns a deferred value into a known one; the unresolved reference on failure.
    pub fn resolve(&mut self, lookup: &AttributeLookup<'_>) -> Result<(), String> {
        let PlannedValue::Deferred { parts } = self else {
            return Ok(());
        };
        let mut text = String::new();
        for part in parts.iter() {
            match part {
                PlannedPart::Literal { text: literal } => text.push_str(literal),
                PlannedPart::Reference { address, attribute } => match lookup(address, attribute) {
                    Some(value) => text.push_str(&value),
                    None => return Err(format!("{address}.{attribute}")),
                },
            }
        }
        *self = PlannedValue::Known { value: text };
        Ok(())
    }
}

/// The desired attributes of a resource after apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Desired {
    /// An API Gateway stage.
    #[serde(rename = "apigateway_stage")]
    Stage(DesiredStage),
    /// A canary.
    #[serde(rename = "apigateway_canary")]
    Canary(DesiredCanary),
    /// An Amplify branch.
    #[serde(rename = "amplify_branch")]
    Branch(DesiredBranch),
}

impl Desired {
    /// Resolves every deferred value; the first unresolved reference on failure.
    pub fn resolve_deferred(&mut self, lookup: &AttributeLookup<'_>) -> Result<(), String> {
        let values: Vec<&mut PlannedValue> = match self {
            Desired::Stage(stage) => stage.variables.values_mut().collect(),
            Desired::Canary(canary) => canary.variable_overrides.values_mut().collect(),
            Desired::Branch(branch) => {
                let mut values: Vec<&mut PlannedValue> = branch.environment.values_mut().collect();
                if let Some((user, password)) = &mut branch.basic_auth {
                    values.push(user);
                    values.push(password);
                }
                values
            }
        };
        for value in values {
            value.resolve(lookup)?;
        }
        Ok(())
    }
}

/// A stage as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredStage {
    /// The REST API id.
    pub rest_api_id: String,
    /// The stage name.
    pub stage_name: String,
    /// The revision.
    pub revision: String,
    /// The description.
    pub description: Option<String>,
    /// X-Ray tracing.
    pub tracing: bool,
    /// Stage variables.
    pub variables: BTreeMap<String, PlannedValue>,
    /// The cache size, when enabled.
    pub cache_size: Option<String>,
    /// For a rollback or re-point: the deployment the state records for `revision`, which the
    /// change goes back to (no new deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_deployment: Option<String>,
}

/// A canary as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredCanary {
    /// The REST API id.
    pub rest_api_id: String,
    /// The stage name.
    pub stage_name: String,
    /// The revision taking canary traffic.
    pub revision: String,
    /// Share of traffic.
    pub percent_traffic: f64,
    /// Variable overrides.
    pub variable_overrides: BTreeMap<String, PlannedValue>,
    /// Whether canary requests use the stage cache.
    pub use_stage_cache: bool,
    /// For a rollback or re-point: the deployment the state records for `revision`, which the
    /// change goes back to (no new deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_deployment: Option<String>,
}

/// A branch as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredBranch {
    /// The Amplify app id.
    pub app_id: String,
    /// The branch name.
    pub branch_name: String,
    /// The Amplify stage.
    pub stage: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The framework label.
    pub framework: Option<String>,
    /// Environment variables.
    pub environment: BTreeMap<String, PlannedValue>,
    /// Basic auth: user name and password.
    pub basic_auth: Option<(PlannedValue, PlannedValue)>,
    /// The artifact: its path (relative to the configuration) and content digest.
    pub artifact: Option<PlannedArtifact>,
}

/// The build output a branch deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedArtifact {
    /// The path as configured.
    pub path: String,
    /// The content digest computed when planning.
    pub digest: String,
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The resource's address.
    pub address: String,
    /// What the change does, in order.
    pub actions: Vec<Action>,
    /// The recorded state before (`None` for a new resource).
    pub before: Option<ResourceState>,
    /// The desired attributes after (`None` when deleted or promoted away).
    pub after: Option<Desired>,
    /// Addresses of other changes in this plan that must finish first.
    pub depends_on: Vec<String>,
}

impl Change {
    /// Terraform's symbol for the change: `+`, `~`, `-` or `>`.
    pub fn symbol(&self) -> char {
        if self.actions.contains(&Action::Promote) {
            '>'
        } else if self.before.is_none() {
            '+'
        } else if self.after.is_none() {
            '-'
        } else {
            '~'
        }
    }

    /// The parsed address.
    pub fn parsed_address(&self) -> Option<Address> {
        Address::parse(&self.address).ok()
    }
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// The project's name.
    pub project: String,
    /// The lineage of the state planned against (a new one when there was no state).
    pub lineage: String,
    /// The serial of the state planned against; `None` when there was no state.
    pub prior_serial: Option<u64>,
    /// A digest of the configuration text and the artifacts' digests.
    pub config_digest: String,
    /// Normal or destroy.
    pub mode: PlanMode,
    /// The region planned for, when known.
    pub region: Option<String>,
    /// The changes, in an order that respects dependencies.
    pub changes: Vec<Change>,
    /// How many resources need no change.
    pub unchanged: usize,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Resources created.
    pub add: usize,
    /// Resources changed in place (promotions included).
    pub change: usize,
    /// Resources destroyed.
    pub destroy: usize,
}

impl Plan {
    /// Counts by symbol.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.symbol() {
                '+' => summary.add += 1,
                '-' => summary.destroy += 1,
                _ => summary.change += 1,
            }
        }
        summary
    }

    /// Whether the plan changes anything.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Serializes the plan (saved plans and `--format json` share this document).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a saved plan.
    pub fn from_json(text: &str) -> Result<Plan, String> {
        let plan: Plan = serde_json::from_str(text).map_err(|error| error.to_string())?;
        if plan.format_version != PLAN_FORMAT_VERSION {
            return Err(format!(
                "plan format_version {} is not supported (expected {PLAN_FORMAT_VERSION})",
                plan.format_version
            ));
        }
        Ok(plan)
    }
}

/// Everything a plan is computed from.
pub struct PlanInput<'a> {
    /// The validated configuration.
    pub config: &'a Config,
    /// The values of its `{ env = ... }` variables.
    pub secrets: &'a Secrets,
    /// The dependency graph of the configuration.
    pub graph: &'a Graph,
    /// The recorded state, if any.
    pub state: Option<&'a State>,
    /// The lineage to use when there is no state yet.
    pub new_lineage: String,
    /// The region, when known (for `invoke_url`).
    pub region: Option<String>,
    /// Content digests of artifacts, by configured path.
    pub artifact_digests: &'a BTreeMap<String, String>,
    /// A digest of the configuration text.
    pub config_digest: String,
    /// Normal or destroy.
    pub mode: PlanMode,
    /// `--target` addresses (empty: everything).
    pub targets: &'a [Address],
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    /// The plan would delete a resource marked `prevent_destroy`.
    #[error("the plan would destroy {address}, which has prevent_destroy set")]
    #[diagnostic(
        code(plan::prevent_destroy),
        help("set `prevent_destroy = false` and apply first if the resource really must go")
    )]
    PreventDestroy {
        /// The protected resource.
        address: String,
    },
    /// `--target` names no declared or recorded resource.
    #[error("--target {address} names no resource in the configuration or the state")]
    #[diagnostic(code(plan::unknown_target))]
    UnknownTarget {
        /// The unknown address.
        address: String,
    },
    /// An artifact's digest was not supplied.
    #[error("no content digest for artifact `{path}`")]
    #[diagnostic(code(plan::artifact))]
    MissingArtifact {
        /// The artifact path.
        path: String,
    },
}

/// What a resource's attributes resolve to at plan time, given the state.
struct Resolver<'a> {
    config: &'a Config,
    state: Option<&'a State>,
    region: Option<&'a str>,
}

impl Resolver<'_> {
    /// The value of `reference` if it is known before apply.
    fn attribute(&self, reference: &Reference) -> Option<String> {
        resolve_attribute(
            &reference.address,
            reference.attribute,
            &|address| self.ids(address),
            self.region,
            &|address| self.planned_deployment(address),
        )
    }

    fn ids(&self, address: &Address) -> Option<String> {
        match address {
            Address::Stage { api, .. } | Address::Canary { api, .. } => {
                self.config.rest_apis.get(api).map(|api| api.id.clone())
            }
            Address::Branch { app, .. } => {
                self.config.amplify_apps.get(app).map(|app| app.id.clone())
            }
        }
    }

    /// The deployment a stage or canary will point at, if known before apply.
    fn planned_deployment(&self, address: &Address) -> Option<String> {
        let state = self.state?;
        let (api, revision) = match address {
            Address::Stage { api, stage } => (api, &self.config.stage(api, stage)?.revision),
            Address::Canary { api, stage } => (
                api,
                &self.config.stage(api, stage)?.canary.as_ref()?.revision,
            ),
            Address::Branch { .. } => return None,
        };
        let api_id = &self.config.rest_apis.get(api)?.id;
        state.deployment_of(api_id, revision).map(str::to_string)
    }
}

/// Resolves an attribute from ids, region and deployment ids; shared by plan and apply.
pub fn resolve_attribute(
    address: &Address,
    attribute: Attribute,
    id_of: &dyn Fn(&Address) -> Option<String>,
    region: Option<&str>,
    deployment_of: &dyn Fn(&Address) -> Option<String>,
) -> Option<String> {
    match (address, attribute) {
        (Address::Stage { stage, .. }, Attribute::InvokeUrl) => {
            let id = id_of(address)?;
            Some(format!(
                "https://{id}.execute-api.{}.amazonaws.com/{stage}",
                region?
            ))
        }
        (Address::Stage { stage, .. }, Attribute::StageName) => Some(stage.clone()),
        (Address::Stage { .. } | Address::Canary { .. }, Attribute::DeploymentId) => {
            deployment_of(address)
        }
        (Address::Branch { branch, .. }, Attribute::Url) => {
            let id = id_of(address)?;
            Some(format!(
                "https://{}.{id}.amplifyapp.com",
                branch.replace('/', "-")
            ))
        }
        (Address::Branch { branch, .. }, Attribute::BranchName) => Some(branch.clone()),
        _ => None,
    }
}

impl Resolver<'_> {
    fn value(&self, value: &Value, secrets: &Secrets, lineage: &str) -> PlannedValue {
        match value {
            Value::Env { name, .. } => PlannedValue::Sensitive {
                env: name.clone(),
                digest: secrets
                    .get(name)
                    .map(|secret| sensitive_digest(lineage, secret.expose()))
                    .unwrap_or_default(),
            },
            Value::Text(template) => {
                let mut text = String::new();
                let mut deferred = false;
                let mut parts = Vec::new();
                for part in &template.parts {
                    match part {
                        Part::Literal(literal) => {
                            text.push_str(literal);
                            parts.push(PlannedPart::Literal {
                                text: literal.clone(),
                            });
                        }
                        Part::Ref(reference) => match self.attribute(reference) {
                            Some(value) => {
                                text.push_str(&value);
                                parts.push(PlannedPart::Literal { text: value });
                            }
                            None => {
                                deferred = true;
                                parts.push(PlannedPart::Reference {
                                    address: reference.address.to_string(),
                                    attribute: reference.attribute.as_str().to_string(),
                                });
                            }
                        },
                    }
                }
                if deferred {
                    PlannedValue::Deferred { parts }
                } else {
                    PlannedValue::Known { value: text }
                }
            }
        }
    }

    fn values(
        &self,
        values: &BTreeMap<String, Value>,
        secrets: &Secrets,
        lineage: &str,
    ) -> BTreeMap<String, PlannedValue> {
        values
            .iter()
            .map(|(key, value)| (key.clone(), self.value(value, secrets, lineage)))
            .collect()
    }
}

pub(crate) fn values_match(
    desired: &BTreeMap<String, PlannedValue>,
    stored: &BTreeMap<String, StoredValue>,
) -> bool {
    desired.len() == stored.len()
        && desired
            .iter()
            .all(|(key, value)| stored.get(key).is_some_and(|old| value.matches(old)))
}

/// Computes the plan.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let config = input.config;
    let lineage = input
        .state
        .map_or_else(|| input.new_lineage.clone(), |state| state.lineage.clone());
    let resolver = Resolver {
        config,
        state: input.state,
        region: input.region.as_deref(),
    };
    let empty = BTreeMap::new();
    let recorded = input.state.map_or(&empty, |state| &state.resources);

    // Which addresses the plan may touch.
    let selected: Option<BTreeSet<Address>> = if input.targets.is_empty() {
        None
    } else {
        for target in input.targets {
            if !config.contains(target) && !recorded.contains_key(&target.to_string()) {
                return Err(PlanError::UnknownTarget {
                    address: target.to_string(),
                });
            }
        }
        Some(input.graph.with_dependencies(input.targets))
    };
    let is_selected = |address: &Address| selected.as_ref().is_none_or(|set| set.contains(address));

    let mut changes: Vec<Change> = Vec::new();
    let mut unchanged = 0;
    let destroying = input.mode == PlanMode::Destroy;

    // Promotions: a canary in the state, gone from the configuration, whose revision the stage
    // now takes. The stage's own change is then planned against the promoted stage.
    let mut promoted: BTreeMap<Address, StageState> = BTreeMap::new();
    if !destroying {
        for (text, resource) in recorded {
            let (Ok(address), ResourceState::Canary(canary)) = (Address::parse(text), resource)
            else {
                continue;
            };
            if config.contains(&address) || !is_selected(&address) {
                continue;
            }
            let Some(stage_address) = address.canary_parent() else {
                continue;
            };
            let (Address::Stage { api, stage }, Some(ResourceState::Stage(stage_state))) =
                (&stage_address, recorded.get(&stage_address.to_string()))
            else {
                continue;
            };
            if let Some(desired) = config.stage(api, stage)
                && desired.revision == canary.revision
                && desired.revision != stage_state.revision
            {
                let mut after = stage_state.clone();
                after.revision = canary.revision.clone();
                after.deployment_id = canary.deployment_id.clone();
                for (key, value) in &canary.variable_overrides {
                    after.variables.insert(key.clone(), value.clone());
                }
                promoted.insert(stage_address.clone(), after);
                changes.push(Change {
                    address: address.to_string(),
                    actions: vec![Action::Promote],
                    before: Some(resource.clone()),
                    after: None,
                    depends_on: Vec::new(),
                });
            }
        }
    }

    // Declared resources, dependencies first.
    let order = if destroying {
        Vec::new()
    } else {
        input.graph.topological_order()
    };
    for address in &order {
        if !is_selected(address) {
            continue;
        }
        let key = address.to_string();
        let before = recorded.get(&key);
        let change = match address {
            Address::Stage { api, stage } => {
                let Some(settings) = config.stage(api, stage) else {
                    continue;
                };
                let desired = DesiredStage {
                    rest_api_id: config.rest_apis[api].id.clone(),
                    stage_name: stage.clone(),
                    revision: settings.revision.clone(),
                    description: settings.description.clone(),
                    tracing: settings.tracing,
                    variables: resolver.values(&settings.variables, input.secrets, &lineage),
                    cache_size: settings.cache_size.map(|size| size.as_str().to_string()),
                    recorded_deployment: None,
                };
                let effective = promoted.get(address).cloned().or_else(|| match before {
                    Some(ResourceState::Stage(stage)) => Some(stage.clone()),
                    _ => None,
                });
                let actions = match &effective {
                    None => vec![Action::Create],
                    Some(old) => stage_actions(old, &desired, input.state),
                };
                let mut desired = desired;
                if actions.contains(&Action::Rollback) {
                    desired.recorded_deployment = input
                        .state
                        .and_then(|state| {
                            state.deployment_of(&desired.rest_api_id, &desired.revision)
                        })
                        .map(str::to_string);
                }
                (!actions.is_empty()).then(|| Change {
                    address: key,
                    actions,
                    before: before.cloned(),
                    after: Some(Desired::Stage(desired)),
                    depends_on: Vec::new(),
                })
            }
            Address::Canary { api, stage } => {
                let Some(canary) = config.stage(api, stage).and_then(|s| s.canary.as_ref()) else {
                    continue;
                };
                let rest_api_id = config.rest_apis[api].id.clone();
                let desired = DesiredCanary {
                    rest_api_id: rest_api_id.clone(),
                    stage_name: stage.clone(),
                    revision: canary.revision.clone(),
                    percent_traffic: canary.percent_traffic,
                    variable_overrides: resolver.values(
                        &canary.variable_overrides,
                        input.secrets,
                        &lineage,
                    ),
                    use_stage_cache: canary.use_stage_cache,
                    recorded_deployment: None,
                };
                let known = input
                    .state
                    .and_then(|state| state.deployment_of(&rest_api_id, &canary.revision));
                let deploy = if known.is_some() {
                    Action::CanaryRepoint
                } else {
                    Action::CanaryDeploy
                };
                let actions = match before {
                    Some(ResourceState::Canary(old)) => {
                        let mut actions = Vec::new();
                        if old.revision != desired.revision {
                            actions.push(deploy);
                        } else if old.percent_traffic != desired.percent_traffic
                            || old.use_stage_cache != desired.use_stage_cache
                            || !values_match(&desired.variable_overrides, &old.variable_overrides)
                        {
                            actions.push(Action::Update);
                        }
                        actions
                    }
                    _ => vec![Action::Create, deploy],
                };
                let mut desired = desired;
                if actions.contains(&Action::CanaryRepoint) {
                    desired.recorded_deployment = known.map(str::to_string);
                }
                (!actions.is_empty()).then(|| Change {
                    address: key,
                    actions,
                    before: before.cloned(),
                    after: Some(Desired::Canary(desired)),
                    depends_on: Vec::new(),
                })
            }
            Address::Branch { app, branch } => {
                let Some(settings) = config.branch(app, branch) else {
                    continue;
                };
                let artifact = match &settings.artifact {
                    Some(artifact) => Some(PlannedArtifact {
                        path: artifact.path.clone(),
                        digest: input
                            .artifact_digests
                            .get(&artifact.path)
                            .cloned()
                            .ok_or_else(|| PlanError::MissingArtifact {
                                path: artifact.path.clone(),
                            })?,
                    }),
                    None => None,
                };
                let desired = DesiredBranch {
                    app_id: config.amplify_apps[app].id.clone(),
                    branch_name: branch.clone(),
                    stage: settings.stage.map(|stage| stage.as_str().to_string()),
                    description: settings.description.clone(),
                    framework: settings.framework.clone(),
                    environment: resolver.values(&settings.environment, input.secrets, &lineage),
                    basic_auth: settings.basic_auth.as_ref().map(|auth| {
                        (
                            resolver.value(&auth.username, input.secrets, &lineage),
                            password_value(
                                &resolver.value(&auth.password, input.secrets, &lineage),
                                &lineage,
                            ),
                        )
                    }),
                    artifact,
                };
                let actions = match before {
                    Some(ResourceState::Branch(old)) => branch_actions(old, &desired),
                    _ => {
                        let mut actions = vec![Action::Create];
                        if desired.artifact.is_some() {
                            actions.push(Action::ArtifactDeploy);
                        }
                        actions
                    }
                };
                (!actions.is_empty()).then(|| Change {
                    address: key,
                    actions,
                    before: before.cloned(),
                    after: Some(Desired::Branch(desired)),
                    depends_on: Vec::new(),
                })
            }
        };
        match change {
            Some(change) => changes.push(change),
            None => unchanged += 1,
        }
    }

    // Recorded resources no longer declared (or everything, under --destroy): delete them,
    // canaries before their stages.
    let mut deletes: Vec<Change> = Vec::new();
    for (text, resource) in recorded {
        let Ok(address) = Address::parse(text) else {
            continue;
        };
        if (!destroying && config.contains(&address))
            || !is_selected(&address)
            || changes.iter().any(|change| change.address == *text)
        {
            continue;
        }
        let protected = prevent_destroy(config, &address);
        if protected {
            return Err(PlanError::PreventDestroy {
                address: text.clone(),
            });
        }
        deletes.push(Change {
            address: text.clone(),
            actions: vec![Action::Delete],
            before: Some(resource.clone()),
            after: None,
            depends_on: Vec::new(),
        });
    }
    deletes.sort_by_key(|change| match change.parsed_address().map(|a| a.kind()) {
        Some(ResourceKind::Canary) => 0,
        Some(ResourceKind::Branch) => 1,
        _ => 2,
    });
    changes.extend(deletes);

    link_dependencies(&mut changes, input.graph);
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        project: config.project.name.clone(),
        lineage,
        prior_serial: input.state.map(|state| state.serial),
        config_digest: input.config_digest.clone(),
        mode: input.mode,
        region: input.region.clone(),
        changes,
        unchanged,
    })
}

/// Passwords are always sensitive, even when written in the file.
fn password_value(value: &PlannedValue, lineage: &str) -> PlannedValue {
    match value {
        PlannedValue::Known { value } => PlannedValue::Sensitive {
            env: String::new(),
            digest: sensitive_digest(lineage, value),
        },
        other => other.clone(),
    }
}

fn prevent_destroy(config: &Config, address: &Address) -> bool {
    match address {
        Address::Stage { api, stage } => {
            config.stage(api, stage).is_some_and(|s| s.prevent_destroy)
        }
        Address::Canary { api, stage } => config
            .stage(api, stage)
            .and_then(|s| s.canary.as_ref())
            .is_some_and(|c| c.prevent_destroy),
        Address::Branch { app, branch } => config
            .branch(app, branch)
            .is_some_and(|b| b.prevent_destroy),
    }
}

fn stage_actions(old: &StageState, desired: &DesiredStage, state: Option<&State>) -> Vec<Action> {
    let mut actions = Vec::new();
    if old.revision != desired.revision {
        let known = state
            .and_then(|state| state.deployment_of(&desired.rest_api_id, &desired.revision))
            .is_some();
        actions.push(if known {
            Action::Rollback
        } else {
            Action::Redeploy
        });
    }
    if old.description != desired.description
        || old.tracing != desired.tracing
        || old.cache_size != desired.cache_size
        || !values_match(&desired.variables, &old.variables)
    {
        actions.push(Action::Update);
    }
    actions
}

/// Whether recorded basic-auth settings match the desired ones (passwords by digest).
pub(crate) fn basic_auth_matches(
    old: Option<&BasicAuthState>,
    desired: Option<&(PlannedValue, PlannedValue)>,
) -> bool {
    match (old, desired) {
        (None, None) => true,
        (Some(BasicAuthState { username, password }), Some((user, pass))) => {
            user.matches(username) && pass.matches(password)
        }
        _ => false,
    }
}

fn branch_actions(old: &BranchState, desired: &DesiredBranch) -> Vec<Action> {
    let mut actions = Vec::new();
    let auth_matches = basic_auth_matches(old.basic_auth.as_ref(), desired.basic_auth.as_ref());
    if old.stage != desired.stage
        || old.description != desired.description
        || old.framework != desired.framework
        || !values_match(&desired.environment, &old.environment)
        || !auth_matches
    {
        actions.push(Action::Update);
    }
    if let Some(artifact) = &desired.artifact
        && old.artifact_digest.as_deref() != Some(artifact.digest.as_str())
    {
        actions.push(Action::ArtifactDeploy);
    }
    actions
}

/// Fills each change's `depends_on` with the changes it must wait for: configured edges, a
/// stage waits for its canary's promotion, and a stage's deletion waits for its canary's.
fn link_dependencies(changes: &mut [Change], graph: &Graph) {
    let in_plan: BTreeSet<String> = changes
        .iter()
        .map(|change| change.address.clone())
        .collect();
    let promoted: BTreeSet<String> = changes
        .iter()
        .filter(|change| change.actions.contains(&Action::Promote))
        .map(|change| change.address.clone())
        .collect();
    for change in changes.iter_mut() {
        let Some(address) = change.parsed_address() else {
            continue;
        };
        let mut depends: BTreeSet<String> = BTreeSet::new();
        if change.after.is_some() {
            for dependency in graph.dependencies(&address) {
                depends.insert(dependency.to_string());
            }
            if let Address::Stage { api, stage } = &address {
                let canary = Address::Canary {
                    api: api.clone(),
                    stage: stage.clone(),
                }
                .to_string();
                if promoted.contains(&canary) {
                    depends.insert(canary);
                }
            }
        } else if let Address::Stage { api, stage } = &address {
            depends.insert(
                Address::Canary {
                    api: api.clone(),
                    stage: stage.clone(),
                }
                .to_string(),
            );
        }
        change.depends_on = depends
            .into_iter()
            .filter(|d| in_plan.contains(d))
            .collect();
    }
}

/// The state a change leaves behind when applied exactly as planned, with `deployment` standing
/// for the deployment ids AWS assigns. Used by the property tests and by apply's bookkeeping.
pub fn applied_state(desired: &Desired, deployment_id: &str) -> Option<ResourceState> {
    let stored =
        |values: &BTreeMap<String, PlannedValue>| -> Option<BTreeMap<String, StoredValue>> {
            values
                .iter()
                .map(|(key, value)| Some((key.clone(), value.to_stored()?)))
                .collect()
        };
    Some(match desired {
        Desired::Stage(stage) => ResourceState::Stage(StageState {
            rest_api_id: stage.rest_api_id.clone(),
            stage_name: stage.stage_name.clone(),
            revision: stage.revision.clone(),
            deployment_id: deployment_id.to_string(),
            description: stage.description.clone(),
            tracing: stage.tracing,
            variables: stored(&stage.variables)?,
            cache_size: stage.cache_size.clone(),
        }),
        Desired::Canary(canary) => ResourceState::Canary(CanaryState {
            rest_api_id: canary.rest_api_id.clone(),
            stage_name: canary.stage_name.clone(),
            revision: canary.revision.clone(),
            deployment_id: deployment_id.to_string(),
            percent_traffic: canary.percent_traffic,
            variable_overrides: stored(&canary.variable_overrides)?,
            use_stage_cache: canary.use_stage_cache,
        }),
        Desired::Branch(branch) => ResourceState::Branch(BranchState {
            app_id: branch.app_id.clone(),
            branch_name: branch.branch_name.clone(),
            stage: branch.stage.clone(),
            description: branch.description.clone(),
            framework: branch.framework.clone(),
            environment: stored(&branch.environment)?,
            basic_auth: match &branch.basic_auth {
                Some((user, pass)) => Some(BasicAuthState {
                    username: user.to_stored()?,
                    password: pass.to_stored()?,
                }),
                None => None,
            },
            artifact_digest: branch.artifact.as_ref().map(|a| a.digest.clone()),
            job_id: None,
        }),
    })
}

#[cfg(test)]
mod tests;
