//! `stagecraft rollout status|resume|pause|abort|promote` (docs/behaviour.md, "Rollouts"):
//! each takes the state lock and folds in what an interrupted run left in the journal first,
//! as apply does; `resume`, `abort` and `promote` then run the engine's `rollout` with the
//! AWS provider. `rollout/status.rs` renders `status`, `rollout/write_config.rs` is
//! `promote --write-config`'s edit of the configuration file.

mod status;
mod write_config;

use std::sync::Arc;

use miette::Report;
use stagecraft_config::Address;
use stagecraft_core::apply::{
    self, ApplyOptions, Artifacts, Context, Event, Package, PackageError,
    RolloutCommand as Command, RolloutEnd, RolloutResult, SensitiveValues,
};
use stagecraft_core::plan::PlannedArtifact;
use stagecraft_core::state::{CanaryState, PausedBy, ResourceState, RolloutStatus, State};

use crate::args::RolloutCommand;
use crate::aws::{self, AwsSettings};
use crate::backend::{Backend, StateLock};
use crate::clock::SystemClock;
use crate::commands::apply::{close_journal, open_journal};
use crate::load::{Loaded, SecretMode, load};
use crate::recovery::recover;
use crate::settings::Settings;
use crate::{EXIT_FAILURE, EXIT_OK};

/// `stagecraft rollout ...`.
pub fn run(settings: &Settings, command: &RolloutCommand) -> Result<u8, Report> {
    let (loaded, _) = load(settings, SecretMode::Skip)?;
    let aws = AwsSettings::new(&settings.aws, &loaded.config);
    let backend = Backend::for_config(&loaded, &aws)?;
    let lock = Arc::new(backend.lock("rollout", settings.lock_timeout)?);
    let (state, in_doubt) = recover(&backend, &lock, backend.read()?)?;
    let drive = |state: State, command: &Command| {
        engine(
            settings,
            &loaded,
            &aws,
            (&backend, &lock),
            state,
            &in_doubt,
            command,
        )
    };
    match command {
        RolloutCommand::Status { json } => {
            let state = state.unwrap_or_else(|| State::new("", String::new()));
            let now = stagecraft_core::apply::WallClock::now(&SystemClock);
            if *json {
                println!("{}", status::json(&state, now));
            } else {
                print!("{}", status::text(&state, now));
            }
            Ok(EXIT_OK)
        }
        RolloutCommand::Pause { address } => {
            let address = parse(address)?;
            let mut state = state.ok_or_else(no_state)?;
            let (canary, rollout) = rollout_of(&state, &address)?;
            let step = match rollout.status {
                RolloutStatus::Baking { step } | RolloutStatus::Paused { step, .. } => step,
                _ => {
                    return Err(miette::miette!(
                        code = "rollout::not_active",
                        "the rollout of {address} is {}: there is nothing to pause",
                        rollout.status.name()
                    ));
                }
            };
            let paused = apply::paused(&rollout, PausedBy::Operator);
            state.resources.insert(
                address.clone(),
                ResourceState::Canary(CanaryState {
                    rollout: Some(paused),
                    ..canary
                }),
            );
            state.serial += 1;
            backend.write(&state, &lock)?;
            println!(
                "Paused {address} at step {}/{}; `stagecraft rollout resume {address}` resumes it.",
                step + 1,
                rollout.schedule.steps.len()
            );
            Ok(EXIT_OK)
        }
        RolloutCommand::Resume { addresses, wait } => {
            let addresses = addresses
                .iter()
                .map(|address| parse(address))
                .collect::<Result<Vec<_>, _>>()?;
            let state = state.ok_or_else(no_state)?;
            for address in &addresses {
                rollout_of(&state, address)?;
            }
            let command = Command::Resume {
                addresses,
                wait: *wait,
            };
            drive(state, &command)
        }
        RolloutCommand::Abort { address } => {
            let address = parse(address)?;
            let state = state.ok_or_else(no_state)?;
            rollout_of(&state, &address)?;
            let command = Command::Abort(address);
            drive(state, &command)
        }
        RolloutCommand::Promote {
            address,
            write_config,
        } => {
            let address = parse(address)?;
            let state = state.ok_or_else(no_state)?;
            let (canary, _) = rollout_of(&state, &address)?;
            let command = Command::Promote(address.clone());
            let code = drive(state, &command)?;
            if code == EXIT_OK && *write_config {
                write_config::promote(settings, &address, &canary.revision)?;
            }
            Ok(code)
        }
    }
}

