//! The state file's format: the types serialized to `stagecraft.state.json`. They are a
//! compatibility boundary, so they live here together and change only with `format_version`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the state format this build reads and writes.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// The recorded state: what stagecraft applied, per resource, and the deployments it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub deployments: BTreeMap<String, BTreeMap<String, String>>,
    /// Resources by address (the address grammar of the configuration).
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
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
        }
    }

    /// Parses a state file, refusing versions this build does not know.
    pub fn from_json(text: &str) -> Result<State, StateError> {
        // A readable state of this version parses once; only a failure needs the version read
        // first, so that a newer format is reported as such rather than as corrupt.
        if let Ok(state) = serde_json::from_str::<State>(text)
            && state.format_version == STATE_FORMAT_VERSION
        {
            return Ok(state);
        }
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<u32>,
        }
        let version: Version = serde_json::from_str(text).map_err(|error| StateError::Corrupt {
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
        serde_json::from_str(text).map_err(|error| StateError::Corrupt {
            message: error.to_string(),
        })
    }

    /// The JSON text written to disk (pretty, stable key order, trailing newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The deployment a revision of an API produced, if recorded.
    pub fn deployment_of(&self, rest_api_id: &str, revision: &str) -> Option<&str> {
        self.deployments
            .get(rest_api_id)?
            .get(revision)
            .map(String::as_str)
    }
}

/// Why a state file could not be read.
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
}

/// A value as recorded: in clear, or (for sensitive values) only its digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredValue {
    /// A value that is not sensitive.
    Plain(String),
    /// A sensitive value: `{"sensitive": "sha256:..."}`.
    Sensitive {
        /// The salted digest (see [`sensitive_digest`]).
        sensitive: String,
    },
}

/// The digest kept for a sensitive value: SHA-256 over the state's lineage and the value, so the
/// same secret digests differently in every state lineage and cannot be looked up in a table.
pub fn sensitive_digest(lineage: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(lineage.as_bytes());
    hasher.update([0]);
    hasher.update(value.as_bytes());
    format!("sha256:{}", hex::encode(hasher.finalize()))
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_refuses_unknown_versions() {
        let mut state = State::new("p", "lineage-1".to_string());
        state.resources.insert(
            "rest_apis.a.stages.s".to_string(),
            ResourceState::Stage(StageState {
                rest_api_id: "abc".into(),
                stage_name: "s".into(),
                revision: "1".into(),
                deployment_id: "d1".into(),
                description: None,
                tracing: true,
                variables: BTreeMap::from([
                    ("plain".into(), StoredValue::Plain("x".into())),
                    (
                        "secret".into(),
                        StoredValue::Sensitive {
                            sensitive: sensitive_digest("lineage-1", "pw"),
                        },
                    ),
                ]),
                cache_size: Some("0.5".into()),
            }),
        );
        let text = state.to_json();
        assert!(text.contains("\"kind\": \"apigateway_stage\""));
        assert!(!text.contains("\"pw\""));
        assert_eq!(State::from_json(&text).unwrap(), state);
        let newer = text.replace("\"format_version\": 1", "\"format_version\": 9");
        assert_eq!(
            State::from_json(&newer),
            Err(StateError::UnknownVersion { found: 9 })
        );
        assert!(matches!(
            State::from_json("{\"format_version\": 1, \"lineage\": 3}"),
            Err(StateError::Corrupt { .. })
        ));
        assert!(matches!(
            State::from_json("not json"),
            Err(StateError::Corrupt { .. })
        ));
    }

    #[test]
    fn digests_are_salted_by_lineage() {
        assert_ne!(sensitive_digest("a", "pw"), sensitive_digest("b", "pw"));
        assert_eq!(sensitive_digest("a", "pw"), sensitive_digest("a", "pw"));
        assert!(sensitive_digest("a", "pw").starts_with("sha256:"));
    }
}
