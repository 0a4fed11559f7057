//! `--json` on the real binary against LocalStack: every line of `validate`, `plan` and
//! `apply` parses as one event of Terraform's machine-readable UI; a create, a failure and a
//! no-op apply stream the expected sequence of event types; secrets never appear; `apply
//! --json` without `--auto-approve` or a saved plan is refused.

use serde_json::Value;

use crate::aws::{self, stagecraft_at};
use crate::support::{Run, stagecraft};

fn config(api: &str, description: &str, dev_revision: &str) -> String {
    format!(
        r#"[project]
name = "json-ui"
region = "us-east-1"

[aws]
create_deployment_interval = "100ms"
max_attempts = 1

[variables.token]
default = "s3cr3t-token"
sensitive = true

[rest_apis.orders]
id = "{api}"

[rest_apis.orders.stages.prod]
revision = "r1"
description = "{description}"

[rest_apis.orders.stages.dev]
revision = "{dev_revision}"
depends_on = ["rest_apis.orders.stages.prod"]

[outputs]
url = "${{rest_apis.orders.stages.prod.invoke_url}}"
auth = {{ value = "Bearer ${{var.token}}", sensitive = true }}
"#
    )
}

/// Every line of standard output as an event; each must parse and carry the common keys.
fn events(run: &Run) -> Vec<Value> {
    assert!(!run.stdout.contains("s3cr3t"), "{}", run.stdout);
    run.stdout
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
            for key in ["@level", "@message", "@module", "@timestamp", "type"] {
                assert!(event.get(key).is_some(), "no {key}: {line}");
            }
            assert_eq!(event["@module"], "stagecraft.ui");
            let stamp = event["@timestamp"].as_str().unwrap();
            assert!(humantime::parse_rfc3339(stamp).is_ok(), "{stamp}");
            event
        })
        .collect()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn validate_plan_and_apply_stream_terraforms_events() {
    let api = aws::new_api();
    let endpoint = aws::endpoint();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| stagecraft_at(dir.path(), &endpoint, args, &[]);
    std::fs::write(dir.path().join("deploy.toml"), config(&api, "one", "r1")).unwrap();

    let valid = stagecraft(dir.path(), &["validate", "--json"]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    assert_eq!(types(&events(&valid)), ["version"]);

    let refused = run(&["apply", "--json"]);
    assert_eq!(refused.code, 1);
    let refusal = events(&refused);
    assert_eq!(types(&refusal), ["version", "diagnostic"]);
    assert_eq!(
        refusal[1]["diagnostic"]["code"],
        "apply::json_needs_approval"
    );

    let plan = run(&["plan", "--json", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    let planned = events(&plan);
    assert_eq!(
        types(&planned),
        [
            "version",
            "planned_change",
            "planned_change",
            "change_summary",
            "outputs"
        ]
    );
    assert_eq!(
        planned[1]["change"]["resource"]["addr"],
        "rest_apis.orders.stages.prod"
    );
    assert_eq!(planned[1]["change"]["action"], "create");
    assert_eq!(planned[3]["changes"]["add"], 2);

    // A create.
    let create = run(&["apply", "--json", "--auto-approve"]);
    assert_eq!(create.code, 0, "{}\n{}", create.stdout, create.stderr);
    let created = events(&create);
    assert_eq!(
        types(&created),
        [
            "version",
            "planned_change",
            "planned_change",
            "change_summary",
            "outputs",
            "apply_start",
            "apply_complete",
            "apply_start",
            "apply_complete",
            "change_summary",
            "outputs",
        ]
    );
    let summary = &created[9];
    assert_eq!(
        summary["@message"],
        "Apply complete! Resources: 2 added, 0 changed, 0 destroyed."
    );
    assert_eq!(summary["changes"]["operation"], "apply");
    assert_eq!(
        created[10]["outputs"]["url"]["value"],
        format!("https://{api}.execute-api.us-east-1.amazonaws.com/prod")
    );
    assert_eq!(
        created[10]["outputs"]["auth"],
        serde_json::json!({ "sensitive": true, "type": "string" })
    );

    // A no-op.
    let noop = run(&["apply", "--json", "--auto-approve"]);
    assert_eq!(noop.code, 0, "{}", noop.stderr);
    let nothing = events(&noop);
    assert_eq!(
        types(&nothing),
        [
            "version",
            "change_summary",
            "outputs",
            "change_summary",
            "outputs"
        ]
    );
    assert_eq!(nothing[3]["changes"]["add"], 0);

    // A failure: AWS refuses prod's update; dev, which depends on it, is skipped. A saved
    // plan is applied (no prompt needed).
    std::fs::write(dir.path().join("deploy.toml"), config(&api, "two", "r2")).unwrap();
    let saved = run(&["plan", "--json", "--out", "plan.out"]);
    assert_eq!(saved.code, 0, "{}\n{}", saved.stdout, saved.stderr);
    let proxy = aws::Proxied::counting();
    proxy.deny("UpdateStage");
    let failed_run = stagecraft_at(
        dir.path(),
        &proxy.endpoint(),
        &["apply", "--json", "plan.out"],
        &[],
    );
    assert_eq!(
        failed_run.code, 1,
        "{}\n{}",
        failed_run.stdout, failed_run.stderr
    );
    let failed = events(&failed_run);
    let kinds = types(&failed);
    assert!(kinds.contains(&"apply_errored".to_string()), "{kinds:?}");
    let last = failed.last().unwrap();
    assert_eq!(last["type"], "change_summary");
    assert_eq!(last["changes"]["complete"], false);
    assert!(
        failed.iter().any(|event| event["type"] == "diagnostic"
            && event["@level"] == "warn"
            && event["diagnostic"]["address"] == "rest_apis.orders.stages.dev"),
        "{kinds:?}"
    );
    let error = failed
        .iter()
        .find(|event| event["type"] == "diagnostic" && event["@level"] == "error")
        .unwrap();
    assert!(
        error["diagnostic"]["detail"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{error}"
    );
}

#[test]
fn validate_json_reports_each_error_with_its_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.toml"),
        "[project]\nname = \"p\"\n\n[outputs]\nurl = \"${rest_apis.a.stages.s.invoke_url}\"\n",
    )
    .unwrap();
    let run = stagecraft(dir.path(), &["validate", "--json"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "");
    let lines = events(&run);
    assert_eq!(types(&lines), ["version", "diagnostic"]);
    let diagnostic = &lines[1]["diagnostic"];
    assert_eq!(diagnostic["code"], "config::unknown_address");
    assert_eq!(diagnostic["range"]["filename"], "deploy.toml");
    assert_eq!(diagnostic["range"]["start"]["line"], 5);
    assert_eq!(diagnostic["range"]["start"]["column"], 7);
}
