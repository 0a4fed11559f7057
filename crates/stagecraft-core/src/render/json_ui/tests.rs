//! Each event's line: one JSON object with Terraform's common keys, sorted, and the fields of
//! its type; diagnostics carry their file range; moves, forgets and replacements their actions.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use stagecraft_config::{Address, Position, SpanRange};

use super::*;

fn parsed(event: &UiEvent) -> Value {
    let line = event.line("2026-12-02T08:00:00Z");
    assert!(!line.contains('\n'));
    serde_json::from_str(&line).unwrap()
}

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

#[test]
fn a_diagnostic_carries_severity_code_and_range() {
    let event = UiEvent::Diagnostic(UiDiagnostic {
        severity: Severity::Error,
        summary: "unknown key `x`".to_string(),
        detail: "not a known key".to_string(),
        code: Some("config::unknown_key".to_string()),
        address: None,
        range: Some(SpanRange {
            filename: "prod.toml".to_string(),
            start: Position {
                line: 3,
                column: 1,
                byte: 20,
            },
            end: Position {
                line: 3,
                column: 2,
                byte: 21,
            },
        }),
    });
    let value = parsed(&event);
    assert_eq!(value["@level"], "error");
    assert_eq!(value["@message"], "Error: unknown key `x`");
    assert_eq!(value["@timestamp"], "2026-12-02T08:00:00Z");
    assert_eq!(value["type"], "diagnostic");
    assert_eq!(
        value["diagnostic"],
        json!({
            "severity": "error",
            "summary": "unknown key `x`",
            "detail": "not a known key",
            "code": "config::unknown_key",
            "range": {
                "filename": "prod.toml",
                "start": { "line": 3, "column": 1, "byte": 20 },
                "end": { "line": 3, "column": 2, "byte": 21 },
            },
        })
    );
}

#[test]
fn moves_forgets_and_replacements_are_planned_changes() {
    let moved = parsed(&UiEvent::PlannedChange {
        address: address("rest_apis.shop.stages.prod"),
        action: UiAction::Move,
        actions: Vec::new(),
        previous: Some(address("rest_apis.orders.stages.prod")),
        importing: None,
    });
    assert_eq!(
        moved["@message"],
        "rest_apis.orders.stages.prod: Plan to move to rest_apis.shop.stages.prod"
    );
    assert_eq!(
        moved["change"]["previous_resource"]["addr"],
        "rest_apis.orders.stages.prod"
    );
    let replaced = parsed(&UiEvent::PlannedChange {
        address: address("amplify_apps.web.branches.main"),
        action: UiAction::Replace,
        actions: vec![Action::ArtifactDeploy],
        previous: None,
        importing: None,
    });
    assert_eq!(replaced["change"]["action"], "replace");
    assert_eq!(replaced["change"]["reason"], "requested");
    assert_eq!(replaced["change"]["actions"], json!(["artifact_deploy"]));
    assert_eq!(
        replaced["change"]["resource"]["resource_type"],
        "amplify_branch"
    );
}

#[test]
fn every_line_has_the_common_keys_first_in_sorted_order() {
    let event = UiEvent::ApplyProgress {
        address: address("rest_apis.orders.stages.prod"),
        action: UiAction::Update,
        elapsed_seconds: 31,
        message: "waiting for the cache (CREATE_IN_PROGRESS)".to_string(),
    };
    let line = event.line("t");
    assert!(
        line.starts_with(r#"{"@level":"info","@message":"rest_apis.orders.stages.prod: waiting for the cache (CREATE_IN_PROGRESS)","@module":"stagecraft.ui","@timestamp":"t","hook":{"action":"update","elapsed_seconds":31,"#),
        "{line}"
    );
    assert!(line.ends_with(r#""type":"apply_progress"}"#), "{line}");
}

#[test]
fn a_sensitive_output_has_no_value() {
    let mut outputs = std::collections::BTreeMap::new();
    outputs.insert(
        "token".to_string(),
        crate::state::OutputState {
            value: None,
            sensitive: true,
        },
    );
    let value = parsed(&applied_outputs(&outputs));
    assert_eq!(
        value["outputs"],
        json!({ "token": { "sensitive": true, "type": "string" } })
    );
    assert_eq!(value["@message"], "Outputs: 1");
}

#[test]
fn a_rolled_back_rollout_is_an_error_diagnostic_naming_its_canary() {
    let canary = address("rest_apis.orders.stages.prod.canary");
    let result = crate::apply::RolloutResult {
        address: canary.clone(),
        end: crate::apply::RolloutEnd::RolledBack {
            step: 1,
            percent: 25.0,
            alarm: "orders-5xx".into(),
            reason: "Threshold Crossed".into(),
        },
    };
    let line = parsed(&rollout_failure(&result).unwrap());
    assert_eq!(line["@level"], "error");
    assert_eq!(line["type"], "diagnostic");
    assert_eq!(line["diagnostic"]["severity"], "error");
    assert_eq!(line["diagnostic"]["detail"], "Threshold Crossed");
    assert!(
        line["diagnostic"]["summary"]
            .as_str()
            .unwrap()
            .contains("rolled back at step 2 (25%): alarm orders-5xx is in ALARM")
    );
    let promoted = crate::apply::RolloutResult {
        address: canary,
        end: crate::apply::RolloutEnd::Promoted,
    };
    assert!(rollout_failure(&promoted).is_none());
}
