//! Reading AWS back into the state: `import` records a live stage, canary or branch as the
//! configuration names it, and `--refresh` compares each recorded resource with what AWS
//! reports and lists the drift. Pure functions of the recorded and the live values; values the
//! configuration marks sensitive are kept as digests and never shown.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use stagecraft_config::Address;

use crate::provider::{LiveBranch, LiveCanary, LiveStage};
use crate::state::{
    BasicAuthState, BranchState, CanaryState, ResourceState, RolloutState, SaltSeed, Site,
    StageState, State, StoredValue, digest_reusing,
};

/// Shown for a sensitive value in drift reports.
const MASKED: &str = "(sensitive value)";

/// One attribute that differs between the state and AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeDrift {
    /// The attribute (`variables.backend`, `deployment_id`, ...).
    pub attribute: String,
    /// As recorded (`(sensitive value)` for secrets, `(none)` when absent).
    pub recorded: String,
    /// As AWS reports it.
    pub live: String,
}

/// How a recorded resource differs from AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The resource.
    pub address: Address,
    /// Gone from AWS entirely.
    pub deleted: bool,
    /// The attributes that changed.
    pub attributes: Vec<AttributeDrift>,
}

fn none_or(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_string(), str::to_string)
}

/// How the sensitive values of a live map become digests.
#[derive(Debug, Clone, Copy)]
pub struct LiveSecrets<'a> {
    /// The resource the values are digested for (a canary's overrides: its stage's, as the
    /// plan digests them).
    pub address: &'a Address,
    /// The map's keys whose values are sensitive.
    pub keys: &'a BTreeSet<String>,
    /// The map as recorded: a live value with the recorded digest keeps it (so it is no drift).
    pub recorded: Option<&'a BTreeMap<String, StoredValue>>,
    /// The salts of new digests.
    pub seed: &'a SaltSeed,
}

/// Stores the live values of the map `map` (`variables`, `environment`): as digests where the
/// key is sensitive.
fn stored_map(
    live: &BTreeMap<String, String>,
    secrets: &LiveSecrets<'_>,
    map: &str,
) -> BTreeMap<String, StoredValue> {
    live.iter()
        .map(|(key, value)| {
            let stored = if secrets.keys.contains(key) {
                let path = format!("{map}.{key}");
                let recorded = match secrets.recorded.and_then(|recorded| recorded.get(key)) {
                    Some(StoredValue::Sensitive { sensitive }) => Some(sensitive.as_str()),
                    _ => None,
                };
                StoredValue::Sensitive {
                    sensitive: digest_reusing(
                        recorded,
                        secrets.seed,
                        Site::new(secrets.address, &path),
                        value,
                    ),
                }
            } else {
                StoredValue::Plain(value.clone())
            };
            (key.clone(), stored)
        })
        .collect()
}

/// Drift between two stored maps, keys prefixed with `name.`.
fn map_drift(
    name: &str,
    recorded: &BTreeMap<String, StoredValue>,
    live: &BTreeMap<String, StoredValue>,
    out: &mut Vec<AttributeDrift>,
) {
    let shown = |value: Option<&StoredValue>| match value {
        None => "(none)".to_string(),
        Some(StoredValue::Plain(text)) => text.clone(),
        Some(StoredValue::Sensitive { .. }) => MASKED.to_string(),
    };
    let keys: BTreeSet<&String> = recorded.keys().chain(live.keys()).collect();
    for key in keys {
        let (before, after) = (recorded.get(key), live.get(key));
        if before != after {
            out.push(AttributeDrift {
                attribute: format!("{name}.{key}"),
                recorded: shown(before),
                live: shown(after),
            });
        }
    }
}

/// A resource's drift: each scalar attribute `(name, recorded, live)` that differs, as shown,
/// then the keys of its one map attribute that differ; `None` when nothing does.
fn compare<const N: usize>(
    address: &Address,
    scalars: [(&str, &String, &String); N],
    (name, recorded, live): (
        &str,
        &BTreeMap<String, StoredValue>,
        &BTreeMap<String, StoredValue>,
    ),
) -> Option<Drift> {
    let mut attributes: Vec<AttributeDrift> = scalars
        .into_iter()
        .filter(|(_, recorded, live)| recorded != live)
        .map(|(attribute, recorded, live)| AttributeDrift {
            attribute: attribute.to_string(),
            recorded: recorded.clone(),
            live: live.clone(),
        })
        .collect();
    map_drift(name, recorded, live, &mut attributes);
    (!attributes.is_empty()).then(|| Drift {
        address: address.clone(),
        deleted: false,
        attributes,
    })
}

/// The revision a deployment was recorded for, or a label that names the deployment.
fn revision_of(state: &State, rest_api_id: &str, deployment_id: &str) -> String {
    state
        .deployments
        .get(rest_api_id)
        .and_then(|revisions| {
            revisions
                .iter()
                .find(|(_, id)| id.as_str() == deployment_id)
                .map(|(revision, _)| revision.clone())
        })
        .unwrap_or_else(|| format!("(unknown: deployment {deployment_id})"))
}

