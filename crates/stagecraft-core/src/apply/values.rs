//! The values a change sends: `${...}` references the plan deferred, resolved from what this
//! run has applied, and sensitive values in clear, found by the digest the plan holds.

use std::collections::BTreeMap;

use stagecraft_config::{Address, Attribute};

use super::Run;
use super::error::ApplyError;
use crate::plan::{Desired, PlannedValue, resolve_attribute};
use crate::state::{ResourceState, Site};

impl Run<'_> {
    /// An attribute of an applied resource, for `${...}` values deferred by the plan.
    pub(super) fn lookup(&self, address: &str, attribute: &str) -> Option<String> {
        let address = Address::parse(address).ok()?;
        let attribute = Attribute::offered_by(address.kind())
            .iter()
            .find(|(name, _)| *name == attribute)?
            .1;
        let state = self.state();
        let record = state.resources.get(&address);
        let desired = self
            .plan
            .changes
            .iter()
            .find(|change| change.address == address)
            .and_then(|change| change.after.as_ref());
        resolve_attribute(
            &address,
            attribute,
            &|_| match (record, desired) {
                (Some(ResourceState::Stage(stage)), _) => Some(stage.rest_api_id.clone()),
                (Some(ResourceState::Canary(canary)), _) => Some(canary.rest_api_id.clone()),
                (Some(ResourceState::Branch(branch)), _) => Some(branch.app_id.clone()),
                (None, Some(Desired::Stage(stage))) => Some(stage.rest_api_id.clone()),
                (None, Some(Desired::Canary(canary))) => Some(canary.rest_api_id.clone()),
                (None, Some(Desired::Branch(branch))) => Some(branch.app_id.clone()),
                (None, None) => None,
            },
            self.plan.region.as_deref(),
            &|_| match record {
                Some(ResourceState::Stage(stage)) => Some(stage.deployment_id.clone()),
                Some(ResourceState::Canary(canary)) => Some(canary.deployment_id.clone()),
                Some(ResourceState::Branch(branch)) => Some(branch.served_url()),
                None => None,
            },
        )
    }

    /// The values to send, in clear: sensitive ones found by the digest the plan holds. `map`
    /// names the values' map in the resource at `address` (`variables`, `environment`), where
    /// the plan digested them.
    pub(super) fn clear(
        &self,
        (address, map): (&Address, &str),
        values: &BTreeMap<String, PlannedValue>,
    ) -> Result<BTreeMap<String, String>, ApplyError> {
        values
            .iter()
            .map(|(key, value)| {
                let path = format!("{map}.{key}");
                Ok((
                    key.clone(),
                    self.clear_value(Site::new(address, &path), value)?,
                ))
            })
            .collect()
    }

    /// A value to send, in clear; `site` is where the plan digested it, if it is sensitive.
    pub(super) fn clear_value(
        &self,
        site: Site<'_>,
        value: &PlannedValue,
    ) -> Result<String, ApplyError> {
        match value {
            PlannedValue::Known { value } => Ok(value.clone()),
            PlannedValue::Sensitive { env, digest } => self
                .ctx
                .sensitive
                .get(site, env, digest)
                .map(str::to_string)
                .ok_or_else(|| {
                    if env.is_empty() {
                        ApplyError::PasswordChanged
                    } else {
                        ApplyError::SensitiveChanged {
                            variable: env.clone(),
                        }
                    }
                }),
            PlannedValue::Deferred { .. } => Err(ApplyError::ValueUnknown),
        }
    }
}
