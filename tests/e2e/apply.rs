//! `apply` against LocalStack through the counting proxy: the lifecycle of the apply issue
//! (create, settings, new revision, rollback, canary, shift, promote, canary removal, delete,
//! prevent_destroy), each step checked against AWS as read back with the SDK, followed by a
//! plan with nothing to do and a second apply that makes no mutating call; and a sensitive
//! variable that reaches AWS and no output, log or file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aws::{self, Proxied, stagecraft_at};
use crate::support::Run;

const SECRET: &str = "s3cr3t-API-key-value";

/// Calls since the last look, by operation; reads (`Get*`) left out.
fn mutations(proxy: &Proxied) -> BTreeMap<String, u64> {
    proxy
        .take_counts()
        .into_iter()
        .filter(|(operation, _)| !operation.starts_with("Get"))
        .collect()
}

struct Project {
    dir: tempfile::TempDir,
    api: String,
    proxy: Proxied,
}

impl Project {
    fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
            api: aws::new_api(),
            proxy: Proxied::counting(),
        }
    }

    fn write(&self, body: &str) {
        let text = format!(
            "[project]\nname = \"lifecycle\"\nregion = \"us-east-1\"\n\n[aws]\ncreate_deployment_interval = \"100ms\"\n\n[rest_apis.orders]\nid = \"{}\"\n{body}",
            self.api
        );
        std::fs::write(self.dir.path().join("deploy.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let endpoint = self.proxy.endpoint();
        stagecraft_at(
            self.dir.path(),
            &endpoint,
            args,
            &[("ORDERS_API_KEY", SECRET), ("RUST_LOG", "debug")],
        )
    }

    /// Applies, checks it succeeded, and returns the mutating calls it made; then checks that
    /// a plan finds nothing to do and a second apply makes no mutating call.
    fn apply(&self) -> BTreeMap<String, u64> {
        mutations(&self.proxy);
        let run = self.run(&["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "apply failed:\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("Apply complete!"), "{}", run.stdout);
        assert_no_secret(&run, self.dir.path());
        let made = mutations(&self.proxy);
        let plan = self.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(
            plan.code, 0,
            "not converged:\n{}\n{}",
            plan.stdout, plan.stderr
        );
        let again = self.run(&["apply", "--auto-approve"]);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(again.stdout.contains("No changes."), "{}", again.stdout);
        assert_eq!(mutations(&self.proxy), BTreeMap::new());
        made
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.path().join("stagecraft.state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn recorded_deployment(&self, stage: &str) -> String {
        self.state()["resources"][format!("rest_apis.orders.stages.{stage}")]["deployment_id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// No output, no log line (the runs log at debug) and no file in the project folder holds the
/// secret.
fn assert_no_secret(run: &Run, dir: &Path) {
    assert!(!run.stdout.contains(SECRET), "secret in stdout");
    assert!(!run.stderr.contains(SECRET), "secret in stderr");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(SECRET),
            "secret in {}",
            path.display()
        );
    }
}

/// The text with line wrapping and diagnostic gutters undone, for phrases that wrap.
fn flat(text: &str) -> String {
    text.split_whitespace()
        .filter(|word| !matches!(*word, "│" | "|" | "×" | "help:"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn count(made: &BTreeMap<String, u64>, operation: &str) -> u64 {
    made.get(operation).copied().unwrap_or(0)
}

fn stages(staging: &str, prod: &str, prod_variables: &str, extra: &str) -> String {
    format!(
        r#"
[rest_apis.orders.stages.staging]
revision = "{staging}"
description = "Pre-production"
tracing = true
cache_size = "0.5"
variables = {{ backend = "orders-staging", api_key = {{ env = "ORDERS_API_KEY" }} }}

[rest_apis.orders.stages.prod]
revision = "{prod}"
variables = {{ {prod_variables} }}
depends_on = ["rest_apis.orders.stages.staging"]
{extra}"#
    )
}

#[test]
fn the_stage_and_canary_lifecycle_converges_at_every_step() {
    let project = Project::new();
    let api = project.api.clone();
    let variables = |stage: &str| {
        aws::stage(&api, stage)
            .unwrap()
            .variables
            .unwrap_or_default()
    };

    // Two stages with variables, cache and tracing at one revision: one snapshot of it
    // (CreateDeployment), then a CreateStage each, both on it.
    project.write(&stages("r1", "r1", "backend = \"orders-prod\"", ""));
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 1, "{made:?}");
    assert_eq!(count(&made, "CreateStage"), 2, "{made:?}");
    assert_eq!(aws::deployments(&api), 1);
    assert_eq!(
        project.recorded_deployment("staging"),
        project.recorded_deployment("prod")
    );
    let staging = aws::stage(&api, "staging").unwrap();
    assert_eq!(
        staging.deployment_id(),
        aws::stage(&api, "prod").unwrap().deployment_id()
    );
    assert!(staging.tracing_enabled && staging.cache_cluster_enabled);
    assert_eq!(
        staging.cache_cluster_size().map(|s| s.as_str()),
        Some("0.5")
    );
    assert_eq!(variables("staging")["api_key"], SECRET);
    assert_eq!(staging.description(), Some("Pre-production"));

    // Settings: UpdateStage only.
    project.write(&stages(
        "r1",
        "r1",
        "backend = \"orders-prod\", log_level = \"debug\"",
        "",
    ));
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 0, "{made:?}");
    assert_eq!(count(&made, "UpdateStage"), 1, "{made:?}");
    assert_eq!(variables("prod")["log_level"], "debug");

    // A new revision for prod: one new deployment, variables kept.
    let r1_prod = project.recorded_deployment("prod");
    let deployments = aws::deployments(&api);
    project.write(&stages(
        "r1",
        "r2",
        "backend = \"orders-prod\", log_level = \"debug\"",
        "",
    ));
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 1, "{made:?}");
    assert_eq!(aws::deployments(&api), deployments + 1);
    let prod = aws::stage(&api, "prod").unwrap();
    assert_ne!(prod.deployment_id(), Some(r1_prod.as_str()));
    assert_eq!(
        prod.deployment_id(),
        Some(project.recorded_deployment("prod").as_str())
    );
    assert_eq!(variables("prod")["log_level"], "debug");

    // Back to r1: re-pointed to r1's recorded deployment, none made.
    project.write(&stages(
        "r1",
        "r1",
        "backend = \"orders-prod\", log_level = \"debug\"",
        "",
    ));
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 0, "{made:?}");
    assert_eq!(
        aws::stage(&api, "prod").unwrap().deployment_id(),
        Some(r1_prod.as_str())
    );

    // A canary at 10% with overrides: one CreateDeployment with canary settings.
    let canary = |percent: &str| {
        format!(
            "[rest_apis.orders.stages.prod.canary]\nrevision = \"r3\"\npercent_traffic = {percent}\nvariable_overrides = {{ backend = \"orders-next\" }}\n"
        )
    };
    let prod_variables = "backend = \"orders-prod\", log_level = \"debug\"";
    project.write(&stages("r1", "r1", prod_variables, &canary("10.0")));
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 1, "{made:?}");
    let live = aws::stage(&api, "prod").unwrap();
    let settings = live.canary_settings().unwrap();
    assert_eq!(settings.percent_traffic, 10.0);
    assert_eq!(
        settings.stage_variable_overrides().unwrap()["backend"],
        "orders-next"
    );
    assert_eq!(live.deployment_id(), Some(r1_prod.as_str()));
    let canary_deployment = settings.deployment_id().unwrap().to_string();

    // Shift to 50%: UpdateStage only.
    project.write(&stages("r1", "r1", prod_variables, &canary("50.0")));
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 0, "{made:?}");
    let live = aws::stage(&api, "prod").unwrap();
    assert_eq!(live.canary_settings().unwrap().percent_traffic, 50.0);

    // Promote: prod takes r3, the canary's deployment, its overrides merged; no deployment.
    let promoted = "backend = \"orders-next\", log_level = \"debug\"";
    project.write(&stages("r1", "r3", promoted, ""));
    let plan = project.run(&["plan"]);
    assert!(
        plan.stdout
            .contains("> rest_apis.orders.stages.prod.canary"),
        "{}",
        plan.stdout
    );
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 0, "{made:?}");
    let live = aws::stage(&api, "prod").unwrap();
    assert!(live.canary_settings().is_none());
    assert_eq!(live.deployment_id(), Some(canary_deployment.as_str()));
    assert_eq!(variables("prod")["backend"], "orders-next");
    assert_eq!(variables("prod")["log_level"], "debug");

    // A canary removed without promotion: the stage keeps its deployment.
    let canary_r4 =
        "[rest_apis.orders.stages.prod.canary]\nrevision = \"r4\"\npercent_traffic = 5.0\n";
    project.write(&stages("r1", "r3", promoted, canary_r4));
    project.apply();
    assert!(
        aws::stage(&api, "prod")
            .unwrap()
            .canary_settings()
            .is_some()
    );
    project.write(&stages("r1", "r3", promoted, ""));
    let made = project.apply();
    assert_eq!(count(&made, "CreateDeployment"), 0, "{made:?}");
    let live = aws::stage(&api, "prod").unwrap();
    assert!(live.canary_settings().is_none());
    assert_eq!(live.deployment_id(), Some(canary_deployment.as_str()));

    // prevent_destroy refuses a plan that would delete prod (here `apply --destroy`; as in
    // Terraform, the protection lives in the configuration), and nothing changes.
    let protected = stages("r1", "r3", promoted, "prevent_destroy = true\n");
    project.write(&protected);
    assert_eq!(project.run(&["plan", "--detailed-exitcode"]).code, 0);
    let refused = project.run(&["apply", "--destroy", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        flat(&refused.stderr).contains("has prevent_destroy set"),
        "{}",
        refused.stderr
    );
    assert_eq!(mutations(&project.proxy), BTreeMap::new());
    assert!(aws::stage(&api, "prod").is_some());

    // Delete a stage.
    project.write(&protected[..protected.find("[rest_apis.orders.stages.prod]").unwrap()]);
    let made = project.apply();
    assert_eq!(count(&made, "DeleteStage"), 1, "{made:?}");
    assert!(aws::stage(&api, "prod").is_none());
    assert!(aws::stage(&api, "staging").is_some());
}

#[test]
fn a_saved_plan_is_applied_and_refused_once_stale() {
    let project = Project::new();
    project.write(&stages("r1", "r1", "backend = \"orders-prod\"", ""));
    let plan = project.run(&["plan", "--out", "first.plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let second = project.run(&["plan", "--out", "second.plan"]);
    assert_eq!(second.code, 0);
    let applied = project.run(&["apply", "first.plan"]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 2 added"),
        "{}",
        applied.stdout
    );
    // The second plan was made before any state existed: now one does.
    let stale = project.run(&["apply", "second.plan"]);
    assert_eq!(stale.code, 1);
    assert!(flat(&stale.stderr).contains("is stale"), "{}", stale.stderr);
    // A plan made now, then the file edited: refused.
    project.write(&stages("r1", "r2", "backend = \"orders-prod\"", ""));
    assert_eq!(project.run(&["plan", "--out", "third.plan"]).code, 0);
    project.write(&stages("r1", "r2", "backend = \"orders-prod-2\"", ""));
    let stale = project.run(&["apply", "third.plan"]);
    assert_eq!(stale.code, 1);
    assert!(
        flat(&stale.stderr)
            .contains("the configuration, an input variable or an artifact changed since"),
        "{}",
        stale.stderr
    );
    // Without a terminal and without --auto-approve, apply refuses.
    let refused = project.run(&["apply"]);
    assert_eq!(refused.code, 1);
    assert!(
        flat(&refused.stderr).contains("input is not a terminal"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        aws::stage(&project.api, "prod").unwrap().deployment_id(),
        Some(project.recorded_deployment("prod").as_str())
    );
}

#[test]
fn a_failure_names_the_resource_and_aws_message_and_keeps_what_succeeded() {
    let project = Project::new();
    // The second API does not exist: its stage fails with AWS's NotFound message; the first
    // API's stage is created and recorded.
    let text = format!(
        "{}\n[rest_apis.missing]\nid = \"nosuchapi0\"\n[rest_apis.missing.stages.solo]\nrevision = \"r1\"\n",
        stages("r1", "r1", "backend = \"orders-prod\"", "")
    );
    project.write(&text);
    let run = project.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("rest_apis.missing.stages.solo"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("CreateDeployment failed"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("Apply incomplete"), "{}", run.stdout);
    let state = project.state();
    assert!(state["resources"]["rest_apis.orders.stages.prod"].is_object());
    assert!(state["resources"]["rest_apis.missing.stages.solo"].is_null());
}

#[test]
fn drift_is_shown_and_repaired_and_import_records_existing_stages() {
    let project = Project::new();
    let api = project.api.clone();
    project.write(&stages("r1", "r1", "backend = \"orders-prod\"", ""));
    project.apply();

    // Someone edits prod by hand.
    let client = stagecraft_testkit::localstack::apigateway_client(
        &aws::endpoint(),
        stagecraft_testkit::localstack::REGION,
    );
    aws::runtime()
        .block_on(
            client
                .update_stage()
                .rest_api_id(&api)
                .stage_name("prod")
                .patch_operations(
                    aws_sdk_apigateway::types::PatchOperation::builder()
                        .op(aws_sdk_apigateway::types::Op::Replace)
                        .path("/variables/backend")
                        .value("hand-edited")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let only = project.run(&["plan", "--refresh-only", "--detailed-exitcode"]);
    assert_eq!(only.code, 2, "{}\n{}", only.stdout, only.stderr);
    assert!(
        only.stdout
            .contains("# rest_apis.orders.stages.prod has changed"),
        "{}",
        only.stdout
    );
    assert!(
        only.stdout
            .contains("~ variables.backend = orders-prod -> hand-edited"),
        "{}",
        only.stdout
    );
    assert!(
        !only.stdout.contains("staging has changed"),
        "{}",
        only.stdout
    );
    let plan = project.run(&["plan", "--refresh", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout.contains("\"hand-edited\" -> \"orders-prod\""),
        "{}",
        plan.stdout
    );
    // Without --refresh the state still believes AWS matches.
    assert_eq!(project.run(&["plan", "--detailed-exitcode"]).code, 0);
    let repaired = project.run(&["apply", "--refresh", "--auto-approve"]);
    assert_eq!(repaired.code, 0, "{}\n{}", repaired.stdout, repaired.stderr);
    assert_eq!(
        aws::stage(&api, "prod").unwrap().variables.unwrap()["backend"],
        "orders-prod"
    );
    assert_eq!(
        project
            .run(&["plan", "--refresh", "--detailed-exitcode"])
            .code,
        0
    );

    // Forget both stages, then import them: the plan has nothing to do, the secret kept as a
    // digest only.
    for stage in ["prod", "staging"] {
        let address = format!("rest_apis.orders.stages.{stage}");
        assert_eq!(project.run(&["state", "rm", &address]).code, 0);
        let imported = project.run(&["import", &address]);
        assert_eq!(imported.code, 0, "{}", imported.stderr);
        assert!(imported.stdout.contains("Import successful!"));
    }
    let plan = project.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    assert_no_secret(&plan, project.dir.path());
    let again = project.run(&["import", "rest_apis.orders.stages.prod"]);
    assert_eq!(again.code, 1);
    assert!(
        flat(&again.stderr).contains("is already in the state"),
        "{}",
        again.stderr
    );
}
