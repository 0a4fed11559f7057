//! The apply executor: walks a plan's changes in dependency order, up to `parallelism` at a
//! time, making each change's AWS calls through the [`Provider`] on the quota-aware schedule,
//! journaling every call before and after it is made, and reporting progress as [`Event`]s. It
//! never prints and never touches files: the journal, the artifact packager and the event sink
//! are the caller's.

mod branch;
mod bucket;
mod canary;
mod clock;
mod effects;
mod error;
#[cfg(test)]
mod fake;
mod import;
mod journal;
mod outputs;
mod patch;
mod protocol;
mod reads;
pub mod record;
mod rollout;
mod schedule;
mod snapshot;
mod stage;
mod values;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use stagecraft_config::{Address, AwsSettings, Config, Secret, Secrets, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

pub use clock::{TokioClock, WallClock};
pub use error::{
    ApplyError, ExistingBranch, ExistingStage, JobOwner, JournalFailed, JournalWriteError,
    PackageError,
};
pub use journal::{
    Call, Effect, Interrupted, JournalEntry, JournalError, Replay, Service, SnapshotMarker,
    carried, parse, replay,
};
pub use reads::PacedReads;
pub use rollout::{RolloutCommand, RolloutEnd, RolloutError, RolloutResult, paused, rollout};

use crate::plan::{Action, Change, ChangeKind, Counts, Desired, Plan, PlannedArtifact};
use crate::provider::{Provider, ProviderError};
use crate::state::{ResourceState, Site, State, digest_matches};
use schedule::Schedule;
pub use schedule::{Lane, RequestRate};

/// Amplify runs at most this many jobs at once per account (AWS's quota).
const AMPLIFY_CONCURRENT_JOBS: usize = 5;

/// How apply paces and bounds its work.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Changes worked on at once.
    pub parallelism: usize,
    /// At most one `CreateDeployment` per interval (account and region).
    pub create_deployment_interval: Duration,
    /// API Gateway's request rate per lane: every API Gateway call takes a token.
    pub request_rate: RequestRate,
    /// CloudWatch `DescribeAlarms`' request rate per lane: every CloudWatch call (a rollout's
    /// alarm reads) takes a token of a bucket of its own, never one of API Gateway's.
    pub alarm_request_rate: RequestRate,
    /// The account and region this run's calls count against (one per apply today).
    pub lane: Lane,
    /// Attempts per call, retries included.
    pub max_attempts: u32,
    /// The first retry's delay (doubled each attempt, half of it jittered).
    pub retry_base: Duration,
    /// The longest delay between retries.
    pub retry_cap: Duration,
    /// The first delay between polls of a cache or an Amplify job (grows to ten times this).
    pub poll_interval: Duration,
    /// How long a cache may take to settle.
    pub cache_timeout: Duration,
    /// How long an Amplify job (ours, or an unfinished one found first) may take.
    pub job_timeout: Duration,
    /// Whether apply drives the rollouts in the state to their end after the plan's changes
    /// (`false`: `apply --no-wait`, which only starts them).
    pub wait_rollouts: bool,
}

impl ApplyOptions {
    /// The options for a configuration's `[aws]` settings, calling AWS in `lane`.
    pub fn new(aws: &AwsSettings, parallelism: usize, lane: Lane) -> ApplyOptions {
        ApplyOptions {
            parallelism: parallelism.max(1),
            create_deployment_interval: aws.create_deployment_interval,
            request_rate: RequestRate {
                per_second: aws.requests_per_second,
                burst: aws.request_burst,
            },
            alarm_request_rate: RequestRate::DESCRIBE_ALARMS,
            lane,
            max_attempts: aws.max_attempts,
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(20),
            poll_interval: Duration::from_secs(1),
            cache_timeout: Duration::from_secs(30 * 60),
            job_timeout: Duration::from_secs(30 * 60),
            wait_rollouts: true,
        }
    }
}

/// Where journal entries go. `append` returns only once the entry is durable.
pub trait Journal: Send + Sync {
    /// Appends one entry durably.
    fn append(&self, entry: &JournalEntry) -> Result<(), JournalWriteError>;
}

/// An artifact zipped for upload.
pub struct Package {
    /// The zip file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The content digest of what was zipped (compared with the plan's).
    pub digest: String,
    /// Whatever keeps the file alive (a temporary file), dropped after the upload.
    pub keep: Box<dyn std::any::Any + Send + Sync>,
}

/// Zips build output for Amplify.
pub trait Artifacts: Send + Sync {
    /// Packages the artifact the plan names.
    fn package(&self, artifact: &PlannedArtifact) -> Result<Package, PackageError>;
}

