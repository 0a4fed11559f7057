//! The machine-readable UI's event sequences of whole applies on the in-memory AWS: a create,
//! a failure (a change failed, its dependent skipped) and a no-op apply, each line parsed and
//! the sequence snapshotted (one fixed timestamp: the CLI stamps the wall clock).

use super::*;
use crate::render::json_ui::{UiEvent, apply_end_events, apply_events, plan_events};

const OUTPUTS: &str = r#"
[variables.token]
default = "s3cr3t-token"
sensitive = true
[outputs]
url = "${rest_apis.orders.stages.prod.invoke_url}"
deployment = "${rest_apis.orders.stages.prod.deployment_id}"
auth = { value = "Bearer ${var.token}", sensitive = true }
"#;

/// The lines `apply --json` writes for `applied`, the run of `config` on `state`.
fn stream(config: &Config, state: Option<&State>, applied: &Applied) -> String {
    let plan = make_plan(config, state).unwrap();
    let mut events = vec![UiEvent::Version {
        stagecraft: "0.0.0-test".to_string(),
    }];
    events.extend(plan_events(&plan));
    for event in &applied.events {
        events.extend(apply_events(&plan, event, Duration::ZERO));
    }
    events.extend(apply_end_events(&plan, &applied.report));
    let mut out = String::new();
    for event in events {
        let line = event.line("2026-12-02T08:00:00.000000Z");
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["@module"], "stagecraft.ui");
        assert_eq!(parsed["type"], event.kind());
        assert!(
            !line.contains("s3cr3t") && !line.contains("value-of-API_KEY"),
            "{line}"
        );
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_create_streams_plan_hooks_summary_and_outputs() {
    let aws = FakeAws::new();
    let cfg = config(&stages("api1", "r1", OUTPUTS));
    let run = apply_config(&aws, &cfg, None).await;
    assert!(run.report.succeeded());
    insta::assert_snapshot!("json_ui_create", stream(&cfg, None, &run));
}

#[tokio::test(start_paused = true)]
async fn a_failure_streams_the_error_the_skip_and_an_incomplete_summary() {
    let aws = FakeAws::new();
    aws.fail(
        "CreateStage",
        ProviderError::new(
            ErrorKind::Permanent,
            Some("BadRequestException"),
            "Invalid stage variable value",
        ),
        1,
    );
    let cfg = config(&stages("api1", "r1", OUTPUTS));
    let mut options = options();
    options.parallelism = 1;
    let run = apply_with(&aws, &cfg, None, &options, MemoryJournal::default(), &[]).await;
    assert!(!run.report.succeeded());
    let lines = stream(&cfg, None, &run);
    assert!(lines.contains("\"type\":\"apply_errored\""));
    assert!(
        !lines.contains("\"type\":\"outputs\",\"outputs\":{\"auth\":{\"sensitive\":true,\"type\"")
    );
    insta::assert_snapshot!("json_ui_failure", lines);
}

#[tokio::test(start_paused = true)]
async fn a_no_op_apply_streams_zero_counts_and_the_recorded_outputs() {
    let aws = FakeAws::new();
    let cfg = config(&stages("api1", "r1", OUTPUTS));
    let first = apply_config(&aws, &cfg, None).await;
    let state = first.report.state;
    let again = apply_config(&aws, &cfg, Some(state.clone())).await;
    assert!(again.events.is_empty());
    insta::assert_snapshot!("json_ui_no_op", stream(&cfg, Some(&state), &again));
}
