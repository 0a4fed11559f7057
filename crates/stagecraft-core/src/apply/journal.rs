//! The apply journal: an append-only record, written beside the state, of every AWS operation
//! as it starts and as it completes with its effect on the state. Apply makes each entry durable
//! before the next operation starts; after a crash the next run folds the completed effects into
//! the state ([`replay`]) and reports the operations that started and never completed.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use stagecraft_config::{Address, ResourceKind};

use crate::state::{ResourceState, State};

/// An AWS call the executor makes. The mutating ones are journaled; every one is named in
/// retry events. Shown (and journaled) by AWS's own name: API Gateway's and Amplify's
/// `CreateDeployment` share a name, so a journal line tells them apart by its resource's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// API Gateway `CreateDeployment`: a snapshot of a revision, or a canary on a revision not
    /// yet deployed (journals before stagecraft made stages with `CreateStage`: a new stage).
    CreateDeployment,
    /// API Gateway `CreateStage`: a new stage on its revision's snapshot.
    CreateStage,
    /// API Gateway `GetDeployments` (a read: a snapshot found again by its marker).
    GetDeployments,
    /// API Gateway `UpdateStage`.
    UpdateStage,
    /// API Gateway `DeleteStage`.
    DeleteStage,
    /// API Gateway `GetStage` (a read).
    GetStage,
    /// Amplify `CreateBranch`.
    CreateBranch,
    /// Amplify `UpdateBranch`.
    UpdateBranch,
    /// Amplify `DeleteBranch`.
    DeleteBranch,
    /// Amplify `GetBranch` (a read).
    GetBranch,
    /// Amplify `CreateDeployment`: a manual deployment's job and upload URL.
    CreateAmplifyDeployment,
    /// The zip's `PUT` to the upload URL Amplify gave (journaled as `upload`).
    Upload,
    /// Amplify `StartDeployment`.
    StartDeployment,
    /// Amplify `StopJob`.
    StopJob,
    /// Amplify `ListJobs` (a read).
    ListJobs,
    /// Amplify `GetJob` (a read).
    GetJob,
    /// Amplify `GetApp` (a read: the app's default domain, for a branch's URL).
    GetApp,
    /// CloudWatch `DescribeAlarms` (a read: a rollout's alarm check).
    DescribeAlarms,
}

/// The service a call goes to, which the kind of its resource decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// API Gateway: stages and canaries.
    ApiGateway,
    /// Amplify: branches.
    Amplify,
    /// CloudWatch: the alarms a canary's rollout reads.
    CloudWatch,
}

impl Service {
    /// The services a resource kind's calls go to (a canary's rollout reads CloudWatch).
    pub fn of(kind: ResourceKind) -> &'static [Service] {
        match kind {
            ResourceKind::Stage => &[Service::ApiGateway],
            ResourceKind::Canary => &[Service::ApiGateway, Service::CloudWatch],
            ResourceKind::Branch => &[Service::Amplify],
        }
    }
}

impl Call {
    /// Every call, for parsing.
    const ALL: [Call; 18] = [
        Call::CreateDeployment,
        Call::CreateStage,
        Call::GetDeployments,
        Call::UpdateStage,
        Call::DeleteStage,
        Call::GetStage,
        Call::CreateBranch,
        Call::UpdateBranch,
        Call::DeleteBranch,
        Call::GetBranch,
        Call::CreateAmplifyDeployment,
        Call::Upload,
        Call::StartDeployment,
        Call::StopJob,
        Call::ListJobs,
        Call::GetJob,
        Call::GetApp,
        Call::DescribeAlarms,
    ];

