//! Renderings of a [`Plan`] for people and programs: Terraform-style text, a versioned JSON
//! document and a Markdown pull-request comment. The engine never prints: each renderer returns a
//! `String` and the CLI decides where it goes (and, for text, whether it is coloured).
//!
//! All three read one attribute model built here, so they agree on what changed and on what is
//! masked: a sensitive value is carried only as its digest, for comparison, and no renderer ever
//! writes that digest out.

mod json;
mod markdown;
mod text;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use json::{JSON_FORMAT_VERSION, json};
pub use markdown::{MARKDOWN_LIMIT, markdown};
pub use text::{TextStyle, text};

use crate::plan::{Action, Change, Desired, Plan, PlannedValue};
use crate::state::{CanaryState, ResourceState, StoredValue};

/// One attribute value as the renderers see it.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    /// A plain string.
    Str(String),
    /// A content digest (of an artifact, never of a secret): shown shortened in text.
    Digest(String),
    /// A flag.
    Bool(bool),
    /// A number (a canary's share of traffic).
    Num(f64),
    /// A sensitive value. The digest is kept only so that two values can be compared; it is
    /// never rendered.
    Sensitive(String),
    /// Only known after apply.
    Unknown,
    /// A map of scalar values (variables, overrides, environment, basic auth).
    Map(BTreeMap<String, Val>),
}

impl Val {
    /// Whether the value is absent for display purposes (an empty map counts as absent).
    fn is_empty_map(&self) -> bool {
        matches!(self, Val::Map(map) if map.is_empty())
    }
}

/// One attribute of a resource, before and after the change. `None` is null.
#[derive(Debug, Clone, PartialEq)]
struct Attr {
    /// The attribute's name (the state file's field name).
    name: &'static str,
    /// The recorded value.
    before: Option<Val>,
    /// The planned value.
    after: Option<Val>,
}

/// One side of a change: attribute name to value (`None` is null).
type Side = BTreeMap<&'static str, Option<Val>>;

/// The attributes of a change, sorted by name, built from both sides.
fn attributes(plan: &Plan, change: &Change) -> Vec<Attr> {
    let before = change
        .before
        .as_ref()
        .map(recorded_side)
        .unwrap_or_default();
    let after = change
        .after
        .as_ref()
        .map(|desired| desired_side(plan, change, desired))
        .unwrap_or_default();
    let mut names: Vec<&'static str> = before.keys().chain(after.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| Attr {
            name,
            before: before.get(name).cloned().flatten(),
            after: after.get(name).cloned().flatten(),
        })
        .collect()
}

/// The state's kind name for a change (`apigateway_stage`, `apigateway_canary`, `amplify_branch`).
fn kind(change: &Change) -> &'static str {
    match (&change.after, &change.before) {
        (Some(Desired::Stage(_)), _) | (None, Some(ResourceState::Stage(_))) => "apigateway_stage",
        (Some(Desired::Canary(_)), _) | (None, Some(ResourceState::Canary(_))) => {
            "apigateway_canary"
        }
        (Some(Desired::Branch(_)), _) | (None, Some(ResourceState::Branch(_))) => "amplify_branch",
        (None, None) => change
            .parsed_address()
            .map_or("unknown", |address| address.kind().as_str()),
    }
}

fn stored(value: &StoredValue) -> Val {
    match value {
        StoredValue::Plain(text) => Val::Str(text.clone()),
        StoredValue::Sensitive { sensitive } => Val::Sensitive(sensitive.clone()),
    }
}

fn planned(value: &PlannedValue) -> Val {
    match value {
        PlannedValue::Known { value } => Val::Str(value.clone()),
        PlannedValue::Sensitive { digest, .. } => Val::Sensitive(digest.clone()),
        PlannedValue::Deferred { .. } => Val::Unknown,
    }
}

fn stored_map(values: &BTreeMap<String, StoredValue>) -> Val {
    Val::Map(
        values
            .iter()
            .map(|(key, value)| (key.clone(), stored(value)))
            .collect(),
    )
}

