//! Renderings of a [`Plan`] for people and programs: Terraform-style text, a versioned JSON
//! document and a Markdown pull-request comment; and the drift `--refresh` finds (`drift.rs`).
//! The engine never prints: each renderer returns a `String` and the CLI decides where it goes
//! (and, for text, whether it is coloured).
//!
//! The three plan renderings read one attribute model built here, so they agree on what changed
//! and on what is masked: a sensitive value is carried only as its digest, for comparison, and
//! no renderer ever writes that digest out.

mod drift;
mod json;
pub mod json_ui;
mod markdown;
mod outputs;
mod rollout;
mod text;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;

pub use drift::drift;
pub use json::{JSON_FORMAT_VERSION, json};
pub use markdown::{MARKDOWN_LIMIT, markdown};
pub use outputs::{SENSITIVE, output_json, output_lines, outputs, outputs_json};
pub use text::{TextStyle, text};

use stagecraft_config::Address;

use crate::plan::{Action, Change, Desired, Plan, PlannedValue, promoted_stage, settings_match};
use crate::state::{CanaryState, ResourceState, RolloutSchedule, StoredValue};

/// One attribute value as the renderers see it. Values borrow from the plan: rendering a plan
/// of 100,000 resources would otherwise copy every string it shows.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    /// A plain string.
    Str(&'a str),
    /// A content digest (of an artifact, never of a secret): shown shortened in text.
    Digest(&'a str),
    /// A flag.
    Bool(bool),
    /// A number (a canary's share of traffic).
    Num(f64),
    /// A sensitive value. The digest is kept only so that two values can be compared; it is
    /// never rendered.
    Sensitive(&'a str),
    /// Only known after apply.
    Unknown,
    /// A map of scalar values (variables, overrides, environment, basic auth), sorted by key
    /// with no key twice, so that two maps are equal exactly when their entries are.
    Map(Vec<(&'a str, Val<'a>)>),
}

impl Val<'_> {
    /// Whether the value is absent for display purposes (an empty map counts as absent).
    fn is_empty_map(&self) -> bool {
        matches!(self, Val::Map(map) if map.is_empty())
    }
}

/// One attribute of a resource, before and after the change. `None` is null.
#[derive(Debug, Clone, PartialEq)]
struct Attr<'a> {
    /// The attribute's name (the state file's field name).
    name: &'static str,
    /// The recorded value.
    before: Option<Val<'a>>,
    /// The planned value.
    after: Option<Val<'a>>,
}

/// One side of a change: attribute name to value (`None` is null), sorted by name.
type Side<'a> = Vec<(&'static str, Option<Val<'a>>)>;

/// The entries of two lists sorted by key, joined on the key: each key once, in order, with its
/// value on either side. Both sides of a change and both maps of an attribute are sorted
/// already, so a merge replaces building and probing a map per resource.
fn merge_sorted<K: Ord, V>(
    left: impl IntoIterator<Item = (K, V)>,
    right: impl IntoIterator<Item = (K, V)>,
) -> impl Iterator<Item = (K, Option<V>, Option<V>)> {
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    std::iter::from_fn(move || {
        let order = match (left.peek(), right.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        Some(match order {
            std::cmp::Ordering::Less => {
                let (key, value) = left.next()?;
                (key, Some(value), None)
            }
            std::cmp::Ordering::Greater => {
                let (key, value) = right.next()?;
                (key, None, Some(value))
            }
            std::cmp::Ordering::Equal => {
                let (key, before) = left.next()?;
                let (_, after) = right.next()?;
                (key, Some(before), Some(after))
            }
        })
    })
}

/// The attributes of a change, sorted by name, built from both sides.
fn attributes<'a>(plan: &'a Plan, change: &'a Change) -> Vec<Attr<'a>> {
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
    debug_assert!(before.is_sorted_by_key(|(name, _)| *name));
    debug_assert!(after.is_sorted_by_key(|(name, _)| *name));
    merge_sorted(before, after)
        .map(|(name, before, after)| Attr {
            name,
            before: before.flatten(),
            after: after.flatten(),
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
        (None, None) => change.address.kind().as_str(),
    }
}

fn stored(value: &StoredValue) -> Val<'_> {
    match value {
        StoredValue::Plain(text) => Val::Str(text),
        StoredValue::Sensitive { sensitive } => Val::Sensitive(sensitive),
    }
}

fn planned(value: &PlannedValue) -> Val<'_> {
    match value {
        PlannedValue::Known { value } => Val::Str(value),
        PlannedValue::Sensitive { digest, .. } => Val::Sensitive(digest),
        PlannedValue::Deferred { .. } => Val::Unknown,
    }
}

