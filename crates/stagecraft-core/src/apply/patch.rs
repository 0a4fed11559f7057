//! The minimal `UpdateStage` patch lists and `UpdateBranch` settings that take a recorded
//! resource to its desired attributes (`docs/behaviour.md`, "Actions and their calls"). Pure
//! functions of two records.

use std::collections::BTreeMap;

use crate::plan::{DesiredBranch, DesiredCanary, DesiredStage, PlannedValue};
use crate::provider::{BranchSettings, PatchOp};
use crate::state::{BranchState, CanaryState, StageState, StoredValue};

/// Escapes a map key for a JSON-patch path (`~` as `~0`, `/` as `~1`).
pub(crate) fn escape_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn replace(path: impl Into<String>, value: impl Into<String>) -> PatchOp {
    PatchOp::Replace {
        path: path.into(),
        value: value.into(),
    }
}

fn remove(path: impl Into<String>) -> PatchOp {
    PatchOp::Remove { path: path.into() }
}

fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// `replace` for every key that is new or changed, `remove` for every key gone. `clear` holds
/// the values to send (sensitive ones in clear), by key.
fn map_patch(
    prefix: &str,
    old: &BTreeMap<String, StoredValue>,
    desired: &BTreeMap<String, PlannedValue>,
    clear: &BTreeMap<String, String>,
    patch: &mut Vec<PatchOp>,
) {
    for (key, value) in desired {
        if old.get(key).is_none_or(|stored| !value.matches(stored))
            && let Some(text) = clear.get(key)
        {
            patch.push(replace(
                format!("{prefix}/{}", escape_key(key)),
                text.clone(),
            ));
        }
    }
    for key in old.keys() {
        if !desired.contains_key(key) {
            patch.push(remove(format!("{prefix}/{}", escape_key(key))));
        }
    }
}

/// The settings part of a stage's `UpdateStage`: description, tracing, cache, variables.
pub(crate) fn stage_settings(
    old: &StageState,
    desired: &DesiredStage,
    clear_variables: &BTreeMap<String, String>,
) -> Vec<PatchOp> {
    let mut patch = Vec::new();
    if old.description != desired.description {
        patch.push(replace(
            "/description",
            desired.description.clone().unwrap_or_default(),
        ));
    }
    if old.tracing != desired.tracing {
        patch.push(replace("/tracingEnabled", flag(desired.tracing)));
    }
    match (
        old.cache_size.as_deref(),
        desired.cache_size.map(|s| s.as_str()),
    ) {
        (None, Some(size)) => {
            patch.push(replace("/cacheClusterEnabled", "true"));
            patch.push(replace("/cacheClusterSize", size));
        }
        (Some(_), None) => patch.push(replace("/cacheClusterEnabled", "false")),
        (Some(old_size), Some(size)) if old_size != size => {
            patch.push(replace("/cacheClusterSize", size));
        }
        _ => {}
    }
    map_patch(
        "/variables",
        &old.variables,
        &desired.variables,
        clear_variables,
        &mut patch,
    );
    patch
}

/// Whether a patch touches the cache (and apply must wait for it to settle).
pub(crate) fn touches_cache(patch: &[PatchOp]) -> bool {
    patch.iter().any(|op| match op {
        PatchOp::Replace { path, .. } => path.starts_with("/cacheCluster"),
        _ => false,
    })
}

/// The canary part of an `UpdateStage`: percent, cache flag and overrides. With `deployment`,
/// the canary is also re-pointed (and every setting is sent, as for a new canary).
pub(crate) fn canary_settings(
    old: Option<&CanaryState>,
    desired: &DesiredCanary,
    clear_overrides: &BTreeMap<String, String>,
    deployment: Option<&str>,
) -> Vec<PatchOp> {
    let mut patch = Vec::new();
    if let Some(deployment) = deployment {
        patch.push(replace("/canarySettings/deploymentId", deployment));
    }
    // A new or re-pointed canary gets every setting; overrides are always diffed against the
    // recorded ones, so that keys dropped from the file are removed.
    let everything = old.is_none() || deployment.is_some();
    if everything || old.is_some_and(|old| old.percent_traffic != desired.percent_traffic) {
        patch.push(replace(
            "/canarySettings/percentTraffic",
            desired.percent_traffic.to_string(),
        ));
    }
    if everything || old.is_some_and(|old| old.use_stage_cache != desired.use_stage_cache) {
        patch.push(replace(
            "/canarySettings/useStageCache",
            flag(desired.use_stage_cache),
        ));
    }
    let empty = BTreeMap::new();
    map_patch(
        "/canarySettings/stageVariableOverrides",
        old.map_or(&empty, |old| &old.variable_overrides),
        &desired.variable_overrides,
        clear_overrides,
        &mut patch,
    );
    patch
}

/// Promotion (AWS-recorded): the canary's deployment and overrides become the stage's, then
/// the canary goes.
pub(crate) fn promotion(canary: &CanaryState) -> Vec<PatchOp> {
    let mut patch = vec![PatchOp::Copy {
        from: "/canarySettings/deploymentId".to_string(),
        path: "/deploymentId".to_string(),
    }];
    if !canary.variable_overrides.is_empty() {
        patch.push(PatchOp::Copy {
            from: "/canarySettings/stageVariableOverrides".to_string(),
            path: "/variables".to_string(),
        });
    }
    patch.push(remove("/canarySettings"));
    patch
}

/// The values to send for a branch, in clear.
pub(crate) struct ClearBranch {
    pub environment: BTreeMap<String, String>,
    pub basic_auth: Option<(String, String)>,
}

/// Every setting, for `CreateBranch` (or `UpdateBranch` of a branch found unrecorded).
pub(crate) fn branch_all(desired: &DesiredBranch, clear: &ClearBranch) -> BranchSettings {
    BranchSettings {
        stage: desired.stage,
        description: desired.description.clone(),
        framework: desired.framework.clone(),
        environment: Some(clear.environment.clone()),
        basic_auth: Some(clear.basic_auth.clone()),
    }
}

/// Only what changed, for `UpdateBranch`; `None` when nothing did.
pub(crate) fn branch_changes(
    old: &BranchState,
    desired: &DesiredBranch,
    clear: &ClearBranch,
) -> Option<BranchSettings> {
    let mut settings = BranchSettings::default();
    if let Some(stage) = desired.stage
        && old.stage.as_deref() != Some(stage.as_str())
    {
        settings.stage = Some(stage);
    }
    if old.description != desired.description {
        settings.description = Some(desired.description.clone().unwrap_or_default());
    }
    if old.framework != desired.framework {
        settings.framework = Some(desired.framework.clone().unwrap_or_default());
    }
    if !crate::plan::values_match(&desired.environment, &old.environment) {
        settings.environment = Some(clear.environment.clone());
    }
    let auth_matches =
        crate::plan::basic_auth_matches(old.basic_auth.as_ref(), desired.basic_auth.as_ref());
    if !auth_matches {
        settings.basic_auth = Some(clear.basic_auth.clone());
    }
    (settings != BranchSettings::default()).then_some(settings)
}
