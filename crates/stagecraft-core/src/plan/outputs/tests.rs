//! Outputs in a plan: what each is planned to become, when that is a change, and what apply
//! records from it.
#![allow(clippy::unwrap_used)]

use crate::plan::{OutputAction, PlanMode, PlannedValue};
use crate::render::{TextStyle, text};
use crate::state::OutputState;
use crate::test_support::{apply_to, config, make_plan, make_plan_with};

const OUTPUTS: &str = r#"
[variables.token]
default = "s3cr3t"
sensitive = true

[rest_apis.api]
id = "abc"
[rest_apis.api.stages.prod]
revision = "r1"

[outputs]
url = "${rest_apis.api.stages.prod.invoke_url}"
deployment = "${rest_apis.api.stages.prod.deployment_id}"
auth = { value = "Bearer ${var.token}", sensitive = true }
"#;

fn actions(plan: &crate::plan::Plan) -> Vec<(String, OutputAction)> {
    plan.output_changes()
        .map(|(output, action)| (output.name.clone(), action))
        .collect()
}

#[test]
fn new_outputs_are_created_known_deferred_or_sensitive() {
    let plan = make_plan(&config(OUTPUTS), None).unwrap();
    assert_eq!(
        actions(&plan),
        vec![
            ("auth".to_string(), OutputAction::Create),
            ("deployment".to_string(), OutputAction::Create),
            ("url".to_string(), OutputAction::Create),
        ]
    );
    let by_name = |name: &str| {
        plan.outputs
            .iter()
            .find(|output| output.name == name)
            .and_then(|output| output.after.clone())
            .unwrap()
    };
    assert_eq!(
        by_name("url").value,
        Some(PlannedValue::Known {
            value: "https://abc.execute-api.us-east-1.amazonaws.com/prod".to_string()
        })
    );
    assert!(matches!(
        by_name("deployment").value,
        Some(PlannedValue::Deferred { .. })
    ));
    let auth = by_name("auth");
    assert!(auth.sensitive);
    assert_eq!(auth.value, None);
    // Not even the plan holds a sensitive output's value.
    assert!(!plan.to_json().unwrap().contains("s3cr3t"));
}

#[test]
fn apply_records_resolved_values_and_no_sensitive_one_then_nothing_changes() {
    let config = config(OUTPUTS);
    let plan = make_plan(&config, None).unwrap();
    let state = apply_to(None, &plan);
    assert_eq!(
        state.outputs["deployment"],
        OutputState {
            value: Some("dep-abc-r1".to_string()),
            sensitive: false
        }
    );
    assert_eq!(
        state.outputs["auth"],
        OutputState {
            value: None,
            sensitive: true
        }
    );
    assert!(!state.to_json().unwrap().contains("s3cr3t"));
    let again = make_plan(&config, Some(&state)).unwrap();
    assert_eq!(actions(&again), vec![]);
    assert!(!again.has_changes());
}

#[test]
fn changed_removed_and_destroyed_outputs() {
    let (config_before, state) = {
        let config = config(OUTPUTS);
        let plan = make_plan(&config, None).unwrap();
        let state = apply_to(None, &plan);
        (config, state)
    };
    let changed = OUTPUTS
        .replace("invoke_url}\"", "invoke_url}/v2\"")
        .replace(
            "deployment = \"${rest_apis.api.stages.prod.deployment_id}\"\n",
            "",
        );
    let plan = make_plan(&config(&changed), Some(&state)).unwrap();
    assert_eq!(
        actions(&plan),
        vec![
            ("deployment".to_string(), OutputAction::Delete),
            ("url".to_string(), OutputAction::Update),
        ]
    );
    // Only outputs change: the plan has changes though AWS does not.
    assert!(plan.changes.is_empty() && plan.has_changes());
    // A new revision: the deployment is known only after apply, a change.
    let redeploy = make_plan(&config(&OUTPUTS.replace("\"r1\"", "\"r2\"")), Some(&state)).unwrap();
    assert_eq!(
        actions(&redeploy),
        vec![("deployment".to_string(), OutputAction::Update)]
    );
    let destroy = make_plan_with(&config_before, Some(&state), PlanMode::Destroy, &[]).unwrap();
    assert_eq!(
        actions(&destroy),
        vec![
            ("auth".to_string(), OutputAction::Delete),
            ("deployment".to_string(), OutputAction::Delete),
            ("url".to_string(), OutputAction::Delete),
        ]
    );
    assert!(apply_to(Some(&state), &destroy).outputs.is_empty());
}

