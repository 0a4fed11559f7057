//! `rollout promote --write-config`: after the promotion, the configuration file that declares
//! the canary is edited (`promote_in_config`, comments kept) so that the next plan is empty.

use miette::{IntoDiagnostic, Report, WrapErr};
use stagecraft_config::{Address, ConfigText, promote_in_config};

use crate::commands::fmt::write_keeping_permissions;
use crate::settings::Settings;

/// Edits the `--config` files for `canary`'s promotion to `revision`; writes those that change.
pub(crate) fn promote(settings: &Settings, canary: &Address, revision: &str) -> Result<(), Report> {
    let texts = settings
        .config
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read {}", path.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<String> = settings
        .config
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let files: Vec<ConfigText<'_>> = names
        .iter()
        .zip(&texts)
        .map(|(name, text)| ConfigText { name, text })
        .collect();
    let edited = promote_in_config(&files, canary, revision).map_err(|error| {
        miette::miette!(
            code = "rollout::write_config",
            help = "the promotion is done and recorded; edit the file by hand",
            "{error}"
        )
    })?;
    for (path, new) in settings.config.iter().zip(edited) {
        if let Some(new) = new {
            write_keeping_permissions(path, new.as_bytes())
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot write {}", path.display()))?;
            println!(
                "Wrote {}: the stage's revision is {revision}, the canary table is gone.",
                path.display()
            );
        }
    }
    Ok(())
}
