//! The values a change sends: `${...}` references the plan deferred, resolved from what this
//! run has applied and then held to AWS's value rules (as validation holds the values known at
//! plan time), and sensitive values in clear, found by the digest the plan holds.

use std::collections::BTreeMap;

use stagecraft_config::rules::{self, Rule};
use stagecraft_config::{Address, Attribute};

use super::Run;
use super::error::ApplyError;
use crate::plan::{Desired, PlannedValue, resolve_attribute};
use crate::state::{ResourceState, Site};

/// Checks each value the plan deferred (`planned`) and this run resolved (`resolved`) against
/// AWS's rule for it: a stage variable's or canary override's charset and length, an Amplify
/// environment value's length, a basic-auth part's. The first that breaks its rule fails the
/// change before anything is sent.
pub(super) fn check_resolved(planned: &Desired, resolved: &Desired) -> Result<(), ApplyError> {
    let mut values = Vec::new();
    match (planned, resolved) {
        (Desired::Stage(planned), Desired::Stage(resolved)) => values.extend(pairs(
            "stage variable",
            &planned.variables,
            &resolved.variables,
            &rules::VARIABLE_VALUE,
        )),
        (Desired::Canary(planned), Desired::Canary(resolved)) => values.extend(pairs(
            "canary override",
            &planned.variable_overrides,
            &resolved.variable_overrides,
            &rules::VARIABLE_VALUE,
        )),
        (Desired::Branch(planned), Desired::Branch(resolved)) => {
            values.extend(pairs(
                "environment variable",
                &planned.environment,
                &resolved.environment,
                &rules::AMPLIFY_ENV_VALUE,
            ));
            if let (Some((user, password)), Some((user_now, password_now))) =
                (&planned.basic_auth, &resolved.basic_auth)
            {
                let rule = &rules::BASIC_AUTH_PART;
                values.push(Checked::hidden(
                    "the basic-auth user name",
                    user,
                    user_now,
                    rule,
                ));
                values.push(Checked::hidden(
                    "the basic-auth password",
                    password,
                    password_now,
                    rule,
                ));
            }
        }
        _ => {}
    }
    for checked in values {
        let (PlannedValue::Deferred { .. }, PlannedValue::Known { value }) =
            (checked.planned, checked.resolved)
        else {
            continue;
        };
        if let Err(violation) = checked.rule.check(value) {
            let shown = if checked.show {
                format!("(resolved to `{}`) ", rules::shorten(value))
            } else {
                "(as resolved) ".to_string()
            };
            return Err(ApplyError::ValueBreaksRule {
                what: checked.what,
                shown,
                help: checked.rule.help_for(&violation),
                violation,
            });
        }
    }
    Ok(())
}

/// A value as planned and as resolved, the rule it is held to, and how a message names it.
struct Checked<'a> {
    what: String,
    /// Whether the value may be shown (not where it may be a secret).
    show: bool,
    planned: &'a PlannedValue,
    resolved: &'a PlannedValue,
    rule: &'static Rule,
}

impl<'a> Checked<'a> {
    fn hidden(
        what: &str,
        planned: &'a PlannedValue,
        resolved: &'a PlannedValue,
        rule: &'static Rule,
    ) -> Checked<'a> {
        Checked {
            what: what.to_string(),
            show: false,
            planned,
            resolved,
            rule,
        }
    }
}

/// The values of a map, as planned and as resolved, by key.
fn pairs<'a>(
    what: &'a str,
    planned: &'a BTreeMap<String, PlannedValue>,
    resolved: &'a BTreeMap<String, PlannedValue>,
    rule: &'static Rule,
) -> impl Iterator<Item = Checked<'a>> + 'a {
    planned.iter().filter_map(move |(key, before)| {
        resolved.get(key).map(|after| Checked {
            what: format!("{what} `{key}`"),
            show: true,
            planned: before,
            resolved: after,
            rule,
        })
    })
}

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
