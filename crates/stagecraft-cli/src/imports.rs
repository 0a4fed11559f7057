//! `[[import]]` blocks' reads (docs/behaviour.md, "Imports"): before a plan, each block's
//! resource that the state does not record is read from AWS (`GetStage`, `GetBranch` and
//! `GetApp`, as `stagecraft import` reads it), so that the plan can show it imported and diff it
//! against the file. A resource AWS does not have is an error at its block's `to`, every one at
//! once; nothing is read when every block's resource is recorded.

use std::collections::BTreeMap;

use miette::Report;
use stagecraft_config::{Address, ConfigError, ConfigErrors, Import};
use stagecraft_core::apply::PacedReads;
use stagecraft_core::plan::PlanMode;
use stagecraft_core::state::{ResourceState, State};

use crate::commands::import::{ImportFailure, import_record};
use crate::load::Loaded;
use crate::refresh::salt_seed;

/// The blocks whose resource the state does not record (none under `--destroy`).
pub fn pending<'a>(loaded: &'a Loaded, state: Option<&State>, mode: PlanMode) -> Vec<&'a Import> {
    if mode == PlanMode::Destroy {
        return Vec::new();
    }
    loaded
        .config
        .imports
        .iter()
        .filter(|block| state.is_none_or(|state| !state.resources.contains_key(&block.to)))
        .collect()
}

/// The live records of `blocks`' resources, read from AWS.
pub async fn read(
    reads: &PacedReads<'_>,
    loaded: &Loaded,
    blocks: &[&Import],
) -> Result<BTreeMap<Address, ResourceState>, Report> {
    let seed = salt_seed();
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for block in blocks {
        match import_record(reads, &loaded.config, &block.to, &seed).await {
            Ok((record, _)) => {
                out.insert(block.to.clone(), record);
            }
            Err(ImportFailure::Missing(message)) => missing.push(
                ConfigError::new("import::missing", block.to_span, message, "not in AWS")
                    .with_help(
                        "an [[import]] takes in what already runs: check the REST API's or app's \
                         `id` and the name, or remove the block to have the plan create it",
                    ),
            ),
            Err(ImportFailure::Other(report)) => return Err(report),
        }
    }
    if !missing.is_empty() {
        return Err(Report::new(ConfigErrors::in_sources(
            &loaded.sources,
            missing,
        )));
    }
    Ok(out)
}
