//! `[[import]]` blocks end to end: a stage made with the SDK on LocalStack and a branch made with
//! the SDK on the Amplify emulator are planned as imports (`# X will be imported`), applied with
//! no mutating call (counted by the proxy and the emulator), and the next plan is empty; a
//! difference from the file is one `UpdateStage` after the import; a target AWS does not have
//! is an error at its block.

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::{Op, PatchOperation};
use stagecraft_testkit::localstack;

use crate::amplify::amplify_client;
use crate::aws::{self, Proxied, stagecraft_at};
use crate::support::{self, Run, server_runtime};

fn assert_ok(run: &Run) {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// The calls that change something (everything but reads).
fn mutating(counts: &BTreeMap<String, u64>) -> Vec<String> {
    counts
        .keys()
        .filter(|operation| !operation.starts_with("Get") && !operation.starts_with("List"))
        .cloned()
        .collect()
}

/// A REST API whose stage `live` was made with the SDK (a deployment, a description, a
/// variable), as a team's console-made stage would be.
fn sdk_stage() -> (String, String) {
    let api = aws::new_api();
    let client = localstack::apigateway_client(&aws::endpoint(), localstack::REGION);
    let deployment = aws::runtime()
        .block_on(
            client
                .create_deployment()
                .rest_api_id(&api)
                .stage_name("live")
                .stage_description("storefront")
                .variables("backend", "orders-v1")
                .send(),
        )
        .unwrap();
    (api, deployment.id().unwrap().to_string())
}

fn write_stage(dir: &std::path::Path, api: &str, description: &str, extra: &str) {
    let text = format!(
        r#"[project]
name = "adopt"
region = "us-east-1"

[rest_apis.shop]
id = "{api}"

[rest_apis.shop.stages.live]
revision = "r1"
description = "{description}"
variables = {{ backend = "orders-v1" }}

[[import]]
to = "rest_apis.shop.stages.live"
{extra}"#
    );
    std::fs::write(dir.join("deploy.toml"), text).unwrap();
}

#[test]
fn an_sdk_made_stage_is_planned_as_an_import_and_applied_with_no_mutating_call() {
    let (api, deployment) = sdk_stage();
    let dir = support::scratch();
    write_stage(dir.path(), &api, "storefront", "");
    let proxy = Proxied::counting();
    let via = proxy.endpoint();

    let plan = stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("  # rest_apis.shop.stages.live will be imported\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(&format!("# (imported from \"{api}/live\")")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    let reads = proxy.take_counts();
    assert_eq!(mutating(&reads), Vec::<String>::new(), "{reads:?}");
    assert_eq!(reads.get("GetStage"), Some(&1), "{reads:?}");
    // Nothing is written by a plan.
    assert!(!dir.path().join("stagecraft.state.json").exists());

    // The JSON forms say so in Terraform's words.
    let json = stagecraft_at(dir.path(), &via, &["plan", "--format", "json"], &[]);
    assert_ok(&json);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let change = &document["resource_changes"][0];
    assert_eq!(change["actions"], serde_json::json!(["import"]));
    assert_eq!(change["importing"]["id"], format!("{api}/live"));
    assert_eq!(document["summary"]["import"], 1);
    let ui = stagecraft_at(dir.path(), &via, &["plan", "--json"], &[]);
    assert_ok(&ui);
    let planned: Vec<serde_json::Value> = ui
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|event: &serde_json::Value| event["type"] == "planned_change")
        .collect();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0]["change"]["action"], "import");
    assert_eq!(
        planned[0]["change"]["importing"]["id"],
        format!("{api}/live")
    );
    proxy.take_counts();

    let apply = stagecraft_at(dir.path(), &via, &["apply", "--auto-approve"], &[]);
    assert_ok(&apply);
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 1 imported, 0 added, 0 changed, 0 destroyed."),
        "{}",
        apply.stdout
    );
    let calls = proxy.take_counts();
    assert_eq!(mutating(&calls), Vec::<String>::new(), "{calls:?}");
    assert_eq!(aws::deployments(&api), 1);
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("stagecraft.state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        state["resources"]["rest_apis.shop.stages.live"]["deployment_id"],
        deployment.as_str()
    );
    assert_eq!(state["deployments"][&api]["r1"], deployment.as_str());

    // Recorded now: the block does nothing, and nothing is read.
    let next = stagecraft_at(dir.path(), &via, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert_eq!(proxy.take_counts(), BTreeMap::new());
    let refreshed = stagecraft_at(
        dir.path(),
        &via,
        &["plan", "--refresh", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(
        refreshed.code, 0,
        "{}\n{}",
        refreshed.stdout, refreshed.stderr
    );
}

#[test]
fn an_import_that_differs_from_the_file_is_imported_then_updated_by_one_call() {
    let (api, deployment) = sdk_stage();
    let dir = support::scratch();
    write_stage(dir.path(), &api, "managed by stagecraft", "");
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let saved = dir.path().join("import.plan");
    let plan = stagecraft_at(
        dir.path(),
        &via,
        &["plan", "--out", saved.to_str().unwrap()],
        &[],
    );
    assert_ok(&plan);
    assert!(
        plan.stdout
            .contains("# rest_apis.shop.stages.live will be imported and updated in place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("~ description   = \"storefront\" -> \"managed by stagecraft\""),
        "{}",
        plan.stdout
    );
    proxy.take_counts();
    // The saved plan carries the import.
    let apply = stagecraft_at(
        dir.path(),
        &via,
        &["apply", "--auto-approve", saved.to_str().unwrap()],
        &[],
    );
    assert_ok(&apply);
    assert!(
        apply.stdout.contains("1 imported, 0 added, 1 changed"),
        "{}",
        apply.stdout
    );
    let calls = proxy.take_counts();
    assert_eq!(
        mutating(&calls),
        vec!["UpdateStage".to_string()],
        "{calls:?}"
    );
    assert_eq!(calls["UpdateStage"], 1);
    let live = aws::stage(&api, "live").unwrap();
    assert_eq!(live.description(), Some("managed by stagecraft"));
    assert_eq!(live.deployment_id(), Some(deployment.as_str()));
    let next = stagecraft_at(
        dir.path(),
        &via,
        &["plan", "--refresh", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
}

#[test]
fn an_import_of_what_aws_does_not_have_is_an_error_at_its_block() {
    let (api, _) = sdk_stage();
    let dir = support::scratch();
    write_stage(
        dir.path(),
        &api,
        "storefront",
        "\n[rest_apis.shop.stages.ghost]\nrevision = \"r1\"\n\n[[import]]\nto = \"rest_apis.shop.stages.ghost\"\n",
    );
    // Someone removed the variable by hand: irrelevant to the error, which is about `ghost`.
    let client = localstack::apigateway_client(&aws::endpoint(), localstack::REGION);
    aws::runtime()
        .block_on(
            client
                .update_stage()
                .rest_api_id(&api)
                .stage_name("live")
                .patch_operations(
                    PatchOperation::builder()
                        .op(Op::Remove)
                        .path("/variables/backend")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let run = stagecraft_at(dir.path(), &aws::endpoint(), command, &[]);
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("import::missing"), "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("REST API {api} has no stage ghost to import")),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("deploy.toml:20:"), "{}", run.stderr);
        assert!(!dir.path().join("stagecraft.state.json").exists());
    }
}

#[test]
fn an_sdk_made_branch_is_imported_with_no_mutating_call() {
    let runtime = server_runtime(1);
    let emulator = support::emulator(&runtime, std::time::Duration::from_millis(100));
    let app = emulator.create_app("web");
    let client = amplify_client(&emulator.endpoint());
    runtime
        .block_on(
            client
                .create_branch()
                .app_id(&app)
                .branch_name("main")
                .description("site")
                .stage(aws_sdk_amplify::types::Stage::Beta)
                .environment_variables("API_URL", "https://api.example.com")
                .send(),
        )
        .unwrap();
    let dir = support::scratch();
    std::fs::write(
        dir.path().join("deploy.toml"),
        format!(
            r#"[project]
name = "adopt"
region = "us-east-1"

[amplify_apps.web]
id = "{app}"

[amplify_apps.web.branches.main]
stage = "BETA"
description = "site"
environment = {{ API_URL = "https://api.example.com" }}

[[import]]
to = "amplify_apps.web.branches.main"
"#
        ),
    )
    .unwrap();
    let amplify = emulator.endpoint();
    let run = |args: &[&str]| {
        stagecraft_at(
            dir.path(),
            &aws::endpoint(),
            args,
            &[("AWS_ENDPOINT_URL_AMPLIFY", amplify.as_str())],
        )
    };
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("  # amplify_apps.web.branches.main will be imported\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(&format!("(imported from \"{app}/main\")")),
        "{}",
        plan.stdout
    );
    emulator.reset_calls();
    let apply = run(&["apply", "--auto-approve"]);
    assert_ok(&apply);
    assert!(
        apply.stdout.contains("1 imported, 0 added"),
        "{}",
        apply.stdout
    );
    let calls = emulator.calls();
    assert_eq!(mutating(&calls), Vec::<String>::new(), "{calls:?}");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("stagecraft.state.json")).unwrap(),
    )
    .unwrap();
    let record = &state["resources"]["amplify_apps.web.branches.main"];
    assert_eq!(record["description"], "site");
    assert_eq!(record["stage"], "BETA");
    emulator.reset_calls();
    let next = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert_eq!(emulator.calls(), BTreeMap::new());
}
