//! The saved-plan model: a [`Plan`] lists each resource's [`Change`] with its actions and its
//! attributes before and after; it is the value apply executes and the renderings read, and the
//! document saved by `plan --out` (see `docs/behaviour.md`, "Saved plans").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::{ResourceState, StoredValue};
use stagecraft_config::{Address, AmplifyStage, CacheSize};

/// The version of the saved-plan format (the JSON plan has its own, `JSON_FORMAT_VERSION`).
/// 2: a canary's `rollout` (a saved plan of version 1 cannot carry one, and one read by an older
/// binary would lose it).
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// What a change does, in the terms of `docs/behaviour.md`, "Actions and their calls".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An `[[import]]`: the live resource read at plan time is recorded, with no AWS call
    /// (docs/behaviour.md, "Imports"); any other action then brings it to the file.
    Import,
    /// A new stage (its revision's snapshot, then `CreateStage`), branch or canary.
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
    /// The cache size, when enabled (serialized in AWS's spelling, `"0.5"`).
    #[serde(with = "aws_spelling")]
    pub cache_size: Option<CacheSize>,
    /// For a rollback, or a new stage at a revision already deployed: the deployment the state
    /// records for `revision`, which the change goes back to or creates the stage on (no new
    /// deployment).
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
    /// The progressive rollout that drives `percent_traffic` from its first step, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::state::RolloutSchedule>,
}

/// A branch as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredBranch {
    /// The Amplify app id.
    pub app_id: String,
    /// The branch name.
    pub branch_name: String,
    /// The Amplify stage (serialized in AWS's spelling, `"PRODUCTION"`).
    #[serde(with = "aws_spelling")]
    pub stage: Option<AmplifyStage>,
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
    pub address: Address,
    /// What the change does, in order.
    pub actions: Vec<Action>,
    /// The recorded state before (`None` for a new resource).
    pub before: Option<ResourceState>,
    /// The desired attributes after (`None` when deleted or promoted away).
    pub after: Option<Desired>,
    /// Addresses of other changes in this plan that must finish first.
    pub depends_on: Vec<Address>,
    /// Asked for with `--replace`: a fresh deployment though nothing changed (docs/behaviour.md,
    /// "Replacing and excluding").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
}

/// What a change does to its resource as a whole: what the summary counts and the renderings
/// draw with Terraform's symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// A new resource: `+`.
    Create,
    /// A resource changed in place: `~`.
    Update,
    /// A resource removed: `-`.
    Delete,
    /// A canary promoted into its stage: `>`.
    Promote,
    /// A resource imported as it runs, with nothing else to change: no symbol (Terraform's
    /// `# X will be imported`).
    Import,
}

impl ChangeKind {
    /// Every kind, in the order the renderings list them.
    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::Create,
        ChangeKind::Update,
        ChangeKind::Delete,
        ChangeKind::Promote,
    ];

    /// Terraform's symbol: `+`, `~`, `-`, `>`, or a space for an import with nothing to change.
    pub fn symbol(self) -> char {
        match self {
            ChangeKind::Create => '+',
            ChangeKind::Update => '~',
            ChangeKind::Delete => '-',
            ChangeKind::Promote => '>',
            ChangeKind::Import => ' ',
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        f.write_char(self.symbol())
    }
}

impl Change {
    /// Whether the change imports its resource (an `[[import]]` block).
    pub fn imports(&self) -> bool {
        self.actions.first() == Some(&Action::Import)
    }

    /// The AWS id of what the change imports, in Terraform's import-id form:
    /// `<rest_api_id>/<stage_name>` for a stage or canary, `<app_id>/<branch_name>` for a
    /// branch; `None` when it imports nothing.
    pub fn import_id(&self) -> Option<String> {
        if !self.imports() {
            return None;
        }
        Some(match self.before.as_ref()? {
            ResourceState::Stage(stage) => format!("{}/{}", stage.rest_api_id, stage.stage_name),
            ResourceState::Canary(canary) => {
                format!("{}/{}", canary.rest_api_id, canary.stage_name)
            }
            ResourceState::Branch(branch) => format!("{}/{}", branch.app_id, branch.branch_name),
        })
    }

