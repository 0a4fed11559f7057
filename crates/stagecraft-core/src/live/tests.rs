//! Refresh and import: drift found and masked, revisions followed from live deployments.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::render;
use crate::state::{digest_matches, sensitive_digest};

const SEED: SaltSeed = SaltSeed([5; 16]);

fn address() -> Address {
    Address::parse("rest_apis.a.stages.prod").unwrap()
}

fn recorded() -> (State, StageState) {
    let mut state = State::new("p", "lin".to_string());
    state.deployments.insert(
        "api".into(),
        BTreeMap::from([("r1".into(), "d1".into()), ("r2".into(), "d2".into())]),
    );
    let stage = StageState {
        rest_api_id: "api".into(),
        stage_name: "prod".into(),
        revision: "r2".into(),
        deployment_id: "d2".into(),
        description: None,
        tracing: false,
        variables: BTreeMap::from([
            ("backend".into(), StoredValue::Plain("b".into())),
            (
                "key".into(),
                StoredValue::Sensitive {
                    sensitive: sensitive_digest(
                        &SaltSeed([9; 16]),
                        Site::new(&address(), "variables.key"),
                        "old-secret",
                    ),
                },
            ),
        ]),
        cache_size: None,
        promoted_by_rollout: None,
    };
    (state, stage)
}

#[test]
fn stage_drift_names_what_changed_and_masks_secrets() {
    let (state, stage) = recorded();
    let live = LiveStage {
        stage_name: "prod".into(),
        deployment_id: Some("d1".into()),
        tracing: true,
        variables: BTreeMap::from([
            ("backend".into(), "b".into()),
            ("key".into(), "new-secret".into()),
            ("extra".into(), "hand-set-secret".into()),
        ]),
        ..LiveStage::default()
    };
    let extra = BTreeSet::from(["extra".to_string()]);
    let (fresh, drift) = refresh_stage(&state, &address(), &stage, Some(&live), (&extra, &SEED));
    let fresh = fresh.unwrap();
    // Moved to r1's deployment by hand: the revision follows it.
    assert_eq!(fresh.revision, "r1");
    let StoredValue::Sensitive { sensitive } = &fresh.variables["key"] else {
        panic!("not a digest: {:?}", fresh.variables["key"]);
    };
    assert!(digest_matches(
        sensitive,
        Site::new(&address(), "variables.key"),
        "new-secret"
    ));
    let drift = drift.unwrap();
    let names: Vec<&str> = drift
        .attributes
        .iter()
        .map(|a| a.attribute.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "deployment_id",
            "tracing",
            "variables.extra",
            "variables.key"
        ]
    );
    let text = render::drift(&[drift]);
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("~ variables.key = (sensitive value) -> (sensitive value)"));
    // A key the configuration reads from the environment is masked even when unrecorded.
    assert!(text.contains("~ variables.extra = (none) -> (sensitive value)"));
    // The same stage, unchanged: no drift, and the recorded digest is kept although new
    // digests get new salts.
    let same = LiveStage {
        stage_name: "prod".into(),
        deployment_id: Some("d2".into()),
        variables: BTreeMap::from([
            ("backend".into(), "b".into()),
            ("key".into(), "old-secret".into()),
        ]),
        ..LiveStage::default()
    };
    let none = BTreeSet::new();
    let (fresh, drift) = refresh_stage(&state, &address(), &stage, Some(&same), (&none, &SEED));
    assert_eq!(fresh.unwrap(), stage);
    assert!(drift.is_none());
    // Gone.
    let (fresh, drift) = refresh_stage(&state, &address(), &stage, None, (&none, &SEED));
    assert!(fresh.is_none() && drift.unwrap().deleted);
}

#[test]
fn an_unknown_deployment_gets_a_revision_no_configuration_has() {
    let (state, stage) = recorded();
    let live = LiveStage {
        stage_name: "prod".into(),
        deployment_id: Some("zzz".into()),
        ..LiveStage::default()
    };
    let none = BTreeSet::new();
    let (fresh, _) = refresh_stage(&state, &address(), &stage, Some(&live), (&none, &SEED));
    assert_eq!(fresh.unwrap().revision, "(unknown: deployment zzz)");
}

