//! `[[moved]]` and `[[removed]]` blocks: the addresses they name (a resource, or a whole REST
//! API or Amplify app) and how a recorded address is re-keyed by a move.

use std::fmt;

use miette::SourceSpan;

use crate::address::{Address, AddressError};

/// What a `[[moved]]` or `[[removed]]` block names: one resource (a stage, canary or branch),
/// or a whole REST API (`rest_apis.<key>`, its stages and canaries) or Amplify app
/// (`amplify_apps.<key>`, its branches).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefactorTarget {
    /// A stage, canary or branch.
    Resource(Address),
    /// `rest_apis.<key>`
    RestApi(String),
    /// `amplify_apps.<key>`
    AmplifyApp(String),
}

/// The kind of thing a [`RefactorTarget`] names; a move's two ends must be of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefactorKind {
    /// A resource of this kind.
    Resource(crate::ResourceKind),
    /// A REST API.
    RestApi,
    /// An Amplify app.
    AmplifyApp,
}

impl fmt::Display for RefactorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefactorKind::Resource(crate::ResourceKind::Stage) => "a stage",
            RefactorKind::Resource(crate::ResourceKind::Canary) => "a canary",
            RefactorKind::Resource(crate::ResourceKind::Branch) => "a branch",
            RefactorKind::RestApi => "a REST API",
            RefactorKind::AmplifyApp => "an Amplify app",
        })
    }
}

impl RefactorTarget {
    /// Parses a resource address, `rest_apis.<key>` or `amplify_apps.<key>`.
    pub fn parse(text: &str) -> Result<RefactorTarget, AddressError> {
        let key = |prefix: &str| {
            text.strip_prefix(prefix)
                .filter(|key| !key.is_empty() && !key.contains('.') && !key.contains('"'))
        };
        if let Some(api) = key("rest_apis.") {
            return Ok(RefactorTarget::RestApi(api.to_string()));
        }
        if let Some(app) = key("amplify_apps.") {
            return Ok(RefactorTarget::AmplifyApp(app.to_string()));
        }
        Address::parse(text).map(RefactorTarget::Resource)
    }

    /// Its kind.
    pub fn kind(&self) -> RefactorKind {
        match self {
            RefactorTarget::Resource(address) => RefactorKind::Resource(address.kind()),
            RefactorTarget::RestApi(_) => RefactorKind::RestApi,
            RefactorTarget::AmplifyApp(_) => RefactorKind::AmplifyApp,
        }
    }

    /// Whether `address` is this target or lies within it (a stage's canary lies within the
    /// stage; an API's stages and canaries within the API; an app's branches within the app).
    pub fn covers(&self, address: &Address) -> bool {
        match (self, address) {
            (RefactorTarget::Resource(own), _) => {
                own == address || address.canary_parent().as_ref() == Some(own)
            }
            (
                RefactorTarget::RestApi(key),
                Address::Stage { api, .. } | Address::Canary { api, .. },
            ) => api == key,
            (RefactorTarget::AmplifyApp(key), Address::Branch { app, .. }) => app == key,
            _ => false,
        }
    }

    /// Where `address` (covered by `self`) lands when `self` moves to `to` (of the same kind);
    /// `None` when `self` does not cover it.
    pub fn rekey(&self, to: &RefactorTarget, address: &Address) -> Option<Address> {
        if !self.covers(address) {
            return None;
        }
        match (to, address) {
            (RefactorTarget::Resource(to), _)
                if self == &RefactorTarget::Resource(address.clone()) =>
            {
                Some(to.clone())
            }
            (RefactorTarget::Resource(Address::Stage { api, stage }), Address::Canary { .. }) => {
                Some(Address::Canary {
                    api: api.clone(),
                    stage: stage.clone(),
                })
            }
            (RefactorTarget::RestApi(to), Address::Stage { stage, .. }) => Some(Address::Stage {
                api: to.clone(),
                stage: stage.clone(),
            }),
            (RefactorTarget::RestApi(to), Address::Canary { stage, .. }) => Some(Address::Canary {
                api: to.clone(),
                stage: stage.clone(),
            }),
            (RefactorTarget::AmplifyApp(to), Address::Branch { branch, .. }) => {
                Some(Address::Branch {
                    app: to.clone(),
                    branch: branch.clone(),
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for RefactorTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefactorTarget::Resource(address) => address.fmt(f),
            RefactorTarget::RestApi(key) => write!(f, "rest_apis.{key}"),
            RefactorTarget::AmplifyApp(key) => write!(f, "amplify_apps.{key}"),
        }
    }
}

/// `[[moved]]`: what the state records at `from` is recorded at `to`, with no AWS call.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    /// The old address (not in the configuration).
    pub from: RefactorTarget,
    /// The new address (in the configuration).
    pub to: RefactorTarget,
    /// The span of `from`'s value.
    pub from_span: SourceSpan,
    /// The span of `to`'s value.
    pub to_span: SourceSpan,
}

/// `[[removed]]` with `destroy = false`: what the state records at `from` is forgotten and left
/// running. (`destroy = true` is an ordinary deletion: the block only documents it.)
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    /// The address (not in the configuration).
    pub from: RefactorTarget,
    /// `true`: delete it as any resource gone from the configuration; `false`: forget it.
    pub destroy: bool,
    /// The span of `from`'s value.
    pub from_span: SourceSpan,
}

#[cfg(test)]
mod tests;
