//! Why a change failed, why the journal could not be written and why an artifact could not be
//! packaged: the executor's errors. Their messages are the ones the CLI shows.

use std::sync::Arc;
use std::time::Duration;

use stagecraft_config::Address;
use stagecraft_config::rules::RuleViolation;

use super::journal::Call;
use crate::provider::{JobStatus, ProviderError};

/// Why a change was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Apply was interrupted (Ctrl-C) before the change sent anything: it did not start.
    #[error("not started: apply was interrupted")]
    NotStarted,
    /// An AWS call failed for good (after the retries AWS's error allows).
    #[error("{call} failed: {source}")]
    Call {
        /// The call.
        call: Call,
        /// AWS's error.
        source: ProviderError,
    },
    /// A mutating call was not sent because its start could not be journaled.
    #[error("{call} failed: {source}")]
    CallNotJournaled {
        /// The call.
        call: Call,
        /// The journal's failure.
        source: JournalFailed,
    },
    /// The journal could not be written after a call or a read: the run stops.
    #[error(transparent)]
    Journal(#[from] JournalFailed),
    /// A `${...}` value names a resource that was not applied.
    #[error("${{{reference}}} is not known: the resource it names was not applied")]
    UnknownReference {
        /// The reference, as written.
        reference: String,
    },
    /// A value known only at apply broke AWS's rule for it once resolved: nothing was sent.
    #[error("{what} {shown}{violation} ({help}); nothing was sent")]
    ValueBreaksRule {
        /// Which value (`stage variable \`upstream\``).
        what: String,
        /// `(resolved to \`value\`) `, shortened, or `(as resolved) ` where it may be a secret.
        shown: String,
        /// How it breaks the rule.
        violation: RuleViolation,
        /// The rule's hint.
        help: &'static str,
    },
    /// A basic-auth password's digest matches no password of the configuration.
    #[error("a password changed since the plan was made; plan again")]
    PasswordChanged,
    /// An `{ env = ... }` value's (or a sensitive variable's) digest matches no value given now.
    #[error(
        "the value of {} changed since the plan was made (or is not set); plan again",
        shown_key(variable)
    )]
    SensitiveChanged {
        /// The environment variable.
        variable: String,
    },
    /// A value to send is still deferred.
    #[error("a value is still unknown")]
    ValueUnknown,
    /// The record of a change cannot be made: a value is still deferred.
    #[error("a value is still unknown after its dependencies were applied")]
    RecordUnknown,
    /// A stage the plan creates exists on AWS already, and no apply of this state made it:
    /// nothing was changed (docs/behaviour.md, "Existing stages").
    #[error(transparent)]
    StageExists(Box<ExistingStage>),
    /// A branch the plan creates exists in Amplify already, and no apply of this state made it:
    /// nothing was changed (docs/behaviour.md, "Existing branches").
    #[error(transparent)]
    BranchExists(Box<ExistingBranch>),
    /// A cache cluster kept changing past the cache timeout.
    #[error(
        "the cache cluster did not settle within {}s (last status {last_status})",
        timeout.as_secs()
    )]
    CacheTimeout {
        /// The timeout.
        timeout: Duration,
        /// The last status seen (empty when none was).
        last_status: String,
    },
    /// A promotion's address is not a canary's.
    #[error("{address} is not a canary address")]
    NotCanary {
        /// The address.
        address: Address,
    },
    /// A canary's stage has no record to promote onto.
    #[error("{address} is not in the state")]
    NotInState {
        /// The stage's address.
        address: Address,
    },
    /// Amplify's job quota could not be waited for.
    #[error(transparent)]
    JobQuota(#[from] tokio::sync::AcquireError),
    /// A rollout could not go on (docs/behaviour.md, "Rollouts").
    #[error(transparent)]
    Rollout(#[from] super::rollout::RolloutError),
    /// The artifact could not be packaged.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The artifact's contents differ from those the plan digested.
    #[error("the artifact {path} changed since the plan was made; plan again")]
    ArtifactChanged {
        /// The artifact's configured path.
        path: String,
    },
    /// The packaged artifact is larger than Amplify takes for a manual deployment.
    #[error(
        "the artifact {path} zips to {size} bytes, more than the {limit} bytes (5 GiB) Amplify takes for a manual deployment"
    )]
    ArtifactTooLarge {
        /// The artifact's configured path.
        path: String,
        /// The zip's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// An Amplify deployment job ended without succeeding.
    #[error("deployment job {job} ended {status}{}", reasons(failures))]
    JobEnded {
        /// The job.
        job: String,
        /// Its final status.
        status: JobStatus,
        /// Each failed step's reason.
        failures: Vec<String>,
    },
    /// An Amplify job did not finish within the job timeout.
    #[error(
        "{}job {job} on branch {branch} is still {status} after {}s; wait for it to finish or stop it (aws amplify stop-job --app-id {app} --branch-name {branch} --job-id {job}), then apply again",
        owner.prefix(),
        timeout.as_secs()
    )]
    JobTimeout {
        /// Whose job it is.
        owner: JobOwner,
        /// The Amplify app.
        app: String,
        /// The branch.
        branch: String,
        /// The job.
        job: String,
        /// Its last status.
        status: JobStatus,
        /// The timeout.
        timeout: Duration,
    },
}

