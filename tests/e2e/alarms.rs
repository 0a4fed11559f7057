//! CloudWatch's side of rollouts (`rollout.rs` has the rollouts themselves): alarms in
//! LocalStack read by the binary over Smithy RPC v2 CBOR through the fault proxy. A canary
//! created in its stage's `CreateStage` is driven too (an alarm set to `ALARM` by hand rolls it
//! back); throttled `DescribeAlarms` reads are retried and the rollout still promotes; a denied
//! `DescribeAlarms` names its IAM action and leaves the rollout at its step.

use std::collections::BTreeMap;

use stagecraft_testkit::alarms::{put_metric_alarm, set_alarm_state};
use stagecraft_testkit::proxy::{FaultRates, ProxyConfig};

use crate::aws::{self, Proxied, runtime, stagecraft_at};
use crate::support::Run;

/// An alarm no other test uses, made in LocalStack and set to `state`.
fn alarm(prefix: &str, state: &str) -> String {
    let name = format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let endpoint = aws::endpoint();
    runtime().block_on(async {
        put_metric_alarm(&endpoint, &name).await.unwrap();
        set_alarm_state(&endpoint, &name, state, &format!("{state} set by the test"))
            .await
            .unwrap();
    });
    name
}

/// A stage on r1 with a canary on r2 whose rollout bakes `bake` per step, polling every 100 ms.
fn config(api: &str, steps: &str, bake: &str, alarm: &str) -> String {
    format!(
        r#"[project]
name = "alarms"
region = "us-east-1"

[aws]
create_deployment_interval = "100ms"

[rest_apis.orders]
id = "{api}"

[rest_apis.orders.stages.prod]
revision = "r1"

[rest_apis.orders.stages.prod.canary]
revision = "r2"

[rest_apis.orders.stages.prod.canary.rollout]
steps = {steps}
bake = "{bake}"
alarms = ["{alarm}"]
poll_interval = "100ms"
"#
    )
}

fn apply(dir: &std::path::Path, proxy: &Proxied) -> Run {
    stagecraft_at(
        dir,
        &proxy.endpoint(),
        &["apply", "--auto-approve"],
        &[("RUST_LOG", "info")],
    )
}

fn count(counts: &BTreeMap<String, u64>, operation: &str) -> u64 {
    counts.get(operation).copied().unwrap_or(0)
}

#[test]
fn a_canary_created_with_its_stage_is_driven_and_an_alarm_in_alarm_rolls_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let proxy = Proxied::counting();
    let name = alarm("orders-5xx", "ALARM");
    std::fs::write(
        dir.path().join("deploy.toml"),
        config(&api, "[10, 50]", "10s", &name),
    )
    .unwrap();
    let run = apply(dir.path(), &proxy);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(&name), "{}", run.stderr);
    assert!(
        run.stderr.contains("ALARM set by the test"),
        "{}",
        run.stderr
    );
    let counts = proxy.take_counts();
    assert!(count(&counts, "DescribeAlarms") >= 1, "{counts:?}");
    // The canary was removed at the first check; the stage kept r1's deployment.
    let live = aws::stage(&api, "prod").unwrap();
    assert!(live.canary_settings().is_none(), "{live:?}");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("stagecraft.state.json")).unwrap(),
    )
    .unwrap();
    let text = state.to_string();
    assert!(text.contains("rolled_back"), "{text}");
    assert!(text.contains(&name), "{text}");
}

#[test]
fn throttled_alarm_reads_are_retried_and_the_rollout_promotes() {
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let proxy = Proxied::start(
        1,
        ProxyConfig {
            seed: 7,
            ..ProxyConfig::new(aws::endpoint())
        },
    );
    proxy.set_cloudwatch_faults(FaultRates {
        throttle: 0.4,
        ..FaultRates::NONE
    });
    let name = alarm("orders-p99", "OK");
    std::fs::write(
        dir.path().join("deploy.toml"),
        config(&api, "[20, 60]", "500ms", &name),
    )
    .unwrap();
    let run = apply(dir.path(), &proxy);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let injected = proxy.injected();
    assert!(count(&injected, "DescribeAlarms") >= 1, "{injected:?}");
    assert!(count(&proxy.counts(), "DescribeAlarms") >= 2);
    // Promoted: the stage serves the canary's deployment, with no canary left.
    let live = aws::stage(&api, "prod").unwrap();
    assert!(live.canary_settings().is_none(), "{live:?}");
    assert_eq!(aws::deployments(&api), 2);
    let plan = stagecraft_at(
        dir.path(),
        &proxy.endpoint(),
        &["plan", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

#[test]
fn a_denied_describe_alarms_names_its_iam_action_and_leaves_the_rollout_at_its_step() {
    let dir = tempfile::tempdir().unwrap();
    let api = aws::new_api();
    let proxy = Proxied::counting();
    proxy.deny("DescribeAlarms");
    let name = alarm("orders-errors", "OK");
    std::fs::write(
        dir.path().join("deploy.toml"),
        config(&api, "[10, 50]", "10s", &name),
    )
    .unwrap();
    let run = apply(dir.path(), &proxy);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("(cloudwatch:DescribeAlarms on DescribeAlarms)"),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.denials(), 1, "an access denied is not retried");
    // The canary stays at its first step.
    let live = aws::stage(&api, "prod").unwrap();
    assert_eq!(live.canary_settings().unwrap().percent_traffic, 10.0);
}