    /// AWS's name for the call, as shown and journaled.
    pub fn name(self) -> &'static str {
        match self {
            Call::CreateDeployment | Call::CreateAmplifyDeployment => "CreateDeployment",
            Call::CreateStage => "CreateStage",
            Call::GetDeployments => "GetDeployments",
            Call::UpdateStage => "UpdateStage",
            Call::DeleteStage => "DeleteStage",
            Call::GetStage => "GetStage",
            Call::CreateBranch => "CreateBranch",
            Call::UpdateBranch => "UpdateBranch",
            Call::DeleteBranch => "DeleteBranch",
            Call::GetBranch => "GetBranch",
            Call::Upload => "upload",
            Call::StartDeployment => "StartDeployment",
            Call::StopJob => "StopJob",
            Call::ListJobs => "ListJobs",
            Call::GetJob => "GetJob",
            Call::GetApp => "GetApp",
            Call::DescribeAlarms => "DescribeAlarms",
        }
    }

    /// The service the call goes to (which decides, among others, whether it takes a token of
    /// API Gateway's request-rate bucket: every call is named here, none by default).
    pub fn service(self) -> Service {
        match self {
            Call::CreateDeployment
            | Call::CreateStage
            | Call::GetDeployments
            | Call::UpdateStage
            | Call::DeleteStage
            | Call::GetStage => Service::ApiGateway,
            Call::CreateBranch
            | Call::UpdateBranch
            | Call::DeleteBranch
            | Call::GetBranch
            | Call::CreateAmplifyDeployment
            | Call::Upload
            | Call::StartDeployment
            | Call::StopJob
            | Call::ListJobs
            | Call::GetJob
            | Call::GetApp => Service::Amplify,
            Call::DescribeAlarms => Service::CloudWatch,
        }
    }

    /// The call named `name` among the calls a resource of `kind` makes, if there is one.
    pub fn named(kind: ResourceKind, name: &str) -> Option<Call> {
        let services = Service::of(kind);
        Call::ALL
            .into_iter()
            .find(|call| services.contains(&call.service()) && call.name() == name)
    }

    /// Whether the call is a step of an Amplify deployment before `StartDeployment`: a flow
    /// cut after it leaves a job that exists and will never start.
    pub fn precedes_amplify_start(self) -> bool {
        matches!(self, Call::CreateAmplifyDeployment | Call::Upload)
    }

    /// Whether an Amplify deployment whose call is in doubt may have left a job that will
    /// never start: cut before `StartDeployment`, or during it (not carried out, its job
    /// still reads `PENDING`).
    pub fn may_leave_job_unstarted(self) -> bool {
        self.precedes_amplify_start() || self == Call::StartDeployment
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Call {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One line of the journal (JSON lines). Holds no sensitive value: resource records carry
/// only digests, as the state does. Read through [`wire::JournalLine`], which names a call by
/// its string, as a [`Call`] is known only with its resource's kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "entry",
    rename_all = "snake_case",
    try_from = "wire::JournalLine"
)]
pub enum JournalEntry {
    /// The first line: which state the journal applies to.
    Header {
        /// The state's lineage.
        lineage: String,
        /// The state's serial when the apply began (`None`: no state yet).
        serial: Option<u64>,
        /// The project, for a state made from the journal alone.
        project: String,
    },
    /// A mutating call is about to be sent.
    Started {
        /// Numbers the operation within this journal.
        operation: u64,
        /// The resource it is for.
        address: Address,
        /// The AWS call.
        call: Call,
        /// For a `CreateDeployment`: the snapshot it makes, by which the next run finds it
        /// again if this run ends before its answer is journaled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot: Option<SnapshotMarker>,
    },
    /// The call succeeded, with what it changed in the state.
    Completed {
        /// The operation of the matching `Started` entry.
        operation: u64,
        /// Its effects, applied in order.
        effects: Vec<Effect>,
    },
    /// The call failed for good: AWS refused it, so nothing changed.
    Failed {
        /// The operation of the matching `Started` entry.
        operation: u64,
    },
    /// A resource whose earlier operation was interrupted has since been read back from AWS
    /// and applied: that operation is no longer in doubt.
    Settled {
        /// The resource.
        address: Address,
    },
    /// State learned from a read (`GetStage` after a change), with no call in flight.
    Recorded {
        /// The effects, applied in order.
        effects: Vec<Effect>,
    },
}

/// What tells a snapshot stagecraft made apart from every other deployment of its REST API:
/// its description, which names the revision (for people, first), the state's lineage and a
/// nonce of the run and call that made it (docs/behaviour.md, "Snapshots and revisions").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMarker {
    /// The REST API id.
    pub rest_api_id: String,
    /// The revision it is a snapshot of.
    pub revision: String,
    /// The deployment's description, as sent: `<revision> (stagecraft <lineage> <nonce>)`.
    pub description: String,
}

impl SnapshotMarker {
    /// The marker of a new snapshot of `revision`, made by the run `run_id` as its `n`th.
    pub fn new(
        rest_api_id: &str,
        revision: &str,
        lineage: &str,
        run_id: &str,
        n: u64,
    ) -> SnapshotMarker {
        SnapshotMarker {
            rest_api_id: rest_api_id.to_string(),
            revision: revision.to_string(),
            description: format!("{revision} (stagecraft {lineage} {run_id}-{n})"),
        }
    }
}

