//! The stagecraft binary: the shell around the engine. It owns the terminal, the files, the
//! state backend, the lock and the exit codes; the engine computes and never prints. This file
//! is the dispatch: parse the arguments, resolve the settings once, run the command, exit.

mod args;
mod artifact;
mod aws;
mod backend;
mod clock;
mod commands;
mod imports;
mod json_ui;
mod load;
mod logging;
mod recovery;
mod refresh;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::settings::Settings;

/// The allocator. A plan of 10,000 stages makes about a million small allocations, most of
/// them in the TOML and JSON parsers' trees; with the system allocator the heap also grows a
/// 4 KiB page fault at a time (some 20,000 faults, a fifth of the run). mimalloc takes memory
/// from the system in large spans and is cheaper per call (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code: success, or a plan without changes under `--detailed-exitcode`.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: an error, a refused or cancelled apply, or an apply that did not complete.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code when `--detailed-exitcode` is given and the plan (or the refresh) has changes.
pub(crate) const EXIT_CHANGES: u8 = 2;
/// Exit code of `fmt --check` when a file is not formatted (Terraform's `fmt -check` uses 3).
pub(crate) const EXIT_UNFORMATTED: u8 = 3;
/// Exit code after a second Ctrl-C (or a Ctrl-C before apply starts its work).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = Settings::resolve(&cli);
    logging::init(settings.verbose, settings.log_style);
    let color = settings.color;
    miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .build(),
        )
    }))
    .ok();
    let view = json_ui::View::of(cli.command.json_ui());
    if view == json_ui::View::Json {
        json_ui::emit(&json_ui::version());
    }
    let result = match &cli.command {
        Command::Validate { .. } => commands::validate::run(&settings, view),
        Command::Plan(args) => commands::plan::run(&settings, args),
        Command::Apply(args) => commands::apply::run(&settings, args),
        Command::Import { address } => commands::import::run(&settings, address),
        Command::Generate(args) => commands::generate::run(&settings, args),
        Command::Show { file, format } => commands::show::run(&settings, file, *format),
        Command::State(command) => commands::state::run(&settings, command),
        Command::ForceUnlock { id } => commands::state::force_unlock(&settings, id),
        Command::Fmt(args) => commands::fmt::run(&settings, args),
        Command::Schema => commands::schema::run(),
        Command::Graph { targets } => commands::graph::run(&settings, targets),
        Command::Completions { shell } => commands::completions::run(*shell),
        Command::Man => commands::man::run(),
        Command::Output(args) => commands::output::run(&settings, args),
        Command::Rollout(command) => commands::rollout::run(&settings, command),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(report) if view == json_ui::View::Json => {
            json_ui::emit_all(&json_ui::diagnostics(&report));
            ExitCode::from(EXIT_FAILURE)
        }
        Err(report) => {
            // Missing or expired credentials: the one line saying what to do, nothing else.
            match report
                .chain()
                .find_map(|cause| cause.downcast_ref::<aws::CredentialsFailed>())
            {
                Some(credentials) => eprintln!("error: {credentials}"),
                None => eprintln!("{report:?}"),
            }
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
