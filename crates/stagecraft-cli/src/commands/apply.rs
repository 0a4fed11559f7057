//! `stagecraft apply`: fold in what an interrupted run left in the journal (`recovery.rs`), plan
//! (or load a saved plan and check it is still current), confirm, execute through the AWS
//! provider with a line per resource (`apply/progress.rs`), and record the state.

mod json_progress;
mod progress;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{IntoDiagnostic, Report, WrapErr};
use stagecraft_core::apply::{
    self, ApplyOptions, ApplyReport, Artifacts, Context, Event, Interrupt, Interrupted, Outcome,
    Package, PackageError, SensitiveValues,
};
use stagecraft_core::plan::{Plan, PlannedArtifact};
use stagecraft_core::render;
use stagecraft_core::state::State;

use crate::args::ApplyArgs;
use crate::aws::{self, AwsSettings};
use crate::backend::{Backend, FileJournal, StateLock};
use crate::commands::plan::{PlanRequest, Selection, build_plan, plan_mode};
use crate::json_ui::{self, View};
use crate::load::{Loaded, SecretMode, load};
use crate::recovery::recover;
use crate::settings::Settings;
use crate::{EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, refresh};
use json_progress::JsonProgress;
use progress::Progress;

/// A saved plan, refused when the state or the configuration moved on since it was made.
fn saved_plan(
    file: &Path,
    loaded: &Loaded,
    state: Option<&State>,
    config_digest: &str,
) -> Result<Plan, Report> {
    let text = std::fs::read_to_string(file)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read saved plan {}", file.display()))?;
    let plan = Plan::from_json(&text)
        .map_err(|message| miette::miette!("{} is not a saved plan: {message}", file.display()))?;
    let stale = |why: String| {
        miette::miette!(
            code = "apply::stale_plan",
            help = "make a new plan with `stagecraft plan --out FILE` and review it",
            "the saved plan {} is stale: {why}",
            file.display()
        )
    };
    if plan.project != loaded.config.project.name {
        return Err(stale(format!("it is for project {}", plan.project)));
    }
    match state {
        Some(state) if state.lineage != plan.lineage => {
            return Err(stale(format!(
                "it was made for state lineage {}, but the state has lineage {}",
                plan.lineage, state.lineage
            )));
        }
        Some(state) if plan.prior_serial != Some(state.serial) => {
            return Err(stale(match plan.prior_serial {
                Some(serial) => format!(
                    "the state changed since (serial {serial} then, {} now)",
                    state.serial
                ),
                None => "it was made before any state existed, and now one does".to_string(),
            }));
        }
        None if plan.prior_serial.is_some() => {
            return Err(stale(
                "the state it was made against no longer exists".to_string(),
            ));
        }
        _ => {}
    }
    if plan.config_digest != config_digest {
        return Err(stale(
            "the configuration, an input variable or an artifact changed since".to_string(),
        ));
    }
    Ok(plan)
}

/// Asks for `yes` on the terminal.
fn confirm() -> Result<bool, Report> {
    if !std::io::stdin().is_terminal() {
        return Err(miette::miette!(
            code = "apply::no_terminal",
            help = "review the plan, then run `stagecraft apply --auto-approve` (or apply a saved plan)",
            "refusing to apply without confirmation: input is not a terminal"
        ));
    }
    print!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush().into_diagnostic()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .into_diagnostic()?;
    println!();
    Ok(answer.trim() == "yes")
}

/// Zips artifacts from the configuration's folder.
struct DiskArtifacts {
    base: PathBuf,
}

impl Artifacts for DiskArtifacts {
    fn package(&self, artifact: &PlannedArtifact) -> Result<Package, PackageError> {
        let packaged = crate::artifact::package(&self.base, &artifact.path)
            .map_err(|error| PackageError::Packaging(Box::new(error)))?;
        Ok(Package {
            path: packaged.path().to_path_buf(),
            size: packaged.size(),
            digest: packaged.digest().to_string(),
            keep: Box::new(packaged),
        })
    }
}

