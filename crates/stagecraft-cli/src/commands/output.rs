//! `stagecraft output [NAME] [--json]`: the outputs the last apply recorded in the state, read
//! without a lock and without calling AWS (docs/behaviour.md, "Outputs"). A sensitive output
//! is `(sensitive value)` here too; its value was never recorded.

use miette::{IntoDiagnostic, Report};
use stagecraft_core::render;

use crate::EXIT_OK;
use crate::args::OutputArgs;
use crate::commands::state::state_backend;
use crate::settings::Settings;

/// `stagecraft output`.
pub fn run(settings: &Settings, args: &OutputArgs) -> Result<u8, Report> {
    let backend = state_backend(settings)?;
    let outputs = backend
        .read()?
        .map(|state| state.outputs)
        .unwrap_or_default();
    let Some(name) = &args.name else {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&render::outputs_json(&outputs)).into_diagnostic()?
            );
        } else if outputs.is_empty() {
            eprintln!(
                "Warning: no outputs found. The state records none: declare them under \
                 [outputs] and run `stagecraft apply`."
            );
        } else {
            print!("{}", render::output_lines(&outputs));
        }
        return Ok(EXIT_OK);
    };
    let output = outputs.get(name).ok_or_else(|| {
        miette::miette!(
            code = "output::not_found",
            help = "`stagecraft output` lists the outputs the state records; a new one is \
                    recorded by the next apply",
            "output `{name}` not found in the state"
        )
    })?;
    match (&output.value, output.sensitive, args.json) {
        (Some(value), false, false) => println!("{value}"),
        (Some(value), false, true) => println!("{}", serde_json::json!(value)),
        // A sensitive output's value is never recorded, so there is nothing to print.
        (_, _, true) => println!("null"),
        (_, _, false) => println!("{}", render::SENSITIVE),
    }
    Ok(EXIT_OK)
}