/// A stage found on AWS where the plan creates one, which no apply of this state made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "stage {stage_name} already exists on AWS (deployment {deployment_id}, description {description:?}) and no apply of this state made it, so nothing was changed; to manage it with stagecraft, run `stagecraft import {address}`"
)]
pub struct ExistingStage {
    /// The stage's address.
    pub address: Address,
    /// The stage.
    pub stage_name: String,
    /// The deployment it serves on AWS.
    pub deployment_id: String,
    /// Its description on AWS (empty when it has none).
    pub description: String,
}

/// A branch found in Amplify where the plan creates one, which no apply of this state made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "branch {branch_name} already exists in Amplify (stage {stage}, display name {display_name:?}, description {description:?}) and no apply of this state made it, so nothing was changed; to manage it with stagecraft, run `stagecraft import '{address}'`"
)]
pub struct ExistingBranch {
    /// The branch's address.
    pub address: Address,
    /// The branch.
    pub branch_name: String,
    /// Its stage in Amplify (`NONE` when it has none).
    pub stage: String,
    /// Its display name in Amplify.
    pub display_name: String,
    /// Its description in Amplify (empty when it has none).
    pub description: String,
}

/// Whose Amplify job apply waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOwner {
    /// The job this change started.
    Ours,
    /// An unfinished job found before deploying, which blocks this deployment.
    Earlier,
}

impl JobOwner {
    fn prefix(self) -> &'static str {
        match self {
            JobOwner::Ours => "",
            JobOwner::Earlier => "an earlier deployment blocks this one: ",
        }
    }
}

fn reasons(failures: &[String]) -> String {
    if failures.is_empty() {
        String::new()
    } else {
        format!(": {}", failures.join("; "))
    }
}

/// The journal could not be written; nothing more is sent (shared by every change that meets
/// it, and by the report).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot write the apply journal: {0}")]
pub struct JournalFailed(pub Arc<JournalWriteError>);

/// Why a [`Journal`](super::Journal) could not append an entry.
#[derive(Debug, thiserror::Error)]
pub enum JournalWriteError {
    /// The entry could not be serialized.
    #[error(transparent)]
    Serialize(#[from] serde_json::Error),
    /// The journal was closed by an earlier failed write.
    #[error("the journal is closed")]
    Closed,
    /// The write or its fsync failed.
    #[error(transparent)]
    Write(#[from] std::io::Error),
}

/// Why an [`Artifacts`](super::Artifacts) implementation could not package an artifact.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The packager's own error (the folder or zip could not be read, the temporary file not
    /// written).
    #[error(transparent)]
    Packaging(Box<dyn std::error::Error + Send + Sync>),
}

/// A sensitive value's key as a user writes it: `$NAME` for the environment, `var.NAME` for a
/// sensitive input variable.
fn shown_key(key: &str) -> String {
    if key.starts_with("var.") {
        key.to_string()
    } else {
        format!("${key}")
    }
}
