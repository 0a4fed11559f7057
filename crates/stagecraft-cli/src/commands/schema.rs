//! `stagecraft schema`: print the JSON Schema of deploy.toml (stagecraft-config's `schema`).

use miette::{IntoDiagnostic, Report};

use crate::EXIT_OK;

/// `stagecraft schema`.
pub fn run() -> Result<u8, Report> {
    let text = serde_json::to_string_pretty(&stagecraft_config::schema()).into_diagnostic()?;
    println!("{text}");
    Ok(EXIT_OK)
}
