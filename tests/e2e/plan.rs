//! `stagecraft plan` and `show`: snapshots of every example in the three formats, saved plans,
//! exit codes, targets and secrets.

use crate::support::{scratch, stagecraft};

const EXAMPLES: [(&str, &str); 4] = [
    ("reference", "deploy.toml.example"),
    ("api-stages", "examples/api-stages/deploy.toml"),
    ("canary-rollout", "examples/canary-rollout/deploy.toml"),
    ("amplify-site", "examples/amplify-site/deploy.toml"),
];

/// Plans carry a fresh lineage and digests: redact what changes from run to run.
fn redact(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = if let Some(index) = line.find("\"lineage\": \"") {
            format!("{}\"lineage\": \"[lineage]\",", &line[..index])
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn examples_in_three_formats() {
    let dir = scratch();
    for (name, config) in EXAMPLES {
        // The digests of sensitive values, from the saved plan: none may show in any rendering.
        let saved = stagecraft(
            dir.path(),
            &["--config", config, "plan", "--out", "saved.out"],
        );
        assert_eq!(saved.code, 0, "{}", saved.stderr);
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("saved.out")).unwrap())
                .unwrap();
        let mut digests = Vec::new();
        collect_sensitive_digests(&saved, &mut digests);
        if name == "reference" {
            assert!(digests.len() >= 2, "{digests:?}");
        }
        for format in ["text", "json", "markdown"] {
            let run = stagecraft(
                dir.path(),
                &["--config", config, "plan", "--format", format],
            );
            assert_eq!(run.code, 0, "{name} {format}: {}", run.stderr);
            assert!(!run.stdout.contains("example-api-key-VALUE"));
            assert!(!run.stdout.contains("example-web-PASSWORD"));
            // Each plan salts its digests afresh, so the saved plan's digests are looked for
            // in the saved plan's own renderings.
            let shown = stagecraft(dir.path(), &["show", "saved.out", "--format", format]);
            assert_eq!(shown.code, 0, "{name} {format}: {}", shown.stderr);
            for digest in &digests {
                assert!(
                    !run.stdout.contains(digest.as_str())
                        && !shown.stdout.contains(digest.as_str()),
                    "a digest leaked into {name} {format}"
                );
            }
            insta::assert_snapshot!(format!("{name}.{format}"), redact(&run.stdout));
        }
    }
}

#[test]
fn detailed_exitcode_saved_plans_and_show() {
    let dir = scratch();
    let config = "examples/api-stages/deploy.toml";
    let run = stagecraft(
        dir.path(),
        &[
            "--config",
            config,
            "plan",
            "--detailed-exitcode",
            "--out",
            "plan.out",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    let saved = std::fs::read_to_string(dir.path().join("plan.out")).unwrap();
    assert!(saved.contains("\"prior_serial\": null"));
    assert!(saved.contains("\"config_digest\": \"sha256:"));
    for format in ["text", "json", "markdown"] {
        let plan = stagecraft(
            dir.path(),
            &["--config", config, "plan", "--format", format],
        );
        let shown = stagecraft(dir.path(), &["show", "plan.out", "--format", format]);
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        assert_eq!(redact(&shown.stdout), redact(&plan.stdout), "{format}");
    }
    let garbage = dir.path().join("garbage.out");
    std::fs::write(&garbage, "{}").unwrap();
    let run = stagecraft(dir.path(), &["show", "garbage.out"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is not a saved plan"), "{}", run.stderr);
}

#[test]
fn targets_include_dependencies() {
    let dir = scratch();
    let run = stagecraft(
        dir.path(),
        &[
            "--config",
            "deploy.toml.example",
            "plan",
            "--format",
            "json",
            "--target",
            "amplify_apps.web.branches.main",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let addresses: Vec<&str> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        vec![
            "rest_apis.orders.stages.staging",
            "rest_apis.orders.stages.prod",
            "amplify_apps.web.branches.main"
        ]
    );
    let bad = stagecraft(
        dir.path(),
        &[
            "--config",
            "deploy.toml.example",
            "plan",
            "--target",
            "rest_apis.orders",
        ],
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("--target rest_apis.orders"),
        "{}",
        bad.stderr
    );
}

#[test]
fn state_commands_and_corrupt_state() {
    let dir = scratch();
    let folder = dir.path().join("examples/api-stages");
    std::fs::write(
        folder.join("stagecraft.state.json"),
        r#"{"format_version": 1, "lineage": "l", "serial": 3, "project": "orders-api",
            "deployments": {"a1b2c3d4e5": {"2026-11-20.1": "d1"}},
            "resources": {"rest_apis.orders.stages.staging": {"kind": "apigateway_stage",
              "rest_api_id": "a1b2c3d4e5", "stage_name": "staging", "revision": "2026-11-20.1",
              "deployment_id": "d1", "description": "Pre-production", "tracing": true,
              "variables": {"backend": "orders-staging", "log_level": "debug"}}}}"#,
    )
    .unwrap();
    let config = "examples/api-stages/deploy.toml";
    let plan = stagecraft(
        dir.path(),
        &["--config", config, "plan", "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    let list = stagecraft(dir.path(), &["--config", config, "state", "list"]);
    assert_eq!(list.stdout, "rest_apis.orders.stages.staging\n");
    let show = stagecraft(
        dir.path(),
        &[
            "--config",
            config,
            "state",
            "show",
            "rest_apis.orders.stages.staging",
        ],
    );
    assert!(
        show.stdout.contains("\"deployment_id\": \"d1\""),
        "{}",
        show.stdout
    );
    let rm = stagecraft(
        dir.path(),
        &[
            "--config",
            config,
            "state",
            "rm",
            "rest_apis.orders.stages.staging",
        ],
    );
    assert_eq!(rm.code, 0, "{}", rm.stderr);
    let state = std::fs::read_to_string(folder.join("stagecraft.state.json")).unwrap();
    assert!(state.contains("\"serial\": 4"));
    assert!(folder.join("stagecraft.state.json.backup").exists());
    // A corrupt state is an error that changes nothing.
    std::fs::write(folder.join("stagecraft.state.json"), "{ not json").unwrap();
    let run = stagecraft(dir.path(), &["--config", config, "plan"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("corrupt"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(folder.join("stagecraft.state.json")).unwrap(),
        "{ not json"
    );
}

fn collect_sensitive_digests(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("type").and_then(|t| t.as_str()) == Some("sensitive")
                && let Some(digest) = map.get("digest").and_then(|d| d.as_str())
            {
                out.push(digest.to_string());
                // And the start of the hash itself (`argon2id$...$<salt>$<hash>`).
                let hash = digest.rsplit('$').next().unwrap_or(digest);
                out.push(hash[..12.min(hash.len())].to_string());
            }
            map.values().for_each(|v| collect_sensitive_digests(v, out));
        }
        serde_json::Value::Array(items) => {
            items.iter().for_each(|v| collect_sensitive_digests(v, out))
        }
        _ => {}
    }
}