fn stored_map<'a>(values: impl IntoIterator<Item = (&'a String, &'a StoredValue)>) -> Val<'a> {
    Val::Map(
        values
            .into_iter()
            .map(|(key, value)| (key.as_str(), stored(value)))
            .collect(),
    )
}

fn planned_map<'a>(values: impl IntoIterator<Item = (&'a String, &'a PlannedValue)>) -> Val<'a> {
    Val::Map(
        values
            .into_iter()
            .map(|(key, value)| (key.as_str(), planned(value)))
            .collect(),
    )
}

fn text_of(value: &str) -> Option<Val<'_>> {
    Some(Val::Str(value))
}

fn optional_text(value: Option<&String>) -> Option<Val<'_>> {
    value.map(|value| Val::Str(value))
}

/// The recorded attributes of a resource, in name order.
fn recorded_side(resource: &ResourceState) -> Side<'_> {
    match resource {
        ResourceState::Stage(stage) => vec![
            ("cache_size", optional_text(stage.cache_size.as_ref())),
            ("deployment_id", text_of(&stage.deployment_id)),
            ("description", optional_text(stage.description.as_ref())),
            ("rest_api_id", text_of(&stage.rest_api_id)),
            ("revision", text_of(&stage.revision)),
            ("stage_name", text_of(&stage.stage_name)),
            ("tracing", Some(Val::Bool(stage.tracing))),
            ("variables", Some(stored_map(&stage.variables))),
        ],
        ResourceState::Canary(canary) => vec![
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
        ],
        ResourceState::Branch(branch) => vec![
            ("app_id", text_of(&branch.app_id)),
            (
                "artifact_digest",
                branch.artifact_digest.as_deref().map(Val::Digest),
            ),
            (
                "basic_auth",
                branch.basic_auth.as_ref().map(|auth| {
                    Val::Map(vec![
                        ("password", stored(&auth.password)),
                        ("username", stored(&auth.username)),
                    ])
                }),
            ),
            ("branch_name", text_of(&branch.branch_name)),
            ("description", optional_text(branch.description.as_ref())),
            ("environment", Some(stored_map(&branch.environment))),
            ("framework", optional_text(branch.framework.as_ref())),
            ("job_id", optional_text(branch.job_id.as_ref())),
            ("stage", optional_text(branch.stage.as_ref())),
        ],
    }
}

/// The canary a plan promotes into the stage changed by `stage_change`, if any. A stage waits
/// for its canary's promotion, so only a stage that depends on its canary needs the search:
/// that keeps rendering linear in the size of the plan.
fn promoted_canary<'a>(plan: &'a Plan, stage_change: &Change) -> Option<&'a CanaryState> {
    let is_canary_of_stage = |address: &Address| match (address, &stage_change.address) {
        (Address::Canary { api, stage }, Address::Stage { api: a, stage: s }) => {
            api == a && stage == s
        }
        _ => false,
    };
    if !stage_change.depends_on.iter().any(is_canary_of_stage) {
        return None;
    }
    plan.changes.iter().find_map(|change| {
        match (&change.before, change.actions.contains(&Action::Promote)) {
            (Some(ResourceState::Canary(canary)), true) if is_canary_of_stage(&change.address) => {
                Some(canary)
            }
            _ => None,
        }
    })
}

