//! `stagecraft man`: the manual page as roff (clap_mangen), from the clap definition: the
//! synopsis, every global flag and every command. `stagecraft man | man -l -` reads it;
//! packagers install its output as `stagecraft.1`.

use clap::CommandFactory;
use miette::{IntoDiagnostic, Report};

use crate::EXIT_OK;
use crate::args::Cli;

/// `stagecraft man`.
pub fn run() -> Result<u8, Report> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .into_diagnostic()?;
    std::io::Write::write_all(&mut std::io::stdout(), &out).into_diagnostic()?;
    Ok(EXIT_OK)
}
