//! The JSON rendering: one versioned document for programs (`stagecraft plan --format json`),
//! documented field by field in `docs/json-plan.md`. Sensitive values are replaced by
//! `"(sensitive)"` and their paths listed; values only known after apply are `null` and their
//! paths listed in `after_unknown`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use stagecraft_config::Address;

use super::{Attr, Val, attributes, kind, starts_rollout};
use crate::plan::{Action, Change, Counts, Desired, Move, Plan, PlanMode, RolloutNote};
use stagecraft_config::Promote;

/// The version of the JSON plan document (`format_version`). The minor number grows when
/// fields are added; the major number changes only when a field changes meaning or goes away.
pub const JSON_FORMAT_VERSION: &str = "1.3";

/// What a sensitive value is replaced by.
const SENSITIVE: &str = "(sensitive)";

/// The document. Struct field order fixes the key order of the output.
#[derive(Serialize)]
struct Document<'a> {
    format_version: &'static str,
    project: &'a str,
    lineage: &'a str,
    prior_serial: Option<u64>,
    mode: PlanMode,
    summary: Counts,
    resource_changes: Vec<ResourceChange<'a>>,
    /// `[[moved]]`: present only when the plan moves something.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    resource_moves: &'a [Move],
    /// `[[removed]]` with `destroy = false`: present only when the plan forgets something.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    resource_forgets: &'a [Address],
    /// Canaries whose recorded rollout the plan reports: present only when there are some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rollouts: Vec<Note<'a>>,
    /// The outputs the plan changes, by name: present only when some change.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    output_changes: serde_json::Map<String, Value>,
}

/// A rollout the plan reports, with the sentence the text plan shows.
#[derive(Serialize)]
struct Note<'a> {
    #[serde(flatten)]
    note: &'a RolloutNote,
    message: String,
}

/// One resource's change.
#[derive(Serialize)]
struct ResourceChange<'a> {
    address: &'a Address,
    kind: &'static str,
    actions: &'a [Action],
    symbol: String,
    before: Option<BTreeMap<&'static str, Value>>,
    after: Option<BTreeMap<&'static str, Value>>,
    after_unknown: Vec<String>,
    sensitive_paths: Vec<String>,
    depends_on: &'a [Address],
    /// Terraform's `replace_by_request` for a `--replace`d change; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    action_reason: Option<&'static str>,
    /// A canary's configured rollout; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<RolloutSchedule<'a>>,
    /// Terraform's `change.importing`: the AWS id of what an `[[import]]` takes into the state;
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    importing: Option<Importing>,
}

/// What a change imports (Terraform's `importing` object).
#[derive(Serialize)]
struct Importing {
    /// `<rest_api_id>/<stage_name>` or `<app_id>/<branch_name>`.
    id: String,
}

/// A canary's rollout schedule (docs/json-plan.md, "rollout").
#[derive(Serialize)]
struct RolloutSchedule<'a> {
    /// The schedule in words, as the text plan shows it.
    summary: String,
    /// Whether this change starts it (a canary deployed or re-pointed to a revision).
    starts: bool,
    steps: &'a [f64],
    bakes_ms: &'a [u64],
    total_bake_ms: u64,
    alarms: &'a [String],
    promote: Promote,
    poll_interval_ms: u64,
}