/// Set once to stop starting changes (Ctrl-C); in-flight changes finish.
#[derive(Debug, Default)]
pub struct Interrupt {
    set: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    /// Asks the executor to start nothing more.
    pub fn trigger(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether it was triggered.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// The clear text of every sensitive value, found by the digest the plan holds for it: a value
/// is sent only while it still has that digest, so a secret that changed since the plan was made
/// is refused, not sent.
#[derive(Debug, Default)]
pub struct SensitiveValues {
    /// `{ env = NAME }` values, by `NAME`.
    by_env: BTreeMap<String, Secret>,
    /// Basic-auth passwords written in the file, by branch.
    passwords: BTreeMap<Address, Secret>,
}

impl SensitiveValues {
    /// Every `{ env = ... }` value and every basic-auth password written in `config`.
    pub fn new(config: &Config, secrets: &Secrets) -> SensitiveValues {
        let mut by_env = BTreeMap::new();
        for (_, configured) in config.values() {
            if let Some(key) = configured.value.secret_key()
                && let Some(secret) = secrets.get(&key)
            {
                by_env.insert(key, Secret::new(secret.expose().to_string()));
            }
        }
        let mut passwords = BTreeMap::new();
        for (app_key, app) in &config.amplify_apps {
            for (branch_key, branch) in &app.branches {
                if let Some(auth) = &branch.basic_auth
                    && let Value::Text(template) = &auth.password
                    && let Some(text) = template.as_literal()
                {
                    let address = Address::Branch {
                        app: app_key.clone(),
                        branch: branch_key.clone(),
                    };
                    passwords.insert(address, Secret::new(text.to_string()));
                }
            }
        }
        SensitiveValues { by_env, passwords }
    }

    /// The clear text of the value the plan digested as `digest` at `site`, read from `$env`
    /// (no `env`: the password written in the file for the branch), while it has that digest.
    fn get(&self, site: Site<'_>, env: &str, digest: &str) -> Option<&str> {
        let secret = if env.is_empty() {
            self.passwords.get(site.address)?
        } else {
            self.by_env.get(env)?
        };
        digest_matches(digest, site, secret.expose()).then(|| secret.expose())
    }
}

/// Progress, for the caller to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A change started.
    Started {
        /// The resource.
        address: Address,
        /// Its actions.
        actions: Vec<Action>,
    },
    /// Something worth a line while a change runs (waiting for a cache or a job).
    Progress {
        /// The resource.
        address: Address,
        /// What is happening.
        message: String,
    },
    /// A call failed in a way AWS says to retry; it will be retried.
    Retrying {
        /// The resource.
        address: Address,
        /// The AWS call.
        call: Call,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// The attempts allowed.
        max_attempts: u32,
        /// AWS's error.
        error: ProviderError,
        /// The pause before the next attempt.
        delay: Duration,
    },
    /// A change ended.
    Finished {
        /// The resource.
        address: Address,
        /// Its actions.
        actions: Vec<Action>,
        /// How it ended.
        outcome: Outcome,
        /// Time since it started.
        elapsed: Duration,
    },
}

/// How a change ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Applied,
    /// A call failed for good; AWS's message.
    Failed {
        /// What failed and why.
        error: String,
    },
    /// Not attempted because something it depends on failed.
    Skipped {
        /// The failed dependency.
        cause: Address,
    },
    /// Not started because apply was interrupted (or could not journal).
    NotStarted,
}

/// One change's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeResult {
    /// The resource.
    pub address: Address,
    /// What the change does to its resource as a whole.
    pub kind: ChangeKind,
    /// Whether the change imports its resource (whatever else it does).
    pub imported: bool,
    /// How it ended.
    pub outcome: Outcome,
}

/// What apply did.
#[derive(Debug)]
pub struct ApplyReport {
    /// The state after apply: every completed call's effects (the journal holds the same).
    pub state: State,
    /// Every change of the plan, in plan order.
    pub results: Vec<ChangeResult>,
    /// Whether the state differs from the one apply started from.
    pub changed: bool,
    /// Set when the journal could not be written: apply stopped at once.
    pub journal_error: Option<JournalFailed>,
    /// Each rollout driven, and where it ended (docs/behaviour.md, "Rollouts").
    pub rollouts: Vec<RolloutResult>,
}

impl ApplyReport {
    /// Counts of applied changes by kind.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for result in &self.results {
            if result.outcome != Outcome::Applied {
                continue;
            }
            if result.imported && result.kind != ChangeKind::Import {
                counts.import += 1;
            }
            counts.count(result.kind);
        }
        counts
    }

    /// Whether every change was applied and no rollout rolled back or failed.
    pub fn succeeded(&self) -> bool {
        self.journal_error.is_none()
            && self
                .results
                .iter()
                .all(|result| result.outcome == Outcome::Applied)
            && !self.rollouts.iter().any(|result| result.end.is_failure())
    }
}