/// The revision a live deployment stands for: the recorded one while the deployment is the
/// recorded one, else the revision the state maps to it, else a label naming it.
fn followed_revision(
    state: &State,
    rest_api_id: &str,
    (revision, deployment): (&str, &str),
    live: Option<&str>,
) -> String {
    let live = live.unwrap_or_default();
    if live == deployment {
        revision.to_string()
    } else {
        revision_of(state, rest_api_id, live)
    }
}

/// A stage record from AWS. `revision` is the one the configuration gives it.
pub fn stage_record(
    rest_api_id: &str,
    revision: &str,
    live: &LiveStage,
    secrets: &LiveSecrets<'_>,
) -> StageState {
    StageState {
        rest_api_id: rest_api_id.to_string(),
        stage_name: live.stage_name.clone(),
        revision: revision.to_string(),
        deployment_id: live.deployment_id.clone().unwrap_or_default(),
        description: live.description.clone().filter(|d| !d.is_empty()),
        tracing: live.tracing,
        variables: stored_map(&live.variables, secrets, "variables"),
        cache_size: live
            .cache_enabled
            .then(|| live.cache_size.clone())
            .flatten(),
        promoted_by_rollout: None,
    }
}

/// A canary record from AWS.
pub fn canary_record(
    rest_api_id: &str,
    stage_name: &str,
    revision: &str,
    live: &LiveCanary,
    secrets: &LiveSecrets<'_>,
) -> CanaryState {
    CanaryState {
        rest_api_id: rest_api_id.to_string(),
        stage_name: stage_name.to_string(),
        revision: revision.to_string(),
        deployment_id: live.deployment_id.clone().unwrap_or_default(),
        percent_traffic: live.percent_traffic,
        variable_overrides: stored_map(&live.variable_overrides, secrets, "variables"),
        use_stage_cache: live.use_stage_cache,
        rollout: None,
    }
}

/// A branch record from AWS. Basic-auth credentials and the deployed content cannot be read
/// back, so they are left unrecorded: the next plan sets them.
pub fn branch_record(app_id: &str, live: &LiveBranch, secrets: &LiveSecrets<'_>) -> BranchState {
    BranchState {
        app_id: app_id.to_string(),
        branch_name: live.branch_name.clone(),
        stage: live.stage.clone().filter(|stage| stage != "NONE"),
        description: live.description.clone().filter(|d| !d.is_empty()),
        framework: live.framework.clone().filter(|f| !f.is_empty()),
        environment: stored_map(&live.environment, secrets, "environment"),
        basic_auth: None,
        artifact_digest: None,
        job_id: None,
        url: None,
    }
}

/// The keys that hold sensitive values: those recorded as digests and those the configuration
/// reads from the environment (a value set by hand, or by a call in doubt, is not recorded yet).
fn sensitive_keys(
    map: &BTreeMap<String, StoredValue>,
    configured: &BTreeSet<String>,
) -> BTreeSet<String> {
    map.iter()
        .filter(|(_, value)| matches!(value, StoredValue::Sensitive { .. }))
        .map(|(key, _)| key.clone())
        .chain(configured.iter().cloned())
        .collect()
}

