//! `rollout status` of a state holding a rollout in each standing, text and JSON.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use stagecraft_config::Address;
use stagecraft_core::state::{
    AlarmCheck, AlarmReading, CanaryState, PausedBy, Promote, ResourceState, RolloutPromotion,
    RolloutSchedule, RolloutState, RolloutStatus, StageState, State, StepRecord, Timestamp,
};

use super::{json, text};

const T0: u64 = 1_796_195_657_000;
const MINUTE: u64 = 60_000;

fn at(minutes: u64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * MINUTE)
}

fn canary(stage: &str, rollout: RolloutState) -> (Address, ResourceState) {
    let percent = rollout.steps.last().map_or(0.0, |step| step.percent);
    (
        Address::Canary {
            api: "orders".into(),
            stage: stage.into(),
        },
        ResourceState::Canary(CanaryState {
            rest_api_id: "api1".into(),
            stage_name: stage.into(),
            revision: "r2".into(),
            deployment_id: "d2".into(),
            percent_traffic: percent,
            variable_overrides: BTreeMap::new(),
            use_stage_cache: false,
            rollout: Some(rollout),
        }),
    )
}

fn schedule() -> RolloutSchedule {
    RolloutSchedule {
        steps: vec![5.0, 25.0, 50.0],
        bakes_ms: vec![10 * MINUTE; 3],
        alarms: vec!["orders-5xx".into(), "orders-latency".into()],
        promote: Promote::Auto,
        poll_interval_ms: MINUTE,
    }
}

fn checked(minutes: u64, latency: &str, reason: &str) -> AlarmCheck {
    AlarmCheck {
        at: at(minutes),
        alarms: vec![
            AlarmReading {
                name: "orders-5xx".into(),
                state: "OK".into(),
                reason: String::new(),
            },
            AlarmReading {
                name: "orders-latency".into(),
                state: latency.into(),
                reason: reason.into(),
            },
        ],
    }
}

fn second_step(status: RolloutStatus) -> RolloutState {
    let mut first = StepRecord::new(5.0, at(0));
    first.baked_ms = 10 * MINUTE;
    first.counted_at = at(10);
    first.checks = 11;
    first.completed_at = Some(at(10));
    let mut second = StepRecord::new(25.0, at(10));
    second.baked_ms = 4 * MINUTE;
    second.counted_at = at(14);
    second.checks = 4;
    RolloutState {
        schedule: schedule(),
        status,
        steps: vec![first, second],
        last_check: Some(checked(14, "OK", "")),
    }
}

fn state() -> State {
    let mut state = State::new("orders", "lineage-1".into());
    let baking = second_step(RolloutStatus::Baking { step: 1 });
    let paused = second_step(RolloutStatus::Paused {
        step: 1,
        by: PausedBy::Operator,
    });
    let mut rolled_back = second_step(RolloutStatus::RolledBack {
        at: at(15),
        step: 1,
        alarm: "orders-latency".into(),
        reason: "Threshold Crossed: p99 above 800 ms".into(),
    });
    rolled_back.last_check = Some(checked(15, "ALARM", "Threshold Crossed: p99 above 800 ms"));
    let fresh = RolloutState::started(schedule(), at(14));
    for (stage, rollout) in [
        ("beta", baking),
        ("gamma", paused),
        ("delta", rolled_back),
        ("epsilon", fresh),
    ] {
        let (address, record) = canary(stage, rollout);
        state.resources.insert(address, record);
    }
    state.resources.insert(
        Address::Stage {
            api: "orders".into(),
            stage: "prod".into(),
        },
        ResourceState::Stage(StageState {
            rest_api_id: "api1".into(),
            stage_name: "prod".into(),
            revision: "r2".into(),
            deployment_id: "d2".into(),
            description: None,
            tracing: false,
            variables: BTreeMap::new(),
            cache_size: None,
            promoted_by_rollout: Some(RolloutPromotion {
                from_revision: "r1".into(),
                canary_revision: "r2".into(),
                at: at(31),
            }),
        }),
    );
    state
}

#[test]
fn status_shows_each_rollout_with_its_step_bake_left_and_alarms() {
    // Two minutes after the last check: the baking one has 4 minutes of bake left, the paused
    // one still 6 (its bake is frozen).
    insta::assert_snapshot!(text(&state(), at(16)));
}

#[test]
fn status_json_carries_the_same_and_the_records() {
    let document: serde_json::Value = serde_json::from_str(&json(&state(), at(16))).unwrap();
    let rollouts = document["rollouts"].as_array().unwrap();
    assert_eq!(rollouts.len(), 4);
    let beta = rollouts
        .iter()
        .find(|r| r["address"] == "rest_apis.orders.stages.beta.canary")
        .unwrap();
    assert_eq!(beta["status"], "baking");
    assert_eq!(beta["step"], 2);
    assert_eq!(beta["percent"], 25.0);
    assert_eq!(beta["bake_left_ms"], 4 * MINUTE);
    assert_eq!(beta["alarms"][1]["state"], "OK");
    assert_eq!(
        document["promotions"][0]["promotion"]["canary_revision"],
        "r2"
    );
}

#[test]
fn status_of_a_state_without_rollouts_says_so() {
    assert_eq!(
        text(&State::new("orders", "l".into()), at(0)),
        "No rollouts in the state.\n"
    );
}