#[test]
fn a_value_that_cannot_be_resolved_keeps_what_was_recorded() {
    let config = config(OUTPUTS);
    let plan = make_plan(&config, None).unwrap();
    let deployment = plan
        .outputs
        .iter()
        .find(|output| output.name == "deployment")
        .unwrap();
    assert_eq!(deployment.applied(&|_, _| None), None);
    let mut recorded = deployment.clone();
    recorded.before = Some(OutputState {
        value: Some("old".to_string()),
        sensitive: false,
    });
    assert_eq!(
        recorded.applied(&|_, _| None).unwrap().value.as_deref(),
        Some("old")
    );
    assert_eq!(
        recorded
            .applied(&|_, _| Some("dep-9".to_string()))
            .unwrap()
            .value
            .as_deref(),
        Some("dep-9")
    );
}

#[test]
fn text_plans_show_changes_to_outputs() {
    let config = config(OUTPUTS);
    let create = make_plan(&config, None).unwrap();
    insta::assert_snapshot!(
        "text_create_with_outputs",
        text(&create, TextStyle::default())
    );
    let state = apply_to(None, &create);
    let changed = OUTPUTS
        .replace("invoke_url}\"", "invoke_url}/v2\"")
        .replace("auth = {", "old_auth = {")
        .replace(
            "deployment = \"${rest_apis.api.stages.prod.deployment_id}\"\n",
            "",
        );
    let only_outputs = make_plan(&crate::test_support::config(&changed), Some(&state)).unwrap();
    let rendered = text(&only_outputs, TextStyle::default());
    assert!(!rendered.contains("s3cr3t"));
    insta::assert_snapshot!("text_only_outputs", rendered);
}

/// The JSON plan carries Terraform's `output_changes` (sensitive values never, a deferred one
/// `null` with `after_unknown`), and the Markdown comment a `Changes to Outputs` section.
#[test]
fn json_and_markdown_plans_show_changes_to_outputs() {
    let config = config(OUTPUTS);
    let create = make_plan(&config, None).unwrap();
    let json: serde_json::Value = serde_json::from_str(&crate::render::json(&create)).unwrap();
    let changes = &json["output_changes"];
    assert_eq!(changes["url"]["actions"], serde_json::json!(["create"]));
    assert!(
        changes["url"]["after"]
            .as_str()
            .unwrap()
            .starts_with("https://abc.")
    );
    assert_eq!(changes["deployment"]["after"], serde_json::Value::Null);
    assert_eq!(changes["deployment"]["after_unknown"], true);
    assert_eq!(changes["auth"]["after_sensitive"], true);
    assert_eq!(changes["auth"]["after"], serde_json::Value::Null);

    let state = apply_to(None, &create);
    let changed = OUTPUTS.replace("invoke_url}\"", "invoke_url}/v2\"");
    let update = make_plan(&crate::test_support::config(&changed), Some(&state)).unwrap();
    let json = crate::render::json(&update);
    assert!(!json.contains("s3cr3t"));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let url = &json["output_changes"]["url"];
    assert_eq!(url["actions"], serde_json::json!(["update"]));
    assert!(url["before"].as_str().unwrap().ends_with("/prod"));
    assert!(url["after"].as_str().unwrap().ends_with("/prod/v2"));
    assert_eq!(
        json["output_changes"].as_object().unwrap().len(),
        1,
        "unchanged outputs are not listed"
    );
    let markdown = crate::render::markdown(&update, crate::render::MARKDOWN_LIMIT);
    assert!(!markdown.contains("s3cr3t"));
    insta::assert_snapshot!("markdown_only_outputs", markdown);
    // A plan whose outputs do not change has no such key nor section.
    let same = make_plan(&config, Some(&state)).unwrap();
    assert!(!crate::render::json(&same).contains("output_changes"));
    assert!(!crate::render::markdown(&same, crate::render::MARKDOWN_LIMIT).contains("Outputs"));
}