/// Everything apply works with besides the plan and the state.
pub struct Context<'a> {
    /// The AWS calls.
    pub provider: &'a dyn Provider,
    /// Durable record of calls.
    pub journal: &'a dyn Journal,
    /// Zips artifacts.
    pub artifacts: &'a dyn Artifacts,
    /// Progress.
    pub events: &'a (dyn Fn(Event) + Send + Sync),
    /// Clear text of sensitive values.
    pub sensitive: &'a SensitiveValues,
    /// Operations of earlier runs that may or may not have reached AWS: their resources are
    /// read back before a create, promotion or Amplify deployment is made again.
    pub in_doubt: &'a [Interrupted],
    /// Pacing and bounds.
    pub options: &'a ApplyOptions,
    /// Ctrl-C.
    pub interrupt: &'a Interrupt,
    /// A short id of this run, unique enough never to repeat (the CLI draws it at random): with
    /// a counter, the nonce in each snapshot's marker (the engine draws no randomness itself).
    pub run_id: &'a str,
    /// The time of day, for the timestamps a rollout records (the engine reads no clock).
    pub clock: &'a dyn WallClock,
}

/// The state of one run, shared by the changes in flight.
struct Run<'a> {
    ctx: &'a Context<'a>,
    plan: &'a Plan,
    schedule: Schedule,
    state: Mutex<State>,
    operations: AtomicU64,
    journal_error: Mutex<Option<JournalFailed>>,
    /// Amplify's quota of concurrent jobs per account.
    amplify_jobs: tokio::sync::Semaphore,
    /// Changes that have sent a mutating call (after Ctrl-C, only these go on).
    begun: Mutex<BTreeSet<Address>>,
    /// Per REST API: held while finding or making a revision's snapshot.
    revision_locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Per Amplify app: its default domain, read once a run (`GetApp`), for branch URLs.
    app_domains: Mutex<BTreeMap<String, Arc<tokio::sync::OnceCell<String>>>>,
    /// Snapshots this run has begun, numbering their markers.
    snapshots: AtomicU64,
}

/// Applies `plan` to `state` (`None`: no state yet; one is made with the plan's lineage).
pub async fn apply(plan: &Plan, state: Option<State>, ctx: &Context<'_>) -> ApplyReport {
    let header = JournalEntry::Header {
        lineage: plan.lineage.clone(),
        serial: state.as_ref().map(|state| state.serial),
        project: plan.project.clone(),
    };
    let mut state = state.unwrap_or_else(|| State::new(&plan.project, plan.lineage.clone()));
    let initial = state.clone();
    // Moves and forgets first, with no AWS call (docs/behaviour.md, "Moves and removals"): the
    // changes are planned against the re-keyed state.
    plan.refactor(&mut state);
    let run = Run::new(ctx, plan, state);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.changes.len()];
    if let Err(error) = ctx.journal.append(&header) {
        *run.journal_error.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(JournalFailed(Arc::new(error)));
    } else {
        run.walk(&mut outcomes).await;
        run.record_outputs();
    }
    // Then the rollouts, started now or earlier (docs/behaviour.md, "Rollouts").
    let rollouts = if ctx.options.wait_rollouts && !run.journal_failed() {
        run.drive_all(&[], true).await
    } else {
        Vec::new()
    };

    let results = plan
        .changes
        .iter()
        .zip(outcomes)
        .map(|(change, outcome)| ChangeResult {
            address: change.address.clone(),
            kind: change.kind(),
            imported: change.imports(),
            outcome: outcome.unwrap_or(Outcome::NotStarted),
        })
        .collect();
    let state = run.state.into_inner().unwrap_or_else(|e| e.into_inner());
    ApplyReport {
        changed: state != initial,
        state,
        results,
        journal_error: run
            .journal_error
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
        rollouts,
    }
}