/// Makes a fresh record (`make`) from a live map read against its recorded one (`recorded`, the
/// values of `address`): the keys recorded as digests or configured as sensitive (`sensitive`'s
/// first part) are digested, a live value matching its recorded digest keeping it.
fn against_record<T>(
    address: &Address,
    recorded: &BTreeMap<String, StoredValue>,
    (configured, seed): (&BTreeSet<String>, &SaltSeed),
    make: impl FnOnce(&LiveSecrets<'_>) -> T,
) -> T {
    make(&LiveSecrets {
        address,
        keys: &sensitive_keys(recorded, configured),
        recorded: Some(recorded),
        seed,
    })
}

/// A recorded stage refreshed from `GetStage`: the new record (`None` when gone) and its drift.
pub fn refresh_stage(
    state: &State,
    address: &Address,
    recorded: &StageState,
    live: Option<&LiveStage>,
    sensitive: (&BTreeSet<String>, &SaltSeed),
) -> (Option<StageState>, Option<Drift>) {
    let Some(live) = live else {
        return (None, Some(gone(address)));
    };
    let revision = followed_revision(
        state,
        &recorded.rest_api_id,
        (&recorded.revision, &recorded.deployment_id),
        live.deployment_id.as_deref(),
    );
    let mut fresh = against_record(address, &recorded.variables, sensitive, |secrets| {
        stage_record(&recorded.rest_api_id, &revision, live, secrets)
    });
    // A promotion by its rollout stays recorded while the stage serves the promoted deployment
    // (docs/behaviour.md, "Canary rollouts in plans"): without it, the file as it was would read
    // as a rollback to the old revision.
    if fresh.deployment_id == recorded.deployment_id {
        fresh.promoted_by_rollout = recorded.promoted_by_rollout.clone();
    }
    let drift = compare(
        address,
        [
            (
                "deployment_id",
                &recorded.deployment_id,
                &fresh.deployment_id,
            ),
            (
                "description",
                &none_or(recorded.description.as_deref()),
                &none_or(fresh.description.as_deref()),
            ),
            (
                "tracing",
                &recorded.tracing.to_string(),
                &fresh.tracing.to_string(),
            ),
            (
                "cache_size",
                &none_or(recorded.cache_size.as_deref()),
                &none_or(fresh.cache_size.as_deref()),
            ),
        ],
        ("variables", &recorded.variables, &fresh.variables),
    );
    (Some(fresh), drift)
}

/// A recorded canary refreshed from its stage's `GetStage`.
pub fn refresh_canary(
    state: &State,
    address: &Address,
    recorded: &CanaryState,
    live: Option<&LiveCanary>,
    sensitive: (&BTreeSet<String>, &SaltSeed),
) -> (Option<CanaryState>, Option<Drift>) {
    let rejected = recorded
        .rollout
        .as_ref()
        .is_some_and(RolloutState::is_rejected);
    let Some(live) = live else {
        // A canary its rollout rolled back or aborted is gone from AWS by design: its record is
        // what keeps the plan from deploying the rejected revision again.
        if rejected {
            return (Some(recorded.clone()), None);
        }
        return (None, Some(gone(address)));
    };
    let revision = followed_revision(
        state,
        &recorded.rest_api_id,
        (&recorded.revision, &recorded.deployment_id),
        live.deployment_id.as_deref(),
    );
    let stage = address.canary_parent().unwrap_or_else(|| address.clone());
    let mut fresh = against_record(&stage, &recorded.variable_overrides, sensitive, |secrets| {
        canary_record(
            &recorded.rest_api_id,
            &recorded.stage_name,
            &revision,
            live,
            secrets,
        )
    });
    let drift = compare(
        address,
        [
            (
                "deployment_id",
                &recorded.deployment_id,
                &fresh.deployment_id,
            ),
            (
                "percent_traffic",
                &recorded.percent_traffic.to_string(),
                &fresh.percent_traffic.to_string(),
            ),
            (
                "use_stage_cache",
                &recorded.use_stage_cache.to_string(),
                &fresh.use_stage_cache.to_string(),
            ),
        ],
        (
            "variable_overrides",
            &recorded.variable_overrides,
            &fresh.variable_overrides,
        ),
    );
    // A rollout stays recorded while its canary is live on the recorded deployment (a rejected
    // one whose canary is back, made outside stagecraft, is drift and no rollout of ours).
    if !rejected && fresh.deployment_id == recorded.deployment_id {
        fresh.rollout = recorded.rollout.clone();
    }
    (Some(fresh), drift)
}

/// A recorded branch refreshed from `GetBranch`. What cannot be read back (the password, the
/// deployed content) is kept as recorded unless AWS shows it changed (basic auth turned off).
pub fn refresh_branch(
    address: &Address,
    recorded: &BranchState,
    live: Option<&LiveBranch>,
    sensitive: (&BTreeSet<String>, &SaltSeed),
) -> (Option<BranchState>, Option<Drift>) {
    let Some(live) = live else {
        return (None, Some(gone(address)));
    };
    let mut fresh = against_record(address, &recorded.environment, sensitive, |secrets| {
        branch_record(&recorded.app_id, live, secrets)
    });
    fresh.artifact_digest = recorded.artifact_digest.clone();
    fresh.job_id = recorded.job_id.clone();
    // The app's domain is not part of `GetBranch`: the URL stays as recorded while the display
    // name it begins with is unchanged.
    fresh.url = recorded
        .url
        .clone()
        .filter(|url| url.starts_with(&format!("https://{}.", live.display_name)));
    fresh.basic_auth = match (&recorded.basic_auth, live.basic_auth_enabled) {
        (Some(auth), true) => Some(auth.clone()),
        _ => None,
    };
    let live_auth = if live.basic_auth_enabled {
        "enabled"
    } else {
        "(none)"
    };
    let drift = compare(
        address,
        [
            (
                "stage",
                &none_or(recorded.stage.as_deref()),
                &none_or(fresh.stage.as_deref()),
            ),
            (
                "description",
                &none_or(recorded.description.as_deref()),
                &none_or(fresh.description.as_deref()),
            ),
            (
                "framework",
                &none_or(recorded.framework.as_deref()),
                &none_or(fresh.framework.as_deref()),
            ),
            (
                "basic_auth",
                &auth_shown(recorded.basic_auth.as_ref()),
                &live_auth.to_string(),
            ),
        ],
        ("environment", &recorded.environment, &fresh.environment),
    );
    (Some(fresh), drift)
}

fn auth_shown(auth: Option<&BasicAuthState>) -> String {
    match auth {
        Some(_) => "enabled".to_string(),
        None => "(none)".to_string(),
    }
}

fn gone(address: &Address) -> Drift {
    Drift {
        address: address.clone(),
        deleted: true,
        attributes: Vec::new(),
    }
}

/// Replaces (or removes) a resource's record after a refresh.
pub fn set_record(state: &mut State, address: &Address, record: Option<ResourceState>) {
    match record {
        Some(record) => {
            state.resources.insert(address.clone(), record);
        }
        None => {
            state.resources.remove(address);
        }
    }
}

#[cfg(test)]
mod tests;
