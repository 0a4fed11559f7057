//! `stagecraft import ADDRESS`: record an existing stage, canary or branch that the
//! configuration declares, as AWS reports it.

use miette::Report;
use stagecraft_config::{Address, Config};
use stagecraft_core::apply::PacedReads;
use stagecraft_core::live::{self, LiveSecrets};
use stagecraft_core::plan::branch_url;
use stagecraft_core::provider::ProviderError;
use stagecraft_core::state::{ResourceState, SaltSeed, State};

use crate::EXIT_OK;
use crate::aws::{self, AwsSettings};
use crate::backend::Backend;
use crate::load::{SecretMode, load};
use crate::refresh::{failed, salt_seed, sensitive_keys};
use crate::settings::Settings;

fn not_declared(address: &str) -> Report {
    miette::miette!(
        code = "import::not_declared",
        help = "declare it in the configuration first, then import it",
        "{address} is not in the configuration"
    )
}

/// Why a resource could not be imported.
pub(crate) enum ImportFailure {
    /// AWS does not have it: the sentence says what is missing.
    Missing(String),
    /// The configuration does not declare it, or a read failed.
    Other(Report),
}

impl From<Report> for ImportFailure {
    fn from(report: Report) -> Self {
        ImportFailure::Other(report)
    }
}

impl ImportFailure {
    /// As one report.
    pub(crate) fn into_report(self) -> Report {
        match self {
            ImportFailure::Missing(message) => {
                miette::miette!(code = "import::missing", "{message}")
            }
            ImportFailure::Other(report) => report,
        }
    }
}

/// A resource to import that AWS does not have: `message` says which.
fn missing(message: String) -> ImportFailure {
    ImportFailure::Missing(message)
}

/// The resource a read (`call`, naming it) found, or the import's error: the read failed, or
/// found nothing (`missing` says what).
fn found<T>(
    read: Result<Option<T>, ProviderError>,
    call: &str,
    missing_message: impl FnOnce() -> String,
) -> Result<T, ImportFailure> {
    read.map_err(|error| failed(call, error))?
        .ok_or_else(|| missing(missing_message()))
}

/// The record of a live resource that `config` declares at `address` (for a stage or canary,
/// at its configured revision, with the revision -> deployment mapping it implies).
pub(crate) async fn import_record(
    reads: &PacedReads<'_>,
    config: &Config,
    address: &Address,
    seed: &SaltSeed,
) -> Result<(ResourceState, Option<(String, String, String)>), ImportFailure> {
    let text = address.to_string();
    match address {
        Address::Stage { api, stage } | Address::Canary { api, stage } => {
            let declared = config
                .stage(api, stage)
                .ok_or_else(|| not_declared(&text))?;
            let api_id = &config.rest_apis[api].id;
            let live = found(
                reads.get_stage(api_id, stage).await,
                &format!("GetStage for {text}"),
                || format!("REST API {api_id} has no stage {stage} to import"),
            )?;
            if matches!(address, Address::Stage { .. }) {
                let record = live::stage_record(
                    api_id,
                    &declared.revision,
                    &live,
                    &LiveSecrets {
                        address,
                        keys: &sensitive_keys(&declared.variables),
                        recorded: None,
                        seed,
                    },
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
                missing(format!(
                    "stage {stage} of REST API {api_id} has no canary to import"
                ))
            })?;
            // Overrides are digested as the stage variables they override.
            let stage_address = address.canary_parent().unwrap_or_else(|| address.clone());
            let record = live::canary_record(
                api_id,
                stage,
                &canary.revision,
                live_canary,
                &LiveSecrets {
                    address: &stage_address,
                    keys: &sensitive_keys(&canary.variable_overrides),
                    recorded: None,
                    seed,
                },
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
            let live = found(
                reads.get_branch(app_id, branch).await,
                &format!("GetBranch for {text}"),
                || format!("Amplify app {app_id} has no branch {branch} to import"),
            )?;
            let mut record = live::branch_record(
                app_id,
                &live,
                &LiveSecrets {
                    address,
                    keys: &sensitive_keys(&declared.environment),
                    recorded: None,
                    seed,
                },
            );
            // The URL: the display name AWS has under the app's domain (only GetApp has it).
            let app = reads
                .get_app(app_id)
                .await
                .map_err(|error| failed(&format!("GetApp for {text}"), error))?;
            record.url = Some(branch_url(&live.display_name, &app.default_domain));
            Ok((ResourceState::Branch(record), None))
        }
    }
}

/// `stagecraft import ADDRESS`.
pub fn run(settings: &Settings, address: &str) -> Result<u8, Report> {
    let (loaded, _) = load(settings, SecretMode::Skip)?;
    let parsed = Address::parse(address)
        .map_err(|message| miette::miette!(code = "import::address", "{address}: {message}"))?;
    if !loaded.config.contains(&parsed) {
        return Err(not_declared(address));
    }
    let aws = AwsSettings::new(&settings.aws, &loaded.config);
    let backend = Backend::for_config(&loaded, &aws)?;
    let lock = backend.lock("import", settings.lock_timeout)?;
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
    if state.resources.contains_key(&parsed) {
        return Err(miette::miette!(
            code = "import::exists",
            help = "`stagecraft state rm` forgets it first, if it must be imported again",
            "{key} is already in the state"
        ));
    }
    let runtime = aws::runtime()?;
    let provider = aws::provider(&aws, &runtime)?;
    let (record, mapping) = runtime
        .block_on(import_record(
            &aws::paced_reads(&aws, &loaded.config, &provider),
            &loaded.config,
            &parsed,
            &salt_seed(),
        ))
        .map_err(ImportFailure::into_report)?;
    if let Some((api, revision, deployment)) = mapping {
        state
            .deployments
            .entry(api)
            .or_default()
            .entry(revision)
            .or_insert(deployment);
    }
    state.resources.insert(parsed, record);
    state.serial = existing.map_or(1, |state| state.serial + 1);
    backend.write(&state, &lock)?;
    println!(
        "Import successful! {key} is now in the state.\nRun `stagecraft plan` to see how it differs from the configuration."
    );
    Ok(EXIT_OK)
}