/// A change to the recorded state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// A revision of a REST API produced a deployment.
    Deployment {
        /// The REST API id.
        rest_api_id: String,
        /// The revision label.
        revision: String,
        /// The deployment id AWS returned.
        deployment_id: String,
    },
    /// A resource's record is replaced (`None`: removed).
    Resource {
        /// Its address.
        address: Address,
        /// The new record.
        record: Option<Box<ResourceState>>,
    },
}

impl Effect {
    /// Applies the effect to a state. Idempotent, so replaying a journal twice is harmless.
    pub fn apply_to(&self, state: &mut State) {
        match self {
            Effect::Deployment {
                rest_api_id,
                revision,
                deployment_id,
            } => {
                state
                    .deployments
                    .entry(rest_api_id.clone())
                    .or_default()
                    .insert(revision.clone(), deployment_id.clone());
            }
            Effect::Resource { address, record } => match record {
                Some(record) => {
                    state.resources.insert(address.clone(), (**record).clone());
                }
                None => {
                    state.resources.remove(address);
                }
            },
        }
    }
}

/// An operation that started and was never known to finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    /// The resource.
    pub address: Address,
    /// The AWS call.
    pub call: Call,
    /// The snapshot a `CreateDeployment` was making, to be looked for before another is made.
    pub snapshot: Option<SnapshotMarker>,
}

/// What replaying a journal did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replay {
    /// Completed operations folded into the state.
    pub completed: usize,
    /// Operations started and never completed: they may or may not have happened on AWS.
    pub interrupted: Vec<Interrupted>,
    /// Whether the state changed.
    pub changed: bool,
}

/// Why a journal cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum JournalError {
    /// The journal belongs to another state.
    #[error(
        "the apply journal belongs to state lineage {journal}, but the state has lineage {state}"
    )]
    #[diagnostic(
        code(journal::lineage),
        help(
            "the journal was left by an apply against another state; move it aside after checking AWS by hand"
        )
    )]
    Lineage {
        /// The journal's lineage.
        journal: String,
        /// The state's lineage.
        state: String,
    },
    /// A line in the middle is not a journal entry.
    #[error("line {line} of the apply journal is not a journal entry: {message}")]
    #[diagnostic(code(journal::corrupt))]
    Corrupt {
        /// The 1-based line.
        line: usize,
        /// What the parser said.
        message: String,
    },
}

/// The journal a recovered run starts with: the operations still in doubt, carried over so that
/// a run killed again before settling them reports them again rather than forgetting them.
/// Their numbers count down from `u64::MAX`, clear of the numbers a run gives its own.
pub fn carried(state: &State, interrupted: &[Interrupted]) -> Vec<JournalEntry> {
    let mut entries = vec![JournalEntry::Header {
        lineage: state.lineage.clone(),
        serial: Some(state.serial),
        project: state.project.clone(),
    }];
    for (index, operation) in interrupted.iter().enumerate() {
        entries.push(JournalEntry::Started {
            operation: u64::MAX - index as u64,
            address: operation.address.clone(),
            call: operation.call,
            snapshot: operation.snapshot.clone(),
        });
    }
    entries
}

/// Parses journal text. A last line cut short by a crash is ignored: its operation is then
/// reported as interrupted, which is the truth.
pub fn parse(text: &str) -> Result<Vec<JournalEntry>, JournalError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(error) => {
                return Err(JournalError::Corrupt {
                    line: index + 1,
                    message: error.to_string(),
                });
            }
        }
    }
    Ok(entries)
}