/// `stagecraft apply [PLAN]`.
pub fn run(settings: &Settings, args: &ApplyArgs) -> Result<u8, Report> {
    let view = View::of(args.json);
    if view == View::Json && !args.auto_approve && args.plan_file.is_none() {
        // Terraform's rule: a JSON stream cannot ask for `yes`.
        return Err(miette::miette!(
            code = "apply::json_needs_approval",
            help = "run `stagecraft apply --json --auto-approve`, or apply a saved plan: `stagecraft apply --json plan.out`",
            "apply --json cannot ask for confirmation: it needs --auto-approve or a saved plan"
        ));
    }
    let (loaded, secrets) = load(settings, SecretMode::Read)?;
    let artifacts = loaded.artifact_digests()?;
    let aws = AwsSettings::new(&settings.aws, &loaded.config);
    let backend = Backend::for_config(&loaded, &aws)?;
    let lock = Arc::new(backend.lock("apply", settings.lock_timeout)?);
    let (mut state, mut in_doubt) = recover(&backend, &lock, backend.read()?)?;

    let runtime = aws::runtime()?;
    let provider = aws::provider(&aws, &runtime)?;
    // The refresh's and the imports' reads share one bucket, as the calls of one lane.
    let reads = aws::paced_reads(&aws, &loaded.config, &provider);
    // Until the executor starts, Ctrl-C releases the lock (an S3 lock object would otherwise
    // stay behind) and exits; the executor's own handling replaces this one.
    let early_interrupt = runtime.spawn({
        let lock = lock.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                lock.release();
                eprintln!("\nInterrupted before anything was applied.");
                std::process::exit(EXIT_INTERRUPTED.into());
            }
        }
    });
    if args.refresh
        && let Some(recorded) = &state
    {
        // What AWS reports is the truth: recorded before planning, drift shown.
        let (mut fresh, drifts) =
            runtime.block_on(refresh::refresh(&reads, &loaded.config, recorded))?;
        if !drifts.is_empty() {
            let drift = stagecraft_core::render::drift(&drifts);
            match view {
                View::Human => print!("{drift}"),
                View::Json => eprint!("{drift}"),
            }
            fresh.serial = recorded.serial + 1;
            backend.write(&fresh, &lock)?;
            state = Some(fresh);
        }
        // Everything was read back: nothing is in doubt any more.
        in_doubt.clear();
        backend.remove_journal(&lock)?;
    }
    let plan = match &args.plan_file {
        Some(file) => saved_plan(
            file,
            &loaded,
            state.as_ref(),
            &loaded.config_digest(&artifacts),
        )?,
        None => {
            let selection = Selection::parse(&args.targets, &args.replace, &args.exclude)?;
            let mode = plan_mode(args.destroy);
            let pending = crate::imports::pending(&loaded, state.as_ref(), mode);
            let imported = if pending.is_empty() {
                Default::default()
            } else {
                runtime.block_on(crate::imports::read(&reads, &loaded, &pending))?
            };
            let plan = build_plan(
                &loaded,
                &secrets,
                state.as_ref(),
                &PlanRequest {
                    selection: &selection,
                    mode,
                    region: aws.region(),
                    artifacts: &artifacts,
                    imports: &imported,
                },
            )?;
            selection.warn();
            if plan.has_changes() && view == View::Human {
                let style = render::TextStyle {
                    color: settings.color,
                };
                print!("{}", render::text(&plan, style));
                if !args.auto_approve && !confirm()? {
                    println!("Apply cancelled: nothing was changed.");
                    return Ok(EXIT_FAILURE);
                }
            }
            plan
        }
    };
    if view == View::Json {
        json_ui::emit_all(&render::json_ui::plan_events(&plan));
    }
    // Rollouts in the state are driven even when the plan has no change (docs/behaviour.md,
    // "Rollouts").
    let rollouts_due = !args.no_wait
        && state
            .as_ref()
            .is_some_and(crate::commands::rollout::has_due);
    if !plan.has_changes() && !rollouts_due {
        // Operations in doubt stay carried (in the journal) until their resource is applied or
        // refreshed.
        let outputs = state.map(|state| state.outputs).unwrap_or_default();
        match view {
            View::Human => {
                println!("No changes. AWS matches the configuration.");
                print!("{}", render::outputs(&outputs));
            }
            View::Json => json_ui::emit_all(&[
                render::json_ui::apply_summary(&plan, Default::default(), true),
                render::json_ui::applied_outputs(&outputs),
            ]),
        }
        return Ok(EXIT_OK);
    }

    early_interrupt.abort();
    let (journal, interrupt) = open_journal(&runtime, &backend, &lock)?;
    let progress = (view == View::Human).then(|| Progress::new(plan.changes.len()));
    let json_progress = JsonProgress::new(&plan);
    let sink = |event: Event| match &progress {
        Some(progress) => progress.event(event),
        None => json_progress.event(event),
    };
    let sensitive = SensitiveValues::new(&loaded.config, &secrets);
    let mut options = ApplyOptions::new(&loaded.config.aws, settings.parallelism, aws.lane());
    options.job_timeout = settings.job_timeout;
    options.wait_rollouts = !args.no_wait;
    let prior_serial = state.as_ref().map(|state| state.serial);
    // The nonce of this run's snapshot markers (docs/behaviour.md, "Snapshots and revisions").
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let ctx = Context {
        provider: &provider,
        journal: journal.as_ref(),
        artifacts: &DiskArtifacts {
            base: loaded.base.clone(),
        },
        events: &sink,
        sensitive: &sensitive,
        in_doubt: &in_doubt,
        options: &options,
        interrupt: &interrupt,
        run_id: &run_id,
        clock: &crate::clock::SystemClock,
    };
    let report = runtime.block_on(apply::apply(&plan, state, &ctx));
    if let Some(progress) = &progress {
        progress.finish();
    }
    save(
        &backend,
        &lock,
        report,
        prior_serial,
        &in_doubt,
        interrupt.is_set(),
        (&plan, view),
    )
}

