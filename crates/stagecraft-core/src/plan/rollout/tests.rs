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

mod recorded {
    //! Plans against a state whose canary has a rollout: running, rejected, promoted.

    use stagecraft_config::Address;

    use super::FILE;
    use crate::plan::{Action, Desired, Plan, Standing, promoted_stage};
    use crate::state::{
        CanaryState, ResourceState, RolloutPromotion, RolloutState, RolloutStatus, State,
        StepRecord, Timestamp,
    };
    use crate::test_support::{apply_to, config, make_plan, make_plan_at};

    const T0: u64 = 1_764_662_400_000; // 2025-12-02T08:00:00Z

    fn stage() -> Address {
        Address::parse("rest_apis.orders.stages.prod").unwrap()
    }

    fn canary() -> Address {
        Address::parse("rest_apis.orders.stages.prod.canary").unwrap()
    }

    /// The state after FILE's apply, with the canary's record given `status` at step 1 (25%),
    /// 4 minutes into its bake.
    fn with_rollout(status: RolloutStatus) -> State {
        let mut state = apply_to(None, &make_plan(&config(FILE), None).unwrap());
        let Some(ResourceState::Canary(record)) = state.resources.get_mut(&canary()) else {
            panic!()
        };
        let Some(Desired::Canary(desired)) = make_plan(&config(FILE), None)
            .unwrap()
            .changes
            .into_iter()
            .find(|change| change.address == canary())
            .and_then(|change| change.after)
        else {
            panic!()
        };
        let mut rollout =
            RolloutState::started(desired.rollout.unwrap(), Timestamp::from_millis(T0));
        rollout.steps[0].completed_at = Some(Timestamp::from_millis(T0 + 600_000));
        let mut second = StepRecord::new(25.0, Timestamp::from_millis(T0 + 600_000));
        second.baked_ms = 240_000;
        second.counted_at = Timestamp::from_millis(T0 + 840_000);
        rollout.steps.push(second);
        rollout.status = status;
        record.percent_traffic = 25.0;
        record.rollout = Some(rollout);
        state
    }

    fn rolled_back() -> RolloutStatus {
        RolloutStatus::RolledBack {
            at: Timestamp::from_millis(T0 + 700_000),
            step: 1,
            alarm: "orders-5xx".to_string(),
            reason: "Threshold Crossed".to_string(),
        }
    }

    fn canary_change(plan: &Plan) -> Option<&crate::plan::Change> {
        plan.changes
            .iter()
            .find(|change| change.address == canary())
    }

    #[test]
    fn a_running_rollout_s_percent_is_not_a_diff_and_its_standing_is_shown() {
        let state = with_rollout(RolloutStatus::Baking { step: 1 });
        let now = Timestamp::from_millis(T0 + 900_000);
        let plan = make_plan_at(&config(FILE), Some(&state), now, &[]).unwrap();
        assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
        assert_eq!(plan.rollouts.len(), 1);
        let Standing::Running { bake_left_ms, .. } = &plan.rollouts[0].standing else {
            panic!("{:?}", plan.rollouts)
        };
        // 4 minutes counted at +14m, 1 more since: 5 of 10 minutes left.
        assert_eq!(*bake_left_ms, Some(300_000));

        // Another setting changes: the update keeps the rollout's percent.
        let edited = FILE.replace("orders-next", "orders-next-2");
        let plan = make_plan_at(&config(&edited), Some(&state), now, &[]).unwrap();
        let change = canary_change(&plan).unwrap();
        assert_eq!(change.actions, [Action::Update]);
        let Some(Desired::Canary(desired)) = &change.after else {
            panic!()
        };
        assert_eq!(desired.percent_traffic, 25.0);
    }

