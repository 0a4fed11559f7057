//! Reading AWS back: `--refresh` / `--refresh-only` compare the recorded resources with what
//! AWS reports (one `GetStages` per REST API, one `GetBranch` per branch) and show the drift;
//! `import ADDRESS` records an existing stage, canary or branch that the configuration declares.

use std::collections::{BTreeMap, BTreeSet};

use miette::{IntoDiagnostic, Report};
use stagecraft_aws::{AwsOptions, AwsProvider};
use stagecraft_config::{Address, Config, Value};
use stagecraft_core::live::{self, Drift};
use stagecraft_core::provider::{LiveStage, Provider};
use stagecraft_core::state::{ResourceState, State};

use crate::args::Cli;
use crate::load::{SecretMode, load};
use crate::{Loaded, backend_for, region};

/// A runtime for the AWS calls of one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Report> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()
}

/// The AWS provider for the command line's region, profile and endpoint.
pub fn provider(cli: &Cli, loaded: &Loaded, runtime: &tokio::runtime::Runtime) -> AwsProvider {
    runtime.block_on(AwsProvider::from_env(&AwsOptions {
        region: region(cli, loaded.config.project.region.as_ref()),
        profile: cli.profile.clone(),
        endpoint_url: cli.endpoint_url.clone(),
    }))
}

fn failed(what: &str, error: impl std::fmt::Display) -> Report {
    miette::miette!(code = "refresh::aws", "{what}: {error}")
}

/// The keys the configuration reads from the environment at `address` (all masked in drift).
fn configured_sensitive(config: &Config, address: &str) -> BTreeSet<String> {
    match Address::parse(address) {
        Ok(Address::Stage { api, stage }) => config
            .stage(&api, &stage)
            .map(|stage| sensitive_keys(&stage.variables))
            .unwrap_or_default(),
        Ok(Address::Canary { api, stage }) => config
            .stage(&api, &stage)
            .and_then(|stage| stage.canary.as_ref())
            .map(|canary| sensitive_keys(&canary.variable_overrides))
            .unwrap_or_default(),
        Ok(Address::Branch { app, branch }) => config
            .branch(&app, &branch)
            .map(|branch| sensitive_keys(&branch.environment))
            .unwrap_or_default(),
        Err(_) => BTreeSet::new(),
    }
}