/// Records the state and prints the summary.
fn save(
    backend: &Backend,
    lock: &StateLock,
    report: ApplyReport,
    prior_serial: Option<u64>,
    in_doubt: &[Interrupted],
    interrupted: bool,
    (plan, view): (&Plan, View),
) -> Result<u8, Report> {
    let counts = report.counts();
    let succeeded = report.succeeded();
    let mut state = report.state.clone();
    if report.changed {
        state.serial = prior_serial.map_or(1, |serial| serial + 1);
        backend.write(&state, lock)?;
    }
    close_journal(backend, lock, &state, &report, in_doubt)?;
    if view == View::Json {
        let report = ApplyReport { state, ..report };
        json_ui::emit_all(&render::json_ui::apply_end_events(plan, &report));
        return Ok(if succeeded { EXIT_OK } else { EXIT_FAILURE });
    }
    let counts = render::json_ui::applied_words(&counts);
    crate::commands::rollout::print_results(&report.rollouts);
    if succeeded {
        println!("\nApply complete! Resources: {counts}.");
        print!("{}", render::outputs(&state.outputs));
        return Ok(EXIT_OK);
    }
    println!("\nApply incomplete. Resources: {counts}.");
    if let Some(error) = &report.journal_error {
        eprintln!("Error: {error}");
    }
    let mut not_started = 0;
    for result in &report.results {
        match &result.outcome {
            Outcome::Failed { error } => eprintln!("Error: {}: {error}", result.address),
            Outcome::Skipped { cause } => eprintln!(
                "  {} was not applied because {cause} failed",
                result.address
            ),
            Outcome::NotStarted => not_started += 1,
            Outcome::Applied => {}
        }
    }
    if not_started > 0 {
        eprintln!(
            "{not_started} change(s) not started{}; run apply again to finish.",
            if interrupted {
                " after the interrupt"
            } else {
                ""
            }
        );
    }
    Ok(EXIT_FAILURE)
}

/// Operations still in doubt stay in the journal for the next run; everything else is in the
/// state now. In doubt: those carried from an earlier run, and this run's own calls whose last
/// attempt timed out or met a 5xx (journaled `Started`, never ended), unless a later change of
/// their resource was applied, or its rollout driven (either read it back).
pub(crate) fn close_journal(
    backend: &Backend,
    lock: &StateLock,
    state: &State,
    report: &ApplyReport,
    in_doubt: &[Interrupted],
) -> Result<(), Report> {
    let mut open = match backend.read_journal()? {
        Some(entries) => apply::replay(Some(state.clone()), &entries)?.1.interrupted,
        None => Vec::new(),
    };
    for op in in_doubt {
        if !open
            .iter()
            .any(|known| known.address == op.address && known.call == op.call)
        {
            open.push(op.clone());
        }
    }
    let still: Vec<Interrupted> =
        open.iter()
            .filter(|op| {
                !report.results.iter().any(|result| {
                    result.address == op.address && result.outcome == Outcome::Applied
                }) && !report.rollouts.iter().any(|result| {
                    result.address == op.address
                        && !matches!(result.end, apply::RolloutEnd::Failed { .. })
                })
            })
            .cloned()
            .collect();
    if still.is_empty() {
        backend.remove_journal(lock)?;
    } else {
        backend.carry_journal(&apply::carried(state, &still), lock)?;
    }
    Ok(())
}

/// The run's journal, opened under `lock`, and its Ctrl-C: watched from now on (the first stops
/// what has not begun, the second folds the journal into the state and exits).
pub(crate) fn open_journal(
    runtime: &tokio::runtime::Runtime,
    backend: &Backend,
    lock: &Arc<StateLock>,
) -> Result<(Arc<FileJournal>, Arc<Interrupt>), Report> {
    let journal = Arc::new(backend.create_journal(lock)?);
    let interrupt = Arc::new(Interrupt::default());
    runtime.spawn(watch_interrupts(
        interrupt.clone(),
        backend.clone(),
        lock.clone(),
        journal.clone(),
    ));
    Ok((journal, interrupt))
}

/// First Ctrl-C: start nothing new. Second: fold the journal into the state and exit.
async fn watch_interrupts(
    interrupt: Arc<Interrupt>,
    backend: Backend,
    lock: Arc<StateLock>,
    journal: Arc<FileJournal>,
) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    interrupt.trigger();
    eprintln!(
        "\nInterrupt received: finishing the operations in flight and starting nothing new. \
         Press Ctrl-C again to save the state and exit at once."
    );
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    // From here nothing more is journaled, so nothing more is sent.
    journal.close();
    let saved = backend
        .read()
        .map_err(Report::new)
        .and_then(|state| recover(&backend, &lock, state));
    match saved {
        Ok(_) => eprintln!("State saved; operations in flight are reported on the next run."),
        Err(report) => eprintln!("{report:?}"),
    }
    lock.release();
    std::process::exit(EXIT_INTERRUPTED.into());
}
