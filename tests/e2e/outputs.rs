//! `[outputs]` on the real binary against LocalStack: shown after `Apply complete!`, recorded
//! in the state (a sensitive one without its value), listed by `stagecraft output`, one printed
//! raw by `output NAME`, Terraform's JSON shape under `--json`; a plan shows their changes.

use crate::aws::{self, stagecraft_at};
use crate::support::stagecraft;

fn config(api: &str, revision: &str, extra: &str) -> String {
    format!(
        r#"[project]
name = "outputs"
region = "us-east-1"

[aws]
create_deployment_interval = "100ms"

[variables.token]
default = "s3cr3t-token"
sensitive = true

[rest_apis.orders]
id = "{api}"

[rest_apis.orders.stages.prod]
revision = "{revision}"

[outputs]
url = "${{rest_apis.orders.stages.prod.invoke_url}}"
deployment = {{ value = "${{rest_apis.orders.stages.prod.deployment_id}}", description = "what prod serves" }}
auth = {{ value = "Bearer ${{var.token}}", sensitive = true }}
{extra}
"#
    )
}

#[test]
fn outputs_are_shown_after_apply_recorded_and_printed_by_output() {
    let api = aws::new_api();
    let endpoint = aws::endpoint();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| stagecraft_at(dir.path(), &endpoint, args, &[]);
    std::fs::write(dir.path().join("deploy.toml"), config(&api, "r1", "")).unwrap();

    let plan = run(&["plan"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("Changes to Outputs:"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+ deployment = (known after apply)"),
        "{}",
        plan.stdout
    );

    let apply = run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let deployment = aws::stage(&api, "prod")
        .unwrap()
        .deployment_id()
        .unwrap()
        .to_string();
    let url = format!("https://{api}.execute-api.us-east-1.amazonaws.com/prod");
    let tail = apply
        .stdout
        .split("Apply complete!")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", apply.stdout));
    assert_eq!(
        tail.split_once('\n').unwrap().1,
        format!(
            "\nOutputs:\n\nauth       = (sensitive value)\ndeployment = \"{deployment}\"\nurl        = \"{url}\"\n"
        )
    );

    // The state records the values (the sensitive one without it); `output` reads only it.
    let state = std::fs::read_to_string(dir.path().join("stagecraft.state.json")).unwrap();
    assert!(state.contains(&deployment), "{state}");
    for text in [apply.stdout.as_str(), apply.stderr.as_str(), state.as_str()] {
        assert!(!text.contains("s3cr3t"), "{text}");
    }
    let all = stagecraft(dir.path(), &["output"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(
        all.stdout,
        format!(
            "auth       = (sensitive value)\ndeployment = \"{deployment}\"\nurl        = \"{url}\"\n"
        )
    );
    let one = stagecraft(dir.path(), &["output", "url"]);
    assert_eq!(
        (one.code, one.stdout.as_str()),
        (0, format!("{url}\n").as_str())
    );
    let secret = stagecraft(dir.path(), &["output", "auth"]);
    assert_eq!(
        (secret.code, secret.stdout.as_str()),
        (0, "(sensitive value)\n")
    );
    let json = stagecraft(dir.path(), &["output", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        parsed,
        serde_json::json!({
            "auth": { "sensitive": true, "type": "string" },
            "deployment": { "sensitive": false, "type": "string", "value": deployment },
            "url": { "sensitive": false, "type": "string", "value": url },
        })
    );
    let one_json = stagecraft(dir.path(), &["output", "url", "--json"]);
    assert_eq!(one_json.stdout, format!("\"{url}\"\n"));
    let missing = stagecraft(dir.path(), &["output", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("output `nope` not found"),
        "{}",
        missing.stderr
    );

    // Nothing changed: no output changes either, and apply still shows them.
    let again = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let noop = run(&["apply", "--auto-approve"]);
    assert!(noop.stdout.contains("No changes."), "{}", noop.stdout);
    assert!(
        noop.stdout.contains(&format!("url        = \"{url}\"")),
        "{}",
        noop.stdout
    );

    // An output added alone is a change that calls nothing in AWS.
    std::fs::write(
        dir.path().join("deploy.toml"),
        config(
            &api,
            "r1",
            "name = \"${rest_apis.orders.stages.prod.stage_name}\"",
        ),
    )
    .unwrap();
    let added = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(added.code, 2, "{}\n{}", added.stdout, added.stderr);
    assert!(
        added.stdout.contains("  + name = \"prod\""),
        "{}",
        added.stdout
    );
    assert!(
        added
            .stdout
            .contains("You can apply this plan to save these new output values")
    );
    let deployments = aws::deployments(&api);
    let apply = run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(aws::deployments(&api), deployments);
    assert_eq!(stagecraft(dir.path(), &["output", "name"]).stdout, "prod\n");

    // A new revision: the deployment output follows it.
    std::fs::write(dir.path().join("deploy.toml"), config(&api, "r2", "")).unwrap();
    let redeploy = run(&["plan"]);
    assert!(
        redeploy.stdout.contains(&format!(
            "~ deployment = \"{deployment}\" -> (known after apply)"
        )),
        "{}",
        redeploy.stdout
    );
    assert!(
        redeploy.stdout.contains("- name       = \"prod\" -> null"),
        "{}",
        redeploy.stdout
    );
    let apply = run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let now = aws::stage(&api, "prod")
        .unwrap()
        .deployment_id()
        .unwrap()
        .to_string();
    assert_ne!(now, deployment);
    assert_eq!(
        stagecraft(dir.path(), &["output", "deployment"]).stdout,
        format!("{now}\n")
    );
    assert_eq!(stagecraft(dir.path(), &["output", "name"]).code, 1);
}
