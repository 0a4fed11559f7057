//! `stagecraft show FILE`: render a saved plan.

use std::path::Path;

use miette::{IntoDiagnostic, Report, WrapErr};
use stagecraft_core::plan::Plan;

use crate::EXIT_OK;
use crate::args::Format;
use crate::commands::plan::render_plan;
use crate::settings::Settings;

/// `stagecraft show FILE --format FORMAT`.
pub fn run(settings: &Settings, file: &Path, format: Format) -> Result<u8, Report> {
    let text = std::fs::read_to_string(file)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read saved plan {}", file.display()))?;
    let plan = Plan::from_json(&text)
        .map_err(|message| miette::miette!("{} is not a saved plan: {message}", file.display()))?;
    print!("{}", render_plan(&plan, format, settings.color));
    Ok(EXIT_OK)
}
