//! `stagecraft completions SHELL`: the shell completion script (clap_complete), generated from
//! the same clap definition the binary parses with, so it cannot miss a command or a flag.

use clap::CommandFactory;
use clap_complete::Shell;
use miette::Report;

use crate::EXIT_OK;
use crate::args::Cli;

/// `stagecraft completions SHELL`.
pub fn run(shell: Shell) -> Result<u8, Report> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "stagecraft", &mut std::io::stdout());
    Ok(EXIT_OK)
}
