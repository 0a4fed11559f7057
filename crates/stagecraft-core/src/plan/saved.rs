//! The saved plan (`plan --out FILE`): the plan's JSON document with a digest of its own
//! contents as its last field, so that `apply FILE` and `show FILE` refuse a plan edited after
//! it was saved, even one that is still valid JSON (`docs/behaviour.md`, "Saved plans").
//!
//! The digest is SHA-256 over the plan's compact JSON as this build writes it, with no key: it
//! catches a file changed by hand or by a tool, not a forger who recomputes it (who could as
//! well make a new plan).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{PLAN_FORMAT_VERSION, Plan};
use crate::state::pretty_json;

/// The field of a saved plan that holds its digest.
const DIGEST_FIELD: &str = "digest";

/// Why a plan could not be saved or a saved plan not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum SavedPlanError {
    /// The plan could not be turned into JSON (nothing is written then).
    #[error("the plan cannot be serialized: {message}")]
    #[diagnostic(code(plan::serialize))]
    Unserializable {
        /// What the serializer said.
        message: String,
    },
    /// Not JSON, or not a plan.
    #[error("{message}")]
    #[diagnostic(code(plan::unreadable))]
    Unreadable {
        /// What the parser said.
        message: String,
    },
    /// Saved by a build with another plan format.
    #[error("plan format_version {found} is not supported (expected {PLAN_FORMAT_VERSION})")]
    #[diagnostic(code(plan::unknown_version))]
    UnknownVersion {
        /// The version found.
        found: u64,
    },
    /// No digest: not saved by `plan --out`, or saved by a release before digests.
    #[error("it has no digest of its contents, so it cannot be checked for edits")]
    #[diagnostic(
        code(plan::no_digest),
        help("make a new plan with `stagecraft plan --out FILE` and review it")
    )]
    NoDigest,
    /// The contents do not match the digest saved with them.
    #[error(
        "it was changed after it was saved: its contents do not match the digest saved with them"
    )]
    #[diagnostic(
        code(plan::edited),
        help(
            "a saved plan is applied exactly as reviewed, so it cannot be edited; make a new \
             plan with `stagecraft plan --out FILE` and review it"
        )
    )]
    Edited,
}

/// The saved document as written: the plan's fields, then its digest.
#[derive(Serialize)]
struct Saved<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    digest: String,
}

/// `sha256:<hex>` over the plan's compact JSON.
fn digest_of(plan: &Plan) -> Result<String, serde_json::Error> {
    let bytes = serde_json::to_vec(plan)?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
}

impl Plan {
    /// The saved-plan document (the JSON plan with the digest of its contents). An error, never
    /// an empty or partial text, when the plan cannot be serialized.
    pub fn to_json(&self) -> Result<String, SavedPlanError> {
        let unserializable = |error: serde_json::Error| SavedPlanError::Unserializable {
            message: error.to_string(),
        };
        let saved = Saved {
            plan: self,
            digest: digest_of(self).map_err(unserializable)?,
        };
        pretty_json(&saved).map_err(unserializable)
    }

    /// Reads a saved plan: refused when its format is another build's, when it carries no
    /// digest, or when its contents do not match the digest (it was edited after it was saved).
    pub fn from_json(text: &str) -> Result<Plan, SavedPlanError> {
        let unreadable = |error: serde_json::Error| SavedPlanError::Unreadable {
            message: error.to_string(),
        };
        let mut document: Value = serde_json::from_str(text).map_err(unreadable)?;
        let Some(fields) = document.as_object_mut() else {
            return Err(SavedPlanError::Unreadable {
                message: "not a JSON object".to_string(),
            });
        };
        match fields.get("format_version").and_then(Value::as_u64) {
            Some(version) if version == u64::from(PLAN_FORMAT_VERSION) => {}
            Some(found) => return Err(SavedPlanError::UnknownVersion { found }),
            None => {
                return Err(SavedPlanError::Unreadable {
                    message: "no `format_version`".to_string(),
                });
            }
        }
        let Some(Value::String(saved_digest)) = fields.remove(DIGEST_FIELD) else {
            return Err(SavedPlanError::NoDigest);
        };
        let plan = Plan::deserialize(document).map_err(unreadable)?;
        if digest_of(&plan).map_err(unreadable)? != saved_digest {
            return Err(SavedPlanError::Edited);
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests;