    #[test]
    fn a_rolled_back_canary_is_not_deployed_again_until_its_revision_changes() {
        let state = with_rollout(rolled_back());
        let plan = make_plan(&config(FILE), Some(&state)).unwrap();
        assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
        assert!(matches!(
            plan.rollouts[0].standing,
            Standing::Rejected { .. }
        ));

        let next = FILE.replace("revision = \"r2\"", "revision = \"r3\"");
        let plan = make_plan(&config(&next), Some(&state)).unwrap();
        assert_eq!(
            canary_change(&plan).unwrap().actions,
            [Action::Create, Action::CanaryDeploy]
        );
        assert!(plan.rollouts.is_empty());

        // `--replace` retries the rejected revision.
        let plan = make_plan_at(
            &config(FILE),
            Some(&state),
            Timestamp::from_millis(T0),
            &[canary()],
        )
        .unwrap();
        assert_eq!(
            canary_change(&plan).unwrap().actions,
            [Action::Create, Action::CanaryRepoint]
        );
    }

    #[test]
    fn a_rolled_back_canary_gone_from_the_file_is_forgotten_not_promoted() {
        let state = with_rollout(rolled_back());
        let start = FILE.find("[rest_apis.orders.stages.prod.canary]").unwrap();
        let without = &FILE[..start];
        let plan = make_plan(&config(without), Some(&state)).unwrap();
        assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
        assert_eq!(plan.forgets, [canary()]);

        // The stage taking the rejected revision is a rollback to its deployment, not a
        // promotion of a canary that is not live.
        let taking = without.replace("revision = \"r1\"", "revision = \"r2\"");
        let plan = make_plan(&config(&taking), Some(&state)).unwrap();
        let stage_change = plan.changes.iter().find(|c| c.address == stage()).unwrap();
        assert_eq!(stage_change.actions[0], Action::Rollback);
        assert!(canary_change(&plan).is_none());
        assert_eq!(plan.forgets, [canary()]);
    }

    /// What an automatic promotion at the end of a rollout leaves.
    fn promoted() -> State {
        let mut state = apply_to(None, &make_plan(&config(FILE), None).unwrap());
        let Some(ResourceState::Canary(record)) = state.resources.remove(&canary()) else {
            panic!()
        };
        let record: CanaryState = record;
        let Some(ResourceState::Stage(stage_record)) = state.resources.get_mut(&stage()) else {
            panic!()
        };
        let mut after = promoted_stage(stage_record, &record);
        after.promoted_by_rollout = Some(RolloutPromotion {
            from_revision: "r1".into(),
            canary_revision: "r2".into(),
            at: Timestamp::from_millis(T0 + 1_800_000),
        });
        *stage_record = after;
        state
    }

    #[test]
    fn the_file_as_it_was_and_the_plain_file_are_both_satisfied_after_a_promotion() {
        let state = promoted();
        let plan = make_plan(&config(FILE), Some(&state)).unwrap();
        assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
        assert_eq!(plan.unchanged, 2);
        assert!(matches!(
            &plan.rollouts[..],
            [note] if note.address == canary() && matches!(note.standing, Standing::Promoted { .. })
        ));

        let start = FILE.find("[rest_apis.orders.stages.prod.canary]").unwrap();
        let plain = FILE[..start]
            .replace("revision = \"r1\"", "revision = \"r2\"")
            .replace("orders-prod", "orders-next");
        let plan = make_plan(&config(&plain), Some(&state)).unwrap();
        assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
        assert!(plan.rollouts.is_empty());
    }

    #[test]
    fn a_next_canary_on_a_file_not_made_plain_keeps_the_promoted_stage() {
        let state = promoted();
        let next = FILE.replace("revision = \"r2\"", "revision = \"r3\"");
        let plan = make_plan(&config(&next), Some(&state)).unwrap();
        // The stage stays on the promoted revision; its variables follow the file, which no
        // longer carries the promoted canary's overrides (making the file plain would).
        let stage_change = plan.changes.iter().find(|c| c.address == stage()).unwrap();
        assert_eq!(stage_change.actions, [Action::Update]);
        let Some(Desired::Stage(desired)) = &stage_change.after else {
            panic!()
        };
        assert_eq!(desired.revision, "r2");
        assert!(matches!(
            &plan.rollouts[..],
            [note] if matches!(note.standing, Standing::Promoted { .. })
        ));
        assert_eq!(
            canary_change(&plan).unwrap().actions,
            [Action::Create, Action::CanaryDeploy]
        );
    }
}
