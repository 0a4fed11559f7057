//! API Gateway (REST, v1) calls: deployments (snapshots), stages, canaries.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::types::{
    CacheClusterSize, CacheClusterStatus, CanarySettings, DeploymentCanarySettings, Op,
    PatchOperation,
};
use stagecraft_core::provider::{
    CacheSize, CacheStatus, ErrorKind, LiveCanary, LiveDeployment, LiveStage, NewCanary, NewStage,
    PatchOp, ProviderResult,
};

use crate::errors::{from_sdk, incomplete};

/// Builds a [`LiveStage`] from any of the SDK's stage shapes (`Stage`, `GetStageOutput`,
/// `UpdateStageOutput`), which share their accessors but no trait.
macro_rules! live_stage {
    ($stage:expr, $fallback_name:expr) => {{
        let s = $stage;
        LiveStage {
            stage_name: s.stage_name().unwrap_or($fallback_name).to_string(),
            deployment_id: non_empty(s.deployment_id()),
            description: non_empty(s.description()),
            tracing: s.tracing_enabled(),
            variables: to_btree(s.variables()),
            cache_enabled: s.cache_cluster_enabled(),
            cache_size: s.cache_cluster_size().map(|c| c.as_str().to_string()),
            cache_status: s.cache_cluster_status().map(cache_status),
            canary: s.canary_settings().map(live_canary),
        }
    }};
}

/// A configured cache size as the SDK's.
pub(crate) fn cache_cluster_size(size: CacheSize) -> CacheClusterSize {
    match size {
        CacheSize::Gb0_5 => CacheClusterSize::Size0Point5Gb,
        CacheSize::Gb1_6 => CacheClusterSize::Size1Point6Gb,
        CacheSize::Gb6_1 => CacheClusterSize::Size6Point1Gb,
        CacheSize::Gb13_5 => CacheClusterSize::Size13Point5Gb,
        CacheSize::Gb28_4 => CacheClusterSize::Size28Point4Gb,
        CacheSize::Gb58_2 => CacheClusterSize::Size58Point2Gb,
        CacheSize::Gb118 => CacheClusterSize::Size118Gb,
        CacheSize::Gb237 => CacheClusterSize::Size237Gb,
    }
}

/// The SDK's cache cluster status as the engine's; one this version does not know keeps its
/// spelling.
pub(crate) fn cache_status(status: &CacheClusterStatus) -> CacheStatus {
    match status {
        CacheClusterStatus::CreateInProgress => CacheStatus::CreateInProgress,
        CacheClusterStatus::Available => CacheStatus::Available,
        CacheClusterStatus::DeleteInProgress => CacheStatus::DeleteInProgress,
        CacheClusterStatus::NotAvailable => CacheStatus::NotAvailable,
        CacheClusterStatus::FlushInProgress => CacheStatus::FlushInProgress,
        other => CacheStatus::Unknown(other.as_str().to_string()),
    }
}

/// `Some(text)` unless absent or empty.
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