/// The state with every recorded resource read back from AWS, and the drift found.
pub async fn refresh(
    provider: &dyn Provider,
    config: &Config,
    state: &State,
) -> Result<(State, Vec<Drift>), Report> {
    let mut fresh = state.clone();
    let mut drifts = Vec::new();
    let mut stages: BTreeMap<String, BTreeMap<String, LiveStage>> = BTreeMap::new();
    for record in state.resources.values() {
        let api = match record {
            ResourceState::Stage(stage) => &stage.rest_api_id,
            ResourceState::Canary(canary) => &canary.rest_api_id,
            ResourceState::Branch(_) => continue,
        };
        if !stages.contains_key(api) {
            let live = provider
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
        let (record, drift) = match record {
            ResourceState::Stage(stage) => {
                let live = stages[&stage.rest_api_id].get(&stage.stage_name);
                let (fresh, drift) = live::refresh_stage(state, address, stage, live, &configured);
                (fresh.map(ResourceState::Stage), drift)
            }
            ResourceState::Canary(canary) => {
                let live = stages[&canary.rest_api_id]
                    .get(&canary.stage_name)
                    .and_then(|stage| stage.canary.as_ref());
                let (fresh, drift) =
                    live::refresh_canary(state, address, canary, live, &configured);
                (fresh.map(ResourceState::Canary), drift)
            }
            ResourceState::Branch(branch) => {
                let live = provider
                    .get_branch(&branch.app_id, &branch.branch_name)
                    .await
                    .map_err(|error| failed(&format!("GetBranch for {address}"), error))?;
                let (fresh, drift) =
                    live::refresh_branch(state, address, branch, live.as_ref(), &configured);
                (fresh.map(ResourceState::Branch), drift)
            }
        };
        live::set_record(&mut fresh, address, record);
        drifts.extend(drift);
    }
    Ok((fresh, drifts))
}

/// The keys the configuration marks sensitive in a map of values.
fn sensitive_keys(values: &BTreeMap<String, Value>) -> BTreeSet<String> {
    values
        .iter()
        .filter(|(_, value)| matches!(value, Value::Env { .. }))
        .map(|(key, _)| key.clone())
        .collect()
}

fn not_declared(address: &str) -> Report {
    miette::miette!(
        code = "import::not_declared",
        help = "declare it in the configuration first, then import it",
        "{address} is not in the configuration"
    )
}

/// The record of a live resource that `config` declares at `address`.
async fn import_record(
    provider: &dyn Provider,
    config: &Config,
    address: &Address,
    lineage: &str,
) -> Result<(ResourceState, Option<(String, String, String)>), Report> {
    let text = address.to_string();
    match address {
        Address::Stage { api, stage } | Address::Canary { api, stage } => {
            let declared = config
                .stage(api, stage)
                .ok_or_else(|| not_declared(&text))?;
            let api_id = &config.rest_apis[api].id;
            let live = provider
                .get_stage(api_id, stage)
                .await
                .map_err(|error| failed(&format!("GetStage for {text}"), error))?
                .ok_or_else(|| {
                    miette::miette!(
                        code = "import::missing",
                        "REST API {api_id} has no stage {stage} to import"
                    )
                })?;
            if matches!(address, Address::Stage { .. }) {
                let record = live::stage_record(
                    api_id,
                    &declared.revision,
                    &live,
                    &sensitive_keys(&declared.variables),
                    lineage,
                );
                let mapping = (
                    api_id.clone(),
                    declared.revision.clone(),
                    record.deployment_id.clone(),
                );
                return Ok((ResourceState::Stage(record), Some(mapping)));
            }
            let canary = declared
                .canary
                .as_ref()
                .ok_or_else(|| not_declared(&text))?;
            let live_canary = live.canary.as_ref().ok_or_else(|| {
                miette::miette!(
                    code = "import::missing",
                    "stage {stage} of REST API {api_id} has no canary to import"
                )
            })?;
            let record = live::canary_record(
                api_id,
                stage,
                &canary.revision,
                live_canary,
                &sensitive_keys(&canary.variable_overrides),
                lineage,
            );
            let mapping = (
                api_id.clone(),
                canary.revision.clone(),
                record.deployment_id.clone(),
            );
            Ok((ResourceState::Canary(record), Some(mapping)))
        }
        Address::Branch { app, branch } => {
            let declared = config
                .branch(app, branch)
                .ok_or_else(|| not_declared(&text))?;
            let app_id = &config.amplify_apps[app].id;
            let live = provider
                .get_branch(app_id, branch)
                .await
                .map_err(|error| failed(&format!("GetBranch for {text}"), error))?
                .ok_or_else(|| {
                    miette::miette!(
                        code = "import::missing",
                        "Amplify app {app_id} has no branch {branch} to import"
                    )
                })?;
            let record = live::branch_record(
                app_id,
                &live,
                &sensitive_keys(&declared.environment),
                lineage,
            );
            Ok((ResourceState::Branch(record), None))
        }
    }
}

/// `stagecraft import ADDRESS`.
pub fn import_command(cli: &Cli, address: &str) -> Result<u8, Report> {
    let (loaded, _) = load(&cli.config, SecretMode::Skip)?;
    let parsed = Address::parse(address)
        .map_err(|message| miette::miette!(code = "import::address", "{address}: {message}"))?;
    if !loaded.config.contains(&parsed) {
        return Err(not_declared(address));
    }
    let backend = backend_for(cli, &loaded)?;
    let lock = backend.lock("import", cli.lock_timeout)?;
    if backend.read_journal()?.is_some() {
        return Err(miette::miette!(
            code = "import::journal",
            help = "run `stagecraft apply --refresh` first: it folds the journal into the state and reads back what is in doubt",
            "an interrupted apply left its journal beside the state"
        ));
    }
    let existing = backend.read()?;
    let mut state = existing.clone().unwrap_or_else(|| {
        State::new(
            &loaded.config.project.name,
            uuid::Uuid::new_v4().to_string(),
        )
    });
    let key = parsed.to_string();
    if state.resources.contains_key(&key) {
        return Err(miette::miette!(
            code = "import::exists",
            help = "`stagecraft state rm` forgets it first, if it must be imported again",
            "{key} is already in the state"
        ));
    }
    let runtime = runtime()?;
    let provider = provider(cli, &loaded, &runtime);
    let (record, mapping) = runtime.block_on(import_record(
        &provider,
        &loaded.config,
        &parsed,
        &state.lineage.clone(),
    ))?;
    if let Some((api, revision, deployment)) = mapping {
        state
            .deployments
            .entry(api)
            .or_default()
            .entry(revision)
            .or_insert(deployment);
    }
    state.resources.insert(key.clone(), record);
    state.serial = existing.map_or(1, |state| state.serial + 1);
    backend.write(&state, &lock)?;
    println!(
        "Import successful! {key} is now in the state.\nRun `stagecraft plan` to see how it differs from the configuration."
    );
    Ok(0)
}
