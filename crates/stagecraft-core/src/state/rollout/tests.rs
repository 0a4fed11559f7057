//! Unit tests of the rollout records: their JSON in the state, old states read, RFC 3339
//! timestamps, and the bake arithmetic (a pause freezes the bake).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::state::{CanaryState, ResourceState, StageState, State};
use stagecraft_config::Address;

fn schedule() -> RolloutSchedule {
    RolloutSchedule {
        steps: vec![5.0, 25.0, 50.0],
        bakes_ms: vec![600_000, 600_000, 600_000],
        alarms: vec!["orders-5xx".into()],
        promote: Promote::Auto,
        poll_interval_ms: 30_000,
    }
}

const T0: u64 = 1_796_195_657_123;

fn canary(rollout: Option<RolloutState>) -> CanaryState {
    CanaryState {
        rest_api_id: "abc".into(),
        stage_name: "prod".into(),
        revision: "2".into(),
        deployment_id: "d2".into(),
        percent_traffic: 5.0,
        variable_overrides: BTreeMap::new(),
        use_stage_cache: false,
        rollout,
    }
}

fn state_with(canary: CanaryState, stage: StageState) -> State {
    let mut state = State::new("p", "l".into());
    state.resources.insert(
        Address::parse("rest_apis.a.stages.prod").unwrap(),
        ResourceState::Stage(stage),
    );
    state.resources.insert(
        Address::parse("rest_apis.a.stages.prod.canary").unwrap(),
        ResourceState::Canary(canary),
    );
    state
}

fn stage(promotion: Option<RolloutPromotion>) -> StageState {
    StageState {
        rest_api_id: "abc".into(),
        stage_name: "prod".into(),
        revision: "1".into(),
        deployment_id: "d1".into(),
        description: None,
        tracing: false,
        variables: BTreeMap::new(),
        cache_size: None,
        promoted_by_rollout: promotion,
    }
}

