//! `stagecraft validate`: parse and validate the configuration; nothing else.

use miette::Report;

use crate::EXIT_OK;
use crate::load::{SecretMode, load};
use crate::settings::Settings;

/// `stagecraft validate`.
pub fn run(settings: &Settings) -> Result<u8, Report> {
    let (loaded, _) = load(settings, SecretMode::Skip)?;
    println!(
        "Success! {} is valid: {} resources.",
        loaded.names(),
        loaded.config.addresses().len()
    );
    Ok(EXIT_OK)
}