/// An SDK map (absent = empty) as a sorted map.
pub(crate) fn to_btree(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// A map for the SDK; `None` when empty, so that nothing is sent.
pub(crate) fn to_hash(map: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The SDK's canary settings as a [`LiveCanary`].
fn live_canary(c: &CanarySettings) -> LiveCanary {
    LiveCanary {
        deployment_id: non_empty(c.deployment_id()),
        percent_traffic: c.percent_traffic(),
        variable_overrides: to_btree(c.stage_variable_overrides()),
        use_stage_cache: c.use_stage_cache(),
    }
}

/// A [`PatchOp`] as the SDK's `PatchOperation`.
fn patch_operation(op: &PatchOp) -> PatchOperation {
    match op {
        PatchOp::Replace { path, value } => PatchOperation::builder()
            .op(Op::Replace)
            .path(path)
            .value(value)
            .build(),
        PatchOp::Remove { path } => PatchOperation::builder().op(Op::Remove).path(path).build(),
        PatchOp::Copy { from, path } => PatchOperation::builder()
            .op(Op::Copy)
            .from(from)
            .path(path)
            .build(),
    }
}

/// `CreateStage` from an existing deployment, with its settings (and canary, if any).
pub(crate) async fn create_stage(client: &Client, stage: &NewStage) -> ProviderResult<LiveStage> {
    const OP: &str = "CreateStage";
    tracing::debug!(
        rest_api_id = %stage.rest_api_id,
        stage_name = %stage.stage_name,
        "{OP}"
    );
    let canary = stage.canary.as_ref().map(|canary| {
        CanarySettings::builder()
            .deployment_id(&canary.deployment_id)
            .percent_traffic(canary.percent_traffic)
            .set_stage_variable_overrides(to_hash(&canary.variable_overrides))
            .use_stage_cache(canary.use_stage_cache)
            .build()
    });
    let out = client
        .create_stage()
        .rest_api_id(&stage.rest_api_id)
        .stage_name(&stage.stage_name)
        .deployment_id(&stage.deployment_id)
        .set_description(stage.stage_description.clone())
        .set_variables(to_hash(&stage.variables))
        .cache_cluster_enabled(stage.cache_size.is_some())
        .set_cache_cluster_size(stage.cache_size.map(cache_cluster_size))
        .tracing_enabled(stage.tracing)
        .set_canary_settings(canary)
        .send()
        .await
        .map_err(|e| from_sdk(OP, e))?;
    Ok(live_stage!(&out, &stage.stage_name))
}

/// `GetDeployments`, every page (500 per page, the most AWS gives).
pub(crate) async fn get_deployments(
    client: &Client,
    rest_api_id: &str,
) -> ProviderResult<Vec<LiveDeployment>> {
    const OP: &str = "GetDeployments";
    const PAGE: i32 = 500;
    tracing::debug!(rest_api_id, "{OP}");
    let mut deployments = Vec::new();
    let mut position: Option<String> = None;
    loop {
        let out = client
            .get_deployments()
            .rest_api_id(rest_api_id)
            .limit(PAGE)
            .set_position(position.take())
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        deployments.extend(out.items().iter().filter_map(|deployment| {
            Some(LiveDeployment {
                id: non_empty(deployment.id())?,
                description: non_empty(deployment.description()),
            })
        }));
        match non_empty(out.position()) {
            Some(next) => position = Some(next),
            None => return Ok(deployments),
        }
    }
}

/// `CreateDeployment` without a stage: an immutable snapshot of the API.
pub(crate) async fn create_snapshot(
    client: &Client,
    rest_api_id: &str,
    description: &str,
) -> ProviderResult<String> {
    const OP: &str = "CreateDeployment";
    tracing::debug!(rest_api_id, "{OP} (snapshot)");
    let out = client
        .create_deployment()
        .rest_api_id(rest_api_id)
        .description(description)
        .send()
        .await
        .map_err(|e| from_sdk(OP, e))?;
    non_empty(out.id()).ok_or_else(|| incomplete(OP, "deployment id"))
}

/// `CreateDeployment` with `canarySettings` onto an existing stage.
pub(crate) async fn create_canary(client: &Client, canary: &NewCanary) -> ProviderResult<String> {
    const OP: &str = "CreateDeployment";
    tracing::debug!(
        rest_api_id = %canary.rest_api_id,
        stage_name = %canary.stage_name,
        "{OP} (canary)"
    );
    let settings = DeploymentCanarySettings::builder()
        .percent_traffic(canary.percent_traffic)
        .set_stage_variable_overrides(to_hash(&canary.variable_overrides))
        .use_stage_cache(canary.use_stage_cache)
        .build();
    let out = client
        .create_deployment()
        .rest_api_id(&canary.rest_api_id)
        .stage_name(&canary.stage_name)
        .description(&canary.deployment_description)
        .canary_settings(settings)
        .send()
        .await
        .map_err(|e| from_sdk(OP, e))?;
    non_empty(out.id()).ok_or_else(|| incomplete(OP, "deployment id"))
}

/// `UpdateStage` with the patch list in order; returns the stage as AWS reports it afterwards.
pub(crate) async fn update_stage(
    client: &Client,
    rest_api_id: &str,
    stage_name: &str,
    patch: &[PatchOp],
) -> ProviderResult<LiveStage> {
    const OP: &str = "UpdateStage";
    tracing::debug!(rest_api_id, stage_name, operations = patch.len(), "{OP}");
    let out = client
        .update_stage()
        .rest_api_id(rest_api_id)
        .stage_name(stage_name)
        .set_patch_operations(Some(patch.iter().map(patch_operation).collect()))
        .send()
        .await
        .map_err(|e| from_sdk(OP, e))?;
    Ok(live_stage!(&out, stage_name))
}

/// `GetStage`; `None` when AWS answers NotFound (the stage, or the whole API, is missing).
pub(crate) async fn get_stage(
    client: &Client,
    rest_api_id: &str,
    stage_name: &str,
) -> ProviderResult<Option<LiveStage>> {
    const OP: &str = "GetStage";
    tracing::debug!(rest_api_id, stage_name, "{OP}");
    match client
        .get_stage()
        .rest_api_id(rest_api_id)
        .stage_name(stage_name)
        .send()
        .await
    {
        Ok(out) => Ok(Some(live_stage!(&out, stage_name))),
        Err(e) => {
            let err = from_sdk(OP, e);
            if err.kind == ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// `GetStages`: every stage of an API, in one unpaginated call.
pub(crate) async fn get_stages(
    client: &Client,
    rest_api_id: &str,
) -> ProviderResult<Vec<LiveStage>> {
    const OP: &str = "GetStages";
    tracing::debug!(rest_api_id, "{OP}");
    let out = client
        .get_stages()
        .rest_api_id(rest_api_id)
        .send()
        .await
        .map_err(|e| from_sdk(OP, e))?;
    Ok(out.item().iter().map(|s| live_stage!(s, "")).collect())
}

/// `DeleteStage`.
pub(crate) async fn delete_stage(
    client: &Client,
    rest_api_id: &str,
    stage_name: &str,
) -> ProviderResult<()> {
    const OP: &str = "DeleteStage";
    tracing::debug!(rest_api_id, stage_name, "{OP}");
    client
        .delete_stage()
        .rest_api_id(rest_api_id)
        .stage_name(stage_name)
        .send()
        .await
        .map_err(|e| from_sdk(OP, e))?;
    Ok(())
}

#[cfg(test)]
mod tests;
