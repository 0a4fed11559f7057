//! The planned schedule, its summary, and `--write-config`'s edit leaving a file whose next plan
//! is empty.
#![allow(clippy::unwrap_used)]

use stagecraft_config::{Address, ConfigText, Promote, promote_in_config};

use super::human_duration;
use crate::plan::{Action, Desired, promoted_stage};
use crate::state::ResourceState;
use crate::state::RolloutSchedule;
use crate::test_support::{apply_to, config, make_plan};

const FILE: &str = r#"
[rest_apis.orders]
id = "a1b2c3d4e5"

# Production.
[rest_apis.orders.stages.prod]
revision = "r1"   # the release before
variables = { backend = "orders-prod" }

[rest_apis.orders.stages.prod.canary]
revision = "r2"
variable_overrides = { backend = "orders-next" }

[rest_apis.orders.stages.prod.canary.rollout]
steps = [5, 25, 50]
bake = "10m"
alarms = ["orders-5xx", "orders-p99"]
"#;

fn schedule(steps: &[f64], bakes_ms: &[u64], alarms: usize, promote: Promote) -> RolloutSchedule {
    RolloutSchedule {
        steps: steps.to_vec(),
        bakes_ms: bakes_ms.to_vec(),
        alarms: (0..alarms).map(|i| format!("alarm-{i}")).collect(),
        promote,
        poll_interval_ms: 500,
    }
}

#[test]
fn the_summary_reads_as_the_issue_writes_it() {
    let minute = 60_000;
    assert_eq!(
        schedule(&[5.0, 25.0, 50.0], &[10 * minute; 3], 2, Promote::Auto).summary(),
        "5% -> 25% -> 50% -> promote, about 30m, gated by 2 alarms"
    );
    assert_eq!(
        schedule(&[2.5, 100.0], &[500, 1000], 1, Promote::Manual).summary(),
        "2.5% -> 100% -> wait for `rollout promote`, about 1.5s, gated by 1 alarm"
    );
    assert_eq!(
        schedule(&[10.0], &[90 * minute], 0, Promote::Auto).summary(),
        "10% -> promote, about 1h 30m, gated by no alarms"
    );
}

#[test]
fn human_durations() {
    let cases = [
        (0, "0ms"),
        (750, "750ms"),
        (1000, "1s"),
        (1500, "1.5s"),
        (45_000, "45s"),
        (60_000, "1m"),
        (750_000, "12m 30s"),
        (3_600_000, "1h"),
        (5_430_000, "1h 30m"),
        (7 * 86_400_000, "7d"),
        (2 * 86_400_000 + 4 * 3_600_000, "2d 4h"),
    ];
    for (ms, text) in cases {
        assert_eq!(human_duration(ms), text, "{ms} ms");
    }
}

#[test]
fn a_canary_with_a_rollout_is_deployed_at_its_first_step_with_the_schedule() {
    let plan = make_plan(&config(FILE), None).unwrap();
    let change = plan
        .changes
        .iter()
        .find(|change| change.address.to_string() == "rest_apis.orders.stages.prod.canary")
        .unwrap();
    assert_eq!(change.actions, [Action::Create, Action::CanaryDeploy]);
    let Some(Desired::Canary(canary)) = &change.after else {
        panic!()
    };
    assert_eq!(canary.percent_traffic, 5.0);
    assert_eq!(
        canary.rollout,
        Some(RolloutSchedule {
            steps: vec![5.0, 25.0, 50.0],
            bakes_ms: vec![600_000; 3],
            alarms: vec!["orders-5xx".into(), "orders-p99".into()],
            promote: Promote::Auto,
            poll_interval_ms: 30_000,
        })
    );
}

/// After a promotion, `--write-config`'s edit of the file leaves a configuration the state
/// already satisfies: its next plan is empty.
#[test]
fn the_written_config_plans_nothing_after_a_promotion() {
    let full = format!("[project]\nname = \"t\"\nregion = \"us-east-1\"\n{FILE}");
    let deployed = apply_to(None, &make_plan(&config(FILE), None).unwrap());
    // What a promotion leaves: the stage on the canary's deployment, the canary gone.
    let mut promoted = deployed.clone();
    let stage_address = Address::parse("rest_apis.orders.stages.prod").unwrap();
    let canary_address = Address::parse("rest_apis.orders.stages.prod.canary").unwrap();
    let Some(ResourceState::Canary(canary)) = promoted.resources.remove(&canary_address) else {
        panic!()
    };
    let Some(ResourceState::Stage(stage)) = promoted.resources.get_mut(&stage_address) else {
        panic!()
    };
    *stage = promoted_stage(stage, &canary);
    promoted.serial += 1;

    let edited = promote_in_config(
        &[ConfigText {
            name: "deploy.toml",
            text: &full,
        }],
        &canary_address,
        &canary.revision,
    )
    .unwrap();
    let text = edited[0].clone().unwrap();
    assert!(
        text.contains("revision = \"r2\"   # the release before"),
        "{text}"
    );
    assert!(text.contains("# Production."), "{text}");
    let plain = stagecraft_config::parse(&text, &crate::test_support::TestHost).unwrap();
    let plan = make_plan(&plain, Some(&promoted)).unwrap();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
    assert_eq!(plan.unchanged, 1);
}