#[test]
fn timestamps_are_rfc3339_utc_with_milliseconds() {
    let cases = [
        (0, "1970-01-01T00:00:00.000Z"),
        (T0, "2026-12-02T07:14:17.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ];
    for (millis, text) in cases {
        assert_eq!(Timestamp(millis).to_string(), text);
        assert_eq!(text.parse::<Timestamp>().unwrap(), Timestamp(millis));
    }
    assert_eq!(
        serde_json::to_string(&Timestamp(T0)).unwrap(),
        "\"2026-12-02T07:14:17.123Z\""
    );
}

#[test]
fn timestamps_read_offsets_and_other_fractions() {
    let parse = |text: &str| text.parse::<Timestamp>().unwrap().0;
    assert_eq!(parse("2026-12-02T08:14:17.123+01:00"), T0);
    assert_eq!(parse("2026-12-02T07:14:17.1234567Z"), T0);
    assert_eq!(parse("2026-12-02T07:14:17.1Z"), T0 - 23);
    assert_eq!(parse("2026-12-02T07:14:17Z"), T0 - 123);
}

#[test]
fn malformed_timestamps_are_refused() {
    for text in [
        "",
        "2026-12-02",
        "2026-12-02 07:14:17Z",
        "2026-13-02T07:14:17Z",
        "2026-02-29T07:14:17Z",
        "2026-12-02T24:00:00Z",
        "2026-12-02T07:14:17",
        "2026-12-02T07:14:17.Z",
        "2026-12-02T07:14:17+0100",
        "1969-12-31T23:59:59Z",
        "+026-12-02T07:14:17Z",
    ] {
        assert!(text.parse::<Timestamp>().is_err(), "{text:?} was read");
    }
    let error = serde_json::from_str::<Timestamp>("\"yesterday\"").unwrap_err();
    assert!(error.to_string().contains("RFC 3339"), "{error}");
}

proptest! {
    #[test]
    fn timestamps_round_trip(millis in 0u64..253_402_300_799_999) {
        let text = Timestamp(millis).to_string();
        prop_assert_eq!(text.parse::<Timestamp>().unwrap(), Timestamp(millis));
    }
}

#[test]
fn each_status_is_tagged_by_name() {
    let at = Timestamp(T0);
    let cases = [
        (
            RolloutStatus::Baking { step: 1 },
            r#"{"status":"baking","step":1}"#,
        ),
        (
            RolloutStatus::Paused {
                step: 0,
                by: PausedBy::Operator,
            },
            r#"{"status":"paused","step":0,"by":"operator"}"#,
        ),
        (
            RolloutStatus::AwaitingPromotion { since: at },
            r#"{"status":"awaiting_promotion","since":"2026-12-02T07:14:17.123Z"}"#,
        ),
        (
            RolloutStatus::RolledBack {
                at,
                step: 1,
                alarm: "orders-5xx".into(),
                reason: "Threshold Crossed".into(),
            },
            r#"{"status":"rolled_back","at":"2026-12-02T07:14:17.123Z","step":1,"alarm":"orders-5xx","reason":"Threshold Crossed"}"#,
        ),
        (
            RolloutStatus::Aborted { at, step: 2 },
            r#"{"status":"aborted","at":"2026-12-02T07:14:17.123Z","step":2}"#,
        ),
    ];
    for (status, json) in cases {
        assert_eq!(serde_json::to_string(&status).unwrap(), json);
        assert_eq!(serde_json::from_str::<RolloutStatus>(json).unwrap(), status);
        assert!(json.contains(&format!("\"{}\"", status.name())), "{json}");
    }
}

#[test]
fn a_state_with_a_rollout_and_a_promotion_round_trips() {
    let mut rollout = RolloutState::started(schedule(), Timestamp(T0));
    rollout.steps[0].baked_ms = 600_000;
    rollout.steps[0].checks = 21;
    rollout.steps[0].completed_at = Some(Timestamp(T0 + 600_000));
    rollout
        .steps
        .push(StepRecord::new(25.0, Timestamp(T0 + 600_100)));
    rollout.status = RolloutStatus::Paused {
        step: 1,
        by: PausedBy::Interrupt,
    };
    rollout.last_check = Some(AlarmCheck {
        at: Timestamp(T0 + 600_000),
        alarms: vec![AlarmReading {
            name: "orders-5xx".into(),
            state: "OK".into(),
            reason: String::new(),
        }],
    });
    let promotion = RolloutPromotion {
        from_revision: "0".into(),
        canary_revision: "1".into(),
        at: Timestamp(T0 - 1000),
    };
    let state = state_with(canary(Some(rollout)), stage(Some(promotion)));
    let text = state.to_json().unwrap();
    assert!(text.contains("\"status\": \"paused\""), "{text}");
    assert!(text.contains("\"promoted_by_rollout\""), "{text}");
    assert_eq!(State::from_json(&text).unwrap(), state);
}

#[test]
fn states_written_before_rollouts_read_and_write_unchanged() {
    let state = state_with(canary(None), stage(None));
    let text = state.to_json().unwrap();
    assert!(!text.contains("rollout"), "{text}");
    assert_eq!(State::from_json(&text).unwrap(), state);
}

#[test]
fn an_unknown_rollout_field_refuses_the_state() {
    let state = state_with(
        canary(Some(RolloutState::started(schedule(), Timestamp(T0)))),
        stage(None),
    );
    let text = state
        .to_json()
        .unwrap()
        .replace("\"poll_interval_ms\"", "\"pole_interval_ms\"");
    assert!(State::from_json(&text).is_err());
}

#[test]
fn the_bake_counts_time_while_baking_and_a_pause_freezes_it() {
    let mut rollout = RolloutState::started(schedule(), Timestamp(T0));
    assert_eq!(rollout.baked_ms(Timestamp(T0 + 1000)), 1000);
    assert_eq!(rollout.bake_left_ms(Timestamp(T0 + 1000)), 599_000);
    // Paused after 1 s, with the bake counted up to then.
    rollout.steps[0].baked_ms = 1000;
    rollout.steps[0].counted_at = Timestamp(T0 + 1000);
    rollout.status = RolloutStatus::Paused {
        step: 0,
        by: PausedBy::Operator,
    };
    assert_eq!(rollout.baked_ms(Timestamp(T0 + 500_000)), 1000);
    assert_eq!(rollout.bake_left_ms(Timestamp(T0 + 500_000)), 599_000);
    assert!(rollout.is_active());
    // A clock set back never makes a negative bake.
    rollout.status = RolloutStatus::Baking { step: 0 };
    assert_eq!(rollout.baked_ms(Timestamp(T0)), 1000);
    assert_eq!(rollout.bake_left_ms(Timestamp(T0 + 2_000_000)), 0);
}

#[test]
fn a_finished_rollout_has_no_bake_left() {
    let mut rollout = RolloutState::started(schedule(), Timestamp(T0));
    rollout.status = RolloutStatus::RolledBack {
        at: Timestamp(T0 + 10),
        step: 0,
        alarm: "orders-5xx".into(),
        reason: "r".into(),
    };
    assert_eq!(rollout.bake_left_ms(Timestamp(T0 + 10)), 0);
    assert!(rollout.is_rejected());
    assert!(!rollout.is_active());
    assert_eq!(rollout.step_index(), Some(0));
    assert_eq!(schedule().total_bake_ms(), 1_800_000);
    assert_eq!(schedule().last_step(), 2);
}