impl<'a> RolloutSchedule<'a> {
    fn of(change: &'a Change) -> Option<RolloutSchedule<'a>> {
        let Some(Desired::Canary(canary)) = &change.after else {
            return None;
        };
        let rollout = canary.rollout.as_ref()?;
        Some(RolloutSchedule {
            summary: rollout.summary(),
            starts: starts_rollout(change).is_some(),
            steps: &rollout.steps,
            bakes_ms: &rollout.bakes_ms,
            total_bake_ms: rollout.total_bake_ms(),
            alarms: &rollout.alarms,
            promote: rollout.promote,
            poll_interval_ms: rollout.poll_interval_ms,
        })
    }
}

/// Renders `plan` as the JSON plan document (pretty-printed, ending with a newline).
pub fn json(plan: &Plan) -> String {
    let document = Document {
        format_version: JSON_FORMAT_VERSION,
        project: &plan.project,
        lineage: &plan.lineage,
        prior_serial: plan.prior_serial,
        mode: plan.mode,
        summary: plan.summary(),
        resource_changes: plan
            .changes
            .iter()
            .map(|change| {
                let attrs = attributes(plan, change);
                let mut after_unknown = Vec::new();
                let mut sensitive = Vec::new();
                for attr in &attrs {
                    let path = pointer(&[attr.name]);
                    for value in [&attr.before, &attr.after].into_iter().flatten() {
                        collect_sensitive(value, &path, &mut sensitive);
                    }
                    if let Some(value) = &attr.after {
                        collect_unknown(value, &path, &mut after_unknown);
                    }
                }
                after_unknown.sort_unstable();
                sensitive.sort_unstable();
                sensitive.dedup();
                ResourceChange {
                    address: &change.address,
                    kind: kind(change),
                    actions: &change.actions,
                    symbol: change.kind().to_string(),
                    before: change
                        .before
                        .as_ref()
                        .map(|_| side(&attrs, |attr| &attr.before)),
                    after: change
                        .after
                        .as_ref()
                        .map(|_| side(&attrs, |attr| &attr.after)),
                    after_unknown,
                    sensitive_paths: sensitive,
                    depends_on: &change.depends_on,
                    action_reason: change.replace.then_some("replace_by_request"),
                    rollout: RolloutSchedule::of(change),
                    importing: change.import_id().map(|id| Importing { id }),
                }
            })
            .collect(),
        resource_moves: &plan.moves,
        resource_forgets: &plan.forgets,
        rollouts: plan
            .rollouts
            .iter()
            .map(|note| Note {
                note,
                message: super::rollout::sentence(note),
            })
            .collect(),
        output_changes: super::outputs::json_output_changes(plan),
    };
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

/// One side of a change as a JSON object (every attribute of the resource, `null` when unset).
fn side<'a>(
    attrs: &'a [Attr<'a>],
    pick: impl Fn(&'a Attr<'a>) -> &'a Option<Val<'a>>,
) -> BTreeMap<&'static str, Value> {
    attrs
        .iter()
        .map(|attr| (attr.name, pick(attr).as_ref().map_or(Value::Null, to_json)))
        .collect()
}

fn to_json(value: &Val) -> Value {
    match value {
        Val::Str(text) | Val::Digest(text) => Value::String((*text).to_string()),
        Val::Bool(flag) => Value::Bool(*flag),
        Val::Num(number) => {
            serde_json::Number::from_f64(*number).map_or(Value::Null, Value::Number)
        }
        Val::Sensitive(_) => Value::String(SENSITIVE.to_string()),
        Val::Unknown => Value::Null,
        Val::Map(map) => Value::Object(
            map.iter()
                .map(|(key, value)| ((*key).to_string(), to_json(value)))
                .collect(),
        ),
    }
}

/// A JSON Pointer (RFC 6901) into `before`/`after`: `/variables/api_key`.
fn pointer(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|segment| format!("/{}", segment.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn collect_sensitive(value: &Val, path: &str, paths: &mut Vec<String>) {
    match value {
        Val::Sensitive(_) => paths.push(path.to_string()),
        Val::Map(map) => {
            for (key, value) in map {
                collect_sensitive(value, &format!("{path}{}", pointer(&[key])), paths);
            }
        }
        _ => {}
    }
}

fn collect_unknown(value: &Val, path: &str, paths: &mut Vec<String>) {
    match value {
        Val::Unknown => paths.push(path.to_string()),
        Val::Map(map) => {
            for (key, value) in map {
                collect_unknown(value, &format!("{path}{}", pointer(&[key])), paths);
            }
        }
        _ => {}
    }
}
