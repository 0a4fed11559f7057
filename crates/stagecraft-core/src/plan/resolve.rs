//! Value resolution: what a configured value (literal, `${address.attribute}` template or
//! `{ env = ... }`) becomes in a plan, and how a template deferred to apply is resolved there.

use std::collections::BTreeMap;

use stagecraft_config::{Address, Attribute, Config, Part, Reference, Secrets, Template, Value};

use super::model::{Desired, PlannedPart, PlannedValue};
use crate::state::{ResourceState, SaltSeed, Site, State, StoredValue, digest_reusing};

/// Looks up `(address, attribute)` during apply, for deferred values.
pub type AttributeLookup<'a> = dyn Fn(&str, &str) -> Option<String> + 'a;

impl PlannedValue {
    /// Turns a deferred value into a known one; the unresolved reference on failure.
    pub fn resolve(&mut self, lookup: &AttributeLookup<'_>) -> Result<(), String> {
        let PlannedValue::Deferred { parts } = self else {
            return Ok(());
        };
        let mut text = String::new();
        for part in parts.iter() {
            match part {
                PlannedPart::Literal { text: literal } => text.push_str(literal),
                PlannedPart::Reference { address, attribute } => match lookup(address, attribute) {
                    Some(value) => text.push_str(&value),
                    None => return Err(format!("{address}.{attribute}")),
                },
            }
        }
        *self = PlannedValue::Known { value: text };
        Ok(())
    }
}

impl Desired {
    /// Resolves every deferred value; the first unresolved reference on failure.
    pub fn resolve_deferred(&mut self, lookup: &AttributeLookup<'_>) -> Result<(), String> {
        let values: Vec<&mut PlannedValue> = match self {
            Desired::Stage(stage) => stage.variables.values_mut().collect(),
            Desired::Canary(canary) => canary.variable_overrides.values_mut().collect(),
            Desired::Branch(branch) => {
                let mut values: Vec<&mut PlannedValue> = branch.environment.values_mut().collect();
                if let Some((user, password)) = &mut branch.basic_auth {
                    values.push(user);
                    values.push(password);
                }
                values
            }
        };
        for value in values {
            value.resolve(lookup)?;
        }
        Ok(())
    }
}

/// What a resource's attributes resolve to at plan time, given the state.
pub(super) struct Resolver<'a> {
    pub(super) config: &'a Config,
    pub(super) state: Option<&'a State>,
    pub(super) region: Option<&'a str>,
    /// The seed of the salts of new sensitive-value digests.
    pub(super) salt_seed: &'a SaltSeed,
    /// `--replace` addresses.
    pub(super) replace: &'a [Address],
}

impl Resolver<'_> {
    /// The value of `reference` if it is known before apply.
    fn attribute(&self, reference: &Reference) -> Option<String> {
        resolve_attribute(
            &reference.address,
            reference.attribute,
            &|address| self.ids(address),
            self.region,
            &|address| self.recorded(address),
        )
    }

    fn ids(&self, address: &Address) -> Option<String> {
        match address {
            Address::Stage { api, .. } | Address::Canary { api, .. } => {
                self.config.rest_apis.get(api).map(|api| api.id.clone())
            }
            Address::Branch { app, .. } => {
                self.config.amplify_apps.get(app).map(|app| app.id.clone())
            }
        }
    }

    /// What AWS decided that is known before apply: the deployment a stage or canary will
    /// point at, a recorded branch's URL.
    fn recorded(&self, address: &Address) -> Option<String> {
        let state = self.state?;
        // A `--replace`d stage or canary gets a new deployment: unknown until apply.
        if self.replace.contains(address) && !matches!(address, Address::Branch { .. }) {
            return None;
        }
        let (api, revision) = match address {
            Address::Stage { api, stage } => (api, &self.config.stage(api, stage)?.revision),
            Address::Canary { api, stage } => (
                api,
                &self.config.stage(api, stage)?.canary.as_ref()?.revision,
            ),
            Address::Branch { .. } => {
                return match state.resources.get(address) {
                    Some(ResourceState::Branch(branch)) => Some(branch.served_url()),
                    _ => None,
                };
            }
        };
        // A stage or canary that stays on its revision keeps its own deployment (after a
        // `--replace` of another stage, the map points at the newer one).
        match state.resources.get(address) {
            Some(ResourceState::Stage(stage)) if &stage.revision == revision => {
                return Some(stage.deployment_id.clone());
            }
            Some(ResourceState::Canary(canary)) if &canary.revision == revision => {
                return Some(canary.deployment_id.clone());
            }
            _ => {}
        }
        let api_id = &self.config.rest_apis.get(api)?.id;
        state.deployment_of(api_id, revision).map(str::to_string)
    }
}