/// Runs the engine's `rollout` command with the AWS provider, records the state, prints each
/// rollout's end; the exit code is 1 when one rolled back or failed.
fn engine(
    settings: &Settings,
    loaded: &Loaded,
    aws: &AwsSettings,
    (backend, lock): (&Backend, &Arc<StateLock>),
    state: State,
    in_doubt: &[apply::Interrupted],
    command: &Command,
) -> Result<u8, Report> {
    let runtime = aws::runtime()?;
    let provider = aws::provider(aws, &runtime)?;
    let (journal, interrupt) = open_journal(&runtime, backend, lock)?;
    let options = ApplyOptions::new(&loaded.config.aws, settings.parallelism, aws.lane());
    let sensitive = SensitiveValues::default();
    let sink = |_: Event| {};
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let ctx = Context {
        provider: &provider,
        journal: journal.as_ref(),
        artifacts: &NoArtifacts,
        events: &sink,
        sensitive: &sensitive,
        in_doubt,
        options: &options,
        interrupt: &interrupt,
        run_id: &run_id,
        clock: &SystemClock,
    };
    let prior_serial = state.serial;
    let report = runtime.block_on(apply::rollout(command, state, &ctx));
    if report.changed {
        let mut state = report.state.clone();
        state.serial = prior_serial + 1;
        backend.write(&state, lock)?;
    }
    close_journal(backend, lock, &report.state, &report, in_doubt)?;
    if let Some(error) = &report.journal_error {
        eprintln!("Error: {error}");
    }
    if report.rollouts.is_empty() {
        println!("No rollout to resume.");
    }
    print_results(&report.rollouts);
    Ok(if report.succeeded() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// Whether the state has a rollout apply drives (baking, or paused by an interrupt).
pub(crate) fn has_due(state: &State) -> bool {
    state.resources.values().any(|record| {
        matches!(
            record,
            ResourceState::Canary(CanaryState { rollout: Some(rollout), .. })
                if matches!(
                    rollout.status,
                    RolloutStatus::Baking { .. }
                        | RolloutStatus::Paused { by: PausedBy::Interrupt, .. }
                )
        )
    })
}

/// One line per rollout: where it was left; rollbacks and failures on stderr.
pub(crate) fn print_results(results: &[RolloutResult]) {
    for result in results {
        let address = &result.address;
        match &result.end {
            RolloutEnd::Baking {
                step,
                percent,
                left_ms,
            } => println!(
                "{address}: baking step {} at {percent}%, {} left; `stagecraft rollout resume` goes on",
                step + 1,
                stagecraft_core::plan::human_duration(*left_ms)
            ),
            RolloutEnd::Paused { step, by } => println!(
                "{address}: paused at step {} (by {by}); `stagecraft rollout resume{}` resumes it",
                step + 1,
                match by {
                    PausedBy::Operator => format!(" {address}"),
                    PausedBy::Interrupt => String::new(),
                }
            ),
            RolloutEnd::AwaitingPromotion => println!(
                "{address}: every step baked; `stagecraft rollout promote {address}` promotes it"
            ),
            RolloutEnd::Promoted => println!("{address}: promoted"),
            RolloutEnd::Aborted => println!("{address}: aborted, the canary removed"),
            RolloutEnd::RolledBack {
                step,
                percent,
                alarm,
                reason,
            } => eprintln!(
                "Error: {address}: rolled back at step {} ({percent}%): alarm {alarm} is in ALARM: {reason}",
                step + 1
            ),
            RolloutEnd::Failed { error } => eprintln!("Error: {address}: {error}"),
        }
    }
}

fn parse(address: &str) -> Result<Address, Report> {
    Address::parse(address).map_err(|error| {
        miette::miette!(
            code = "rollout::address",
            "`{address}` is not an address: {error}"
        )
    })
}

fn no_state() -> Report {
    miette::miette!(
        code = "rollout::no_state",
        help = "`stagecraft apply` starts a rollout",
        "there is no state yet"
    )
}

fn rollout_of(
    state: &State,
    address: &Address,
) -> Result<(CanaryState, stagecraft_core::state::RolloutState), Report> {
    if let Some(ResourceState::Canary(canary)) = state.resources.get(address)
        && let Some(rollout) = &canary.rollout
    {
        return Ok((canary.clone(), rollout.clone()));
    }
    Err(miette::miette!(
        code = "rollout::unknown",
        help = "`stagecraft rollout status` lists the rollouts in the state",
        "{address} has no rollout in the state"
    ))
}

/// Rollout commands package nothing.
struct NoArtifacts;

impl Artifacts for NoArtifacts {
    fn package(&self, artifact: &PlannedArtifact) -> Result<Package, PackageError> {
        Err(PackageError::Packaging(
            format!("a rollout command packages no artifact ({})", artifact.path).into(),
        ))
    }
}