fn planned_map(values: &BTreeMap<String, PlannedValue>) -> Val {
    Val::Map(
        values
            .iter()
            .map(|(key, value)| (key.clone(), planned(value)))
            .collect(),
    )
}

fn text_of(value: &str) -> Option<Val> {
    Some(Val::Str(value.to_string()))
}

fn optional_text(value: Option<&String>) -> Option<Val> {
    value.map(|value| Val::Str(value.clone()))
}

/// The recorded attributes of a resource.
fn recorded_side(resource: &ResourceState) -> Side {
    match resource {
        ResourceState::Stage(stage) => Side::from([
            ("cache_size", optional_text(stage.cache_size.as_ref())),
            ("deployment_id", text_of(&stage.deployment_id)),
            ("description", optional_text(stage.description.as_ref())),
            ("rest_api_id", text_of(&stage.rest_api_id)),
            ("revision", text_of(&stage.revision)),
            ("stage_name", text_of(&stage.stage_name)),
            ("tracing", Some(Val::Bool(stage.tracing))),
            ("variables", Some(stored_map(&stage.variables))),
        ]),
        ResourceState::Canary(canary) => Side::from([
            ("deployment_id", text_of(&canary.deployment_id)),
            ("percent_traffic", Some(Val::Num(canary.percent_traffic))),
            ("rest_api_id", text_of(&canary.rest_api_id)),
            ("revision", text_of(&canary.revision)),
            ("stage_name", text_of(&canary.stage_name)),
            ("use_stage_cache", Some(Val::Bool(canary.use_stage_cache))),
            (
                "variable_overrides",
                Some(stored_map(&canary.variable_overrides)),
            ),
        ]),
        ResourceState::Branch(branch) => Side::from([
            ("app_id", text_of(&branch.app_id)),
            (
                "artifact_digest",
                branch
                    .artifact_digest
                    .as_ref()
                    .map(|digest| Val::Digest(digest.clone())),
            ),
            (
                "basic_auth",
                branch.basic_auth.as_ref().map(|auth| {
                    Val::Map(BTreeMap::from([
                        ("password".to_string(), stored(&auth.password)),
                        ("username".to_string(), stored(&auth.username)),
                    ]))
                }),
            ),
            ("branch_name", text_of(&branch.branch_name)),
            ("description", optional_text(branch.description.as_ref())),
            ("environment", Some(stored_map(&branch.environment))),
            ("framework", optional_text(branch.framework.as_ref())),
            ("job_id", optional_text(branch.job_id.as_ref())),
            ("stage", optional_text(branch.stage.as_ref())),
        ]),
    }
}

/// The canary a plan promotes into the stage changed by `stage_change`, if any. A stage waits
/// for its canary's promotion, so only a stage that depends on its canary needs the search:
/// that keeps rendering linear in the size of the plan.
fn promoted_canary<'a>(plan: &'a Plan, stage_change: &Change) -> Option<&'a CanaryState> {
    let canary_address = format!("{}.canary", stage_change.address);
    if !stage_change.depends_on.contains(&canary_address) {
        return None;
    }
    plan.changes.iter().find_map(|change| {
        match (&change.before, change.actions.contains(&Action::Promote)) {
            (Some(ResourceState::Canary(canary)), true) if change.address == canary_address => {
                Some(canary)
            }
            _ => None,
        }
    })
}