    /// What the change does to its resource as a whole.
    pub fn kind(&self) -> ChangeKind {
        if self.actions == [Action::Import] {
            ChangeKind::Import
        } else if self.actions.contains(&Action::Promote) {
            ChangeKind::Promote
        } else if self.before.is_none() {
            ChangeKind::Create
        } else if self.after.is_none() {
            ChangeKind::Delete
        } else {
            ChangeKind::Update
        }
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
    /// Recorded resources re-keyed by `[[moved]]` blocks, applied before any change (no AWS
    /// call); a moved resource that also changes has its change under its new address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<super::Move>,
    /// Recorded resources forgotten by `[[removed]]` blocks with `destroy = false` (no AWS call;
    /// the resource stays in AWS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forgets: Vec<Address>,
    /// Every output declared or recorded, by name, with what apply records (docs/behaviour.md,
    /// "Outputs").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<super::OutputPlan>,
    /// Canaries whose recorded rollout the plan reports (running, rolled back, aborted, or
    /// promoted while the file still shows the canary), changed or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollouts: Vec<super::RolloutNote>,
}

/// Changes counted by kind, for the summary line of a plan or an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Resources imported (`[[import]]`), whatever else their change does; absent from the
    /// JSON when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub import: usize,
    /// Resources created.
    pub add: usize,
    /// Resources changed in place (promotions included).
    pub change: usize,
    /// Resources destroyed.
    pub destroy: usize,
}

impl Counts {
    /// Counts one more change of `kind`.
    pub fn count(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Create => self.add += 1,
            ChangeKind::Delete => self.destroy += 1,
            ChangeKind::Update | ChangeKind::Promote => self.change += 1,
            ChangeKind::Import => self.import += 1,
        }
    }

    /// Counts one more change: its import, if it imports, and what else it does.
    pub fn count_change(&mut self, change: &Change) {
        let kind = change.kind();
        if change.imports() && kind != ChangeKind::Import {
            self.import += 1;
        }
        self.count(kind);
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl FromIterator<ChangeKind> for Counts {
    fn from_iter<I: IntoIterator<Item = ChangeKind>>(kinds: I) -> Counts {
        let mut counts = Counts::default();
        for kind in kinds {
            counts.count(kind);
        }
        counts
    }
}

impl Plan {
    /// The changes counted by kind.
    pub fn summary(&self) -> Counts {
        let mut counts = Counts::default();
        for change in &self.changes {
            counts.count_change(change);
        }
        counts
    }

    /// Whether the plan changes anything (in AWS, or only in the state: moves, forgets and
    /// outputs).
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
            || !self.moves.is_empty()
            || !self.forgets.is_empty()
            || self.output_changes().next().is_some()
    }

    /// The outputs this plan changes, by name, with what it does to each.
    pub fn output_changes(
        &self,
    ) -> impl Iterator<Item = (&super::OutputPlan, super::OutputAction)> {
        self.outputs
            .iter()
            .filter_map(|output| output.action().map(|action| (output, action)))
    }

    /// The state with this plan's moves and forgets done: what the changes are applied to.
    pub fn refactor(&self, state: &mut crate::state::State) {
        super::refactor::apply_refactors(state, &self.moves, &self.forgets);
    }
}

/// An `Option` of a configuration enum as AWS spells it (`"0.5"`, `"PRODUCTION"`) or `null`:
/// the saved plan's shape from before these values were enums.
mod aws_spelling {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
    use stagecraft_config::{AmplifyStage, CacheSize};

    /// A value with one AWS spelling, listed in its type's `ALL`.
    pub(super) trait Spelled: Copy + PartialEq + 'static {
        /// What the value is, for the error on a spelling that names none.
        const WHAT: &'static str;
        /// Every value with its spelling.
        const ALL: &'static [(Self, &'static str)];
    }

    impl Spelled for CacheSize {
        const WHAT: &'static str = "cache size";
        const ALL: &'static [(Self, &'static str)] = &CacheSize::ALL;
    }

    impl Spelled for AmplifyStage {
        const WHAT: &'static str = "Amplify stage";
        const ALL: &'static [(Self, &'static str)] = &AmplifyStage::ALL;
    }

    pub(super) fn serialize<T: Spelled, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let spelling = value.and_then(|value| {
            T::ALL
                .iter()
                .find(|(known, _)| *known == value)
                .map(|(_, text)| *text)
        });
        spelling.serialize(serializer)
    }

    pub(super) fn deserialize<'de, T: Spelled, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => T::ALL
                .iter()
                .find(|(_, spelling)| *spelling == text)
                .map(|(value, _)| Some(*value))
                .ok_or_else(|| D::Error::custom(format!("`{text}` is not a {}", T::WHAT))),
        }
    }
}