/// Folds a journal's completed effects into `state` (or into a new state when there is none).
pub fn replay(
    state: Option<State>,
    entries: &[JournalEntry],
) -> Result<(State, Replay), JournalError> {
    let mut report = Replay::default();
    let Some(JournalEntry::Header {
        lineage,
        serial,
        project,
    }) = entries.first()
    else {
        // Without a header, nothing was ever sent (the header is written first).
        return Ok((
            state.unwrap_or_else(|| State::new("", String::new())),
            report,
        ));
    };
    let mut state = match state {
        Some(state) => {
            if state.lineage != *lineage {
                return Err(JournalError::Lineage {
                    journal: lineage.clone(),
                    state: state.lineage,
                });
            }
            // Effects are idempotent, so a journal already folded (a crash between the state's
            // write and the journal's removal) is replayed harmlessly; the serial is not used
            // to skip it, as later runs append their own headers to a carried journal.
            let _ = serial;
            state
        }
        None => State::new(project, lineage.clone()),
    };
    let mut started: Vec<(u64, Interrupted)> = Vec::new();
    let apply = |effects: &[Effect], state: &mut State, report: &mut Replay| {
        for effect in effects {
            effect.apply_to(state);
            report.changed = true;
        }
    };
    // Amplify deployments cut after `CreateDeployment` or the upload, before `StartDeployment`:
    // the job exists and will never start, so the flow counts as interrupted even when its last
    // call completed.
    let mut deploying: BTreeMap<Address, Call> = BTreeMap::new();
    for entry in &entries[1..] {
        match entry {
            JournalEntry::Header { .. } => {}
            JournalEntry::Started {
                operation,
                address,
                call,
                snapshot,
            } => {
                if call.precedes_amplify_start() {
                    deploying.insert(address.clone(), *call);
                } else {
                    deploying.remove(address);
                }
                started.push((
                    *operation,
                    Interrupted {
                        address: address.clone(),
                        call: *call,
                        snapshot: snapshot.clone(),
                    },
                ));
            }
            JournalEntry::Completed { operation, effects } => {
                started.retain(|(id, _)| id != operation);
                apply(effects, &mut state, &mut report);
                report.completed += 1;
            }
            JournalEntry::Failed { operation } => started.retain(|(id, _)| id != operation),
            JournalEntry::Settled { address } => {
                started.retain(|(_, operation)| operation.address != *address);
                deploying.remove(address);
            }
            JournalEntry::Recorded { effects } => apply(effects, &mut state, &mut report),
        }
    }
    report.interrupted = started.into_iter().map(|(_, op)| op).collect();
    for (address, call) in deploying {
        if !report.interrupted.iter().any(|op| op.address == address) {
            report.interrupted.push(Interrupted {
                address,
                call,
                snapshot: None,
            });
        }
    }
    Ok((state, report))
}

/// The journal's lines as written, before each call's name is matched with its service.
mod wire {
    use serde::Deserialize;
    use stagecraft_config::Address;

    use super::{Call, Effect, JournalEntry, SnapshotMarker};

    /// [`JournalEntry`] with the call as its string.
    #[derive(Deserialize)]
    #[serde(tag = "entry", rename_all = "snake_case")]
    pub(super) enum JournalLine {
        Header {
            lineage: String,
            serial: Option<u64>,
            project: String,
        },
        Started {
            operation: u64,
            address: Address,
            call: String,
            #[serde(default)]
            snapshot: Option<SnapshotMarker>,
        },
        Completed {
            operation: u64,
            effects: Vec<Effect>,
        },
        Failed {
            operation: u64,
        },
        Settled {
            address: Address,
        },
        Recorded {
            effects: Vec<Effect>,
        },
    }

    /// A `started` line naming a call its resource's service does not make.
    #[derive(Debug, thiserror::Error)]
    #[error("{call:?} is not a call made on {address}")]
    pub(super) struct ForeignCall {
        call: String,
        address: Address,
    }

    impl TryFrom<JournalLine> for JournalEntry {
        type Error = ForeignCall;

        fn try_from(line: JournalLine) -> Result<JournalEntry, ForeignCall> {
            Ok(match line {
                JournalLine::Header {
                    lineage,
                    serial,
                    project,
                } => JournalEntry::Header {
                    lineage,
                    serial,
                    project,
                },
                JournalLine::Started {
                    operation,
                    address,
                    call,
                    snapshot,
                } => {
                    let Some(call) = Call::named(address.kind(), &call) else {
                        return Err(ForeignCall { call, address });
                    };
                    JournalEntry::Started {
                        operation,
                        address,
                        call,
                        snapshot,
                    }
                }
                JournalLine::Completed { operation, effects } => {
                    JournalEntry::Completed { operation, effects }
                }
                JournalLine::Failed { operation } => JournalEntry::Failed { operation },
                JournalLine::Settled { address } => JournalEntry::Settled { address },
                JournalLine::Recorded { effects } => JournalEntry::Recorded { effects },
            })
        }
    }
}

#[cfg(test)]
mod tests;