impl<'a> Run<'a> {
    fn new(ctx: &'a Context<'a>, plan: &'a Plan, state: State) -> Run<'a> {
        let options = ctx.options;
        Run {
            ctx,
            plan,
            schedule: Schedule::for_options(options),
            state: Mutex::new(state),
            operations: AtomicU64::new(0),
            journal_error: Mutex::new(None),
            revision_locks: Mutex::new(BTreeMap::new()),
            app_domains: Mutex::new(BTreeMap::new()),
            snapshots: AtomicU64::new(0),
            begun: Mutex::new(BTreeSet::new()),
            amplify_jobs: tokio::sync::Semaphore::new(AMPLIFY_CONCURRENT_JOBS),
        }
    }
}

impl Run<'_> {
    /// The scheduling loop: starts each change once its dependencies are applied.
    async fn walk(&self, outcomes: &mut [Option<Outcome>]) {
        let changes = &self.plan.changes;
        let index: BTreeMap<&Address, usize> = changes
            .iter()
            .enumerate()
            .map(|(i, change)| (&change.address, i))
            .collect();
        let mut waiting_on = vec![0usize; changes.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
        for (i, change) in changes.iter().enumerate() {
            for dependency in &change.depends_on {
                if let Some(&d) = index.get(dependency) {
                    waiting_on[i] += 1;
                    dependents[d].push(i);
                }
            }
        }
        let mut ready: VecDeque<usize> =
            (0..changes.len()).filter(|&i| waiting_on[i] == 0).collect();
        let mut running = FuturesUnordered::new();
        let parallelism = self.ctx.options.parallelism.max(1);
        loop {
            let stopping = self.ctx.interrupt.is_set() || self.journal_failed();
            while !stopping && running.len() < parallelism {
                let Some(i) = ready.pop_front() else { break };
                let change = &changes[i];
                (self.ctx.events)(Event::Started {
                    address: change.address.clone(),
                    actions: change.actions.clone(),
                });
                running.push(async move {
                    let started = Instant::now();
                    let result = self.change(change).await;
                    (i, result, started.elapsed())
                });
            }
            if running.is_empty() {
                break;
            }
            let finished = tokio::select! {
                finished = running.next() => finished,
                () = self.ctx.interrupt.wait(), if !self.ctx.interrupt.is_set() => continue,
            };
            let Some((i, result, elapsed)) = finished else {
                break;
            };
            let outcome = match result {
                Ok(()) => Outcome::Applied,
                Err(ApplyError::NotStarted) => Outcome::NotStarted,
                Err(error) => Outcome::Failed {
                    error: error.to_string(),
                },
            };
            (self.ctx.events)(Event::Finished {
                address: changes[i].address.clone(),
                actions: changes[i].actions.clone(),
                outcome: outcome.clone(),
                elapsed,
            });
            let applied = outcome == Outcome::Applied;
            outcomes[i] = Some(outcome);
            if applied && self.in_doubt(&changes[i].address).is_some() {
                // Best effort: if this cannot be written the run stops anyway.
                let _ = self.journal(&JournalEntry::Settled {
                    address: changes[i].address.clone(),
                });
            }
            if applied {
                for &d in &dependents[i] {
                    waiting_on[d] -= 1;
                    if waiting_on[d] == 0 && outcomes[d].is_none() {
                        ready.push_back(d);
                    }
                }
            } else {
                // Everything downstream is skipped (or, after an interrupt, not started);
                // nothing else is touched.
                let downstream = match &outcomes[i] {
                    Some(Outcome::NotStarted) => Outcome::NotStarted,
                    _ => Outcome::Skipped {
                        cause: changes[i].address.clone(),
                    },
                };
                let mut queue: VecDeque<usize> = dependents[i].iter().copied().collect();
                while let Some(d) = queue.pop_front() {
                    if outcomes[d].is_some() {
                        continue;
                    }
                    outcomes[d] = Some(downstream.clone());
                    queue.extend(dependents[d].iter().copied());
                }
            }
        }
    }

    fn journal_failed(&self) -> bool {
        self.journal_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Applies one change: resolves the values the plan deferred, then makes the calls of its
    /// kind (`stage.rs`, `canary.rs`, `branch.rs`).
    async fn change(&self, change: &Change) -> Result<(), ApplyError> {
        if change.imports() {
            // Recorded first, with no AWS call; the rest of the change starts from it.
            self.import(change)?;
            if change.actions.len() == 1 {
                return Ok(());
            }
        }
        let mut after = change.after.clone();
        if let Some(desired) = &mut after {
            desired
                .resolve_deferred(&|address, attribute| self.lookup(address, attribute))
                .map_err(|reference| ApplyError::UnknownReference { reference })?;
            if let Some(planned) = &change.after {
                values::check_resolved(planned, desired)?;
            }
        }
        match &after {
            Some(Desired::Stage(desired)) => self.stage(change, desired).await,
            Some(Desired::Canary(desired)) => self.canary(change, desired).await,
            Some(Desired::Branch(desired)) => self.branch(change, desired).await,
            None if change.actions.contains(&Action::Promote) => self.promote(change).await,
            None => self.delete(change).await,
        }
    }

    /// Deletes a resource: the record this run holds, or the one the plan saw.
    async fn delete(&self, change: &Change) -> Result<(), ApplyError> {
        let address = &change.address;
        let Some(record) = self.record_of(address).or_else(|| change.before.clone()) else {
            return Ok(());
        };
        match &record {
            ResourceState::Stage(stage) => self.delete_stage(address, stage).await,
            ResourceState::Canary(canary) => self.delete_canary(address, canary).await,
            ResourceState::Branch(branch) => self.delete_branch(address, branch).await,
        }
    }
}

#[cfg(test)]
mod tests;