fn rollout_canary(status: crate::state::RolloutStatus) -> CanaryState {
    use crate::state::{Promote, RolloutSchedule, Timestamp};
    let schedule = RolloutSchedule {
        steps: vec![5.0, 50.0],
        bakes_ms: vec![1000, 1000],
        alarms: vec!["orders-5xx".into()],
        promote: Promote::Auto,
        poll_interval_ms: 500,
    };
    let mut rollout = RolloutState::started(schedule, Timestamp::from_millis(1_000));
    rollout.status = status;
    CanaryState {
        rest_api_id: "api".into(),
        stage_name: "prod".into(),
        revision: "r2".into(),
        deployment_id: "d2".into(),
        percent_traffic: 5.0,
        variable_overrides: BTreeMap::new(),
        use_stage_cache: false,
        rollout: Some(rollout),
    }
}

fn canary_address() -> Address {
    Address::parse("rest_apis.a.stages.prod.canary").unwrap()
}

/// `--refresh` keeps what only the state knows about a rollout: a rejected canary's record (AWS
/// has no canary by design; without the record the next plan would deploy the rejected revision
/// again), a running rollout while its canary is live on the recorded deployment, and a stage's
/// promotion by its rollout while it serves the promoted deployment.
#[test]
fn refresh_keeps_rollout_records() {
    use crate::state::{RolloutPromotion, RolloutStatus, Timestamp};
    let (state, _) = recorded();
    let configured = BTreeSet::new();
    let rolled_back = rollout_canary(RolloutStatus::RolledBack {
        at: Timestamp::from_millis(2_000),
        step: 1,
        alarm: "orders-5xx".into(),
        reason: "Threshold Crossed".into(),
    });
    let (fresh, drift) = refresh_canary(
        &state,
        &canary_address(),
        &rolled_back,
        None,
        (&configured, &SEED),
    );
    assert_eq!(fresh.as_ref(), Some(&rolled_back));
    assert!(drift.is_none());

    // A rejected canary that is back on AWS (made by hand) is drift, and no rollout of ours.
    let live = LiveCanary {
        deployment_id: Some("d2".into()),
        percent_traffic: 10.0,
        ..LiveCanary::default()
    };
    let (fresh, drift) = refresh_canary(
        &state,
        &canary_address(),
        &rolled_back,
        Some(&live),
        (&configured, &SEED),
    );
    assert_eq!(fresh.unwrap().rollout, None);
    assert!(drift.is_some());

    let running = rollout_canary(RolloutStatus::Baking { step: 0 });
    let live = LiveCanary {
        deployment_id: Some("d2".into()),
        percent_traffic: 5.0,
        ..LiveCanary::default()
    };
    let (fresh, drift) = refresh_canary(
        &state,
        &canary_address(),
        &running,
        Some(&live),
        (&configured, &SEED),
    );
    assert_eq!(fresh.unwrap().rollout, running.rollout);
    assert!(drift.is_none());
    // A running rollout's canary that is gone is gone (drift), as any canary.
    let (fresh, drift) = refresh_canary(
        &state,
        &canary_address(),
        &running,
        None,
        (&configured, &SEED),
    );
    assert!(fresh.is_none() && drift.is_some());

    let (state, mut stage) = recorded();
    stage.promoted_by_rollout = Some(RolloutPromotion {
        from_revision: "r1".into(),
        canary_revision: "r2".into(),
        at: Timestamp::from_millis(3_000),
    });
    stage.variables.clear();
    let same = LiveStage {
        stage_name: "prod".into(),
        deployment_id: Some("d2".into()),
        ..LiveStage::default()
    };
    let (fresh, _) = refresh_stage(
        &state,
        &address(),
        &stage,
        Some(&same),
        (&configured, &SEED),
    );
    assert_eq!(
        fresh.unwrap().promoted_by_rollout,
        stage.promoted_by_rollout
    );
    // Moved by hand to another deployment: the promotion no longer describes the stage.
    let moved = LiveStage {
        deployment_id: Some("d1".into()),
        ..same
    };
    let (fresh, drift) = refresh_stage(
        &state,
        &address(),
        &stage,
        Some(&moved),
        (&configured, &SEED),
    );
    assert_eq!(fresh.unwrap().promoted_by_rollout, None);
    assert!(drift.is_some());
}
