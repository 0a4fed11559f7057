//! `stagecraft validate`: parse and validate the configuration; nothing else.

use miette::Report;

use crate::EXIT_OK;
use crate::json_ui::View;
use crate::load::{SecretMode, load};
use crate::settings::Settings;

/// `stagecraft validate`.
pub fn run(settings: &Settings, view: View) -> Result<u8, Report> {
    let (loaded, _) = load(settings, SecretMode::Skip)?;
    if view == View::Json {
        // The exit code says it: the stream holds `version` and no diagnostic.
        return Ok(EXIT_OK);
    }
    println!(
        "Success! {} is valid: {} resources.",
        loaded.names(),
        loaded.config.addresses().len()
    );
    Ok(EXIT_OK)
}
