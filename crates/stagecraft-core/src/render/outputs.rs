//! Outputs as people and programs read them: a plan's `Changes to Outputs:`, the `Outputs:`
//! block after apply and `stagecraft output`, and Terraform's JSON shape of `output -json`
//! (docs/behaviour.md, "Outputs"). A sensitive output is `(sensitive value)`, and has no
//! `value` in JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use super::push_quoted;
use super::text::Paint;
use crate::plan::{ChangeKind, OutputAction, Plan, PlannedValue};
use crate::state::OutputState;

/// What a sensitive output shows everywhere.
pub const SENSITIVE: &str = "(sensitive value)";

/// A recorded output as shown: its value quoted, or `(sensitive value)`.
fn shown(out: &mut String, output: &OutputState) {
    match (&output.value, output.sensitive) {
        (Some(value), false) => push_quoted(out, value),
        _ => out.push_str(SENSITIVE),
    }
}

/// A planned value as shown.
fn planned(out: &mut String, value: Option<&PlannedValue>) {
    match value {
        Some(PlannedValue::Known { value }) => push_quoted(out, value),
        Some(PlannedValue::Deferred { .. }) => out.push_str("(known after apply)"),
        Some(PlannedValue::Sensitive { .. }) | None => out.push_str(SENSITIVE),
    }
}

/// Appends `Changes to Outputs:` and a line per changed output (`  + name = "value"`, names
/// aligned), or nothing when no output changes.
pub(super) fn push_output_changes(out: &mut String, plan: &Plan, paint: Paint) {
    let changes: Vec<_> = plan.output_changes().collect();
    if changes.is_empty() {
        return;
    }
    let width = changes
        .iter()
        .map(|(output, _)| output.name.chars().count())
        .max()
        .unwrap_or(0);
    paint.bold(out, "Changes to Outputs:");
    out.push('\n');
    for (output, action) in changes {
        out.push_str("  ");
        paint.symbol(
            out,
            match action {
                OutputAction::Create => ChangeKind::Create,
                OutputAction::Update => ChangeKind::Update,
                OutputAction::Delete => ChangeKind::Delete,
            },
        );
        out.push(' ');
        out.push_str(&output.name);
        push_pad(out, width - output.name.chars().count());
        out.push_str(" = ");
        let after = output.after.as_ref();
        let after_sensitive = after.is_some_and(|after| after.sensitive);
        match (&output.before, after) {
            (Some(before), None) => {
                shown(out, before);
                out.push_str(" -> null");
            }
            (Some(before), Some(after)) => {
                if before.sensitive && after_sensitive {
                    out.push_str(SENSITIVE);
                } else {
                    shown(out, before);
                    out.push_str(" -> ");
                    planned(out, after.value.as_ref());
                }
            }
            (None, Some(after)) => planned(out, after.value.as_ref()),
            (None, None) => {}
        }
        out.push('\n');
    }
}

fn push_pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `name = "value"` per recorded output, in name order (sensitive ones `(sensitive value)`),
/// names aligned: the body of `Outputs:` and of `stagecraft output`.
pub fn output_lines(outputs: &BTreeMap<String, OutputState>) -> String {
    let width = outputs
        .keys()
        .map(|name| name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, output) in outputs {
        out.push_str(name);
        push_pad(&mut out, width - name.chars().count());
        out.push_str(" = ");
        shown(&mut out, output);
        out.push('\n');
    }
    out
}

/// The `Outputs:` block printed after `Apply complete!` (Terraform's), or nothing when there
/// are no outputs.
pub fn outputs(outputs: &BTreeMap<String, OutputState>) -> String {
    if outputs.is_empty() {
        return String::new();
    }
    format!("\nOutputs:\n\n{}", output_lines(outputs))
}

/// One output in Terraform's JSON shape: `{"sensitive": false, "type": "string", "value":
/// "..."}`, without `value` when it is sensitive.
pub fn output_json(output: &OutputState) -> Json {
    let mut object = Map::new();
    object.insert("sensitive".into(), json!(output.sensitive));
    object.insert("type".into(), json!("string"));
    if let (Some(value), false) = (&output.value, output.sensitive) {
        object.insert("value".into(), json!(value));
    }
    Json::Object(object)
}

/// Every output in Terraform's JSON shape of `output -json`: an object by name.
pub fn outputs_json(outputs: &BTreeMap<String, OutputState>) -> Json {
    Json::Object(
        outputs
            .iter()
            .map(|(name, output)| (name.clone(), output_json(output)))
            .collect(),
    )
}

/// One output's change in the JSON plan, in Terraform's shape (`output_changes`): the actions,
/// the values before and after (`null` when absent, unknown or sensitive), and which side is
/// unknown or sensitive.
pub(super) fn json_output_changes(plan: &Plan) -> Map<String, Json> {
    plan.output_changes()
        .map(|(output, action)| {
            let after = output.after.as_ref();
            let after_sensitive = after.is_some_and(|after| after.sensitive);
            let before_sensitive = output
                .before
                .as_ref()
                .is_some_and(|before| before.sensitive);
            let before = output
                .before
                .as_ref()
                .and_then(|before| before.value.clone().filter(|_| !before_sensitive));
            let (after_value, after_unknown) = match after.and_then(|after| after.value.as_ref()) {
                Some(PlannedValue::Known { value }) if !after_sensitive => {
                    (Json::String(value.clone()), false)
                }
                Some(PlannedValue::Deferred { .. }) => (Json::Null, true),
                _ => (Json::Null, false),
            };
            let actions = match action {
                OutputAction::Create => "create",
                OutputAction::Update => "update",
                OutputAction::Delete => "delete",
            };
            (
                output.name.clone(),
                json!({
                    "actions": [actions],
                    "before": before,
                    "after": after_value,
                    "after_unknown": after_unknown,
                    "before_sensitive": before_sensitive,
                    "after_sensitive": after_sensitive,
                }),
            )
        })
        .collect()
}
