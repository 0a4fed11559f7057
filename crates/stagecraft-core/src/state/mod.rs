//! The state file's format: the types serialized to `stagecraft.state.json`. They are a
//! compatibility boundary, so they live here together and change only with `format_version`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stagecraft_config::{Address, ResourceKind};

pub mod digest;
mod output;
mod resources;
pub mod rollout;

pub use digest::{SaltSeed, Site, digest_matches, digest_reusing, sensitive_digest};
pub use output::OutputState;
pub use rollout::{
    AlarmCheck, AlarmReading, PausedBy, Promote, RolloutPromotion, RolloutSchedule, RolloutState,
    RolloutStatus, StepRecord, Timestamp,
};

/// The version of the state format this build reads and writes.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// The recorded state: what stagecraft applied, per resource, and the deployments it made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    /// Always [`STATE_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// A UUID made when the state is first written; a saved plan is bound to it.
    pub lineage: String,
    /// Incremented on every write that changes content.
    pub serial: u64,
    /// The project name of the configuration that wrote it.
    pub project: String,
    /// Per REST API id: each revision label and the deployment it produced (for rollbacks).
    pub deployments: BTreeMap<String, BTreeMap<String, String>>,
    /// Resources by address. In the file the keys are the addresses' text, in the order of that
    /// text (so a canary follows its stage); see [`State::from_json`] for what is refused.
    #[serde(serialize_with = "resources::serialize")]
    pub resources: BTreeMap<Address, ResourceState>,
    /// `[outputs]` as last applied, by name (absent from the file when there are none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, OutputState>,
}

/// The state as the file holds it: the resources as the entries written, in order, so that a
/// key that is no address, or a resource named twice, can be named before anything uses them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format_version: u32,
    lineage: String,
    serial: u64,
    project: String,
    #[serde(default)]
    deployments: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    resources: resources::Entries,
    #[serde(default)]
    outputs: BTreeMap<String, OutputState>,
}

impl State {
    /// An empty state with a fresh lineage.
    pub fn new(project: &str, lineage: String) -> State {
        State {
            format_version: STATE_FORMAT_VERSION,
            lineage,
            serial: 0,
            project: project.to_string(),
            deployments: BTreeMap::new(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// Parses a state file, refusing versions this build does not know and a resource map that
    /// does not say unambiguously what is recorded: a key that is not an address, a record whose
    /// kind is not the kind its address names, or one resource recorded under two keys (the
    /// same key twice, or two spellings of one address such as `a` and `"a"`). Such a state is
    /// refused whole, with the key named, rather than read with the key dropped: a dropped key
    /// would be deployed again and kept in the file where no command could delete it.
    pub fn from_json(text: &str) -> Result<State, StateError> {
        // A readable state of this version parses once; only a failure needs the version read
        // first, so that a newer format is reported as such rather than as corrupt.
        let file = match serde_json::from_str::<StateFile>(text) {
            Ok(file) if file.format_version == STATE_FORMAT_VERSION => file,
            parsed => {
                #[derive(Deserialize)]
                struct Version {
                    format_version: Option<u32>,
                }
                let version: Version =
                    serde_json::from_str(text).map_err(|error| StateError::Corrupt {
                        message: error.to_string(),
                    })?;
                match version.format_version {
                    Some(STATE_FORMAT_VERSION) => {}
                    Some(found) => return Err(StateError::UnknownVersion { found }),
                    None => {
                        return Err(StateError::Corrupt {
                            message: "no `format_version`".to_string(),
                        });
                    }
                }
                parsed.map_err(|error| StateError::Corrupt {
                    message: error.to_string(),
                })?
            }
        };
        Ok(State {
            format_version: file.format_version,
            lineage: file.lineage,
            serial: file.serial,
            project: file.project,
            deployments: file.deployments,
            resources: file.resources.into_map()?,
            outputs: file.outputs,
        })
    }

    /// The JSON text written to disk (pretty, stable key order, trailing newline). An error,
    /// never an empty or partial text, when the state cannot be serialized.
    pub fn to_json(&self) -> Result<String, StateError> {
        pretty_json(self).map_err(|error| StateError::Unserializable {
            message: error.to_string(),
        })
    }

    /// The deployment a revision of an API produced, if recorded.
    pub fn deployment_of(&self, rest_api_id: &str, revision: &str) -> Option<&str> {
        self.deployments
            .get(rest_api_id)?
            .get(revision)
            .map(String::as_str)
    }
}

/// A document written to disk (the state, a saved plan) as pretty JSON with a trailing newline,
/// or the serializer's error: never an empty or partial text, which a caller could write over
/// the previous file.
pub(crate) fn pretty_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// Why a state file could not be read, or a state not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    /// Not valid JSON, or not the expected shape.
    #[error("the state file is corrupt: {message}")]
    #[diagnostic(
        code(state::corrupt),
        help("nothing was changed; restore it from `<state>.backup` or from version control")
    )]
    Corrupt {
        /// What the parser said.
        message: String,
    },
    /// Written by another version of stagecraft.
    #[error("the state file has format_version {found}; this stagecraft reads version 1")]
    #[diagnostic(
        code(state::unknown_version),
        help("use the stagecraft release that wrote it, or a newer one")
    )]
    UnknownVersion {
        /// The version found.
        found: u32,
    },
    /// A key of `resources` is not a resource address.
    #[error("the state file records a resource under `{key}`, which is not an address: {reason}")]
    #[diagnostic(
        code(state::bad_address),
        help(
            "nothing was changed; correct the key or restore the file from `<state>.backup` or \
             from version control"
        )
    )]
    BadAddress {
        /// The key as written.
        key: String,
        /// What the address grammar expected.
        reason: String,
    },
    /// A record's `kind` is not the kind of resource its address names.
    #[error("the state file records a {found} under `{key}`, which names a {expected}")]
    #[diagnostic(
        code(state::kind_mismatch),
        help(
            "nothing was changed; correct the record or restore the file from `<state>.backup` \
             or from version control"
        )
    )]
    KindMismatch {
        /// The key as written.
        key: String,
        /// The `kind` the record gives.
        found: &'static str,
        /// The kind the address names.
        expected: &'static str,
    },
    /// One resource is recorded twice: the same key twice, or two spellings of one address.
    #[error("the state file records `{key}` twice (also as `{first}`)")]
    #[diagnostic(
        code(state::duplicate),
        help(
            "nothing was changed; keep one of the two records or restore the file from \
             `<state>.backup` or from version control"
        )
    )]
    Duplicate {
        /// The later key.
        key: String,
        /// The key that recorded the resource first.
        first: String,
    },
    /// The state could not be turned into JSON (nothing is written then).
    #[error("the state cannot be serialized: {message}")]
    #[diagnostic(code(state::serialize))]
    Unserializable {
        /// What the serializer said.
        message: String,
    },
}

