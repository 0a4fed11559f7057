//! A revision's snapshot (docs/behaviour.md, "Snapshots and revisions"): one `CreateDeployment`
//! per (REST API, revision), ever. The deployment of a revision is the one the state maps, else
//! one an earlier run's `CreateDeployment` left in doubt, found again on AWS by its marker, else
//! a new snapshot under a new marker, looked for with `GetDeployments` before it is sent again
//! when its answer is lost.

use stagecraft_config::Address;

use super::Run;
use super::effects::deployment_effect;
use super::error::ApplyError;
use super::journal::{Call, SnapshotMarker};
use super::schedule::CallKind;
use crate::provider::ProviderError;

impl Run<'_> {
    /// The deployment of `revision` on `api`: recorded, found again, or a new snapshot. Stages
    /// of one API on the same revision share it, as a revision names one snapshot. `fresh`
    /// (`--replace`) skips the deployment the state maps: a new one is made and mapped instead.
    pub(super) async fn snapshot(
        &self,
        address: &Address,
        api: &str,
        revision: &str,
        fresh: bool,
    ) -> Result<String, ApplyError> {
        let lock = self.revision_lock(api);
        let _guard = lock.lock().await;
        if let Some(known) = self.known_deployment(address, api, revision, fresh).await? {
            return Ok(known);
        }
        let marker = self.new_marker(api, revision);
        self.mutate_checked(
            address,
            Call::CreateDeployment,
            Some(&marker),
            CallKind::Deployment { rest_api_id: api },
            || self.ctx.provider.create_snapshot(api, &marker.description),
            || self.find_marked(&marker),
            |id| vec![deployment_effect(api, revision, id)],
        )
        .await
    }

    /// The deployment of `revision` on `api` the state maps, or the one a `CreateDeployment` in
    /// doubt from an earlier run made (found by its marker, then recorded). Called with the
    /// API's revision lock held. `fresh` skips the mapped one (a `--replace`).
    pub(super) async fn known_deployment(
        &self,
        address: &Address,
        api: &str,
        revision: &str,
        fresh: bool,
    ) -> Result<Option<String>, ApplyError> {
        if !fresh && let Some(known) = self.deployment_of(api, revision) {
            return Ok(Some(known));
        }
        let markers: Vec<&SnapshotMarker> = self
            .ctx
            .in_doubt
            .iter()
            .filter_map(|operation| operation.snapshot.as_ref())
            .filter(|marker| marker.rest_api_id == api && marker.revision == revision)
            .collect();
        if markers.is_empty() {
            return Ok(None);
        }
        let deployments = self
            .read(address, Call::GetDeployments, || {
                self.ctx.provider.get_deployments(api)
            })
            .await?;
        let Some(found) = deployments.into_iter().find(|deployment| {
            markers
                .iter()
                .any(|marker| deployment.description.as_deref() == Some(&marker.description))
        }) else {
            return Ok(None);
        };
        self.progress(
            address,
            format!(
                "found deployment {} of revision {revision}, made by an interrupted apply",
                found.id
            ),
        );
        self.record(vec![deployment_effect(api, revision, &found.id)])?;
        Ok(Some(found.id))
    }

    /// Finds again, and records, the snapshots that this resource's operations in doubt were
    /// making, so that a stage an interrupted create left on one counts as ours.
    pub(super) async fn settle_snapshots(&self, address: &Address) -> Result<(), ApplyError> {
        let markers = self
            .ctx
            .in_doubt
            .iter()
            .filter(|operation| operation.address == *address)
            .filter_map(|operation| operation.snapshot.as_ref());
        for marker in markers {
            let lock = self.revision_lock(&marker.rest_api_id);
            let _guard = lock.lock().await;
            self.known_deployment(address, &marker.rest_api_id, &marker.revision, false)
                .await?;
        }
        Ok(())
    }

    /// The marker of a new snapshot of `revision` by this run.
    pub(super) fn new_marker(&self, api: &str, revision: &str) -> SnapshotMarker {
        let n = self
            .snapshots
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        SnapshotMarker::new(api, revision, &self.plan.lineage, self.ctx.run_id, n)
    }

    /// `GetDeployments`: the id of the deployment `marker` describes, if AWS has it.
    pub(super) async fn find_marked(
        &self,
        marker: &SnapshotMarker,
    ) -> Result<Option<String>, ProviderError> {
        let deployments = self
            .ctx
            .provider
            .get_deployments(&marker.rest_api_id)
            .await?;
        Ok(deployments
            .into_iter()
            .find(|deployment| deployment.description.as_deref() == Some(&marker.description))
            .map(|deployment| deployment.id))
    }

    /// The revision a deployment of `api` is recorded as the snapshot of, if any: whether it is
    /// one of ours.
    pub(super) fn revision_of(&self, api: &str, deployment_id: &str) -> Option<String> {
        self.state()
            .deployments
            .get(api)?
            .iter()
            .find(|(_, id)| id.as_str() == deployment_id)
            .map(|(revision, _)| revision.clone())
    }
}

#[cfg(test)]
mod tests;
