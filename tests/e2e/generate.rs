//! `stagecraft generate` end to end (issue 11's "Show"): stages (one with a canary) made with the
//! SDK on LocalStack and branches made with the SDK on the Amplify emulator, then `generate`,
//! then `plan` shows only imports, `apply` makes no mutating call (counted by the proxy and the
//! emulator), and the next plan is empty; `--out` refuses an existing file without `--force`.

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::{DeploymentCanarySettings, Op, PatchOperation};
use stagecraft_testkit::localstack;

use crate::amplify::amplify_client;
use crate::aws::{self, Proxied, stagecraft_at};
use crate::support::{self, server_runtime};

fn mutating(counts: &BTreeMap<String, u64>) -> Vec<String> {
    counts
        .keys()
        .filter(|operation| !operation.starts_with("Get") && !operation.starts_with("List"))
        .cloned()
        .collect()
}

#[test]
fn generated_files_plan_only_imports_and_apply_changes_nothing() {
    // Two stages and a canary, made by hand.
    let api = aws::new_api();
    let client = localstack::apigateway_client(&aws::endpoint(), localstack::REGION);
    let rt = aws::runtime();
    rt.block_on(
        client
            .create_deployment()
            .rest_api_id(&api)
            .stage_name("prod")
            .stage_description("Production")
            .description("release 41")
            .variables("backend", "orders-prod")
            .send(),
    )
    .unwrap();
    rt.block_on(
        client
            .create_deployment()
            .rest_api_id(&api)
            .stage_name("prod")
            .canary_settings(
                DeploymentCanarySettings::builder()
                    .percent_traffic(10.0)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    rt.block_on(
        client
            .create_deployment()
            .rest_api_id(&api)
            .stage_name("staging")
            .send(),
    )
    .unwrap();
    rt.block_on(
        client
            .update_stage()
            .rest_api_id(&api)
            .stage_name("staging")
            .patch_operations(
                PatchOperation::builder()
                    .op(Op::Replace)
                    .path("/tracingEnabled")
                    .value("true")
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let deployments = aws::deployments(&api);

    // Two branches, made by hand.
    let runtime = server_runtime(1);
    let emulator = support::emulator(&runtime, std::time::Duration::from_millis(100));
    let app = emulator.create_app("web");
    let amplify = amplify_client(&emulator.endpoint());
    for (name, stage) in [
        ("main", aws_sdk_amplify::types::Stage::Production),
        ("feature/x", aws_sdk_amplify::types::Stage::Beta),
    ] {
        runtime
            .block_on(
                amplify
                    .create_branch()
                    .app_id(&app)
                    .branch_name(name)
                    .stage(stage)
                    .framework("React")
                    .description(format!("{name} site"))
                    .environment_variables("API_URL", "https://api.example.com")
                    .send(),
            )
            .unwrap();
    }

    emulator.reset_calls();
    let dir = support::scratch();
    let amplify_endpoint = emulator.endpoint();
    let proxy = Proxied::counting();
    let via = proxy.endpoint();
    let run = |args: &[&str]| {
        stagecraft_at(
            dir.path(),
            &via,
            args,
            &[("AWS_ENDPOINT_URL_AMPLIFY", amplify_endpoint.as_str())],
        )
    };
    let generated = run(&[
        "generate",
        "--rest-api",
        &api,
        "--amplify-app",
        &app,
        "--out",
        "deploy.toml",
    ]);
    assert_eq!(
        generated.code, 0,
        "{}\n{}",
        generated.stdout, generated.stderr
    );
    assert!(
        generated.stdout.contains("with 5 resource(s) to import"),
        "{}",
        generated.stdout
    );
    let calls = proxy.take_counts();
    assert_eq!(mutating(&calls), Vec::<String>::new(), "{calls:?}");
    let emulated = emulator.calls();
    assert_eq!(mutating(&emulated), Vec::<String>::new(), "{emulated:?}");
    assert_eq!(emulated.get("ListBranches"), Some(&1), "{emulated:?}");
    let text = std::fs::read_to_string(dir.path().join("deploy.toml")).unwrap();
    assert!(text.contains("revision = \"deployment-"), "{text}");
    assert!(text.contains("percent_traffic = 10.0"), "{text}");
    assert!(text.contains("tracing = true"), "{text}");
    assert_eq!(text.matches("[[import]]").count(), 5, "{text}");
    // Formatted as `fmt` leaves it.
    assert_eq!(run(&["fmt", "--check"]).code, 0);

    // Without --force, an existing file is left alone.
    let again = run(&["generate", "--rest-api", &api, "--out", "deploy.toml"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("generate::exists"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("deploy.toml")).unwrap(),
        text
    );
    // To standard output, the same file.
    let printed = run(&["generate", "--rest-api", &api, "--amplify-app", &app]);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    assert_eq!(printed.stdout, text);

    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("Plan: 5 to import, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("Resource actions"), "{}", plan.stdout);
    proxy.take_counts();
    emulator.reset_calls();

    let apply = run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 5 imported, 0 added, 0 changed, 0 destroyed."),
        "{}",
        apply.stdout
    );
    let calls = proxy.take_counts();
    assert_eq!(mutating(&calls), Vec::<String>::new(), "{calls:?}");
    let emulated = emulator.calls();
    assert_eq!(mutating(&emulated), Vec::<String>::new(), "{emulated:?}");
    assert_eq!(aws::deployments(&api), deployments);

    emulator.reset_calls();
    let next = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert_eq!(proxy.take_counts(), BTreeMap::new());
    let refreshed = run(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(
        refreshed.code, 0,
        "{}\n{}",
        refreshed.stdout, refreshed.stderr
    );
}