/// A value as recorded: in clear, or (for sensitive values) only its digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredValue {
    /// A value that is not sensitive.
    Plain(String),
    /// A sensitive value: `{"sensitive": "argon2id$..."}`.
    Sensitive {
        /// The salted digest (see [`digest`]).
        sensitive: String,
    },
}

/// One recorded resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResourceState {
    /// An API Gateway stage.
    #[serde(rename = "apigateway_stage")]
    Stage(StageState),
    /// A stage's canary.
    #[serde(rename = "apigateway_canary")]
    Canary(CanaryState),
    /// An Amplify branch.
    #[serde(rename = "amplify_branch")]
    Branch(BranchState),
}

impl ResourceState {
    /// The kind of resource recorded (as an [`Address`] of it would name it).
    pub fn kind(&self) -> ResourceKind {
        match self {
            ResourceState::Stage(_) => ResourceKind::Stage,
            ResourceState::Canary(_) => ResourceKind::Canary,
            ResourceState::Branch(_) => ResourceKind::Branch,
        }
    }
}

/// A recorded API Gateway stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageState {
    /// The REST API id.
    pub rest_api_id: String,
    /// The stage name.
    pub stage_name: String,
    /// The revision applied.
    pub revision: String,
    /// The deployment the stage points at.
    pub deployment_id: String,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// X-Ray tracing.
    #[serde(default)]
    pub tracing: bool,
    /// Stage variables.
    #[serde(default)]
    pub variables: BTreeMap<String, StoredValue>,
    /// Cache size, when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_size: Option<String>,
    /// Set when a rollout promoted a canary onto this stage: the file as it was then (the
    /// stage on `from_revision`, a canary with a rollout) still reads as applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_by_rollout: Option<RolloutPromotion>,
}

/// A recorded canary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryState {
    /// The REST API id.
    pub rest_api_id: String,
    /// The stage name.
    pub stage_name: String,
    /// The canary's revision.
    pub revision: String,
    /// The canary's deployment.
    pub deployment_id: String,
    /// Share of traffic.
    pub percent_traffic: f64,
    /// Variable overrides.
    #[serde(default)]
    pub variable_overrides: BTreeMap<String, StoredValue>,
    /// Whether canary requests use the stage cache.
    #[serde(default)]
    pub use_stage_cache: bool,
    /// The canary's progressive rollout, when its configuration has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutState>,
}

/// A recorded Amplify branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchState {
    /// The Amplify app id.
    pub app_id: String,
    /// The branch name.
    pub branch_name: String,
    /// The Amplify stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The framework label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// Environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, StoredValue>,
    /// Basic auth: the user name and the password's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuthState>,
    /// The digest of the artifact last deployed successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_digest: Option<String>,
    /// The job of the last successful deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Where Amplify serves the branch: `https://<displayName>.<defaultDomain>`, from the
    /// `displayName` AWS answered and the app's `defaultDomain` (`GetApp`). Absent in states
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl BranchState {
    /// Where Amplify serves the branch: the recorded URL; for a record written before URLs were
    /// recorded, the one AWS gives a branch whose display name was never set (stagecraft never
    /// sets it: the name with `/` as `-`) under the domain AWS gives every app
    /// (`<app id>.amplifyapp.com`). The next apply that changes the branch, or a refresh,
    /// records AWS's own.
    pub fn served_url(&self) -> String {
        self.url.clone().unwrap_or_else(|| {
            crate::plan::branch_url(
                &self.branch_name.replace('/', "-"),
                &format!("{}.amplifyapp.com", self.app_id),
            )
        })
    }
}

/// Recorded basic-auth settings: never the password itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthState {
    /// The user name (a digest when it came from the environment).
    pub username: StoredValue,
    /// The password's digest.
    pub password: StoredValue,
}

#[cfg(test)]
mod tests;