/// The DNS suffix of AWS endpoints in `region`'s partition: `amazonaws.com.cn` in the China
/// regions (`cn-*`), `amazonaws.com` otherwise. Every invoke URL is built with it.
///
/// Other partitions have their own suffixes (e.g. `us-iso-*` uses `c2s.ic.gov`, `us-isob-*`
/// `sc2s.sgov.gov`); they are not supported and get `amazonaws.com`. (GovCloud, `us-gov-*`, is
/// `amazonaws.com`.)
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Where Amplify serves a branch: `https://<displayName>.<defaultDomain>`, the display name
/// from the branch AWS answered (`CreateBranch`, `UpdateBranch`, `GetBranch`) and the default
/// domain from its app (`GetApp`; the `Branch` shape carries no domain). Every branch URL
/// recorded is built here.
pub fn branch_url(display_name: &str, default_domain: &str) -> String {
    format!("https://{display_name}.{default_domain}")
}

/// Resolves an attribute from ids, region and what AWS decided and the state recorded
/// (`recorded`: a stage's or canary's deployment id, a branch's URL); shared by plan and apply.
pub fn resolve_attribute(
    address: &Address,
    attribute: Attribute,
    id_of: &dyn Fn(&Address) -> Option<String>,
    region: Option<&str>,
    recorded: &dyn Fn(&Address) -> Option<String>,
) -> Option<String> {
    match (address, attribute) {
        (Address::Stage { stage, .. }, Attribute::InvokeUrl) => {
            let id = id_of(address)?;
            let region = region?;
            Some(format!(
                "https://{id}.execute-api.{region}.{}/{stage}",
                dns_suffix(region)
            ))
        }
        (Address::Stage { stage, .. }, Attribute::StageName) => Some(stage.clone()),
        (Address::Stage { .. } | Address::Canary { .. }, Attribute::DeploymentId) => {
            recorded(address)
        }
        // AWS decides it (the display name and the app's domain): known once recorded.
        (Address::Branch { .. }, Attribute::Url) => recorded(address),
        (Address::Branch { branch, .. }, Attribute::BranchName) => Some(branch.clone()),
        _ => None,
    }
}

impl Resolver<'_> {
    /// The value planned at `site`. A sensitive one is digested there, keeping the recorded
    /// digest when it is the digest of the same value (so an unchanged secret compares equal).
    pub(super) fn value(
        &self,
        value: &Value,
        secrets: &Secrets,
        site: Site<'_>,
        recorded: Option<&StoredValue>,
    ) -> PlannedValue {
        match value {
            Value::Env { .. } | Value::Var { .. } => {
                let key = value.secret_key().unwrap_or_default();
                PlannedValue::Sensitive {
                    digest: secrets
                        .get(&key)
                        .map(|secret| self.digest(site, recorded, secret.expose()))
                        .unwrap_or_default(),
                    env: key,
                }
            }
            Value::Text(template) => self.text(template),
        }
    }

    /// A template as planned: known when every reference is, else deferred to apply.
    pub(super) fn text(&self, template: &Template) -> PlannedValue {
        let mut text = String::new();
        let mut deferred = false;
        let mut parts = Vec::new();
        for part in &template.parts {
            match part {
                Part::Literal(literal) => {
                    text.push_str(literal);
                    parts.push(PlannedPart::Literal {
                        text: literal.clone(),
                    });
                }
                Part::Ref(reference) => match self.attribute(reference) {
                    Some(value) => {
                        text.push_str(&value);
                        parts.push(PlannedPart::Literal { text: value });
                    }
                    None => {
                        deferred = true;
                        parts.push(PlannedPart::Reference {
                            address: reference.address.to_string(),
                            attribute: reference.attribute.as_str().to_string(),
                        });
                    }
                },
            }
        }
        if deferred {
            PlannedValue::Deferred { parts }
        } else {
            PlannedValue::Known { value: text }
        }
    }

    /// The values of the map `map` (`variables`, `environment`) of the resource at `address`,
    /// against what `recorded` holds for it.
    pub(super) fn values(
        &self,
        values: &BTreeMap<String, Value>,
        secrets: &Secrets,
        (address, map): (&Address, &str),
        recorded: Option<&BTreeMap<String, StoredValue>>,
    ) -> BTreeMap<String, PlannedValue> {
        values
            .iter()
            .map(|(key, value)| {
                let path = format!("{map}.{key}");
                let planned = self.value(
                    value,
                    secrets,
                    Site::new(address, &path),
                    recorded.and_then(|recorded| recorded.get(key)),
                );
                (key.clone(), planned)
            })
            .collect()
    }

    /// The digest of `clear` at `site`: the recorded one if it digests the same value, else
    /// a new one salted from the plan's seed.
    fn digest(&self, site: Site<'_>, recorded: Option<&StoredValue>, clear: &str) -> String {
        let recorded = match recorded {
            Some(StoredValue::Sensitive { sensitive }) => Some(sensitive.as_str()),
            _ => None,
        };
        digest_reusing(recorded, self.salt_seed, site, clear)
    }

    /// Passwords are always sensitive, even when written in the file.
    pub(super) fn password(
        &self,
        value: &PlannedValue,
        site: Site<'_>,
        recorded: Option<&StoredValue>,
    ) -> PlannedValue {
        match value {
            PlannedValue::Known { value } => PlannedValue::Sensitive {
                env: String::new(),
                digest: self.digest(site, recorded, value),
            },
            other => other.clone(),
        }
    }
}