/// The planned attributes of a resource, in name order. Ids AWS assigns during apply (a new
/// deployment, an Amplify job) are [`Val::Unknown`]; ids the change leaves alone keep their
/// recorded value.
fn desired_side<'a>(plan: &'a Plan, change: &'a Change, desired: &'a Desired) -> Side<'a> {
    let has = |action: Action| change.actions.contains(&action);
    match desired {
        Desired::Stage(stage) => {
            let recorded = match &change.before {
                Some(ResourceState::Stage(old)) => Some(old),
                _ => None,
            };
            let deployment_id = if let (true, Some(id)) = (
                has(Action::Rollback) || has(Action::Create),
                stage.recorded_deployment.as_ref(),
            ) {
                // A rollback goes back to the deployment the state records for the revision; a
                // new stage at such a revision is created on it.
                text_of(id)
            } else if has(Action::Create) || has(Action::Redeploy) || has(Action::Rollback) {
                Some(Val::Unknown)
            } else if let Some(canary) =
                promoted_canary(plan, change).filter(|canary| canary.revision == stage.revision)
            {
                // A stage taking its promoted canary's revision takes the canary's deployment.
                text_of(&canary.deployment_id)
            } else {
                recorded.map_or(Some(Val::Unknown), |old| text_of(&old.deployment_id))
            };
            vec![
                (
                    "cache_size",
                    stage.cache_size.map(|size| Val::Str(size.as_str())),
                ),
                ("deployment_id", deployment_id),
                ("description", optional_text(stage.description.as_ref())),
                ("rest_api_id", text_of(&stage.rest_api_id)),
                ("revision", text_of(&stage.revision)),
                ("stage_name", text_of(&stage.stage_name)),
                ("tracing", Some(Val::Bool(stage.tracing))),
                ("variables", Some(planned_map(&stage.variables))),
            ]
        }
        Desired::Canary(canary) => {
            let deployment_id = match (&change.before, &canary.recorded_deployment) {
                (_, Some(id)) if has(Action::CanaryRepoint) => text_of(id),
                (Some(ResourceState::Canary(old)), _)
                    if !has(Action::CanaryDeploy) && !has(Action::CanaryRepoint) =>
                {
                    text_of(&old.deployment_id)
                }
                _ => Some(Val::Unknown),
            };
            vec![
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
            ]
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
            let mut side = vec![
                ("app_id", text_of(&branch.app_id)),
                (
                    "artifact_digest",
                    branch
                        .artifact
                        .as_ref()
                        .map(|artifact| Val::Digest(&artifact.digest)),
                ),
                (
                    "basic_auth",
                    branch.basic_auth.as_ref().map(|(username, password)| {
                        Val::Map(vec![
                            ("password", planned(password)),
                            ("username", planned(username)),
                        ])
                    }),
                ),
                ("branch_name", text_of(&branch.branch_name)),
                ("description", optional_text(branch.description.as_ref())),
                ("environment", Some(planned_map(&branch.environment))),
                ("framework", optional_text(branch.framework.as_ref())),
                ("job_id", job_id),
                ("stage", branch.stage.map(|stage| Val::Str(stage.as_str()))),
            ];
            // The state records only the artifact's digest, so its path is shown for new
            // branches alone (an update would otherwise always show it as added). It sorts
            // right after `artifact_digest`.
            if change.before.is_none() {
                side.insert(
                    2,
                    (
                        "artifact_path",
                        branch
                            .artifact
                            .as_ref()
                            .map(|artifact| Val::Str(&artifact.path)),
                    ),
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
/// A plan's counts in Terraform's words, `1 to import, 0 to add, 1 to change, 0 to destroy` (the
/// imports only when there are some, as Terraform shows them).
fn counts_words(counts: &crate::plan::Counts) -> String {
    let import = if counts.import > 0 {
        format!("{} to import, ", counts.import)
    } else {
        String::new()
    };
    format!(
        "{import}{} to add, {} to change, {} to destroy",
        counts.add, counts.change, counts.destroy
    )
}

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

/// A string quoted and escaped like an HCL (and JSON) string literal. The renderers append in
/// place with [`push_quoted`]; tests check the escapes through this.
#[cfg(test)]
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_quoted(&mut out, text);
    out
}

/// Appends `text` quoted and escaped like an HCL (and JSON) string literal.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    // Most values need no escape at all: copy them whole.
    if !text.chars().any(needs_escape) {
        out.push_str(text);
        out.push('"');
        return;
    }
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if control.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// Whether [`push_quoted`] writes `character` as an escape.
fn needs_escape(character: char) -> bool {
    matches!(character, '"' | '\\') || character.is_control()
}

/// The length in characters of `quote(text)`, without building it.
fn quoted_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|character| match character {
            '"' | '\\' | '\n' | '\r' | '\t' => 2,
            control if control.is_control() => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// The words after "will" describing what a change does, e.g. `be redeployed (new deployment
/// of revision "2026-11-21.1")`. Shared by the text header and the Markdown table.
fn describe(plan: &Plan, change: &Change) -> String {
    let mut out = String::new();
    push_description(&mut out, plan, change);
    out
}

/// Appends [`describe`]'s words: one clause per action, as `a`, `a and b`, `a, b and c`, later
/// clauses without their leading "be ".
fn push_description(out: &mut String, plan: &Plan, change: &Change) {
    let last = change.actions.len().saturating_sub(1);
    if change.replace {
        // Terraform's words for `-replace`, then what the replacement does.
        out.push_str("be replaced, as requested: ");
    }
    for (index, action) in change.actions.iter().enumerate() {
        if index > 0 {
            out.push_str(if index == last { " and " } else { ", " });
        }
        let start = out.len();
        push_clause(out, plan, change, *action);
        if (index > 0 || change.replace) && out[start..].starts_with("be ") {
            out.replace_range(start..start + 3, "");
        }
    }
    if let Some(rollout) = starts_rollout(change) {
        out.push_str(", then rolled out: ");
        out.push_str(&rollout.summary());
    }
}

/// The schedule a change starts: a canary with a rollout deployed or re-pointed to a revision
/// (docs/behaviour.md, "Canary rollouts in plans").
fn starts_rollout(change: &Change) -> Option<&RolloutSchedule> {
    let Some(Desired::Canary(canary)) = &change.after else {
        return None;
    };
    let starts = change
        .actions
        .iter()
        .any(|action| matches!(action, Action::CanaryDeploy | Action::CanaryRepoint));
    canary.rollout.as_ref().filter(|_| starts)
}

/// Appends the clause describing one action of a change, starting with "be ".
fn push_clause(out: &mut String, plan: &Plan, change: &Change, action: Action) {
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
    let revision = |out: &mut String, revision: Option<&String>| match revision {
        Some(revision) => push_quoted(out, revision),
        None => out.push_str("(unknown)"),
    };
    // Where a rollback or re-point goes: the recorded deployment, no new one.
    let recorded = |out: &mut String, deployment: Option<&str>| match deployment {
        Some(id) => {
            let _ = write!(out, " (recorded deployment {id}, no new deployment");
        }
        None => out.push_str(" (its recorded deployment, no new deployment"),
    };
    let traffic = |out: &mut String| {
        if let Some(canary) = canary {
            let _ = write!(out, ", taking {}% of traffic", canary.percent_traffic);
        }
    };
    match action {
        Action::Import => out.push_str("be imported"),
        Action::Create => match stage {
            Some(stage) => {
                out.push_str("be created (first deployment of revision ");
                push_quoted(out, &stage.revision);
                out.push(')');
            }
            None => out.push_str("be created"),
        },
        Action::Update => {
            let promoted = stage.and_then(|stage| {
                promoted_canary(plan, change)
                    .filter(|canary| canary.revision == stage.revision)
                    .map(|canary| (stage, canary))
            });
            out.push_str(match (promoted, &change.before) {
                // The promotion's call leaves the stage as configured: no call follows.
                (Some((stage, canary)), Some(ResourceState::Stage(old)))
                    if settings_match(&promoted_stage(old, canary), stage) =>
                {
                    "be updated in place by its canary's promotion (no call of its own)"
                }
                (Some(_), _) => "be updated in place (after its canary's promotion)",
                (None, _) => "be updated in place",
            });
        }
        Action::Redeploy => {
            out.push_str("be redeployed (new deployment of revision ");
            revision(out, stage.map(|stage| &stage.revision));
            out.push(')');
        }
        Action::Rollback => {
            out.push_str("be rolled back to revision ");
            revision(out, stage.map(|stage| &stage.revision));
            recorded(
                out,
                stage.and_then(|stage| stage.recorded_deployment.as_deref()),
            );
            out.push(')');
        }
        Action::CanaryDeploy => {
            out.push_str("be canary-deployed (new deployment of revision ");
            revision(out, canary.map(|canary| &canary.revision));
            traffic(out);
            out.push(')');
        }
        Action::CanaryRepoint => {
            out.push_str("be re-pointed to revision ");
            revision(out, canary.map(|canary| &canary.revision));
            recorded(
                out,
                canary.and_then(|canary| canary.recorded_deployment.as_deref()),
            );
            traffic(out);
            out.push(')');
        }
        Action::Promote => match &change.before {
            Some(ResourceState::Canary(old)) => {
                // AWS merges the overrides, but the stage's own change (planned against the
                // promoted stage) sets the variables the configuration gives: the stage ends
                // with those, and its change shows them.
                let overrides = if old.variable_overrides.is_empty() {
                    ""
                } else {
                    ", the stage's variables end as configured"
                };
                out.push_str("be promoted: the stage takes revision ");
                push_quoted(out, &old.revision);
                let _ = write!(
                    out,
                    " (deployment {}){overrides}, the canary is removed",
                    old.deployment_id
                );
            }
            _ => out.push_str("be promoted into its stage, and removed"),
        },
        Action::ArtifactDeploy => match branch.and_then(|branch| branch.artifact.as_ref()) {
            Some(artifact) => {
                out.push_str("be deployed: artifact ");
                push_quoted(out, &artifact.path);
                let _ = write!(out, " ({})", short_digest(&artifact.digest));
            }
            None => out.push_str("be deployed: a new artifact"),
        },
        Action::Delete => match &change.before {
            Some(ResourceState::Canary(_)) => out.push_str(
                "be destroyed (the canary is removed; all traffic goes to the stage's \
                 deployment)",
            ),
            _ => out.push_str("be destroyed"),
        },
    }
}
