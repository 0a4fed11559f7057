//! `stagecraft graph`: the configuration's dependency graph as DOT (`stagecraft graph | dot
//! -Tsvg > graph.svg`). It validates the configuration as `validate` does, reading no state
//! and calling no AWS.

use miette::Report;

use crate::EXIT_OK;
use crate::commands::plan::parse_targets;
use crate::load::{SecretMode, load};
use crate::settings::Settings;

/// `stagecraft graph [--target ADDRESS]...`.
pub fn run(settings: &Settings, targets: &[String]) -> Result<u8, Report> {
    let targets = parse_targets(targets)?;
    let (loaded, _) = load(settings, SecretMode::Skip)?;
    if let Some(unknown) = targets
        .iter()
        .find(|target| !loaded.config.contains(target))
    {
        return Err(miette::miette!(
            code = "cli::target",
            "--target {unknown}: not declared in {}",
            loaded.names()
        ));
    }
    let only = (!targets.is_empty()).then(|| loaded.graph.with_dependencies(&targets));
    print!("{}", loaded.graph.to_dot(only.as_ref()));
    Ok(EXIT_OK)
}