/// The planned attributes of a resource. Ids AWS assigns during apply (a new deployment, an
/// Amplify job) are [`Val::Unknown`]; ids the change leaves alone keep their recorded value.
fn desired_side(plan: &Plan, change: &Change, desired: &Desired) -> Side {
    let has = |action: Action| change.actions.contains(&action);
    match desired {
        Desired::Stage(stage) => {
            let recorded = match &change.before {
                Some(ResourceState::Stage(old)) => Some(old),
                _ => None,
            };
            // A stage taking its promoted canary's revision takes the canary's deployment.
            let promoted =
                promoted_canary(plan, change).filter(|canary| canary.revision == stage.revision);
            let deployment_id =
                if has(Action::Create) || has(Action::Redeploy) || has(Action::Rollback) {
                    Some(Val::Unknown)
                } else if let Some(canary) = promoted {
                    text_of(&canary.deployment_id)
                } else {
                    recorded.map_or(Some(Val::Unknown), |old| text_of(&old.deployment_id))
                };
            Side::from([
                ("cache_size", optional_text(stage.cache_size.as_ref())),
                ("deployment_id", deployment_id),
                ("description", optional_text(stage.description.as_ref())),
                ("rest_api_id", text_of(&stage.rest_api_id)),
                ("revision", text_of(&stage.revision)),
                ("stage_name", text_of(&stage.stage_name)),
                ("tracing", Some(Val::Bool(stage.tracing))),
                ("variables", Some(planned_map(&stage.variables))),
            ])
        }
        Desired::Canary(canary) => {
            let deployment_id = match &change.before {
                Some(ResourceState::Canary(old))
                    if !has(Action::CanaryDeploy) && !has(Action::CanaryRepoint) =>
                {
                    text_of(&old.deployment_id)
                }
                _ => Some(Val::Unknown),
            };
            Side::from([
                ("deployment_id", deployment_id),
                ("percent_traffic", Some(Val::Num(canary.percent_traffic))),
                ("rest_api_id", text_of(&canary.rest_api_id)),
                ("revision", text_of(&canary.revision)),
                ("stage_name", text_of(&canary.stage_name)),
                ("use_stage_cache", Some(Val::Bool(canary.use_stage_cache))),
                (
                    "variable_overrides",
                    Some(planned_map(&canary.variable_overrides)),
                ),
            ])
        }
        Desired::Branch(branch) => {
            let job_id = if has(Action::ArtifactDeploy) {
                Some(Val::Unknown)
            } else {
                match &change.before {
                    Some(ResourceState::Branch(old)) => optional_text(old.job_id.as_ref()),
                    _ => None,
                }
            };
            let mut side = Side::from([
                ("app_id", text_of(&branch.app_id)),
                (
                    "artifact_digest",
                    branch
                        .artifact
                        .as_ref()
                        .map(|artifact| Val::Digest(artifact.digest.clone())),
                ),
                (
                    "basic_auth",
                    branch.basic_auth.as_ref().map(|(username, password)| {
                        Val::Map(BTreeMap::from([
                            ("password".to_string(), planned(password)),
                            ("username".to_string(), planned(username)),
                        ]))
                    }),
                ),
                ("branch_name", text_of(&branch.branch_name)),
                ("description", optional_text(branch.description.as_ref())),
                ("environment", Some(planned_map(&branch.environment))),
                ("framework", optional_text(branch.framework.as_ref())),
                ("job_id", job_id),
                ("stage", optional_text(branch.stage.as_ref())),
            ]);
            // The state records only the artifact's digest, so its path is shown for new
            // branches alone (an update would otherwise always show it as added).
            if change.before.is_none() {
                side.insert(
                    "artifact_path",
                    branch
                        .artifact
                        .as_ref()
                        .map(|artifact| Val::Str(artifact.path.clone())),
                );
            }
            side
        }
    }
}

/// A content digest shortened for display: the algorithm prefix and 12 hex digits.
fn short_digest(digest: &str) -> String {
    let (prefix, hex) = match digest.split_once(':') {
        Some((algorithm, hex)) => (format!("{algorithm}:"), hex),
        None => (String::new(), digest),
    };
    let short: String = hex.chars().take(12).collect();
    if short.len() < hex.len() {
        format!("{prefix}{short}…")
    } else {
        format!("{prefix}{short}")
    }
}

