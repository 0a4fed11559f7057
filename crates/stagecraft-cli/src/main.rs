//! The stagecraft binary: the shell around the engine. It owns the terminal, the files, the
//! state backend, the lock and the exit codes; the engine computes and never prints.

mod apply;
mod args;
mod artifact;
mod backend;
mod load;
mod refresh;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use miette::{IntoDiagnostic, Report, WrapErr};
use stagecraft_config::{Address, StateSettings};
use stagecraft_core::plan::{Plan, PlanInput, PlanMode, plan};
use stagecraft_core::render;
use stagecraft_core::state::State;

use crate::args::{Cli, Command, Format, PlanArgs, StateCommand};
use crate::backend::{Backend, LocalBackend, S3Backend};
pub(crate) use crate::load::Loaded;
use crate::load::{SecretMode, load};

/// The allocator. A plan of 10,000 stages makes about a million small allocations, most of
/// them in the TOML and JSON parsers' trees; with the system allocator the heap also grows a
/// 4 KiB page fault at a time (some 20,000 faults, a fifth of the run). mimalloc takes memory
/// from the system in large spans and is cheaper per call (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code when `--detailed-exitcode` is given and the plan has changes.
const EXIT_CHANGES: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let color = use_color(&cli);
    miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .build(),
        )
    }))
    .ok();
    match run(&cli, color) {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}

/// Colour only on a terminal, never with `--no-color` or `NO_COLOR`.
fn use_color(cli: &Cli) -> bool {
    !cli.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && std::io::stdout().is_terminal()
}

fn run(cli: &Cli, color: bool) -> Result<u8, Report> {
    match &cli.command {
        Command::Validate => {
            let (loaded, _) = load(&cli.config, SecretMode::Skip)?;
            println!(
                "Success! {} is valid: {} resources.",
                cli.config.display(),
                loaded.config.addresses().len()
            );
            Ok(0)
        }
        Command::Plan(args) => plan_command(cli, args, color),
        Command::Apply(args) => apply::apply_command(cli, args, color),
        Command::Import { address } => refresh::import_command(cli, address),
        Command::Show { file, format } => {
            let text = std::fs::read_to_string(file)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read saved plan {}", file.display()))?;
            let plan = Plan::from_json(&text).map_err(|message| {
                miette::miette!("{} is not a saved plan: {message}", file.display())
            })?;
            print!("{}", render_plan(&plan, *format, color));
            Ok(0)
        }
        Command::State(command) => state_command(cli, command),
        Command::ForceUnlock { id } => {
            let backend = state_backend(cli)?;
            backend.force_unlock(id)?;
            println!("The state lock {id} has been released.");
            Ok(0)
        }
    }
}

fn render_plan(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Text => render::text(plan, render::TextStyle { color }),
        Format::Json => {
            let mut text = render::json(plan);
            text.push('\n');
            text
        }
        Format::Markdown => render::markdown(plan, render::MARKDOWN_LIMIT),
    }
}

/// The state backend the configuration names (the configuration must be valid).
fn state_backend(cli: &Cli) -> Result<Backend, Report> {
    let (loaded, _) = load(&cli.config, SecretMode::Skip)?;
    backend_for(cli, &loaded)
}

/// The backend of a loaded configuration. An S3 bucket's region is `[state] region`, else the
/// project's, else `--region`, else the AWS configuration chain's.
fn backend_for(cli: &Cli, loaded: &load::Loaded) -> Result<Backend, Report> {
    match &loaded.config.state {
        StateSettings::Local { path } => {
            Ok(Backend::Local(LocalBackend::new(loaded.base.join(path))))
        }
        StateSettings::S3 {
            bucket,
            key,
            region,
        } => {
            let options = stagecraft_aws::AwsOptions {
                region: region
                    .clone()
                    .or_else(|| loaded.config.project.region.clone())
                    .or_else(|| cli.region.clone()),
                profile: cli.profile.clone(),
                endpoint_url: cli.endpoint_url.clone(),
            };
            Ok(Backend::S3(S3Backend::new(
                &options,
                bucket,
                key,
                &loaded.base,
            )?))
        }
    }
}

fn region(cli: &Cli, configured: Option<&String>) -> Option<String> {
    cli.region
        .clone()
        .or_else(|| configured.cloned())
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
}

/// `--target` addresses, parsed.
fn parse_targets(targets: &[String]) -> Result<Vec<Address>, Report> {
    targets
        .iter()
        .map(|text| {
            Address::parse(text).map_err(|message| {
                miette::miette!(code = "cli::target", "--target {text}: {message}")
            })
        })
        .collect()
}

/// What a plan is made from besides the loaded configuration and the state.
struct PlanRequest<'a> {
    targets: &'a [Address],
    destroy: bool,
    region: Option<String>,
    artifacts: &'a BTreeMap<String, String>,
}

