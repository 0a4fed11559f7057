//! Reading AWS back: `--refresh` / `--refresh-only` (plan) and `--refresh` (apply) compare the
//! recorded resources with what AWS reports (one `GetStages` per REST API, one `GetBranch` per
//! branch, and `GetApp` for a branch whose URL is not recorded) and give the fresh state and the
//! drift.

use std::collections::{BTreeMap, BTreeSet};

use miette::Report;
use stagecraft_config::{Address, Config, Value};
use stagecraft_core::apply::PacedReads;
use stagecraft_core::live::{self, Drift};
use stagecraft_core::plan::branch_url;
use stagecraft_core::provider::LiveStage;
use stagecraft_core::state::{ResourceState, SaltSeed, State};

pub(crate) fn failed(what: &str, error: impl std::fmt::Display) -> Report {
    miette::miette!(code = "refresh::aws", "{what}: {error}")
}

/// The keys the configuration reads from the environment at `address` (all masked in drift).
fn configured_sensitive(config: &Config, address: &Address) -> BTreeSet<String> {
    match address {
        Address::Stage { api, stage } => config
            .stage(api, stage)
            .map(|stage| sensitive_keys(&stage.variables))
            .unwrap_or_default(),
        Address::Canary { api, stage } => config
            .stage(api, stage)
            .and_then(|stage| stage.canary.as_ref())
            .map(|canary| sensitive_keys(&canary.variable_overrides))
            .unwrap_or_default(),
        Address::Branch { app, branch } => config
            .branch(app, branch)
            .map(|branch| sensitive_keys(&branch.environment))
            .unwrap_or_default(),
    }
}

/// Fresh random bytes for the salts of the sensitive-value digests a read from AWS records
/// (the engine reads no randomness itself).
pub(crate) fn salt_seed() -> SaltSeed {
    SaltSeed(uuid::Uuid::new_v4().into_bytes())
}

/// The state with every recorded resource read back from AWS, and the drift found.
pub async fn refresh(
    reads: &PacedReads<'_>,
    config: &Config,
    state: &State,
) -> Result<(State, Vec<Drift>), Report> {
    let mut fresh = state.clone();
    let mut drifts = Vec::new();
    let seed = salt_seed();
    let mut stages: BTreeMap<String, BTreeMap<String, LiveStage>> = BTreeMap::new();
    for record in state.resources.values() {
        let api = match record {
            ResourceState::Stage(stage) => &stage.rest_api_id,
            ResourceState::Canary(canary) => &canary.rest_api_id,
            ResourceState::Branch(_) => continue,
        };
        if !stages.contains_key(api) {
            let live = reads
                .get_stages(api)
                .await
                .map_err(|error| failed(&format!("GetStages for REST API {api}"), error))?;
            stages.insert(
                api.clone(),
                live.into_iter()
                    .map(|stage| (stage.stage_name.clone(), stage))
                    .collect(),
            );
        }
    }
    for (address, record) in &state.resources {
        let configured = configured_sensitive(config, address);
        let secrets = (&configured, &seed);
        let (record, drift) = match record {
            ResourceState::Stage(stage) => {
                let live = stages[&stage.rest_api_id].get(&stage.stage_name);
                let (fresh, drift) = live::refresh_stage(state, address, stage, live, secrets);
                (fresh.map(ResourceState::Stage), drift)
            }
            ResourceState::Canary(canary) => {
                let live = stages[&canary.rest_api_id]
                    .get(&canary.stage_name)
                    .and_then(|stage| stage.canary.as_ref());
                let (fresh, drift) = live::refresh_canary(state, address, canary, live, secrets);
                (fresh.map(ResourceState::Canary), drift)
            }
            ResourceState::Branch(branch) => {
                let live = reads
                    .get_branch(&branch.app_id, &branch.branch_name)
                    .await
                    .map_err(|error| failed(&format!("GetBranch for {address}"), error))?;
                let (mut fresh, drift) =
                    live::refresh_branch(address, branch, live.as_ref(), secrets);
                // A URL not recorded yet (an older state), or whose display name changed: the
                // display name AWS has under the app's domain (only GetApp has it).
                if let (Some(fresh), Some(live)) = (&mut fresh, &live)
                    && fresh.url.is_none()
                {
                    let app = reads
                        .get_app(&branch.app_id)
                        .await
                        .map_err(|error| failed(&format!("GetApp for {address}"), error))?;
                    fresh.url = Some(branch_url(&live.display_name, &app.default_domain));
                }
                (fresh.map(ResourceState::Branch), drift)
            }
        };
        live::set_record(&mut fresh, address, record);
        drifts.extend(drift);
    }
    // In the order of the addresses' text, as the state file lists them.
    drifts.sort_by_cached_key(|drift| drift.address.to_string());
    Ok((fresh, drifts))
}

/// The keys the configuration marks sensitive in a map of values (read from the environment).
pub(crate) fn sensitive_keys(values: &BTreeMap<String, Value>) -> BTreeSet<String> {
    values
        .iter()
        .filter(|(_, value)| value.secret_key().is_some())
        .map(|(key, _)| key.clone())
        .collect()
}