/// `1 resource`, `2 resources`.
fn count(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("{n} {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// A number with thousands separators: `512,301`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A string quoted and escaped like an HCL (and JSON) string literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if control.is_control() => {
                out.push_str(&format!("\\u{:04x}", u32::from(control)));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// The words after "will" describing what a change does, e.g. `be redeployed (new deployment
/// of revision "2026-11-21.1")`. Shared by the text header and the Markdown table.
fn describe(plan: &Plan, change: &Change) -> String {
    let stage = match &change.after {
        Some(Desired::Stage(stage)) => Some(stage),
        _ => None,
    };
    let canary = match &change.after {
        Some(Desired::Canary(canary)) => Some(canary),
        _ => None,
    };
    let branch = match &change.after {
        Some(Desired::Branch(branch)) => Some(branch),
        _ => None,
    };
    let traffic = canary
        .map(|canary| format!(", taking {}% of traffic", canary.percent_traffic))
        .unwrap_or_default();
    let revision = |revision: Option<&String>| {
        revision.map_or_else(|| "(unknown)".to_string(), |revision| quote(revision))
    };
    let mut clauses: Vec<String> = Vec::new();
    for action in &change.actions {
        let clause = match action {
            Action::Create => match stage {
                Some(stage) => format!(
                    "be created (first deployment of revision {})",
                    quote(&stage.revision)
                ),
                None => "be created".to_string(),
            },
            Action::Update => {
                let promoted = stage.is_some_and(|stage| {
                    promoted_canary(plan, change)
                        .is_some_and(|canary| canary.revision == stage.revision)
                });
                if promoted {
                    "be updated in place (after its canary's promotion)".to_string()
                } else {
                    "be updated in place".to_string()
                }
            }
            Action::Redeploy => format!(
                "be redeployed (new deployment of revision {})",
                revision(stage.map(|stage| &stage.revision))
            ),
            Action::Rollback => format!(
                "be rolled back to revision {} (its recorded deployment, no new deployment)",
                revision(stage.map(|stage| &stage.revision))
            ),
            Action::CanaryDeploy => format!(
                "be canary-deployed (new deployment of revision {}{traffic})",
                revision(canary.map(|canary| &canary.revision))
            ),
            Action::CanaryRepoint => format!(
                "be re-pointed to revision {} (its recorded deployment, no new deployment{traffic})",
                revision(canary.map(|canary| &canary.revision))
            ),
            Action::Promote => match &change.before {
                Some(ResourceState::Canary(old)) => {
                    let overrides = if old.variable_overrides.is_empty() {
                        ""
                    } else {
                        ", its overrides merge into the stage's variables"
                    };
                    format!(
                        "be promoted: the stage takes revision {} (deployment {}){overrides}, \
                         the canary is removed",
                        quote(&old.revision),
                        old.deployment_id
                    )
                }
                _ => "be promoted into its stage, and removed".to_string(),
            },
            Action::ArtifactDeploy => match branch.and_then(|branch| branch.artifact.as_ref()) {
                Some(artifact) => format!(
                    "be deployed: artifact {} ({})",
                    quote(&artifact.path),
                    short_digest(&artifact.digest)
                ),
                None => "be deployed: a new artifact".to_string(),
            },
            Action::Delete => match &change.before {
                Some(ResourceState::Canary(_)) => {
                    "be destroyed (the canary is removed; all traffic goes to the stage's \
                     deployment)"
                        .to_string()
                }
                _ => "be destroyed".to_string(),
            },
        };
        clauses.push(clause);
    }
    join_clauses(clauses)
}

/// `a`, `a and b`, `a, b and c`; later clauses drop a repeated leading "be ".
fn join_clauses(clauses: Vec<String>) -> String {
    let mut out = String::new();
    let last = clauses.len().saturating_sub(1);
    for (index, clause) in clauses.into_iter().enumerate() {
        if index == 0 {
            out.push_str(&clause);
            continue;
        }
        out.push_str(if index == last { " and " } else { ", " });
        out.push_str(clause.strip_prefix("be ").unwrap_or(&clause));
    }
    out
}
