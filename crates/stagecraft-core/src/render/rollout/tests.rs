//! The rollouts a plan reports, in the three renderings: every standing with no change, and a
//! rolled-back canary beside a change (the Markdown calls it out at the top).
#![allow(clippy::unwrap_used)]

use stagecraft_config::{Address, Promote};

use crate::plan::{PLAN_FORMAT_VERSION, Plan, PlanMode, RolloutNote, Standing};
use crate::render::{MARKDOWN_LIMIT, TextStyle, json, markdown, text};
use crate::state::{
    AlarmCheck, AlarmReading, PausedBy, RolloutPromotion, RolloutSchedule, RolloutState,
    RolloutStatus, StepRecord, Timestamp,
};

const T0: u64 = 1_764_662_400_000; // 2025-12-02T08:00:00Z

fn at(offset_ms: u64) -> Timestamp {
    Timestamp::from_millis(T0 + offset_ms)
}

fn address(stage: &str) -> Address {
    Address::parse(&format!("rest_apis.orders.stages.{stage}.canary")).unwrap()
}

/// A rollout of 5/25/50% with 10-minute bakes and two alarms, at its second step.
fn rollout(status: RolloutStatus) -> RolloutState {
    let schedule = RolloutSchedule {
        steps: vec![5.0, 25.0, 50.0],
        bakes_ms: vec![600_000; 3],
        alarms: vec!["orders-5xx".into(), "orders-p99".into()],
        promote: Promote::Manual,
        poll_interval_ms: 30_000,
    };
    let mut rollout = RolloutState::started(schedule, at(0));
    rollout.steps[0].completed_at = Some(at(600_000));
    let mut second = StepRecord::new(25.0, at(600_000));
    second.baked_ms = 240_000;
    second.counted_at = at(840_000);
    second.checks = 8;
    rollout.steps.push(second);
    rollout.last_check = Some(AlarmCheck {
        at: at(840_000),
        alarms: vec![
            AlarmReading {
                name: "orders-5xx".into(),
                state: "OK".into(),
                reason: String::new(),
            },
            AlarmReading {
                name: "orders-p99".into(),
                state: "INSUFFICIENT_DATA".into(),
                reason: String::new(),
            },
        ],
    });
    rollout.status = status;
    rollout
}

fn note(stage: &str, standing: Standing) -> RolloutNote {
    RolloutNote {
        address: address(stage),
        revision: "r2".into(),
        standing,
    }
}

fn notes() -> Vec<RolloutNote> {
    vec![
        note(
            "baking",
            Standing::Running {
                rollout: rollout(RolloutStatus::Baking { step: 1 }),
                bake_left_ms: Some(300_000),
            },
        ),
        note(
            "paused",
            Standing::Running {
                rollout: rollout(RolloutStatus::Paused {
                    step: 1,
                    by: PausedBy::Operator,
                }),
                bake_left_ms: None,
            },
        ),
        note(
            "waiting",
            Standing::Running {
                rollout: rollout(RolloutStatus::AwaitingPromotion {
                    since: at(1_800_000),
                }),
                bake_left_ms: Some(0),
            },
        ),
        note(
            "rejected",
            Standing::Rejected {
                rollout: rollout(RolloutStatus::RolledBack {
                    at: at(700_000),
                    step: 1,
                    alarm: "orders-5xx".into(),
                    reason: "Threshold Crossed: 1 datapoint [12.0] was greater than 5.0".into(),
                }),
            },
        ),
        note(
            "aborted",
            Standing::Rejected {
                rollout: rollout(RolloutStatus::Aborted {
                    at: at(650_000),
                    step: 1,
                }),
            },
        ),
        note(
            "promoted",
            Standing::Promoted {
                promotion: RolloutPromotion {
                    from_revision: "r1".into(),
                    canary_revision: "r2".into(),
                    at: at(1_900_000),
                },
            },
        ),
    ]
}

fn plan_with(notes: Vec<RolloutNote>, changes: Vec<crate::plan::Change>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        project: "storefront".into(),
        lineage: "6f1c2b7e-8d3a-4e59-9b0f-2a7c5d1e9f40".into(),
        prior_serial: Some(7),
        config_digest: "sha256:config".into(),
        mode: PlanMode::Normal,
        region: Some("us-east-1".into()),
        changes,
        unchanged: 6,
        moves: Vec::new(),
        forgets: Vec::new(),
        outputs: Vec::new(),
        rollouts: notes,
    }
}

#[test]
fn every_standing_in_three_formats() {
    let plan = plan_with(notes(), Vec::new());
    insta::assert_snapshot!("text", text(&plan, TextStyle::default()));
    let document = json(&plan);
    let value: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(value["rollouts"].as_array().unwrap().len(), 6);
    assert_eq!(value["rollouts"][3]["standing"], "rejected");
    assert_eq!(
        value["rollouts"][3]["rollout"]["status"]["status"],
        "rolled_back"
    );
    insta::assert_snapshot!("json", document);
    insta::assert_snapshot!("markdown", markdown(&plan, MARKDOWN_LIMIT));
}

#[test]
fn a_rollback_is_called_out_above_the_changes() {
    let rejected: Vec<RolloutNote> = notes()
        .into_iter()
        .filter(|note| note.address == address("rejected"))
        .collect();
    let stage = Address::parse("rest_apis.orders.stages.beta").unwrap();
    let change = crate::plan::Change {
        address: stage,
        actions: vec![crate::plan::Action::Delete],
        before: Some(crate::state::ResourceState::Stage(
            crate::state::StageState {
                rest_api_id: "a1b2c3d4e5".into(),
                stage_name: "beta".into(),
                revision: "r1".into(),
                deployment_id: "dep1".into(),
                description: None,
                tracing: false,
                variables: Default::default(),
                cache_size: None,
                promoted_by_rollout: None,
            },
        )),
        after: None,
        depends_on: Vec::new(),
        replace: false,
    };
    let plan = plan_with(rejected, vec![change]);
    let comment = markdown(&plan, MARKDOWN_LIMIT);
    let warning = comment.find("> [!WARNING]").unwrap();
    let caution = comment.find("> [!CAUTION]").unwrap();
    assert!(warning < caution, "{comment}");
    assert!(comment.contains("rolled back at 2025-12-02T08:11:40.000Z, at step 2 of 3 (25% of traffic), by alarm orders-5xx"));
    insta::assert_snapshot!("markdown_with_changes", comment);
    let text = text(&plan, TextStyle::default());
    assert!(text.contains("was rolled back at"), "{text}");

    // Too small a limit keeps the callout with the summary.
    let short = markdown(&plan, 600);
    assert!(short.len() <= 600);
    assert!(short.contains("> [!WARNING]"), "{short}");
}