fn build_plan(
    loaded: &load::Loaded,
    secrets: &stagecraft_config::Secrets,
    state: Option<&State>,
    request: &PlanRequest<'_>,
) -> Result<Plan, Report> {
    Ok(plan(&PlanInput {
        config: &loaded.config,
        secrets,
        graph: &loaded.graph,
        state,
        new_lineage: uuid::Uuid::new_v4().to_string(),
        region: request.region.clone(),
        artifact_digests: request.artifacts,
        config_digest: loaded.config_digest(request.artifacts),
        mode: if request.destroy {
            PlanMode::Destroy
        } else {
            PlanMode::Normal
        },
        targets: request.targets,
    })?)
}

fn plan_command(cli: &Cli, args: &PlanArgs, color: bool) -> Result<u8, Report> {
    let (loaded, secrets) = load(&cli.config, SecretMode::Read)?;
    let targets = parse_targets(&args.targets)?;
    let artifacts = loaded.artifact_digests()?;
    let backend = backend_for(cli, &loaded)?;
    let _lock = backend.lock("plan", cli.lock_timeout)?;
    let mut state = apply::recovered_state(&backend, backend.read()?)?;
    if (args.refresh || args.refresh_only)
        && let Some(recorded) = &state
    {
        let runtime = refresh::runtime()?;
        let provider = refresh::provider(cli, &loaded, &runtime);
        let (fresh, drifts) =
            runtime.block_on(refresh::refresh(&provider, &loaded.config, recorded))?;
        if !drifts.is_empty() {
            let text = stagecraft_core::live::render_drift(&drifts);
            if args.format == Format::Text {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
        }
        if args.refresh_only {
            if drifts.is_empty() {
                println!("No changes. AWS matches the state.");
            }
            return Ok(if args.detailed_exitcode && !drifts.is_empty() {
                EXIT_CHANGES
            } else {
                0
            });
        }
        state = Some(fresh);
    }
    let plan = build_plan(
        &loaded,
        &secrets,
        state.as_ref(),
        &PlanRequest {
            targets: &targets,
            destroy: args.destroy,
            region: region(cli, loaded.config.project.region.as_ref()),
            artifacts: &artifacts,
        },
    )?;
    let rendered = render_plan(&plan, args.format, color);
    write_stdout(&rendered)?;
    if let Some(out) = &args.out {
        backend::write_atomically(out, plan.to_json().as_bytes())?;
        if args.format == Format::Text {
            println!("\nSaved the plan to {}.", display_relative(out));
        }
    }
    let code = if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        0
    };
    // The process exits as soon as this returns. Freeing a large configuration, state and
    // plan one allocation at a time would take a good part of the whole run (a tenth of it at
    // 10,000 stages); the operating system reclaims the memory at once. The lock is still
    // released normally when `_lock` goes out of scope.
    std::mem::forget((loaded, secrets, state, plan, rendered));
    Ok(code)
}

/// Writes `text` to standard output in one locked write: a plan can run to megabytes, and the
/// default line-buffered `print!` would hand it over in pieces.
fn write_stdout(text: &str) -> Result<(), Report> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .into_diagnostic()
        .wrap_err("cannot write the plan to standard output")
}

fn display_relative(path: &Path) -> String {
    let current = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    path.strip_prefix(&current)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn state_command(cli: &Cli, command: &StateCommand) -> Result<u8, Report> {
    let backend = state_backend(cli)?;
    match command {
        StateCommand::List => {
            if let Some(state) = backend.read()? {
                for address in state.resources.keys() {
                    println!("{address}");
                }
            }
            Ok(0)
        }
        StateCommand::Show { address } => {
            let state = backend
                .read()?
                .unwrap_or_else(|| stagecraft_core::state::State::new("", String::new()));
            let resource = state.resources.get(address).ok_or_else(|| {
                miette::miette!(
                    code = "state::unknown_address",
                    help = "`stagecraft state list` shows the recorded addresses",
                    "{address} is not in the state"
                )
            })?;
            println!(
                "{}",
                serde_json::to_string_pretty(resource).into_diagnostic()?
            );
            Ok(0)
        }
        StateCommand::Rm { address } => {
            let lock = backend.lock("state rm", cli.lock_timeout)?;
            if backend.read_journal()?.is_some() {
                return Err(miette::miette!(
                    code = "state::journal",
                    help = "run `stagecraft apply --refresh` first: it folds the journal into the state and reads back what is in doubt",
                    "an interrupted apply left its journal beside the state"
                ));
            }
            let mut state = backend
                .read()?
                .ok_or_else(|| miette::miette!("there is no state yet"))?;
            if state.resources.remove(address).is_none() {
                return Err(miette::miette!(
                    code = "state::unknown_address",
                    help = "`stagecraft state list` shows the recorded addresses",
                    "{address} is not in the state"
                ));
            }
            state.serial += 1;
            backend.write(&state, &lock)?;
            println!("Removed {address} from the state (AWS was not touched).");
            Ok(0)
        }
    }
}
